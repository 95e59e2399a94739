// Embedding: a lookup table of num_embeddings rows of embedding_dim, indexed by int64 tensors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tapegrad/here.hpp"
#include "tapegrad/nn/module.hpp"
#include "tapegrad/random.hpp"

namespace tapegrad::nn {

// embedding(indices, weight, padding_idx): indices of any shape give indices.shape + [embedding_dim].
// weight [num_embeddings, embedding_dim] is drawn N(0, 1) with the padding_idx row zeroed, as in
// PyTorch; that row gets no gradient. A negative padding_idx counts from the end (stored as PyTorch
// stores it, non-negative).
class Embedding : public Module {
 public:
  Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim,
            std::optional<std::int64_t> padding_idx = std::nullopt, Here at = Here::current());
  Tensor forward(const Tensor& indices) override;
  void reset_parameters(Generator* gen = nullptr);
  std::string extra_repr() const override;  // "10, 3, padding_idx=0"

  std::int64_t num_embeddings, embedding_dim;
  std::optional<std::int64_t> padding_idx;
  Tensor& weight;
};

}  // namespace tapegrad::nn
