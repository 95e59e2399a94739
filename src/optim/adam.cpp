// Adam and AdamW (optim/adam.hpp): PyTorch's _single_tensor_adam / _single_tensor_adamw, fused into one
// pass per parameter.
#include "tapegrad/optim/adam.hpp"

#include <algorithm>
#include <cmath>

#include "options.hpp"

namespace tapegrad::optim {

template <class O, class F>
static void adam_fields(O& o, F&& f) {
  f("lr", o.lr);
  f("beta1", o.beta1);
  f("beta2", o.beta2);
  f("eps", o.eps);
  f("weight_decay", o.weight_decay);
  f("amsgrad", o.amsgrad);
  f("maximize", o.maximize);
}
template <class F>
static void fields(AdamOptions& o, F&& f) {
  adam_fields(o, f);
}
template <class F>
static void fields(AdamWOptions& o, F&& f) {
  adam_fields(o, f);
}

namespace {

// One step of parameter i. The scalars are computed in double as PyTorch's Python does and used in T
// as its tensor ops do; the ops run in PyTorch's order.
template <class T>
void adam_update(const AdamOptions& o, bool decoupled, std::int64_t step, std::int64_t n, T* __restrict param,
                 const T* __restrict grad, T* __restrict exp_avg, T* __restrict exp_avg_sq, T* __restrict max_sq) {
  const double bias1 = 1 - std::pow(o.beta1, static_cast<double>(step));
  const double bias2 = 1 - std::pow(o.beta2, static_cast<double>(step));
  const T neg_step_size = static_cast<T>(-(o.lr / bias1)), bias2_sqrt = static_cast<T>(std::sqrt(bias2));
  const T beta1 = static_cast<T>(o.beta1), beta2 = static_cast<T>(o.beta2);
  const T keep1 = static_cast<T>(1 - o.beta1), keep2 = static_cast<T>(1 - o.beta2), eps = static_cast<T>(o.eps);
  const T weight_decay = static_cast<T>(o.weight_decay), shrink = static_cast<T>(1 - o.lr * o.weight_decay);
  const T sign = o.maximize ? T(-1) : T(1);
  const bool l2 = !decoupled && o.weight_decay != 0;
  // Note [Branch-free update loops] (options.hpp).
  detail::with_flags(
      [&](auto decay, auto l2_penalty, auto amsgrad) {
        for (std::int64_t i = 0; i < n; ++i) {
          const T g0 = sign * grad[i];
          T p = param[i];
          if constexpr (decay) p = p * shrink;
          T g = g0;
          if constexpr (l2_penalty) g = g0 + weight_decay * p;
          const T m = exp_avg[i] * beta1 + keep1 * g;
          const T v = exp_avg_sq[i] * beta2 + keep2 * g * g;
          exp_avg[i] = m;
          exp_avg_sq[i] = v;
          T second = v;
          if constexpr (amsgrad) {
            second = std::max(max_sq[i], v);
            max_sq[i] = second;
          }
          const T denom = std::sqrt(second) / bias2_sqrt + eps;
          param[i] = p + neg_step_size * m / denom;
        }
      },
      decoupled, l2, max_sq != nullptr);
}

}  // namespace

Adam::Adam(std::vector<Tensor> params, AdamOptions options, Here at)
    : Adam("Adam", std::move(params), detail::to_options(options), false, at) {}

Adam::Adam(std::string name, std::vector<Tensor> params, const Options& options, bool decoupled, const Here& at)
    : Optimizer(std::move(name), {}), decoupled_(decoupled) {
  add_first_group(std::move(params), options, at);
}

void Adam::add_param_group(std::vector<Tensor> params, AdamOptions options, Here at) {
  add_group(std::move(params), detail::to_options(options), at);
}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions options, Here at)
    : Adam("AdamW", std::move(params), detail::to_options(options), true, at) {}

void AdamW::add_param_group(std::vector<Tensor> params, AdamWOptions options, Here at) {
  add_group(std::move(params), detail::to_options(options), at);
}

void Adam::check_options(std::string_view op, const Options& options, const Here& at) const {
  const auto o = detail::from_options<AdamOptions>(options);
  detail::require_at_least(op, "lr", o.lr, 0.0, at);
  detail::require_at_least(op, "eps", o.eps, 0.0, at);
  detail::require_unit(op, "beta1", o.beta1, at);
  detail::require_unit(op, "beta2", o.beta2, at);
  detail::require_at_least(op, "weight_decay", o.weight_decay, 0.0, at);
}

std::vector<std::string> Adam::buffer_names(const Options& options) const {
  if (detail::from_options<AdamOptions>(options).amsgrad) return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  return {"exp_avg", "exp_avg_sq"};
}

void Adam::step_group(ParamGroup& group, std::size_t first) {
  const auto o = detail::from_options<AdamOptions>(group.options);
  for_each_update(group, first, [&](Tensor& param, const Tensor& grad, ParamState& state) {
    state.step += 1;
    Tensor exp_avg = buffer(state, "exp_avg", param);
    Tensor exp_avg_sq = buffer(state, "exp_avg_sq", param);
    Tensor max_sq = o.amsgrad ? buffer(state, "max_exp_avg_sq", param) : Tensor();
    tapegrad::detail::dispatch_floating(param.dtype(), [&]<class T>() {
      adam_update<T>(o, decoupled_, state.step, param.numel(), param.data<T>(), grad.data<T>(), exp_avg.data<T>(),
                     exp_avg_sq.data<T>(), max_sq.defined() ? max_sq.data<T>() : nullptr);
    });
  });
}

}  // namespace tapegrad::optim
