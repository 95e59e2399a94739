// Indexing ops: the backbone of embeddings and of picking the logits of labels.
#pragma once

#include "tapegrad/here.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad {

// Entries of x at `index` (1-D int64) along `axis`: y.shape[axis] = index.numel().
Tensor index_select(const Tensor& x, std::int64_t axis, const Tensor& index, Here at = Here::current());
// torch.gather: index (int64) has x's rank; y[i][j] = x[index[i][j]][j] for axis 0, and so on.
Tensor gather(const Tensor& x, std::int64_t axis, const Tensor& index, Here at = Here::current());

}  // namespace tapegrad
