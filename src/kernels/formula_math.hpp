// The math the formulas of formulas.hpp are written in: one name per function for scalars, xsimd
// batches and tensors (Note [Formulas over tensors]), NaN-aware compares (Note [NaN propagation]).
#pragma once

#include <cmath>
#include <type_traits>

namespace tapegrad::kernels {

// Each function takes a scalar (std:: overload) or an xsimd batch (found by argument-dependent
// lookup in namespace xsimd), so a formula is written once for both.
namespace math {
namespace adl {
template <class C, class T> T select_batch(const C& condition, const T& a, const T& b) { return select(condition, a, b); }
template <class T> auto isnan_batch(const T& x) { return isnan(x); }
template <class T> T sigmoid_op(const T& x) { return sigmoid(x); }  // a formula over tensors: its sigmoid op
}  // namespace adl
template <class C, class T> T select(const C& condition, const T& a, const T& b) {
  if constexpr (std::is_arithmetic_v<C>) return condition ? a : b;
  else return adl::select_batch(condition, a, b);
}
// True where x is NaN (never for integers). A batch goes through xsimd::isnan, never x != x: xsimd
// 8.1's AVX operator!= compares ordered (_CMP_NEQ_OQ), so NaN != NaN is false there.
template <class T> auto isnan(const T& x) {
  if constexpr (std::is_integral_v<T>) return false;
  else if constexpr (std::is_floating_point_v<T>) return x != x;
  else return adl::isnan_batch(x);
}
// Note [NaN propagation]: an ordered compare (x > 0, a >= b) is false when an operand is NaN, so a
// select on it silently picks the other branch: relu(NaN) would be 0 and maximum(NaN, 0) would be 0.
// or_nan(condition, x...) is the compare made NaN-aware: also true where any of x is NaN. Written
// select(or_nan(x > 0, x), x, 0), the NaN operand is the one chosen, as PyTorch does. Backward
// formulas follow PyTorch's derivatives at NaN (checked against torch by tests/fixtures/make_nan.py),
// which mostly needs no helper: they are written with the compare that is false on the masked side.
// The max/min reductions combine through Maximum/Minimum below, so they share the same helper.
template <class C, class... T> C or_nan(const C& condition, const T&... x) {
  if constexpr (std::is_same_v<C, bool>) return (condition || ... || isnan(x));
  else return (condition | ... | isnan(x));
}
#define TAPEGRAD_MATH_UNARY(f) \
  template <class T> T f(const T& x) { using std::f; return f(x); }
TAPEGRAD_MATH_UNARY(abs)
TAPEGRAD_MATH_UNARY(cos)
TAPEGRAD_MATH_UNARY(erf)
TAPEGRAD_MATH_UNARY(exp)
TAPEGRAD_MATH_UNARY(log)
TAPEGRAD_MATH_UNARY(log1p)
TAPEGRAD_MATH_UNARY(sin)
TAPEGRAD_MATH_UNARY(sqrt)
TAPEGRAD_MATH_UNARY(tanh)
#undef TAPEGRAD_MATH_UNARY
// The logistic function, with exp of a non-positive number only, so large |x| neither overflows nor loses
// the tail. Over tensors (Note [Formulas over tensors]) it is the sigmoid op itself: the formula's
// |x| has derivative 0 at 0, so a formula that differentiates sigmoid through it (silu, softplus at
// create_graph) would get the second derivative at 0 wrong.
template <class T> T sigmoid(const T& x) {
  if constexpr (requires { T::records_ops; }) {
    return adl::sigmoid_op(x);
  } else {
    T e = exp(-abs(x));
    return select(x >= T(0), T(1) / (T(1) + e), e / (T(1) + e));
  }
}
// With IEEE's two cases where a NaN operand gives a number, x^0 = 1 and 1^y = 1, as std::pow and
// torch.pow have them (xsimd::pow does not).
template <class T> T pow(const T& a, const T& b) {
  using std::pow;
  // Scalars, and formulas over tensors (whose pow op has those cases already, and whose select
  // would cut the derivative at a == 1: Note [Formulas over tensors]).
  if constexpr (std::is_arithmetic_v<T> || requires { T::records_ops; }) return pow(a, b);
  else return select((b == T(0)) | (a == T(1)), T(1), pow(a, b));
}
}  // namespace math

}  // namespace tapegrad::kernels
