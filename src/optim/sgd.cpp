// SGD (optim/sgd.hpp): PyTorch's _single_tensor_sgd, fused into one pass per parameter.
#include "tapegrad/optim/sgd.hpp"

#include "options.hpp"

namespace tapegrad::optim {

template <class F>
static void fields(SGDOptions& o, F&& f) {
  f("lr", o.lr);
  f("momentum", o.momentum);
  f("dampening", o.dampening);
  f("weight_decay", o.weight_decay);
  f("nesterov", o.nesterov);
  f("maximize", o.maximize);
}

namespace {

// PyTorch's order of operations, each scalar in T as its tensor ops compute them. `first`: the
// momentum buffer starts as a copy of g.
template <class T>
void sgd_update(const SGDOptions& o, std::int64_t n, T* __restrict param, const T* __restrict grad,
                T* __restrict buffer, bool first) {
  const T weight_decay = static_cast<T>(o.weight_decay), momentum = static_cast<T>(o.momentum);
  const T keep = static_cast<T>(1.0 - o.dampening), neg_lr = static_cast<T>(-o.lr);
  const T sign = o.maximize ? T(-1) : T(1);
  // Note [Branch-free update loops] (options.hpp).
  detail::with_flags(
      [&](auto decay, auto momentum_on, auto fresh, auto nesterov) {
        for (std::int64_t i = 0; i < n; ++i) {
          T g = sign * grad[i];
          if constexpr (decay) g = g + weight_decay * param[i];
          if constexpr (momentum_on) {
            T b;
            if constexpr (fresh)
              b = g;
            else
              b = buffer[i] * momentum + keep * g;
            buffer[i] = b;
            if constexpr (nesterov)
              g = g + momentum * b;
            else
              g = b;
          }
          param[i] = param[i] + neg_lr * g;
        }
      },
      o.weight_decay != 0, buffer != nullptr, first, o.nesterov);
}

}  // namespace

SGD::SGD(std::vector<Tensor> params, SGDOptions options, Here at) : Optimizer("SGD", {}) {
  add_first_group(std::move(params), detail::to_options(options), at);
}

void SGD::add_param_group(std::vector<Tensor> params, SGDOptions options, Here at) {
  add_group(std::move(params), detail::to_options(options), at);
}

void SGD::check_options(std::string_view op, const Options& options, const Here& at) const {
  const auto o = detail::from_options<SGDOptions>(options);
  detail::require_at_least(op, "lr", o.lr, 0.0, at);
  detail::require_at_least(op, "momentum", o.momentum, 0.0, at);
  detail::require_at_least(op, "weight_decay", o.weight_decay, 0.0, at);
  if (!std::isfinite(o.dampening))
    tapegrad::detail::fail<ValueError>(op, "option dampening must be finite",
                                       "dampening=" + detail::format_number(o.dampening), at);
  if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
    tapegrad::detail::fail<ValueError>(
        op, "Nesterov momentum requires a momentum and zero dampening",
        "momentum=" + detail::format_number(o.momentum) + ", dampening=" + detail::format_number(o.dampening), at);
}

std::vector<std::string> SGD::buffer_names(const Options& options) const {
  if (detail::from_options<SGDOptions>(options).momentum != 0) return {"momentum_buffer"};
  return {};
}

void SGD::step_group(ParamGroup& group, std::size_t first) {
  const auto o = detail::from_options<SGDOptions>(group.options);
  for_each_update(group, first, [&](Tensor& param, const Tensor& grad, ParamState& state) {
    state.step += 1;
    Tensor buffer;
    bool fresh = false;
    if (o.momentum != 0) {
      fresh = find_buffer(state, "momentum_buffer") == nullptr;
      buffer = Optimizer::buffer(state, "momentum_buffer", param);
    }
    tapegrad::detail::dispatch_floating(param.dtype(), [&]<class T>() {
      sgd_update<T>(o, param.numel(), param.data<T>(), grad.data<T>(), buffer.defined() ? buffer.data<T>() : nullptr,
                    fresh);
    });
  });
}

}  // namespace tapegrad::optim
