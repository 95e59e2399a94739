// Normalisation layers: PyTorch's BatchNorm1d, BatchNorm2d, LayerNorm and GroupNorm over the ops of
// ops/norm.hpp, with the same parameter and buffer names (weight, bias, running_mean, running_var,
// num_batches_tracked), shapes and default initialisation (weight ones, bias zeros, running mean
// zeros, running variance ones), so state_dicts move between tapegrad and PyTorch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tapegrad/nn/module.hpp"

namespace tapegrad::nn {

// What BatchNorm1d and BatchNorm2d share (PyTorch's _BatchNorm). In training, forward normalises with
// the batch's statistics and, with track_running_stats, counts the batch in num_batches_tracked and
// updates running_mean and running_var by `momentum` (std::nullopt: their cumulative average over
// the batches counted); in evaluation it uses the running statistics. Without track_running_stats it
// always uses the batch's statistics and has no buffers.
class BatchNorm : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  // running_mean = 0, running_var = 1, num_batches_tracked = 0.
  void reset_running_stats();
  // reset_running_stats(), weight = 1, bias = 0.
  void reset_parameters();

  std::int64_t num_features;
  double eps;
  std::optional<double> momentum;
  bool affine, track_running_stats;
  Tensor& weight;               // [num_features] when affine, else undefined
  Tensor& bias;                 // [num_features] when affine, else undefined
  Tensor& running_mean;         // [num_features] when track_running_stats, else undefined
  Tensor& running_var;          // [num_features] when track_running_stats, else undefined
  Tensor& num_batches_tracked;  // int64, 0-d, when track_running_stats, else undefined

 protected:
  BatchNorm(const char* layer, std::int64_t num_features, double eps, std::optional<double> momentum, bool affine,
            bool track_running_stats, Here at);
  // ShapeError unless x has a rank this layer takes.
  virtual void check_rank(const Tensor& x, Here at) const = 0;
  const char* layer_;
};

// x: [N, C] or [N, C, L], C = num_features.
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(std::int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                       bool affine = true, bool track_running_stats = true, Here at = Here::current());

 protected:
  void check_rank(const Tensor& x, Here at) const override;
};

// x: [N, C, H, W], C = num_features.
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(std::int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                       bool affine = true, bool track_running_stats = true, Here at = Here::current());

 protected:
  void check_rank(const Tensor& x, Here at) const override;
};

// Normalises over the last axes, which must be normalized_shape; weight (ones) and bias (zeros) of
// that shape when elementwise_affine.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true,
                     Here at = Here::current());
  // LayerNorm(n) is LayerNorm({n}), as in PyTorch.
  explicit LayerNorm(std::int64_t normalized_size, double eps = 1e-5, bool elementwise_affine = true,
                     Here at = Here::current());
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  // weight = 1, bias = 0.
  void reset_parameters();

  Shape normalized_shape;
  double eps;
  bool elementwise_affine;
  Tensor& weight;
  Tensor& bias;
};

// x: [N, num_channels, *]; num_groups groups of consecutive channels, each normalised per sample over
// its channels and the spatial axes; weight (ones) and bias (zeros) per channel when affine.
class GroupNorm : public Module {
 public:
  GroupNorm(std::int64_t num_groups, std::int64_t num_channels, double eps = 1e-5, bool affine = true,
            Here at = Here::current());
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  // weight = 1, bias = 0.
  void reset_parameters();

  std::int64_t num_groups, num_channels;
  double eps;
  bool affine;
  Tensor& weight;
  Tensor& bias;
};

}  // namespace tapegrad::nn
