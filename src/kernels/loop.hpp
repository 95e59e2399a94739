// N-d strided iteration for kernels over several operands (the TensorIterator idea): axes of size 1
// are dropped, axes that are contiguous for every operand are merged, and the body runs over the
// innermost axis with each operand's offset and step.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "parallel.hpp"
#include "tapegrad/dtype.hpp"

namespace tapegrad::kernels {

template <std::size_t N>
struct Layout {
  Shape shape;
  std::array<Strides, N> strides;
};

// Drops size-1 axes and merges neighbours that are contiguous for every operand.
template <std::size_t N>
Layout<N> coalesce(const Shape& shape, const std::array<const Strides*, N>& strides) {
  Layout<N> out;
  for (std::size_t axis = 0; axis < shape.size(); ++axis) {
    if (shape[axis] == 1) continue;
    bool merge = !out.shape.empty();
    for (std::size_t k = 0; k < N && merge; ++k)
      merge = out.strides[k].back() == (*strides[k])[axis] * shape[axis];
    if (merge) {
      out.shape.back() *= shape[axis];
      for (std::size_t k = 0; k < N; ++k) out.strides[k].back() = (*strides[k])[axis];
    } else {
      out.shape.push_back(shape[axis]);
      for (std::size_t k = 0; k < N; ++k) out.strides[k].push_back((*strides[k])[axis]);
    }
  }
  return out;
}

// body(offsets, n, steps): process n elements along the innermost axis; operand k starts at
// offsets[k] (elements, relative to its base) and moves by steps[k].
template <std::size_t N, class Body>
void for_each_strided(const Shape& shape, const std::array<const Strides*, N>& strides, Body&& body) {
  for (auto size : shape)
    if (size == 0) return;
  Layout<N> layout = coalesce<N>(shape, strides);
  std::array<std::int64_t, N> offsets{};
  std::array<std::int64_t, N> steps{};
  const std::size_t rank = layout.shape.size();
  if (rank == 0) {  // one element
    body(offsets, std::int64_t{1}, steps);
    return;
  }
  for (std::size_t k = 0; k < N; ++k) steps[k] = layout.strides[k][rank - 1];
  const std::int64_t inner = layout.shape[rank - 1];
  Shape index(rank, 0);
  while (true) {
    body(offsets, inner, steps);
    // advance the outer axes like an odometer
    std::size_t axis = rank - 1;
    while (true) {
      if (axis == 0) return;
      --axis;
      ++index[axis];
      for (std::size_t k = 0; k < N; ++k) offsets[k] += layout.strides[k][axis];
      if (index[axis] < layout.shape[axis]) break;
      for (std::size_t k = 0; k < N; ++k) offsets[k] -= layout.strides[k][axis] * layout.shape[axis];
      index[axis] = 0;
    }
  }
}

// Strides of `from` broadcast to `to_shape` (0 along broadcast axes); shapes already checked.
inline Strides broadcast_strides(const Shape& from_shape, const Strides& from_strides, const Shape& to_shape) {
  Strides out(to_shape.size(), 0);
  const std::size_t lead = to_shape.size() - from_shape.size();
  for (std::size_t i = 0; i < from_shape.size(); ++i)
    out[lead + i] = from_shape[i] == 1 ? 0 : from_strides[i];
  return out;
}

}  // namespace tapegrad::kernels


namespace tapegrad::kernels {

// for_each_strided split over threads (Note [Deterministic chunking]): the innermost axis in pieces
// of `grain` elements when it is the only one, else whole rows in groups of about `grain` elements.
// Elementwise kernels give the same values however the pieces fall.
template <std::size_t N, class Body>
void parallel_for_each_strided(const Shape& shape, const std::array<const Strides*, N>& strides, Body&& body,
                               std::int64_t grain = 16384) {
  for (auto size : shape)
    if (size == 0) return;
  Layout<N> layout = coalesce<N>(shape, strides);
  const std::size_t rank = layout.shape.size();
  std::array<std::int64_t, N> steps{};
  if (rank == 0) {
    body(std::array<std::int64_t, N>{}, std::int64_t{1}, steps);
    return;
  }
  for (std::size_t k = 0; k < N; ++k) steps[k] = layout.strides[k][rank - 1];
  const std::int64_t inner = layout.shape[rank - 1];
  if (rank == 1) {
    parallel::for_chunks(inner, grain, [&](std::int64_t begin, std::int64_t end) {
      std::array<std::int64_t, N> offsets;
      for (std::size_t k = 0; k < N; ++k) offsets[k] = begin * steps[k];
      body(offsets, end - begin, steps);
    });
    return;
  }
  std::int64_t rows = 1;
  for (std::size_t axis = 0; axis + 1 < rank; ++axis) rows *= layout.shape[axis];
  parallel::for_chunks(
      rows, std::max<std::int64_t>(1, grain / inner),
      [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t row = begin; row < end; ++row) {
          std::array<std::int64_t, N> offsets{};
          std::int64_t rest = row;
          for (std::size_t axis = rank - 1; axis-- > 0;) {
            const std::int64_t index = rest % layout.shape[axis];
            rest /= layout.shape[axis];
            for (std::size_t k = 0; k < N; ++k) offsets[k] += index * layout.strides[k][axis];
          }
          body(offsets, inner, steps);
        }
      },
      inner);
}

}  // namespace tapegrad::kernels
