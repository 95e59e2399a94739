// Reductions over a set of axes (empty: all axes); keepdim keeps reduced axes with size 1.
#pragma once

#include <optional>
#include <source_location>

#include "tapegrad/tensor.hpp"

namespace tapegrad {

using Here = std::source_location;

Tensor sum(const Tensor& x, Axes axes = {}, bool keepdim = false, Here at = Here::current());
Tensor mean(const Tensor& x, Axes axes = {}, bool keepdim = false, Here at = Here::current());
// Variance with Bessel's correction by default (correction = 1), like torch.var.
Tensor var(const Tensor& x, Axes axes = {}, std::int64_t correction = 1, bool keepdim = false,
           Here at = Here::current());
// Largest / smallest value; the gradient is shared evenly between tied maxima (like torch.amax).
Tensor max(const Tensor& x, Axes axes = {}, bool keepdim = false, Here at = Here::current());
Tensor min(const Tensor& x, Axes axes = {}, bool keepdim = false, Here at = Here::current());
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

}  // namespace tapegrad
