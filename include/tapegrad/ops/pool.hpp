// Pooling, like torch.nn.functional's: over the last axis of [N, C, L] (or unbatched [C, L]) for the
// 1-d ops, over the last two of [N, C, H, W] (or unbatched [C, H, W]) for the 2-d ones. Each plane
// (one sample, one channel) is pooled on its own; float32 and float64.
//
// PyTorch's shape rule, per spatial axis of input length n, kernel k, stride s, padding p and dilation d:
//   out = floor((n + 2p - d(k - 1) - 1) / s) + 1            (ceil_mode: ceil instead of floor, but the
//                                                             last window must start inside the input
//                                                             or the left padding: (out - 1) s < n + p)
// with k, s, d >= 1, 0 <= p <= k / 2 and out >= 1 (ValueError, ShapeError otherwise). N may be 0;
// C, H, W (L) may not.
#pragma once

#include <cstdint>
#include <optional>

#include "tapegrad/here.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad {

// A size per spatial axis of a 2-d pool: one number for both (2) or {height, width}, like LibTorch's
// ExpandingArray<2>. Default-constructed ({}) it is "not given": a stride then defaults to the kernel.
struct PoolSize2 {
  PoolSize2() = default;
  PoolSize2(std::int64_t both) : height(both), width(both), given(true) {}
  PoolSize2(std::int64_t height_, std::int64_t width_) : height(height_), width(width_), given(true) {}
  std::int64_t height = 0, width = 0;
  bool given = false;
};

// y = the largest value of each window (the kernel's taps, `dilation` apart, `stride` apart from
// window to window; padding counts as -inf). A NaN in a window is its max. The gradient flows to the
// one element each window picked (the first largest; torch's indices).
Tensor max_pool1d(const Tensor& x, std::int64_t kernel_size, std::optional<std::int64_t> stride = std::nullopt,
                  std::int64_t padding = 0, std::int64_t dilation = 1, bool ceil_mode = false,
                  Here at = Here::current());
Tensor max_pool2d(const Tensor& x, PoolSize2 kernel_size, PoolSize2 stride = {}, PoolSize2 padding = 0,
                  PoolSize2 dilation = 1, bool ceil_mode = false, Here at = Here::current());
// The values and, like return_indices=True, the int64 index of each max: flat into the input's plane
// (L, or H * W), as torch gives it. A dilated window lying wholly in the padding has value -inf and
// index -1 (torch reports an index outside the plane there).
ValuesIndices max_pool1d_with_indices(const Tensor& x, std::int64_t kernel_size,
                                      std::optional<std::int64_t> stride = std::nullopt, std::int64_t padding = 0,
                                      std::int64_t dilation = 1, bool ceil_mode = false, Here at = Here::current());
ValuesIndices max_pool2d_with_indices(const Tensor& x, PoolSize2 kernel_size, PoolSize2 stride = {},
                                      PoolSize2 padding = 0, PoolSize2 dilation = 1, bool ceil_mode = false,
                                      Here at = Here::current());

// y = the mean of each window: its sum divided by the window's size counting the padding
// (count_include_pad, clipped to the padded input) or not, or by divisor_override (non-zero) when given.
// The backward spreads gy / divisor over each window: average pooling's transpose.
Tensor avg_pool1d(const Tensor& x, std::int64_t kernel_size, std::optional<std::int64_t> stride = std::nullopt,
                  std::int64_t padding = 0, bool ceil_mode = false, bool count_include_pad = true,
                  Here at = Here::current());
Tensor avg_pool2d(const Tensor& x, PoolSize2 kernel_size, PoolSize2 stride = {}, PoolSize2 padding = 0,
                  bool ceil_mode = false, bool count_include_pad = true,
                  std::optional<std::int64_t> divisor_override = std::nullopt, Here at = Here::current());

// Adaptive pools: output_size (>= 0) windows per axis; window o of an axis of length n spans
// [floor(o n / out), ceil((o + 1) n / out)), as in torch. Windows may overlap; out may exceed n.
Tensor adaptive_avg_pool1d(const Tensor& x, std::int64_t output_size, Here at = Here::current());
Tensor adaptive_avg_pool2d(const Tensor& x, PoolSize2 output_size, Here at = Here::current());
Tensor adaptive_max_pool2d(const Tensor& x, PoolSize2 output_size, Here at = Here::current());
ValuesIndices adaptive_max_pool2d_with_indices(const Tensor& x, PoolSize2 output_size, Here at = Here::current());

}  // namespace tapegrad
