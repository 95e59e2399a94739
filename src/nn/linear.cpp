// Linear, Bilinear, Flatten, Unflatten (include/tapegrad/nn/linear.hpp), and the containers
// (include/tapegrad/nn/container.hpp).
#include "tapegrad/nn/linear.hpp"

#include <cmath>

#include "tapegrad/error.hpp"
#include "tapegrad/nn/container.hpp"
#include "tapegrad/nn/init.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/linalg.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shape.hpp"

namespace tapegrad::nn {

namespace {

std::int64_t checked_size(const char* layer, const char* name, std::int64_t size, Here at) {
  if (size < 0) throw ValueError(layer, std::string(name) + " must be non-negative", std::to_string(size), at);
  return size;
}

void require_last_axis(const std::string& layer, const Tensor& x, std::int64_t features, const char* what, Here at) {
  if (!x.defined()) throw ValueError(layer, "the input must be defined", "an undefined tensor", at);
  if (x.dim() == 0 || x.shape().back() != features)
    throw ShapeError(layer, std::string("the input's last axis must be ") + what + " (" + std::to_string(features) + ")",
                     to_string(x.shape()), at);
}

// U(-1/√fan_in, 1/√fan_in), PyTorch's bias rule (and its weight rule through kaiming_uniform_(a=√5)).
void uniform_fan_in(Tensor& t, std::int64_t fan_in, Generator* gen) {
  const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
  init::uniform_(t, -bound, bound, gen);
}

}  // namespace

Linear::Linear(std::int64_t in_features, std::int64_t out_features, bool bias, Here at)
    : in_features(checked_size("Linear", "in_features", in_features, at)),
      out_features(checked_size("Linear", "out_features", out_features, at)),
      weight(register_parameter("weight", empty({out_features, in_features}, float32, at), true, at)),
      bias(register_parameter("bias", bias ? empty({out_features}, float32, at) : Tensor(), true, at)) {
  reset_parameters();
}

void Linear::reset_parameters(Generator* gen) {
  if (in_features > 0) init::kaiming_uniform_(weight, std::sqrt(5.0), init::FanMode::fan_in, "leaky_relu", gen);
  if (bias.defined()) uniform_fan_in(bias, in_features, gen);
}

Tensor Linear::forward(const Tensor& x) {
  const Here at = caller();
  require_last_axis("Linear", x, in_features, "in_features", at);
  return linear(x, weight, bias, at);
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_features) + ", out_features=" + std::to_string(out_features) +
         ", bias=" + (bias.defined() ? "true" : "false");
}

Bilinear::Bilinear(std::int64_t in1_features, std::int64_t in2_features, std::int64_t out_features, bool bias, Here at)
    : in1_features(checked_size("Bilinear", "in1_features", in1_features, at)),
      in2_features(checked_size("Bilinear", "in2_features", in2_features, at)),
      out_features(checked_size("Bilinear", "out_features", out_features, at)),
      weight(register_parameter("weight", empty({out_features, in1_features, in2_features}, float32, at), true, at)),
      bias(register_parameter("bias", bias ? empty({out_features}, float32, at) : Tensor(), true, at)) {
  reset_parameters();
}

void Bilinear::reset_parameters(Generator* gen) {
  uniform_fan_in(weight, in1_features, gen);
  if (bias.defined()) uniform_fan_in(bias, in1_features, gen);
}

// y[n, o] = Σ_ij x1[n, i] W[o, i, j] x2[n, j]: one matmul of x1 with W laid out [in1, out · in2], then a
// product with x2 summed over j.
Tensor Bilinear::operator()(const Tensor& x1, const Tensor& x2, Here at) {
  Call call(*this, at);
  require_last_axis("Bilinear", x1, in1_features, "in1_features", at);
  require_last_axis("Bilinear", x2, in2_features, "in2_features", at);
  Shape batch(x1.shape().begin(), x1.shape().end() - 1);
  if (Shape(x2.shape().begin(), x2.shape().end() - 1) != batch)
    throw ShapeError("Bilinear", "both inputs must have the same leading axes",
                     "x1=" + to_string(x1.shape()) + ", x2=" + to_string(x2.shape()), at);
  Tensor a = reshape(x1, {-1, in1_features}, at);
  Tensor b = reshape(x2, {-1, 1, in2_features}, at);
  Tensor w = reshape(permute(weight, {1, 0, 2}, at), {in1_features, out_features * in2_features}, at);
  Tensor y = sum(reshape(matmul(a, w, at), {-1, out_features, in2_features}, at) * b, {2}, false, at);
  if (bias.defined()) y = y + bias;
  batch.push_back(out_features);
  return reshape(y, batch, at);
}

std::string Bilinear::extra_repr() const {
  return "in1_features=" + std::to_string(in1_features) + ", in2_features=" + std::to_string(in2_features) +
         ", out_features=" + std::to_string(out_features) + ", bias=" + (bias.defined() ? "true" : "false");
}

Tensor Flatten::forward(const Tensor& x) { return flatten(x, start_dim, end_dim, caller()); }
std::string Flatten::extra_repr() const {
  return "start_dim=" + std::to_string(start_dim) + ", end_dim=" + std::to_string(end_dim);
}

Tensor Unflatten::forward(const Tensor& x) {
  const Here at = caller();
  if (!x.defined()) throw ValueError("Unflatten", "the input must be defined", "an undefined tensor", at);
  const std::int64_t rank = x.dim();
  const std::int64_t axis = dim < 0 ? dim + rank : dim;
  if (axis < 0 || axis >= rank)
    throw ShapeError("Unflatten", "dim must be an axis of the input",
                     "dim=" + std::to_string(dim) + " for " + to_string(x.shape()), at);
  Shape shape(x.shape().begin(), x.shape().begin() + axis);
  shape.insert(shape.end(), sizes.begin(), sizes.end());
  shape.insert(shape.end(), x.shape().begin() + axis + 1, x.shape().end());
  return reshape(x, shape, at);
}
std::string Unflatten::extra_repr() const { return "dim=" + std::to_string(dim) + ", unflattened_size=" + to_string(sizes); }

// ------------------------------------------------------------------ containers

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (Module* m : children()) y = (*m)(y, caller());
  return y;
}
Module& ModuleList::operator[](std::size_t index) const {
  if (index >= size_)
    throw ValueError(type_name() + "[]", "the index must be below the size",
                     std::to_string(index) + " of " + std::to_string(size_), Here());
  return *children()[index];
}

}  // namespace tapegrad::nn
