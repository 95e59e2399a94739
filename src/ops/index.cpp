// index_select and gather, with their scatter-add backwards (the kernels are in kernels/index.cpp).
#include "tapegrad/ops/index.hpp"

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
  detail::OpScope scope("index_select", at);
  Tensor y = kernels::index_select(x_in, a, rows);
  return record("index_select", {x_in}, y, {}, [rows, a](Backward& b) {
    b.accumulate(0, kernels::index_add(b.input_shape(0), a, rows, b.gy()));
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
  detail::OpScope scope("gather", at);
  Tensor y = kernels::gather(x_in, a, idx, index_in.shape());
  return record("gather", {x_in}, y, {}, [idx, a](Backward& b) {
    b.accumulate(0, kernels::scatter_add(b.input_shape(0), a, idx, b.gy()));
  }, at);
}

}  // namespace tapegrad
