// Elementwise ops. Binary ops broadcast like NumPy; their gradients are summed back to each input's
// shape. Mixed dtypes promote by PyTorch's rules (README, "Type promotion and NaN"): float64 > float32
// > int64 between tensors, 0-d tensors and double scalars do not widen a float tensor, an integral
// double keeps int64 (`x * 2.0`), a fractional one makes it float32, and `/` is true division. A NaN
// input gives NaN, in either argument, as in PyTorch.
#pragma once

#include "tapegrad/function.hpp"
#include "tapegrad/here.hpp"
#include "tapegrad/op_list.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad {

// --- unary: y = f(x); floating dtypes only (int64 raises DTypeError), except neg and abs.
Tensor neg(const Tensor& x, Here at = Here::current());  // -x
Tensor abs(const Tensor& x, Here at = Here::current());  // |x|, gradient sign(x) (0 at 0)
// exp log log1p sqrt rsqrt sin cos tanh sigmoid relu gelu silu hardswish erf, each declared
// `Tensor f(const Tensor& x, Here at = Here::current())` from the list in op_list.hpp (with its math).
#define TAPEGRAD_DECLARE_PLAIN_UNARY(function, Formula) \
  Tensor function(const Tensor& x, Here at = Here::current());
TAPEGRAD_PLAIN_UNARY_OPS(TAPEGRAD_DECLARE_PLAIN_UNARY)
#undef TAPEGRAD_DECLARE_PLAIN_UNARY
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01, Here at = Here::current());
Tensor elu(const Tensor& x, double alpha = 1.0, Here at = Here::current());  // x > 0 ? x : α(e^x - 1)
// (1/β) ln(1 + e^(βx)); linear above x β > threshold, like torch.nn.functional.softplus.
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0, Here at = Here::current());
// min(max(x, low), high); gradient 1 strictly inside, 0 outside.
Tensor clamp(const Tensor& x, double low, double high, Here at = Here::current());
Tensor clamp_min(const Tensor& x, double low, Here at = Here::current());
Tensor clamp_max(const Tensor& x, double high, Here at = Here::current());
// x^p for a scalar p.
Tensor pow(const Tensor& x, double exponent, Here at = Here::current());

// --- binary, broadcasting
Tensor add(const Tensor& a, const Tensor& b, Here at = Here::current());
Tensor sub(const Tensor& a, const Tensor& b, Here at = Here::current());
Tensor mul(const Tensor& a, const Tensor& b, Here at = Here::current());
Tensor div(const Tensor& a, const Tensor& b, Here at = Here::current());
Tensor pow(const Tensor& a, const Tensor& b, Here at = Here::current());      // a^b (a > 0 for gb)
Tensor maximum(const Tensor& a, const Tensor& b, Here at = Here::current());  // ties split the gradient
Tensor minimum(const Tensor& a, const Tensor& b, Here at = Here::current());
// condition ? a : b elementwise (condition: any dtype, non-zero is true; all three broadcast).
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b, Here at = Here::current());

// --- comparisons: 0/1 as int64, not differentiable
Tensor eq(const Tensor& a, const Tensor& b, Here at = Here::current());
Tensor ne(const Tensor& a, const Tensor& b, Here at = Here::current());
Tensor lt(const Tensor& a, const Tensor& b, Here at = Here::current());
Tensor le(const Tensor& a, const Tensor& b, Here at = Here::current());
Tensor gt(const Tensor& a, const Tensor& b, Here at = Here::current());
Tensor ge(const Tensor& a, const Tensor& b, Here at = Here::current());

// --- operators (the Located wrapper keeps the caller's line for errors and profiles)
Tensor operator+(Located<Tensor> a, const Tensor& b);
Tensor operator-(Located<Tensor> a, const Tensor& b);
Tensor operator*(Located<Tensor> a, const Tensor& b);
Tensor operator/(Located<Tensor> a, const Tensor& b);
Tensor operator+(Located<Tensor> a, double b);
Tensor operator-(Located<Tensor> a, double b);
Tensor operator*(Located<Tensor> a, double b);
Tensor operator/(Located<Tensor> a, double b);
Tensor operator+(double a, Located<Tensor> b);
Tensor operator-(double a, Located<Tensor> b);
Tensor operator*(double a, Located<Tensor> b);
Tensor operator/(double a, Located<Tensor> b);
Tensor operator-(Located<Tensor> x);

// where with scalar branches: where(x > 0, x, 0.0). A scalar takes the dtype of the tensor it meets
// (an int64 tensor with a non-integral scalar becomes float32); two scalars give float32.
Tensor where(const Tensor& condition, const Tensor& a, double b, Here at = Here::current());
Tensor where(const Tensor& condition, double a, const Tensor& b, Here at = Here::current());
Tensor where(const Tensor& condition, double a, double b, Here at = Here::current());

// Comparison operators: the same 0/1 int64 masks as eq ne lt le gt ge, which where() takes as a
// condition and arithmetic takes as numbers ((x > 0) * x is relu). Tensors have no identity
// comparison: a == b compares values elementwise; use a.same(b) for "the same tensor".
Tensor operator==(Located<Tensor> a, const Tensor& b);
Tensor operator!=(Located<Tensor> a, const Tensor& b);
Tensor operator<(Located<Tensor> a, const Tensor& b);
Tensor operator<=(Located<Tensor> a, const Tensor& b);
Tensor operator>(Located<Tensor> a, const Tensor& b);
Tensor operator>=(Located<Tensor> a, const Tensor& b);
Tensor operator==(Located<Tensor> a, double b);
Tensor operator!=(Located<Tensor> a, double b);
Tensor operator<(Located<Tensor> a, double b);
Tensor operator<=(Located<Tensor> a, double b);
Tensor operator>(Located<Tensor> a, double b);
Tensor operator>=(Located<Tensor> a, double b);
Tensor operator==(double a, Located<Tensor> b);
Tensor operator!=(double a, Located<Tensor> b);
Tensor operator<(double a, Located<Tensor> b);
Tensor operator<=(double a, Located<Tensor> b);
Tensor operator>(double a, Located<Tensor> b);
Tensor operator>=(double a, Located<Tensor> b);

}  // namespace tapegrad
