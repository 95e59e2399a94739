// nn::Module: registration, walking, state_dict, modes, hooks (include/tapegrad/nn/module.hpp).
//
// Note [Module calls]
// operator() opens a Module::Call, which makes the module's name current (ModuleNameGuard, hooks.hpp)
// and remembers the user's line that called it. So every op the layer runs carries the module's name to
// the op boundary and onto its tape entry (a profiler can say `encoder.fc1`, forward and backward), and
// a layer's own checks and ops name the user's line through caller(). Backward hooks ride on two
// identity entries recorded around forward: the one on the output sees grad_output first, the one on
// the input then calls the hooks with both (or the output's calls them when the input needs no grad).
#include "tapegrad/nn/module.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <ostream>
#include <set>
#include <sstream>

#include "tapegrad/error.hpp"
#include "tapegrad/function.hpp"
#include "tapegrad/hooks.hpp"
#include "tapegrad/tape.hpp"

namespace tapegrad::nn {

namespace {

template <class E>
[[noreturn]] void fail(std::string_view op, std::string_view rule, const std::string& observed, Here at) {
  throw E(op, rule, observed, at);
}

thread_local const Here* current_caller = nullptr;

std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + ("'" + name + "'");
  return out;
}

}  // namespace

struct Module::Hooks {
  std::uint64_t next_id = 0;
  std::vector<std::pair<std::uint64_t, ForwardPreHook>> pre;
  std::vector<std::pair<std::uint64_t, ForwardHook>> forward;
  std::vector<std::pair<std::uint64_t, BackwardHook>> backward;
};

struct Module::Call::State {
  ModuleNameGuard name;
  const Here* previous_caller;
  Here at;
  State(const std::string& name, Here at) : name(name), previous_caller(current_caller), at(at) {}
};

Module::Call::Call(const Module& module, Here at)
    : state_(std::make_unique<State>(module.path_.empty() ? module.type_name() : module.path_, at)) {
  current_caller = &state_->at;
}
Module::Call::~Call() { current_caller = state_->previous_caller; }

Module::~Module() = default;
Module::Module(Module&&) noexcept = default;

Here Module::caller() const { return current_caller ? *current_caller : Here(); }

Tensor Module::forward(const Tensor&) {
  fail<ValueError>(type_name(), "this module has no single-tensor forward; call it with its own arguments",
                   "forward(x)", caller());
}

Tensor Module::operator()(const Tensor& x, Here at) {
  Call call(*this, at);
  std::shared_ptr<Hooks> hooks = hooks_;
  if (hooks)
    for (auto& [id, hook] : hooks->pre) hook(*this, x);
  const bool backward_hooks = hooks && !hooks->backward.empty() && is_grad_enabled();
  auto grad_output = std::make_shared<Tensor>();
  Tensor input = x;
  const bool input_hooked = backward_hooks && x.defined() && x.requires_grad();
  auto run_hooks = [this, hooks, grad_output](const Tensor& grad_input) {
    for (auto& [id, hook] : hooks->backward) hook(*this, grad_input, *grad_output);
  };
  if (input_hooked)
    input = record("backward_hook", {x}, x.detach(), {}, [run_hooks](Context& b) {
      run_hooks(b.gy());
      b.accumulate(0, b.gy());
    }, at);
  Tensor y = forward(input);
  if (hooks)
    for (auto& [id, hook] : hooks->forward) hook(*this, x, y);
  if (backward_hooks && y.defined() && y.requires_grad())
    y = record("backward_hook", {y}, y.detach(), {}, [run_hooks, grad_output, input_hooked](Context& b) {
      *grad_output = b.gy();
      if (!input_hooked) run_hooks(Tensor());
      b.accumulate(0, b.gy());
    }, at);
  return y;
}

// ------------------------------------------------------------------ registration

void Module::check_new_name(const char* op, const std::string& name, Here at) const {
  if (name.empty() || name.find('.') != std::string::npos)
    fail<ValueError>(op, "a name must be non-empty and contain no '.'", "'" + name + "'", at);
  auto taken = [&](const auto& list) {
    return std::any_of(list.begin(), list.end(), [&](const auto& item) {
      if constexpr (requires { item.name; })
        return item.name == name;
      else
        return item.first == name;
    });
  };
  if (taken(parameters_) || taken(buffers_) || taken(children_))
    fail<ValueError>(op, "names must be unique within a module", "'" + name + "' registered twice", at);
}

Tensor& Module::register_parameter(std::string name, Tensor tensor, bool requires_grad, Here at) {
  check_new_name("register_parameter", name, at);
  if (tensor.defined()) {
    if (!is_floating(tensor.dtype()))
      fail<DTypeError>("register_parameter", "a parameter must be floating",
                       "'" + name + "' of " + std::string(dtype_name(tensor.dtype())), at);
    if (!tensor.is_leaf())
      fail<ValueError>("register_parameter", "a parameter must be a leaf (detach it first)", "'" + name + "'", at);
    tensor.requires_grad_(requires_grad);
  }
  parameters_.push_back({std::move(name), std::move(tensor), true});
  return parameters_.back().tensor;
}

Tensor& Module::register_buffer(std::string name, Tensor tensor, bool persistent, Here at) {
  check_new_name("register_buffer", name, at);
  buffers_.push_back({std::move(name), std::move(tensor), persistent});
  return buffers_.back().tensor;
}

void Module::adopt(std::string name, std::unique_ptr<Module> child, Here at) {
  check_new_name("register_module", name, at);
  if (!child) fail<ValueError>("register_module", "the module must not be null", "'" + name + "'", at);
  child->set_path(join(path_, name));
  children_.emplace_back(std::move(name), std::move(child));
}

Module& Module::register_module(std::string name, std::unique_ptr<Module> module, Here at) {
  Module* child = module.get();
  adopt(std::move(name), std::move(module), at);
  return *child;
}

void Module::set_path(const std::string& path) {
  path_ = path;
  for (auto& [name, child] : children_) child->set_path(join(path_, name));
}

// ------------------------------------------------------------------ walking

template <class F>
void Module::walk(const std::string& prefix, bool recurse, F&& visit) const {
  visit(prefix, *this);
  if (!recurse) return;
  for (const auto& [name, child] : children_) child->walk(join(prefix, name), true, visit);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  std::set<const void*> seen;  // a parameter shared by two modules (tied weights) is listed once
  walk("", recurse, [&](const std::string& prefix, const Module& m) {
    for (const Slot& p : m.parameters_)
      if (p.tensor.defined() && seen.insert(p.tensor.impl_ptr().get()).second)
        out.emplace_back(join(prefix, p.name), p.tensor);
  });
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, p] : named_parameters(recurse)) out.push_back(p);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  walk("", recurse, [&](const std::string& prefix, const Module& m) {
    for (const Slot& b : m.buffers_)
      if (b.tensor.defined()) out.emplace_back(join(prefix, b.name), b.tensor);
  });
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, b] : named_buffers(recurse)) out.push_back(b);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_children() const {
  std::vector<std::pair<std::string, Module*>> out;
  for (const auto& [name, child] : children_) out.emplace_back(name, child.get());
  return out;
}

std::vector<Module*> Module::children() const {
  std::vector<Module*> out;
  for (const auto& [name, child] : children_) out.push_back(child.get());
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out;
  walk("", true, [&](const std::string& prefix, const Module& m) { out.emplace_back(prefix, const_cast<Module*>(&m)); });
  return out;
}

Module& Module::child(const std::string& path, Here at) const {
  const Module* m = this;
  std::size_t begin = 0;
  while (begin <= path.size()) {
    const std::size_t end = std::min(path.find('.', begin), path.size());
    const std::string name = path.substr(begin, end - begin);
    auto it = std::find_if(m->children_.begin(), m->children_.end(), [&](const auto& c) { return c.first == name; });
    if (it == m->children_.end())
      fail<ValueError>("Module::child", "the path must name a registered module", "no '" + path + "'", at);
    m = it->second.get();
    begin = end + 1;
  }
  return const_cast<Module&>(*m);
}

// ------------------------------------------------------------------ state

StateDict Module::state_dict() const {
  StateDict out;
  walk("", true, [&](const std::string& prefix, const Module& m) {
    for (const Slot& p : m.parameters_)
      if (p.tensor.defined()) out.insert(join(prefix, p.name), p.tensor);
    for (const Slot& b : m.buffers_)
      if (b.tensor.defined() && b.persistent) out.insert(join(prefix, b.name), b.tensor);
  });
  return out;
}

void Module::load_state_dict(const StateDict& state, bool strict, Here at) {
  const StateDict own = state_dict();
  std::vector<std::string> missing, unexpected, wrong_shape, wrong_dtype;
  for (const auto& [name, mine] : own) {
    const Tensor* given = state.find(name);
    if (!given)
      missing.push_back(name);
    else if (given->shape() != mine.shape())
      wrong_shape.push_back(name + ": " + to_string(given->shape()) + " for " + to_string(mine.shape()));
    else if (given->dtype() != mine.dtype())
      wrong_dtype.push_back(name + ": " + std::string(dtype_name(given->dtype())) + " for " + std::string(dtype_name(mine.dtype())));
  }
  for (const auto& [name, given] : state)
    if (!own.contains(name)) unexpected.push_back(name);
  const std::string op = "load_state_dict";
  if (!missing.empty() || (strict && !unexpected.empty())) {
    std::string observed;
    if (!missing.empty()) observed = "missing " + quoted_list(missing);
    if (strict && !unexpected.empty()) observed += (observed.empty() ? "" : "; ") + ("unexpected " + quoted_list(unexpected));
    fail<ValueError>(op, "the keys must match the module's", observed, at);
  }
  auto list = [](const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : "; ") + item;
    return out;
  };
  if (!wrong_shape.empty()) fail<ShapeError>(op, "each tensor must have the module's shape", list(wrong_shape), at);
  if (!wrong_dtype.empty()) fail<DTypeError>(op, "each tensor must have the module's dtype", list(wrong_dtype), at);
  NoGradGuard no_grad;
  for (const auto& [name, mine] : own) {
    Tensor target = mine;
    target.copy_(state.at(name, at), at);
  }
}

Substitution::Substitution(Module& module, const StateDict& tensors, Here at) {
  std::map<std::string, Tensor*> slots;
  module.walk("", true, [&](const std::string& prefix, const Module& m) {
    auto& owner = const_cast<Module&>(m);
    for (auto& p : owner.parameters_) slots.emplace(join(prefix, p.name), &p.tensor);
    for (auto& b : owner.buffers_) slots.emplace(join(prefix, b.name), &b.tensor);
  });
  for (const auto& [name, given] : tensors) {
    auto it = slots.find(name);
    if (it == slots.end())
      fail<ValueError>("functional_call", "each name must be a parameter or buffer of the module", "'" + name + "'", at);
    if (it->second->defined() && given.shape() != it->second->shape())
      fail<ShapeError>("functional_call", "each tensor must have the shape of the one it stands in for",
                       name + ": " + to_string(given.shape()) + " for " + to_string(it->second->shape()), at);
  }
  for (const auto& [name, given] : tensors) {
    Tensor* slot = slots[name];
    swapped_.emplace_back(slot, std::exchange(*slot, given));
  }
}

Substitution::~Substitution() {
  for (auto it = swapped_.rbegin(); it != swapped_.rend(); ++it) *it->first = std::move(it->second);
}

// ------------------------------------------------------------------ modes

Module& Module::train(bool on) {
  walk("", true, [&](const std::string&, const Module& m) { const_cast<Module&>(m).training_ = on; });
  return *this;
}

void Module::zero_grad(bool set_to_none) {
  for (Tensor& p : parameters()) p.zero_grad(set_to_none);
}

Module& Module::to(DType dtype, Here at) {
  if (!is_floating(dtype))
    fail<DTypeError>("Module::to", "modules convert to a floating dtype", std::string(dtype_name(dtype)), at);
  NoGradGuard no_grad;
  auto convert = [&](const Tensor& t) {
    if (!t.defined() || !is_floating(t.dtype()) || t.dtype() == dtype) return;
    detail::TensorImpl& impl = t.impl();
    Tensor converted = t.detach().to(dtype, at);
    impl.storage = converted.impl().storage;
    impl.offset = converted.impl().offset;
    impl.strides = converted.impl().strides;
    impl.dtype = dtype;
    if (impl.grad) impl.grad = Tensor(impl.grad).detach().to(dtype, at).impl_ptr();
  };
  walk("", true, [&](const std::string&, const Module& m) {
    for (const Slot& p : m.parameters_) convert(p.tensor);
    for (const Slot& b : m.buffers_) convert(b.tensor);
  });
  return *this;
}

// ------------------------------------------------------------------ hooks

template <class List, class Hook>
HookHandle Module::add_hook(List Hooks::*list, Hook hook) {
  if (!hooks_) hooks_ = std::make_shared<Hooks>();
  const std::uint64_t id = hooks_->next_id++;
  (hooks_.get()->*list).emplace_back(id, std::move(hook));
  std::weak_ptr<Hooks> weak = hooks_;
  return HookHandle([weak, list, id] {
    if (auto alive = weak.lock()) std::erase_if(alive.get()->*list, [&](const auto& item) { return item.first == id; });
  });
}

HookHandle Module::register_forward_pre_hook(ForwardPreHook hook) { return add_hook(&Hooks::pre, std::move(hook)); }
HookHandle Module::register_forward_hook(ForwardHook hook) { return add_hook(&Hooks::forward, std::move(hook)); }
HookHandle Module::register_full_backward_hook(BackwardHook hook) { return add_hook(&Hooks::backward, std::move(hook)); }

// ------------------------------------------------------------------ printing

std::string Module::type_name() const {
  const char* mangled = typeid(*this).name();
  int status = 0;
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = status == 0 && demangled ? demangled : mangled;
  std::free(demangled);
  // The class name without its namespaces ("tapegrad::nn::Linear" -> "Linear"), template arguments kept.
  const std::size_t args = name.find('<');
  const std::size_t colon = name.rfind("::", args == std::string::npos ? std::string::npos : args);
  return colon == std::string::npos ? name : name.substr(colon + 2);
}

namespace {
void print_tree(std::ostream& out, const Module& m, int indent) {
  out << m.type_name() << "(";
  const auto children = m.named_children();
  const std::string extra = m.extra_repr();
  if (children.empty()) {
    out << extra << ")";
    return;
  }
  const std::string pad(static_cast<std::size_t>(indent + 2), ' ');
  out << "\n";
  if (!extra.empty()) out << pad << extra << "\n";
  for (const auto& [name, child] : children) {
    out << pad << "(" << name << "): ";
    print_tree(out, *child, indent + 2);
    out << "\n";
  }
  out << std::string(static_cast<std::size_t>(indent), ' ') << ")";
}
}  // namespace

std::ostream& operator<<(std::ostream& out, const Module& module) {
  print_tree(out, module, 0);
  return out;
}

std::string summary(const Module& module) {
  std::ostringstream out;
  std::int64_t total = 0, trainable = 0, buffer_elements = 0;
  out << module.type_name() << "\n";
  for (const auto& [name, p] : module.named_parameters()) {
    out << "  " << name << "  " << to_string(p.shape()) << "  " << p.numel() << (p.requires_grad() ? "" : "  (frozen)")
        << "\n";
    total += p.numel();
    if (p.requires_grad()) trainable += p.numel();
  }
  for (const auto& [name, b] : module.named_buffers()) {
    out << "  " << name << "  " << to_string(b.shape()) << "  (buffer, " << std::string(dtype_name(b.dtype())) << ")\n";
    buffer_elements += b.numel();
  }
  out << "parameters: " << total << " (trainable " << trainable << "), buffer elements: " << buffer_elements << "\n";
  return out.str();
}

}  // namespace tapegrad::nn
