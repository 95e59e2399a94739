// Shape and layout ops. Views share storage (their backward maps gy back through the inverse
// layout change); copies go through kernels::copy_into.
//
// Note [Region gradients]
// narrow, slice, select, split and unbind (and index_select, over the span of rows it read) each
// read one region of their input, and their backward adds gy into that region only, through
// Context::accumulate_region: every region delivered to one input in a backward lands in ONE
// buffer of the input's shape, allocated once (for a leaf too). An RNN reading x_t = narrow(X, 0, t,
// 1) for T steps thus costs O(T * slice) in backward, not T full-size zero tensors (O(T * |X|)); a
// region added into zeros once is bitwise the gradient a separate leaf would get. split and unbind
// are one entry with one output per piece. Under create_graph accumulate_region falls back to a
// recorded embed (differentiable, full size per region), and the other backwards here use recorded
// ops (reshape, narrow, permute, pad) instead of make_view or kernels.
#include "tapegrad/ops/shape.hpp"

#include <algorithm>
#include <optional>

#include "internal.hpp"
#include "kernels/copy.hpp"
#include "kernels/reduce.hpp"
#include "tapegrad/function.hpp"

namespace tapegrad {

using detail::fail;

Shape detail::broadcast_shapes(std::string_view op, const Shape& a, const Shape& b,
                               const std::source_location& at) {
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank, 1);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const std::int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      fail<ShapeError>(op, "shapes must be equal or 1 in each trailing axis",
                       to_string(a) + " and " + to_string(b), at);
    out[i] = da == 1 ? db : da;
  }
  detail::checked_numel(op, out, at);
  return out;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, Here at) {
  // Shapes from the user, not from tensors: a negative size is a bad value, not a mismatch.
  detail::checked_numel("broadcast_shapes", a, at);
  detail::checked_numel("broadcast_shapes", b, at);
  return detail::broadcast_shapes("broadcast_shapes", a, b, at);
}

namespace {

Shape infer_shape(std::string_view op, const Tensor& x, Shape shape, const std::source_location& at) {
  std::int64_t known = 1, unknown = -1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (unknown >= 0) fail<ShapeError>(op, "only one size may be -1", to_string(shape), at);
      unknown = static_cast<std::int64_t>(i);
    } else if (shape[i] < 0) {
      fail<ShapeError>(op, "sizes must be non-negative or -1", to_string(shape), at);
    } else if (__builtin_mul_overflow(known, shape[i], &known)) {
      fail<ValueError>(op, "the number of elements must fit in int64", to_string(shape), at);
    }
  }
  if (unknown >= 0 && known == 0 && x.numel() == 0)
    fail<ShapeError>(op, "a -1 is ambiguous when another size is 0 (any size would fit)",
                     to_string(shape) + " for an input of shape " + to_string(x.shape()), at);
  if (unknown >= 0) {
    if (known == 0 || x.numel() % known != 0)
      fail<ShapeError>(op, "the shape must have the same number of elements as the input",
                       to_string(shape) + " for an input of shape " + to_string(x.shape()), at);
    shape[static_cast<std::size_t>(unknown)] = x.numel() / known;
  } else if (known != x.numel()) {
    fail<ShapeError>(op, "the shape must have the same number of elements as the input",
                     to_string(shape) + " for an input of shape " + to_string(x.shape()), at);
  }
  return shape;
}

// Strides that let a tensor with (shape, strides) be seen with new_shape without copying, or an
// empty optional (NumPy's attempt_nocopy_reshape, simplified): every group of old axes that merges
// into new axes must be contiguous within itself.
std::optional<Strides> view_strides(const Shape& shape, const Strides& strides, const Shape& new_shape) {
  if (numel_of(shape) <= 1) return contiguous_strides(new_shape);
  Shape os;  // the old layout without its size-1 axes
  Strides ost;
  for (std::size_t i = 0; i < shape.size(); ++i)
    if (shape[i] != 1) {
      os.push_back(shape[i]);
      ost.push_back(strides[i]);
    }
  Strides out(new_shape.size(), 1);
  std::size_t oi = 0, oj = 1, ni = 0, nj = 1;
  while (ni < new_shape.size() && oi < os.size()) {
    // Grow the groups old[oi, oj) and new[ni, nj) until their products agree.
    std::int64_t np = new_shape[ni], op = os[oi];
    while (np != op) {
      if (np < op) np *= new_shape[nj++];
      else op *= os[oj++];
    }
    for (std::size_t k = oi; k + 1 < oj; ++k)
      if (ost[k] != os[k + 1] * ost[k + 1]) return std::nullopt;  // the group is not contiguous
    out[nj - 1] = ost[oj - 1];
    for (std::size_t k = nj - 1; k > ni; --k) out[k - 1] = out[k] * new_shape[k];
    ni = nj++;
    oi = oj++;
  }
  return out;  // trailing size-1 axes keep stride 1
}

// The backward shared by every view-like op whose gradient is gy reshaped to the input's shape.
void reshape_back(Context& b) {
  const Tensor& gy = b.gy();
  const Shape shape = b.input_shape(0);
  if (b.create_graph()) return b.accumulate(0, reshape(gy, shape));
  Tensor g = gy.is_contiguous() ? gy : kernels::cast(gy, gy.dtype());
  b.accumulate(0, detail::make_view(g, shape, contiguous_strides(shape), 0));
}

// Adds g into the part of input 0's gradient that a view along axis `a` read: `length` elements
// from `start` by `step`, or (drop_axis) the one at `start`, with the axis removed. Only that region
// is touched (Context::accumulate_region): reading T slices of one tensor costs O(T * slice) in
// backward, not O(T * input).
void add_region(Context& b, const Tensor& g, std::size_t a, std::int64_t start, std::int64_t length,
                std::int64_t step, bool drop_axis) {
  Shape shape = b.input_shape(0);
  Strides strides = contiguous_strides(shape);
  const std::int64_t offset = start * strides[a];
  if (drop_axis) {
    shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(a));
    strides.erase(strides.begin() + static_cast<std::ptrdiff_t>(a));
  } else {
    shape[a] = length;
    if (length > 1) strides[a] *= step;  // step < the axis length here, so this stays inside
  }
  b.accumulate_region(0, g, shape, strides, offset);
}

}  // namespace

Tensor view(const Tensor& x, Shape shape, Here at) {
  detail::OpScope scope("view", at, x);
  detail::require_defined("view", x, at);
  shape = infer_shape("view", x, std::move(shape), at);
  detail::require_sizes("view", shape, x.dtype(), at);
  auto strides = view_strides(x.shape(), x.strides(), shape);
  if (!strides)
    fail<ShapeError>("view", "the input's layout must allow the new shape without a copy (use reshape)",
                     "shape " + to_string(x.shape()) + " with strides " + to_string(x.strides()) + " to " +
                         to_string(shape),
                     at);
  return record("view", {x}, detail::make_view(x, shape, *strides, 0), {}, reshape_back, at);
}

Tensor reshape(const Tensor& x, Shape shape, Here at) {
  detail::require_defined("reshape", x, at);
  shape = infer_shape("reshape", x, std::move(shape), at);
  detail::require_sizes("reshape", shape, x.dtype(), at);
  detail::OpScope scope("reshape", at, x);
  auto strides = view_strides(x.shape(), x.strides(), shape);
  Tensor y = strides ? detail::make_view(x, shape, *strides, 0)
                     : detail::make_view(kernels::cast(x, x.dtype()), shape, contiguous_strides(shape), 0);
  return record("reshape", {x}, y, {}, reshape_back, at);
}

Tensor flatten(const Tensor& x, std::int64_t start_axis, std::int64_t end_axis, Here at) {
  detail::OpScope scope("flatten", at, x);
  detail::require_defined("flatten", x, at);
  if (x.dim() == 0) return scope.finish(reshape(x, {1}, at));
  auto s = detail::normalize_axis("flatten", start_axis, x.dim(), at);
  auto e = detail::normalize_axis("flatten", end_axis, x.dim(), at);
  if (s > e) fail<ShapeError>("flatten", "start_axis must not come after end_axis",
                              std::to_string(start_axis) + " and " + std::to_string(end_axis), at);
  Shape shape(x.shape().begin(), x.shape().begin() + s);
  std::int64_t merged = 1;
  for (auto i = s; i <= e; ++i) merged *= x.shape()[static_cast<std::size_t>(i)];
  shape.push_back(merged);
  shape.insert(shape.end(), x.shape().begin() + e + 1, x.shape().end());
  return scope.finish(reshape(x, shape, at));
}

Tensor permute(const Tensor& x, Axes order, Here at) {
  detail::OpScope scope("permute", at, x);
  detail::require_defined("permute", x, at);
  if (static_cast<std::int64_t>(order.size()) != x.dim())
    fail<ShapeError>("permute", "the order must list every axis once",
                     to_string(order) + " for a tensor of rank " + std::to_string(x.dim()), at);
  std::vector<bool> seen(order.size(), false);
  for (auto& axis : order) {
    axis = detail::normalize_axis("permute", axis, x.dim(), at);
    if (seen[static_cast<std::size_t>(axis)])
      fail<ShapeError>("permute", "the order must list every axis once", to_string(order), at);
    seen[static_cast<std::size_t>(axis)] = true;
  }
  Shape shape(order.size());
  Strides strides(order.size());
  Axes inverse(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    shape[i] = x.shape()[static_cast<std::size_t>(order[i])];
    strides[i] = x.strides()[static_cast<std::size_t>(order[i])];
    inverse[static_cast<std::size_t>(order[i])] = static_cast<std::int64_t>(i);
  }
  return record("permute", {x}, detail::make_view(x, shape, strides, 0), {}, [inverse](Context& b) {
    b.accumulate(0, permute(b.gy(), inverse));
  }, at);
}

Tensor transpose(const Tensor& x, std::int64_t axis0, std::int64_t axis1, Here at) {
  detail::OpScope scope("transpose", at, x);
  detail::require_defined("transpose", x, at);
  if (x.dim() < 2 && (axis0 == axis1 || x.dim() == 0)) {
    detail::normalize_axis("transpose", axis0, x.dim(), at);
    detail::normalize_axis("transpose", axis1, x.dim(), at);
    return scope.finish(x);
  }
  auto a = detail::normalize_axis("transpose", axis0, x.dim(), at);
  auto c = detail::normalize_axis("transpose", axis1, x.dim(), at);
  Axes order(static_cast<std::size_t>(x.dim()));
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int64_t>(i);
  std::swap(order[static_cast<std::size_t>(a)], order[static_cast<std::size_t>(c)]);
  return scope.finish(permute(x, order, at));
}

Tensor squeeze(const Tensor& x, Axes axes, Here at) {
  detail::OpScope scope("squeeze", at, x);
  detail::require_defined("squeeze", x, at);
  std::vector<bool> drop = detail::reduction_mask("squeeze", axes, x.dim(), at);
  Shape shape;
  Strides strides;
  for (std::size_t i = 0; i < x.shape().size(); ++i) {
    if (drop[i] && x.shape()[i] == 1) continue;
    shape.push_back(x.shape()[i]);
    strides.push_back(x.strides()[i]);
  }
  return record("squeeze", {x}, detail::make_view(x, shape, strides, 0), {}, reshape_back, at);
}

Tensor unsqueeze(const Tensor& x, std::int64_t axis, Here at) {
  detail::OpScope scope("unsqueeze", at, x);
  detail::require_defined("unsqueeze", x, at);
  auto a = detail::normalize_axis("unsqueeze", axis < 0 ? axis : axis, x.dim() + 1, at);
  Shape shape = x.shape();
  Strides strides = x.strides();
  const std::int64_t stride = static_cast<std::size_t>(a) < strides.size() ? strides[static_cast<std::size_t>(a)] * shape[static_cast<std::size_t>(a)] : 1;
  shape.insert(shape.begin() + a, 1);
  strides.insert(strides.begin() + a, stride);
  return record("unsqueeze", {x}, detail::make_view(x, shape, strides, 0), {}, reshape_back, at);
}

Tensor slice(const Tensor& x, std::int64_t axis, std::int64_t start, std::int64_t end, std::int64_t step, Here at) {
  detail::OpScope scope("slice", at, x);
  detail::require_defined("slice", x, at);
  if (x.dim() == 0) fail<ShapeError>("slice", "the input must have at least one axis", "a 0-d tensor", at);
  auto a = static_cast<std::size_t>(detail::normalize_axis("slice", axis, x.dim(), at));
  if (step <= 0) fail<ValueError>("slice", "step must be positive", std::to_string(step), at);
  const std::int64_t n = x.shape()[a];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<std::int64_t>(start, 0, n);
  end = std::clamp<std::int64_t>(end, start, n);
  Shape shape = x.shape();
  Strides strides = x.strides();
  // Written so that a step near INT64_MAX cannot overflow: (end - start - 1) / step + 1 elements.
  shape[a] = end > start ? (end - start - 1) / step + 1 : 0;
  if (shape[a] > 1) strides[a] *= step;  // step < n here, so the product stays within the storage
  const std::int64_t offset = start * x.strides()[a];
  Tensor y = detail::make_view(x, shape, strides, offset);
  return record("slice", {x}, y, {}, [a, start, length = shape[a], step](Context& b) {
    add_region(b, b.gy(), a, start, length, step, false);
  }, at);
}

Tensor narrow(const Tensor& x, std::int64_t axis, std::int64_t start, std::int64_t length, Here at) {
  detail::OpScope scope("narrow", at, x);
  detail::require_defined("narrow", x, at);
  if (x.dim() == 0) fail<ShapeError>("narrow", "the input must have at least one axis", "a 0-d tensor", at);
  auto a = detail::normalize_axis("narrow", axis, x.dim(), at);
  const std::int64_t n = x.shape()[static_cast<std::size_t>(a)];
  if (start < 0) start += n;
  if (start < 0 || length < 0 || start > n || length > n - start)
    fail<ValueError>("narrow", "start and length must lie within the axis",
                     "start " + std::to_string(start) + ", length " + std::to_string(length) + " on an axis of " +
                         std::to_string(n),
                     at);
  return scope.finish(slice(x, a, start, start + length, 1, at));
}

Tensor expand(const Tensor& x, Shape shape, Here at) {
  detail::OpScope scope("expand", at, x);
  detail::require_defined("expand", x, at);
  if (shape.size() < x.shape().size())
    fail<ShapeError>("expand", "the new shape must have at least as many axes as the input",
                     to_string(x.shape()) + " to " + to_string(shape), at);
  const std::size_t lead = shape.size() - x.shape().size();
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const std::int64_t from = i < lead ? 1 : x.shape()[i - lead];
    if (shape[i] == -1) {
      if (i < lead) fail<ShapeError>("expand", "-1 is not allowed for new leading axes", to_string(shape), at);
      shape[i] = from;
    }
    if (shape[i] != from && from != 1)
      fail<ShapeError>("expand", "only size-1 axes can be expanded", to_string(x.shape()) + " to " + to_string(shape), at);
  }
  detail::require_sizes("expand", shape, x.dtype(), at);
  return record("expand", {x}, detail::broadcast_view(x, shape), {}, [](Context& b) { b.accumulate(0, b.gy()); }, at);
}

Tensor broadcast_to(const Tensor& x, Shape shape, Here at) {
  detail::OpScope scope("broadcast_to", at, x);
  detail::require_defined("broadcast_to", x, at);
  detail::require_sizes("broadcast_to", shape, x.dtype(), at);
  if (detail::broadcast_shapes("broadcast_to", x.shape(), shape, at) != shape)
    fail<ShapeError>("broadcast_to", "the input must broadcast to the shape", to_string(x.shape()) + " to " + to_string(shape), at);
  return scope.finish(expand(x, shape, at));
}

Tensor concat(const std::vector<Tensor>& xs, std::int64_t axis, Here at) {
  if (xs.empty()) fail<ValueError>("concat", "at least one tensor is needed", "an empty list", at);
  for (const auto& x : xs) detail::require_defined("concat", x, at);
  const Tensor& first = xs.front();
  if (first.dim() == 0) fail<ShapeError>("concat", "tensors must have at least one axis", "a 0-d tensor", at);
  auto a = static_cast<std::size_t>(detail::normalize_axis("concat", axis, first.dim(), at));
  DType dtype = first.dtype();
  Shape shape = first.shape();
  shape[a] = 0;
  std::vector<std::int64_t> sizes;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    bool fits = x.dim() == first.dim();
    for (std::size_t d = 0; fits && d < shape.size(); ++d) fits = d == a || x.shape()[d] == first.shape()[d];
    if (!fits)
      fail<ShapeError>("concat", "tensors must match in every axis but the concatenation axis",
                       to_string(first.shape()) + " and " + to_string(x.shape()) + " (tensor " + std::to_string(i) + ")",
                       at);
    if (x.dtype() != dtype)
      fail<DTypeError>("concat", "tensors must share a dtype",
                       std::string(dtype_name(dtype)) + " and " + std::string(dtype_name(x.dtype())), at);
    sizes.push_back(x.shape()[a]);
    shape[a] = detail::checked_add("concat", shape[a], x.shape()[a], at);
  }
  detail::require_sizes("concat", shape, dtype, at);
  detail::OpScope scope("concat", at, xs);
  Tensor y = detail::new_tensor(shape, dtype);
  std::int64_t start = 0;
  for (const Tensor& x : xs) {
    Shape part = shape;
    part[a] = x.shape()[a];
    kernels::copy_into(detail::make_view(y, part, y.strides(), start * y.strides()[a]), x);
    start += part[a];
  }
  return record("concat", xs, {y}, {}, [sizes, a](Context& b) {
    const Tensor& gy = b.gy();
    std::int64_t offset = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      // narrow: a view when not recording, a recorded one under create_graph.
      if (b.needs_grad(i)) b.accumulate(i, narrow(gy, static_cast<std::int64_t>(a), offset, sizes[i]));
      offset += sizes[i];
    }
  }, at)[0];
}

Tensor stack(const std::vector<Tensor>& xs, std::int64_t axis, Here at) {
  if (xs.empty()) fail<ValueError>("stack", "at least one tensor is needed", "an empty list", at);
  for (const auto& x : xs) {
    detail::require_defined("stack", x, at);
    if (x.shape() != xs.front().shape())
      fail<ShapeError>("stack", "tensors must have the same shape",
                       to_string(xs.front().shape()) + " and " + to_string(x.shape()), at);
  }
  auto a = detail::normalize_axis("stack", axis, xs.front().dim() + 1, at);
  Shape shape = xs.front().shape();
  shape.insert(shape.begin() + a, static_cast<std::int64_t>(xs.size()));
  detail::require_sizes("stack", shape, xs.front().dtype(), at);
  detail::OpScope scope("stack", at, xs);
  std::vector<Tensor> parts;
  parts.reserve(xs.size());
  for (const auto& x : xs) parts.push_back(unsqueeze(x, a, at));
  return scope.finish(concat(parts, a, at));
}

std::vector<Tensor> split(const Tensor& x, const std::vector<std::int64_t>& sizes, std::int64_t axis, Here at) {
  detail::OpScope scope("split", at, x);
  detail::require_defined("split", x, at);
  if (x.dim() == 0) fail<ShapeError>("split", "the input must have at least one axis", "a 0-d tensor", at);
  auto a = detail::normalize_axis("split", axis, x.dim(), at);
  std::int64_t total = 0;
  for (auto s : sizes) {
    if (s < 0) fail<ValueError>("split", "sizes must be non-negative", std::to_string(s), at);
    total = detail::checked_add("split", total, s, at);
  }
  if (total != x.shape()[static_cast<std::size_t>(a)])
    fail<ShapeError>("split", "the sizes must add up to the axis length",
                     std::to_string(total) + " for an axis of " + std::to_string(x.shape()[static_cast<std::size_t>(a)]),
                     at);
  // One op with one output per piece, not one narrow each: each piece's gradient lands in its region
  // of one buffer. Past the tape's 65535 outputs per entry, one narrow per piece.
  const auto axis_index = static_cast<std::size_t>(a);
  std::vector<Tensor> pieces;
  if (sizes.size() > UINT16_MAX && will_record({x})) {
    std::int64_t start = 0;
    for (auto s : sizes) {
      pieces.push_back(narrow(x, a, start, s, at));
      start += s;
    }
    return pieces;
  }
  std::int64_t start = 0;
  for (auto s : sizes) {
    Shape part = x.shape();
    part[axis_index] = s;
    pieces.push_back(detail::make_view(x, part, x.strides(), start * x.strides()[axis_index]));
    start += s;
  }
  return record("split", {x}, std::move(pieces), {}, [axis_index, sizes](Context& b) {
    std::int64_t start = 0;
    for (std::size_t k = 0; k < sizes.size(); ++k) {
      add_region(b, b.gy(k), axis_index, start, sizes[k], 1, false);
      start += sizes[k];
    }
  }, at);
}

std::vector<Tensor> unbind(const Tensor& x, std::int64_t axis, Here at) {
  detail::require_defined("unbind", x, at);
  if (x.dim() == 0) fail<ShapeError>("unbind", "the input must have at least one axis", "a 0-d tensor", at);
  const auto a = static_cast<std::size_t>(detail::normalize_axis("unbind", axis, x.dim(), at));
  detail::OpScope scope("unbind", at, x);
  Shape shape = x.shape();
  Strides strides = x.strides();
  shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(a));
  strides.erase(strides.begin() + static_cast<std::ptrdiff_t>(a));
  const std::int64_t n = x.shape()[a];
  if (n == 0) return scope.finish(std::vector<Tensor>{});
  std::vector<Tensor> pieces;
  pieces.reserve(static_cast<std::size_t>(n));
  if (n > UINT16_MAX && will_record({x})) {  // past the tape's 65535 outputs per entry
    for (std::int64_t i = 0; i < n; ++i) pieces.push_back(select(x, static_cast<std::int64_t>(a), i, at));
    return scope.finish(std::move(pieces));
  }
  for (std::int64_t i = 0; i < n; ++i) pieces.push_back(detail::make_view(x, shape, strides, i * x.strides()[a]));
  return record("unbind", {x}, std::move(pieces), {}, [a, n](Context& b) {
    for (std::int64_t i = 0; i < n; ++i) add_region(b, b.gy(static_cast<std::size_t>(i)), a, i, 1, 1, true);
  }, at);
}

std::vector<Tensor> split(const Tensor& x, std::int64_t size, std::int64_t axis, Here at) {
  detail::OpScope scope("split", at, x);
  detail::require_defined("split", x, at);
  if (x.dim() == 0) fail<ShapeError>("split", "the input must have at least one axis", "a 0-d tensor", at);
  if (size <= 0) fail<ValueError>("split", "the piece size must be positive", std::to_string(size), at);
  const auto a = static_cast<std::size_t>(detail::normalize_axis("split", axis, x.dim(), at));
  const std::int64_t n = x.shape()[a];
  std::vector<std::int64_t> sizes;
  for (std::int64_t start = 0; start < n; start += size) sizes.push_back(std::min(size, n - start));
  if (sizes.empty()) sizes.push_back(0);
  return scope.finish(split(x, sizes, axis, at));
}

Tensor pad(const Tensor& x, const std::vector<std::int64_t>& pads, double value, Here at) {
  detail::require_defined("pad", x, at);
  if (pads.size() % 2 != 0 || static_cast<std::int64_t>(pads.size()) > 2 * x.dim())
    fail<ShapeError>("pad", "pads must come in (before, after) pairs, at most one pair per axis",
                     std::to_string(pads.size()) + " values for a tensor of rank " + std::to_string(x.dim()), at);
  // y[j] = x[j - before] where that is inside x, else `value`, on each axis. A negative pad crops, as
  // in torch.nn.functional.pad: along an axis of size n, x[crop_before, n - crop_after) is kept and
  // lands at y[max(0, before)].
  Shape shape = x.shape();
  Shape kept = x.shape();
  std::vector<std::int64_t> skip(shape.size(), 0), at_y(shape.size(), 0);
  for (std::size_t p = 0; p < pads.size(); p += 2) {
    const std::size_t axis = shape.size() - 1 - p / 2;
    const std::int64_t n = shape[axis];
    if (pads[p] == INT64_MIN || pads[p + 1] == INT64_MIN)  // its opposite, the gradient's pad, does not exist
      fail<ValueError>("pad", "pads must be greater than INT64_MIN",
                       std::to_string(pads[p]) + ", " + std::to_string(pads[p + 1]), at);
    const std::int64_t size = detail::checked_add("pad", detail::checked_add("pad", n, pads[p], at), pads[p + 1], at);
    if (size < 0)
      fail<ShapeError>("pad", "padding must leave every size non-negative",
                       "pads " + std::to_string(pads[p]) + ", " + std::to_string(pads[p + 1]) + " on axis " +
                           std::to_string(axis) + " of size " + std::to_string(n),
                       at);
    auto crop = [n](std::int64_t amount) { return amount >= 0 ? 0 : amount < -n ? n : -amount; };
    shape[axis] = size;
    kept[axis] = std::max<std::int64_t>(0, n - crop(pads[p]) - crop(pads[p + 1]));
    skip[axis] = crop(pads[p]);
    at_y[axis] = std::max<std::int64_t>(0, pads[p]);
  }
  detail::require_sizes("pad", shape, x.dtype(), at);
  detail::OpScope scope("pad", at, x);
  Tensor y = full(shape, value, x.dtype());
  if (numel_of(kept) > 0) {  // then every offset below lies inside x and y
    std::int64_t source = 0, target = 0;
    for (std::size_t i = 0; i < shape.size(); ++i) {
      source += skip[i] * x.strides()[i];
      target += at_y[i] * y.strides()[i];
    }
    kernels::copy_into(detail::make_view(y, kept, y.strides(), target),
                       detail::make_view(x, kept, x.strides(), source));
  }
  // The gradient pads gy by the opposite amounts: what was cropped gets zero, the padding is dropped.
  std::vector<std::int64_t> back(pads.size());
  std::transform(pads.begin(), pads.end(), back.begin(), [](std::int64_t p) { return -p; });
  return record("pad", {x}, y, {}, [back](Context& b) {
    b.accumulate(0, pad(b.gy(), back));
  }, at);
}

Tensor select(const Tensor& x, std::int64_t axis, std::int64_t index, Here at) {
  detail::OpScope scope("select", at, x);
  detail::require_defined("select", x, at);
  if (x.dim() == 0) fail<ShapeError>("select", "the input must have at least one axis", "a 0-d tensor", at);
  auto a = static_cast<std::size_t>(detail::normalize_axis("select", axis, x.dim(), at));
  const std::int64_t n = x.shape()[a];
  if (index < -n || index >= n)
    fail<ValueError>("select", "index must lie in [-" + std::to_string(n) + ", " + std::to_string(n) + ")",
                     "index " + std::to_string(index) + " on axis " + std::to_string(axis) + " of shape " +
                         to_string(x.shape()),
                     at);
  if (index < 0) index += n;
  Shape shape = x.shape();
  Strides strides = x.strides();
  shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(a));
  strides.erase(strides.begin() + static_cast<std::ptrdiff_t>(a));
  Tensor y = detail::make_view(x, shape, strides, index * x.strides()[a]);
  return record("select", {x}, y, {}, [a, index](Context& b) { add_region(b, b.gy(), a, index, 1, 1, true); }, at);
}

}  // namespace tapegrad
