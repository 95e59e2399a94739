// Kernels of the normalisation ops (src/ops/norm.cpp): statistics per channel of a contiguous tensor
// seen as [outer, channels, inner], over its outer and inner axes. Batch norm is [N, C, H*W]; layer
// norm [1, rows, normalised size]; group norm [1, N*G, C/G*H*W].
#pragma once

#include <cstdint>
#include <vector>

#include "tapegrad/tensor.hpp"

namespace tapegrad::kernels {

struct ChannelLayout {
  std::int64_t outer = 1, channels = 1, inner = 1;
  std::int64_t count() const { return outer * inner; }  // values per channel
};

// Per channel, in float64 whatever the data's dtype: the mean, the biased variance and
// 1/sqrt(variance + eps).
struct ChannelStats {
  std::vector<double> mean, var, invstd;
};

// y = (x - mean) * invstd * weight + bias per channel, with the batch statistics, which it returns in
// stats. weight and bias are [channels] contiguous tensors of x's dtype, or undefined (1 and 0).
Tensor normalize_channels(const Tensor& x, const ChannelLayout& layout, const Tensor& weight, const Tensor& bias,
                          double eps, ChannelStats& stats);

struct ChannelGrads {
  Tensor gx, gweight, gbias;  // undefined when not asked for
};
// The gradients of normalize_channels (the statistics being functions of x), given its statistics.
ChannelGrads normalize_channels_backward(const Tensor& gy, const Tensor& x, const ChannelLayout& layout,
                                         const Tensor& weight, const ChannelStats& stats, bool need_gx,
                                         bool need_gweight, bool need_gbias);

}  // namespace tapegrad::kernels
