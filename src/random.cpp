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

// Two uniforms in (0, 1] with 53 random bits each, from one block.
void uniforms(const Block& b, double& u0, double& u1) {
  const std::uint64_t a = (std::uint64_t{b.v[0]} << 32 | b.v[1]) >> 11;
  const std::uint64_t c = (std::uint64_t{b.v[2]} << 32 | b.v[3]) >> 11;
  constexpr double scale = 1.0 / 9007199254740992.0;  // 2^-53
  u0 = (static_cast<double>(a) + 1.0) * scale;
  u1 = (static_cast<double>(c) + 1.0) * scale;
}

Generator& pick(Generator* gen) { return gen ? *gen : default_generator(); }

// The checks every draw makes: sizes, and a floating dtype (randint alone makes integers).
void check_draw(std::string_view op, const Shape& shape, DType dtype, const std::source_location& at) {
  detail::require_sizes(op, shape, dtype, at);
  if (!is_floating(dtype))
    detail::fail<DTypeError>(op,
                             "random draws need a floating dtype (float32 or float64; randint makes int64)",
                             std::string(dtype_name(dtype)), at);
}

// Fills t with f(block, i) for element i, where the Philox block comes from the element's own counter.
template <class F>
Tensor generate_blocks(std::string_view op, const Shape& shape, DType dtype, Generator& gen,
                       const std::source_location& at, F f) {
  detail::OpScope scope(op, at);
  Tensor t = detail::new_tensor(shape, dtype);
  const auto n = static_cast<std::uint64_t>(t.numel());
  const std::uint64_t first = gen.advance(n);
  detail::dispatch(dtype, [&]<class T>() {
    T* p = t.data<T>();
    for (std::uint64_t i = 0; i < n; ++i) p[i] = static_cast<T>(f(philox(first + i, gen.seed()), i));
  });
  return t;
}

// Fills t with f(u0, u1, i) for element i, where (u0, u1) come from the element's own counter.
template <class F>
Tensor generate(std::string_view op, const Shape& shape, DType dtype, Generator& gen,
                const std::source_location& at, F f) {
  return generate_blocks(op, shape, dtype, gen, at, [&](const Block& b, std::uint64_t i) {
    double u0, u1;
    uniforms(b, u0, u1);
    return f(u0, u1, i);
  });
}

// floor(x * range / 2^128) for the 128 random bits x of a block: uniform on [0, range) up to a
// relative bias below range / 2^128 <= 2^-64, exact in integers (no trip through double).
std::uint64_t below(const Block& b, std::uint64_t range) {
  const std::uint64_t hi = std::uint64_t{b.v[0]} << 32 | b.v[1], lo = std::uint64_t{b.v[2]} << 32 | b.v[3];
  const unsigned __int128 upper = static_cast<unsigned __int128>(hi) * range;
  const unsigned __int128 lower = static_cast<unsigned __int128>(lo) * range;
  return static_cast<std::uint64_t>((upper + (lower >> 64)) >> 64);
}

}  // namespace

Generator& default_generator() {
  static Generator generator(0);
  return generator;
}
void manual_seed(std::uint64_t seed) { default_generator().manual_seed(seed); }

namespace {
Tensor uniform_draw(std::string_view op, const Shape& shape, double low, double high, DType dtype,
                    Generator* gen, const std::source_location& at) {
  check_draw(op, shape, dtype, at);
  if (!(low <= high))
    detail::fail<ValueError>(op, "low must not exceed high",
                             "low " + std::to_string(low) + ", high " + std::to_string(high), at);
  // u0 is in (0, 1]: 1 - u0 is in [0, 1)
  return generate(op, shape, dtype, pick(gen), at,
                  [&](double u0, double, std::uint64_t) { return low + (high - low) * (1.0 - u0); });
}

Tensor normal_draw(std::string_view op, const Shape& shape, double mean, double std, DType dtype,
                   Generator* gen, const std::source_location& at) {
  check_draw(op, shape, dtype, at);
  if (!(std >= 0)) detail::fail<ValueError>(op, "std must be non-negative", std::to_string(std), at);
  return generate(op, shape, dtype, pick(gen), at, [&](double u0, double u1, std::uint64_t) {
    return mean + std * std::sqrt(-2.0 * std::log(u0)) * std::cos(2.0 * std::numbers::pi * u1);  // Box-Muller
  });
}
}  // namespace

Tensor uniform(Shape shape, double low, double high, DType dtype, Generator* gen, std::source_location at) {
  return uniform_draw("uniform", shape, low, high, dtype, gen, at);
}
Tensor rand(Shape shape, DType dtype, Generator* gen, std::source_location at) {
  return uniform_draw("rand", shape, 0.0, 1.0, dtype, gen, at);
}
Tensor normal(Shape shape, double mean, double std, DType dtype, Generator* gen, std::source_location at) {
  return normal_draw("normal", shape, mean, std, dtype, gen, at);
}
Tensor randn(Shape shape, DType dtype, Generator* gen, std::source_location at) {
  return normal_draw("randn", shape, 0.0, 1.0, dtype, gen, at);
}

Tensor bernoulli(Shape shape, double p, DType dtype, Generator* gen, std::source_location at) {
  check_draw("bernoulli", shape, dtype, at);
  if (!(p >= 0 && p <= 1)) detail::fail<ValueError>("bernoulli", "p must be in [0, 1]", std::to_string(p), at);
  return generate("bernoulli", shape, dtype, pick(gen), at,
                  [&](double u0, double, std::uint64_t) { return (1.0 - u0) < p ? 1.0 : 0.0; });
}

Tensor bernoulli(const Tensor& probabilities, Generator* gen, std::source_location at) {
  detail::require_floating("bernoulli", probabilities, at);
  std::vector<double> p = probabilities.to(float64).to_vector<double>();
  for (double v : p)
    if (!(v >= 0 && v <= 1)) detail::fail<ValueError>("bernoulli", "probabilities must be in [0, 1]", std::to_string(v), at);
  return generate("bernoulli", probabilities.shape(), probabilities.dtype(), pick(gen), at,
                  [&](double u0, double, std::uint64_t i) { return (1.0 - u0) < p[i] ? 1.0 : 0.0; });
}

Tensor randint(std::int64_t low, std::int64_t high, Shape shape, Generator* gen, std::source_location at) {
  detail::require_sizes("randint", shape, int64, at);
  if (low >= high)
    detail::fail<ValueError>("randint", "low must be below high",
                             "low " + std::to_string(low) + ", high " + std::to_string(high), at);
  // In unsigned arithmetic high - low cannot overflow, and low + offset wraps back into [low, high).
  const std::uint64_t range = static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(low);
  return generate_blocks("randint", shape, int64, pick(gen), at, [&](const Block& b, std::uint64_t) {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(low) + below(b, range));
  });
}

}  // namespace tapegrad
