// Learning-rate schedulers, PyTorch's torch.optim.lr_scheduler. Each sets the lr of every group of
// an optimiser when constructed (epoch 0) and at each step() after it, with PyTorch's recurrences, so
// the learning rates match PyTorch's step for step. Call optimizer.step() before scheduler.step().
// A scheduler refers to its optimiser, which must outlive it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/here.hpp"
#include "tapegrad/optim/optimizer.hpp"
#include "tapegrad/state_dict.hpp"

namespace tapegrad::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler();
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  // The next epoch: sets each group's lr.
  void step(Here at = Here::current());
  // The lr of each group as the last step set it.
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  std::int64_t last_epoch() const { return last_epoch_; }
  // "last_epoch", "base_lrs.<g>" and "last_lr.<g>" as 0-d tensors. The lrs themselves live in the
  // optimiser's state_dict: resume both.
  StateDict state_dict() const;
  // ValueError naming a missing or unexpected key or a group count that is not the optimiser's.
  void load_state_dict(const StateDict& dict, Here at = Here::current());

 protected:
  LRScheduler(Optimizer& optimizer, std::string name);
  // Ends a derived constructor: base lrs from the groups' lrs (or `base_lrs`), then step to epoch 0.
  void start(const Here& at, std::vector<double> base_lrs = {});
  // PyTorch's get_lr(): the groups' lrs at last_epoch_ (already advanced), from the current ones.
  virtual std::vector<double> compute_lr(const Here& at) = 0;
  double group_lr(std::size_t group) const;

  Optimizer& optimizer_;
  std::string name_;
  std::vector<double> base_lrs_;
  std::int64_t last_epoch_ = -1;

 private:
  std::vector<double> last_lr_;
};

// lr * gamma every step_size epochs. ValueError for step_size < 1 or a negative or non-finite gamma.
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1, Here at = Here::current());

 protected:
  std::vector<double> compute_lr(const Here& at) override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

// lr * gamma at each milestone (an epoch listed k times multiplies by gamma^k).
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma = 0.1,
              Here at = Here::current());

 protected:
  std::vector<double> compute_lr(const Here& at) override;

 private:
  std::vector<std::int64_t> milestones_;
  double gamma_;
};

// lr * gamma every epoch.
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma, Here at = Here::current());

 protected:
  std::vector<double> compute_lr(const Here& at) override;

 private:
  double gamma_;
};

// eta_min + (base_lr - eta_min) (1 + cos(pi epoch / t_max)) / 2, by PyTorch's recurrence (which
// keeps cycling after t_max). ValueError for t_max < 1 or a negative eta_min.
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, std::int64_t t_max, double eta_min = 0.0, Here at = Here::current());

 protected:
  std::vector<double> compute_lr(const Here& at) override;

 private:
  std::int64_t t_max_;
  double eta_min_;
};

// Warm-up: the lr's factor goes linearly from start_factor to end_factor over total_iters epochs.
// ValueError unless 0 < start_factor <= 1, 0 <= end_factor <= 1 and total_iters >= 1.
class LinearLR : public LRScheduler {
 public:
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0, std::int64_t total_iters = 5,
           Here at = Here::current());

 protected:
  std::vector<double> compute_lr(const Here& at) override;

 private:
  double start_factor_, end_factor_;
  std::int64_t total_iters_;
};

struct OneCycleOptions {
  double pct_start = 0.3;
  bool cosine = true;  // anneal_strategy 'cos'; false: 'linear'
  bool cycle_momentum = true;
  double base_momentum = 0.85;
  double max_momentum = 0.95;
  double div_factor = 25.0;
  double final_div_factor = 1e4;
  bool three_phase = false;
};

// The 1cycle policy: lr from max_lr / div_factor up to max_lr over pct_start of total_steps, then down
// to max_lr / (div_factor * final_div_factor); with cycle_momentum the optimiser's "momentum" (SGD,
// RMSprop) or "beta1" (Adam, AdamW) goes the other way between max_momentum and base_momentum. max_lr:
// one value, or one per group. ValueError for total_steps < 1, pct_start outside [0, 1], cycle_momentum
// with an optimiser that has no momentum, a step past total_steps.
class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(Optimizer& optimizer, std::vector<double> max_lr, std::int64_t total_steps, OneCycleOptions options = {},
             Here at = Here::current());

 protected:
  std::vector<double> compute_lr(const Here& at) override;

 private:
  struct Phase {
    double end_step;
    int start, end;  // 0: initial lr, 1: max lr, 2: min lr (and 0: max momentum, 1: base momentum)
    int start_momentum, end_momentum;
  };
  double anneal(double start, double end, double pct) const;
  std::vector<double> max_lrs_;
  std::int64_t total_steps_;
  OneCycleOptions options_;
  std::vector<Phase> phases_;
  std::string momentum_;  // "momentum", "beta1" or "" (no cycling)
};

struct PlateauOptions {
  bool maximize = false;  // mode 'max': a larger metric is better
  double factor = 0.1;
  std::int64_t patience = 10;
  double threshold = 1e-4;
  bool relative = true;  // threshold_mode 'rel'; false: 'abs'
  std::int64_t cooldown = 0;
  std::vector<double> min_lr = {0.0};  // one value, or one per group
  double eps = 1e-8;
};

// Multiplies the lrs by factor once the metric has not improved for more than `patience` steps.
// ValueError for factor >= 1 (or negative), a negative patience or cooldown, min_lr of another count.
class ReduceLROnPlateau {
 public:
  explicit ReduceLROnPlateau(Optimizer& optimizer, PlateauOptions options = {}, Here at = Here::current());
  void step(double metric, Here at = Here::current());
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  // "last_epoch", "best", "num_bad_epochs", "cooldown_counter" as 0-d tensors.
  StateDict state_dict() const;
  void load_state_dict(const StateDict& dict, Here at = Here::current());

 private:
  bool is_better(double a, double best) const;
  Optimizer& optimizer_;
  PlateauOptions options_;
  double best_;
  std::int64_t num_bad_epochs_ = 0, cooldown_counter_ = 0, last_epoch_ = 0;
  std::vector<double> last_lr_;
};

}  // namespace tapegrad::optim
