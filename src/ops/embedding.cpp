// embedding: index_select of the rows, composed, so its backward (index_select's scatter-add over the
// span of rows read) is differentiable; padding_idx rows are cut from the graph with where.
#include "tapegrad/ops/embedding.hpp"

#include <string>
#include <vector>

#include "internal.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/index.hpp"
#include "tapegrad/ops/shape.hpp"

namespace tapegrad {

using detail::fail;

Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<std::int64_t> padding_idx, Here at) {
  constexpr std::string_view op = "embedding";
  detail::OpScope scope(op, at, indices, weight);
  detail::require_defined(op, indices, at);
  detail::require_defined(op, weight, at);
  if (indices.dtype() != int64)
    fail<DTypeError>(op, "the indices must have dtype int64", std::string(dtype_name(indices.dtype())), at);
  if (weight.dim() != 2)
    fail<ShapeError>(op, "the weight must be 2-d [num_embeddings, embedding_dim]", to_string(weight.shape()), at);
  const std::int64_t rows = weight.shape()[0];
  if (padding_idx) {
    if (*padding_idx < -rows || *padding_idx >= rows)
      fail<ValueError>(op, "padding_idx must lie in [-num_embeddings, num_embeddings)",
                       std::to_string(*padding_idx) + " for " + std::to_string(rows) + " embeddings", at);
    if (*padding_idx < 0) *padding_idx += rows;
  }
  const std::vector<std::int64_t> values = indices.to_vector<std::int64_t>();
  for (std::size_t i = 0; i < values.size(); ++i)
    if (values[i] < 0 || values[i] >= rows)
      fail<ValueError>(op, "indices must lie in [0, " + std::to_string(rows) + ")",
                       "index " + std::to_string(values[i]) + " at position " + std::to_string(i), at);
  const auto count = static_cast<std::int64_t>(values.size());
  Tensor picked = index_select(weight, 0, from_vector(values, {count}, at), at);
  if (padding_idx && weight.requires_grad()) {
    std::vector<std::int64_t> keep(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) keep[i] = values[i] != *padding_idx;
    picked = where(from_vector(keep, {count, 1}, at), picked, picked.detach(), at);
  }
  Shape shape = indices.shape();
  shape.push_back(weight.shape()[1]);
  return scope.finish(reshape(picked, shape, at));
}

}  // namespace tapegrad
