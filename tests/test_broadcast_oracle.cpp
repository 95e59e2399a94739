// xtensor as the oracle of broadcasting (Note [xtensor's place] in src/io/npy.cpp): on random pairs
// of shapes, some broadcastable and some not, our binary ops and xtensor's agree on whether the
// shapes broadcast, on the result's shape and on every value. Operands are sometimes transposed
// views, so our strided paths are walked too; xtensor sees their values in row-major order.
#include <random>
#include <string>
#include <tapegrad/xtensor.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xexception.hpp>
#include <xtensor/xmath.hpp>

#include "helpers.hpp"

using namespace tapegrad;

namespace {

struct Pair {
  Shape a, b;
};

// An output shape of rank 0-4 (sizes 0-4, rarely 0), each operand a suffix of it with sizes turned
// to 1 at random; one time in four a size of one operand is changed so that the pair may not broadcast.
Pair random_pair(std::mt19937& random) {
  auto below = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  Shape out;
  for (int rank = below(5), i = 0; i < rank; ++i) out.push_back(below(12) == 0 ? 0 : 1 + below(4));
  auto operand = [&] {
    const std::size_t rank = static_cast<std::size_t>(below(static_cast<int>(out.size()) + 1));
    Shape s(out.end() - static_cast<std::ptrdiff_t>(rank), out.end());
    for (auto& size : s)
      if (below(3) == 0) size = 1;
    return s;
  };
  Pair p{operand(), operand()};
  if (below(4) == 0 && !p.a.empty())
    p.a[static_cast<std::size_t>(below(static_cast<int>(p.a.size())))] = 1 + below(5);
  return p;
}

// Random values of the shape; one time in three a transposed view of a tensor of the swapped shape.
template <class T>
Tensor random_operand(const Shape& shape, std::mt19937& random) {
  static Generator gen(99);
  const DType dtype = std::is_same_v<T, float> ? float32 : float64;
  if (shape.size() >= 2 && random() % 3 == 0) {
    Shape swapped = shape;
    std::swap(swapped.front(), swapped.back());
    return transpose(uniform(swapped, -2.0, 2.0, dtype, &gen), 0,
                     static_cast<std::int64_t>(shape.size()) - 1);
  }
  return uniform(shape, -2.0, 2.0, dtype, &gen);
}

template <class T>
void compare(const char* name, Tensor (*ours)(const Tensor&, const Tensor&, Here),
             xt::xarray<T> (*theirs)(const xt::xarray<T>&, const xt::xarray<T>&), std::mt19937& random) {
  for (int trial = 0; trial < 200; ++trial) {
    const Pair p = random_pair(random);
    const Tensor a = random_operand<T>(p.a, random), b = random_operand<T>(p.b, random);
    const xt::xarray<T> xa = to_xarray<T>(a), xb = to_xarray<T>(b);
    CAPTURE(name);
    CAPTURE(to_string(p.a));
    CAPTURE(to_string(p.b));
    bool they_broadcast = true;
    xt::xarray<T> expected;
    try {
      expected = theirs(xa, xb);
    } catch (const xt::broadcast_error&) {
      they_broadcast = false;
    }
    if (!they_broadcast) {
      CHECK_THROWS_AS(ours(a, b, Here::current()), ShapeError);
      continue;
    }
    const Tensor y = ours(a, b, Here::current());
    REQUIRE(y.shape() == Shape(expected.shape().begin(), expected.shape().end()));
    const std::vector<T> values = y.to_vector<T>();
    CHECK(std::equal(values.begin(), values.end(), expected.begin(),
                     expected.end()));  // the same IEEE operation
  }
}

template <class T>
void compare_all(std::mt19937& random) {
  using X = xt::xarray<T>;
  compare<T>(
      "add", add, [](const X& a, const X& b) -> X { return a + b; }, random);
  compare<T>(
      "sub", sub, [](const X& a, const X& b) -> X { return a - b; }, random);
  compare<T>(
      "mul", mul, [](const X& a, const X& b) -> X { return a * b; }, random);
  compare<T>(
      "div", div, [](const X& a, const X& b) -> X { return a / b; }, random);
  compare<T>(
      "maximum", maximum, [](const X& a, const X& b) -> X { return xt::maximum(a, b); }, random);
  compare<T>(
      "minimum", minimum, [](const X& a, const X& b) -> X { return xt::minimum(a, b); }, random);
}

}  // namespace

TEST_CASE("broadcasting binary ops agree with xtensor on random shapes") {
  std::mt19937 random(2024);
  compare_all<float>(random);
  compare_all<double>(random);
}
