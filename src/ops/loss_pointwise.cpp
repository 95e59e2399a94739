// The pointwise losses: mse, l1, smooth_l1, huber, kl_div and the two binary cross-entropies, composed
// from differentiable ops (so their backwards are differentiable too), except binary_cross_entropy,
// an op of its own for PyTorch's clamped backward, written with ops. Targets get gradients as well.
#include <cmath>
#include <string>

#include "internal.hpp"
#include "ops/loss_internal.hpp"
#include "tapegrad/function.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/loss.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shape.hpp"
#include "tapegrad/tape.hpp"

namespace tapegrad {

using detail::fail;

namespace detail {

void check_reduction(std::string_view op, Reduction reduction, bool batchmean_allowed, const std::source_location& at) {
  const bool known = reduction == Reduction::none || reduction == Reduction::mean || reduction == Reduction::sum ||
                     (batchmean_allowed && reduction == Reduction::batchmean);
  if (known) return;
  const std::string name =
      reduction == Reduction::batchmean ? "batchmean" : std::to_string(static_cast<int>(reduction));
  fail<ValueError>(op,
                   batchmean_allowed ? "reduction must be none, mean, sum or batchmean"
                                     : "reduction must be none, mean or sum (batchmean is kl_div's)",
                   name, at);
}

}  // namespace detail

namespace {

// Both operands defined and floating, and broadcastable; returns their broadcast shape.
Shape check_pair(std::string_view op, const Tensor& input, const Tensor& target, Reduction reduction,
                 const std::source_location& at, bool batchmean_allowed = false) {
  detail::require_floating(op, input, at);
  detail::require_defined(op, target, at);
  if (!is_floating(target.dtype()))
    fail<DTypeError>(op, "the target must have a floating dtype (float32 or float64)",
                     std::string(dtype_name(target.dtype())), at);
  detail::check_reduction(op, reduction, batchmean_allowed, at);
  return detail::broadcast_shapes(op, input.shape(), target.shape(), at);
}

// A weight (weight, pos_weight) must be floating and broadcast to the input's shape.
void check_weight(std::string_view op, std::string_view name, const Tensor& weight, const Tensor& input,
                  const std::source_location& at) {
  if (!weight.defined()) return;
  if (!is_floating(weight.dtype()))
    fail<DTypeError>(op, std::string(name) + " must have a floating dtype", std::string(dtype_name(weight.dtype())),
                     at);
  bool broadcasts = weight.dim() <= input.dim();
  for (std::int64_t i = 1; broadcasts && i <= weight.dim(); ++i) {
    const std::int64_t size = weight.shape()[static_cast<std::size_t>(weight.dim() - i)];
    broadcasts = size == 1 || size == input.shape()[static_cast<std::size_t>(input.dim() - i)];
  }
  if (!broadcasts)
    fail<ShapeError>(op, std::string(name) + " must broadcast to the input's shape",
                     std::string(name) + " " + to_string(weight.shape()) + " for input " + to_string(input.shape()),
                     at);
}

Tensor reduced(const Tensor& loss, Reduction reduction, const std::source_location& at) {
  switch (reduction) {
    case Reduction::none:
      return loss;
    case Reduction::sum:
      return sum(loss, {}, false, at);
    case Reduction::mean:
      return mean(loss, {}, false, at);  // NaN for an empty batch, as in PyTorch
    case Reduction::batchmean:
      break;
  }
  // PyTorch divides a 0-d input's sum by nothing.
  if (loss.dim() == 0) return sum(loss, {}, false, at);
  return div(sum(loss, {}, false, at), scalar(static_cast<double>(loss.shape()[0]), loss.dtype()), at);
}

Tensor constant(double value, const Tensor& like) { return scalar(value, like.dtype()); }

// max(ln x, -100), as PyTorch's binary_cross_entropy takes it.
Tensor clamped_log(const Tensor& x, const std::source_location& at) { return clamp_min(log(x, at), -100.0, at); }

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction, Here at) {
  detail::OpScope scope("mse_loss", at, input, target);
  check_pair("mse_loss", input, target, reduction, at);
  Tensor d = sub(input, target, at);
  return scope.finish(reduced(mul(d, d, at), reduction, at));
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, Here at) {
  detail::OpScope scope("l1_loss", at, input, target);
  check_pair("l1_loss", input, target, reduction, at);
  return scope.finish(reduced(abs(sub(input, target, at), at), reduction, at));
}

namespace {

// 0.5 d² / β where |d| < β, else |d| - 0.5 β. Both branches are finite, so where() passes no NaN.
Tensor smooth_l1(const Tensor& input, const Tensor& target, double beta, const std::source_location& at) {
  Tensor d = sub(input, target, at);
  Tensor size = abs(d, at);
  if (beta == 0) return size;
  Tensor quadratic = mul(mul(d, d, at), constant(0.5 / beta, d), at);
  Tensor linear = sub(size, constant(0.5 * beta, d), at);
  return where(lt(size, constant(beta, d), at), quadratic, linear, at);
}

}  // namespace

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, double beta, Here at) {
  detail::OpScope scope("smooth_l1_loss", at, input, target);
  check_pair("smooth_l1_loss", input, target, reduction, at);
  if (!(beta >= 0) || std::isinf(beta))
    fail<ValueError>("smooth_l1_loss", "beta must be finite and >= 0", std::to_string(beta), at);
  return scope.finish(reduced(smooth_l1(input, target, beta, at), reduction, at));
}

Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction, double delta, Here at) {
  detail::OpScope scope("huber_loss", at, input, target);
  check_pair("huber_loss", input, target, reduction, at);
  if (!(delta > 0) || std::isinf(delta))
    fail<ValueError>("huber_loss", "delta must be finite and > 0", std::to_string(delta), at);
  Tensor loss = smooth_l1(input, target, delta, at);
  return scope.finish(reduced(mul(loss, constant(delta, loss), at), reduction, at));
}

namespace {

// PyTorch's backward of binary_cross_entropy, with ops so that it is differentiable in turn.
void binary_cross_entropy_backward(Context& b) {
  const Tensor &gy = b.gy(), &x = b.saved(0), &t = b.saved(1);
  const std::source_location& at = b.where();
  Tensor one = constant(1.0, x);
  Tensor one_minus_x = sub(one, x, at);
  // (x - t) / max(x (1 - x), ε), ε PyTorch's EPSILON: 1e-12 rounded to float
  constexpr double epsilon = 1e-12f;
  if (b.needs_grad(0))
    b.accumulate(0, div(mul(gy, sub(x, t, at), at), clamp_min(mul(x, one_minus_x, at), epsilon, at), at));
  if (b.needs_grad(1))  // max(ln(1 - x), -100) - max(ln x, -100)
    b.accumulate(1, mul(gy, sub(clamped_log(one_minus_x, at), clamped_log(x, at), at), at));
}

// The binary cross-entropies take a target of the input's shape (PyTorch refuses others too).
void check_binary(std::string_view op, const Tensor& input, const Tensor& target, Reduction reduction,
                  const Tensor& weight, const std::source_location& at) {
  check_pair(op, input, target, reduction, at);
  if (target.shape() != input.shape())
    fail<ShapeError>(op, "the target must have the input's shape",
                     "target " + to_string(target.shape()) + " for input " + to_string(input.shape()), at);
  check_weight(op, "weight", weight, input, at);
}

// softplus(-x) = ln(1 + e^-x), exact to rounding at any x: below x = -40, where ln(1 + e^-x) and -x
// agree to 4e-18, the linear tail takes over, so e^-x never exceeds e^40 (float32 holds it). Made of
// ops whose derivatives of every order are right at every x, including x = 0 (softplus(-x)'s second
// derivative at exactly 0 comes out 0: its backward's sigmoid goes through |x|).
Tensor softplus_of_neg(const Tensor& x, const std::source_location& at) {
  Tensor head = log1p(exp(neg(clamp_min(x, -40.0, at), at), at), at);
  Tensor tail = relu(sub(neg(x, at), constant(40.0, x), at), at);
  return add(head, tail, at);
}

}  // namespace

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const BinaryCrossEntropyOptions& options,
                            Here at) {
  constexpr std::string_view op = "binary_cross_entropy";
  detail::OpScope scope(op, at, input, target);
  check_binary(op, input, target, options.reduction, options.weight, at);
  const std::vector<double> values = input.detach().to(float64).to_vector<double>();
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!(values[i] >= 0.0 && values[i] <= 1.0))
      fail<ValueError>(op, "input probabilities must lie in [0, 1]",
                       std::to_string(values[i]) + " at position " + std::to_string(i), at);
  Tensor x = input, t = target.dtype() == input.dtype() ? target : target.to(input.dtype(), at);
  Tensor y;
  {
    NoGradGuard no_grad;
    Tensor one = constant(1.0, x);
    y = neg(add(mul(t, clamped_log(x, at), at), mul(sub(one, t, at), clamped_log(sub(one, x, at), at), at), at), at);
  }
  y = record(op, {x, t}, y, {x, t}, binary_cross_entropy_backward, at);
  if (options.weight.defined()) y = mul(y, options.weight, at);
  return scope.finish(reduced(y, options.reduction, at));
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BinaryCrossEntropyWithLogitsOptions& options, Here at) {
  constexpr std::string_view op = "binary_cross_entropy_with_logits";
  detail::OpScope scope(op, at, input, target);
  check_binary(op, input, target, options.reduction, options.weight, at);
  check_weight(op, "pos_weight", options.pos_weight, input, at);
  Tensor log_one_plus = softplus_of_neg(input, at);
  Tensor one = constant(1.0, input);
  if (options.pos_weight.defined())  // 1 + (p - 1) t
    log_one_plus = mul(add(one, mul(sub(options.pos_weight, one, at), target, at), at), log_one_plus, at);
  Tensor loss = add(mul(sub(one, target, at), input, at), log_one_plus, at);
  if (options.weight.defined()) loss = mul(loss, options.weight, at);
  return scope.finish(reduced(loss, options.reduction, at));
}

Tensor kl_div(const Tensor& input, const Tensor& target, const KlDivOptions& options, Here at) {
  detail::OpScope scope("kl_div", at, input, target);
  check_pair("kl_div", input, target, options.reduction, at, true);
  Tensor loss;
  if (options.log_target) {
    loss = mul(exp(target, at), sub(target, input, at), at);
  } else {
    // xlogy(t, t) - t x: 0 where t = 0; ln reads 1 there so the unused branch holds no -inf (whose
    // product with a zero gradient would be NaN). A negative or NaN target gives NaN, as in PyTorch.
    Tensor is_zero = eq(target, constant(0.0, target), at);
    Tensor safe = where(is_zero, constant(1.0, target), target, at);
    Tensor xlogy = where(is_zero, constant(0.0, target), mul(target, log(safe, at), at), at);
    loss = sub(xlogy, mul(target, input, at), at);
  }
  return scope.finish(reduced(loss, options.reduction, at));
}

}  // namespace tapegrad
