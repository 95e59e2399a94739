// In-place ops that are in place: add_ and mul_ run one kernel writing into the tensor (no temporary
// buffer, counted with memory_stats()), follow PyTorch's in-place promotion rule (Note [In-place
// promotion] in src/ops/inplace.cpp) and read an overlapping operand as copy_ does (Note [Overlapping
// copies]).
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "helpers.hpp"

using namespace tapegrad;

namespace {

// Bytes of tensor buffers handed out while f runs (buffers over 64 bytes; smaller ones live inline).
template <class F>
std::uint64_t bytes_allocated_by(F f) {
  const std::uint64_t before = memory_stats().bytes_allocated;
  f();
  return memory_stats().bytes_allocated - before;
}

std::vector<double> values_of(const Tensor& t) { return t.detach().to(float64).to_vector<double>(); }

// x + alpha * g elementwise in float64 (g broadcast by repeating its values: g.numel() divides x's).
std::vector<double> reference_add(const std::vector<double>& x, const std::vector<double>& g, double alpha) {
  std::vector<double> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] + alpha * g[i % g.size()];
  return y;
}

}  // namespace

TEST_CASE("add_ and mul_ write into the tensor: no temporary buffer, whatever the layout or dtypes") {
  // 1024 elements: buffers far above the 64 bytes kept inside a tensor, so each would be counted.
  for (DType dtype : {float32, float64, int64}) {
    CAPTURE(dtype_name(dtype));
    Tensor x = arange(1024.0, dtype).reshape({4, 256});
    Tensor g = arange(1024.0, dtype).reshape({4, 256});
    Tensor row = arange(256.0, dtype).reshape({1, 256});  // broadcast over x's rows
    std::vector<double> expected = values_of(x);
    CHECK(bytes_allocated_by([&] { x.add_(g); }) == 0);
    expected = reference_add(expected, values_of(g), 1.0);
    CHECK(bytes_allocated_by([&] { x.add_(g, -3.0); }) == 0);
    expected = reference_add(expected, values_of(g), -3.0);
    CHECK(bytes_allocated_by([&] { x.add_(row, 2.0); }) == 0);
    expected = reference_add(expected, values_of(row), 2.0);
    CHECK(bytes_allocated_by([&] { x.mul_(2.0); }) == 0);
    for (double& v : expected) v *= 2.0;
    CHECK(values_of(x) == expected);  // small integers: exact in every dtype
  }
  // a non-contiguous tensor written through its transpose view, and mixed floating dtypes
  Tensor base = zeros({64, 32}, float32);
  Tensor xt = transpose(base, 0, 1);  // [32, 64], strides [1, 32]
  Tensor g = arange(2048.0, float64).reshape({32, 64}).mul_(0.25);
  CHECK(bytes_allocated_by([&] { xt.add_(g, 0.5); }) == 0);
  CHECK(bytes_allocated_by([&] { xt.mul_(-2.0); }) == 0);
  std::vector<double> expected = reference_add(std::vector<double>(2048, 0.0), values_of(g), 0.5);
  for (double& v : expected) v *= -2.0;
  CHECK(values_of(xt) == expected);  // multiples of 1/8: exact
  CHECK(base.to_vector<float>()[1] == static_cast<float>(expected[64]));  // base[0][1] is xt[1][0]
}

TEST_CASE("add_ computes in the promoted dtype and stores in the tensor's, like PyTorch") {
  // float32 += float64: computed in float64, rounded once (torch: f.add_(f.double(), alpha=0.5)).
  const double third = 1.0 / 3.0;
  Tensor f = full({20}, 1.0, float32);
  f.add_(full({20}, third, float64), third);
  CHECK(f.to_vector<float>()[0] == static_cast<float>(1.0 + third * third));
  // float32 += 0-d float64: a 0-d tensor does not widen a tensor; computed in float32
  Tensor h = full({20}, 1.0, float32);
  h.add_(scalar(third, float64), 1.0);
  CHECK(h.to_vector<float>()[0] == 1.0f + static_cast<float>(third));
  // float64 += float32 and float32 += int64 with a fractional alpha are fine (the result is floating)
  Tensor d = zeros({20}, float64);
  d.add_(full({20}, 0.1, float32), 2.0);
  CHECK(d.to_vector<double>()[0] == 2.0 * static_cast<double>(0.1f));
  Tensor k = zeros({20}, float32);
  k.add_(full({20}, 3.0, int64), 0.5);
  CHECK(k.to_vector<float>()[0] == 1.5f);
  // int64 += int64 with an integral alpha stays int64 (torch: [0, 1, 2, 3] + 2 * [0, 1, 2, 3])
  Tensor n = arange(4.0, int64);
  n.add_(arange(4.0, int64), 2.0);
  CHECK(n.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 3, 6, 9});
}

TEST_CASE("an int64 tensor takes no floating result in place (DTypeError, as torch.can_cast)") {
  // Each row raised RuntimeError in torch 2 ("result type Float can't be cast to the desired output
  // type Long", "For integral input tensors, argument alpha must not be a floating point number").
  // Before, add_ and mul_ truncated the floating result into the integers.
  Tensor n = arange(20.0, int64);
  const std::vector<std::int64_t> before = n.to_vector<std::int64_t>();
  const std::string where = "(at test_inplace.cpp:" + std::to_string(__LINE__ + 1) + ")";
  const std::string message = test::message_of<DTypeError>([&] { n.add_(ones({20}, float32)); });
  CHECK(message.find("add_: the result dtype must be castable to this tensor's dtype") != std::string::npos);
  CHECK(message.find(where) != std::string::npos);
  CHECK_THROWS_AS(n.add_(scalar(2.5, float64)), DTypeError);                  // 0-d float turns int64 float
  CHECK_THROWS_WITH_AS(n.add_(arange(20.0, int64), 0.5), doctest::Contains("alpha"), DTypeError);
  CHECK_THROWS_AS(n.add_(arange(20.0, int64), std::numeric_limits<double>::quiet_NaN()), DTypeError);
  CHECK_THROWS_WITH_AS(n.mul_(2.5), doctest::Contains("mul_: the result dtype must be castable"), DTypeError);
  CHECK_THROWS_AS(n.mul_(std::numeric_limits<double>::infinity()), DTypeError);
  CHECK_THROWS_AS(n.mul_(1e300), DTypeError);  // no int64 holds it: a float, like Python's 1e300
  CHECK(n.to_vector<std::int64_t>() == before);  // nothing was written
  n.mul_(-3.0);                                   // an integral factor is an int, as in Python
  CHECK(n.to_vector<std::int64_t>()[7] == -21);
}

TEST_CASE("add_ with an operand that shares the tensor's memory reads each element before writing it") {
  // x.add_(x): the same elements, read then written in one pass, and no temporary
  Tensor x = arange(1024.0, float32).reshape({32, 32});
  CHECK(bytes_allocated_by([&] { x.add_(x); }) == 0);
  CHECK(x.to_vector<float>()[33] == 66.0f);
  CHECK(bytes_allocated_by([&] { x.add_(x.detach(), -0.5); }) == 0);
  CHECK(x.to_vector<float>()[33] == 33.0f);
  // x.add_(x.t()) for a square x, and a row of x broadcast over x: PyTorch refuses these (partial
  // overlap); copy_'s rule here gives the value of x + other taken before the write.
  Tensor y = arange(16.0, float64).reshape({4, 4});
  Tensor expected = y + y.t();
  y.add_(y.t());
  CHECK(values_of(y) == values_of(expected));
  Tensor z = arange(16.0, float64).reshape({4, 4});
  Tensor expected_row = z + select(z, 0, 2);
  z.add_(select(z, 0, 2));
  CHECK(values_of(z) == values_of(expected_row));
  // the written tensor a view whose elements another view of the same buffer reads, shifted by one
  Tensor w = arange(10.0, float64);
  slice(w, 0, 1, 10).add_(slice(w, 0, 0, 9), 10.0);
  CHECK(values_of(w) == std::vector<double>{0, 1, 12, 23, 34, 45, 56, 67, 78, 89});
}
