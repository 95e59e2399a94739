// Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as
// 1, 2, 3", SC'11). Element i of a draw is a pure function of (seed, first counter + i), so results
// do not depend on how the elements are split over threads.
#include "tapegrad/random.hpp"

#include <cmath>
#include <numbers>

#include "internal.hpp"

namespace tapegrad {
namespace {

struct Block {
  std::uint32_t v[4];
};

Block philox(std::uint64_t counter, std::uint64_t seed) {
  std::uint32_t c0 = static_cast<std::uint32_t>(counter), c1 = static_cast<std::uint32_t>(counter >> 32);
  std::uint32_t c2 = 0, c3 = 0;
  std::uint32_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = std::uint64_t{0xD2511F53u} * c0;
    const std::uint64_t p1 = std::uint64_t{0xCD9E8D57u} * c2;
    const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<std::uint32_t>(p1);
    c3 = static_cast<std::uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

// Two uniforms in (0, 1] with 53 random bits each, from counter `i` of the draw.
void uniforms(std::uint64_t seed, std::uint64_t counter, double& u0, double& u1) {
  Block b = philox(counter, seed);
  const std::uint64_t a = (std::uint64_t{b.v[0]} << 32 | b.v[1]) >> 11;
  const std::uint64_t c = (std::uint64_t{b.v[2]} << 32 | b.v[3]) >> 11;
  constexpr double scale = 1.0 / 9007199254740992.0;  // 2^-53
  u0 = (static_cast<double>(a) + 1.0) * scale;
  u1 = (static_cast<double>(c) + 1.0) * scale;
}

Generator& pick(Generator* gen) { return gen ? *gen : default_generator(); }

// Fills t with f(u0, u1, i) for element i, where (u0, u1) come from the element's own counter.
template <class F>
Tensor generate(const Shape& shape, DType dtype, Generator& gen, F f) {
  Tensor t = detail::new_tensor(shape, dtype);
  const auto n = static_cast<std::uint64_t>(t.numel());
  const std::uint64_t first = gen.advance(n);
  detail::dispatch(dtype, [&]<class T>() {
    T* p = t.data<T>();
    for (std::uint64_t i = 0; i < n; ++i) {
      double u0, u1;
      uniforms(gen.seed(), first + i, u0, u1);
      p[i] = static_cast<T>(f(u0, u1, i));
    }
  });
  return t;
}

}  // namespace

Generator& default_generator() {
  static Generator generator(0);
  return generator;
}
void manual_seed(std::uint64_t seed) { default_generator().manual_seed(seed); }

Tensor uniform(Shape shape, double low, double high, DType dtype, Generator* gen, std::source_location at) {
  detail::require_sizes("uniform", shape, at);
  if (!(low <= high))
    detail::fail<ValueError>("uniform", "low must not exceed high",
                             "low " + std::to_string(low) + ", high " + std::to_string(high), at);
  // u0 is in (0, 1]: 1 - u0 is in [0, 1)
  return generate(shape, dtype, pick(gen), [&](double u0, double, std::uint64_t) { return low + (high - low) * (1.0 - u0); });
}
Tensor rand(Shape shape, DType dtype, Generator* gen) { return uniform(std::move(shape), 0.0, 1.0, dtype, gen); }

Tensor normal(Shape shape, double mean, double std, DType dtype, Generator* gen, std::source_location at) {
  detail::require_sizes("normal", shape, at);
  if (!(std >= 0)) detail::fail<ValueError>("normal", "std must be non-negative", std::to_string(std), at);
  return generate(shape, dtype, pick(gen), [&](double u0, double u1, std::uint64_t) {
    return mean + std * std::sqrt(-2.0 * std::log(u0)) * std::cos(2.0 * std::numbers::pi * u1);  // Box-Muller
  });
}
Tensor randn(Shape shape, DType dtype, Generator* gen) { return normal(std::move(shape), 0.0, 1.0, dtype, gen); }

Tensor bernoulli(Shape shape, double p, DType dtype, Generator* gen, std::source_location at) {
  detail::require_sizes("bernoulli", shape, at);
  if (!(p >= 0 && p <= 1)) detail::fail<ValueError>("bernoulli", "p must be in [0, 1]", std::to_string(p), at);
  return generate(shape, dtype, pick(gen), [&](double u0, double, std::uint64_t) { return (1.0 - u0) < p ? 1.0 : 0.0; });
}

Tensor bernoulli(const Tensor& probabilities, Generator* gen, std::source_location at) {
  detail::require_floating("bernoulli", probabilities, at);
  std::vector<double> p = probabilities.to(float64).to_vector<double>();
  for (double v : p)
    if (!(v >= 0 && v <= 1)) detail::fail<ValueError>("bernoulli", "probabilities must be in [0, 1]", std::to_string(v), at);
  return generate(probabilities.shape(), probabilities.dtype(), pick(gen),
                  [&](double u0, double, std::uint64_t i) { return (1.0 - u0) < p[i] ? 1.0 : 0.0; });
}

Tensor randint(std::int64_t low, std::int64_t high, Shape shape, Generator* gen, std::source_location at) {
  detail::require_sizes("randint", shape, at);
  if (low >= high)
    detail::fail<ValueError>("randint", "low must be below high",
                             "low " + std::to_string(low) + ", high " + std::to_string(high), at);
  const double range = static_cast<double>(high - low);
  return generate(shape, int64, pick(gen), [&](double u0, double, std::uint64_t) {
    auto v = low + static_cast<std::int64_t>(std::floor((1.0 - u0) * range));
    return static_cast<double>(std::min(v, high - 1));
  });
}

}  // namespace tapegrad
