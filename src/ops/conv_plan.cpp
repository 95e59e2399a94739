// A convolution's arguments checked in PyTorch's order and with its rules (aten's
// check_shape_forward and _convolution_mode), and its geometry worked out without overflow.
#include "ops/conv_plan.hpp"

#include "internal.hpp"

namespace tapegrad::detail {
namespace {

std::string list(const std::array<std::int64_t, 2>& values, std::size_t spatial) {
  if (spatial == 1) return std::to_string(values[0]);
  std::string text = "(";
  text += std::to_string(values[0]);
  text += ", ";
  text += std::to_string(values[1]);
  text += ")";
  return text;
}

// The layout names the user knows: [C, L] / [N, C, L] or [C, H, W] / [N, C, H, W].
std::string layouts(std::size_t spatial) {
  return spatial == 1 ? "[C, L] (unbatched) or [N, C, L] (batched)" : "[C, H, W] (unbatched) or [N, C, H, W] (batched)";
}

void check_dtypes(const ConvArguments& args, const Tensor& x, const Tensor& weight, const Tensor& bias,
                  const Here& at) {
  require_defined(args.op, x, at);
  require_defined(args.op, weight, at);
  if (!is_floating(x.dtype()))
    fail<DTypeError>(args.op, "the input must have a floating dtype (float32 or float64)", describe(x), at);
  if (weight.dtype() != x.dtype())
    fail<DTypeError>(args.op, "the weight must have the input's dtype",
                     "input " + describe(x) + ", weight " + describe(weight), at);
  if (bias.defined() && bias.dtype() != x.dtype())
    fail<DTypeError>(args.op, "the bias must have the input's dtype",
                     "input " + describe(x) + ", bias " + describe(bias), at);
}

void check_options(const ConvArguments& args, const Here& at) {
  const std::size_t n = args.spatial;
  for (std::size_t i = 0; i < n; ++i) {
    if (args.stride[i] <= 0) fail<ValueError>(args.op, "the stride must be positive", list(args.stride, n), at);
    if (args.dilation[i] <= 0) fail<ValueError>(args.op, "the dilation must be positive", list(args.dilation, n), at);
    if (!args.padding_mode && args.padding[i] < 0)
      fail<ValueError>(args.op, "the padding must not be negative", list(args.padding, n), at);
  }
  if (args.groups <= 0) fail<ValueError>(args.op, "groups must be positive", std::to_string(args.groups), at);
  if (args.transposed)
    for (std::size_t i = 0; i < n; ++i)
      if (args.output_padding[i] < 0 ||
          (args.output_padding[i] >= args.stride[i] && args.output_padding[i] >= args.dilation[i]))
        fail<ValueError>(args.op, "the output padding must be non-negative and smaller than the stride or the dilation",
                         "output_padding " + list(args.output_padding, n) + ", stride " + list(args.stride, n) +
                             ", dilation " + list(args.dilation, n),
                         at);
  if (args.padding_mode && *args.padding_mode != "same" && *args.padding_mode != "valid")
    fail<ValueError>(args.op, "the padding string must be \"same\" or \"valid\"", "\"" + *args.padding_mode + "\"", at);
  if (args.padding_mode == "same")
    for (std::size_t i = 0; i < n; ++i)
      if (args.stride[i] != 1)
        fail<ValueError>(args.op, "padding=\"same\" needs stride 1", "stride " + list(args.stride, n), at);
}

// A size worked out in 128 bits, printed even when it does not fit int64.
std::string text(__int128 v) {
  unsigned __int128 magnitude = v < 0 ? -static_cast<unsigned __int128>(v) : static_cast<unsigned __int128>(v);
  char buffer[48];
  char* const end = buffer + sizeof buffer;
  char* first = end;
  do {
    *--first = static_cast<char>('0' + static_cast<int>(magnitude % 10));
    magnitude /= 10;
  } while (magnitude > 0);
  if (v < 0) *--first = '-';
  return std::string(first, end);
}

// v when it fits int64; ValueError otherwise.
std::int64_t fit(const ConvArguments& args, __int128 v, const char* what, const Here& at) {
  if (v > INT64_MAX || v < INT64_MIN)
    fail<ValueError>(args.op, "the sizes must fit in int64", std::string(what) + " " + text(v), at);
  return static_cast<std::int64_t>(v);
}

}  // namespace

ConvPlan plan_convolution(const ConvArguments& args, const Tensor& x, const Tensor& weight, const Tensor& bias,
                          const Here& at) {
  check_dtypes(args, x, weight, bias, at);
  const std::size_t n = args.spatial;
  const auto rank = static_cast<std::int64_t>(n);
  if (x.dim() != rank + 1 && x.dim() != rank + 2)
    fail<ShapeError>(args.op, "the input must be " + layouts(n), "input " + to_string(x.shape()), at);
  if (weight.dim() != rank + 2)
    fail<ShapeError>(args.op,
                     n == 1 ? "the weight must be 3-D ([out, in / groups, kL])"
                            : (args.transposed ? "the weight must be 4-D ([in, out / groups, kH, kW])"
                                               : "the weight must be 4-D ([out, in / groups, kH, kW])"),
                     "weight " + to_string(weight.shape()), at);
  check_options(args, at);
  const bool batched = x.dim() == rank + 2;
  const Shape& xs = x.shape();
  const Shape& ws = weight.shape();
  const std::int64_t batch = batched ? xs[0] : 1;
  const std::int64_t channels = xs[batched ? 1 : 0];
  for (std::size_t i = 0; i < n; ++i)
    if (xs[xs.size() - n + i] == 0)
      fail<ShapeError>(
          args.op,
          "the input must have a positive size on each spatial axis (only the batch or the channels may be empty)",
          "input " + to_string(xs), at);
  for (std::size_t i = 0; i < n; ++i)
    if (ws[2 + i] <= 0)
      fail<ShapeError>(args.op, "the kernel must have a positive size on each spatial axis", "weight " + to_string(ws),
                       at);
  if (ws[0] < args.groups || ws[0] % args.groups != 0)
    fail<ShapeError>(args.op, "the weight's first axis must be a positive multiple of groups",
                     "weight " + to_string(ws) + " with groups=" + std::to_string(args.groups), at);
  const std::int64_t expected_channels = args.transposed ? ws[0] : ws[1] * args.groups;
  if (channels != expected_channels)
    fail<ShapeError>(args.op,
                     args.transposed ? "the input's channels must equal the weight's first axis"
                                     : "the input's channels must equal the weight's second axis times groups",
                     "input " + to_string(xs) + ", weight " + to_string(ws) + ", groups=" + std::to_string(args.groups),
                     at);
  const std::int64_t out_channels = args.transposed ? ws[1] * args.groups : ws[0];
  if (bias.defined() && (bias.dim() != 1 || bias.shape()[0] != out_channels))
    fail<ShapeError>(args.op, "the bias must be 1-D with one value per output channel",
                     "bias " + to_string(bias.shape()) + " for " + std::to_string(out_channels) + " output channels",
                     at);

  // Sizes per spatial axis (a 1-D convolution is a 2-D one of height 1).
  std::array<std::int64_t, 2> in{1, 1}, kernel{1, 1}, out{1, 1}, pad_low{0, 0}, pad_high{0, 0};
  std::array<std::int64_t, 2> stride{1, 1}, dilation{1, 1};
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t axis = 2 - n + i;  // 1-D: the width axis
    in[axis] = xs[xs.size() - n + i];
    kernel[axis] = ws[2 + i];
    stride[axis] = args.stride[i];
    dilation[axis] = args.dilation[i];
    const __int128 extent = static_cast<__int128>(dilation[axis]) * (kernel[axis] - 1) + 1;
    if (args.padding_mode == "same") {
      // PyTorch's rule: the extra padding of an odd total goes at the end.
      pad_low[axis] = fit(args, (extent - 1) / 2, "the padding", at);
      pad_high[axis] = fit(args, extent - 1 - (extent - 1) / 2, "the padding", at);
    } else if (!args.padding_mode) {
      pad_low[axis] = pad_high[axis] = args.padding[i];
    }
    if (!args.transposed) {
      const __int128 padded = static_cast<__int128>(in[axis]) + pad_low[axis] + pad_high[axis];
      if (padded < extent)
        fail<ShapeError>(args.op, "the padded input must be at least as large as the dilated kernel",
                         "padded input " + text(padded) + ", dilated kernel " + text(extent) + " on spatial axis " +
                             std::to_string(i),
                         at);
      out[axis] = fit(args, (padded - extent) / stride[axis] + 1, "the output size", at);
    } else {
      const __int128 size = static_cast<__int128>(in[axis] - 1) * stride[axis] - pad_low[axis] - pad_high[axis] +
                            extent + args.output_padding[i];
      if (size <= 0)
        fail<ShapeError>(
            args.op, "the output must have a positive size on each spatial axis",
            "input " + to_string(xs) + " gives output size " + text(size) + " on spatial axis " + std::to_string(i),
            at);
      out[axis] = fit(args, size, "the output size", at);
    }
  }

  ConvPlan plan;
  kernels::ConvShape& s = plan.shape;
  s.batch = batch;
  s.groups = args.groups;
  // The image side is the input of a convolution and the output of a transposed one.
  const auto& image = args.transposed ? out : in;
  const auto& columns = args.transposed ? in : out;
  s.image_channels = args.transposed ? out_channels : channels;
  s.column_channels = args.transposed ? channels : out_channels;
  s.image_h = image[0], s.image_w = image[1];
  s.column_h = columns[0], s.column_w = columns[1];
  s.kernel_h = kernel[0], s.kernel_w = kernel[1];
  s.stride_h = stride[0], s.stride_w = stride[1];
  s.pad_top = pad_low[0], s.pad_left = pad_low[1];
  s.dilation_h = dilation[0], s.dilation_w = dilation[1];
  plan.input_shape = {batch, channels, in[0], in[1]};
  plan.weight_shape = {ws[0], ws[1], kernel[0], kernel[1]};
  if (batched) plan.output_shape.push_back(batch);
  plan.output_shape.push_back(out_channels);
  for (std::size_t i = 0; i < n; ++i) plan.output_shape.push_back(out[2 - n + i]);
  require_sizes(args.op, plan.output_shape, x.dtype(), at);
  // The columns of one image must be addressable too.
  require_sizes(args.op, {s.image_channels, s.kernel_h, s.kernel_w, s.column_h, s.column_w}, x.dtype(), at);
  return plan;
}

}  // namespace tapegrad::detail
