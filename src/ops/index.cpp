// index_select and gather, with their scatter-add backwards (the kernels are in kernels/index.cpp).
#include "tapegrad/ops/index.hpp"

#include <algorithm>

#include "internal.hpp"
#include "kernels/index.hpp"
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

// index_select's backward. Only the span of rows read is touched: gy's rows are summed (in index
// order, kernels::index_add) into a buffer of that span, which goes into the input's gradient as one
// region (Context::accumulate_region), so a step that reads one row of a large table costs a row,
// not the table. Under create_graph the sum is recorded as an op whose backward is index_select again.
void index_select_back(Context& b, std::size_t a, const std::vector<std::int64_t>& rows) {
  const Shape full = b.input_shape(0);
  if (rows.empty()) return b.accumulate(0, zeros(full, b.input_dtype(0)));
  const auto [low, high] = std::minmax_element(rows.begin(), rows.end());
  const std::int64_t lo = *low;
  Shape shape = full;
  shape[a] = *high - lo + 1;
  std::vector<std::int64_t> shifted(rows.size());
  std::transform(rows.begin(), rows.end(), shifted.begin(), [lo](std::int64_t r) { return r - lo; });
  const Tensor& gy = b.gy();
  Tensor g = kernels::index_add(shape, a, shifted, gy);
  if (b.create_graph()) {
    Tensor index = from_vector(shifted, {static_cast<std::int64_t>(shifted.size())});
    g = record("index_select_backward", {gy}, g, {}, [a, index](Context& b2) {
      b2.accumulate(0, index_select(b2.gy(), static_cast<std::int64_t>(a), index));
    }, b.where());
  }
  Strides strides = contiguous_strides(full);
  b.accumulate_region(0, g, shape, strides, lo * strides[a]);
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
  Tensor y = kernels::index_select(x_in, a, rows);
  return record("index_select", {x_in}, y, {}, [rows = std::move(rows), a](Context& b) {
    index_select_back(b, a, rows);
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
  Tensor y = kernels::gather(x_in, a, idx, index_in.shape());
  return record("gather", {x_in}, y, {}, [idx = std::move(idx), a](Context& b) {
    const Tensor& gy = b.gy();
    Tensor gx = kernels::scatter_add(b.input_shape(0), a, idx, gy);
    if (b.create_graph()) {  // recorded as an op whose backward is gather again
      Tensor index = from_vector(idx, gy.shape());
      gx = record("gather_backward", {gy}, gx, {}, [a, index](Context& b2) {
        b2.accumulate(0, gather(b2.gy(), static_cast<std::int64_t>(a), index));
      }, b.where());
    }
    b.accumulate(0, gx);
  }, at);
}

}  // namespace tapegrad
