// Adam and AdamW, PyTorch's torch.optim.Adam / AdamW. Per parameter, at step t:
//   g <- grad (negated when maximize);  Adam: g <- g + weight_decay * param (L2)
//                                       AdamW: param <- param * (1 - lr * weight_decay) (decoupled)
//   m <- beta1 m + (1 - beta1) g;  v <- beta2 v + (1 - beta2) g^2;  amsgrad: v_max <- max(v_max, v)
//   param <- param - lr / (1 - beta1^t) * m / (sqrt(v or v_max) / sqrt(1 - beta2^t) + eps)
#pragma once

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // AdamW's default is 1e-2 (AdamWOptions)
  bool amsgrad = false;
  bool maximize = false;
};

// AdamOptions with AdamW's default weight decay.
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
  bool maximize = false;
};

class Adam : public Optimizer {
 public:
  // ValueError for an empty list, a negative lr, eps or weight_decay, a beta outside [0, 1).
  explicit Adam(std::vector<Tensor> params, AdamOptions options = {}, Here at = Here::current());
  using Optimizer::add_param_group;
  void add_param_group(std::vector<Tensor> params, AdamOptions options, Here at = Here::current());

 protected:
  Adam(std::string name, std::vector<Tensor> params, const Options& options, bool decoupled, const Here& at);
  void check_options(std::string_view op, const Options& options, const Here& at) const override;
  std::vector<std::string> buffer_names(const Options& options) const override;
  void step_group(ParamGroup& group, std::size_t first) override;

 private:
  bool decoupled_;  // AdamW
};

class AdamW : public Adam {
 public:
  explicit AdamW(std::vector<Tensor> params, AdamWOptions options = {}, Here at = Here::current());
  using Optimizer::add_param_group;
  void add_param_group(std::vector<Tensor> params, AdamWOptions options, Here at = Here::current());
};

}  // namespace tapegrad::optim
