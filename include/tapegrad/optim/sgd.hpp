// SGD, PyTorch's torch.optim.SGD: with weight decay w, momentum m, dampening d, per parameter
//   g <- grad (negated when maximize) + w * param
//   buf <- g on the first step, else m * buf + (1 - d) * g;   g <- g + m * buf (nesterov) or buf
//   param <- param - lr * g
#pragma once

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim {

struct SGDOptions {
  double lr = 1e-3;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;  // needs momentum > 0 and dampening 0
  bool maximize = false;
};

class SGD : public Optimizer {
 public:
  // ValueError for an empty list, a negative lr, momentum or weight_decay, nesterov without momentum
  // or with dampening (and the parameter rules of add_param_group).
  explicit SGD(std::vector<Tensor> params, SGDOptions options = {}, Here at = Here::current());
  using Optimizer::add_param_group;
  void add_param_group(std::vector<Tensor> params, SGDOptions options, Here at = Here::current());

 protected:
  void check_options(std::string_view op, const Options& options, const Here& at) const override;
  std::vector<std::string> buffer_names(const Options& options) const override;
  void step_group(ParamGroup& group, std::size_t first) override;
};

}  // namespace tapegrad::optim
