// cross_entropy and nll_loss, composed from differentiable ops (log_softmax, gather, where, sum), so
// their backward is the chain of those ops' backwards. Targets and class weights are constants.
#include "tapegrad/ops/loss.hpp"

#include "internal.hpp"
#include "ops/loss_internal.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/index.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shape.hpp"

namespace tapegrad {

using detail::fail;

namespace {

// [C] has its classes on axis 0; [N, C] and [N, C, d1, ...] on axis 1, as in PyTorch.
std::int64_t class_axis_of(std::string_view op, const Tensor& input, const std::source_location& at) {
  if (input.dim() == 0)
    fail<ShapeError>(op, "the input must have a class axis ([C], [N, C] or [N, C, d1, ...])", "a 0-d tensor",
                     at);
  return input.dim() == 1 ? 0 : 1;
}

void check_weight(std::string_view op, const Tensor& weight, std::int64_t classes,
                  const std::source_location& at) {
  if (!weight.defined()) return;
  if (weight.dim() != 1 || weight.shape()[0] != classes)
    fail<ShapeError>(op, "the class weights must have shape [C]",
                     "weight " + to_string(weight.shape()) + " for " + std::to_string(classes) + " classes",
                     at);
  if (!is_floating(weight.dtype()))
    fail<DTypeError>(op, "the class weights must have a floating dtype",
                     std::string(dtype_name(weight.dtype())), at);
}

// Class-index targets, checked and turned into what the loss needs.
struct ClassTargets {
  Tensor safe;              // int64, ignored entries replaced by class 0 (so gather can read them)
  Tensor valid;             // int64 0/1: not ignored
  Tensor weight;            // weight[target] per entry, in the input's dtype (undefined: no class weights)
  double total_weight = 0;  // Σ weight[target] over the entries not ignored (their count without weights)
};

ClassTargets class_targets(std::string_view op, const Tensor& input, std::int64_t axis, const Tensor& target,
                           const Tensor& weight, std::int64_t ignore_index, const std::source_location& at) {
  detail::require_defined(op, target, at);
  if (target.dtype() != int64)
    fail<DTypeError>(op, "class-index targets must have dtype int64", std::string(dtype_name(target.dtype())),
                     at);
  Shape expected = input.shape();
  expected.erase(expected.begin() + static_cast<std::ptrdiff_t>(axis));
  if (target.shape() != expected)
    fail<ShapeError>(op, "the target must have the input's shape without the class axis",
                     "target " + to_string(target.shape()) + " for input " + to_string(input.shape()), at);
  const std::int64_t classes = input.shape()[static_cast<std::size_t>(axis)];
  std::vector<double> class_weights;
  if (weight.defined()) class_weights = weight.detach().to(float64).to_vector<double>();
  std::vector<std::int64_t> safe = target.to_vector<std::int64_t>(), valid(safe.size());
  std::vector<double> weights(safe.size());
  ClassTargets result;
  for (std::size_t i = 0; i < safe.size(); ++i) {
    const std::int64_t c = safe[i];
    if (c == ignore_index) {
      safe[i] = 0;
      continue;
    }
    if (c < 0 || c >= classes)
      fail<ValueError>(op, "target classes must lie in [0, " + std::to_string(classes) + ")",
                       "class " + std::to_string(c) + " at position " + std::to_string(i), at);
    valid[i] = 1;
    weights[i] = class_weights.empty() ? 1.0 : class_weights[static_cast<std::size_t>(c)];
    result.total_weight += weights[i];
  }
  result.safe = from_vector(safe, target.shape(), at);
  result.valid = from_vector(valid, target.shape(), at);
  if (weight.defined()) result.weight = from_vector(weights, target.shape(), at).to(input.dtype(), at);
  return result;
}

// -weight[t] * log_probs[.., t, ..] per entry, 0 where ignored (where, not a product with the mask: an
// ignored entry's -inf log-probability must not turn into NaN).
Tensor picked_loss(const Tensor& log_probs, std::int64_t axis, const ClassTargets& targets,
                   const std::source_location& at) {
  Tensor picked = squeeze(gather(log_probs, axis, unsqueeze(targets.safe, axis, at), at), {axis}, at);
  Tensor loss = neg(picked, at);
  if (targets.weight.defined()) loss = mul(loss, targets.weight, at);
  return where(targets.valid, loss, 0.0, at);
}

Tensor reduce(const Tensor& loss, Reduction reduction, double mean_divisor, const std::source_location& at) {
  switch (reduction) {
    case Reduction::none:
      return loss;
    case Reduction::sum:
      return sum(loss, {}, false, at);
    case Reduction::mean:
    case Reduction::batchmean:  // refused at entry (check_reduction)
      break;
  }
  // An empty batch, or every target ignored, gives 0 / 0 = NaN, as in PyTorch.
  return div(sum(loss, {}, false, at), scalar(mean_divisor, loss.dtype()), at);
}

Tensor scaled(const Tensor& x, double factor, const std::source_location& at) {
  return mul(x, scalar(factor, x.dtype()), at);
}

}  // namespace

Tensor nll_loss(const Tensor& input, const Tensor& target, const NllLossOptions& options, Here at) {
  detail::OpScope scope("nll_loss", at, input, target);
  detail::require_defined("nll_loss", input, at);
  detail::require_floating("nll_loss", input, at);
  detail::check_reduction("nll_loss", options.reduction, false, at);
  const std::int64_t axis = class_axis_of("nll_loss", input, at);
  check_weight("nll_loss", options.weight, input.shape()[static_cast<std::size_t>(axis)], at);
  ClassTargets targets =
      class_targets("nll_loss", input, axis, target, options.weight, options.ignore_index, at);
  return scope.finish(
      reduce(picked_loss(input, axis, targets, at), options.reduction, targets.total_weight, at));
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options,
                     Here at) {
  constexpr std::string_view op = "cross_entropy";
  detail::OpScope scope(op, at, logits, target);
  detail::require_defined(op, logits, at);
  detail::require_floating(op, logits, at);
  detail::require_defined(op, target, at);
  detail::check_reduction(op, options.reduction, false, at);
  const double smoothing = options.label_smoothing;
  if (!(smoothing >= 0.0 && smoothing <= 1.0))
    fail<ValueError>(op, "label_smoothing must lie in [0, 1]", std::to_string(smoothing), at);
  const std::int64_t axis = class_axis_of(op, logits, at);
  const std::int64_t classes = logits.shape()[static_cast<std::size_t>(axis)];
  check_weight(op, options.weight, classes, at);
  Tensor log_probs = log_softmax(logits, axis, at);
  // The class weights laid along the class axis, to broadcast against the log-probabilities.
  Tensor class_weights;
  if (options.weight.defined()) {
    Shape shape(static_cast<std::size_t>(logits.dim()), 1);
    shape[static_cast<std::size_t>(axis)] = classes;
    class_weights = reshape(options.weight.detach().to(logits.dtype(), at), shape, at);
  }
  auto weighted = [&](const Tensor& t) { return class_weights.defined() ? mul(t, class_weights, at) : t; };

  if (is_floating(target.dtype())) {
    if (target.shape() != logits.shape())
      fail<DTypeError>(
          op,
          "class-index targets must have dtype int64 (a floating target holds class probabilities "
          "and has the logits' shape)",
          std::string(dtype_name(target.dtype())) + " target " + to_string(target.shape()) + " for logits " +
              to_string(logits.shape()),
          at);
    Tensor probs = target.dtype() == logits.dtype() ? target : target.to(logits.dtype(), at);
    if (smoothing > 0)
      probs = add(scaled(probs, 1.0 - smoothing, at),
                  scalar(smoothing / static_cast<double>(classes), probs.dtype()), at);
    Tensor loss = neg(sum(weighted(mul(log_probs, probs, at)), {axis}, false, at), at);
    return scope.finish(reduce(loss, options.reduction, static_cast<double>(loss.numel()), at));
  }

  ClassTargets targets = class_targets(op, logits, axis, target, options.weight, options.ignore_index, at);
  Tensor loss =
      reduce(picked_loss(log_probs, axis, targets, at), options.reduction, targets.total_weight, at);
  if (smoothing == 0) return scope.finish(std::move(loss));
  // Label smoothing adds the loss against the uniform distribution, Σ_c -weight_c log p_c / C, over the
  // same entries and with the same divisor.
  Tensor uniform_loss = where(targets.valid, neg(sum(weighted(log_probs), {axis}, false, at), at), 0.0, at);
  return scope.finish(add(scaled(loss, 1.0 - smoothing, at),
                          scaled(reduce(uniform_loss, options.reduction, targets.total_weight, at),
                                 smoothing / static_cast<double>(classes), at),
                          at));
}

}  // namespace tapegrad
