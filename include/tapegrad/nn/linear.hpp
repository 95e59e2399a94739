// Linear layers and shape helpers, with PyTorch's names, shapes and default initialisation.
#pragma once

#include <cstdint>
#include <string>

#include "tapegrad/nn/module.hpp"
#include "tapegrad/random.hpp"

namespace tapegrad::nn {

// y = x·Wᵀ + b over the last axis of x [*, in_features]. weight [out, in], bias [out], both
// U(-1/√in, 1/√in) (PyTorch's kaiming_uniform_ with a = √5, and its bias rule).
class Linear : public Module {
 public:
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true, Here at = Here::current());
  Tensor forward(const Tensor& x) override;
  // Draws the weights again (from `gen`, or the default generator).
  void reset_parameters(Generator* gen = nullptr);
  std::string extra_repr() const override;

  std::int64_t in_features, out_features;
  Tensor& weight;
  Tensor& bias;  // undefined without bias
};

// y_o = x1ᵀ·W_o·x2 + b_o for x1 [*, in1], x2 [*, in2]: weight [out, in1, in2], bias [out], both
// U(-1/√in1, 1/√in1). Two inputs: call it as bilinear(x1, x2).
class Bilinear : public Module {
 public:
  Bilinear(std::int64_t in1_features, std::int64_t in2_features, std::int64_t out_features, bool bias = true,
           Here at = Here::current());
  using Module::operator();
  Tensor operator()(const Tensor& x1, const Tensor& x2, Here at = Here::current());
  void reset_parameters(Generator* gen = nullptr);
  std::string extra_repr() const override;

  std::int64_t in1_features, in2_features, out_features;
  Tensor& weight;
  Tensor& bias;
};

// Returns its input.
class Identity : public Module {
 public:
  Tensor forward(const Tensor& x) override { return x; }
};

// Flattens axes start_dim..end_dim into one (x.flatten(start_dim, end_dim)); by default all but the batch.
class Flatten : public Module {
 public:
  explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1) : start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  std::int64_t start_dim, end_dim;
};

// Splits axis `dim` into `sizes` (one entry may be -1).
class Unflatten : public Module {
 public:
  Unflatten(std::int64_t dim, Shape sizes) : dim(dim), sizes(std::move(sizes)) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  std::int64_t dim;
  Shape sizes;
};

}  // namespace tapegrad::nn
