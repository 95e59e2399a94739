// The activation modules: each forward is its op (Note [Activation modules] in nn/activation.hpp).
#include "tapegrad/nn/activation.hpp"

#include <cmath>
#include <string>

#include "nn/format.hpp"
#include "tapegrad/error.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/reduce.hpp"

namespace tapegrad::nn {

using text::python_float;

#define TAPEGRAD_DEFINE_ACTIVATION_MODULE(Class, function, repr)           \
  Tensor Class::forward(const Tensor& x) { return function(x, caller()); } \
  std::string Class::extra_repr() const { return repr; }
TAPEGRAD_PLAIN_ACTIVATION_MODULES(TAPEGRAD_DEFINE_ACTIVATION_MODULE)
#undef TAPEGRAD_DEFINE_ACTIVATION_MODULE

LeakyReLU::LeakyReLU(double negative_slope, Here) : negative_slope(negative_slope) {}
Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, negative_slope, caller()); }
std::string LeakyReLU::extra_repr() const { return "negative_slope=" + python_float(negative_slope); }

ELU::ELU(double alpha, Here) : alpha(alpha) {}
Tensor ELU::forward(const Tensor& x) { return elu(x, alpha, caller()); }
std::string ELU::extra_repr() const { return "alpha=" + python_float(alpha); }

Softplus::Softplus(double beta, double threshold, Here at) : beta(beta), threshold(threshold) {
  if (!(beta > 0) || !std::isfinite(beta))
    throw ValueError("Softplus::Softplus", "beta must be finite and > 0", std::to_string(beta), at);
}
Tensor Softplus::forward(const Tensor& x) { return softplus(x, beta, threshold, caller()); }
std::string Softplus::extra_repr() const {
  return "beta=" + python_float(beta) + ", threshold=" + python_float(threshold);
}

Hardtanh::Hardtanh(double min_val, double max_val, Here at) : min_val(min_val), max_val(max_val) {
  if (!(min_val <= max_val))
    throw ValueError("Hardtanh::Hardtanh", "min_val must not exceed max_val",
                     "min_val " + std::to_string(min_val) + ", max_val " + std::to_string(max_val), at);
}
Tensor Hardtanh::forward(const Tensor& x) { return clamp(x, min_val, max_val, caller()); }
std::string Hardtanh::extra_repr() const {
  return "min_val=" + python_float(min_val) + ", max_val=" + python_float(max_val);
}

ReLU6::ReLU6(Here at) : Hardtanh(0.0, 6.0, at) {}
std::string ReLU6::extra_repr() const { return ""; }

Softmax::Softmax(std::int64_t dim, Here) : dim(dim) {}
Tensor Softmax::forward(const Tensor& x) { return softmax(x, dim, caller()); }
std::string Softmax::extra_repr() const { return "dim=" + std::to_string(dim); }

LogSoftmax::LogSoftmax(std::int64_t dim, Here) : dim(dim) {}
Tensor LogSoftmax::forward(const Tensor& x) { return log_softmax(x, dim, caller()); }
std::string LogSoftmax::extra_repr() const { return "dim=" + std::to_string(dim); }

}  // namespace tapegrad::nn
