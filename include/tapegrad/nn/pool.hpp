// Pooling layers, like torch.nn's: the ops of ops/pool.hpp with their arguments fixed at
// construction (PyTorch's constructor arguments, in PyTorch's order). No parameters, no buffers.
// A constructor checks what it can without an input (kernel, stride, dilation >= 1, 0 <= padding
// <= kernel / 2, output sizes >= 0) and raises ValueError naming the layer; the rest (the input's
// shape and dtype) is checked by the op at forward.
//
// A lone braced size is ambiguous with the move constructor, as for any class whose first argument
// takes braces: write MaxPool2d(PoolSize2{3, 2}) (MaxPool2d(2) and MaxPool2d({3, 2}, 1) are fine).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tapegrad/here.hpp"
#include "tapegrad/nn/module.hpp"
#include "tapegrad/ops/pool.hpp"

namespace tapegrad::nn {

// max_pool1d over [N, C, L] or [C, L]. Calling the module (forward) gives the values;
// forward_with_indices the values and their indices, as LibTorch's MaxPool1d (torch's module returns
// both when return_indices=True; here the flag is kept for printing and for the code that reads it).
class MaxPool1d : public Module {
 public:
  explicit MaxPool1d(std::int64_t kernel_size, std::optional<std::int64_t> stride = std::nullopt,
                     std::int64_t padding = 0, std::int64_t dilation = 1, bool return_indices = false,
                     bool ceil_mode = false, Here at = Here::current());
  Tensor forward(const Tensor& x) override;
  ValuesIndices forward_with_indices(const Tensor& x, Here at = Here::current());
  std::string extra_repr() const override;

  std::int64_t kernel_size, stride, padding, dilation;
  bool return_indices, ceil_mode;
};

// max_pool2d over [N, C, H, W] or [C, H, W]; sizes are one number or {height, width}.
class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(PoolSize2 kernel_size, PoolSize2 stride = {}, PoolSize2 padding = 0, PoolSize2 dilation = 1,
                     bool return_indices = false, bool ceil_mode = false, Here at = Here::current());
  Tensor forward(const Tensor& x) override;
  ValuesIndices forward_with_indices(const Tensor& x, Here at = Here::current());
  std::string extra_repr() const override;

  PoolSize2 kernel_size, stride, padding, dilation;  // stride: the kernel's when not given
  bool return_indices, ceil_mode;
};

// avg_pool1d over [N, C, L] or [C, L].
class AvgPool1d : public Module {
 public:
  explicit AvgPool1d(std::int64_t kernel_size, std::optional<std::int64_t> stride = std::nullopt,
                     std::int64_t padding = 0, bool ceil_mode = false, bool count_include_pad = true,
                     Here at = Here::current());
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  std::int64_t kernel_size, stride, padding;
  bool ceil_mode, count_include_pad;
};

// avg_pool2d over [N, C, H, W] or [C, H, W].
class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(PoolSize2 kernel_size, PoolSize2 stride = {}, PoolSize2 padding = 0, bool ceil_mode = false,
                     bool count_include_pad = true, std::optional<std::int64_t> divisor_override = std::nullopt,
                     Here at = Here::current());
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  PoolSize2 kernel_size, stride, padding;
  bool ceil_mode, count_include_pad;
  std::optional<std::int64_t> divisor_override;
};

// adaptive_avg_pool2d to output_size (one number or {height, width}).
class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(PoolSize2 output_size, Here at = Here::current());
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  PoolSize2 output_size;
};

// adaptive_avg_pool1d to output_size.
class AdaptiveAvgPool1d : public Module {
 public:
  explicit AdaptiveAvgPool1d(std::int64_t output_size, Here at = Here::current());
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  std::int64_t output_size;
};

// adaptive_max_pool2d to output_size; forward_with_indices as for MaxPool2d.
class AdaptiveMaxPool2d : public Module {
 public:
  explicit AdaptiveMaxPool2d(PoolSize2 output_size, bool return_indices = false, Here at = Here::current());
  Tensor forward(const Tensor& x) override;
  ValuesIndices forward_with_indices(const Tensor& x, Here at = Here::current());
  std::string extra_repr() const override;

  PoolSize2 output_size;
  bool return_indices;
};

}  // namespace tapegrad::nn
