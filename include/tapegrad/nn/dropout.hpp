// Dropout layers: the functional dropout (ops/dropout.hpp) in training mode, the identity in eval.
#pragma once

#include <string>

#include "tapegrad/here.hpp"
#include "tapegrad/nn/module.hpp"
#include "tapegrad/random.hpp"

namespace tapegrad::nn {

// Zeroes each element with probability p in training (the others scaled by 1 / (1 - p)); the identity
// after eval(). The masks come from `gen` (kept, not owned; null: the default generator), so a seed
// gives the same masks at any thread count. p outside [0, 1] is a ValueError here, as in PyTorch.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, Generator* gen = nullptr, Here at = Here::current());
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;  // "p=0.5, inplace=False"
  double p;
  Generator* generator;
};

// Zeroes whole channels of [N, C, H, W] or [C, H, W] inputs.
class Dropout2d : public Dropout {
 public:
  explicit Dropout2d(double p = 0.5, Generator* gen = nullptr, Here at = Here::current());
  Tensor forward(const Tensor& x) override;
};

}  // namespace tapegrad::nn
