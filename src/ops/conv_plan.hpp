// Checking a convolution's arguments and working out its geometry (conv_plan.cpp), shared by the
// convolution ops (conv.cpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kernels/conv.hpp"
#include "tapegrad/here.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad::detail {

// A convolution call as the user gave it, over 1 or 2 spatial axes (unused axes hold 1 / 0).
struct ConvArguments {
  std::string_view op;  // the public function: "conv1d", "conv2d", "conv_transpose2d"
  bool transposed = false;
  std::size_t spatial = 2;
  std::array<std::int64_t, 2> stride{1, 1}, padding{0, 0}, dilation{1, 1}, output_padding{0, 0};
  std::optional<std::string> padding_mode;  // "same" / "valid" (anything else is refused)
  std::int64_t groups = 1;
};

// What the op runs: the kernel geometry over two spatial axes (a 1-D convolution has height 1), the
// 4-D shapes the input and weight are viewed as, and the output's shape as the user sees it.
struct ConvPlan {
  kernels::ConvShape shape;
  Shape input_shape, weight_shape;  // [N, C, H, W] and [A, B, kH, kW]
  Shape output_shape;               // with the user's rank (unbatched: no batch axis)
};

// Checks the arguments as PyTorch does (ShapeError, DTypeError, ValueError naming args.op and `at`)
// and plans the convolution.
ConvPlan plan_convolution(const ConvArguments& args, const Tensor& x, const Tensor& weight, const Tensor& bias,
                          const Here& at);

}  // namespace tapegrad::detail
