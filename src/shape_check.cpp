// Sizes and shapes: the one place that checks a shape and the arithmetic on sizes (Note [Checked
// sizes]), turns a failed allocation into OutOfMemoryError (Note [Allocation failures]), and checks
// axes and the shapes reductions make.
#include <algorithm>
#include <string>

#include "internal.hpp"

namespace tapegrad::detail {

// Note [Checked sizes]: every path that makes or views a shape (creation, random draws, arange,
// reshape, expand, slice, concat, pad, matmul, broadcasting) checks it here before it touches memory:
// each size non-negative, numel and numel * itemsize within int64 (so byte offsets computed from
// them cannot wrap). The products use __builtin_mul_overflow: a wrapped product is never looked at.

std::int64_t checked_numel(std::string_view op, const Shape& shape, const std::source_location& at) {
  for (auto s : shape)
    if (s < 0) fail<ValueError>(op, "sizes must be non-negative", "shape " + to_string(shape), at);
  // The product of the sizes other than 0 must fit too: the contiguous strides are made of it.
  std::int64_t span = 1;
  bool empty = false;
  for (auto s : shape) {
    empty = empty || s == 0;
    if (__builtin_mul_overflow(span, std::max<std::int64_t>(s, 1), &span))
      fail<ValueError>(op, "the number of elements must fit in int64", "shape " + to_string(shape), at);
  }
  return empty ? 0 : span;
}

std::int64_t require_sizes(std::string_view op, const Shape& shape, DType dtype,
                           const std::source_location& at) {
  const std::int64_t n = checked_numel(op, shape, at);
  std::int64_t bytes = 0;
  if (__builtin_mul_overflow(n, static_cast<std::int64_t>(itemsize(dtype)), &bytes))
    fail<ValueError>(op, "the size in bytes must fit in int64",
                     "shape " + to_string(shape) + " of " + std::string(dtype_name(dtype)), at);
  return n;
}

std::int64_t checked_add(std::string_view op, std::int64_t a, std::int64_t b,
                         const std::source_location& at) {
  std::int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum))
    fail<ValueError>(op, "sizes must add up to a value that fits in int64",
                     std::to_string(a) + " + " + std::to_string(b), at);
  return sum;
}

void require_representable(std::string_view op, double value, DType dtype, const std::source_location& at) {
  // [-2^63, 2^63): the doubles whose conversion to int64 is defined.
  if (dtype == DType::int64 && !(value >= -0x1p63 && value < 0x1p63))
    fail<ValueError>(op, "the value must fit in int64 for an int64 tensor", std::to_string(value), at);
}

// Note [Allocation failures]: the kernels allocate their outputs through new_tensor without knowing
// which public op the user called. The public entry points that allocate (creation, draws, the
// elementwise templates, copies, matmul, concat, stack, pad, index_select, gather, backward, grad)
// open an OpScope; the outermost one wins, so stack -> concat reports "stack". new_tensor asks it
// for the op and the line when the allocation fails. An allocation outside any scope reports
// "allocation" and no line.
TAPEGRAD_FAST_TLS thread_local CallSite current_call;

bool byte_size(const Shape& shape, DType dtype, std::int64_t& bytes) {
  bytes = static_cast<std::int64_t>(itemsize(dtype));
  for (auto s : shape)
    if (s < 0 || __builtin_mul_overflow(bytes, s, &bytes)) return false;
  return true;
}

void throw_out_of_memory(const Shape& shape, DType dtype) {
  static const std::source_location nowhere{};
  const std::string_view op = current_call.at ? current_call.op : std::string_view("allocation");
  std::int64_t bytes = 0;
  const bool fits = byte_size(shape, dtype, bytes);
  throw OutOfMemoryError(op, "not enough memory for the tensor",
                         (fits ? std::to_string(bytes) : std::string("more than 2^63")) +
                             " bytes for shape " + to_string(shape) + " of " + std::string(dtype_name(dtype)),
                         current_call.at ? *current_call.at : nowhere);
}

}  // namespace tapegrad::detail

// ------------------------------------------------------------------ shapes, strides and axes

namespace tapegrad {

std::string to_string(const Shape& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

std::int64_t numel_of(const Shape& shape, std::source_location at) {
  return detail::checked_numel("numel_of", shape, at);
}

Strides contiguous_strides(const Shape& shape, std::source_location at) {
  detail::checked_numel("contiguous_strides", shape, at);
  return detail::strides_of(shape);
}

namespace detail {

std::int64_t numel_unchecked(const Shape& shape) {
  std::int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

Strides strides_of(const Shape& shape) {
  Strides strides(shape.size(), 1);
  for (std::size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * std::max<std::int64_t>(shape[i], 1);
  return strides;
}

std::int64_t normalize_axis(std::string_view op, std::int64_t axis, std::int64_t rank, const std::source_location& at) {
  const std::int64_t bound = std::max<std::int64_t>(rank, 1);  // a 0-d tensor accepts axis 0 and -1, like torch
  if (axis < -bound || axis >= bound)
    fail<ShapeError>(op, "axis must be in [" + std::to_string(-bound) + ", " + std::to_string(bound) + ")",
                     "axis " + std::to_string(axis) + " for a tensor of rank " + std::to_string(rank), at);
  return axis < 0 ? axis + bound : axis;
}

std::vector<bool> reduction_mask(std::string_view op, const Axes& axes, std::int64_t rank, const std::source_location& at) {
  std::vector<bool> mask(static_cast<std::size_t>(rank), axes.empty());
  for (auto axis : axes) {
    auto a = normalize_axis(op, axis, rank, at);
    if (rank == 0) continue;
    if (mask[static_cast<std::size_t>(a)])
      fail<ShapeError>(op, "each axis may appear once", "axis " + std::to_string(axis) + " twice", at);
    mask[static_cast<std::size_t>(a)] = true;
  }
  return mask;
}

Shape reduced_shape(const Shape& shape, const std::vector<bool>& mask, bool keepdim) {
  Shape out;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (!mask[i]) out.push_back(shape[i]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

}  // namespace detail

}  // namespace tapegrad
