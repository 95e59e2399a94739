// conv1d, conv2d and conv_transpose2d: one recorded op over 4-D operands (a 1-D convolution is a 2-D one
// of height 1; an unbatched input gets a batch axis of 1), computed by the products of
// Note [Convolution as GEMM] (src/kernels/conv.hpp).
//
// Note [Convolution backward]: first-order gradients take the fused kernels: the input gradient is the
// other product (col2im of Wᵀ · gy, or W · im2col of gy), the weight gradient the weight product, the
// bias gradient a sum. Under create_graph the same gradients are written with recorded ops: im2col
// and col2im as ops (each the other's backward, both linear), matmul and sum. Differentiating them
// again gives the second-order terms (gradgradcheck), at the price of im2col buffers for the whole batch.
#include "tapegrad/ops/conv.hpp"

#include "internal.hpp"
#include "kernels/conv.hpp"
#include "kernels/copy.hpp"
#include "ops/conv_plan.hpp"
#include "tapegrad/function.hpp"
#include "tapegrad/ops/linalg.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shape.hpp"

namespace tapegrad {
namespace {

using kernels::ConvShape;

// The kernels read contiguous buffers.
Tensor dense(const Tensor& t) { return !t.defined() || t.is_contiguous() ? t : kernels::cast(t, t.dtype()); }

Tensor col2im_op(const Tensor& columns, const ConvShape& s, const Here& at);

// im2col [N, C, H, W] -> [N, C·kH·kW, positions] as a recorded op; its backward is col2im.
Tensor im2col_op(const Tensor& image, const ConvShape& s, const Here& at) {
  return record(
      "im2col", {image}, kernels::im2col(s, dense(image)), {},
      [s, at](Context& bw) {
        bw.accumulate(0, bw.create_graph() ? col2im_op(bw.gy(), s, at) : kernels::col2im(s, dense(bw.gy())));
      },
      at);
}

// col2im, the adjoint of im2col, as a recorded op; its backward is im2col.
Tensor col2im_op(const Tensor& columns, const ConvShape& s, const Here& at) {
  return record(
      "col2im", {columns}, kernels::col2im(s, dense(columns)), {},
      [s, at](Context& bw) {
        bw.accumulate(0, bw.create_graph() ? im2col_op(bw.gy(), s, at) : kernels::im2col(s, dense(bw.gy())));
      },
      at);
}

// Note [Convolution backward], the create_graph half: the gradients as ops.
void differentiable_backward(Context& bw, const ConvShape& s, bool transposed, const Here& at) {
  const Tensor& gy = bw.gy();
  const std::int64_t groups = s.groups, rows = s.rows_per_group(), per_group = s.column_channels / groups;
  const std::int64_t batch = s.batch, positions = s.positions();
  const Tensor weight = reshape(bw.saved(1), {groups, per_group, rows}, at);  // W_g [per_group, rows]
  // The column side [N, groups, per_group, positions] and the image side's columns [N, groups, rows,
  // positions]: gy and im2col(x) for a convolution, x and im2col(gy) for a transposed one.
  const Tensor columns = reshape(transposed ? bw.saved(0) : gy, {batch, groups, per_group, positions}, at);
  const bool need_taps = transposed || bw.needs_grad(1);
  const Tensor taps =
      need_taps ? reshape(im2col_op(transposed ? gy : bw.saved(0), s, at), {batch, groups, rows, positions}, at)
                : Tensor();
  if (bw.needs_grad(0)) {
    if (transposed) {
      bw.accumulate(0, reshape(matmul(weight, taps, at), bw.input_shape(0), at));  // W_g · im2col(gy)
    } else {
      Tensor product = matmul(transpose(weight, 1, 2, at), columns, at);  // W_gᵀ · gy
      bw.accumulate(0, col2im_op(reshape(product, {batch, groups * rows, positions}, at), s, at));
    }
  }
  if (bw.needs_grad(1))
    bw.accumulate(1,
                  reshape(sum(matmul(columns, transpose(taps, 2, 3, at), at), {0}, false, at), bw.input_shape(1), at));
  if (bw.num_inputs() == 3 && bw.needs_grad(2)) bw.accumulate(2, sum(gy, {0, 2, 3}, false, at));
}

// The recorded convolution of 4-D operands x [N, C, H, W] and weight [A, B, kH, kW] (bias undefined:
// none). The image side of `s` is x for a convolution and the output for a transposed one.
Tensor convolution(std::string_view op, const ConvShape& s, bool transposed, const Tensor& x, const Tensor& weight,
                   const Tensor& bias, const Here& at) {
  const Tensor xd = dense(x), wd = dense(weight), bd = dense(bias);
  Tensor y = transposed ? kernels::image_product(s, xd, wd, bd) : kernels::columns_product(s, xd, wd, bd);
  std::vector<Tensor> inputs{x, weight};
  if (bias.defined()) inputs.push_back(bias);
  return record(
      op, inputs, {y}, {x, weight},
      [s, transposed, at](Context& bw) {
        if (bw.create_graph()) return differentiable_backward(bw, s, transposed, at);
        const Tensor gy = dense(bw.gy()), x = dense(bw.saved(0)), weight = dense(bw.saved(1));
        if (bw.needs_grad(0))
          bw.accumulate(
              0, transposed ? kernels::columns_product(s, gy, weight, {}) : kernels::image_product(s, gy, weight, {}));
        if (bw.needs_grad(1))
          bw.accumulate(1, transposed ? kernels::weight_product(s, x, gy) : kernels::weight_product(s, gy, x));
        if (bw.num_inputs() == 3 && bw.needs_grad(2)) bw.accumulate(2, kernels::channel_sum(gy));
      },
      at)[0];
}

// Checks, views the operands as 4-D, convolves, and gives the output the user's rank.
Tensor run(const detail::ConvArguments& args, const Tensor& x, const Tensor& weight, const Tensor& bias,
           const Here& at) {
  const detail::ConvPlan plan = detail::plan_convolution(args, x, weight, bias, at);
  const Tensor x4 = x.shape() == plan.input_shape ? x : reshape(x, plan.input_shape, at);
  const Tensor w4 = weight.shape() == plan.weight_shape ? weight : reshape(weight, plan.weight_shape, at);
  Tensor y = convolution(args.op, plan.shape, args.transposed, x4, w4, bias, at);
  return y.shape() == plan.output_shape ? y : reshape(y, plan.output_shape, at);
}

}  // namespace

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv1dOptions& options, Here at) {
  detail::OpScope scope("conv1d", at, x, weight, bias);
  const detail::ConvArguments args{.op = "conv1d",
                                   .spatial = 1,
                                   .stride = {options.stride[0], 1},
                                   .padding = {options.padding.sizes[0], 0},
                                   .dilation = {options.dilation[0], 1},
                                   .padding_mode = options.padding.mode,
                                   .groups = options.groups};
  return scope.finish(run(args, x, weight, bias, at));
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options, Here at) {
  detail::OpScope scope("conv2d", at, x, weight, bias);
  const detail::ConvArguments args{.op = "conv2d",
                                   .stride = options.stride.values,
                                   .padding = options.padding.sizes.values,
                                   .dilation = options.dilation.values,
                                   .padding_mode = options.padding.mode,
                                   .groups = options.groups};
  return scope.finish(run(args, x, weight, bias, at));
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const ConvTranspose2dOptions& options, Here at) {
  detail::OpScope scope("conv_transpose2d", at, x, weight, bias);
  const detail::ConvArguments args{.op = "conv_transpose2d",
                                   .transposed = true,
                                   .stride = options.stride.values,
                                   .padding = options.padding.values,
                                   .dilation = options.dilation.values,
                                   .output_padding = options.output_padding.values,
                                   .padding_mode = std::nullopt,
                                   .groups = options.groups};
  return scope.finish(run(args, x, weight, bias, at));
}

}  // namespace tapegrad
