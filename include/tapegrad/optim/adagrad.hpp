// Adagrad, PyTorch's torch.optim.Adagrad. Per parameter, at step t:
//   g <- grad (negated when maximize) + weight_decay * param;  sum <- sum + g^2 (sum starts at
//   initial_accumulator_value);  param <- param - lr / (1 + (t - 1) lr_decay) * g / (sqrt(sum) + eps)
#pragma once

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim {

struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0.0;
  double weight_decay = 0.0;
  double initial_accumulator_value = 0.0;
  double eps = 1e-10;
  bool maximize = false;
};

class Adagrad : public Optimizer {
 public:
  // ValueError for an empty list or a negative lr, lr_decay, weight_decay, initial_accumulator_value, eps.
  explicit Adagrad(std::vector<Tensor> params, AdagradOptions options = {}, Here at = Here::current());
  using Optimizer::add_param_group;
  void add_param_group(std::vector<Tensor> params, AdagradOptions options, Here at = Here::current());

 protected:
  void check_options(std::string_view op, const Options& options, const Here& at) const override;
  std::vector<std::string> buffer_names(const Options& options) const override;
  void step_group(ParamGroup& group, std::size_t first) override;
};

}  // namespace tapegrad::optim
