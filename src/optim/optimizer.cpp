// The optimisers' common base: parameter groups, their options, the step loop and the state_dict
// (Note [Optimizer state_dict] in optim/optimizer.hpp).
#include "tapegrad/optim/optimizer.hpp"

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#include <set>

#include "internal.hpp"
#include "options.hpp"
#include "tapegrad/tape.hpp"

namespace tapegrad::optim {

using tapegrad::detail::fail;

namespace {

// Two elements at one address (an expanded view): an in-place update of it is ill-defined.
bool has_internal_overlap(const Tensor& x) {
  for (std::size_t i = 0; i < x.shape().size(); ++i)
    if (x.shape()[i] > 1 && x.strides()[i] == 0) return true;
  return false;
}

double* find_option(Options& options, std::string_view name) {
  for (auto& [key, value] : options)
    if (key == name) return &value;
  return nullptr;
}

std::string index_key(std::string_view prefix, std::size_t i, std::string_view name) {
  return std::string(prefix) + "." + std::to_string(i) + "." + std::string(name);
}

double option_value(const Options& options, std::string_view name, std::string_view op, const Here& at) {
  for (const auto& [key, value] : options)
    if (key == name) return value;
  fail<ValueError>(op, "the optimiser has no such option", "\"" + std::string(name) + "\"", at);
}

}  // namespace

Optimizer::Optimizer(std::string name, Options defaults)
    : name_(std::move(name)), step_name_(name_ + "::step"), defaults_(std::move(defaults)) {}

Optimizer::~Optimizer() = default;

void Optimizer::add_first_group(std::vector<Tensor> params, const Options& options, const Here& at) {
  if (params.empty()) fail<ValueError>(name_, "the optimiser got an empty parameter list", "0 parameters", at);
  check_options(name_, options, at);
  defaults_ = options;
  add_group(std::move(params), options, at);
}

void Optimizer::add_param_group(std::vector<Tensor> params, Here at) { add_group(std::move(params), defaults_, at); }

void Optimizer::add_group(std::vector<Tensor> params, Options options, const Here& at) {
  const std::string op = groups_.empty() ? name_ : name_ + "::add_param_group";
  check_options(op, options, at);
  for (std::size_t k = 0; k < params.size(); ++k) {
    const Tensor& p = params[k];
    const std::string which = "parameter " + std::to_string(k);
    if (!p.defined()) fail<ValueError>(op, "parameters must be defined tensors", which + " is undefined", at);
    if (!is_floating(p.dtype()))
      fail<DTypeError>(op, "parameters must be floating", which + " is " + std::string(dtype_name(p.dtype())), at);
    if (!p.is_leaf())
      fail<ValueError>(op, "can't optimize a non-leaf Tensor", which + " was made by a recorded op", at);
    if (has_internal_overlap(p))
      fail<ValueError>(op, "a parameter's elements must not share memory (clone() an expanded tensor first)",
                       which + " has shape " + to_string(p.shape()) + " and strides " + to_string(p.strides()), at);
    for (std::size_t j = 0; j < k; ++j)
      if (params[j].same(p))
        fail<ValueError>(op, "a parameter group must not list a parameter twice",
                         "parameters " + std::to_string(j) + " and " + std::to_string(k), at);
    for (std::size_t g = 0; g < groups_.size(); ++g)
      for (const Tensor& q : groups_[g].params)
        if (q.same(p))
          fail<ValueError>(op, "some parameters appear in more than one parameter group",
                           which + " is in group " + std::to_string(g), at);
  }
  states_.resize(states_.size() + params.size());
  groups_.push_back({std::move(params), std::move(options)});
}

namespace {
// Note [Denormals in optimiser state]: a unit that stops receiving gradient (a dead ReLU) has its
// moments decay geometrically (m by beta1 = 0.9 a step) into the subnormal range after a few hundred
// steps, where x86 arithmetic takes a microcode assist per operation: an MLP's Adam step went from
// 0.3 to over 1 ms after 1000 steps. During step() subnormal inputs and results are read and written
// as zero (MXCSR FTZ and DAZ), and the caller's mode is restored after. Values below 1.2e-38 (float)
// become 0 where PyTorch keeps them; no value a trajectory can show differs.
class FlushDenormals {
 public:
  FlushDenormals() {
#if defined(__SSE2__)
    saved_ = _mm_getcsr();
    _mm_setcsr(saved_ | 0x8040);  // FTZ (bit 15) | DAZ (bit 6)
#endif
  }
  ~FlushDenormals() {
#if defined(__SSE2__)
    _mm_setcsr(saved_);
#endif
  }
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

 private:
  unsigned saved_ = 0;
};
}  // namespace

void Optimizer::step(Here at) {
  tapegrad::detail::OpScope scope(step_name_, at);  // a view of a member: the scope keeps it past this line
  NoGradGuard no_grad;
  FlushDenormals flush;
  std::size_t first = 0;
  for (ParamGroup& group : groups_) {
    step_group(group, first);
    first += group.params.size();
  }
}

void Optimizer::zero_grad(bool set_to_none, Here at) {
  for (ParamGroup& group : groups_)
    for (Tensor& p : group.params) p.zero_grad(set_to_none, at);
}

double Optimizer::option(std::size_t group, std::string_view name, Here at) const {
  const std::string op = name_ + "::option";
  if (group >= groups_.size())
    fail<ValueError>(op, "group index out of range",
                     std::to_string(group) + " of " + std::to_string(groups_.size()) + " groups", at);
  return option_value(groups_[group].options, name, op, at);
}

void Optimizer::set_option(std::size_t group, std::string_view name, double value, Here at) {
  const std::string op = name_ + "::set_option";
  if (group >= groups_.size())
    fail<ValueError>(op, "group index out of range",
                     std::to_string(group) + " of " + std::to_string(groups_.size()) + " groups", at);
  Options options = groups_[group].options;
  double* slot = find_option(options, name);
  if (!slot) fail<ValueError>(op, "the optimiser has no such option", "\"" + std::string(name) + "\"", at);
  *slot = value;
  check_options(op, options, at);
  groups_[group].options = std::move(options);
}

bool Optimizer::has_option(std::string_view name) const {
  Options copy = defaults_;
  return find_option(copy, name) != nullptr;
}

const ParamState* Optimizer::state(std::size_t i) const {
  if (i >= states_.size() || (states_[i].step == 0 && states_[i].buffers.empty())) return nullptr;
  return &states_[i];
}

Tensor Optimizer::prepare(const Tensor& param, Tensor& grad) const {
  if (!grad.is_contiguous()) grad = grad.contiguous();
  return param.is_contiguous() ? param : param.contiguous();
}

void Optimizer::finish(Tensor& param, const Tensor& work) const {
  if (work.same(param))
    tapegrad::detail::bump_version(param);
  else
    param.copy_(work);
}

Tensor* Optimizer::find_buffer(ParamState& state, std::string_view name) {
  for (auto& [key, tensor] : state.buffers)
    if (key == name) return &tensor;
  return nullptr;
}

Tensor Optimizer::buffer(ParamState& state, std::string_view name, const Tensor& param, double initial) {
  if (Tensor* found = find_buffer(state, name)) return *found;
  state.buffers.emplace_back(std::string(name), full(param.shape(), initial, param.dtype()));
  return state.buffers.back().second;
}

StateDict Optimizer::state_dict() const {
  StateDict dict;
  NoGradGuard no_grad;
  std::size_t i = 0;
  for (const ParamGroup& group : groups_) {
    const std::vector<std::string> names = buffer_names(group.options);
    for (std::size_t k = 0; k < group.params.size(); ++k, ++i) {
      if (!state(i)) continue;
      ParamState copy = states_[i];
      dict.insert(index_key("state", i, "step"), scalar(static_cast<double>(copy.step), int64));
      for (const std::string& name : names)
        if (Tensor* b = find_buffer(copy, name)) dict.insert(index_key("state", i, name), b->clone());
    }
  }
  std::size_t first = 0;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    std::vector<std::int64_t> indices;
    for (std::size_t k = 0; k < groups_[g].params.size(); ++k) indices.push_back(static_cast<std::int64_t>(first + k));
    first += indices.size();
    const std::int64_t n = static_cast<std::int64_t>(indices.size());
    dict.insert(index_key("param_groups", g, "params"), from_vector(indices, {n}));
    for (const auto& [name, value] : groups_[g].options)
      dict.insert(index_key("param_groups", g, name), scalar(value, float64));
  }
  return dict;
}

void Optimizer::load_state_dict(const StateDict& dict, Here at) {
  const std::string op = name_ + "::load_state_dict";
  std::set<std::string> used;
  auto take = [&](const std::string& key) -> const Tensor& {
    const Tensor* t = dict.find(key);
    if (!t) fail<ValueError>(op, "the state_dict misses a key", "no \"" + key + "\"", at);
    used.insert(key);
    return *t;
  };
  auto number = [&](const std::string& key) {
    const Tensor& t = take(key);
    if (t.numel() != 1)
      fail<ShapeError>(op, "a step or option must hold one value", key + " is " + to_string(t.shape()), at);
    return t.item();
  };
  NoGradGuard no_grad;
  std::vector<Options> options;
  std::vector<ParamState> states(states_.size());
  std::size_t i = 0;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& group = groups_[g];
    const std::string params_key = index_key("param_groups", g, "params");
    const Tensor& indices = take(params_key);
    if (indices.dim() != 1 || indices.numel() != static_cast<std::int64_t>(group.params.size()))
      fail<ValueError>(op,
                       "loaded state dict contains a parameter group that doesn't match the size of optimizer's group",
                       params_key + " has shape " + to_string(indices.shape()) + ", the group " +
                           std::to_string(group.params.size()) + " parameters",
                       at);
    Options loaded = group.options;
    for (auto& [name, value] : loaded) value = number(index_key("param_groups", g, name));
    check_options(op, loaded, at);
    const std::vector<std::string> names = buffer_names(loaded);
    for (std::size_t k = 0; k < group.params.size(); ++k, ++i) {
      const std::string step_key = index_key("state", i, "step");
      if (!dict.contains(step_key)) continue;
      const double step = number(step_key);
      if (!(step >= 0 && step <= 9.0e15 && step == static_cast<double>(static_cast<std::int64_t>(step))))
        fail<ValueError>(op, "a step count must be a whole number >= 0",
                         step_key + " is " + detail::format_number(step), at);
      states[i].step = static_cast<std::int64_t>(step);
      const Tensor& param = group.params[k];
      for (const std::string& name : names) {
        const std::string key = index_key("state", i, name);
        const Tensor& source = take(key);
        if (!is_floating(source.dtype()))
          fail<DTypeError>(op, "optimiser state must be floating",
                           key + " is " + std::string(dtype_name(source.dtype())), at);
        if (source.shape() != param.shape())
          fail<ShapeError>(op, "a state buffer must have its parameter's shape",
                           key + " is " + to_string(source.shape()) + ", the parameter " + to_string(param.shape()),
                           at);
        Tensor copy = empty(param.shape(), param.dtype());
        copy.copy_(source);
        states[i].buffers.emplace_back(name, std::move(copy));
      }
    }
    options.push_back(std::move(loaded));
  }
  for (const auto& [key, tensor] : dict)
    if (!used.count(key)) fail<ValueError>(op, "the state_dict has an unexpected key", "\"" + key + "\"", at);
  for (std::size_t g = 0; g < groups_.size(); ++g) groups_[g].options = std::move(options[g]);
  states_ = std::move(states);
}

}  // namespace tapegrad::optim
