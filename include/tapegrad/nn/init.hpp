// Initialisers, as torch.nn.init: each fills a tensor in place (recording off) and returns it. Random
// ones draw from `gen` (the default generator when null), so a seed gives the same weights at any
// thread count. Layers call these for PyTorch's default initialisation (see each layer).
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

#include "tapegrad/here.hpp"
#include "tapegrad/random.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad::nn::init {

enum class FanMode { fan_in, fan_out };

// torch.nn.init.calculate_gain: "linear", "conv1d", "conv2d", "sigmoid" (1), "tanh" (5/3), "relu"
// (√2), "leaky_relu" (√(2 / (1 + slope²)), slope defaulting to 0.01), "selu" (3/4). ValueError otherwise.
double calculate_gain(std::string_view nonlinearity, double param = 0.01, Here at = Here::current());
// fan_in = size(1) · receptive field, fan_out = size(0) · receptive field, the receptive field being
// the product of the sizes after the second. ValueError for fewer than 2 axes.
std::pair<std::int64_t, std::int64_t> fan_in_and_fan_out(const Tensor& t, Here at = Here::current());

Tensor& uniform_(Tensor& t, double low = 0.0, double high = 1.0, Generator* gen = nullptr, Here at = Here::current());
Tensor& normal_(Tensor& t, double mean = 0.0, double std = 1.0, Generator* gen = nullptr, Here at = Here::current());
Tensor& constant_(Tensor& t, double value, Here at = Here::current());
Tensor& zeros_(Tensor& t, Here at = Here::current());
Tensor& ones_(Tensor& t, Here at = Here::current());
// U(-a, a), a = gain · √(6 / (fan_in + fan_out)).
Tensor& xavier_uniform_(Tensor& t, double gain = 1.0, Generator* gen = nullptr, Here at = Here::current());
// N(0, σ²), σ = gain · √(2 / (fan_in + fan_out)).
Tensor& xavier_normal_(Tensor& t, double gain = 1.0, Generator* gen = nullptr, Here at = Here::current());
// U(-b, b), b = gain · √(3 / fan), gain = calculate_gain(nonlinearity, a). PyTorch's layers default to
// a = √5 with leaky_relu, which gives b = 1 / √fan_in.
Tensor& kaiming_uniform_(Tensor& t, double a = 0.0, FanMode mode = FanMode::fan_in,
                         std::string_view nonlinearity = "leaky_relu", Generator* gen = nullptr,
                         Here at = Here::current());
// N(0, σ²), σ = gain / √fan.
Tensor& kaiming_normal_(Tensor& t, double a = 0.0, FanMode mode = FanMode::fan_in,
                        std::string_view nonlinearity = "leaky_relu", Generator* gen = nullptr,
                        Here at = Here::current());
// A (semi-)orthogonal matrix from the QR decomposition of a normal draw, times gain; axes after the
// first are flattened. ValueError for fewer than 2 axes.
Tensor& orthogonal_(Tensor& t, double gain = 1.0, Generator* gen = nullptr, Here at = Here::current());

}  // namespace tapegrad::nn::init
