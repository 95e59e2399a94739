// Index kernels (Note [Deterministic scatter] in index.hpp), parallel through parallel.hpp.
#include "kernels/index.hpp"

#include <algorithm>
#include <vector>

#include "internal.hpp"
#include "kernels/copy.hpp"
#include "parallel.hpp"

namespace tapegrad::kernels {

using detail::dispatch;
using detail::dispatch_floating;
using detail::new_tensor;

namespace {

// A shape seen as [outer, length, inner] around `axis`.
struct AroundAxis {
  std::int64_t outer = 1, length = 1, inner = 1;
};
AroundAxis around(const Shape& shape, std::size_t axis) {
  AroundAxis s;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (d < axis)
      s.outer *= shape[d];
    else if (d == axis)
      s.length = shape[d];
    else
      s.inner *= shape[d];
  }
  return s;
}

Tensor contiguous(const Tensor& x) { return x.is_contiguous() ? x : cast(x, x.dtype()); }

// Note [Deterministic scatter]: a scatter-add whose result has few blocks (`blocks` independent
// parts, each `length` targets long) splits each block into ranges of targets, so that a 1-D problem
// runs in parallel too. Each range reads all of its block's indices and adds those in range: the
// indices are read once per range, the values and targets once in all.
std::int64_t target_ranges(std::int64_t blocks, std::int64_t length) {
  constexpr std::int64_t enough_items = 16;
  if (blocks <= 0 || blocks >= enough_items || length <= 1) return 1;
  return std::min(length, (enough_items + blocks - 1) / blocks);
}

// Elements per work item at least, so a chunk of items is worth a task.
std::int64_t items_per_chunk(std::int64_t cost_per_item) {
  return std::max<std::int64_t>(1, parallel::serial_threshold / 4 / std::max<std::int64_t>(1, cost_per_item));
}

// Where gather and scatter_add meet x (or g): the index seen as [outer, length, inner] around the
// axis, and for its outer and inner positions the offset they contribute in x with strides `strides`
// (the index is no larger than x off the axis, so its coordinates are x's).
struct IndexLines {
  AroundAxis s;
  std::int64_t axis_stride = 0;
  std::vector<std::int64_t> inner_offsets;  // [s.inner]

  IndexLines(const Shape& index_shape, const Strides& strides, std::size_t axis)
      : s(around(index_shape, axis)),
        axis_stride(index_shape.empty() ? 0 : strides[axis]),
        shape_(index_shape),
        strides_(strides),
        axis_(axis) {
    inner_offsets.resize(static_cast<std::size_t>(s.inner));
    for (std::int64_t k = 0; k < s.inner; ++k)
      inner_offsets[static_cast<std::size_t>(k)] = offset(k, axis + 1);
  }
  std::int64_t outer_offset(std::int64_t o) const { return offset(o, 0, axis_); }

 private:
  // The x offset of position `flat` (row-major) within the index dimensions [first, last).
  std::int64_t offset(std::int64_t flat, std::size_t first, std::size_t last = std::size_t(-1)) const {
    last = std::min(last, shape_.size());
    std::int64_t result = 0;
    for (std::size_t d = last; d-- > first;) {
      result += flat % shape_[d] * strides_[d];
      flat /= shape_[d];
    }
    return result;
  }
  const Shape& shape_;
  const Strides& strides_;
  std::size_t axis_;
};

}  // namespace

Tensor index_select(const Tensor& x_in, std::size_t axis, std::span<const std::int64_t> rows) {
  const Tensor x = contiguous(x_in);
  Shape shape = x.shape();
  shape[axis] = static_cast<std::int64_t>(rows.size());
  Tensor y = new_tensor(shape, x.dtype());
  const AroundAxis s = around(x.shape(), axis);
  const auto m = static_cast<std::int64_t>(rows.size());
  dispatch(x.dtype(), [&]<class T>() {
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    // Work items: the outer * m slices of y, each a copy of `inner` elements.
    parallel::for_chunks(
        s.outer * m, items_per_chunk(s.inner),
        [&](std::int64_t begin, std::int64_t end) {
          for (std::int64_t item = begin; item < end; ++item) {
            const std::int64_t o = item / m, i = item % m;
            const T* from = xp + (o * s.length + rows[static_cast<std::size_t>(i)]) * s.inner;
            std::copy_n(from, s.inner, yp + item * s.inner);
          }
        },
        s.inner);
  });
  return y;
}

Tensor index_add(const Shape& shape, std::size_t axis, std::span<const std::int64_t> rows,
                 const Tensor& src_in) {
  const Tensor src = contiguous(src_in);
  Tensor g = zeros(shape, src.dtype());
  const AroundAxis s = around(shape, axis);
  const auto m = static_cast<std::int64_t>(rows.size());
  const std::int64_t ranges = target_ranges(s.outer, s.length);
  dispatch_floating(src.dtype(), [&]<class T>() {
    const T* sp = src.data<T>();
    T* gp = g.data<T>();
    // Work items: (outer position, range of target rows); an item reads every index and adds the
    // rows of src that land in its range, in index order.
    const std::int64_t cost = m + m * s.inner / ranges;
    parallel::for_chunks(
        s.outer * ranges, items_per_chunk(cost),
        [&](std::int64_t begin, std::int64_t end) {
          for (std::int64_t item = begin; item < end; ++item) {
            const std::int64_t o = item / ranges, q = item % ranges;
            const std::int64_t first = q * s.length / ranges, last = (q + 1) * s.length / ranges;
            for (std::int64_t i = 0; i < m; ++i) {
              const std::int64_t r = rows[static_cast<std::size_t>(i)];
              if (r < first || r >= last) continue;
              const T* from = sp + (o * m + i) * s.inner;
              T* to = gp + (o * s.length + r) * s.inner;
              for (std::int64_t j = 0; j < s.inner; ++j) to[j] += from[j];
            }
          }
        },
        cost);
  });
  return g;
}

Tensor gather(const Tensor& x, std::size_t axis, std::span<const std::int64_t> index,
              const Shape& index_shape) {
  Tensor y = new_tensor(index_shape, x.dtype());
  const IndexLines lines(index_shape, x.strides(), axis);
  const AroundAxis& s = lines.s;
  dispatch(x.dtype(), [&]<class T>() {
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    // Work items: the outer * length rows of `inner` elements of y.
    parallel::for_chunks(
        s.outer * s.length, items_per_chunk(s.inner),
        [&](std::int64_t begin, std::int64_t end) {
          for (std::int64_t row = begin; row < end; ++row) {
            const T* base = xp + lines.outer_offset(row / s.length);
            for (std::int64_t k = 0; k < s.inner; ++k) {
              const std::int64_t at = row * s.inner + k;
              yp[at] = base[index[static_cast<std::size_t>(at)] * lines.axis_stride +
                            lines.inner_offsets[static_cast<std::size_t>(k)]];
            }
          }
        },
        s.inner);
  });
  return y;
}

Tensor scatter_add(const Shape& shape, std::size_t axis, std::span<const std::int64_t> index,
                   const Tensor& src_in) {
  const Tensor src = contiguous(src_in);
  Tensor g = zeros(shape, src.dtype());
  const IndexLines lines(src.shape(), g.strides(), axis);
  const AroundAxis& s = lines.s;
  const std::int64_t ranges = target_ranges(s.outer * s.inner, shape.empty() ? 1 : shape[axis]);
  const std::int64_t target_length = shape.empty() ? 1 : shape[axis];
  dispatch_floating(src.dtype(), [&]<class T>() {
    const T* sp = src.data<T>();
    T* gp = g.data<T>();
    // Work items: (outer position, range of targets, inner position), so an item is one of the
    // index's lines, restricted to the targets in its range; the line adds into its own line of g,
    // in index order. Neighbouring inner positions run together.
    const std::int64_t per_outer = ranges * s.inner;
    parallel::for_chunks(
        s.outer * per_outer, items_per_chunk(s.length),
        [&](std::int64_t begin, std::int64_t end) {
          for (std::int64_t item = begin; item < end;) {
            const std::int64_t o = item / per_outer, q = item % per_outer / s.inner;
            const std::int64_t k0 = item % s.inner, k1 = std::min(s.inner, k0 + (end - item));
            const std::int64_t first = q * target_length / ranges, last = (q + 1) * target_length / ranges;
            T* base = gp + lines.outer_offset(o);
            for (std::int64_t j = 0; j < s.length; ++j) {
              const std::int64_t row = (o * s.length + j) * s.inner;
              for (std::int64_t k = k0; k < k1; ++k) {
                const std::int64_t t = index[static_cast<std::size_t>(row + k)];
                if (t < first || t >= last) continue;
                base[t * lines.axis_stride + lines.inner_offsets[static_cast<std::size_t>(k)]] += sp[row + k];
              }
            }
            item += k1 - k0;
          }
        },
        s.length);
  });
  return g;
}

}  // namespace tapegrad::kernels
