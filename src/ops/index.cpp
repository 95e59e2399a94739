// index_select and gather, with their scatter-add backwards.
#include "tapegrad/ops/index.hpp"

#include <cstring>

#include "internal.hpp"
#include "kernels/copy.hpp"
#include "tapegrad/function.hpp"

namespace tapegrad {

using detail::fail;

namespace {

void check_index(std::string_view op, const Tensor& index, const std::source_location& at) {
  detail::require_defined(op, index, at);
  if (index.dtype() != int64)
    fail<DTypeError>(op, "the index must have dtype int64", std::string(dtype_name(index.dtype())), at);
}

// Index values as a contiguous vector, each checked against [0, limit) (negative counts from the end).
std::vector<std::int64_t> checked_indices(std::string_view op, const Tensor& index, std::int64_t limit,
                                          const std::source_location& at) {
  std::vector<std::int64_t> values = index.to_vector<std::int64_t>();
  for (auto& v : values) {
    if (v < -limit || v >= limit)
      fail<ValueError>(op, "indices must lie in [-" + std::to_string(limit) + ", " + std::to_string(limit) + ")",
                       "index " + std::to_string(v), at);
    if (v < 0) v += limit;
  }
  return values;
}

// x seen as [outer, n, inner] around `axis` (x contiguous).
struct Split3 {
  std::int64_t outer = 1, n = 1, inner = 1;
};
Split3 around(const Shape& shape, std::size_t axis) {
  Split3 s;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i < axis) s.outer *= shape[i];
    else if (i == axis) s.n = shape[i];
    else s.inner *= shape[i];
  }
  return s;
}

}  // namespace

Tensor index_select(const Tensor& x_in, std::int64_t axis, const Tensor& index, Here at) {
  detail::require_defined("index_select", x_in, at);
  check_index("index_select", index, at);
  if (index.dim() > 1)
    fail<ShapeError>("index_select", "the index must be 0-d or 1-d", "shape " + to_string(index.shape()), at);
  if (x_in.dim() == 0) fail<ShapeError>("index_select", "the input must have at least one axis", "a 0-d tensor", at);
  auto a = static_cast<std::size_t>(detail::normalize_axis("index_select", axis, x_in.dim(), at));
  std::vector<std::int64_t> rows = checked_indices("index_select", index, x_in.shape()[a], at);
  Shape shape = x_in.shape();
  shape[a] = static_cast<std::int64_t>(rows.size());
  detail::require_sizes("index_select", shape, x_in.dtype(), at);
  detail::OpScope scope("index_select", at, x_in, index);
  Tensor x = x_in.is_contiguous() ? x_in : kernels::cast(x_in, x_in.dtype());
  Tensor y = detail::new_tensor(shape, x.dtype());
  Split3 s = around(x.shape(), a);
  const std::size_t item = itemsize(x.dtype());
  const auto* xp = static_cast<const char*>(x.impl().storage->data) + x.offset() * static_cast<std::int64_t>(item);
  auto* yp = static_cast<char*>(y.impl().storage->data);
  const std::int64_t m = static_cast<std::int64_t>(rows.size());
  for (std::int64_t o = 0; o < s.outer; ++o)
    for (std::int64_t i = 0; i < m; ++i)
      std::memcpy(yp + ((o * m + i) * s.inner) * static_cast<std::int64_t>(item),
                  xp + ((o * s.n + rows[static_cast<std::size_t>(i)]) * s.inner) * static_cast<std::int64_t>(item),
                  static_cast<std::size_t>(s.inner) * item);
  return record("index_select", {x_in}, y, {}, [rows, s, m](Backward& b) {
    Tensor gy = b.gy().contiguous();
    Tensor gx = zeros(b.input_shape(0), gy.dtype());
    detail::dispatch_floating(gy.dtype(), [&]<class T>() {
      const T* g = gy.data<T>();
      T* out = gx.data<T>();
      for (std::int64_t o = 0; o < s.outer; ++o)
        for (std::int64_t i = 0; i < m; ++i) {
          T* dst = out + (o * s.n + rows[static_cast<std::size_t>(i)]) * s.inner;
          const T* src = g + (o * m + i) * s.inner;
          for (std::int64_t j = 0; j < s.inner; ++j) dst[j] += src[j];
        }
    });
    b.accumulate(0, gx);
  }, at);
}

Tensor gather(const Tensor& x_in, std::int64_t axis, const Tensor& index_in, Here at) {
  detail::require_defined("gather", x_in, at);
  check_index("gather", index_in, at);
  if (index_in.dim() != x_in.dim())
    fail<ShapeError>("gather", "the index must have the input's rank",
                     "index " + to_string(index_in.shape()) + " for input " + to_string(x_in.shape()), at);
  const std::size_t rank = static_cast<std::size_t>(x_in.dim());
  auto a = static_cast<std::size_t>(detail::normalize_axis("gather", axis, x_in.dim(), at));
  for (std::size_t d = 0; d < rank; ++d)
    if (d != a && index_in.shape()[d] > x_in.shape()[d])
      fail<ShapeError>("gather", "the index may not be larger than the input outside the gather axis",
                       "index " + to_string(index_in.shape()) + " for input " + to_string(x_in.shape()), at);
  const std::int64_t limit = rank == 0 ? 1 : x_in.shape()[a];
  std::vector<std::int64_t> idx = checked_indices("gather", index_in, limit, at);
  detail::OpScope scope("gather", at, x_in, index_in);
  Tensor x = x_in.is_contiguous() ? x_in : kernels::cast(x_in, x_in.dtype());
  const Shape& shape = index_in.shape();
  // Offsets into x for every element of the index, in row-major order of the index.
  std::vector<std::int64_t> offsets(idx.size());
  {
    std::vector<std::int64_t> pos(rank, 0);
    const Strides& xs = x.strides();
    for (std::size_t flat = 0; flat < idx.size(); ++flat) {
      std::int64_t off = 0;
      for (std::size_t d = 0; d < rank; ++d) off += (d == a ? idx[flat] : pos[d]) * xs[d];
      offsets[flat] = off;
      for (std::size_t d = rank; d-- > 0;) {
        if (++pos[d] < shape[d]) break;
        pos[d] = 0;
      }
    }
  }
  Tensor y = detail::new_tensor(shape, x.dtype());
  detail::dispatch(x.dtype(), [&]<class T>() {
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    for (std::size_t i = 0; i < offsets.size(); ++i) yp[i] = xp[offsets[i]];
  });
  return record("gather", {x_in}, y, {}, [offsets](Backward& b) {
    Tensor gy = b.gy().contiguous();
    Tensor gx = zeros(b.input_shape(0), gy.dtype());
    detail::dispatch_floating(gy.dtype(), [&]<class T>() {
      const T* g = gy.data<T>();
      T* out = gx.data<T>();
      for (std::size_t i = 0; i < offsets.size(); ++i) out[offsets[i]] += g[i];
    });
    b.accumulate(0, gx);
  }, at);
}

}  // namespace tapegrad
