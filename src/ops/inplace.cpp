// In-place ops: fill_, zero_, copy_, add_, mul_. Not recorded; each bumps the version counter.
#include <sstream>

#include "internal.hpp"
#include "kernels/copy.hpp"
#include "tapegrad/tape.hpp"

namespace tapegrad {

using detail::fail;

namespace {
// Two elements of x at one address: an axis of size > 1 with stride 0, as expand and broadcast_to
// make (the only views here that alias their own elements).
bool has_internal_overlap(const Tensor& x) {
  for (std::size_t i = 0; i < x.shape().size(); ++i)
    if (x.shape()[i] > 1 && x.strides()[i] == 0) return true;
  return false;
}

void check_in_place(std::string_view op, const Tensor& x, const std::source_location& at) {
  detail::require_defined(op, x, at);
  if (x.requires_grad() && is_grad_enabled())
    fail<GraphError>(op, "in-place ops are not recorded; modify a tensor that requires grad only under NoGradGuard",
                     x.is_leaf() ? "a leaf that requires grad" : "a tensor made by a recorded op", at);
  // PyTorch's rule and words: writing one value per element is ill-defined when elements share memory.
  if (has_internal_overlap(x))
    fail<ValueError>(
        op,
        "unsupported operation: more than one element of the written-to tensor refers to a single "
        "memory location (clone() the expanded tensor first)",
        "shape " + to_string(x.shape()) + " with strides " + to_string(x.strides()), at);
}

// An in-place op's other operand must broadcast to the written tensor's shape (ShapeError naming op).
void require_broadcasts_to(std::string_view op, const Tensor& other, const Tensor& x,
                           const std::source_location& at) {
  if (detail::broadcast_shapes(op, other.shape(), x.shape(), at) != x.shape())
    fail<ShapeError>(op, "the other tensor must broadcast to this tensor's shape",
                     tapegrad::to_string(other.shape()) + " into " + tapegrad::to_string(x.shape()), at);
}

// Note [In-place promotion]: PyTorch's rule. An in-place op computes in the dtype its out-of-place
// form would return (result_type, Note [Type promotion]) and stores in the written tensor's dtype,
// which must be able to hold it: an int64 tensor cannot take a floating result (int64.add_(float
// tensor), int64.mul_(2.5)), as torch.can_cast says. add_ casts alpha to the result dtype, so an
// integral result needs an integral alpha.
void require_castable(std::string_view op, DType result, const Tensor& x, const std::source_location& at) {
  if (is_floating(result) && !is_floating(x.dtype()))
    fail<DTypeError>(op, "the result dtype must be castable to this tensor's dtype",
                     std::string(dtype_name(result)) + " result for the " + detail::describe(x), at);
}

Tensor& fill_in_place(std::string_view op, Tensor& x, double value, const std::source_location& at) {
  detail::OpScope scope(op, at, x);
  check_in_place(op, x, at);
  detail::require_representable(op, value, x.dtype(), at);
  kernels::fill(x, value);
  detail::bump_version(x);
  return x;
}
}  // namespace

Tensor& Tensor::fill_(double value, std::source_location at) { return fill_in_place("fill_", *this, value, at); }
Tensor& Tensor::zero_(std::source_location at) { return fill_in_place("zero_", *this, 0.0, at); }

Tensor& Tensor::copy_(const Tensor& source, std::source_location at) {
  detail::OpScope scope("copy_", at, *this, source);
  check_in_place("copy_", *this, at);
  detail::require_defined("copy_", source, at);
  require_broadcasts_to("copy_", source, *this, at);
  kernels::copy_into(*this, source);
  detail::bump_version(*this);
  return *this;
}

// One kernel writes into self (Note [In-place promotion]): no temporary, unless other overlaps self
// (Note [Overlapping copies]).
Tensor& Tensor::add_(const Tensor& other, double alpha, std::source_location at) {
  detail::OpScope scope("add_", at, *this, other);
  check_in_place("add_", *this, at);
  detail::require_defined("add_", other, at);
  require_broadcasts_to("add_", other, *this, at);
  const DType compute = detail::result_type(detail::operand(*this), detail::operand(other));
  require_castable("add_", compute, *this, at);
  if (!is_floating(compute) && is_floating(detail::operand(alpha).dtype)) {
    std::ostringstream observed;  // shortest form: 1e+300, not 301 digits
    observed << "alpha " << alpha << " for an " << dtype_name(compute) << " result";
    fail<DTypeError>("add_", "alpha must be an integer when the result is integral", observed.str(), at);
  }
  kernels::add_into(*this, other, alpha, compute);
  detail::bump_version(*this);
  return *this;
}

Tensor& Tensor::mul_(double factor, std::source_location at) {
  detail::OpScope scope("mul_", at, *this);
  check_in_place("mul_", *this, at);
  require_castable("mul_", detail::result_type(detail::operand(*this), detail::operand(factor)), *this, at);
  kernels::scale(*this, factor);
  detail::bump_version(*this);
  return *this;
}

}  // namespace tapegrad
