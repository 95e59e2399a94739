// RMSprop (optim/rmsprop.hpp): PyTorch's _single_tensor_rmsprop, fused into one pass per parameter.
#include "tapegrad/optim/rmsprop.hpp"

#include <cmath>

#include "options.hpp"

namespace tapegrad::optim {

template <class F>
static void fields(RMSpropOptions& o, F&& f) {
  f("lr", o.lr);
  f("alpha", o.alpha);
  f("eps", o.eps);
  f("weight_decay", o.weight_decay);
  f("momentum", o.momentum);
  f("centered", o.centered);
  f("maximize", o.maximize);
}

namespace {

template <class T>
void rmsprop_update(const RMSpropOptions& o, std::int64_t n, T* __restrict param, const T* __restrict grad,
                    T* __restrict square_avg, T* __restrict grad_avg, T* __restrict momentum_buffer) {
  const T alpha = static_cast<T>(o.alpha), keep = static_cast<T>(1 - o.alpha), eps = static_cast<T>(o.eps);
  const T weight_decay = static_cast<T>(o.weight_decay), momentum = static_cast<T>(o.momentum);
  const T neg_lr = static_cast<T>(-o.lr), sign = o.maximize ? T(-1) : T(1);
  // Note [Branch-free update loops] (options.hpp).
  detail::with_flags(
      [&](auto decay, auto centered, auto momentum_on) {
        for (std::int64_t i = 0; i < n; ++i) {
          T g = sign * grad[i];
          if constexpr (decay) g = g + weight_decay * param[i];
          const T s = square_avg[i] * alpha + keep * g * g;
          square_avg[i] = s;
          T avg;
          if constexpr (centered) {
            const T a = grad_avg[i] * alpha + keep * g;
            grad_avg[i] = a;
            avg = std::sqrt(s + T(-1) * a * a);
          } else {
            avg = std::sqrt(s);
          }
          avg = avg + eps;
          if constexpr (momentum_on) {
            const T b = momentum_buffer[i] * momentum + g / avg;
            momentum_buffer[i] = b;
            param[i] = param[i] + neg_lr * b;
          } else {
            param[i] = param[i] + neg_lr * g / avg;
          }
        }
      },
      o.weight_decay != 0, grad_avg != nullptr, momentum_buffer != nullptr);
}

}  // namespace

RMSprop::RMSprop(std::vector<Tensor> params, RMSpropOptions options, Here at) : Optimizer("RMSprop", {}) {
  add_first_group(std::move(params), detail::to_options(options), at);
}

void RMSprop::add_param_group(std::vector<Tensor> params, RMSpropOptions options, Here at) {
  add_group(std::move(params), detail::to_options(options), at);
}

void RMSprop::check_options(std::string_view op, const Options& options, const Here& at) const {
  const auto o = detail::from_options<RMSpropOptions>(options);
  detail::require_at_least(op, "lr", o.lr, 0.0, at);
  detail::require_at_least(op, "eps", o.eps, 0.0, at);
  detail::require_at_least(op, "momentum", o.momentum, 0.0, at);
  detail::require_at_least(op, "weight_decay", o.weight_decay, 0.0, at);
  detail::require_at_least(op, "alpha", o.alpha, 0.0, at);
}

std::vector<std::string> RMSprop::buffer_names(const Options& options) const {
  const auto o = detail::from_options<RMSpropOptions>(options);
  std::vector<std::string> names{"square_avg"};
  if (o.momentum > 0) names.push_back("momentum_buffer");
  if (o.centered) names.push_back("grad_avg");
  return names;
}

void RMSprop::step_group(ParamGroup& group, std::size_t first) {
  const auto o = detail::from_options<RMSpropOptions>(group.options);
  for_each_update(group, first, [&](Tensor& param, const Tensor& grad, ParamState& state) {
    state.step += 1;
    Tensor square_avg = buffer(state, "square_avg", param);
    Tensor momentum_buffer = o.momentum > 0 ? buffer(state, "momentum_buffer", param) : Tensor();
    Tensor grad_avg = o.centered ? buffer(state, "grad_avg", param) : Tensor();
    tapegrad::detail::dispatch_floating(param.dtype(), [&]<class T>() {
      rmsprop_update<T>(o, param.numel(), param.data<T>(), grad.data<T>(), square_avg.data<T>(),
                        grad_avg.defined() ? grad_avg.data<T>() : nullptr,
                        momentum_buffer.defined() ? momentum_buffer.data<T>() : nullptr);
    });
  });
}

}  // namespace tapegrad::optim
