// Kernel entry points for elementwise ops. Op ids are positions in the lists of formulas.hpp; every
// function returns a new contiguous tensor and never touches the tape.
#pragma once

#include "kernels/formulas.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad::kernels {

// y = Op(x)
Tensor unary(int op, const Tensor& x, const Params& params);
// gx = Op'(x, y) * gy, fused in one pass; x or y may be undefined when Op does not save it.
Tensor unary_backward(int op, const Tensor& x, const Tensor& y, const Tensor& gy, const Params& params);
// y = Op(a, b) broadcast to out_shape; a and b share a dtype; the result has out_dtype.
Tensor binary(int op, const Tensor& a, const Tensor& b, const Shape& out_shape, DType out_dtype);
// The gradient for operand `which` (0: a, 1: b) at the output's shape (not yet summed to the
// operand's shape). y may be undefined unless the op reads it.
Tensor binary_backward(int op, int which, const Tensor& a, const Tensor& b, const Tensor& y, const Tensor& gy);
// condition ? a : b, all broadcast to out_shape; a and b share a dtype.
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b, const Shape& out_shape);

}  // namespace tapegrad::kernels
