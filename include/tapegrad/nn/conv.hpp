// Convolution layers with PyTorch's constructor arguments (in PyTorch's order: the options of the
// functional op, then bias), parameter names and shapes, and default initialisation: weight and bias
// U(-1/√fan_in, 1/√fan_in) with fan_in = weight.size(1) · kernel elements (PyTorch's
// kaiming_uniform_ with a = √5, and its bias rule). Only zero padding (PyTorch's padding_mode="zeros").
//
//   nn::Conv2d conv(1, 32, 3, {.padding = 1});                  // nn.Conv2d(1, 32, 3, padding=1)
//   nn::Conv2d depthwise(32, 32, {3, 1}, {.padding = "same", .groups = 32}, false);
//   nn::ConvTranspose2d up(64, 32, 2, {.stride = 2});
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "tapegrad/nn/module.hpp"
#include "tapegrad/ops/conv.hpp"
#include "tapegrad/random.hpp"

namespace tapegrad::nn {

// What the convolution layers share (PyTorch's _ConvNd): the checks at construction, the parameters,
// their initialisation and the printing. N spatial axes; Transposed: the weight has the input channels
// first. Instantiated for the three layers below only.
template <std::size_t N, class Options, bool Transposed>
class ConvNd : public Module {
 public:
  ConvNd(std::int64_t in_channels, std::int64_t out_channels, Spatial<N> kernel_size, Options options = {},
         bool bias = true, Here at = Here::current());
  // Draws the weights again (from `gen`, or the default generator).
  void reset_parameters(Generator* gen = nullptr);
  std::string extra_repr() const override;

  std::int64_t in_channels, out_channels;
  Spatial<N> kernel_size;
  Options options;
  Tensor& weight;
  Tensor& bias;  // undefined without bias
};

// torch.nn.Conv1d: x [N, C_in, L] or [C_in, L]. weight [out_channels, in_channels / groups, kL],
// bias [out_channels].
class Conv1d : public ConvNd<1, Conv1dOptions, false> {
 public:
  using ConvNd::ConvNd;
  Tensor forward(const Tensor& x) override;
};

// torch.nn.Conv2d: x [N, C_in, H, W] or [C_in, H, W]. weight [out_channels, in_channels / groups, kH, kW],
// bias [out_channels].
class Conv2d : public ConvNd<2, Conv2dOptions, false> {
 public:
  using ConvNd::ConvNd;
  Tensor forward(const Tensor& x) override;
};

// torch.nn.ConvTranspose2d: x [N, C_in, H, W] or [C_in, H, W]. weight [in_channels, out_channels / groups,
// kH, kW] (transposed: input channels first), bias [out_channels].
class ConvTranspose2d : public ConvNd<2, ConvTranspose2dOptions, true> {
 public:
  using ConvNd::ConvNd;
  Tensor forward(const Tensor& x) override;
};

extern template class ConvNd<1, Conv1dOptions, false>;
extern template class ConvNd<2, Conv2dOptions, false>;
extern template class ConvNd<2, ConvTranspose2dOptions, true>;

}  // namespace tapegrad::nn
