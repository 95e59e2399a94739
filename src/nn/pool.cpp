// Pooling layers: the ops of ops/pool.hpp with their arguments fixed at construction.
#include "tapegrad/nn/pool.hpp"

#include <algorithm>
#include <string>
#include <string_view>

#include "tapegrad/error.hpp"

namespace tapegrad::nn {

namespace {

// What torch's repr shows: "2" for one number, "(3, 2)" for two.
std::string repr(const PoolSize2& size) {
  if (size.height == size.width) return std::to_string(size.width);
  std::string text = "(";  // appended piece by piece: "(" + std::string&& trips GCC 12's -Wrestrict
  text += std::to_string(size.height);
  text += ", ";
  text += std::to_string(size.width);
  return text += ")";
}
std::string repr(bool on) { return on ? "true" : "false"; }
std::string max_pool_repr(const std::string& kernel_size, const std::string& stride, const std::string& padding,
                          const std::string& dilation, bool ceil_mode) {
  return "kernel_size=" + kernel_size + ", stride=" + stride + ", padding=" + padding + ", dilation=" + dilation +
         ", ceil_mode=" + repr(ceil_mode);
}

// The rules the pooling ops check at forward that need no input, checked at construction.
struct Checker {
  std::string_view layer;
  const Here& at;

  void at_least(std::string_view name, std::int64_t value, std::int64_t low) const {
    if (value < low)
      throw ValueError(layer, std::string(name) + " must be at least " + std::to_string(low), std::to_string(value),
                       at);
  }
  // kernel, stride, dilation >= 1 and 0 <= padding <= kernel / 2, one spatial axis.
  void window(std::int64_t kernel, std::int64_t stride, std::int64_t padding, std::int64_t dilation) const {
    at_least("kernel_size", kernel, 1);
    at_least("stride", stride, 1);
    at_least("dilation", dilation, 1);
    at_least("padding", padding, 0);
    if (padding > kernel / 2)
      throw ValueError(layer, "padding must be at most half the kernel size",
                       "padding " + std::to_string(padding) + ", kernel_size " + std::to_string(kernel), at);
  }
  void window(const PoolSize2& kernel, const PoolSize2& stride, const PoolSize2& padding,
              const PoolSize2& dilation) const {
    given("kernel_size", kernel);
    window(kernel.height, stride.height, padding.height, dilation.height);
    window(kernel.width, stride.width, padding.width, dilation.width);
  }
  void given(std::string_view name, const PoolSize2& size) const {
    if (!size.given) throw ValueError(layer, std::string(name) + " must be given", "{}", at);
  }
};

// A 2-d size argument with its default when not given.
PoolSize2 or_default(const PoolSize2& size, const PoolSize2& fallback) { return size.given ? size : fallback; }

}  // namespace

// ------------------------------------------------------------------ max pooling

MaxPool1d::MaxPool1d(std::int64_t kernel_size_, std::optional<std::int64_t> stride_, std::int64_t padding_,
                     std::int64_t dilation_, bool return_indices_, bool ceil_mode_, Here at)
    : kernel_size(kernel_size_),
      stride(stride_.value_or(kernel_size_)),
      padding(padding_),
      dilation(dilation_),
      return_indices(return_indices_),
      ceil_mode(ceil_mode_) {
  Checker{"MaxPool1d", at}.window(kernel_size, stride, padding, dilation);
}

Tensor MaxPool1d::forward(const Tensor& x) {
  return max_pool1d(x, kernel_size, stride, padding, dilation, ceil_mode, caller());
}

ValuesIndices MaxPool1d::forward_with_indices(const Tensor& x, Here at) {
  Call call(*this, at);
  return max_pool1d_with_indices(x, kernel_size, stride, padding, dilation, ceil_mode, at);
}

std::string MaxPool1d::extra_repr() const {
  return max_pool_repr(std::to_string(kernel_size), std::to_string(stride), std::to_string(padding),
                       std::to_string(dilation), ceil_mode);
}

MaxPool2d::MaxPool2d(PoolSize2 kernel_size_, PoolSize2 stride_, PoolSize2 padding_, PoolSize2 dilation_,
                     bool return_indices_, bool ceil_mode_, Here at)
    : kernel_size(kernel_size_),
      stride(or_default(stride_, kernel_size_)),
      padding(or_default(padding_, 0)),
      dilation(or_default(dilation_, 1)),
      return_indices(return_indices_),
      ceil_mode(ceil_mode_) {
  Checker{"MaxPool2d", at}.window(kernel_size, stride, padding, dilation);
}

Tensor MaxPool2d::forward(const Tensor& x) {
  return max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode, caller());
}

ValuesIndices MaxPool2d::forward_with_indices(const Tensor& x, Here at) {
  Call call(*this, at);
  return max_pool2d_with_indices(x, kernel_size, stride, padding, dilation, ceil_mode, at);
}

std::string MaxPool2d::extra_repr() const {
  return max_pool_repr(repr(kernel_size), repr(stride), repr(padding), repr(dilation), ceil_mode);
}

// ------------------------------------------------------------------ average pooling

AvgPool1d::AvgPool1d(std::int64_t kernel_size_, std::optional<std::int64_t> stride_, std::int64_t padding_,
                     bool ceil_mode_, bool count_include_pad_, Here at)
    : kernel_size(kernel_size_),
      stride(stride_.value_or(kernel_size_)),
      padding(padding_),
      ceil_mode(ceil_mode_),
      count_include_pad(count_include_pad_) {
  Checker{"AvgPool1d", at}.window(kernel_size, stride, padding, 1);
}

Tensor AvgPool1d::forward(const Tensor& x) {
  return avg_pool1d(x, kernel_size, stride, padding, ceil_mode, count_include_pad, caller());
}

std::string AvgPool1d::extra_repr() const {  // torch keeps AvgPool1d's sizes as 1-tuples
  std::string text = "kernel_size=(";
  text += std::to_string(kernel_size) + ",), stride=(" + std::to_string(stride);
  text += ",), padding=(" + std::to_string(padding);
  return text += ",)";
}

AvgPool2d::AvgPool2d(PoolSize2 kernel_size_, PoolSize2 stride_, PoolSize2 padding_, bool ceil_mode_,
                     bool count_include_pad_, std::optional<std::int64_t> divisor_override_, Here at)
    : kernel_size(kernel_size_),
      stride(or_default(stride_, kernel_size_)),
      padding(or_default(padding_, 0)),
      ceil_mode(ceil_mode_),
      count_include_pad(count_include_pad_),
      divisor_override(divisor_override_) {
  const Checker check{"AvgPool2d", at};
  check.window(kernel_size, stride, padding, 1);
  if (divisor_override && *divisor_override == 0)
    throw ValueError("AvgPool2d", "divisor_override must not be zero", "0", at);
}

Tensor AvgPool2d::forward(const Tensor& x) {
  return avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, caller());
}

std::string AvgPool2d::extra_repr() const {
  return "kernel_size=" + repr(kernel_size) + ", stride=" + repr(stride) + ", padding=" + repr(padding);
}

// ------------------------------------------------------------------ adaptive pooling

AdaptiveAvgPool2d::AdaptiveAvgPool2d(PoolSize2 output_size_, Here at) : output_size(output_size_) {
  const Checker check{"AdaptiveAvgPool2d", at};
  check.given("output_size", output_size);
  check.at_least("output_size", std::min(output_size.height, output_size.width), 0);
}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) { return adaptive_avg_pool2d(x, output_size, caller()); }

std::string AdaptiveAvgPool2d::extra_repr() const { return "output_size=" + repr(output_size); }

AdaptiveAvgPool1d::AdaptiveAvgPool1d(std::int64_t output_size_, Here at) : output_size(output_size_) {
  Checker{"AdaptiveAvgPool1d", at}.at_least("output_size", output_size, 0);
}

Tensor AdaptiveAvgPool1d::forward(const Tensor& x) { return adaptive_avg_pool1d(x, output_size, caller()); }

std::string AdaptiveAvgPool1d::extra_repr() const { return "output_size=" + std::to_string(output_size); }

AdaptiveMaxPool2d::AdaptiveMaxPool2d(PoolSize2 output_size_, bool return_indices_, Here at)
    : output_size(output_size_), return_indices(return_indices_) {
  const Checker check{"AdaptiveMaxPool2d", at};
  check.given("output_size", output_size);
  check.at_least("output_size", std::min(output_size.height, output_size.width), 0);
}

Tensor AdaptiveMaxPool2d::forward(const Tensor& x) { return adaptive_max_pool2d(x, output_size, caller()); }

ValuesIndices AdaptiveMaxPool2d::forward_with_indices(const Tensor& x, Here at) {
  Call call(*this, at);
  return adaptive_max_pool2d_with_indices(x, output_size, at);
}

std::string AdaptiveMaxPool2d::extra_repr() const { return "output_size=" + repr(output_size); }

}  // namespace tapegrad::nn
