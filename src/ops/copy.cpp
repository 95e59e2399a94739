// The copies a tensor makes of itself: to, contiguous, clone. They are recorded, so gradients flow
// through them.
#include "internal.hpp"
#include "kernels/copy.hpp"
#include "tapegrad/function.hpp"
#include "tapegrad/tape.hpp"

namespace tapegrad {

using detail::fail;

namespace {
// The copy ops (to, contiguous, clone) share one recorded backward: cast gy back to x's dtype.
Tensor recorded_copy(std::string_view op, const Tensor& x, DType dtype, const std::source_location& at) {
  detail::require_defined(op, x, at);
  if (!is_floating(dtype) && x.requires_grad() && is_grad_enabled())
    fail<DTypeError>(op, "a tensor that requires grad can only be converted to a floating dtype",
                     std::string(dtype_name(dtype)), at);
  detail::OpScope scope(op, at, x);
  Tensor y = kernels::cast(x, dtype);
  return record(op, {x}, y, {}, [](Context& b) { b.accumulate(0, b.gy()); }, at);
}
}  // namespace

Tensor Tensor::to(DType target, std::source_location at) const {
  detail::require_defined("to", *this, at);
  if (dtype() == target) return *this;
  detail::require_sizes("to", shape(), target, at);  // a wider dtype may not fit in int64 bytes
  return recorded_copy("to", *this, target, at);
}
Tensor Tensor::contiguous(std::source_location at) const {
  detail::require_defined("contiguous", *this, at);
  if (is_contiguous()) return *this;
  return recorded_copy("contiguous", *this, dtype(), at);
}
Tensor Tensor::clone(std::source_location at) const {
  detail::require_defined("clone", *this, at);
  return recorded_copy("clone", *this, dtype(), at);
}

}  // namespace tapegrad
