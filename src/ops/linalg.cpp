// matmul over kernels::gemm. Each matrix operand is passed to gemm in place when one of its two
// strides is 1 (as is, or as a transpose), so transposed views such as bᵀ in the backward cost no copy.
#include "tapegrad/ops/linalg.hpp"

#include <optional>

#include "internal.hpp"
#include "kernels/copy.hpp"
#include "kernels/gemm.hpp"
#include "kernels/loop.hpp"
#include "tapegrad/function.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shape.hpp"

namespace tapegrad {

using detail::fail;

namespace {

// How gemm reads one matrix: its transpose flag and leading dimension.
struct MatrixLayout {
  kernels::Trans trans;
  std::int64_t ld;
};

// A layout gemm can read in place (BLAS rules: unit stride one way, leading dimension at least the
// row length the other way), or none: the caller copies.
std::optional<MatrixLayout> layout_of(std::int64_t rows, std::int64_t cols, std::int64_t row_stride,
                                      std::int64_t col_stride) {
  if (col_stride == 1 || cols == 1) {
    const std::int64_t ld = rows == 1 ? cols : row_stride;
    if (ld >= cols) return MatrixLayout{kernels::Trans::no, std::max<std::int64_t>(ld, 1)};
  }
  if (row_stride == 1 || rows == 1) {
    const std::int64_t ld = cols == 1 ? rows : col_stride;
    if (ld >= rows) return MatrixLayout{kernels::Trans::yes, std::max<std::int64_t>(ld, 1)};
  }
  return std::nullopt;
}

// y[batch..., n, m] = a[batch..., n, k] · b[batch..., k, m], batch axes already broadcast in shapes.
Tensor batched_product(Tensor a, Tensor b, const Shape& batch) {
  const std::size_t ra = a.shape().size(), rb = b.shape().size();
  const std::int64_t n = a.shape()[ra - 2], k = a.shape()[ra - 1], m = b.shape()[rb - 1];
  auto la = layout_of(n, k, a.strides()[ra - 2], a.strides()[ra - 1]);
  if (!la) {
    a = kernels::cast(a, a.dtype());
    la = layout_of(n, k, a.strides()[ra - 2], a.strides()[ra - 1]);
  }
  auto lb = layout_of(k, m, b.strides()[rb - 2], b.strides()[rb - 1]);
  if (!lb) {
    b = kernels::cast(b, b.dtype());
    lb = layout_of(k, m, b.strides()[rb - 2], b.strides()[rb - 1]);
  }
  Shape out_shape = batch;
  out_shape.push_back(n);
  out_shape.push_back(m);
  Tensor y = detail::new_tensor(out_shape, a.dtype());
  // Batch offsets of a and b (stride 0 along broadcast batch axes), walked in y's batch order.
  Shape a_batch(a.shape().begin(), a.shape().end() - 2), b_batch(b.shape().begin(), b.shape().end() - 2);
  Strides a_bs = kernels::broadcast_strides(a_batch, Strides(a.strides().begin(), a.strides().end() - 2), batch);
  Strides b_bs = kernels::broadcast_strides(b_batch, Strides(b.strides().begin(), b.strides().end() - 2), batch);
  std::vector<std::pair<std::int64_t, std::int64_t>> offsets;
  kernels::for_each_strided<2>(batch, {&a_bs, &b_bs}, [&](auto off, std::int64_t count, auto steps) {
    for (std::int64_t i = 0; i < count; ++i) offsets.emplace_back(off[0] + i * steps[0], off[1] + i * steps[1]);
  });
  detail::dispatch_floating(a.dtype(), [&]<class T>() {
    const T* ap = a.data<T>();
    const T* bp = b.data<T>();
    T* yp = y.data<T>();
    for (std::size_t i = 0; i < offsets.size(); ++i)
      kernels::gemm(la->trans, lb->trans, n, m, k, T(1), ap + offsets[i].first, la->ld, bp + offsets[i].second, lb->ld,
                    T(0), yp + static_cast<std::int64_t>(i) * n * m, std::max<std::int64_t>(m, 1));
  });
  return y;
}

}  // namespace

Tensor matmul(const Tensor& a_in, const Tensor& b_in, Here at) {
  detail::OpScope scope("matmul", at, a_in, b_in);
  detail::require_floating("matmul", a_in, at);
  detail::require_floating("matmul", b_in, at);
  if (a_in.dim() == 0 || b_in.dim() == 0)
    fail<ShapeError>("matmul", "both operands must have at least one axis",
                     "a=" + to_string(a_in.shape()) + ", b=" + to_string(b_in.shape()), at);
  // torch.matmul's vector cases: a 1-D a is a row, a 1-D b a column; the added axis is removed after.
  if (a_in.dim() == 1 || b_in.dim() == 1) {
    if (a_in.shape().back() != (b_in.dim() == 1 ? b_in.shape()[0] : b_in.shape()[b_in.shape().size() - 2]))
      fail<ShapeError>("matmul", "inner dimensions must agree",
                       "a=" + to_string(a_in.shape()) + ", b=" + to_string(b_in.shape()), at);
    Tensor a = a_in.dim() == 1 ? unsqueeze(a_in, 0, at) : a_in;
    Tensor b = b_in.dim() == 1 ? unsqueeze(b_in, -1, at) : b_in;
    Tensor y = matmul(a, b, at);
    if (b_in.dim() == 1) y = squeeze(y, {-1}, at);
    if (a_in.dim() == 1) y = squeeze(y, {b_in.dim() == 1 ? -1 : -2}, at);
    return scope.finish(std::move(y));
  }
  const Shape& as = a_in.shape();
  const Shape& bs = b_in.shape();
  if (as[as.size() - 1] != bs[bs.size() - 2])
    fail<ShapeError>("matmul", "inner dimensions must agree", "a=" + to_string(as) + ", b=" + to_string(bs), at);
  Shape batch = detail::broadcast_shapes("matmul", Shape(as.begin(), as.end() - 2),
                                         Shape(bs.begin(), bs.end() - 2), at);
  DType dtype = detail::promote(a_in.dtype(), b_in.dtype());
  Shape out_shape = batch;
  out_shape.push_back(as[as.size() - 2]);
  out_shape.push_back(bs[bs.size() - 1]);
  detail::require_sizes("matmul", out_shape, dtype, at);
  Tensor a = a_in.to(dtype, at), b = b_in.to(dtype, at);
  Tensor y = batched_product(a, b, batch);
  return record("matmul", {a, b}, y, {a, b}, [batch](Context& bw) {
    const Tensor& gy = bw.gy();
    // Under create_graph the products are matmuls themselves, recorded (a broadcast batch axis is
    // summed back by accumulate, recorded too).
    auto product = [&](const Tensor& left, const Tensor& right) {
      return bw.create_graph() ? matmul(left, right) : batched_product(left, right, batch);
    };
    if (bw.needs_grad(0)) bw.accumulate(0, product(gy, transpose(bw.saved(1), -1, -2)));  // gy · bᵀ
    if (bw.needs_grad(1)) bw.accumulate(1, product(transpose(bw.saved(0), -1, -2), gy));  // aᵀ · gy
  }, at);
}

// One tape entry, whose backward computes gW = gyᵀ · x directly in W's [out, in] layout: composed
// as matmul(x, transpose(W)), W's gradient came back as a transposed view, which every optimiser
// step then had to copy (a fifth of an MLP's train step). The backward is written with ops, so it is
// differentiable under create_graph and plain kernels otherwise (recording is off in backward).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Here at) {
  detail::OpScope scope("linear", at, x, weight, bias);
  detail::require_defined("linear", x, at);
  detail::require_defined("linear", weight, at);
  detail::require_floating("linear", x, at);
  detail::require_floating("linear", weight, at);
  if (weight.dim() != 2 || x.dim() == 0 || x.shape().back() != weight.shape()[1])
    fail<ShapeError>("linear", "weight must be [out, in] with in the input's last axis",
                     "input=" + to_string(x.shape()) + ", weight=" + to_string(weight.shape()), at);
  if (bias.defined() && (bias.dim() != 1 || bias.shape()[0] != weight.shape()[0]))
    fail<ShapeError>("linear", "bias must be [out]",
                     "bias=" + to_string(bias.shape()) + ", weight=" + to_string(weight.shape()), at);
  if (bias.defined()) detail::require_floating("linear", bias, at);
  DType dtype = detail::promote(x.dtype(), weight.dtype());
  if (bias.defined()) dtype = detail::promote(dtype, bias.dtype());
  // Rows of a batched input go through one product, not one per batch index; a vector is one row.
  Tensor rows = x.dim() == 2 ? x : reshape(x, {-1, x.shape().back()}, at);
  rows = rows.to(dtype, at);
  Tensor w = weight.to(dtype, at), b = bias.defined() ? bias.to(dtype, at) : Tensor();
  Tensor y;
  {
    NoGradGuard no_grad;
    y = matmul(rows, transpose(w, 0, 1));
    if (b.defined()) y.add_(b);
  }
  y = record("linear", {rows, w, b}, y, {rows, w}, [](Context& c) {
    const Tensor& gy = c.gy();
    if (c.needs_grad(0)) c.accumulate(0, matmul(gy, c.saved(1)));                   // gx = gy · W
    if (c.needs_grad(1)) c.accumulate(1, matmul(transpose(gy, 0, 1), c.saved(0)));  // gW = gyᵀ · x
    if (c.needs_grad(2)) c.accumulate(2, sum(gy, {0}));                             // gb = Σ_rows gy
  }, at);
  if (x.dim() != 2) {
    Shape shape = x.shape();
    shape.back() = weight.shape()[0];
    y = reshape(y, shape, at);
  }
  return scope.finish(std::move(y));
}

}  // namespace tapegrad
