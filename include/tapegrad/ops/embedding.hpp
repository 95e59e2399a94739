// Embedding lookup, torch.nn.functional.embedding.
#pragma once

#include <cstdint>
#include <optional>

#include "tapegrad/here.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad {

// The rows of weight [num_embeddings, embedding_dim] at int64 indices of any shape: y has shape
// indices.shape + [embedding_dim]. Indices outside [0, num_embeddings) are a ValueError naming the
// index and its position. Rows looked up at padding_idx (negative counts from the end) pass no
// gradient to weight, so that row stays as it is in training (PyTorch's padding_idx).
Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<std::int64_t> padding_idx = std::nullopt,
                 Here at = Here::current());

}  // namespace tapegrad
