// Index kernels: the gathers under index_select and gather, and the scatter-adds under their
// backwards. Indices arrive checked and made non-negative by the ops (src/ops/index.cpp).
//
// Note [Deterministic scatter]: the scatter-adds are chunked by output, never by input. Each work
// item owns a part of the result (index_add: a range of target rows at one position left of the
// axis; scatter_add: one of the index's lines, each filling its own line of the result, or a range
// of that line's targets) and visits the indices in their order, adding only those that land in
// its part. So every element of the result is summed in index order, the order of a serial loop:
// the bits do not depend on the thread count or on the chunking, and no two threads ever add into
// one element.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "tapegrad/tensor.hpp"

namespace tapegrad::kernels {

// y = x with the slices at `rows` along `axis`: y.shape[axis] = rows.size(), y[.., i, ..] = x[.., rows[i],
// ..].
Tensor index_select(const Tensor& x, std::size_t axis, std::span<const std::int64_t> rows);
// g of `shape`, zero but for g[.., rows[i], ..] += src[.., i, ..] along `axis`, summed in order of i:
// index_select's backward. src has `shape` with rows.size() at `axis`.
Tensor index_add(const Shape& shape, std::size_t axis, std::span<const std::int64_t> rows, const Tensor& src);

// torch.gather: y has index_shape (x's rank, no larger than x off the axis), y[p] = x[p with
// p[axis] = index[p]]; `index` holds the index's values in row-major order.
Tensor gather(const Tensor& x, std::size_t axis, std::span<const std::int64_t> index,
              const Shape& index_shape);
// g of `shape`, zero but for g[p with p[axis] = index[p]] += src[p] for each p of src's shape (the
// index's), summed in index order: gather's backward.
Tensor scatter_add(const Shape& shape, std::size_t axis, std::span<const std::int64_t> index,
                   const Tensor& src);

}  // namespace tapegrad::kernels
