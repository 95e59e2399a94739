// Activation modules, one for every activation op (ops/elementwise.hpp, ops/reduce.hpp), with
// PyTorch's class names and extra_repr: nn::ReLU, nn::GELU, nn::Softmax(1), ...
#pragma once

#include <cstdint>
#include <string>

#include "tapegrad/here.hpp"
#include "tapegrad/nn/module.hpp"

namespace tapegrad::nn {

// Note [Activation modules]: the activations without options, as X(Class, function, extra_repr). Each
// line makes `class Class : public Module` whose forward is `function(x)`; the list also generates the
// definitions (src/nn/activation.cpp) and the layer-table rows (tests/test_nn_loss.cpp), so a new
// plain activation op gets its module from one line here.
#define TAPEGRAD_PLAIN_ACTIVATION_MODULES(X) \
  X(ReLU, relu, "")                          \
  X(Sigmoid, sigmoid, "")                    \
  X(Tanh, tanh, "")                          \
  X(GELU, gelu, "approximate='none'")        \
  X(SiLU, silu, "")                          \
  X(Hardswish, hardswish, "")

#define TAPEGRAD_DECLARE_ACTIVATION_MODULE(Class, function, repr) \
  class Class : public Module {                                   \
   public:                                                        \
    Tensor forward(const Tensor& x) override;                     \
    std::string extra_repr() const override;                      \
  };
TAPEGRAD_PLAIN_ACTIVATION_MODULES(TAPEGRAD_DECLARE_ACTIVATION_MODULE)
#undef TAPEGRAD_DECLARE_ACTIVATION_MODULE

// max(x, 0) + negative_slope min(x, 0)
class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double negative_slope = 0.01, Here at = Here::current());
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;  // "negative_slope=0.01"
  double negative_slope;
};

// x > 0 ? x : alpha (e^x - 1)
class ELU : public Module {
 public:
  explicit ELU(double alpha = 1.0, Here at = Here::current());
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;  // "alpha=1.0"
  double alpha;
};

// (1/beta) ln(1 + e^(beta x)), linear where beta x > threshold
class Softplus : public Module {
 public:
  explicit Softplus(double beta = 1.0, double threshold = 20.0, Here at = Here::current());
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;  // "beta=1.0, threshold=20.0"
  double beta, threshold;
};

// clamp(x, min_val, max_val); min_val <= max_val (ValueError otherwise, NaN too)
class Hardtanh : public Module {
 public:
  explicit Hardtanh(double min_val = -1.0, double max_val = 1.0, Here at = Here::current());
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;  // "min_val=-1.0, max_val=1.0"
  double min_val, max_val;
};

// clamp(x, 0, 6)
class ReLU6 : public Hardtanh {
 public:
  explicit ReLU6(Here at = Here::current());
  std::string extra_repr() const override;  // "" as in PyTorch
};

// softmax / log_softmax along `dim` (checked against the input's rank when called).
class Softmax : public Module {
 public:
  explicit Softmax(std::int64_t dim, Here at = Here::current());
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;  // "dim=1"
  std::int64_t dim;
};

class LogSoftmax : public Module {
 public:
  explicit LogSoftmax(std::int64_t dim, Here at = Here::current());
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  std::int64_t dim;
};

}  // namespace tapegrad::nn
