// Initialisers (include/tapegrad/nn/init.hpp), with torch.nn.init's formulas.
#include "tapegrad/nn/init.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "tapegrad/error.hpp"
#include "tapegrad/tape.hpp"

namespace tapegrad::nn::init {

namespace {

void require_floating(std::string_view op, const Tensor& t, Here at) {
  if (!t.defined()) throw ValueError(op, "the tensor must be defined", "an undefined tensor", at);
  if (!is_floating(t.dtype())) throw DTypeError(op, "the tensor must be floating", std::string(dtype_name(t.dtype())), at);
}

// Writes `values` (same shape, any dtype) into t without recording.
Tensor& fill_from(Tensor& t, const Tensor& values, Here at) {
  NoGradGuard no_grad;
  t.copy_(values, at);
  return t;
}

std::int64_t fan(const Tensor& t, FanMode mode, std::string_view op, Here at) {
  auto [fan_in, fan_out] = fan_in_and_fan_out(t, at);
  const std::int64_t f = mode == FanMode::fan_in ? fan_in : fan_out;
  if (f == 0) throw ValueError(op, "the fan must be positive (a tensor with no elements)", to_string(t.shape()), at);
  return f;
}

}  // namespace

double calculate_gain(std::string_view nonlinearity, double param, Here at) {
  const std::string n(nonlinearity);
  if (n == "linear" || n == "conv1d" || n == "conv2d" || n == "conv3d" || n == "conv_transpose1d" ||
      n == "conv_transpose2d" || n == "sigmoid")
    return 1.0;
  if (n == "tanh") return 5.0 / 3.0;
  if (n == "relu") return std::sqrt(2.0);
  if (n == "leaky_relu") {
    if (!std::isfinite(param))
      throw ValueError("calculate_gain", "the negative slope must be finite", std::to_string(param), at);
    return std::sqrt(2.0 / (1.0 + param * param));
  }
  if (n == "selu") return 3.0 / 4.0;
  throw ValueError("calculate_gain", "the nonlinearity must be one torch.nn.init knows", "'" + n + "'", at);
}

std::pair<std::int64_t, std::int64_t> fan_in_and_fan_out(const Tensor& t, Here at) {
  if (!t.defined()) throw ValueError("fan_in_and_fan_out", "the tensor must be defined", "an undefined tensor", at);
  if (t.dim() < 2)
    throw ValueError("fan_in_and_fan_out", "fans need at least 2 axes", to_string(t.shape()), at);
  std::int64_t receptive = 1;
  for (std::size_t i = 2; i < t.shape().size(); ++i) receptive *= t.shape()[i];
  return {t.shape()[1] * receptive, t.shape()[0] * receptive};
}

Tensor& uniform_(Tensor& t, double low, double high, Generator* gen, Here at) {
  require_floating("uniform_", t, at);
  if (!(low <= high) || !std::isfinite(low) || !std::isfinite(high))
    throw ValueError("uniform_", "the bounds must be finite with low <= high",
                     "low=" + std::to_string(low) + ", high=" + std::to_string(high), at);
  return fill_from(t, uniform(t.shape(), low, high, t.dtype(), gen, at), at);
}

Tensor& normal_(Tensor& t, double mean, double std, Generator* gen, Here at) {
  require_floating("normal_", t, at);
  if (!(std >= 0) || !std::isfinite(std) || !std::isfinite(mean))
    throw ValueError("normal_", "mean must be finite and std finite and non-negative",
                     "mean=" + std::to_string(mean) + ", std=" + std::to_string(std), at);
  return fill_from(t, normal(t.shape(), mean, std, t.dtype(), gen, at), at);
}

Tensor& constant_(Tensor& t, double value, Here at) {
  require_floating("constant_", t, at);
  NoGradGuard no_grad;
  t.fill_(value, at);
  return t;
}
Tensor& zeros_(Tensor& t, Here at) { return constant_(t, 0.0, at); }
Tensor& ones_(Tensor& t, Here at) { return constant_(t, 1.0, at); }

Tensor& xavier_uniform_(Tensor& t, double gain, Generator* gen, Here at) {
  require_floating("xavier_uniform_", t, at);
  auto [fan_in, fan_out] = fan_in_and_fan_out(t, at);
  const double a = gain * std::sqrt(6.0 / static_cast<double>(std::max<std::int64_t>(fan_in + fan_out, 1)));
  return uniform_(t, -a, a, gen, at);
}

Tensor& xavier_normal_(Tensor& t, double gain, Generator* gen, Here at) {
  require_floating("xavier_normal_", t, at);
  auto [fan_in, fan_out] = fan_in_and_fan_out(t, at);
  const double std = gain * std::sqrt(2.0 / static_cast<double>(std::max<std::int64_t>(fan_in + fan_out, 1)));
  return normal_(t, 0.0, std, gen, at);
}

Tensor& kaiming_uniform_(Tensor& t, double a, FanMode mode, std::string_view nonlinearity, Generator* gen, Here at) {
  require_floating("kaiming_uniform_", t, at);
  const double gain = calculate_gain(nonlinearity, a, at);
  const double bound = gain * std::sqrt(3.0 / static_cast<double>(fan(t, mode, "kaiming_uniform_", at)));
  return uniform_(t, -bound, bound, gen, at);
}

Tensor& kaiming_normal_(Tensor& t, double a, FanMode mode, std::string_view nonlinearity, Generator* gen, Here at) {
  require_floating("kaiming_normal_", t, at);
  const double gain = calculate_gain(nonlinearity, a, at);
  const double std = gain / std::sqrt(static_cast<double>(fan(t, mode, "kaiming_normal_", at)));
  return normal_(t, 0.0, std, gen, at);
}

// Modified Gram-Schmidt, run twice per column, in double: the columns of a tall matrix become
// orthonormal with R's diagonal positive, which is PyTorch's q · sign(diag(r)).
Tensor& orthogonal_(Tensor& t, double gain, Generator* gen, Here at) {
  require_floating("orthogonal_", t, at);
  if (t.dim() < 2) throw ValueError("orthogonal_", "the tensor needs at least 2 axes", to_string(t.shape()), at);
  const std::int64_t rows = t.shape()[0];
  const std::int64_t cols = rows == 0 ? 0 : t.numel() / rows;
  if (rows == 0 || cols == 0) return t;
  const bool wide = rows < cols;
  const std::int64_t tall = wide ? cols : rows, narrow = wide ? rows : cols;
  std::vector<double> a = normal({rows, cols}, 0.0, 1.0, float64, gen, at).to_vector<double>();
  // q[i][j]: column j of the tall matrix (the transpose of the draw when it is wide).
  std::vector<double> q(static_cast<std::size_t>(tall * narrow));
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j)
      q[static_cast<std::size_t>(wide ? j * narrow + i : i * narrow + j)] = a[static_cast<std::size_t>(i * cols + j)];
  auto column_dot = [&](std::int64_t x, std::int64_t y) {
    double s = 0;
    for (std::int64_t i = 0; i < tall; ++i) s += q[i * narrow + x] * q[i * narrow + y];
    return s;
  };
  for (std::int64_t j = 0; j < narrow; ++j) {
    for (int pass = 0; pass < 2; ++pass)
      for (std::int64_t k = 0; k < j; ++k) {
        const double r = column_dot(k, j);
        for (std::int64_t i = 0; i < tall; ++i) q[i * narrow + j] -= r * q[i * narrow + k];
      }
    const double norm = std::sqrt(column_dot(j, j));
    for (std::int64_t i = 0; i < tall; ++i) q[i * narrow + j] /= norm;
  }
  std::vector<double> out(static_cast<std::size_t>(rows * cols));
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j)
      out[static_cast<std::size_t>(i * cols + j)] = gain * q[static_cast<std::size_t>(wide ? j * narrow + i : i * narrow + j)];
  return fill_from(t, from_vector(out, t.shape(), at), at);
}

}  // namespace tapegrad::nn::init
