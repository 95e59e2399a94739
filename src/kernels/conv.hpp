// Convolution kernels: im2col / col2im and the three GEMM products that convolution, transposed
// convolution and their gradients are made of. Shapes arrive checked by the ops (src/ops/conv.cpp);
// tensors are contiguous, float32 or float64.
//
// Note [Convolution as GEMM]: a convolution relates two sides.
// - The image side is what the kernel slides over: [N, image_channels, image_h, image_w]. im2col
//   turns one image into columns: row (c, ki, kj), column (oh, ow) holds
//   image[c, oh·stride_h - pad_top + ki·dilation_h, ow·stride_w - pad_left + kj·dilation_w] (zero
//   outside), so group g's rows are one block of rows_per_group() rows.
// - The column side has one value per kernel position: [N, column_channels, column_h, column_w].
// - The weight is [column_channels, image_channels / groups, kH, kW]: group g's block W_g is
//   [column_channels / groups, rows_per_group()].
// Then
//   columns_product: column side = W_g · im2col(image)_g (+ bias)      conv2d forward, conv_transpose2d's
//                                                                      input gradient
//   image_product:   image side  = col2im(W_gᵀ · column side_g) (+ bias) conv_transpose2d forward, conv2d's
//                                                                      input gradient
//   weight_product:  W_g        = Σ_n column side_g · im2col(image)_gᵀ   the weight gradient of both
// conv2d has its input on the image side; conv_transpose2d its output. Each image of the batch is one
// work item (im2col into a per-chunk buffer, then one GEMM per group); the weight product sums fixed
// chunks of the batch into partial weights, added in chunk order (Note [Deterministic chunking]).
#pragma once

#include <cstdint>

#include "tapegrad/tensor.hpp"

namespace tapegrad::kernels {

struct ConvShape {
  std::int64_t batch = 0;
  std::int64_t groups = 1;
  std::int64_t image_channels = 0, image_h = 0, image_w = 0;
  std::int64_t column_channels = 0, column_h = 0, column_w = 0;
  std::int64_t kernel_h = 1, kernel_w = 1;
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t pad_top = 0, pad_left = 0;
  std::int64_t dilation_h = 1, dilation_w = 1;

  std::int64_t rows_per_group() const { return image_channels / groups * kernel_h * kernel_w; }
  std::int64_t positions() const { return column_h * column_w; }
  // A 1x1 kernel reading every pixel once: im2col is the image itself.
  bool pointwise() const {
    return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 && pad_left == 0 &&
           column_h == image_h && column_w == image_w;
  }
};

// [N, column_channels, column_h, column_w] = W · im2col(image) (+ bias [column_channels] if defined).
Tensor columns_product(const ConvShape& shape, const Tensor& image, const Tensor& weight, const Tensor& bias);
// [N, image_channels, image_h, image_w] = col2im(Wᵀ · columns) (+ bias [image_channels] if defined).
Tensor image_product(const ConvShape& shape, const Tensor& columns, const Tensor& weight, const Tensor& bias);
// [column_channels, image_channels / groups, kernel_h, kernel_w] = Σ_n columns_n · im2col(image_n)ᵀ.
Tensor weight_product(const ConvShape& shape, const Tensor& columns, const Tensor& image);

// [C] = Σ over the batch and the positions of g [N, C, H, W]: the bias gradient. Each channel is summed
// in one fixed order (eight running sums per row, rows added in double), whatever the thread count.
Tensor channel_sum(const Tensor& g);

// [N, image_channels · kernel_h · kernel_w, column_h · column_w]: im2col of each image.
Tensor im2col(const ConvShape& shape, const Tensor& image);
// [N, image_channels, image_h, image_w]: col2im, the adjoint of im2col (overlapping taps add up).
Tensor col2im(const ConvShape& shape, const Tensor& columns);

}  // namespace tapegrad::kernels
