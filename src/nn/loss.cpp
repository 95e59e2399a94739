// The loss modules (include/tapegrad/nn/loss.hpp): each holds its options and calls its functional loss.
#include "tapegrad/nn/loss.hpp"

#include <string>

#include "nn/format.hpp"

namespace tapegrad::nn {

namespace {

std::string reduction_text(Reduction reduction) {
  switch (reduction) {
    case Reduction::none:
      return "none";
    case Reduction::mean:
      return "mean";
    case Reduction::sum:
      return "sum";
    case Reduction::batchmean:
      return "batchmean";
  }
  return std::to_string(static_cast<int>(reduction));
}

std::string reduction_repr(Reduction reduction) { return "reduction='" + reduction_text(reduction) + "'"; }

// A weight option becomes the buffer of that name (undefined when not given, as PyTorch registers None:
// in no state_dict); the option itself is cleared, so the buffer is the one copy.
Tensor& register_weight(Module& module, const char* name, Tensor& option, Here at) {
  Tensor weight = option.defined() ? option.detach() : Tensor();
  option = Tensor();
  return module.register_buffer(name, weight, true, at);
}

template <class Options>
Options with_weight(Options options, const Tensor& weight) {
  options.weight = weight;
  return options;
}

}  // namespace

Tensor Loss::operator()(const Tensor& input, const Tensor& target, Here at) {
  Call call(*this, at);
  return loss(input, target, at);
}

MSELoss::MSELoss(Reduction reduction, Here) : reduction(reduction) {}
Tensor MSELoss::loss(const Tensor& input, const Tensor& target, const std::source_location& at) {
  return mse_loss(input, target, reduction, at);
}
std::string MSELoss::extra_repr() const { return reduction_repr(reduction); }

L1Loss::L1Loss(Reduction reduction, Here) : reduction(reduction) {}
Tensor L1Loss::loss(const Tensor& input, const Tensor& target, const std::source_location& at) {
  return l1_loss(input, target, reduction, at);
}
std::string L1Loss::extra_repr() const { return reduction_repr(reduction); }

SmoothL1Loss::SmoothL1Loss(Reduction reduction, double beta, Here) : reduction(reduction), beta(beta) {}
Tensor SmoothL1Loss::loss(const Tensor& input, const Tensor& target, const std::source_location& at) {
  return smooth_l1_loss(input, target, reduction, beta, at);
}
std::string SmoothL1Loss::extra_repr() const {
  return reduction_repr(reduction) + ", beta=" + text::python_float(beta);
}

HuberLoss::HuberLoss(Reduction reduction, double delta, Here) : reduction(reduction), delta(delta) {}
Tensor HuberLoss::loss(const Tensor& input, const Tensor& target, const std::source_location& at) {
  return huber_loss(input, target, reduction, delta, at);
}
std::string HuberLoss::extra_repr() const { return reduction_repr(reduction) + ", delta=" + text::python_float(delta); }

CrossEntropyLoss::CrossEntropyLoss(const CrossEntropyOptions& options, Here at)
    : options(options), weight(register_weight(*this, "weight", this->options.weight, at)) {}
Tensor CrossEntropyLoss::loss(const Tensor& input, const Tensor& target, const std::source_location& at) {
  return cross_entropy(input, target, with_weight(options, weight), at);
}
std::string CrossEntropyLoss::extra_repr() const {
  return reduction_repr(options.reduction) + ", ignore_index=" + std::to_string(options.ignore_index) +
         ", label_smoothing=" + text::python_float(options.label_smoothing);
}

NLLLoss::NLLLoss(const NllLossOptions& options, Here at)
    : options(options), weight(register_weight(*this, "weight", this->options.weight, at)) {}
Tensor NLLLoss::loss(const Tensor& input, const Tensor& target, const std::source_location& at) {
  return nll_loss(input, target, with_weight(options, weight), at);
}
std::string NLLLoss::extra_repr() const {
  return reduction_repr(options.reduction) + ", ignore_index=" + std::to_string(options.ignore_index);
}

BCELoss::BCELoss(const BinaryCrossEntropyOptions& options, Here at)
    : options(options), weight(register_weight(*this, "weight", this->options.weight, at)) {}
Tensor BCELoss::loss(const Tensor& input, const Tensor& target, const std::source_location& at) {
  return binary_cross_entropy(input, target, with_weight(options, weight), at);
}
std::string BCELoss::extra_repr() const { return reduction_repr(options.reduction); }

BCEWithLogitsLoss::BCEWithLogitsLoss(const BinaryCrossEntropyWithLogitsOptions& options, Here at)
    : options(options),
      weight(register_weight(*this, "weight", this->options.weight, at)),
      pos_weight(register_weight(*this, "pos_weight", this->options.pos_weight, at)) {}
Tensor BCEWithLogitsLoss::loss(const Tensor& input, const Tensor& target, const std::source_location& at) {
  BinaryCrossEntropyWithLogitsOptions given = with_weight(options, weight);
  given.pos_weight = pos_weight;
  return binary_cross_entropy_with_logits(input, target, given, at);
}
std::string BCEWithLogitsLoss::extra_repr() const { return reduction_repr(options.reduction); }

KLDivLoss::KLDivLoss(const KlDivOptions& options, Here) : options(options) {}
Tensor KLDivLoss::loss(const Tensor& input, const Tensor& target, const std::source_location& at) {
  return kl_div(input, target, options, at);
}
std::string KLDivLoss::extra_repr() const {
  return reduction_repr(options.reduction) + ", log_target=" + (options.log_target ? "true" : "false");
}

}  // namespace tapegrad::nn
