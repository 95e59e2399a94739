// Gradient clipping (optim/clip.hpp), PyTorch's clip_grad_norm_ / clip_grad_value_.
#include "tapegrad/optim/clip.hpp"

#include <cmath>
#include <limits>

#include "options.hpp"
#include "tapegrad/tape.hpp"

namespace tapegrad::optim {

using tapegrad::detail::fail;

namespace {

// torch.norm(x, p) of values read by `at(i)`, i < n, accumulated in double.
template <class Get>
double vector_norm(std::int64_t n, double p, Get&& at) {
  const double inf = std::numeric_limits<double>::infinity();
  if (p == inf || p == -inf) {
    double extreme = n == 0 ? 0.0 : std::abs(at(0));
    for (std::int64_t i = 1; i < n; ++i) {
      const double a = std::abs(at(i));
      if (std::isnan(a) || (p == inf ? a > extreme : a < extreme)) extreme = a;
      if (std::isnan(extreme)) break;
    }
    return extreme;
  }
  double sum = 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double a = std::abs(at(i));
    if (p == 0)
      sum += a != 0 ? 1.0 : (std::isnan(a) ? a : 0.0);
    else if (p == 1)
      sum += a;
    else if (p == 2)
      sum += a * a;
    else
      sum += std::pow(a, p);
  }
  if (p == 0 || p == 1) return sum;
  return p == 2 ? std::sqrt(sum) : std::pow(sum, 1.0 / p);
}

// The parameters' gradients (contiguous: a strided one is copied), checking each parameter is defined.
std::vector<Tensor> gradients(std::string_view op, const std::vector<Tensor>& params, const Here& at) {
  std::vector<Tensor> grads;
  for (std::size_t k = 0; k < params.size(); ++k) {
    if (!params[k].defined())
      fail<ValueError>(op, "parameters must be defined tensors", "parameter " + std::to_string(k) + " is undefined",
                       at);
    Tensor g = params[k].grad(at);
    if (g.defined()) grads.push_back(g);
  }
  return grads;
}

}  // namespace

Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type, bool error_if_nonfinite,
                       Here at) {
  const char* op = "clip_grad_norm_";
  tapegrad::detail::OpScope scope(op, at);
  detail::require_at_least(op, "max_norm", max_norm, 0.0, at);
  if (std::isnan(norm_type)) fail<ValueError>(op, "norm_type must be a number", "NaN", at);
  NoGradGuard no_grad;
  std::vector<Tensor> grads = gradients(op, params, at);
  if (grads.empty()) return scalar(0.0, float32, at);
  std::vector<double> norms;
  for (const Tensor& g : grads) {
    const Tensor c = g.contiguous();
    tapegrad::detail::dispatch_floating(c.dtype(), [&]<class T>() {
      const T* x = c.data<T>();
      norms.push_back(vector_norm(c.numel(), norm_type, [&](std::int64_t i) { return static_cast<double>(x[i]); }));
    });
  }
  const double total = vector_norm(static_cast<std::int64_t>(norms.size()), norm_type,
                                   [&](std::int64_t i) { return norms[static_cast<std::size_t>(i)]; });
  const DType dtype = grads[0].dtype();
  if (error_if_nonfinite && !std::isfinite(total))
    fail<ValueError>(op, "the total norm of the gradients is non-finite, so it cannot be clipped",
                     "total norm " + detail::format_number(total) + " of order " + detail::format_number(norm_type),
                     at);
  // PyTorch computes the coefficient in the gradients' dtype: max_norm / (total + 1e-6), clamped to 1.
  const double coef = tapegrad::detail::dispatch_floating(dtype, [&]<class T>() {
    const T c = static_cast<T>(max_norm) / (static_cast<T>(total) + static_cast<T>(1e-6));
    return static_cast<double>(std::isnan(c) ? c : std::min(c, T(1)));
  });
  if (!(coef == 1.0))
    for (Tensor& g : grads) g.mul_(coef, at);
  return scalar(total, dtype, at);
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value, Here at) {
  const char* op = "clip_grad_value_";
  tapegrad::detail::OpScope scope(op, at);
  detail::require_at_least(op, "clip_value", clip_value, 0.0, at);
  NoGradGuard no_grad;
  for (Tensor& g : gradients(op, params, at)) {
    if (!g.is_contiguous()) {
      g.copy_(g.clamp(-clip_value, clip_value, at), at);
      continue;
    }
    tapegrad::detail::dispatch_floating(g.dtype(), [&]<class T>() {
      T* x = g.data<T>();
      const T high = static_cast<T>(clip_value), low = -high;
      for (std::int64_t i = 0, n = g.numel(); i < n; ++i) x[i] = x[i] < low ? low : (x[i] > high ? high : x[i]);
    });
    tapegrad::detail::bump_version(g);
  }
}

}  // namespace tapegrad::optim
