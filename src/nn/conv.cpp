// Conv1d, Conv2d, ConvTranspose2d (include/tapegrad/nn/conv.hpp): PyTorch's _ConvNd checks at
// construction, its parameter shapes and initialisation, its extra_repr; forward is the functional op.
#include "tapegrad/nn/conv.hpp"

#include <array>
#include <climits>
#include <cmath>
#include <optional>
#include <utility>

#include "tapegrad/error.hpp"
#include "tapegrad/nn/init.hpp"

namespace tapegrad::nn {

namespace {

template <std::size_t N>
std::string tuple(const std::array<std::int64_t, N>& values) {
  std::string text = "(";
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(values[i]);
  }
  text += N == 1 ? ",)" : ")";
  return text;
}

// What PyTorch's _ConvNd checks when a layer is built, and the sizes the weight is made of. Returns
// in_channels, for the member initialiser (the weight is made after).
template <std::size_t N>
std::int64_t checked_layer(const char* layer, std::int64_t in_channels, std::int64_t out_channels,
                           const Spatial<N>& kernel_size, std::int64_t groups, const Spatial<N>& stride,
                           const std::optional<std::string>& padding_mode, Here at) {
  if (in_channels < 0 || out_channels < 0)
    throw ValueError(layer, "the channel counts must be non-negative",
                     "in_channels=" + std::to_string(in_channels) + ", out_channels=" + std::to_string(out_channels),
                     at);
  if (groups <= 0) throw ValueError(layer, "groups must be positive", std::to_string(groups), at);
  if (in_channels % groups != 0)
    throw ValueError(layer, "in_channels must be divisible by groups",
                     "in_channels=" + std::to_string(in_channels) + ", groups=" + std::to_string(groups), at);
  if (out_channels % groups != 0)
    throw ValueError(layer, "out_channels must be divisible by groups",
                     "out_channels=" + std::to_string(out_channels) + ", groups=" + std::to_string(groups), at);
  for (std::size_t i = 0; i < N; ++i)
    if (kernel_size[i] <= 0)
      throw ValueError(layer, "the kernel size must be positive", "kernel_size=" + tuple(kernel_size.values), at);
  // The weight ([out, in / groups, kernel...] or, transposed, [in, out / groups, kernel...]) must be
  // addressable. Each factor is below 2^63 and the loop stops past 2^63, so 128 bits hold the product.
  __int128 weight_size = static_cast<__int128>(out_channels) * (in_channels / groups);
  for (std::size_t i = 0; i < N && weight_size <= INT64_MAX; ++i) weight_size *= kernel_size[i];
  if (weight_size > INT64_MAX / 8)
    throw ValueError(layer, "the weight's size in bytes must fit in int64",
                     "in_channels=" + std::to_string(in_channels) + ", out_channels=" + std::to_string(out_channels) +
                         ", kernel_size=" + tuple(kernel_size.values),
                     at);
  if (padding_mode && *padding_mode != "same" && *padding_mode != "valid")
    throw ValueError(layer, "the padding string must be \"same\" or \"valid\"", "\"" + *padding_mode + "\"", at);
  for (std::size_t i = 0; i < N; ++i)
    if (padding_mode == "same" && stride[i] != 1)
      throw ValueError(layer, "padding=\"same\" needs stride 1", "stride=" + tuple(stride.values), at);
  return in_channels;
}

// [first, second, kernel...]
template <std::size_t N>
Shape weight_shape(std::int64_t first, std::int64_t second, const Spatial<N>& kernel_size) {
  Shape shape{first, second};
  for (std::size_t i = 0; i < N; ++i) shape.push_back(kernel_size[i]);
  return shape;
}

// PyTorch's _ConvNd.reset_parameters: kaiming_uniform_(a=√5), which is U(-1/√fan_in, 1/√fan_in), and
// the bias from the same bound. With fan_in 0 there is no bound: PyTorch leaves the bias as torch.empty
// made it; here it is zero, a defined value.
void reset_conv(Tensor& weight, Tensor& bias, Generator* gen) {
  const std::int64_t fan_in = init::fan_in_and_fan_out(weight).first;
  if (fan_in == 0) {
    if (bias.defined()) init::zeros_(bias);
    return;
  }
  if (weight.numel() > 0) init::kaiming_uniform_(weight, std::sqrt(5.0), init::FanMode::fan_in, "leaky_relu", gen);
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  if (bias.defined()) init::uniform_(bias, -bound, bound, gen);
}

// PyTorch's _ConvNd.extra_repr: channels, kernel and stride always; the rest when not the default.
template <std::size_t N>
std::string conv_repr(std::int64_t in_channels, std::int64_t out_channels, const Spatial<N>& kernel_size,
                      const Spatial<N>& stride, const std::string& padding, const Spatial<N>& dilation,
                      const Spatial<N>& output_padding, std::int64_t groups, bool bias) {
  std::string text = std::to_string(in_channels) + ", " + std::to_string(out_channels);
  text += ", kernel_size=" + tuple(kernel_size.values) + ", stride=" + tuple(stride.values);
  if (padding != tuple(Spatial<N>(0).values)) text += ", padding=" + padding;
  if (dilation.values != Spatial<N>(1).values) text += ", dilation=" + tuple(dilation.values);
  if (output_padding.values != Spatial<N>(0).values) text += ", output_padding=" + tuple(output_padding.values);
  if (groups != 1) text += ", groups=" + std::to_string(groups);
  if (!bias) text += ", bias=false";
  return text;
}

// The padding as PyTorch prints it: a tuple, or the string given.
template <std::size_t N>
std::string padding_text(const ConvPadding<N>& padding) {
  return padding.mode ? *padding.mode : tuple(padding.sizes.values);
}
template <std::size_t N>
std::string padding_text(const Spatial<N>& padding) {
  return tuple(padding.values);
}
template <std::size_t N>
std::optional<std::string> padding_mode(const ConvPadding<N>& padding) {
  return padding.mode;
}
template <std::size_t N>
std::optional<std::string> padding_mode(const Spatial<N>&) {
  return std::nullopt;
}

template <std::size_t N, bool Transposed>
constexpr const char* layer_name() {
  if constexpr (Transposed)
    return "ConvTranspose2d";
  else if constexpr (N == 1)
    return "Conv1d";
  else
    return "Conv2d";
}

}  // namespace

template <std::size_t N, class Options, bool Transposed>
ConvNd<N, Options, Transposed>::ConvNd(std::int64_t in_channels, std::int64_t out_channels, Spatial<N> kernel_size,
                                       Options options, bool bias, Here at)
    : in_channels(checked_layer(layer_name<N, Transposed>(), in_channels, out_channels, kernel_size, options.groups,
                                options.stride, padding_mode(options.padding), at)),
      out_channels(out_channels),
      kernel_size(kernel_size),
      options(std::move(options)),
      weight(register_parameter(
          "weight",
          empty(Transposed ? weight_shape(in_channels, out_channels / this->options.groups, kernel_size)
                           : weight_shape(out_channels, in_channels / this->options.groups, kernel_size),
                float32, at),
          true, at)),
      bias(register_parameter("bias", bias ? empty({out_channels}, float32, at) : Tensor(), true, at)) {
  reset_parameters();
}

template <std::size_t N, class Options, bool Transposed>
void ConvNd<N, Options, Transposed>::reset_parameters(Generator* gen) {
  reset_conv(weight, bias, gen);
}

template <std::size_t N, class Options, bool Transposed>
std::string ConvNd<N, Options, Transposed>::extra_repr() const {
  Spatial<N> output_padding(0);
  if constexpr (Transposed) output_padding = options.output_padding;
  return conv_repr(in_channels, out_channels, kernel_size, options.stride, padding_text(options.padding),
                   options.dilation, output_padding, options.groups, bias.defined());
}

template class ConvNd<1, Conv1dOptions, false>;
template class ConvNd<2, Conv2dOptions, false>;
template class ConvNd<2, ConvTranspose2dOptions, true>;

Tensor Conv1d::forward(const Tensor& x) { return conv1d(x, weight, bias, options, caller()); }
Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, options, caller()); }
Tensor ConvTranspose2d::forward(const Tensor& x) { return conv_transpose2d(x, weight, bias, options, caller()); }

}  // namespace tapegrad::nn
