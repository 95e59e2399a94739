// Reduction kernels.
#pragma once

#include <vector>

#include "tapegrad/tensor.hpp"

namespace tapegrad::kernels {

enum class Reduce { sum, max, min };

// Reduces the axes where mask is true (mask.size() == x.dim()); keepdim keeps them as size 1.
// max/min of an empty set is an error the caller reports first.
Tensor reduce(Reduce kind, const Tensor& x, const std::vector<bool>& mask, bool keepdim);
// softmax (or log_softmax) over the last axis of a contiguous floating tensor.
Tensor softmax_last_axis(const Tensor& x, bool log);
// Sums g (whose shape is a broadcast of `shape`) back to `shape`.
Tensor sum_to(const Tensor& g, const Shape& shape);
// Index of the first max (or min) along axis (axis < 0: over the flattened tensor), as int64.
Tensor arg_reduce(bool is_max, const Tensor& x, std::int64_t axis, bool keepdim);

}  // namespace tapegrad::kernels
