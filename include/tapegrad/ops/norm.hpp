// Normalisation, with PyTorch's semantics (torch.nn.functional.batch_norm, layer_norm, group_norm).
// Each normalises x to zero mean and unit variance over some axes (biased variance, eps added under
// the square root) and then scales by weight and shifts by bias when they are given (undefined: none).
// The statistics are two passes of sums of small terms (deviations from a first mean, then from the
// mean), accumulated in float64, so float32 data far from 0 keeps its variance. The layers in nn/norm.hpp hold the
// parameters and running statistics.
#pragma once

#include <cstdint>

#include "tapegrad/here.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad {

// x: [N, C], [N, C, L], [N, C, H, W] (any [N, C, *]); running_mean, running_var, weight, bias: [C] of
// x's dtype, or undefined. Statistics per channel over N and the spatial axes:
//   y = (x - mean_c) / sqrt(var_c + eps) * weight_c + bias_c
// training: mean and (biased) var of the batch, and the running statistics, when defined, are
// updated in place with recording off (the updated tensors do not join the graph):
//   running_mean = (1 - momentum) running_mean + momentum mean
//   running_var  = (1 - momentum) running_var  + momentum var · n / (n - 1)   (n values per channel)
// An empty batch leaves them as they are. A channel with a single value raises ValueError.
// Evaluation (training = false): the running statistics, which must then be defined, as constants.
// (PyTorch's momentum = None, the cumulative average, is momentum = 1 / num_batches_tracked, which
// nn::BatchNorm passes.)
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight = {},
                  const Tensor& bias = {}, bool training = false, double momentum = 0.1, double eps = 1e-5,
                  Here at = Here::current());

// Normalises over the last normalized_shape.size() axes of x, which must equal normalized_shape;
// weight and bias have shape normalized_shape (elementwise affine).
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5, Here at = Here::current());

// x: [N, C, *]; the C channels form num_groups groups of C / num_groups consecutive channels, each
// normalised over its channels and the spatial axes, per sample; weight and bias: [C], per channel.
Tensor group_norm(const Tensor& x, std::int64_t num_groups, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5, Here at = Here::current());

}  // namespace tapegrad
