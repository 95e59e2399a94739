// Adagrad (optim/adagrad.hpp): PyTorch's _single_tensor_adagrad (dense gradients), fused into one pass
// per parameter.
#include "tapegrad/optim/adagrad.hpp"

#include <cmath>

#include "options.hpp"

namespace tapegrad::optim {

template <class F>
static void fields(AdagradOptions& o, F&& f) {
  f("lr", o.lr);
  f("lr_decay", o.lr_decay);
  f("weight_decay", o.weight_decay);
  f("initial_accumulator_value", o.initial_accumulator_value);
  f("eps", o.eps);
  f("maximize", o.maximize);
}

namespace {

template <class T>
void adagrad_update(const AdagradOptions& o, std::int64_t step, std::int64_t n, T* __restrict param,
                    const T* __restrict grad, T* __restrict sum) {
  const double clr = o.lr / (1 + static_cast<double>(step - 1) * o.lr_decay);
  const T neg_clr = static_cast<T>(-clr), eps = static_cast<T>(o.eps);
  const T weight_decay = static_cast<T>(o.weight_decay), sign = o.maximize ? T(-1) : T(1);
  // Note [Branch-free update loops] (options.hpp).
  detail::with_flags(
      [&](auto decay) {
        for (std::int64_t i = 0; i < n; ++i) {
          T g = sign * grad[i];
          if constexpr (decay) g = g + weight_decay * param[i];
          const T s = sum[i] + g * g;
          sum[i] = s;
          param[i] = param[i] + neg_clr * g / (std::sqrt(s) + eps);
        }
      },
      o.weight_decay != 0);
}

}  // namespace

Adagrad::Adagrad(std::vector<Tensor> params, AdagradOptions options, Here at) : Optimizer("Adagrad", {}) {
  add_first_group(std::move(params), detail::to_options(options), at);
}

void Adagrad::add_param_group(std::vector<Tensor> params, AdagradOptions options, Here at) {
  add_group(std::move(params), detail::to_options(options), at);
}

void Adagrad::check_options(std::string_view op, const Options& options, const Here& at) const {
  const auto o = detail::from_options<AdagradOptions>(options);
  detail::require_at_least(op, "lr", o.lr, 0.0, at);
  detail::require_at_least(op, "lr_decay", o.lr_decay, 0.0, at);
  detail::require_at_least(op, "weight_decay", o.weight_decay, 0.0, at);
  detail::require_at_least(op, "initial_accumulator_value", o.initial_accumulator_value, 0.0, at);
  detail::require_at_least(op, "eps", o.eps, 0.0, at);
}

std::vector<std::string> Adagrad::buffer_names(const Options&) const { return {"sum"}; }

void Adagrad::step_group(ParamGroup& group, std::size_t first) {
  const auto o = detail::from_options<AdagradOptions>(group.options);
  for_each_update(group, first, [&](Tensor& param, const Tensor& grad, ParamState& state) {
    state.step += 1;
    Tensor sum = buffer(state, "sum", param, o.initial_accumulator_value);
    tapegrad::detail::dispatch_floating(param.dtype(), [&]<class T>() {
      adagrad_update<T>(o, state.step, param.numel(), param.data<T>(), grad.data<T>(), sum.data<T>());
    });
  });
}

}  // namespace tapegrad::optim
