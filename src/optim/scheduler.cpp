// Learning-rate schedulers (optim/scheduler.hpp): PyTorch's lr_scheduler.py get_lr() recurrences,
// which step() without an epoch uses, so the lrs agree with PyTorch's to the last bit or nearly.
#include "tapegrad/optim/scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <set>

#include "options.hpp"

namespace tapegrad::optim {

using tapegrad::detail::fail;

namespace {

void require_gamma(std::string_view op, double gamma, const Here& at) {
  if (!(gamma >= 0.0 && std::isfinite(gamma)))
    fail<ValueError>(op, "gamma must be finite and >= 0", "gamma=" + detail::format_number(gamma), at);
}

void require_positive(std::string_view op, std::string_view name, std::int64_t value, const Here& at) {
  if (value < 1)
    fail<ValueError>(op, std::string(name) + " must be >= 1", std::string(name) + "=" + std::to_string(value), at);
}

double number_at(const StateDict& dict, const std::string& key, std::set<std::string>& used, std::string_view op,
                 const Here& at) {
  const Tensor* t = dict.find(key);
  if (!t) fail<ValueError>(op, "the state_dict misses a key", "no \"" + key + "\"", at);
  if (t->numel() != 1)
    fail<ShapeError>(op, "a scheduler entry must hold one value", key + " is " + to_string(t->shape()), at);
  used.insert(key);
  return t->item();
}

void require_all_used(const StateDict& dict, const std::set<std::string>& used, std::string_view op, const Here& at) {
  for (const auto& [key, tensor] : dict)
    if (!used.count(key)) fail<ValueError>(op, "the state_dict has an unexpected key", "\"" + key + "\"", at);
}

std::int64_t whole(double value, const std::string& key, std::string_view op, const Here& at) {
  if (!(std::abs(value) <= 9.0e15 && value == std::floor(value)))
    fail<ValueError>(op, "a count must be a whole number", key + "=" + detail::format_number(value), at);
  return static_cast<std::int64_t>(value);
}

}  // namespace

LRScheduler::LRScheduler(Optimizer& optimizer, std::string name) : optimizer_(optimizer), name_(std::move(name)) {}

LRScheduler::~LRScheduler() = default;

double LRScheduler::group_lr(std::size_t group) const { return optimizer_.lr(group); }

void LRScheduler::start(const Here& at, std::vector<double> base_lrs) {
  if (base_lrs.empty())
    for (std::size_t g = 0; g < optimizer_.param_groups().size(); ++g) base_lrs.push_back(optimizer_.lr(g, at));
  base_lrs_ = std::move(base_lrs);
  step(at);
}

void LRScheduler::step(Here at) {
  last_epoch_ += 1;
  const std::vector<double> lrs = compute_lr(at);
  for (std::size_t g = 0; g < lrs.size(); ++g) optimizer_.set_option(g, "lr", lrs[g], at);
  last_lr_ = lrs;
}

StateDict LRScheduler::state_dict() const {
  StateDict dict;
  dict.insert("last_epoch", scalar(static_cast<double>(last_epoch_), int64));
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
    dict.insert("base_lrs." + std::to_string(g), scalar(base_lrs_[g], float64));
    dict.insert("last_lr." + std::to_string(g), scalar(last_lr_[g], float64));
  }
  return dict;
}

void LRScheduler::load_state_dict(const StateDict& dict, Here at) {
  const std::string op = name_ + "::load_state_dict";
  std::set<std::string> used;
  const std::int64_t epoch = whole(number_at(dict, "last_epoch", used, op, at), "last_epoch", op, at);
  std::vector<double> base(base_lrs_.size()), last(base_lrs_.size());
  for (std::size_t g = 0; g < base.size(); ++g) {
    base[g] = number_at(dict, "base_lrs." + std::to_string(g), used, op, at);
    last[g] = number_at(dict, "last_lr." + std::to_string(g), used, op, at);
  }
  require_all_used(dict, used, op, at);
  last_epoch_ = epoch;
  base_lrs_ = std::move(base);
  last_lr_ = std::move(last);
}

// --- StepLR, MultiStepLR, ExponentialLR

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma, Here at)
    : LRScheduler(optimizer, "StepLR"), step_size_(step_size), gamma_(gamma) {
  require_positive(name_, "step_size", step_size, at);
  require_gamma(name_, gamma, at);
  start(at);
}

std::vector<double> StepLR::compute_lr(const Here&) {
  std::vector<double> lrs;
  const bool decay = last_epoch_ != 0 && last_epoch_ % step_size_ == 0;
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) lrs.push_back(decay ? group_lr(g) * gamma_ : group_lr(g));
  return lrs;
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma, Here at)
    : LRScheduler(optimizer, "MultiStepLR"), milestones_(std::move(milestones)), gamma_(gamma) {
  require_gamma(name_, gamma, at);
  start(at);
}

std::vector<double> MultiStepLR::compute_lr(const Here&) {
  const auto count = std::count(milestones_.begin(), milestones_.end(), last_epoch_);
  std::vector<double> lrs;
  for (std::size_t g = 0; g < base_lrs_.size(); ++g)
    lrs.push_back(count == 0 ? group_lr(g) : group_lr(g) * std::pow(gamma_, static_cast<double>(count)));
  return lrs;
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma, Here at)
    : LRScheduler(optimizer, "ExponentialLR"), gamma_(gamma) {
  require_gamma(name_, gamma, at);
  start(at);
}

std::vector<double> ExponentialLR::compute_lr(const Here&) {
  std::vector<double> lrs;
  for (std::size_t g = 0; g < base_lrs_.size(); ++g)
    lrs.push_back(last_epoch_ == 0 ? group_lr(g) : group_lr(g) * gamma_);
  return lrs;
}

// --- CosineAnnealingLR, LinearLR

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::int64_t t_max, double eta_min, Here at)
    : LRScheduler(optimizer, "CosineAnnealingLR"), t_max_(t_max), eta_min_(eta_min) {
  require_positive(name_, "t_max", t_max, at);
  // PyTorch's recurrence takes epochs modulo 2 t_max; beyond 2^53 epochs are no longer exact in double.
  if (t_max > (std::int64_t{1} << 53))
    fail<ValueError>(name_, "t_max must be <= 2^53", "t_max=" + std::to_string(t_max), at);
  detail::require_at_least(name_, "eta_min", eta_min, 0.0, at);
  start(at);
}

std::vector<double> CosineAnnealingLR::compute_lr(const Here&) {
  const double pi = std::numbers::pi, t = static_cast<double>(last_epoch_), t_max = static_cast<double>(t_max_);
  std::vector<double> lrs;
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
    const double lr = group_lr(g);
    if (last_epoch_ == 0)
      lrs.push_back(lr);
    else if ((last_epoch_ - 1 - t_max_) % (2 * t_max_) == 0)
      lrs.push_back(lr + (base_lrs_[g] - eta_min_) * (1 - std::cos(pi / t_max)) / 2);
    else
      lrs.push_back((1 + std::cos(pi * t / t_max)) / (1 + std::cos(pi * (t - 1) / t_max)) * (lr - eta_min_) + eta_min_);
  }
  return lrs;
}

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor, std::int64_t total_iters, Here at)
    : LRScheduler(optimizer, "LinearLR"),
      start_factor_(start_factor),
      end_factor_(end_factor),
      total_iters_(total_iters) {
  if (!(start_factor > 0.0 && start_factor <= 1.0))
    fail<ValueError>(name_, "start_factor must be in (0, 1]", "start_factor=" + detail::format_number(start_factor),
                     at);
  if (!(end_factor >= 0.0 && end_factor <= 1.0))
    fail<ValueError>(name_, "end_factor must be in [0, 1]", "end_factor=" + detail::format_number(end_factor), at);
  require_positive(name_, "total_iters", total_iters, at);
  start(at);
}

std::vector<double> LinearLR::compute_lr(const Here&) {
  std::vector<double> lrs;
  const double span = end_factor_ - start_factor_;
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
    const double lr = group_lr(g);
    if (last_epoch_ == 0)
      lrs.push_back(lr * start_factor_);
    else if (last_epoch_ > total_iters_)
      lrs.push_back(lr);
    else
      lrs.push_back(lr * (1.0 + span / (static_cast<double>(total_iters_) * start_factor_ +
                                        static_cast<double>(last_epoch_ - 1) * span)));
  }
  return lrs;
}

// --- OneCycleLR

OneCycleLR::OneCycleLR(Optimizer& optimizer, std::vector<double> max_lr, std::int64_t total_steps,
                       OneCycleOptions options, Here at)
    : LRScheduler(optimizer, "OneCycleLR"), total_steps_(total_steps), options_(options) {
  const std::size_t groups = optimizer.param_groups().size();
  require_positive(name_, "total_steps", total_steps, at);
  if (max_lr.size() == 1) max_lr.assign(groups, max_lr[0]);
  if (max_lr.size() != groups)
    fail<ValueError>(name_, "max_lr must hold one value or one per group",
                     std::to_string(max_lr.size()) + " values for " + std::to_string(groups) + " groups", at);
  for (double lr : max_lr) detail::require_at_least(name_, "max_lr", lr, 0.0, at);
  if (!(options.pct_start >= 0.0 && options.pct_start <= 1.0))
    fail<ValueError>(name_, "pct_start must be in [0, 1]", "pct_start=" + detail::format_number(options.pct_start), at);
  for (const auto& [name, value] :
       {std::pair{"div_factor", options.div_factor}, {"final_div_factor", options.final_div_factor}})
    if (!(value > 0.0 && std::isfinite(value)))
      fail<ValueError>(name_, std::string(name) + " must be finite and > 0",
                       std::string(name) + "=" + detail::format_number(value), at);
  const double steps = static_cast<double>(total_steps);
  if (options.three_phase)
    phases_ = {{options.pct_start * steps - 1, 0, 1, 0, 1},
               {2 * options.pct_start * steps - 2, 1, 0, 1, 0},
               {steps - 1, 0, 2, 0, 0}};
  else
    phases_ = {{options.pct_start * steps - 1, 0, 1, 0, 1}, {steps - 1, 1, 2, 1, 0}};
  max_lrs_ = max_lr;
  std::vector<double> initial;
  for (double lr : max_lr) initial.push_back(lr / options.div_factor);
  if (options.cycle_momentum) {
    momentum_ = optimizer.has_option("momentum") ? "momentum" : optimizer.has_option("beta1") ? "beta1" : "";
    if (momentum_.empty())
      fail<ValueError>(name_, "the optimiser must support momentum with cycle_momentum", optimizer.name(), at);
    detail::require_unit(name_, "max_momentum", options.max_momentum, at);
    detail::require_unit(name_, "base_momentum", options.base_momentum, at);
    for (std::size_t g = 0; g < groups; ++g) optimizer.set_option(g, momentum_, options.max_momentum, at);
  }
  start(at, initial);
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (options_.cosine) return end + (start - end) / 2.0 * (std::cos(std::numbers::pi * pct) + 1);
  return (end - start) * pct + start;
}

std::vector<double> OneCycleLR::compute_lr(const Here& at) {
  const std::int64_t step = last_epoch_;
  if (step > total_steps_)
    fail<ValueError>(name_ + "::step", "stepped more often than total_steps",
                     "step " + std::to_string(step + 1) + " of " + std::to_string(total_steps_), at);
  std::vector<double> lrs;
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
    const double lr_of[3] = {base_lrs_[g], max_lrs_[g], base_lrs_[g] / options_.final_div_factor};
    const double momentum_of[2] = {options_.max_momentum, options_.base_momentum};
    double start_step = 0, lr = 0, momentum = 0;
    for (std::size_t i = 0; i < phases_.size(); ++i) {
      const Phase& phase = phases_[i];
      if (static_cast<double>(step) <= phase.end_step || i + 1 == phases_.size()) {
        const double pct = (static_cast<double>(step) - start_step) / (phase.end_step - start_step);
        lr = anneal(lr_of[phase.start], lr_of[phase.end], pct);
        momentum = anneal(momentum_of[phase.start_momentum], momentum_of[phase.end_momentum], pct);
        break;
      }
      start_step = phase.end_step;
    }
    lrs.push_back(lr);
    if (!momentum_.empty()) optimizer_.set_option(g, momentum_, momentum, at);
  }
  return lrs;
}

// --- ReduceLROnPlateau

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, PlateauOptions options, Here at)
    : optimizer_(optimizer), options_(std::move(options)) {
  const char* op = "ReduceLROnPlateau";
  const std::size_t groups = optimizer.param_groups().size();
  if (!(options_.factor < 1.0 && options_.factor >= 0.0))
    fail<ValueError>(op, "factor must be in [0, 1)", "factor=" + detail::format_number(options_.factor), at);
  if (options_.patience < 0)
    fail<ValueError>(op, "patience must be >= 0", "patience=" + std::to_string(options_.patience), at);
  if (options_.cooldown < 0)
    fail<ValueError>(op, "cooldown must be >= 0", "cooldown=" + std::to_string(options_.cooldown), at);
  if (options_.min_lr.size() == 1) options_.min_lr.assign(groups, options_.min_lr[0]);
  if (options_.min_lr.size() != groups)
    fail<ValueError>(op, "min_lr must hold one value or one per group",
                     std::to_string(options_.min_lr.size()) + " values for " + std::to_string(groups) + " groups", at);
  for (double lr : options_.min_lr) detail::require_at_least(op, "min_lr", lr, 0.0, at);
  if (std::isnan(options_.threshold)) fail<ValueError>(op, "threshold must be a number", "NaN", at);
  const double inf = std::numeric_limits<double>::infinity();
  best_ = options_.maximize ? -inf : inf;
  for (std::size_t g = 0; g < groups; ++g) last_lr_.push_back(optimizer.lr(g, at));
}

bool ReduceLROnPlateau::is_better(double a, double best) const {
  if (!options_.maximize)
    return options_.relative ? a < best * (1.0 - options_.threshold) : a < best - options_.threshold;
  return options_.relative ? a > best * (options_.threshold + 1.0) : a > best + options_.threshold;
}

void ReduceLROnPlateau::step(double metric, Here at) {
  last_epoch_ += 1;
  if (is_better(metric, best_)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    num_bad_epochs_ += 1;
  }
  if (cooldown_counter_ > 0) {
    cooldown_counter_ -= 1;
    num_bad_epochs_ = 0;
  }
  if (num_bad_epochs_ > options_.patience) {
    for (std::size_t g = 0; g < last_lr_.size(); ++g) {
      const double old_lr = optimizer_.lr(g, at);
      const double new_lr = std::max(old_lr * options_.factor, options_.min_lr[g]);
      if (old_lr - new_lr > options_.eps) optimizer_.set_option(g, "lr", new_lr, at);
    }
    cooldown_counter_ = options_.cooldown;
    num_bad_epochs_ = 0;
  }
  for (std::size_t g = 0; g < last_lr_.size(); ++g) last_lr_[g] = optimizer_.lr(g, at);
}

StateDict ReduceLROnPlateau::state_dict() const {
  return StateDict{{"last_epoch", scalar(static_cast<double>(last_epoch_), int64)},
                   {"best", scalar(best_, float64)},
                   {"num_bad_epochs", scalar(static_cast<double>(num_bad_epochs_), int64)},
                   {"cooldown_counter", scalar(static_cast<double>(cooldown_counter_), int64)}};
}

void ReduceLROnPlateau::load_state_dict(const StateDict& dict, Here at) {
  const char* op = "ReduceLROnPlateau::load_state_dict";
  std::set<std::string> used;
  const std::int64_t epoch = whole(number_at(dict, "last_epoch", used, op, at), "last_epoch", op, at);
  const double best = number_at(dict, "best", used, op, at);
  const std::int64_t bad = whole(number_at(dict, "num_bad_epochs", used, op, at), "num_bad_epochs", op, at);
  const std::int64_t cooldown = whole(number_at(dict, "cooldown_counter", used, op, at), "cooldown_counter", op, at);
  require_all_used(dict, used, op, at);
  last_epoch_ = epoch;
  best_ = best;
  num_bad_epochs_ = bad;
  cooldown_counter_ = cooldown;
  for (std::size_t g = 0; g < last_lr_.size(); ++g) last_lr_[g] = optimizer_.lr(g, at);
}

}  // namespace tapegrad::optim
