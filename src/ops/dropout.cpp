// dropout and dropout2d: x times a constant mask (Bernoulli(1 - p) / (1 - p)), so the backward is the
// mul's, differentiable to any order.
#include "tapegrad/ops/dropout.hpp"

#include <string>

#include "internal.hpp"
#include "tapegrad/ops/elementwise.hpp"

namespace tapegrad {

using detail::fail;

namespace {

// mask_shape: x's shape, or with size-1 axes where one draw covers a whole channel.
Tensor dropout_with_mask(const Tensor& x, double p, Shape mask_shape, Generator* gen, const std::source_location& at) {
  if (p == 1) return mul(x, zeros({}, x.dtype()), at);  // zeros (NaN stays NaN), as in PyTorch
  Tensor mask = bernoulli(std::move(mask_shape), 1.0 - p, x.dtype(), gen, at);
  mask = div(mask, scalar(1.0 - p, x.dtype()), at);
  return mul(x, mask, at);
}

void check_p(std::string_view op, const Tensor& x, double p, const std::source_location& at) {
  detail::require_defined(op, x, at);
  if (!(p >= 0 && p <= 1)) fail<ValueError>(op, "the dropout probability p must lie in [0, 1]", std::to_string(p), at);
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen, Here at) {
  detail::OpScope scope("dropout", at, x);
  check_p("dropout", x, p, at);
  if (!training || p == 0) return scope.finish(x);
  detail::require_floating("dropout", x, at);
  return scope.finish(dropout_with_mask(x, p, x.shape(), gen, at));
}

Tensor dropout2d(const Tensor& x, double p, bool training, Generator* gen, Here at) {
  detail::OpScope scope("dropout2d", at, x);
  check_p("dropout2d", x, p, at);
  if (x.dim() != 3 && x.dim() != 4)
    fail<ShapeError>("dropout2d", "the input must be [N, C, H, W] or unbatched [C, H, W]", to_string(x.shape()), at);
  if (!training || p == 0) return scope.finish(x);
  detail::require_floating("dropout2d", x, at);
  Shape mask_shape = x.shape();
  for (std::size_t axis = x.dim() == 4 ? 2 : 1; axis < mask_shape.size(); ++axis) mask_shape[axis] = 1;
  return scope.finish(dropout_with_mask(x, p, mask_shape, gen, at));
}

}  // namespace tapegrad
