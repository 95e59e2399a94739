// Optimizer: the common base of the optimisers (sgd.hpp, adam.hpp, rmsprop.hpp, adagrad.hpp), PyTorch's
// torch.optim.Optimizer. Parameters come in groups, each with its own hyperparameters (lr, weight decay
// and the optimiser's other options); step() updates every parameter that has a gradient, in place with
// recording off; state_dict() / load_state_dict() save and restore the per-parameter state and the
// hyperparameters, so a checkpoint resumes training bitwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tapegrad/here.hpp"
#include "tapegrad/state_dict.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad::optim {

// A group's hyperparameters by name in the optimiser's order, booleans as 0 or 1: the entries of a
// PyTorch param_group dict ("lr", "momentum", "beta1", ...).
using Options = std::vector<std::pair<std::string, double>>;

struct ParamGroup {
  std::vector<Tensor> params;
  Options options;
};

// What an optimiser keeps for one parameter: its step count and named buffers ("exp_avg", ...),
// made on the parameter's first update.
struct ParamState {
  std::int64_t step = 0;
  std::vector<std::pair<std::string, Tensor>> buffers;
};

// Note [Optimizer state_dict]: the state of an optimiser as one StateDict, PyTorch's layout flattened:
//   state.<i>.step             0-d int64, for each parameter i (counted across groups in order) that has state
//   state.<i>.<buffer>         the buffer, the parameter's shape and dtype ("state.0.exp_avg")
//   param_groups.<g>.params    1-d int64: the indices of group g's parameters
//   param_groups.<g>.<option>  0-d float64 ("param_groups.0.lr")
// load_state_dict takes exactly these keys for the optimiser's groups (same group sizes, the buffers
// the group's options need), copying the tensors: nothing is shared with the dict.
class Optimizer {
 public:
  virtual ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Updates each parameter that has a gradient, in place, under NoGradGuard.
  void step(Here at = Here::current());
  // Drops (set_to_none) or zeroes every parameter's gradient.
  void zero_grad(bool set_to_none = true, Here at = Here::current());
  // A new group with the optimiser's default options. ValueError on an empty list, an undefined or
  // non-leaf tensor, a parameter already in a group; DTypeError on a non-floating one.
  void add_param_group(std::vector<Tensor> params, Here at = Here::current());

  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  // Group g's option `name` (ValueError for a group or name the optimiser does not have).
  double option(std::size_t group, std::string_view name, Here at = Here::current()) const;
  // Sets it after the optimiser's checks (ValueError: a negative lr, a beta outside [0, 1), ...).
  void set_option(std::size_t group, std::string_view name, double value, Here at = Here::current());
  double lr(std::size_t group = 0, Here at = Here::current()) const { return option(group, "lr", at); }
  // Has the options a group of this optimiser takes: "momentum" (SGD, RMSprop), "beta1" (Adam, AdamW).
  bool has_option(std::string_view name) const;
  // The state of parameter i (counted across groups), or null before its first update.
  const ParamState* state(std::size_t i) const;

  StateDict state_dict() const;
  // ValueError naming a missing or unexpected key or a group of another size; ShapeError for a buffer
  // of the wrong shape; DTypeError for a non-floating buffer. On error the optimiser is unchanged.
  void load_state_dict(const StateDict& dict, Here at = Here::current());
  const std::string& name() const { return name_; }

 protected:
  Optimizer(std::string name, Options defaults);
  // The constructor's first group (ValueError for an empty list, as PyTorch).
  void add_first_group(std::vector<Tensor> params, const Options& options, const Here& at);
  void add_group(std::vector<Tensor> params, Options options, const Here& at);
  // ValueError unless every option is allowed (the public function's name in `op`).
  virtual void check_options(std::string_view op, const Options& options, const Here& at) const = 0;
  // The buffers a parameter of a group with these options has after an update.
  virtual std::vector<std::string> buffer_names(const Options& options) const = 0;
  // Updates the group's parameters whose index starts at `first`.
  virtual void step_group(ParamGroup& group, std::size_t first) = 0;

  // For step_group: calls update(param, grad, state) for each parameter of the group with a gradient,
  // both contiguous (a non-contiguous parameter is updated in a copy written back; a non-contiguous
  // gradient is read through a contiguous copy), then bumps the parameter's version.
  template <class F>
  void for_each_update(ParamGroup& group, std::size_t first, F&& update) {
    for (std::size_t k = 0; k < group.params.size(); ++k) {
      Tensor& param = group.params[k];
      Tensor grad = param.grad();
      if (!grad.defined()) continue;
      Tensor work = prepare(param, grad);
      update(work, grad, states_[first + k]);
      finish(param, work);
    }
  }
  // The buffer `name` of a state, made as zeros (or `initial`) of the parameter's shape if missing (a
  // handle: a reference into the state would not survive the next buffer made).
  static Tensor buffer(ParamState& state, std::string_view name, const Tensor& param, double initial = 0.0);
  // The buffer `name`, or null when missing.
  static Tensor* find_buffer(ParamState& state, std::string_view name);

 private:
  Tensor prepare(const Tensor& param, Tensor& grad) const;
  void finish(Tensor& param, const Tensor& work) const;

  std::string name_;
  std::string step_name_;  // "Adam::step"
  Options defaults_;
  std::vector<ParamGroup> groups_;
  std::vector<ParamState> states_;  // one per parameter, counted across groups
};

}  // namespace tapegrad::optim
