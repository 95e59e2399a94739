// Module: a model is a Module of Modules, as in PyTorch. A module registers its parameters, buffers and
// children by name; their dotted paths are PyTorch's state_dict keys ("encoder.fc1.weight"), so weights
// move between tapegrad and PyTorch.
//
//   struct Net : nn::Module {
//     nn::Linear& fc1 = register_module("fc1", nn::Linear(784, 256));
//     nn::Linear& fc2 = register_module("fc2", nn::Linear(256, 10));
//     Tensor forward(const Tensor& x) override { return fc2(relu(fc1(x))); }
//   };
//   Net net;
//   Tensor logits = net(images);                 // hooks, module names, then forward
//   for (auto& [name, p] : net.named_parameters()) ...
//
// A module is not copyable. It may be moved until it is registered in a parent (register_module moves
// it to the heap, where it stays); children are owned by their parent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tapegrad/dtype.hpp"
#include "tapegrad/here.hpp"
#include "tapegrad/state_dict.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad::nn {

class Module;

// Called before forward with the input, and after it with input and output (PyTorch's forward pre-hooks
// and forward hooks). A forward hook may replace the output by assigning to it.
using ForwardPreHook = std::function<void(Module& module, const Tensor& input)>;
using ForwardHook = std::function<void(Module& module, const Tensor& input, Tensor& output)>;
// Called during backward with the gradient with respect to the module's input (undefined when the input
// does not require grad) and to its output, like register_full_backward_hook.
using BackwardHook = std::function<void(Module& module, const Tensor& grad_input, const Tensor& grad_output)>;

// Removes the hook it was returned for (PyTorch's RemovableHandle); removing twice does nothing.
class HookHandle {
 public:
  HookHandle() = default;
  explicit HookHandle(std::function<void()> remove) : remove_(std::move(remove)) {}
  void remove() {
    if (remove_) std::exchange(remove_, nullptr)();
  }

 private:
  std::function<void()> remove_;
};

class Module {
 public:
  Module() = default;
  virtual ~Module();
  Module(Module&&) noexcept;
  Module& operator=(Module&&) = delete;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The computation of a module that maps one tensor to one tensor. The default raises ValueError:
  // modules of other signatures (LSTM, losses) define their own call operators.
  virtual Tensor forward(const Tensor& x);
  // Runs forward pre-hooks, forward (with this module's name current, so ops, tape entries, errors and
  // profiles name it), forward hooks, and wires backward hooks.
  Tensor operator()(const Tensor& x, Here at = Here::current());

  // --- registration (names are unique among a module's parameters, buffers and children, and have no '.')
  // Returns the registered tensor, which stays where it is for the module's life: layers keep it as a
  // reference member, `Tensor& weight = register_parameter("weight", ...)`, so that functional_call
  // can stand other tensors in for it. An undefined tensor registers "no parameter" (a Linear without bias): skipped by parameters() and
  // state_dict(). A defined one must be floating; it becomes a leaf that requires grad (or not).
  Tensor& register_parameter(std::string name, Tensor tensor, bool requires_grad = true, Here at = Here::current());
  // Buffers are state that is not trained (running statistics). Non-persistent ones stay out of
  // state_dict().
  Tensor& register_buffer(std::string name, Tensor tensor, bool persistent = true, Here at = Here::current());
  // Moves `module` into this one as a child and returns it where it now lives.
  template <class M>
    requires std::derived_from<std::remove_cvref_t<M>, Module> && (!std::is_lvalue_reference_v<M>)
  std::remove_cvref_t<M>& register_module(std::string name, M&& module, Here at = Here::current()) {
    auto owned = std::make_unique<std::remove_cvref_t<M>>(std::move(module));
    auto& child = *owned;
    adopt(std::move(name), std::move(owned), at);
    return child;
  }
  Module& register_module(std::string name, std::unique_ptr<Module> module, Here at = Here::current());

  // --- walking (registration order; recurse = children too, depth first, as PyTorch)
  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  std::vector<Module*> children() const;
  std::vector<std::pair<std::string, Module*>> named_children() const;
  // This module and all below it, with their paths relative to this one ("" for itself).
  std::vector<std::pair<std::string, Module*>> named_modules();
  // A child by its path ("encoder.fc1"); ValueError when there is none.
  Module& child(const std::string& path, Here at = Here::current()) const;

  // --- state
  // Parameters and persistent buffers by path: this module's own first, then each child's.
  StateDict state_dict() const;
  // Copies the values of `state` into this module's tensors (no tensor is replaced, so references to
  // parameters stay valid). Everything is checked before anything is copied: ValueError for missing
  // keys (always) and unexpected keys (when strict), ShapeError for a wrong shape, DTypeError for a
  // wrong dtype; the message names every key at fault.
  void load_state_dict(const StateDict& state, bool strict = true, Here at = Here::current());

  // Train / eval mode, for this module and all below (Dropout, BatchNorm read it).
  Module& train(bool on = true);
  Module& eval() { return train(false); }
  bool is_training() const { return training_; }
  // PyTorch's zero_grad for every parameter below.
  void zero_grad(bool set_to_none = true);
  // Converts every floating parameter and buffer (and gradient) to `dtype` in place: the tensors stay
  // the same objects, so layers' members and optimisers see the change. DTypeError for int64.
  Module& to(DType dtype, Here at = Here::current());

  // --- hooks
  HookHandle register_forward_pre_hook(ForwardPreHook hook);
  HookHandle register_forward_hook(ForwardHook hook);
  HookHandle register_full_backward_hook(BackwardHook hook);

  // --- printing
  // "Linear", from the C++ type (override to name it otherwise).
  virtual std::string type_name() const;
  // The options shown inside the parentheses of the printed tree: "in_features=784, out_features=256".
  virtual std::string extra_repr() const { return ""; }
  // The module's path from the root it is registered in ("encoder.fc1"; "" for a root).
  const std::string& path() const { return path_; }

 protected:
  // Inside forward (or a layer's own call operator): the user's line that called the module, for errors
  // and for the ops the layer runs, so they name the user's code, not the layer's.
  Here caller() const;

  // A module call: makes the module's name current and its caller known while alive. Layers with their
  // own call operators (LSTM) open one; operator() opens one around forward.
  class Call {
   public:
    Call(const Module& module, Here at);
    ~Call();
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;

   private:
    struct State;
    std::unique_ptr<State> state_;
  };

 private:
  struct Hooks;
  struct Slot {
    std::string name;
    Tensor tensor;
    bool persistent = true;
  };
  template <class List, class Hook>
  HookHandle add_hook(List Hooks::*list, Hook hook);
  void adopt(std::string name, std::unique_ptr<Module> child, Here at);
  void check_new_name(const char* op, const std::string& name, Here at) const;
  void set_path(const std::string& path);
  template <class F>
  void walk(const std::string& prefix, bool recurse, F&& visit) const;

  friend class Substitution;
  // Deques: a slot never moves, so the references register_* return stay valid.
  std::deque<Slot> parameters_;
  std::deque<Slot> buffers_;
  std::vector<std::pair<std::string, std::unique_ptr<Module>>> children_;
  std::shared_ptr<Hooks> hooks_;  // shared with the handles, which hold it weakly
  std::string path_;
  bool training_ = true;
};

// Stands the given tensors in for the module's parameters and buffers of the same names while alive,
// and puts the module's own back after (torch.func.functional_call). Layers read their tensors through
// the registered slots, so ops record the given tensors and gradients flow to them, not to the
// module's. ValueError for a name the module does not have, ShapeError for a shape that differs.
class Substitution {
 public:
  Substitution(Module& module, const StateDict& tensors, Here at = Here::current());
  ~Substitution();
  Substitution(const Substitution&) = delete;
  Substitution& operator=(const Substitution&) = delete;

 private:
  std::vector<std::pair<Tensor*, Tensor>> swapped_;
};

// Calls f() under a Substitution: functional_call(net, {{"fc1.weight", w}}, [&] { return net(x); }).
template <class F>
decltype(auto) functional_call(Module& module, const StateDict& tensors, F&& f, Here at = Here::current()) {
  Substitution substitution(module, tensors, at);
  return std::forward<F>(f)();
}

// The tree PyTorch prints: "Net(\n  (fc1): Linear(in_features=784, ...)\n)".
std::ostream& operator<<(std::ostream& out, const Module& module);
// The tree with each parameter's shape and count, and the total count of parameters (trainable and
// not) and of buffer elements.
std::string summary(const Module& module);

}  // namespace tapegrad::nn
