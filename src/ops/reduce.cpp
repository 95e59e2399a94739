// Reductions. Forward values come from kernels or from other ops run with recording off; each op
// records one entry whose backward is written with ops. Under create_graph those ops are recorded
// (Note [Higher-order gradients] in tape_backward.cpp), so a backward reshapes and expands with the
// public ops and reads the saved output itself, never an unrecorded view of it.
#include "tapegrad/ops/reduce.hpp"

#include <cmath>

#include "internal.hpp"
#include "kernels/loop.hpp"
#include "kernels/reduce.hpp"
#include "tapegrad/function.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/index.hpp"
#include "tapegrad/ops/shape.hpp"

namespace tapegrad {

using detail::fail;

namespace detail {
Tensor broadcast_view(const Tensor& t, const Shape& shape) {
  return make_view(t, shape, kernels::broadcast_strides(t.shape(), t.strides(), shape), 0);
}
}  // namespace detail

namespace {

struct Reduction {
  std::vector<bool> mask;
  Shape kept;       // the reduced shape with size-1 axes (keepdim)
  std::int64_t count;  // elements folded into each output
};

Reduction plan(std::string_view op, const Tensor& x, const Axes& axes, const std::source_location& at) {
  detail::require_defined(op, x, at);
  Reduction r;
  r.mask = detail::reduction_mask(op, axes, x.dim(), at);
  r.kept = detail::reduced_shape(x.shape(), r.mask, true);
  r.count = 1;
  for (std::size_t i = 0; i < r.mask.size(); ++i)
    if (r.mask[i]) r.count *= x.shape()[i];
  return r;
}

// t (gy or the saved output) viewed with size-1 reduced axes; recorded under create_graph.
Tensor keep_dims(const Context& b, const Tensor& t, const Shape& kept) {
  if (b.create_graph()) return reshape(t, kept);
  return detail::make_view(t.contiguous(), kept, contiguous_strides(kept), 0);
}

// g (with size-1 reduced axes) spread over the input's shape.
Tensor spread(const Context& b, const Tensor& g, const Shape& input_shape) {
  return b.create_graph() ? expand(g, input_shape) : detail::broadcast_view(g, input_shape);
}

Tensor finish(const Tensor& y_kept, const Reduction& r, const Tensor& x, bool keepdim) {
  if (keepdim) return y_kept;
  Shape shape = detail::reduced_shape(x.shape(), r.mask, false);
  return detail::make_view(y_kept, shape, contiguous_strides(shape), 0);
}

}  // namespace

Tensor sum(const Tensor& x, Axes axes, bool keepdim, Here at) {
  detail::OpScope scope("sum", at, x);
  Reduction r = plan("sum", x, axes, at);
  Tensor y = finish(kernels::reduce(kernels::Reduce::sum, x, r.mask, true), r, x, keepdim);
  Shape input_shape = x.shape();
  return record("sum", {x}, y, {}, [r, input_shape](Context& b) {
    b.accumulate(0, spread(b, keep_dims(b, b.gy(), r.kept), input_shape));
  }, at);
}

Tensor mean(const Tensor& x, Axes axes, bool keepdim, Here at) {
  detail::OpScope scope("mean", at, x);
  Reduction r = plan("mean", x, axes, at);
  detail::require_floating("mean", x, at);
  Tensor total = kernels::reduce(kernels::Reduce::sum, x, r.mask, true);
  Tensor y;
  {
    NoGradGuard no_grad;
    y = finish(total / static_cast<double>(r.count), r, x, keepdim);
  }
  Shape input_shape = x.shape();
  return record("mean", {x}, y, {}, [r, input_shape](Context& b) {
    b.accumulate(0, spread(b, keep_dims(b, b.gy(), r.kept) / static_cast<double>(r.count), input_shape));
  }, at);
}

Tensor var(const Tensor& x, Axes axes, std::int64_t correction, bool keepdim, Here at) {
  detail::OpScope scope("var", at, x);
  Reduction r = plan("var", x, axes, at);
  detail::require_floating("var", x, at);
  if (correction < 0) fail<ValueError>("var", "correction must be non-negative", std::to_string(correction), at);
  const double divisor = static_cast<double>(std::max<std::int64_t>(r.count - correction, 0));
  Tensor y, centred;
  {
    NoGradGuard no_grad;
    centred = x - mean(x, axes, true);
    y = finish(sum(centred * centred, axes, true) / divisor, r, x, keepdim);
  }
  return record("var", {x}, y, {centred, x}, [r, divisor, axes](Context& b) {
    // Under create_graph the centring is recomputed from x, so its own dependence on x is recorded.
    Tensor c = b.create_graph() ? b.saved(1) - mean(b.saved(1), axes, true) : b.saved(0);
    b.accumulate(0, c * (keep_dims(b, b.gy(), r.kept) * (2.0 / divisor)));
  }, at);
}

namespace {
Tensor extreme(std::string_view op, kernels::Reduce kind, const Tensor& x, const Axes& axes, bool keepdim,
               const std::source_location& at) {
  detail::OpScope scope(op, at, x);
  Reduction r = plan(op, x, axes, at);
  if (r.count == 0)
    fail<ShapeError>(op, "cannot reduce over an empty set of elements (no identity)", "shape " + to_string(x.shape()), at);
  Tensor y_kept = kernels::reduce(kind, x, r.mask, true);
  Tensor y = finish(y_kept, r, x, keepdim);
  Axes all_axes = axes;
  return record(op, {x}, y, {x, y_kept.detach()}, [r, all_axes](Context& b) {
    // Ties share the gradient evenly. The mask is piecewise constant in x: only gy carries a
    // second-order gradient.
    Tensor hit = eq(b.saved(0), b.saved(1)).to(b.gy().dtype());
    Tensor count = sum(hit, all_axes, true);
    b.accumulate(0, hit * (keep_dims(b, b.gy(), r.kept) / count));
  }, at);
}
}  // namespace

Tensor max(const Tensor& x, Axes axes, bool keepdim, Here at) {
  return extreme("max", kernels::Reduce::max, x, axes, keepdim, at);
}
Tensor min(const Tensor& x, Axes axes, bool keepdim, Here at) {
  return extreme("min", kernels::Reduce::min, x, axes, keepdim, at);
}

namespace {
Tensor arg_extreme(std::string_view op, bool is_max, const Tensor& x, std::optional<std::int64_t> axis, bool keepdim,
                   const std::source_location& at) {
  detail::OpScope scope(op, at, x);
  detail::require_defined(op, x, at);
  std::int64_t a = -1;
  if (axis) {
    a = detail::normalize_axis(op, *axis, x.dim(), at);
    if (x.dim() == 0) return scope.finish(zeros({}, int64));
    if (x.shape()[static_cast<std::size_t>(a)] == 0)
      fail<ShapeError>(op, "cannot take the index of an extreme over an empty axis", "shape " + to_string(x.shape()), at);
  } else if (x.numel() == 0) {
    fail<ShapeError>(op, "cannot take the index of an extreme of an empty tensor", "shape " + to_string(x.shape()), at);
  }
  return scope.finish(kernels::arg_reduce(is_max, x, a, keepdim));
}
}  // namespace

Tensor argmax(const Tensor& x, std::optional<std::int64_t> axis, bool keepdim, Here at) {
  return arg_extreme("argmax", true, x, axis, keepdim, at);
}
Tensor argmin(const Tensor& x, std::optional<std::int64_t> axis, bool keepdim, Here at) {
  return arg_extreme("argmin", false, x, axis, keepdim, at);
}

namespace {
// max over the axes (keepdim), with non-finite maxima replaced by 0 so that rows of -inf give -inf,
// not NaN, after subtraction.
Tensor safe_shift(const Tensor& x, const Axes& axes) {
  Tensor m = max(x, axes, true);
  return where(eq(m, m) * lt(abs(m), full({}, INFINITY, m.dtype())), m, zeros({}, m.dtype()));
}
}  // namespace

Tensor logsumexp(const Tensor& x, Axes axes, bool keepdim, Here at) {
  detail::OpScope scope("logsumexp", at, x);
  Reduction r = plan("logsumexp", x, axes, at);
  detail::require_floating("logsumexp", x, at);
  Tensor y_kept;
  {
    NoGradGuard no_grad;
    if (x.numel() == 0) {
      y_kept = full(r.kept, -INFINITY, x.dtype());
    } else {
      Tensor m = safe_shift(x, axes);
      y_kept = m + log(sum(exp(x - m), axes, true));
    }
  }
  Tensor y = finish(y_kept, r, x, keepdim);
  return record("logsumexp", {x}, y, {x, y}, [r](Context& b) {
    b.accumulate(0, keep_dims(b, b.gy(), r.kept) * exp(b.saved(0) - keep_dims(b, b.saved(1), r.kept)));
  }, at);
}

Tensor softmax(const Tensor& x, std::int64_t axis, Here at) {
  detail::OpScope scope("softmax", at, x);
  detail::require_floating("softmax", x, at);
  const std::int64_t a = detail::normalize_axis("softmax", axis, x.dim(), at);
  Tensor y;
  if (x.numel() == 0) return scope.finish(x.detach().clone());
  if (x.is_contiguous() && (x.dim() == 0 || a == x.dim() - 1)) {
    y = kernels::softmax_last_axis(x, false);  // one fused pass per row
  } else {
    NoGradGuard no_grad;
    Tensor e = exp(x - safe_shift(x, {a}));
    y = e / sum(e, {a}, true);
  }
  return record("softmax", {x}, y, {y}, [a](Context& b) {
    const Tensor& s = b.saved(0);
    const Tensor& gy = b.gy();
    b.accumulate(0, s * (gy - sum(gy * s, {a}, true)));
  }, at);
}

Tensor log_softmax(const Tensor& x, std::int64_t axis, Here at) {
  detail::OpScope scope("log_softmax", at, x);
  detail::require_floating("log_softmax", x, at);
  const std::int64_t a = detail::normalize_axis("log_softmax", axis, x.dim(), at);
  Tensor y;
  if (x.numel() == 0) return scope.finish(x.detach().clone());
  if (x.is_contiguous() && (x.dim() == 0 || a == x.dim() - 1)) {
    y = kernels::softmax_last_axis(x, true);
  } else {
    NoGradGuard no_grad;
    Tensor shifted = x - safe_shift(x, {a});
    y = shifted - log(sum(exp(shifted), {a}, true));
  }
  return record("log_softmax", {x}, y, {y}, [a](Context& b) {
    const Tensor& gy = b.gy();
    b.accumulate(0, gy - exp(b.saved(0)) * sum(gy, {a}, true));
  }, at);
}

// ------------------------------------------------------------------ values and indices along one axis

namespace {
// The index from argmax/argmin, the value picked with gather: its backward sends the gradient to
// that one index, as torch.max(x, dim) does.
ValuesIndices extreme_with_indices(std::string_view op, bool is_max, const Tensor& x, std::int64_t axis, bool keepdim,
                                   const std::source_location& at) {
  detail::OpScope scope(op, at, x);
  detail::require_defined(op, x, at);
  const std::int64_t a = detail::normalize_axis(op, axis, x.dim(), at);
  if (x.dim() > 0 && x.shape()[static_cast<std::size_t>(a)] == 0)
    fail<ShapeError>(op, "cannot take the extreme of an empty axis", "shape " + to_string(x.shape()) + ", axis " +
                     std::to_string(axis), at);
  Tensor indices = x.dim() == 0 ? zeros({}, int64) : kernels::arg_reduce(is_max, x, a, true);
  Tensor values = gather(x, a, indices, at);
  if (!keepdim && x.dim() > 0) {
    values = squeeze(values, {a}, at);
    indices = squeeze(indices, {a}, at);
  }
  scope.finish(std::vector<Tensor>{values, indices});
  return {values, indices};
}
}  // namespace

ValuesIndices max_with_indices(const Tensor& x, std::int64_t axis, bool keepdim, Here at) {
  return extreme_with_indices("max", true, x, axis, keepdim, at);
}
ValuesIndices min_with_indices(const Tensor& x, std::int64_t axis, bool keepdim, Here at) {
  return extreme_with_indices("min", false, x, axis, keepdim, at);
}

}  // namespace tapegrad
