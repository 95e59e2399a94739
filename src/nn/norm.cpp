// BatchNorm1d/2d, LayerNorm, GroupNorm (include/tapegrad/nn/norm.hpp): parameters and running
// statistics around the ops of ops/norm.hpp.
#include "tapegrad/nn/norm.hpp"

#include <cstdio>

#include "tapegrad/error.hpp"
#include "tapegrad/nn/init.hpp"
#include "tapegrad/ops/norm.hpp"
#include "tapegrad/tape.hpp"

namespace tapegrad::nn {

namespace {

// A double as PyTorch prints it in a repr: 1e-05, 0.1.
std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

const char* flag(bool value) { return value ? "true" : "false"; }

std::int64_t at_least(const char* layer, const char* name, std::int64_t value, std::int64_t minimum, Here at) {
  if (value < minimum)
    throw ValueError(layer, std::string(name) + " must be at least " + std::to_string(minimum), std::to_string(value),
                     at);
  return value;
}

Tensor parameter_if(bool wanted, const Shape& shape, Here at) { return wanted ? empty(shape, float32, at) : Tensor(); }

// weight = 1, bias = 0 (either may be undefined).
void reset_affine(Tensor& weight, Tensor& bias) {
  if (weight.defined()) init::ones_(weight);
  if (bias.defined()) init::zeros_(bias);
}

}  // namespace

BatchNorm::BatchNorm(const char* layer, std::int64_t num_features, double eps, std::optional<double> momentum,
                     bool affine, bool track_running_stats, Here at)
    : num_features(at_least(layer, "num_features", num_features, 0, at)),
      eps(eps),
      momentum(momentum),
      affine(affine),
      track_running_stats(track_running_stats),
      weight(register_parameter("weight", parameter_if(affine, {num_features}, at), true, at)),
      bias(register_parameter("bias", parameter_if(affine, {num_features}, at), true, at)),
      running_mean(register_buffer("running_mean", parameter_if(track_running_stats, {num_features}, at), true, at)),
      running_var(register_buffer("running_var", parameter_if(track_running_stats, {num_features}, at), true, at)),
      num_batches_tracked(
          register_buffer("num_batches_tracked", track_running_stats ? zeros({}, int64, at) : Tensor(), true, at)),
      layer_(layer) {
  reset_parameters();
}

void BatchNorm::reset_running_stats() {
  if (!track_running_stats) return;
  NoGradGuard no_grad;
  running_mean.zero_();
  running_var.fill_(1.0);
  num_batches_tracked.zero_();
}

void BatchNorm::reset_parameters() {
  reset_running_stats();
  reset_affine(weight, bias);
}

Tensor BatchNorm::forward(const Tensor& x) {
  const Here at = caller();
  if (!x.defined()) throw ValueError(layer_, "the input must be defined", "an undefined tensor", at);
  check_rank(x, at);
  if (x.shape()[1] != num_features)
    throw ShapeError(layer_, "the input must have num_features (" + std::to_string(num_features) + ") channels",
                     "input " + to_string(x.shape()), at);
  double factor = 0.0;  // the running statistics' update factor
  if (is_training() && track_running_stats) {
    {
      NoGradGuard no_grad;
      num_batches_tracked.add_(ones({}, int64));
    }
    factor = momentum ? *momentum : 1.0 / static_cast<double>(num_batches_tracked.item<std::int64_t>());
  }
  // Without running statistics, evaluation normalises with the batch's too (PyTorch).
  const bool batch_statistics = is_training() || !track_running_stats;
  return batch_norm(x, running_mean, running_var, weight, bias, batch_statistics, factor, eps, at);
}

std::string BatchNorm::extra_repr() const {
  return std::to_string(num_features) + ", eps=" + number(eps) +
         ", momentum=" + (momentum ? number(*momentum) : std::string("none")) + ", affine=" + flag(affine) +
         ", track_running_stats=" + flag(track_running_stats);
}

BatchNorm1d::BatchNorm1d(std::int64_t num_features, double eps, std::optional<double> momentum, bool affine,
                         bool track_running_stats, Here at)
    : BatchNorm("BatchNorm1d", num_features, eps, momentum, affine, track_running_stats, at) {}

void BatchNorm1d::check_rank(const Tensor& x, Here at) const {
  if (x.dim() != 2 && x.dim() != 3)
    throw ShapeError(layer_, "the input must have shape [N, C] or [N, C, L]", "input " + to_string(x.shape()), at);
}

BatchNorm2d::BatchNorm2d(std::int64_t num_features, double eps, std::optional<double> momentum, bool affine,
                         bool track_running_stats, Here at)
    : BatchNorm("BatchNorm2d", num_features, eps, momentum, affine, track_running_stats, at) {}

void BatchNorm2d::check_rank(const Tensor& x, Here at) const {
  if (x.dim() != 4)
    throw ShapeError(layer_, "the input must have shape [N, C, H, W]", "input " + to_string(x.shape()), at);
}

namespace {
const Shape& checked_normalized_shape(const Shape& shape, Here at) {
  if (shape.empty()) throw ShapeError("LayerNorm", "normalized_shape must have at least one axis", "[]", at);
  for (std::int64_t size : shape) at_least("LayerNorm", "each size of normalized_shape", size, 0, at);
  return shape;
}
}  // namespace

LayerNorm::LayerNorm(Shape shape, double eps, bool elementwise_affine, Here at)
    : normalized_shape(checked_normalized_shape(shape, at)),
      eps(eps),
      elementwise_affine(elementwise_affine),
      weight(register_parameter("weight", parameter_if(elementwise_affine, normalized_shape, at), true, at)),
      bias(register_parameter("bias", parameter_if(elementwise_affine, normalized_shape, at), true, at)) {
  reset_parameters();
}

LayerNorm::LayerNorm(std::int64_t normalized_size, double eps, bool elementwise_affine, Here at)
    : LayerNorm(Shape{normalized_size}, eps, elementwise_affine, at) {}

void LayerNorm::reset_parameters() { reset_affine(weight, bias); }

Tensor LayerNorm::forward(const Tensor& x) {
  const Here at = caller();
  return layer_norm(x, normalized_shape, weight, bias, eps, at);
}

std::string LayerNorm::extra_repr() const {
  return to_string(normalized_shape) + ", eps=" + number(eps) + ", elementwise_affine=" + flag(elementwise_affine);
}

namespace {
std::int64_t checked_groups(std::int64_t num_groups, std::int64_t num_channels, Here at) {
  at_least("GroupNorm", "num_groups", num_groups, 1, at);
  at_least("GroupNorm", "num_channels", num_channels, 0, at);
  if (num_channels % num_groups != 0)
    throw ValueError("GroupNorm", "num_channels must be divisible by num_groups",
                     "num_groups=" + std::to_string(num_groups) + ", num_channels=" + std::to_string(num_channels), at);
  return num_groups;
}
}  // namespace

GroupNorm::GroupNorm(std::int64_t num_groups, std::int64_t num_channels, double eps, bool affine, Here at)
    : num_groups(checked_groups(num_groups, num_channels, at)),
      num_channels(num_channels),
      eps(eps),
      affine(affine),
      weight(register_parameter("weight", parameter_if(affine, {num_channels}, at), true, at)),
      bias(register_parameter("bias", parameter_if(affine, {num_channels}, at), true, at)) {
  reset_parameters();
}

void GroupNorm::reset_parameters() { reset_affine(weight, bias); }

Tensor GroupNorm::forward(const Tensor& x) {
  const Here at = caller();
  return group_norm(x, num_groups, weight, bias, eps, at);
}

std::string GroupNorm::extra_repr() const {
  return std::to_string(num_groups) + ", " + std::to_string(num_channels) + ", eps=" + number(eps) +
         ", affine=" + flag(affine);
}

}  // namespace tapegrad::nn
