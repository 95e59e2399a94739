// Containers: Sequential chains modules and plain functions; ModuleList holds modules by index.
#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "tapegrad/nn/module.hpp"

namespace tapegrad::nn {

// A function Tensor(const Tensor&) as a module (a lambda, a free function, a custom Function's apply).
class Functional : public Module {
 public:
  explicit Functional(std::function<Tensor(const Tensor&)> f) : f_(std::move(f)) {}
  Tensor forward(const Tensor& x) override { return f_(x); }

 private:
  std::function<Tensor(const Tensor&)> f_;
};

namespace detail {
template <class T>
concept module_value = std::derived_from<std::remove_cvref_t<T>, Module> && !std::is_lvalue_reference_v<T>;
template <class T>
concept tensor_function = !std::derived_from<std::remove_cvref_t<T>, Module> &&
                          std::is_invocable_r_v<Tensor, T, const Tensor&>;
}  // namespace detail

// Modules by index ("0", "1", ...), for layers built in a loop; forward is the user's.
class ModuleList : public Module {
 public:
  template <class M>
    requires detail::module_value<M>
  std::remove_cvref_t<M>& push_back(M&& module) {
    auto& added = register_module(std::to_string(size_), std::forward<M>(module));
    ++size_;
    return added;
  }
  std::size_t size() const { return size_; }
  // The i-th module; ValueError when out of range.
  Module& operator[](std::size_t index) const;

 private:
  std::size_t size_ = 0;
};

// Runs its children in order, each on the previous one's output; they are named "0", "1", ... as in
// PyTorch, so Sequential(Linear, ReLU, Linear) has the keys "0.weight", "0.bias", "2.weight", ...
//   nn::Sequential mlp(nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 10));
//   nn::Sequential head(nn::Flatten(), [](const Tensor& x) { return x * 2.0; });
class Sequential : public ModuleList {
 public:
  using ModuleList::push_back;
  Sequential() = default;
  template <class... Items>
    requires(sizeof...(Items) > 0 && ((detail::module_value<Items> || detail::tensor_function<Items>) && ...))
  explicit Sequential(Items&&... items) {
    (push_back(std::forward<Items>(items)), ...);
  }
  template <class F>
    requires detail::tensor_function<F>
  Functional& push_back(F&& f) {
    return push_back(Functional(std::function<Tensor(const Tensor&)>(std::forward<F>(f))));
  }
  Tensor forward(const Tensor& x) override;
};

}  // namespace tapegrad::nn
