// Loss modules, PyTorch's torch.nn losses over the functional losses of ops/loss.hpp: built with
// PyTorch's options, called with two tensors, loss(input, target). Class weights and pos_weight are
// buffers (in the state_dict when given, converted by to(dtype)), as in PyTorch: the members `weight`
// and `pos_weight`, which the call uses in place of the options' (left undefined).
#pragma once

#include <string>

#include "tapegrad/here.hpp"
#include "tapegrad/nn/module.hpp"
#include "tapegrad/ops/loss.hpp"

namespace tapegrad::nn {

// A module of two tensors: loss(input, target) runs the module call (the module's name at the op
// boundary, the caller's line in errors) around the loss. Forward hooks see the input only through
// forward(x), which a loss has not (Module's ValueError): a loss needs its target.
class Loss : public Module {
 public:
  using Module::operator();
  Tensor operator()(const Tensor& input, const Tensor& target, Here at = Here::current());

 protected:
  virtual Tensor loss(const Tensor& input, const Tensor& target, const std::source_location& at) = 0;
};

class MSELoss : public Loss {
 public:
  explicit MSELoss(Reduction reduction = Reduction::mean, Here at = Here::current());
  std::string extra_repr() const override;
  Reduction reduction;

 protected:
  Tensor loss(const Tensor& input, const Tensor& target, const std::source_location& at) override;
};

class L1Loss : public Loss {
 public:
  explicit L1Loss(Reduction reduction = Reduction::mean, Here at = Here::current());
  std::string extra_repr() const override;
  Reduction reduction;

 protected:
  Tensor loss(const Tensor& input, const Tensor& target, const std::source_location& at) override;
};

class SmoothL1Loss : public Loss {
 public:
  explicit SmoothL1Loss(Reduction reduction = Reduction::mean, double beta = 1.0, Here at = Here::current());
  std::string extra_repr() const override;
  Reduction reduction;
  double beta;

 protected:
  Tensor loss(const Tensor& input, const Tensor& target, const std::source_location& at) override;
};

class HuberLoss : public Loss {
 public:
  explicit HuberLoss(Reduction reduction = Reduction::mean, double delta = 1.0, Here at = Here::current());
  std::string extra_repr() const override;
  Reduction reduction;
  double delta;

 protected:
  Tensor loss(const Tensor& input, const Tensor& target, const std::source_location& at) override;
};

// nn::CrossEntropyLoss loss({.weight = w, .label_smoothing = 0.1});
class CrossEntropyLoss : public Loss {
 public:
  explicit CrossEntropyLoss(const CrossEntropyOptions& options = {}, Here at = Here::current());
  std::string extra_repr() const override;
  CrossEntropyOptions options;  // weight undefined: see the member
  Tensor& weight;               // the buffer "weight" (undefined: none)

 protected:
  Tensor loss(const Tensor& input, const Tensor& target, const std::source_location& at) override;
};

class NLLLoss : public Loss {
 public:
  explicit NLLLoss(const NllLossOptions& options = {}, Here at = Here::current());
  std::string extra_repr() const override;
  NllLossOptions options;  // weight undefined: see the member
  Tensor& weight;          // the buffer "weight" (undefined: none)

 protected:
  Tensor loss(const Tensor& input, const Tensor& target, const std::source_location& at) override;
};

class BCELoss : public Loss {
 public:
  explicit BCELoss(const BinaryCrossEntropyOptions& options = {}, Here at = Here::current());
  std::string extra_repr() const override;
  BinaryCrossEntropyOptions options;  // weight undefined: see the member
  Tensor& weight;                     // the buffer "weight" (undefined: none)

 protected:
  Tensor loss(const Tensor& input, const Tensor& target, const std::source_location& at) override;
};

class BCEWithLogitsLoss : public Loss {
 public:
  explicit BCEWithLogitsLoss(const BinaryCrossEntropyWithLogitsOptions& options = {}, Here at = Here::current());
  std::string extra_repr() const override;
  BinaryCrossEntropyWithLogitsOptions options;  // weight and pos_weight undefined: see the members
  Tensor& weight;                               // the buffer "weight" (undefined: none)
  Tensor& pos_weight;                           // the buffer "pos_weight"

 protected:
  Tensor loss(const Tensor& input, const Tensor& target, const std::source_location& at) override;
};

class KLDivLoss : public Loss {
 public:
  explicit KLDivLoss(const KlDivOptions& options = {}, Here at = Here::current());
  std::string extra_repr() const override;
  KlDivOptions options;

 protected:
  Tensor loss(const Tensor& input, const Tensor& target, const std::source_location& at) override;
};

}  // namespace tapegrad::nn
