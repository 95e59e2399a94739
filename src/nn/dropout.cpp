// Dropout, Dropout2d (include/tapegrad/nn/dropout.hpp) and Embedding (include/tapegrad/nn/embedding.hpp).
#include "tapegrad/nn/dropout.hpp"

#include <string>

#include "nn/format.hpp"
#include "tapegrad/error.hpp"
#include "tapegrad/nn/embedding.hpp"
#include "tapegrad/nn/init.hpp"
#include "tapegrad/ops/dropout.hpp"
#include "tapegrad/ops/embedding.hpp"
#include "tapegrad/ops/shape.hpp"

namespace tapegrad::nn {

namespace {

double checked_p(const char* layer, double p, Here at) {
  if (!(p >= 0 && p <= 1))
    throw ValueError(layer, "the dropout probability p must lie in [0, 1]", std::to_string(p), at);
  return p;
}

std::int64_t checked_size(const char* name, std::int64_t size, Here at) {
  if (size < 0) throw ValueError("Embedding", std::string(name) + " must be non-negative", std::to_string(size), at);
  return size;
}

}  // namespace

Dropout::Dropout(double p, Generator* gen, Here at) : p(checked_p("Dropout", p, at)), generator(gen) {}
Tensor Dropout::forward(const Tensor& x) { return dropout(x, p, is_training(), generator, caller()); }
std::string Dropout::extra_repr() const { return "p=" + text::python_float(p) + ", inplace=False"; }

Dropout2d::Dropout2d(double p, Generator* gen, Here at) : Dropout(checked_p("Dropout2d", p, at), gen, at) {}
Tensor Dropout2d::forward(const Tensor& x) { return dropout2d(x, p, is_training(), generator, caller()); }

Embedding::Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim, std::optional<std::int64_t> padding_idx,
                     Here at)
    : num_embeddings(checked_size("num_embeddings", num_embeddings, at)),
      embedding_dim(checked_size("embedding_dim", embedding_dim, at)),
      padding_idx(padding_idx),
      weight(register_parameter("weight", empty({num_embeddings, embedding_dim}, float32, at), true, at)) {
  if (padding_idx) {
    if (*padding_idx < -num_embeddings || *padding_idx >= num_embeddings)
      throw ValueError("Embedding", "padding_idx must lie in [-num_embeddings, num_embeddings)",
                       std::to_string(*padding_idx) + " for " + std::to_string(num_embeddings) + " embeddings", at);
    if (*padding_idx < 0) *this->padding_idx += num_embeddings;
  }
  reset_parameters();
}

void Embedding::reset_parameters(Generator* gen) {
  init::normal_(weight, 0.0, 1.0, gen);
  if (padding_idx) {
    Tensor row = select(weight, 0, *padding_idx);
    init::zeros_(row);
  }
}

Tensor Embedding::forward(const Tensor& indices) { return embedding(indices, weight, padding_idx, caller()); }

std::string Embedding::extra_repr() const {
  std::string text = std::to_string(num_embeddings) + ", " + std::to_string(embedding_dim);
  if (padding_idx) text += ", padding_idx=" + std::to_string(*padding_idx);
  return text;
}

}  // namespace tapegrad::nn
