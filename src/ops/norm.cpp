// batch_norm, layer_norm, group_norm. One recorded op normalises a contiguous tensor per channel of
// its [outer, channels, inner] view (kernels/norm.hpp), with a fused forward and first-order
// backward; under create_graph that backward is written with ops. batch_norm scales and shifts
// inside it (weight and bias per channel); layer_norm and group_norm scale and shift after it.
#include "tapegrad/ops/norm.hpp"

#include <memory>

#include "internal.hpp"
#include "kernels/copy.hpp"
#include "kernels/norm.hpp"
#include "tapegrad/function.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shape.hpp"
#include "tapegrad/tape.hpp"

namespace tapegrad {

using detail::fail;

namespace {

using kernels::ChannelLayout;

// What the kernels read: a contiguous tensor (or an undefined one, left as it is).
Tensor contiguous_data(const Tensor& t) { return !t.defined() || t.is_contiguous() ? t : kernels::cast(t, t.dtype()); }

// The gradients of normalize() written with ops (recorded under create_graph), x seen as
// [outer, channels, inner], statistics over axes 0 and 2:
//   x̂ = (x - mean) invstd, g = gy w;  gx = invstd (g - mean(g) - x̂ mean(g x̂)), gw = Σ gy x̂, gb = Σ gy
void normalize_backward_with_ops(Context& bw, const ChannelLayout& l, double eps) {
  const Tensor& x = bw.saved(0);
  const Shape view{l.outer, l.channels, l.inner};
  const Axes axes{0, 2};
  const Tensor x3 = reshape(x, view), gy3 = reshape(bw.gy(), view);
  const Tensor centred = x3 - mean(x3, axes, true);
  const Tensor invstd = rsqrt(mean(centred * centred, axes, true) + eps);
  const Tensor xhat = centred * invstd;
  const Tensor& weight = bw.saved(1);
  const Tensor g = weight.defined() ? gy3 * reshape(weight, {1, l.channels, 1}) : gy3;
  if (bw.needs_grad(0))
    bw.accumulate(0, reshape(invstd * (g - mean(g, axes, true) - xhat * mean(g * xhat, axes, true)), x.shape()));
  if (bw.needs_grad(1)) bw.accumulate(1, sum(gy3 * xhat, axes));
  if (bw.needs_grad(2)) bw.accumulate(2, sum(gy3, axes));
}

// y = (x - mean) / sqrt(var + eps) * weight + bias per channel of x's [outer, channels, inner] view,
// with the batch statistics (returned in stats), recorded as `op`. weight, bias: [channels] or undefined.
Tensor normalize(std::string_view op, const Tensor& x, const ChannelLayout& layout, const Tensor& weight,
                 const Tensor& bias, double eps, kernels::ChannelStats& stats, const Here& at) {
  Tensor y = kernels::normalize_channels(contiguous_data(x), layout, contiguous_data(weight), contiguous_data(bias),
                                         eps, stats);
  if (!will_record({x, weight, bias})) return y;
  auto kept = std::make_shared<const kernels::ChannelStats>(stats);
  return record(
      op, {x, weight, bias}, y, {x, weight},
      [layout, eps, kept](Context& bw) {
        if (bw.create_graph()) return normalize_backward_with_ops(bw, layout, eps);
        kernels::ChannelGrads g = kernels::normalize_channels_backward(
            bw.gy(), contiguous_data(bw.saved(0)), layout, contiguous_data(bw.saved(1)), *kept, bw.needs_grad(0),
            bw.needs_grad(1), bw.needs_grad(2));
        if (g.gx.defined()) bw.accumulate(0, g.gx);
        if (g.gweight.defined()) bw.accumulate(1, g.gweight);
        if (g.gbias.defined()) bw.accumulate(2, g.gbias);
      },
      at);
}

// layer_norm and group_norm: normalize() without weight and bias, then y * weight + bias with ops
// (weight and bias broadcast against x). With them, the normalisation gets an event of its own, so
// the op's event ends with the final y (Note [Op boundary]).
Tensor normalize_then_scale(std::string_view op, const Tensor& x, const ChannelLayout& layout, const Tensor& weight,
                            const Tensor& bias, double eps, const Here& at) {
  kernels::ChannelStats stats;
  if (!weight.defined() && !bias.defined()) return normalize(op, x, layout, {}, {}, eps, stats, at);
  Tensor y;
  {
    detail::OpScope normalized(op, at, x);
    y = normalize(op, x, layout, {}, {}, eps, stats, at);
  }
  if (weight.defined()) y = mul(y, weight, at);
  if (bias.defined()) y = add(y, bias, at);
  return y;
}

// A per-channel parameter or statistic: [size] of x's dtype, when defined.
void check_vector(std::string_view op, std::string_view name, const Tensor& t, const Shape& shape, const Tensor& x,
                  const Here& at) {
  if (!t.defined()) return;
  if (t.shape() != shape)
    fail<ShapeError>(op, std::string(name) + " must have shape " + to_string(shape),
                     std::string(name) + " " + to_string(t.shape()) + " for input " + to_string(x.shape()), at);
  if (t.dtype() != x.dtype())
    fail<DTypeError>(
        op, std::string(name) + " must have the input's dtype",
        std::string(name) + " " + std::string(dtype_name(t.dtype())) + ", input " + std::string(dtype_name(x.dtype())),
        at);
}

void check_input(std::string_view op, const Tensor& x, std::int64_t min_rank, std::string_view layout, const Here& at) {
  detail::require_defined(op, x, at);
  detail::require_floating(op, x, at);
  if (x.dim() < min_rank)
    fail<ShapeError>(op, "the input must have shape " + std::string(layout), "input " + to_string(x.shape()), at);
}

// running = (1 - momentum) running + momentum statistic · factor, in place, written straight into its
// storage (no op: nothing recorded, and no event after the op's own has ended), whatever its stride.
void update_running(const Tensor& running, const std::vector<double>& statistic, double factor, double momentum) {
  Tensor target = running;  // a handle on the same tensor, to write through
  const std::int64_t stride = target.strides()[0];
  detail::dispatch_floating(target.dtype(), [&]<class T>() {
    T* values = target.data<T>();
    for (std::size_t c = 0; c < statistic.size(); ++c) {
      T& value = values[static_cast<std::int64_t>(c) * stride];
      value = static_cast<T>((1.0 - momentum) * static_cast<double>(value) + momentum * statistic[c] * factor);
    }
  });
  detail::bump_version(target);
}

// t laid along axis 1 of a rank-`rank` tensor: [1, C, 1, ...].
Tensor per_channel(const Tensor& t, std::int64_t rank, const Here& at) {
  Shape shape(static_cast<std::size_t>(rank), 1);
  shape[1] = t.shape()[0];
  return reshape(t, shape, at);
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps, Here at) {
  constexpr std::string_view op = "batch_norm";
  detail::OpScope scope(op, at, x, weight, bias);
  check_input(op, x, 2, "[N, C, *]", at);
  const std::int64_t channels = x.shape()[1];
  const Shape shape{channels};
  check_vector(op, "running_mean", running_mean, shape, x, at);
  check_vector(op, "running_var", running_var, shape, x, at);
  check_vector(op, "weight", weight, shape, x, at);
  check_vector(op, "bias", bias, shape, x, at);
  ChannelLayout layout{x.shape()[0], channels, 1};
  for (std::int64_t axis = 2; axis < x.dim(); ++axis) layout.inner *= x.shape()[static_cast<std::size_t>(axis)];

  if (!training) {
    if (!running_mean.defined() || !running_var.defined())
      fail<ValueError>(op, "the running statistics must be defined in evaluation mode",
                       std::string(running_mean.defined() ? "" : "running_mean") +
                           (running_mean.defined() || running_var.defined() ? "" : " and ") +
                           (running_var.defined() ? "" : "running_var") + " undefined",
                       at);
    // Constants: (x - running_mean) / sqrt(running_var + eps) * weight + bias.
    Tensor scale = rsqrt(running_var.detach() + eps, at);
    if (weight.defined()) scale = mul(scale, weight, at);
    Tensor y = mul(sub(x, per_channel(running_mean.detach(), x.dim(), at), at), per_channel(scale, x.dim(), at), at);
    if (bias.defined()) y = add(y, per_channel(bias, x.dim(), at), at);
    return scope.finish(std::move(y));
  }
  if (layout.count() == 1)
    fail<ValueError>(op, "expected more than 1 value per channel when training", "input " + to_string(x.shape()), at);
  kernels::ChannelStats stats;
  Tensor y = normalize(op, x, layout, weight, bias, eps, stats, at);
  const std::int64_t n = layout.count();
  if (n > 0) {
    // The running variance is unbiased: var · n / (n - 1).
    if (running_mean.defined()) update_running(running_mean, stats.mean, 1.0, momentum);
    if (running_var.defined())
      update_running(running_var, stats.var, static_cast<double>(n) / static_cast<double>(n - 1), momentum);
  }
  return scope.finish(std::move(y));
}

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias, double eps,
                  Here at) {
  constexpr std::string_view op = "layer_norm";
  detail::OpScope scope(op, at, x, weight, bias);
  detail::require_defined(op, x, at);
  detail::require_floating(op, x, at);
  const std::int64_t k = static_cast<std::int64_t>(normalized_shape.size());
  if (k == 0) fail<ShapeError>(op, "normalized_shape must have at least one axis", "[]", at);
  const Shape& s = x.shape();
  if (x.dim() < k || !std::equal(normalized_shape.begin(), normalized_shape.end(), s.end() - k))
    fail<ShapeError>(op, "the input's last axes must equal normalized_shape",
                     "normalized_shape " + to_string(normalized_shape) + " for input " + to_string(s), at);
  check_vector(op, "weight", weight, normalized_shape, x, at);
  check_vector(op, "bias", bias, normalized_shape, x, at);
  ChannelLayout layout{1, 1, 1};
  for (std::int64_t axis = 0; axis < x.dim(); ++axis)
    (axis < x.dim() - k ? layout.channels : layout.inner) *= s[static_cast<std::size_t>(axis)];
  return scope.finish(normalize_then_scale(op, x, layout, weight, bias, eps, at));
}

Tensor group_norm(const Tensor& x, std::int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps,
                  Here at) {
  constexpr std::string_view op = "group_norm";
  detail::OpScope scope(op, at, x, weight, bias);
  check_input(op, x, 2, "[N, C, *]", at);
  if (num_groups <= 0) fail<ValueError>(op, "num_groups must be positive", std::to_string(num_groups), at);
  const std::int64_t channels = x.shape()[1];
  if (channels % num_groups != 0)
    fail<ShapeError>(op, "the number of channels must be divisible by num_groups",
                     "input " + to_string(x.shape()) + ", num_groups=" + std::to_string(num_groups), at);
  check_vector(op, "weight", weight, {channels}, x, at);
  check_vector(op, "bias", bias, {channels}, x, at);
  // Zero channels: any number of groups divides them; their statistics are over nothing.
  const std::int64_t groups = channels == 0 ? 1 : num_groups;
  ChannelLayout layout{1, x.shape()[0] * groups, channels / groups};
  for (std::int64_t axis = 2; axis < x.dim(); ++axis) layout.inner *= x.shape()[static_cast<std::size_t>(axis)];
  const Tensor w = weight.defined() ? per_channel(weight, x.dim(), at) : weight;
  const Tensor b = bias.defined() ? per_channel(bias, x.dim(), at) : bias;
  return scope.finish(normalize_then_scale(op, x, layout, w, b, eps, at));
}

}  // namespace tapegrad
