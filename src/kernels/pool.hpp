// Pooling kernels over planes: a tensor is read as planes of h.input x w.input elements (the pooled
// axes, last), the leading axes (N, C) counting the planes; the output's planes are h.output x
// w.output. A 1-d pool is a 2-d one with an H axis of length 1.
//
// Note [Pool windows]: every pool (max, average, adaptive, 1-d or 2-d) is described by one table per
// spatial axis: for output position o, the taps first[o], first[o] + step, ..., count[o] of them, all
// inside the input (padding and the part of a dilated window that falls outside are already cut off
// by the ops, in src/ops/pool.cpp). So a kernel never tests a bound, and a window of a huge kernel
// costs its taps inside the input, not the kernel's size. An average divides by divisor_h[oh] *
// divisor_w[ow] (each axis's share: the window's padded or clipped length, or 1 and the override).
//
// Every kernel runs in parallel over planes, each plane written by one work item in a fixed order,
// so results do not depend on the thread count (Note [Deterministic chunking] in parallel.hpp).
#pragma once

#include <cstdint>
#include <vector>

#include "tapegrad/tensor.hpp"

namespace tapegrad::kernels {

// Note [Pool windows]: one spatial axis of a pool.
struct PoolAxis {
  std::int64_t input = 0, output = 0;  // lengths along this axis
  std::int64_t step = 1;               // the dilation
  // Per output position; left empty when the whole output is empty (no plane, or output 0 on an axis).
  std::vector<std::int64_t> first, count;
  std::vector<double> divisor;  // averages only
};

// y[p, oh, ow] = max over the window of x's plane p, into y (contiguous, allocated by the caller, its
// last axes the output's). With `indices` (int64, y's shape) also the flat index into the H*W plane
// of that max, as torch gives it: the first largest value, or the last NaN (a NaN wins), or the first
// tap when all are -inf, or -1 for a window with no tap inside the input (a dilated window over the
// padding; its value is -inf).
void max_pool(const Tensor& x, const PoolAxis& h, const PoolAxis& w, Tensor& y, Tensor* indices);
// g of x_shape, zero but for g[p, indices[p, o]] += gy[p, o] in order of o (negative indices are
// skipped): max pooling's backward.
Tensor max_pool_scatter(const Tensor& gy, const Tensor& indices, const PoolAxis& h, const PoolAxis& w,
                        const Shape& x_shape);
// y[p, o] = g[p, indices[p, o]] (0 for a negative index), y of indices' shape: the scatter's backward.
Tensor max_pool_gather(const Tensor& g, const Tensor& indices, const PoolAxis& h, const PoolAxis& w);

// y[p, oh, ow] = (sum of x over the window) / (h.divisor[oh] * w.divisor[ow]), into y as for max_pool.
void avg_pool(const Tensor& x, const PoolAxis& h, const PoolAxis& w, Tensor& y);
// Average pooling's backward (a linear map, the transpose of avg_pool): g of x_shape, each window's
// taps receiving gy[p, oh, ow] / divisor.
Tensor avg_pool_backward(const Tensor& gy, const PoolAxis& h, const PoolAxis& w, const Shape& x_shape);

}  // namespace tapegrad::kernels
