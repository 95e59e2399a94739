// Method forms of the ops (x.exp(), x.unsqueeze(1), ...): each forwards to the free function of the
// same name, passing the caller's line on.
#include "internal.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/index.hpp"
#include "tapegrad/ops/linalg.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shape.hpp"

namespace tapegrad {

namespace tg = tapegrad;

Tensor Tensor::add(const Tensor& other, Here at) const { return tg::add(*this, other, at); }
Tensor Tensor::sub(const Tensor& other, Here at) const { return tg::sub(*this, other, at); }
Tensor Tensor::mul(const Tensor& other, Here at) const { return tg::mul(*this, other, at); }
Tensor Tensor::div(const Tensor& other, Here at) const { return tg::div(*this, other, at); }
Tensor Tensor::neg(Here at) const { return tg::neg(*this, at); }
Tensor Tensor::exp(Here at) const { return tg::exp(*this, at); }
Tensor Tensor::log(Here at) const { return tg::log(*this, at); }
Tensor Tensor::sqrt(Here at) const { return tg::sqrt(*this, at); }
Tensor Tensor::abs(Here at) const { return tg::abs(*this, at); }
Tensor Tensor::relu(Here at) const { return tg::relu(*this, at); }
Tensor Tensor::sigmoid(Here at) const { return tg::sigmoid(*this, at); }
Tensor Tensor::tanh(Here at) const { return tg::tanh(*this, at); }
Tensor Tensor::pow(double exponent, Here at) const { return tg::pow(*this, exponent, at); }
Tensor Tensor::pow(const Tensor& exponent, Here at) const { return tg::pow(*this, exponent, at); }
Tensor Tensor::clamp(double low, double high, Here at) const { return tg::clamp(*this, low, high, at); }
Tensor Tensor::clamp_min(double low, Here at) const { return tg::clamp_min(*this, low, at); }
Tensor Tensor::clamp_max(double high, Here at) const { return tg::clamp_max(*this, high, at); }
Tensor Tensor::eq(const Tensor& other, Here at) const { return tg::eq(*this, other, at); }
Tensor Tensor::ne(const Tensor& other, Here at) const { return tg::ne(*this, other, at); }
Tensor Tensor::lt(const Tensor& other, Here at) const { return tg::lt(*this, other, at); }
Tensor Tensor::le(const Tensor& other, Here at) const { return tg::le(*this, other, at); }
Tensor Tensor::gt(const Tensor& other, Here at) const { return tg::gt(*this, other, at); }
Tensor Tensor::ge(const Tensor& other, Here at) const { return tg::ge(*this, other, at); }
Tensor Tensor::var(Axes axes, std::int64_t correction, bool keepdim, Here at) const {
  return tg::var(*this, std::move(axes), correction, keepdim, at);
}
Tensor Tensor::max(Axes axes, bool keepdim, Here at) const {
  return tg::max(*this, std::move(axes), keepdim, at);
}
Tensor Tensor::min(Axes axes, bool keepdim, Here at) const {
  return tg::min(*this, std::move(axes), keepdim, at);
}
Tensor Tensor::argmax(std::optional<std::int64_t> axis, bool keepdim, Here at) const {
  return tg::argmax(*this, axis, keepdim, at);
}
Tensor Tensor::argmin(std::optional<std::int64_t> axis, bool keepdim, Here at) const {
  return tg::argmin(*this, axis, keepdim, at);
}
Tensor Tensor::logsumexp(Axes axes, bool keepdim, Here at) const {
  return tg::logsumexp(*this, std::move(axes), keepdim, at);
}
Tensor Tensor::softmax(std::int64_t axis, Here at) const { return tg::softmax(*this, axis, at); }
Tensor Tensor::log_softmax(std::int64_t axis, Here at) const { return tg::log_softmax(*this, axis, at); }
Tensor Tensor::unsqueeze(std::int64_t axis, Here at) const { return tg::unsqueeze(*this, axis, at); }
Tensor Tensor::squeeze(Axes axes, Here at) const { return tg::squeeze(*this, std::move(axes), at); }
Tensor Tensor::flatten(std::int64_t start_axis, std::int64_t end_axis, Here at) const {
  return tg::flatten(*this, start_axis, end_axis, at);
}
Tensor Tensor::permute(Axes order, Here at) const { return tg::permute(*this, std::move(order), at); }
Tensor Tensor::t(Here at) const {
  detail::require_defined("t", *this, at);
  if (dim() > 2)
    detail::fail<ShapeError>("t", "the input must have at most 2 axes (use transpose or permute)",
                             "shape " + tg::to_string(shape()), at);
  return dim() < 2 ? *this : tg::transpose(*this, 0, 1, at);
}
Tensor Tensor::expand(Shape shape, Here at) const { return tg::expand(*this, std::move(shape), at); }
Tensor Tensor::narrow(std::int64_t axis, std::int64_t start, std::int64_t length, Here at) const {
  return tg::narrow(*this, axis, start, length, at);
}
Tensor Tensor::slice(std::int64_t axis, std::int64_t start, std::int64_t end, std::int64_t step,
                     Here at) const {
  return tg::slice(*this, axis, start, end, step, at);
}
Tensor Tensor::select(std::int64_t axis, std::int64_t index, Here at) const {
  return tg::select(*this, axis, index, at);
}
Tensor Tensor::index_select(std::int64_t axis, const Tensor& index, Here at) const {
  return tg::index_select(*this, axis, index, at);
}
Tensor Tensor::gather(std::int64_t axis, const Tensor& index, Here at) const {
  return tg::gather(*this, axis, index, at);
}

Tensor Tensor::sum(Axes axes, bool keepdim, std::source_location at) const {
  return tapegrad::sum(*this, std::move(axes), keepdim, at);
}
Tensor Tensor::mean(Axes axes, bool keepdim, std::source_location at) const {
  return tapegrad::mean(*this, std::move(axes), keepdim, at);
}
Tensor Tensor::reshape(Shape s, std::source_location at) const { return tapegrad::reshape(*this, std::move(s), at); }
Tensor Tensor::view(Shape s, std::source_location at) const { return tapegrad::view(*this, std::move(s), at); }
Tensor Tensor::transpose(std::int64_t a0, std::int64_t a1, std::source_location at) const {
  return tapegrad::transpose(*this, a0, a1, at);
}
Tensor Tensor::matmul(const Tensor& other, std::source_location at) const {
  return tapegrad::matmul(*this, other, at);
}

}  // namespace tapegrad
