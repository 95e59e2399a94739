// The bad-input catalogue's rows for pooling (Note [Bad-input catalogue] in test_bad_input.cpp):
// torch's rules (kernel, stride, dilation >= 1; 0 <= padding <= kernel / 2; an output of at least 1;
// [N, C, ...] or unbatched input, only N empty; float input) and hostile sizes.
#include <cmath>
#include <cstdint>
#include <limits>

#include "bad_input.hpp"

namespace bad_input {
namespace {

Tensor nchw() { return arange(16.0).reshape({1, 1, 4, 4}); }  // float32 [1, 1, 4, 4]: 0 .. 15
Tensor ncl() { return arange(8.0).reshape({1, 2, 4}); }        // float32 [1, 2, 4]: 0 .. 7
Tensor int_nchw() { return zeros({1, 1, 4, 4}, int64); }
std::vector<double> values(const Tensor& t) { return t.to(float64).to_vector<double>(); }

// Each row stays on one line: the op's message must give the row's line.
// clang-format off
void pool_rows(Catalogue& row) {
  row.unwalked("PoolSize2");  // a plain argument type: an int or {h, w}
  row("max_pool2d", [] { max_pool2d(undef(), 2); }, Expect::value, "max_pool2d");
  row("max_pool2d", [] { max_pool2d(int_nchw(), 2); }, Expect::dtype, "max_pool2d");
  row("max_pool2d", [] { max_pool2d(zeros({4, 4}), 2); }, Expect::shape, "max_pool2d");
  row("max_pool2d", [] { max_pool2d(zeros({1, 1, 1, 4, 4}), 2); }, Expect::shape, "max_pool2d");
  row("max_pool2d", [] { max_pool2d(zeros({2, 0, 4, 4}), 2); }, Expect::shape, "max_pool2d");  // only N may be empty
  row("max_pool2d", [] { max_pool2d(zeros({0, 4, 4}), 2); }, Expect::shape, "max_pool2d");     // unbatched: C is not N
  row("max_pool2d", [] { max_pool2d(nchw(), 0); }, Expect::value, "max_pool2d");
  row("max_pool2d", [] { max_pool2d(nchw(), {2, -1}); }, Expect::value, "max_pool2d");
  row("max_pool2d", [] { max_pool2d(nchw(), {}); }, Expect::value, "max_pool2d");  // no kernel_size
  row("max_pool2d", [] { max_pool2d(nchw(), 2, 0); }, Expect::value, "max_pool2d");
  row("max_pool2d", [] { max_pool2d(nchw(), 2, -1); }, Expect::value, "max_pool2d");
  row("max_pool2d", [] { max_pool2d(nchw(), 2, 2, -1); }, Expect::value, "max_pool2d");
  row("max_pool2d", [] { max_pool2d(nchw(), 3, 1, 2); }, Expect::value, "max_pool2d");  // padding over half the kernel
  row("max_pool2d", [] { max_pool2d(nchw(), 2, 1, 0, 0); }, Expect::value, "max_pool2d");
  row("max_pool2d", [] { max_pool2d(nchw(), 5); }, Expect::shape, "max_pool2d");  // kernel larger than the input
  row("max_pool2d", [] { max_pool2d(nchw(), 2, 1, 0, 4); }, Expect::shape, "max_pool2d");  // dilated past the input
  row("max_pool2d", [] { max_pool2d(nchw(), big); }, Expect::shape, "max_pool2d");
  row("max_pool2d", [] { max_pool2d(nchw(), 2, 1, 0, big); }, Expect::shape, "max_pool2d");  // d (k - 1) passes int64 with k
  row.outcome("max_pool2d", "kernel larger than the input, ceil_mode: one window (torch)", [] { CHECK(values(max_pool2d(nchw(), 5, {}, 0, 1, true)) == std::vector<double>{15}); });
  row.outcome("max_pool2d", "huge kernel and padding: windows over the whole input, no int64 overflow", [] { Tensor y = max_pool2d(nchw(), big, 1, big / 2); CHECK(y.shape() == Shape{1, 1, 5, 5}); for (double v : values(y)) CHECK(v == 15); });
  row.outcome("max_pool2d", "huge stride: one window", [] { CHECK(values(max_pool2d(nchw(), 2, big)) == std::vector<double>{5}); });
  row.outcome("max_pool2d", "empty batch: empty output", [] { CHECK(max_pool2d(zeros({0, 3, 4, 4}), 2).shape() == Shape{0, 3, 2, 2}); });
  row.outcome("max_pool2d", "a NaN in a window is its max", [] { Tensor x = nchw(); x.data<float>()[5] = NAN; std::vector<double> y = values(max_pool2d(x, 2)); CHECK(std::isnan(y[0])); CHECK(y[3] == 15); });
  row("max_pool2d_with_indices", [] { max_pool2d_with_indices(int_nchw(), 2); }, Expect::dtype, "max_pool2d_with_indices");
  row("max_pool2d_with_indices", [] { max_pool2d_with_indices(nchw(), 2, 2, 2); }, Expect::value, "max_pool2d_with_indices");
  row.outcome("max_pool2d_with_indices", "a dilated window wholly in the padding: -inf and index -1 (torch: an index outside the plane)", [] { auto [y, i] = max_pool2d_with_indices(arange(4.0).reshape({1, 1, 2, 2}), 2, 1, 1, 3); CHECK(y.shape() == Shape{1, 1, 1, 1}); CHECK(values(y)[0] == -INFINITY); CHECK(i.to_vector<std::int64_t>() == std::vector<std::int64_t>{-1}); });
  row("max_pool1d", [] { max_pool1d(undef(), 2); }, Expect::value, "max_pool1d");
  row("max_pool1d", [] { max_pool1d(ints(), 2); }, Expect::dtype, "max_pool1d");
  row("max_pool1d", [] { max_pool1d(arange(4.0), 2); }, Expect::shape, "max_pool1d");  // 1-d input
  row("max_pool1d", [] { max_pool1d(zeros({1, 0}), 2); }, Expect::shape, "max_pool1d");
  row("max_pool1d", [] { max_pool1d(ncl(), 0); }, Expect::value, "max_pool1d");
  row("max_pool1d", [] { max_pool1d(ncl(), 2, 0); }, Expect::value, "max_pool1d");
  row("max_pool1d", [] { max_pool1d(ncl(), 2, 1, 2); }, Expect::value, "max_pool1d");
  row("max_pool1d", [] { max_pool1d(ncl(), 2, 1, 0, -2); }, Expect::value, "max_pool1d");
  row("max_pool1d", [] { max_pool1d(ncl(), 9); }, Expect::shape, "max_pool1d");
  row("max_pool1d_with_indices", [] { max_pool1d_with_indices(ncl(), 2, -3); }, Expect::value, "max_pool1d_with_indices");
  row("max_pool1d_with_indices", [] { max_pool1d_with_indices(zeros({2, 2, 2, 2}), 2); }, Expect::shape, "max_pool1d_with_indices");
  row("avg_pool2d", [] { avg_pool2d(undef(), 2); }, Expect::value, "avg_pool2d");
  row("avg_pool2d", [] { avg_pool2d(int_nchw(), 2); }, Expect::dtype, "avg_pool2d");  // torch pools int64 by truncation; we refuse
  row("avg_pool2d", [] { avg_pool2d(nchw(), 2, {}, 0, false, true, 0); }, Expect::value, "avg_pool2d");
  row("avg_pool2d", [] { avg_pool2d(nchw(), 3, 1, 2); }, Expect::value, "avg_pool2d");
  row("avg_pool2d", [] { avg_pool2d(nchw(), {2, 0}); }, Expect::value, "avg_pool2d");
  row("avg_pool2d", [] { avg_pool2d(nchw(), 2, {1, 0}); }, Expect::value, "avg_pool2d");
  row("avg_pool2d", [] { avg_pool2d(nchw(), {5, 2}); }, Expect::shape, "avg_pool2d");
  row("avg_pool2d", [] { avg_pool2d(zeros({1, 1, 0, 4}), 2); }, Expect::shape, "avg_pool2d");
  row.outcome("avg_pool2d", "a negative divisor_override divides (torch)", [] { CHECK(values(avg_pool2d(nchw(), 2, {}, 0, false, true, -1)) == std::vector<double>{-10, -18, -42, -50}); });
  row("avg_pool1d", [] { avg_pool1d(undef(), 2); }, Expect::value, "avg_pool1d");
  row("avg_pool1d", [] { avg_pool1d(ints(), 2); }, Expect::dtype, "avg_pool1d");
  row("avg_pool1d", [] { avg_pool1d(arange(5.0), 2); }, Expect::shape, "avg_pool1d");
  row("avg_pool1d", [] { avg_pool1d(ncl(), -1); }, Expect::value, "avg_pool1d");
  row("avg_pool1d", [] { avg_pool1d(ncl(), 2, 1, 3); }, Expect::value, "avg_pool1d");
  row("avg_pool1d", [] { avg_pool1d(ncl(), 6); }, Expect::shape, "avg_pool1d");
  row("adaptive_avg_pool2d", [] { adaptive_avg_pool2d(undef(), 2); }, Expect::value, "adaptive_avg_pool2d");
  row("adaptive_avg_pool2d", [] { adaptive_avg_pool2d(int_nchw(), 2); }, Expect::dtype, "adaptive_avg_pool2d");
  row("adaptive_avg_pool2d", [] { adaptive_avg_pool2d(nchw(), -1); }, Expect::value, "adaptive_avg_pool2d");
  row("adaptive_avg_pool2d", [] { adaptive_avg_pool2d(nchw(), {}); }, Expect::value, "adaptive_avg_pool2d");
  row("adaptive_avg_pool2d", [] { adaptive_avg_pool2d(zeros({1, 1, 0, 4}), 2); }, Expect::shape, "adaptive_avg_pool2d");
  row("adaptive_avg_pool2d", [] { adaptive_avg_pool2d(zeros({4}), 2); }, Expect::shape, "adaptive_avg_pool2d");
  row("adaptive_avg_pool2d", [] { adaptive_avg_pool2d(nchw(), {big, big}); }, Expect::value, "adaptive_avg_pool2d");  // numel overflows
  row("adaptive_avg_pool2d", [] { adaptive_avg_pool2d(nchw(), {1LL << 40, 1LL << 20}); }, Expect::oom, "adaptive_avg_pool2d");  // 4 PiB: no window table first
  row.outcome("adaptive_avg_pool2d", "output size 0 and empty channels: empty outputs (torch)", [] { CHECK(adaptive_avg_pool2d(nchw(), 0).shape() == Shape{1, 1, 0, 0}); CHECK(adaptive_avg_pool2d(zeros({1, 0, 4, 4}), 2).shape() == Shape{1, 0, 2, 2}); });
  row.outcome("adaptive_avg_pool2d", "an empty batch with a huge output size: empty, nothing allocated", [] { CHECK(adaptive_avg_pool2d(zeros({0, 1, 4, 4}), {1LL << 30, 1LL << 30}).numel() == 0); });
  row("adaptive_avg_pool1d", [] { adaptive_avg_pool1d(undef(), 2); }, Expect::value, "adaptive_avg_pool1d");
  row("adaptive_avg_pool1d", [] { adaptive_avg_pool1d(ints(), 2); }, Expect::dtype, "adaptive_avg_pool1d");
  row("adaptive_avg_pool1d", [] { adaptive_avg_pool1d(ncl(), -2); }, Expect::value, "adaptive_avg_pool1d");
  row("adaptive_avg_pool1d", [] { adaptive_avg_pool1d(nchw(), 2); }, Expect::shape, "adaptive_avg_pool1d");
  row("adaptive_max_pool2d", [] { adaptive_max_pool2d(undef(), 2); }, Expect::value, "adaptive_max_pool2d");
  row("adaptive_max_pool2d", [] { adaptive_max_pool2d(int_nchw(), 2); }, Expect::dtype, "adaptive_max_pool2d");
  row("adaptive_max_pool2d", [] { adaptive_max_pool2d(nchw(), {2, -3}); }, Expect::value, "adaptive_max_pool2d");
  row("adaptive_max_pool2d", [] { adaptive_max_pool2d(zeros({1, 1, 4, 0}), 2); }, Expect::shape, "adaptive_max_pool2d");
  row("adaptive_max_pool2d_with_indices", [] { adaptive_max_pool2d_with_indices(nchw(), {}); }, Expect::value, "adaptive_max_pool2d_with_indices");
  row("adaptive_max_pool2d_with_indices", [] { adaptive_max_pool2d_with_indices(nchw(), {1LL << 30, 1LL << 20}); }, Expect::oom, "adaptive_max_pool2d_with_indices");
}
// clang-format on

Rows rows(&pool_rows);

}  // namespace
}  // namespace bad_input
