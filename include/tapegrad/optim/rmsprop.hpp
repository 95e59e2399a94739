// RMSprop, PyTorch's torch.optim.RMSprop. Per parameter:
//   g <- grad (negated when maximize) + weight_decay * param
//   s <- alpha s + (1 - alpha) g^2;  centered: a <- alpha a + (1 - alpha) g, d <- sqrt(s - a^2) + eps
//                                    else: d <- sqrt(s) + eps
//   momentum > 0: buf <- momentum buf + g / d, param <- param - lr buf;  else param <- param - lr g / d
#pragma once

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim {

struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
  bool maximize = false;
};

class RMSprop : public Optimizer {
 public:
  // ValueError for an empty list, a negative lr, alpha, eps, momentum or weight_decay.
  explicit RMSprop(std::vector<Tensor> params, RMSpropOptions options = {}, Here at = Here::current());
  using Optimizer::add_param_group;
  void add_param_group(std::vector<Tensor> params, RMSpropOptions options, Here at = Here::current());

 protected:
  void check_options(std::string_view op, const Options& options, const Here& at) const override;
  std::vector<std::string> buffer_names(const Options& options) const override;
  void step_group(ParamGroup& group, std::size_t first) override;
};

}  // namespace tapegrad::optim
