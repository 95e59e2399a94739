// Convolutions with PyTorch's semantics (torch.nn.functional.conv1d / conv2d / conv_transpose2d):
// NCHW (NCL for 1-D), weight [out, in / groups, kH, kW] ([in, out / groups, kH, kW] when transposed),
// an optional bias [out]. An unbatched input ([C, H, W], [C, L]) gives an unbatched output.
// float32 and float64; input, weight and bias must share one dtype.
//
// The options read like PyTorch's keyword arguments, in PyTorch's order:
//
//   conv2d(x, w, b, {.stride = 2, .padding = 1});                 // F.conv2d(x, w, b, stride=2, padding=1)
//   conv2d(x, w, {}, {.padding = "same", .dilation = {1, 2}});   // no bias; one value per axis
//   conv_transpose2d(x, w, b, {.stride = 2, .padding = 1, .output_padding = 1});
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "tapegrad/here.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad {

// One value per spatial axis, like PyTorch's int-or-tuple arguments: a single number stands for every
// axis (stride = 2), a braced list gives one per axis (stride = {2, 1}).
template <std::size_t N>
struct Spatial {
  std::array<std::int64_t, N> values{};
  Spatial(std::int64_t value) { values.fill(value); }
  template <std::integral... I>
  requires(N > 1 && sizeof...(I) == N) Spatial(I... per_axis) : values{static_cast<std::int64_t>(per_axis)...} {}
  std::int64_t operator[](std::size_t axis) const { return values[axis]; }
};

// Padding: sizes (as Spatial), or PyTorch's strings "valid" (no padding) and "same" (the output keeps
// the input's size; stride 1 only; when the dilated kernel's extent minus one is odd, the extra row
// or column goes at the end, as in PyTorch). Another string is a ValueError when the op runs.
template <std::size_t N>
struct ConvPadding {
  Spatial<N> sizes{0};
  std::optional<std::string> mode;  // "same" or "valid" when given as a string
  ConvPadding(std::int64_t value) : sizes(value) {}
  template <std::integral... I>
  requires(N > 1 && sizeof...(I) == N) ConvPadding(I... per_axis) : sizes(per_axis...) {}
  // A string literal (a template, so that the literal 0 stays a size, not a null pointer).
  template <std::size_t K>
  ConvPadding(const char (&text)[K]) : mode(text) {}
  ConvPadding(std::string text) : mode(std::move(text)) {}
};

struct Conv1dOptions {
  Spatial<1> stride = 1;
  ConvPadding<1> padding = 0;
  Spatial<1> dilation = 1;
  std::int64_t groups = 1;
};

struct Conv2dOptions {
  Spatial<2> stride = 1;
  ConvPadding<2> padding = 0;
  Spatial<2> dilation = 1;
  std::int64_t groups = 1;
};

struct ConvTranspose2dOptions {
  Spatial<2> stride = 1;
  Spatial<2> padding = 0;         // removed from each side of the full output
  Spatial<2> output_padding = 0;  // added at the end of each axis; smaller than stride or dilation
  std::int64_t groups = 1;
  Spatial<2> dilation = 1;
};

// y[n, o, i] = bias[o] + Σ_{c in o's group, k} w[o, c, k] · x[n, c, i·stride + k·dilation - padding].
// x [N, C, L] or [C, L]; weight [O, C / groups, kL]; bias [O] or undefined. Output length
// (L + 2·padding - dilation·(kL - 1) - 1) / stride + 1. The gradients are the transposed convolution
// (input) and the correlation of input and output gradient (weight).
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, const Conv1dOptions& options = {},
              Here at = Here::current());

// The same over two spatial axes: x [N, C, H, W] or [C, H, W]; weight [O, C / groups, kH, kW].
// Output [N, O, oH, oW] with oH = (H + 2·pH - dH·(kH - 1) - 1) / sH + 1 (likewise oW).
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, const Conv2dOptions& options = {},
              Here at = Here::current());

// The adjoint of conv2d with respect to its input (the "deconvolution"): each input element scatters
// w · x into the output. x [N, C_in, H, W] or [C_in, H, W]; weight [C_in, C_out / groups, kH, kW];
// bias [C_out]. Output size (H - 1)·sH - 2·pH + dH·(kH - 1) + output_padding_H + 1 (likewise W).
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {},
                        const ConvTranspose2dOptions& options = {}, Here at = Here::current());

}  // namespace tapegrad
