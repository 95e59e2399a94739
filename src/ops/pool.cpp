// Max, average and adaptive pooling: PyTorch's shape rules and errors, the window tables of Note
// [Pool windows] (kernels/pool.hpp), and differentiable backwards:
// - max pooling's backward scatters gy to the picked indices; under create_graph that scatter is an
//   op whose backward gathers at the same indices, and that gather's backward is the scatter again;
// - average pooling is linear: its backward is its transpose, whose backward is average pooling again.
#include "tapegrad/ops/pool.hpp"

#include <algorithm>
#include <memory>
#include <string>

#include "internal.hpp"
#include "kernels/pool.hpp"
#include "tapegrad/function.hpp"

namespace tapegrad {

using detail::fail;
using kernels::PoolAxis;

namespace {

using Wide = __int128;  // window arithmetic: k * d, o * s and n + 2p may pass int64 for hostile sizes

Wide floor_div(Wide a, Wide b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }
Wide ceil_div(Wide a, Wide b) { return -floor_div(-a, b); }

// One pooled axis as the user gave it; a 1-d pool's H axis is {1, 1, 0, 1} over a length of 1.
struct AxisArgs {
  std::int64_t kernel = 1, stride = 1, padding = 0, dilation = 1;
};

// What a pool looks like to the kernels and to its backward (shared by the recorded entries).
struct Plan {
  PoolAxis h, w;
  Shape x_shape, y_shape;
};
using PlanPtr = std::shared_ptr<const Plan>;

// A pool's outputs, allocated once the output shape is known and before the window tables are
// filled, so an output too large to allocate fails as OutOfMemoryError before the tables grow with it.
struct Outputs {
  Tensor values, indices;
};
void allocate(std::string_view op, const Plan& plan, DType dtype, bool with_indices, Outputs& out,
              const std::source_location& at) {
  detail::require_sizes(op, plan.y_shape, with_indices ? DType::int64 : dtype, at);
  out.values = detail::new_tensor(plan.y_shape, dtype);
  if (with_indices) out.indices = detail::new_tensor(plan.y_shape, DType::int64);
}

// "3" for a 1-d op, "[3, 2]" for a 2-d one.
std::string describe(int spatial, std::int64_t(AxisArgs::*field), const AxisArgs (&axes)[2]) {
  if (spatial == 1) return std::to_string(axes[1].*field);
  return to_string(Shape{axes[0].*field, axes[1].*field});
}

// The input rules of torch's pools: [N, C, spatial...] or unbatched [C, spatial...], floating.
// Fixed windows refuse an empty C or spatial axis (N may be 0); adaptive ones only an empty spatial axis.
void check_input(std::string_view op, const Tensor& x, int spatial, bool adaptive, const std::source_location& at) {
  detail::require_floating(op, x, at);
  const std::int64_t rank = x.dim();
  if (rank != spatial + 1 && rank != spatial + 2)
    fail<ShapeError>(op,
                     spatial == 1 ? "the input must be [N, C, L] or unbatched [C, L]"
                                  : "the input must be [N, C, H, W] or unbatched [C, H, W]",
                     "shape " + to_string(x.shape()), at);
  const std::int64_t first_nonempty = adaptive ? rank - spatial : rank - spatial - 1;
  for (std::int64_t d = first_nonempty; d < rank; ++d)
    if (x.shape()[static_cast<std::size_t>(d)] == 0)
      fail<ShapeError>(op, adaptive ? "the pooled axes must not be empty" : "only the batch axis may be empty",
                       "shape " + to_string(x.shape()), at);
}

// The output shape: x's with the pooled axes replaced.
Shape output_shape(const Shape& x_shape, int spatial, std::int64_t out_h, std::int64_t out_w) {
  Shape y = x_shape;
  if (spatial == 2) y[y.size() - 2] = out_h;
  y[y.size() - 1] = out_w;
  return y;
}

// Fills the window tables (Note [Pool windows]) unless the output is empty. where(o) gives window o's
// first tap (maybe outside the input), its tap count and the divisor share.
struct Window {
  Wide start, taps, divisor;
};
template <class Where>
void fill_axis(PoolAxis& axis, std::int64_t dilation, Where where) {
  axis.step = dilation;
  axis.first.resize(static_cast<std::size_t>(axis.output));
  axis.count.resize(static_cast<std::size_t>(axis.output));
  axis.divisor.resize(static_cast<std::size_t>(axis.output));
  for (std::int64_t o = 0; o < axis.output; ++o) {
    const Window window = where(o);
    // The taps start + j * dilation, j < taps, that lie in [0, input).
    const Wide j0 = window.start >= 0 ? 0 : ceil_div(-window.start, dilation);
    const Wide room = Wide(axis.input) - 1 - window.start;
    const Wide j1 = room < 0 ? -1 : std::min(window.taps - 1, room / dilation);
    const Wide count = std::max<Wide>(0, j1 - j0 + 1);
    const auto k = static_cast<std::size_t>(o);
    axis.first[k] = count > 0 ? static_cast<std::int64_t>(window.start + j0 * dilation) : 0;
    axis.count[k] = static_cast<std::int64_t>(count);
    axis.divisor[k] = static_cast<double>(window.divisor);
  }
}

// The checks and shape rule of torch's fixed-window pools (see pool.hpp) for one axis; its output length.
std::int64_t pooled_length(std::string_view op, int spatial, const AxisArgs (&axes)[2], int axis, std::int64_t n,
                           bool ceil_mode, const std::source_location& at) {
  const AxisArgs& a = axes[axis];
  auto all = [&](std::int64_t AxisArgs::*field) { return describe(spatial, field, axes); };
  if (a.kernel < 1) fail<ValueError>(op, "kernel_size must be at least 1", all(&AxisArgs::kernel), at);
  if (a.stride < 1) fail<ValueError>(op, "stride must be at least 1", all(&AxisArgs::stride), at);
  if (a.dilation < 1) fail<ValueError>(op, "dilation must be at least 1", all(&AxisArgs::dilation), at);
  if (a.padding < 0) fail<ValueError>(op, "padding must be non-negative", all(&AxisArgs::padding), at);
  if (a.padding > a.kernel / 2)
    fail<ValueError>(op, "padding must be at most half the kernel size",
                     "padding " + all(&AxisArgs::padding) + ", kernel_size " + all(&AxisArgs::kernel), at);
  const Wide reach = Wide(a.dilation) * (a.kernel - 1) + 1;  // the dilated kernel's span
  const Wide span = Wide(n) + 2 * Wide(a.padding) - reach + (ceil_mode ? a.stride - 1 : 0);
  Wide out = floor_div(span, a.stride) + 1;
  // torch's ceil_mode rule: the last window must start inside the input or its left padding.
  if (ceil_mode && out >= 1 && (out - 1) * a.stride >= Wide(n) + a.padding) --out;
  if (out < 1)
    fail<ShapeError>(op, "the (dilated) kernel must fit in the padded input: each axis needs an output of at least 1",
                     "input length " + std::to_string(n) + ", kernel_size " + all(&AxisArgs::kernel) + ", dilation " +
                         all(&AxisArgs::dilation) + ", padding " + all(&AxisArgs::padding),
                     at);
  return static_cast<std::int64_t>(out);
}

// The plan of a fixed-window pool, and its outputs. divisor_override (averages): 0 = none.
PlanPtr window_plan(std::string_view op, const Tensor& x, int spatial, const AxisArgs (&axes)[2], bool ceil_mode,
                    bool average, bool count_include_pad, std::int64_t divisor_override, bool with_indices,
                    Outputs& out, const std::source_location& at) {
  check_input(op, x, spatial, false, at);
  auto plan = std::make_shared<Plan>();
  plan->x_shape = x.shape();
  PoolAxis* targets[2] = {&plan->h, &plan->w};
  for (int axis = 0; axis < 2; ++axis) {
    const std::int64_t n = spatial == 1 && axis == 0 ? 1 : x.shape()[x.shape().size() - (axis == 0 ? 2 : 1)];
    targets[axis]->input = n;
    targets[axis]->output = pooled_length(op, spatial, axes, axis, n, ceil_mode, at);
  }
  plan->y_shape = output_shape(plan->x_shape, spatial, plan->h.output, plan->w.output);
  allocate(op, *plan, x.dtype(), with_indices, out, at);
  if (out.values.numel() == 0) return plan;
  for (int axis = 0; axis < 2; ++axis) {
    const AxisArgs& a = axes[axis];
    PoolAxis& target = *targets[axis];
    fill_axis(target, a.dilation, [&](std::int64_t o) {
      const Wide start = Wide(o) * a.stride - a.padding;
      // torch's count_include_pad divisor: the window clipped to the padded input.
      const Wide padded = std::min<Wide>(start + a.kernel, Wide(target.input) + a.padding) - start;
      const Wide inside = std::min<Wide>(start + a.kernel, target.input) - std::max<Wide>(start, 0);
      Wide divisor = count_include_pad ? padded : inside;
      if (divisor_override != 0) divisor = axis == 0 ? divisor_override : 1;
      return Window{start, a.kernel, average ? divisor : 1};
    });
  }
  return plan;
}

// The plan of an adaptive pool, and its outputs: window o of an axis of length n is
// [floor(o n / out), ceil((o + 1) n / out)).
PlanPtr adaptive_plan(std::string_view op, const Tensor& x, int spatial, PoolSize2 output_size, bool with_indices,
                      Outputs& out, const std::source_location& at) {
  check_input(op, x, spatial, true, at);
  if (!output_size.given) fail<ValueError>(op, "output_size must be given", "{}", at);
  if (output_size.height < 0 || output_size.width < 0)
    fail<ValueError>(
        op, "output_size must be non-negative",
        spatial == 1 ? std::to_string(output_size.width) : to_string(Shape{output_size.height, output_size.width}), at);
  auto plan = std::make_shared<Plan>();
  plan->x_shape = x.shape();
  plan->h.input = spatial == 1 ? 1 : x.shape()[x.shape().size() - 2];
  plan->w.input = x.shape().back();
  plan->h.output = spatial == 1 ? 1 : output_size.height;
  plan->w.output = output_size.width;
  plan->y_shape = output_shape(plan->x_shape, spatial, plan->h.output, plan->w.output);
  allocate(op, *plan, x.dtype(), with_indices, out, at);
  if (out.values.numel() == 0) return plan;
  for (PoolAxis* axis : {&plan->h, &plan->w}) {
    const Wide n = axis->input, out = axis->output;
    fill_axis(*axis, 1, [&](std::int64_t o) {
      const Wide start = floor_div(o * n, out), end = ceil_div((o + 1) * n, out);
      return Window{start, end - start, end - start};
    });
  }
  return plan;
}

AxisArgs axis_args(std::int64_t kernel, std::int64_t stride, std::int64_t padding, std::int64_t dilation) {
  return {kernel, stride, padding, dilation};
}

// ------------------------------------------------------------------ max pooling and its backwards

Tensor gather_at_argmax(const Tensor& g, const Tensor& indices, const PlanPtr& plan, const std::source_location& at);

// gx = gy scattered (added) to the picked indices. Recorded only under create_graph (recording is
// off in a first-order backward): its backward gathers at the same indices.
Tensor scatter_to_argmax(const Tensor& gy, const Tensor& indices, const PlanPtr& plan, const std::source_location& at) {
  Tensor gx = kernels::max_pool_scatter(gy, indices, plan->h, plan->w, plan->x_shape);
  return record(
      "max_pool_backward", {gy}, gx, {indices},
      [plan, at](Context& b) { b.accumulate(0, gather_at_argmax(b.gy(), b.saved(0), plan, at)); }, at);
}

Tensor gather_at_argmax(const Tensor& g, const Tensor& indices, const PlanPtr& plan, const std::source_location& at) {
  Tensor y = kernels::max_pool_gather(g, indices, plan->h, plan->w);
  return record(
      "max_pool_backward_backward", {g}, y, {indices},
      [plan, at](Context& b) { b.accumulate(0, scatter_to_argmax(b.gy(), b.saved(0), plan, at)); }, at);
}

// The values, and the indices when asked for or when the op is recorded (its backward needs them):
// out holds them allocated (needs_indices).
ValuesIndices max_pool_of(std::string_view op, const Tensor& x, const PlanPtr& plan, Outputs& out, bool with_indices,
                          detail::OpScope& scope, const std::source_location& at) {
  kernels::max_pool(x, plan->h, plan->w, out.values, out.indices.defined() ? &out.indices : nullptr);
  Tensor y = record(
      op, {x}, out.values, {out.indices},
      [plan, at](Context& b) { b.accumulate(0, scatter_to_argmax(b.gy(), b.saved(0), plan, at)); }, at);
  if (with_indices) scope.finish(std::vector<Tensor>{y, out.indices});
  return {y, with_indices ? out.indices : Tensor()};
}

// Does a max pool need its indices?
bool needs_indices(const Tensor& x, bool with_indices) { return with_indices || (x.defined() && will_record({x})); }

// ------------------------------------------------------------------ average pooling and its backward

Tensor avg_pool_transpose(const Tensor& gy, const PlanPtr& plan, const std::source_location& at);

// y = the window averages, into y (allocated); recorded as `op` (the public name, or the inner op of
// a backward).
Tensor avg_pool_of(std::string_view op, const Tensor& x, const PlanPtr& plan, Tensor y,
                   const std::source_location& at) {
  kernels::avg_pool(x, plan->h, plan->w, y);
  return record(
      op, {x}, y, {}, [plan, at](Context& b) { b.accumulate(0, avg_pool_transpose(b.gy(), plan, at)); }, at);
}

Tensor avg_pool_transpose(const Tensor& gy, const PlanPtr& plan, const std::source_location& at) {
  Tensor gx = kernels::avg_pool_backward(gy, plan->h, plan->w, plan->x_shape);
  return record(
      "avg_pool_backward", {gy}, gx, {},
      [plan, at](Context& b) {
        const Tensor& g = b.gy();
        b.accumulate(
            0, avg_pool_of("avg_pool_backward_backward", g, plan, detail::new_tensor(plan->y_shape, g.dtype()), at));
      },
      at);
}

AxisArgs kernel_axis(std::string_view op, const PoolSize2& kernel, int axis, const std::source_location& at) {
  if (!kernel.given) fail<ValueError>(op, "kernel_size must be given", "{}", at);
  return {axis == 0 ? kernel.height : kernel.width, 1, 0, 1};
}

// The four per-axis arguments of a 2-d pool; a stride not given is the kernel, padding and dilation
// not given their defaults.
void axes_2d(std::string_view op, AxisArgs (&axes)[2], const PoolSize2& kernel, const PoolSize2& stride,
             const PoolSize2& padding, const PoolSize2& dilation, const std::source_location& at) {
  for (int axis = 0; axis < 2; ++axis) {
    auto pick = [&](const PoolSize2& size, std::int64_t fallback) {
      return size.given ? (axis == 0 ? size.height : size.width) : fallback;
    };
    AxisArgs& a = axes[axis];
    a = kernel_axis(op, kernel, axis, at);
    a.stride = pick(stride, a.kernel);
    a.padding = pick(padding, 0);
    a.dilation = pick(dilation, 1);
  }
}

}  // namespace

Tensor max_pool1d(const Tensor& x, std::int64_t kernel_size, std::optional<std::int64_t> stride, std::int64_t padding,
                  std::int64_t dilation, bool ceil_mode, Here at) {
  constexpr std::string_view op = "max_pool1d";
  detail::OpScope scope(op, at, x);
  const AxisArgs axes[2] = {{}, axis_args(kernel_size, stride.value_or(kernel_size), padding, dilation)};
  Outputs out;
  auto plan = window_plan(op, x, 1, axes, ceil_mode, false, false, 0, needs_indices(x, false), out, at);
  return max_pool_of(op, x, plan, out, false, scope, at).values;
}

ValuesIndices max_pool1d_with_indices(const Tensor& x, std::int64_t kernel_size, std::optional<std::int64_t> stride,
                                      std::int64_t padding, std::int64_t dilation, bool ceil_mode, Here at) {
  constexpr std::string_view op = "max_pool1d_with_indices";
  detail::OpScope scope(op, at, x);
  const AxisArgs axes[2] = {{}, axis_args(kernel_size, stride.value_or(kernel_size), padding, dilation)};
  Outputs out;
  auto plan = window_plan(op, x, 1, axes, ceil_mode, false, false, 0, true, out, at);
  return max_pool_of(op, x, plan, out, true, scope, at);
}

Tensor max_pool2d(const Tensor& x, PoolSize2 kernel_size, PoolSize2 stride, PoolSize2 padding, PoolSize2 dilation,
                  bool ceil_mode, Here at) {
  constexpr std::string_view op = "max_pool2d";
  detail::OpScope scope(op, at, x);
  AxisArgs axes[2];
  axes_2d(op, axes, kernel_size, stride, padding, dilation, at);
  Outputs out;
  auto plan = window_plan(op, x, 2, axes, ceil_mode, false, false, 0, needs_indices(x, false), out, at);
  return max_pool_of(op, x, plan, out, false, scope, at).values;
}

ValuesIndices max_pool2d_with_indices(const Tensor& x, PoolSize2 kernel_size, PoolSize2 stride, PoolSize2 padding,
                                      PoolSize2 dilation, bool ceil_mode, Here at) {
  constexpr std::string_view op = "max_pool2d_with_indices";
  detail::OpScope scope(op, at, x);
  AxisArgs axes[2];
  axes_2d(op, axes, kernel_size, stride, padding, dilation, at);
  Outputs out;
  auto plan = window_plan(op, x, 2, axes, ceil_mode, false, false, 0, true, out, at);
  return max_pool_of(op, x, plan, out, true, scope, at);
}

Tensor avg_pool1d(const Tensor& x, std::int64_t kernel_size, std::optional<std::int64_t> stride, std::int64_t padding,
                  bool ceil_mode, bool count_include_pad, Here at) {
  constexpr std::string_view op = "avg_pool1d";
  detail::OpScope scope(op, at, x);
  const AxisArgs axes[2] = {{}, axis_args(kernel_size, stride.value_or(kernel_size), padding, 1)};
  Outputs out;
  auto plan = window_plan(op, x, 1, axes, ceil_mode, true, count_include_pad, 0, false, out, at);
  return avg_pool_of(op, x, plan, out.values, at);
}

Tensor avg_pool2d(const Tensor& x, PoolSize2 kernel_size, PoolSize2 stride, PoolSize2 padding, bool ceil_mode,
                  bool count_include_pad, std::optional<std::int64_t> divisor_override, Here at) {
  constexpr std::string_view op = "avg_pool2d";
  detail::OpScope scope(op, at, x);
  if (divisor_override && *divisor_override == 0) fail<ValueError>(op, "divisor_override must not be zero", "0", at);
  AxisArgs axes[2];
  axes_2d(op, axes, kernel_size, stride, padding, 1, at);
  Outputs out;
  auto plan =
      window_plan(op, x, 2, axes, ceil_mode, true, count_include_pad, divisor_override.value_or(0), false, out, at);
  return avg_pool_of(op, x, plan, out.values, at);
}

Tensor adaptive_avg_pool1d(const Tensor& x, std::int64_t output_size, Here at) {
  constexpr std::string_view op = "adaptive_avg_pool1d";
  detail::OpScope scope(op, at, x);
  Outputs out;
  auto plan = adaptive_plan(op, x, 1, {1, output_size}, false, out, at);
  return avg_pool_of(op, x, plan, out.values, at);
}

Tensor adaptive_avg_pool2d(const Tensor& x, PoolSize2 output_size, Here at) {
  constexpr std::string_view op = "adaptive_avg_pool2d";
  detail::OpScope scope(op, at, x);
  Outputs out;
  auto plan = adaptive_plan(op, x, 2, output_size, false, out, at);
  return avg_pool_of(op, x, plan, out.values, at);
}

Tensor adaptive_max_pool2d(const Tensor& x, PoolSize2 output_size, Here at) {
  constexpr std::string_view op = "adaptive_max_pool2d";
  detail::OpScope scope(op, at, x);
  Outputs out;
  auto plan = adaptive_plan(op, x, 2, output_size, needs_indices(x, false), out, at);
  return max_pool_of(op, x, plan, out, false, scope, at).values;
}

ValuesIndices adaptive_max_pool2d_with_indices(const Tensor& x, PoolSize2 output_size, Here at) {
  constexpr std::string_view op = "adaptive_max_pool2d_with_indices";
  detail::OpScope scope(op, at, x);
  Outputs out;
  auto plan = adaptive_plan(op, x, 2, output_size, true, out, at);
  return max_pool_of(op, x, plan, out, true, scope, at);
}

}  // namespace tapegrad
