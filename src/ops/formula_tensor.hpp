// Note [Formulas over tensors]
// The elementwise formulas (kernels/formulas.hpp) are written once over any T: scalars and xsimd
// batches in the kernels, and here Sym, a tensor wearing arithmetic operators that are the public
// (recorded) ops. Op::backward<Sym> is then the op's backward written in ops, so a create_graph
// backward records it and it can be differentiated again (Note [Higher-order gradients] in
// tape_backward.cpp); the first-order backward keeps running the fused kernel. One formula, two
// instantiations: they cannot drift apart.
//
// T(c) in a formula is a constant: a 0-d tensor in the dtype the formula computes in (set by
// ConstantDType), so float64 gradients are not rounded through float32 constants. Comparisons give
// int64 masks; & and | combine masks; select is where.
#pragma once

#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/shape.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad::detail::sym {

// The dtype of the constants a formula over tensors makes.
inline thread_local DType constant_dtype = DType::float32;
class ConstantDType {
 public:
  explicit ConstantDType(DType dtype) : previous_(constant_dtype) { constant_dtype = dtype; }
  ~ConstantDType() { constant_dtype = previous_; }
  ConstantDType(const ConstantDType&) = delete;
  ConstantDType& operator=(const ConstantDType&) = delete;

 private:
  DType previous_;
};

struct Sym {
  static constexpr bool records_ops = true;
  Tensor t;
  Sym(Tensor value) : t(std::move(value)) {}  // NOLINT: formulas pass tensors as T
  Sym(double value) : t(scalar(value, constant_dtype)) {}  // NOLINT: T(c) in a formula
};

inline Sym operator+(const Sym& a, const Sym& b) { return add(a.t, b.t); }
inline Sym operator-(const Sym& a, const Sym& b) { return sub(a.t, b.t); }
inline Sym operator*(const Sym& a, const Sym& b) { return mul(a.t, b.t); }
inline Sym operator/(const Sym& a, const Sym& b) { return div(a.t, b.t); }
inline Sym operator-(const Sym& a) { return neg(a.t); }
inline Sym operator<(const Sym& a, const Sym& b) { return lt(a.t, b.t); }
inline Sym operator<=(const Sym& a, const Sym& b) { return le(a.t, b.t); }
inline Sym operator>(const Sym& a, const Sym& b) { return gt(a.t, b.t); }
inline Sym operator>=(const Sym& a, const Sym& b) { return ge(a.t, b.t); }
inline Sym operator==(const Sym& a, const Sym& b) { return eq(a.t, b.t); }
inline Sym operator&(const Sym& a, const Sym& b) { return mul(a.t, b.t); }  // masks
inline Sym operator|(const Sym& a, const Sym& b) { return maximum(a.t, b.t); }
inline Sym select(const Sym& condition, const Sym& a, const Sym& b) { return where(condition.t, a.t, b.t); }

inline Sym exp(const Sym& x) { return tapegrad::exp(x.t); }
inline Sym log(const Sym& x) { return tapegrad::log(x.t); }
inline Sym log1p(const Sym& x) { return tapegrad::log1p(x.t); }
inline Sym sqrt(const Sym& x) { return tapegrad::sqrt(x.t); }
inline Sym sin(const Sym& x) { return tapegrad::sin(x.t); }
inline Sym cos(const Sym& x) { return tapegrad::cos(x.t); }
inline Sym tanh(const Sym& x) { return tapegrad::tanh(x.t); }
inline Sym abs(const Sym& x) { return tapegrad::abs(x.t); }
inline Sym pow(const Sym& a, const Sym& b) { return tapegrad::pow(a.t, b.t); }
inline Sym erf(const Sym& x) { return tapegrad::erf(x.t); }
inline Sym sigmoid(const Sym& x) { return tapegrad::sigmoid(x.t); }

// The result of a formula as a gradient of `shape` (a formula may return a constant, e.g. T(0)).
inline Tensor as_gradient(const Sym& r, const Shape& shape) {
  return r.t.shape() == shape ? r.t : expand(r.t, shape);
}

}  // namespace tapegrad::detail::sym
