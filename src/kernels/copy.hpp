// Copies, casts and fills over strided tensors.
#pragma once

#include "tapegrad/tensor.hpp"

namespace tapegrad::kernels {

// A contiguous copy of x with the given dtype (values converted).
Tensor cast(const Tensor& x, DType dtype);
// Writes src (broadcast to dst's shape, converted to dst's dtype) into dst's elements. src may share
// memory with dst (Note [Overlapping copies]).
void copy_into(const Tensor& dst, const Tensor& src);
void fill(const Tensor& dst, double value);

}  // namespace tapegrad::kernels
