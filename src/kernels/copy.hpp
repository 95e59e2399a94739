// Copies, casts, fills and in-place updates over strided tensors.
#pragma once

#include "tapegrad/tensor.hpp"

namespace tapegrad::kernels {

// A contiguous copy of x with the given dtype (values converted).
Tensor cast(const Tensor& x, DType dtype);
// Writes src (broadcast to dst's shape, converted to dst's dtype) into dst's elements. src may share
// memory with dst (Note [Overlapping copies]).
void copy_into(const Tensor& dst, const Tensor& src);
void fill(const Tensor& dst, double value);
// dst += alpha * src in place, computed in the `compute` dtype and stored in dst's dtype; src is
// broadcast to dst's shape and may share memory with dst, as in copy_into. dst must not alias its own
// elements (no stride-0 axis).
void add_into(const Tensor& dst, const Tensor& src, double alpha, DType compute);
// dst *= factor in place (factor converted to dst's dtype first); the same rule on dst.
void scale(const Tensor& dst, double factor);

}  // namespace tapegrad::kernels
