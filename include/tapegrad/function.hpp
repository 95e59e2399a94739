// Differentiable functions: the one mechanism behind every built-in op and every custom one.
//
// Lambda form: compute the value, then record it with its backward:
//
//   Tensor y = record("square", {x}, kernels_or_ops(x), {x}, [](Context& b) {
//     b.accumulate(0, 2.0 * b.saved(0) * b.gy());
//   });
//
// Class form, like torch::autograd::Function:
//
//   struct Square : Function<Square> {
//     static constexpr const char* name = "square";
//     static Tensor forward(Context& ctx, const Tensor& x) { ctx.save_for_backward({x}); return x * x; }
//     static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& gy) {
//       return {2.0 * ctx.saved()[0] * gy[0]};
//     }
//   };
//   Tensor y = Square::apply(x);
#pragma once

#include <any>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <source_location>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include "tapegrad/error.hpp"
#include "tapegrad/hooks.hpp"
#include "tapegrad/tape.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad {

namespace detail {
struct Entry;
struct BackwardRun;
}  // namespace detail

// Note [One context]: the context of one differentiable op, under one name for every form. In
// backward it holds the upstream gradients, what forward saved and where the input gradients go: a
// built-in op's or a lambda-form function's backward receives it. A class-form Function gets one in
// forward too (save_for_backward, set) and the same object back in backward, like PyTorch's ctx.
// Backward runs with recording off, unless it was asked to create_graph: then it records, and must
// compute its gradients with differentiable ops (create_graph() says which).
class Context {
 public:
  // A context outside any backward (a class-form Function's, made in its forward): the backward
  // accessors below raise GraphError on it.
  Context() = default;

  // --- backward
  // Gradient flowing into output `output` (zeros if that output received none).
  const Tensor& gy(std::size_t output = 0) const;
  // The k-th tensor saved at record time (checked: not modified in place since).
  const Tensor& saved(std::size_t k) const;
  std::size_t num_inputs() const;
  // Does input `input` need a gradient? Skipping the others saves work.
  bool needs_grad(std::size_t input) const;
  Shape input_shape(std::size_t input) const;
  DType input_dtype(std::size_t input) const;
  // Adds `g` into input `input`'s gradient (+=, so fan-out is right). A g of a broadcast shape is
  // summed back to the input's shape, and cast to its dtype.
  void accumulate(std::size_t input, const Tensor& g);
  // Adds g into one region of input `input`'s gradient: the view (shape, strides, offset) of a
  // contiguous tensor of the input's shape. The gradient buffer is made once and shared by every
  // region (narrow, select, split pieces), not a full-size tensor per piece.
  void accumulate_region(std::size_t input, const Tensor& g, const Shape& shape, const Strides& strides,
                         std::int64_t offset);
  // Is this backward being recorded (create_graph)? Then gradients must be made of ops.
  bool create_graph() const;
  std::string_view op() const;
  const std::source_location& where() const;

  // --- a class-form Function's forward, read back in its backward
  void save_for_backward(std::vector<Tensor> tensors) { saved_ = std::move(tensors); }
  const std::vector<Tensor>& saved() const { return saved_; }
  bool needs_input_grad(std::size_t input) const { return input < needs_.size() && needs_[input]; }
  // Non-tensor values forward wants to pass to backward.
  template <class T>
  void set(const std::string& key, T value) { values_[key] = std::move(value); }
  // The value set under `key`; ValueError naming Context::get and the key when there is none, or when
  // it was set with another type.
  template <class T>
  T get(const std::string& key, std::source_location at = std::source_location::current()) const {
    auto it = values_.find(key);
    if (it == values_.end())
      throw ValueError("Context::get", "no value was set under this key", "\"" + key + "\"", at);
    const T* value = std::any_cast<T>(&it->second);
    if (!value)
      throw ValueError("Context::get", "the type asked for must be the type the value was set with",
                       "\"" + key + "\"", at);
    return *value;
  }

 private:
  friend struct detail::BackwardRun;
  template <class D> friend struct Function;
  Context(detail::Entry& entry, detail::BackwardRun& run) : entry_(&entry), run_(&run) {}
  // GraphError when a backward accessor is called outside backward (a class-form forward).
  void require_backward(std::string_view what) const;
  void check_index(std::string_view what, std::size_t index, std::size_t count) const;
  // Backward: the entry being run and its run (null in a class-form forward).
  detail::Entry* entry_ = nullptr;
  detail::BackwardRun* run_ = nullptr;
  mutable std::vector<Tensor> revived_;  // saved outputs given back their place on the tape
  mutable std::vector<Tensor> zero_gy_;  // gy of outputs that received no gradient
  // A class-form Function's own state.
  std::vector<Tensor> saved_;
  std::vector<bool> needs_;
  std::map<std::string, std::any> values_;
};

using BackwardFn = std::function<void(Context&)>;

// Records one op on this thread's tape, when grad mode is on and an input requires grad, and marks the
// outputs as produced by it; otherwise returns the outputs untouched. The outputs must be freshly
// computed (e.g. under NoGradGuard): their own history, if any, is replaced.
std::vector<Tensor> record(std::string_view op, const std::vector<Tensor>& inputs, std::vector<Tensor> outputs,
                           std::vector<Tensor> saved, BackwardFn backward, std::source_location at);
Tensor record(std::string_view op, std::initializer_list<Tensor> inputs, Tensor output,
              std::initializer_list<Tensor> saved, BackwardFn backward,
              std::source_location at = std::source_location::current());

// Would an op on these inputs be recorded?
bool will_record(std::initializer_list<Tensor> inputs);
bool will_record(const std::vector<Tensor>& inputs);

// A value that remembers where the caller wrote it: the default argument of its converting
// constructor is evaluated at the caller's expression. Lets operators and variadic functions
// (which cannot take a defaulted trailing std::source_location) still name the user's line.
template <class T>
struct Located {
  Located(const T& v, std::source_location where = std::source_location::current()) : value(v), at(where) {}
  const T& value;
  std::source_location at;
};

// CRTP base for class-form custom functions. Derived provides
//   static Tensor forward(Context&, const Tensor& first, Args...);
//   static std::vector<Tensor> backward(Context&, const std::vector<Tensor>& gy);
// backward returns one gradient per Tensor argument of forward, in order (undefined = none);
// optionally `static constexpr const char* name`.
template <class Derived>
struct Function {
  template <class... Args>
  static Tensor apply(Located<Tensor> first, Args&&... rest) {
    auto ctx = std::make_shared<Context>();
    std::vector<Tensor> inputs{first.value};
    (collect(inputs, rest), ...);
    for (const auto& t : inputs) ctx->needs_.push_back(t.defined() && t.requires_grad());
    OpBoundary boundary(op_name(), inputs, first.at);  // Note [Op boundary]
    Tensor value;
    {
      NoGradGuard no_grad;
      value = Derived::forward(*ctx, first.value, std::forward<Args>(rest)...);
    }
    if (!will_record(inputs)) return boundary.finish(std::move(value));
    // The context must not hold the output itself: the entry would keep its own output alive and
    // the sweep could never free it. A detached alias shares the values and the version counter.
    // The entry is given the output itself, which record() keeps as such an alias too, knowing it
    // is the output (so a create_graph backward gets it back with its place on the tape).
    std::vector<Tensor> saved = ctx->saved_;
    for (Tensor& s : ctx->saved_)
      if (s.defined() && s.same(value)) s = value.detach();
    auto backward = [ctx](Context& b) {
      std::vector<Tensor> gy{b.gy()};
      // Under create_graph, a saved output must be the output itself (its place on the tape), not
      // the detached alias the context keeps.
      std::vector<Tensor> kept;
      if (b.create_graph()) {
        kept = ctx->saved_;
        for (std::size_t k = 0; k < ctx->saved_.size(); ++k) ctx->saved_[k] = b.saved(k);
      }
      // The class form's ctx is the backward context too, for the length of this call.
      ctx->entry_ = b.entry_;
      ctx->run_ = b.run_;
      std::vector<Tensor> gx = Derived::backward(*ctx, gy);
      ctx->entry_ = nullptr;
      ctx->run_ = nullptr;
      if (b.create_graph()) ctx->saved_ = std::move(kept);
      check_gradient_count(b, gx.size());
      for (std::size_t i = 0; i < gx.size(); ++i)
        if (gx[i].defined() && b.needs_grad(i)) b.accumulate(i, gx[i]);
    };
    return boundary.finish(
        record(op_name(), inputs, {value}, std::move(saved), std::move(backward), first.at)[0]);
  }

 private:
  template <class A>
  static void collect(std::vector<Tensor>& inputs, const A& arg) {
    if constexpr (std::is_same_v<std::decay_t<A>, Tensor>) inputs.push_back(arg);
  }
  static std::string_view op_name() {
    if constexpr (requires { Derived::name; }) return Derived::name;
    else return typeid(Derived).name();
  }
  static void check_gradient_count(Context& b, std::size_t count);
};

namespace detail {
[[noreturn]] void throw_gradient_count(std::string_view op, std::size_t expected, std::size_t got,
                                       const std::source_location& at);
}

template <class Derived>
void Function<Derived>::check_gradient_count(Context& b, std::size_t count) {
  if (count != b.num_inputs()) detail::throw_gradient_count(b.op(), b.num_inputs(), count, b.where());
}

}  // namespace tapegrad
