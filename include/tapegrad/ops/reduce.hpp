// Reductions over a set of axes (empty: all axes); keepdim keeps reduced axes with size 1.
#pragma once

#include <optional>

#include "tapegrad/here.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad {

Tensor sum(const Tensor& x, Axes axes = {}, bool keepdim = false, Here at = Here::current());
Tensor mean(const Tensor& x, Axes axes = {}, bool keepdim = false, Here at = Here::current());
// Variance with Bessel's correction by default (correction = 1), like torch.var.
Tensor var(const Tensor& x, Axes axes = {}, std::int64_t correction = 1, bool keepdim = false,
           Here at = Here::current());
// Largest / smallest value; the gradient is shared evenly between tied maxima (like torch.amax).
Tensor max(const Tensor& x, Axes axes = {}, bool keepdim = false, Here at = Here::current());
Tensor min(const Tensor& x, Axes axes = {}, bool keepdim = false, Here at = Here::current());

// Values and their int64 indices along one axis, like torch.max(x, dim): auto [values, indices] = max(x, 1).
struct ValuesIndices {
  Tensor values;
  Tensor indices;
};
// The first largest / smallest value along `axis` and its index. The gradient of the values flows to
// that index only (as in torch.max(x, dim), unlike max(x, {axis}), which shares it among ties).
ValuesIndices max_with_indices(const Tensor& x, std::int64_t axis, bool keepdim = false, Here at = Here::current());
ValuesIndices min_with_indices(const Tensor& x, std::int64_t axis, bool keepdim = false, Here at = Here::current());
// max(x, 1) is max_with_indices; max(x, {1}) stays the reduction over a list of axes (a braced list
// cannot deduce the template argument, so the two never compete).
template <detail::axis_index Axis>
ValuesIndices max(const Tensor& x, Axis axis, bool keepdim = false, Here at = Here::current()) {
  return max_with_indices(x, static_cast<std::int64_t>(axis), keepdim, at);
}
template <detail::axis_index Axis>
ValuesIndices min(const Tensor& x, Axis axis, bool keepdim = false, Here at = Here::current()) {
  return min_with_indices(x, static_cast<std::int64_t>(axis), keepdim, at);
}
template <detail::axis_index Axis>
ValuesIndices Tensor::max(Axis axis, bool keepdim, Here at) const {
  return max_with_indices(*this, static_cast<std::int64_t>(axis), keepdim, at);
}
template <detail::axis_index Axis>
ValuesIndices Tensor::min(Axis axis, bool keepdim, Here at) const {
  return min_with_indices(*this, static_cast<std::int64_t>(axis), keepdim, at);
}

// Index (int64) of the first largest / smallest value along `axis`, or in the flattened tensor.
Tensor argmax(const Tensor& x, std::optional<std::int64_t> axis = std::nullopt, bool keepdim = false,
              Here at = Here::current());
Tensor argmin(const Tensor& x, std::optional<std::int64_t> axis = std::nullopt, bool keepdim = false,
              Here at = Here::current());
// ln Σ e^x, computed as m + ln Σ e^(x - m) so large logits do not overflow.
Tensor logsumexp(const Tensor& x, Axes axes = {}, bool keepdim = false, Here at = Here::current());
// e^x / Σ e^x along one axis (stable at any magnitude).
Tensor softmax(const Tensor& x, std::int64_t axis = -1, Here at = Here::current());
Tensor log_softmax(const Tensor& x, std::int64_t axis = -1, Here at = Here::current());

// One axis as a plain integer, as PyTorch users write it: sum(x, 1), mean(x, -1, true).
template <detail::axis_index Axis>
Tensor sum(const Tensor& x, Axis axis, bool keepdim = false, Here at = Here::current()) {
  return sum(x, Axes{static_cast<std::int64_t>(axis)}, keepdim, at);
}
template <detail::axis_index Axis>
Tensor mean(const Tensor& x, Axis axis, bool keepdim = false, Here at = Here::current()) {
  return mean(x, Axes{static_cast<std::int64_t>(axis)}, keepdim, at);
}
template <detail::axis_index Axis>
Tensor var(const Tensor& x, Axis axis, std::int64_t correction = 1, bool keepdim = false, Here at = Here::current()) {
  return var(x, Axes{static_cast<std::int64_t>(axis)}, correction, keepdim, at);
}
template <detail::axis_index Axis>
Tensor logsumexp(const Tensor& x, Axis axis, bool keepdim = false, Here at = Here::current()) {
  return logsumexp(x, Axes{static_cast<std::int64_t>(axis)}, keepdim, at);
}

}  // namespace tapegrad
