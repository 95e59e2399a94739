// Elementwise ops: thin wrappers that check their inputs, run a kernel and record the backward
// (Note [Op formulas] in kernels/formulas.hpp has the math).
#include "tapegrad/ops/elementwise.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include "internal.hpp"
#include "kernels/copy.hpp"
#include "kernels/elementwise.hpp"
#include "kernels/formulas.hpp"
#include "ops/formula_tensor.hpp"
#include "tapegrad/ops/shape.hpp"

namespace tapegrad {

using detail::fail;
namespace k = kernels;

namespace detail {

template <class Op>
Tensor unary(const Tensor& x, const k::Params& params, const std::source_location& at) {
  require_floating(Op::name, x, at);
  OpScope scope(Op::name, at, x);
  Tensor y = k::unary(k::unary_id<Op>, x, params);
  if (!will_record({x})) return scope.finish(std::move(y));
  // What backward reads, in this order: x (if the formula uses it), then y. The output is saved
  // through a detached alias: the entry must not keep its own output alive (Note [The tape]).
  constexpr bool has_x = Op::saves & k::saves_x, has_y = Op::saves & k::saves_y;
  auto backward = [params](Context& b) {
    Tensor sx = has_x ? b.saved(0) : Tensor();
    Tensor sy = has_y ? b.saved(has_x ? 1 : 0) : Tensor();
    if (b.create_graph()) {  // Note [Formulas over tensors]
      sym::ConstantDType constants(b.gy().dtype());
      b.accumulate(0, sym::as_gradient(Op::backward(sym::Sym(sx), sym::Sym(sy), sym::Sym(b.gy()), params),
                                       b.gy().shape()));
    } else {
      b.accumulate(0, k::unary_backward(k::unary_id<Op>, sx, sy, b.gy(), params));
    }
  };
  if constexpr (has_x && has_y) return record(Op::name, {x}, y, {x, y}, backward, at);
  else if constexpr (has_x) return record(Op::name, {x}, y, {x}, backward, at);
  else if constexpr (has_y) return record(Op::name, {x}, y, {y}, backward, at);
  else return record(Op::name, {x}, y, {}, backward, at);
}

// torch computes int64 ** int64 in int64; we have no integer pow kernel (Int64Inputs::refused).
[[noreturn]] void refuse_integer_pow(const std::string& observed, const std::source_location& at) {
  fail<DTypeError>("pow", k::Pow::int64_refusal, observed, at);
}

// Brings a and b to dtype d, recording the casts so gradients come back in each input's own dtype.
std::pair<Tensor, Tensor> to_dtype(const Tensor& a, const Tensor& b, DType d, const std::source_location& at) {
  return {a.dtype() == d ? a : a.to(d, at), b.dtype() == d ? b : b.to(d, at)};
}
// Both at their result type (Note [Type promotion]).
std::pair<Tensor, Tensor> common_dtype(const Tensor& a, const Tensor& b, const std::source_location& at) {
  return to_dtype(a, b, result_type(operand(a), operand(b)), at);
}

template <class Op>
Tensor binary(const Tensor& a_in, const Tensor& b_in, const std::source_location& at) {
  require_defined(Op::name, a_in, at);
  require_defined(Op::name, b_in, at);
  Shape shape = broadcast_shapes(Op::name, a_in.shape(), b_in.shape(), at);
  OpScope scope(Op::name, at, a_in, b_in);
  DType dtype = result_type(operand(a_in), operand(b_in));
  if constexpr (Op::int64_inputs == k::Int64Inputs::as_float32) dtype = is_floating(dtype) ? dtype : float32;
  if constexpr (Op::int64_inputs == k::Int64Inputs::refused)
    if (!is_floating(dtype))
      fail<DTypeError>(Op::name, Op::int64_refusal, describe(a_in) + " and " + describe(b_in), at);
  auto [a, b] = to_dtype(a_in, b_in, dtype, at);
  if constexpr (!Op::differentiable) {
    return scope.finish(k::binary(k::binary_id<Op>, a, b, shape, int64));
  } else {
    Tensor y = k::binary(k::binary_id<Op>, a, b, shape, a.dtype());
    if (!will_record({a, b})) return scope.finish(std::move(y));
    if constexpr (Op::saves == k::saves_none) {
      // Their gradients are gy and ±gy: nothing to save, no kernel to run.
      return record(Op::name, {a, b}, y, {}, [](Context& b) {
        b.accumulate(0, b.gy());
        if (b.needs_grad(1)) b.accumulate(1, std::is_same_v<Op, k::Add> ? b.gy() : neg(b.gy()));
      }, at);
    } else {
      // The binary_backward kernel reads both operands; pow's gradient also reads the output.
      static_assert((Op::saves & (k::saves_a | k::saves_b)) == (k::saves_a | k::saves_b));
      constexpr bool reads_y = Op::saves & k::saves_y;
      auto backward = [](Context& b) {
        for (int which = 0; which < 2; ++which) {
          if (!b.needs_grad(static_cast<std::size_t>(which))) continue;
          const Tensor y = reads_y ? b.saved(2) : Tensor();
          if (b.create_graph()) {  // Note [Formulas over tensors]
            sym::ConstantDType constants(b.gy().dtype());
            const sym::Sym sa(b.saved(0)), sb(b.saved(1)), sy(y), gy(b.gy());
            b.accumulate(static_cast<std::size_t>(which),
                         sym::as_gradient(which == 0 ? Op::grad_a(sa, sb, sy, gy) : Op::grad_b(sa, sb, sy, gy),
                                          b.gy().shape()));
          } else {
            b.accumulate(static_cast<std::size_t>(which),
                         k::binary_backward(k::binary_id<Op>, which, b.saved(0), b.saved(1), y, b.gy()));
          }
        }
      };
      if constexpr (reads_y) return record(Op::name, {a, b}, y, {a, b, y}, backward, at);
      else return record(Op::name, {a, b}, y, {a, b}, backward, at);
    }
  }
}

}  // namespace detail


using detail::binary;
using detail::unary;

Tensor neg(const Tensor& x, Here at) {
  detail::require_defined("neg", x, at);
  if (x.dtype() == int64) return binary<k::Sub>(zeros({}, int64), x, at);
  return unary<k::Neg>(x, {}, at);
}
Tensor abs(const Tensor& x, Here at) {
  detail::require_defined("abs", x, at);
  if (x.dtype() == int64) return binary<k::Maximum>(x, neg(x, at), at);
  return unary<k::Abs>(x, {}, at);
}
// Note [Plain unary ops] (tapegrad/op_list.hpp): exp, log, ..., erf.
#define TAPEGRAD_DEFINE_PLAIN_UNARY(function, Formula) \
  Tensor function(const Tensor& x, Here at) { return unary<k::Formula>(x, {}, at); }
TAPEGRAD_PLAIN_UNARY_OPS(TAPEGRAD_DEFINE_PLAIN_UNARY)
#undef TAPEGRAD_DEFINE_PLAIN_UNARY
Tensor leaky_relu(const Tensor& x, double negative_slope, Here at) {
  return unary<k::LeakyRelu>(x, {negative_slope, 0.0}, at);
}
Tensor elu(const Tensor& x, double alpha, Here at) { return unary<k::Elu>(x, {alpha, 0.0}, at); }
Tensor softplus(const Tensor& x, double beta, double threshold, Here at) {
  if (!(beta > 0)) fail<ValueError>("softplus", "beta must be positive", std::to_string(beta), at);
  return unary<k::Softplus>(x, {beta, threshold}, at);
}
Tensor clamp(const Tensor& x, double low, double high, Here at) {
  if (low > high)
    fail<ValueError>("clamp", "low must not exceed high", "low " + std::to_string(low) + ", high " + std::to_string(high),
                     at);
  return unary<k::Clamp>(x, {low, high}, at);
}
Tensor clamp_min(const Tensor& x, double low, Here at) {
  detail::require_floating("clamp_min", x, at);  // names the op called, not the Clamp it runs
  detail::OpScope scope("clamp_min", at, x);
  return scope.finish(unary<k::Clamp>(x, {low, std::numeric_limits<double>::infinity()}, at));
}
Tensor clamp_max(const Tensor& x, double high, Here at) {
  detail::require_floating("clamp_max", x, at);
  detail::OpScope scope("clamp_max", at, x);
  return scope.finish(unary<k::Clamp>(x, {-std::numeric_limits<double>::infinity(), high}, at));
}
Tensor pow(const Tensor& x, double exponent, Here at) {
  detail::require_defined("pow", x, at);
  detail::OpScope scope("pow", at, x);
  const DType dtype = detail::result_type(detail::operand(x), detail::operand(exponent));
  if (!is_floating(dtype)) {
    std::ostringstream observed;
    observed << detail::describe(x) << " and scalar " << exponent;
    detail::refuse_integer_pow(observed.str(), at);
  }
  return scope.finish(unary<k::PowScalar>(x.dtype() == dtype ? x : x.to(dtype, at), {exponent, 0.0}, at));
}

Tensor add(const Tensor& a, const Tensor& b, Here at) { return binary<k::Add>(a, b, at); }
Tensor sub(const Tensor& a, const Tensor& b, Here at) { return binary<k::Sub>(a, b, at); }
Tensor mul(const Tensor& a, const Tensor& b, Here at) { return binary<k::Mul>(a, b, at); }
Tensor div(const Tensor& a, const Tensor& b, Here at) { return binary<k::Div>(a, b, at); }
Tensor pow(const Tensor& a, const Tensor& b, Here at) { return binary<k::Pow>(a, b, at); }
Tensor maximum(const Tensor& a, const Tensor& b, Here at) { return binary<k::Maximum>(a, b, at); }
Tensor minimum(const Tensor& a, const Tensor& b, Here at) { return binary<k::Minimum>(a, b, at); }
Tensor eq(const Tensor& a, const Tensor& b, Here at) { return binary<k::Eq>(a, b, at); }
Tensor ne(const Tensor& a, const Tensor& b, Here at) { return binary<k::Ne>(a, b, at); }
Tensor lt(const Tensor& a, const Tensor& b, Here at) { return binary<k::Lt>(a, b, at); }
Tensor le(const Tensor& a, const Tensor& b, Here at) { return binary<k::Le>(a, b, at); }
Tensor gt(const Tensor& a, const Tensor& b, Here at) { return binary<k::Gt>(a, b, at); }
Tensor ge(const Tensor& a, const Tensor& b, Here at) { return binary<k::Ge>(a, b, at); }

Tensor where(const Tensor& condition, const Tensor& a_in, const Tensor& b_in, Here at) {
  detail::require_defined("where", condition, at);
  detail::require_defined("where", a_in, at);
  detail::require_defined("where", b_in, at);
  Shape shape = detail::broadcast_shapes(
      "where", detail::broadcast_shapes("where", condition.shape(), a_in.shape(), at), b_in.shape(), at);
  detail::OpScope scope("where", at, condition, a_in, b_in);
  auto [a, b] = detail::common_dtype(a_in, b_in, at);
  Tensor y = k::where(condition, a, b, shape);
  if (!will_record({a, b})) return scope.finish(std::move(y));
  Tensor mask = condition.detach();
  return record("where", {a, b}, y, {mask}, [](Context& bw) {
    const Tensor& gy = bw.gy();
    Tensor zero = zeros({}, gy.dtype());
    auto pick = [&](const Tensor& a, const Tensor& b) {
      return bw.create_graph() ? where(bw.saved(0), a, b) : k::where(bw.saved(0), a, b, gy.shape());
    };
    if (bw.needs_grad(0)) bw.accumulate(0, pick(gy, zero));
    if (bw.needs_grad(1)) bw.accumulate(1, pick(zero, gy));
  }, at);
}

// ------------------------------------------------------------------ operators

namespace {
// The 0-d tensor a double operand stands for, in the dtype the op will compute in with t
// (Note [Type promotion]: int64 * 2.5 is float32, int64 * 2.0 stays int64).
Tensor scalar_like(double v, const Tensor& t) {
  return scalar(v, t.defined() ? detail::result_type(detail::operand(t), detail::operand(v)) : float32);
}
}  // namespace

Tensor operator+(Located<Tensor> a, const Tensor& b) { return add(a.value, b, a.at); }
Tensor operator-(Located<Tensor> a, const Tensor& b) { return sub(a.value, b, a.at); }
Tensor operator*(Located<Tensor> a, const Tensor& b) { return mul(a.value, b, a.at); }
Tensor operator/(Located<Tensor> a, const Tensor& b) { return div(a.value, b, a.at); }
Tensor operator+(Located<Tensor> a, double b) { return add(a.value, scalar_like(b, a.value), a.at); }
Tensor operator-(Located<Tensor> a, double b) { return sub(a.value, scalar_like(b, a.value), a.at); }
Tensor operator*(Located<Tensor> a, double b) { return mul(a.value, scalar_like(b, a.value), a.at); }
Tensor operator/(Located<Tensor> a, double b) { return div(a.value, scalar_like(b, a.value), a.at); }
Tensor operator+(double a, Located<Tensor> b) { return add(scalar_like(a, b.value), b.value, b.at); }
Tensor operator-(double a, Located<Tensor> b) { return sub(scalar_like(a, b.value), b.value, b.at); }
Tensor operator*(double a, Located<Tensor> b) { return mul(scalar_like(a, b.value), b.value, b.at); }
Tensor operator/(double a, Located<Tensor> b) { return div(scalar_like(a, b.value), b.value, b.at); }
Tensor operator-(Located<Tensor> x) { return neg(x.value, x.at); }

// ------------------------------------------------------------------ where with scalars, comparisons

Tensor where(const Tensor& condition, const Tensor& a, double b, Here at) {
  return where(condition, a, scalar_like(b, a), at);
}
Tensor where(const Tensor& condition, double a, const Tensor& b, Here at) {
  return where(condition, scalar_like(a, b), b, at);
}
Tensor where(const Tensor& condition, double a, double b, Here at) {
  return where(condition, scalar(a), scalar(b), at);
}

Tensor operator==(Located<Tensor> a, const Tensor& b) { return eq(a.value, b, a.at); }
Tensor operator!=(Located<Tensor> a, const Tensor& b) { return ne(a.value, b, a.at); }
Tensor operator<(Located<Tensor> a, const Tensor& b) { return lt(a.value, b, a.at); }
Tensor operator<=(Located<Tensor> a, const Tensor& b) { return le(a.value, b, a.at); }
Tensor operator>(Located<Tensor> a, const Tensor& b) { return gt(a.value, b, a.at); }
Tensor operator>=(Located<Tensor> a, const Tensor& b) { return ge(a.value, b, a.at); }
Tensor operator==(Located<Tensor> a, double b) { return eq(a.value, scalar_like(b, a.value), a.at); }
Tensor operator!=(Located<Tensor> a, double b) { return ne(a.value, scalar_like(b, a.value), a.at); }
Tensor operator<(Located<Tensor> a, double b) { return lt(a.value, scalar_like(b, a.value), a.at); }
Tensor operator<=(Located<Tensor> a, double b) { return le(a.value, scalar_like(b, a.value), a.at); }
Tensor operator>(Located<Tensor> a, double b) { return gt(a.value, scalar_like(b, a.value), a.at); }
Tensor operator>=(Located<Tensor> a, double b) { return ge(a.value, scalar_like(b, a.value), a.at); }
Tensor operator==(double a, Located<Tensor> b) { return eq(scalar_like(a, b.value), b.value, b.at); }
Tensor operator!=(double a, Located<Tensor> b) { return ne(scalar_like(a, b.value), b.value, b.at); }
Tensor operator<(double a, Located<Tensor> b) { return lt(scalar_like(a, b.value), b.value, b.at); }
Tensor operator<=(double a, Located<Tensor> b) { return le(scalar_like(a, b.value), b.value, b.at); }
Tensor operator>(double a, Located<Tensor> b) { return gt(scalar_like(a, b.value), b.value, b.at); }
Tensor operator>=(double a, Located<Tensor> b) { return ge(scalar_like(a, b.value), b.value, b.at); }

}  // namespace tapegrad
