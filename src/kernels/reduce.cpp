#include "kernels/reduce.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include "internal.hpp"
#include "kernels/copy.hpp"
#include "kernels/formulas.hpp"
#include "kernels/loop.hpp"
#include "kernels/simd_table.hpp"
#include "parallel.hpp"

namespace tapegrad::kernels {

using detail::dispatch;
using detail::dispatch_floating;

namespace {

// The scalar path: any layout, any dtype.
void reduce_generic(Reduce kind, const Tensor& x, const std::vector<bool>& mask, const Tensor& y) {
  dispatch(x.dtype(), [&]<class T>() {
    // The output, seen with stride 0 along the reduced axes, walks beside x.
    Strides ys = y.strides();
    for (std::size_t i = 0; i < mask.size(); ++i)
      if (mask[i]) ys[i] = 0;
    const T* xp = x.data<T>();
    T* yp = const_cast<Tensor&>(y).data<T>();
    auto combine = [kind](T acc, T v) {
      if (kind == Reduce::sum) return acc + v;
      if (kind == Reduce::max) return Maximum::forward(acc, v);  // NaN propagates
      return Minimum::forward(acc, v);
    };
    for_each_strided<2>(x.shape(), {&x.strides(), &ys}, [&](auto offsets, std::int64_t n, auto steps) {
      const T* xi = xp + offsets[0];
      T* yi = yp + offsets[1];
      if (steps[1] == 0) {  // reducing along the inner axis: accumulate in a register
        T acc = *yi;
        for (std::int64_t i = 0; i < n; ++i) acc = combine(acc, xi[i * steps[0]]);
        *yi = acc;
        return;
      }
      for (std::int64_t i = 0; i < n; ++i) yi[i * steps[1]] = combine(yi[i * steps[1]], xi[i * steps[0]]);
    });
  });
}

// Note [Accurate sums]: a floating sum off the innermost axis, or over a strided view, adds each
// output's terms in float64 (sum_columns, sum_strided) and rounds once at the end, so float32 data
// keeps ~1 ulp of accuracy however long the axis: a float32 running sum stops growing at 2^24 ones,
// and a column sum is what the batch mean and the bias gradient (sum_to) are made of. Along the
// innermost axis, float32 rows go through sum_rows_float32: float32 SIMD accumulators over short
// runs (16 terms a lane), each run's total added in float64, so the error stays near 1 ulp instead
// of the ~1e-5 that float32 lanes over whole blocks reach on a constant row. var is two passes (the
// mean, then the squares of x - mean) over these sums; logsumexp sums exp(x - max) through them.
// tests/test_reduce_precision.cpp checks every position and layout against float64.

// Floating sums over any layout: the scalar walk of reduce_generic with float64 accumulators. One
// thread, so the order of the additions is fixed.
void sum_strided(const Tensor& x, const std::vector<bool>& mask, const Tensor& y) {
  dispatch_floating(x.dtype(), [&]<class T>() {
    Strides ys = y.strides();  // y is contiguous: the float64 sums use the same offsets
    for (std::size_t i = 0; i < mask.size(); ++i)
      if (mask[i]) ys[i] = 0;
    std::vector<double> sums(static_cast<std::size_t>(y.numel()), 0.0);
    const T* xp = x.data<T>();
    for_each_strided<2>(x.shape(), {&x.strides(), &ys}, [&](auto offsets, std::int64_t n, auto steps) {
      const T* xi = xp + offsets[0];
      double* si = sums.data() + offsets[1];
      if (steps[1] == 0) {
        double acc = *si;
        for (std::int64_t i = 0; i < n; ++i) acc += static_cast<double>(xi[i * steps[0]]);
        *si = acc;
        return;
      }
      for (std::int64_t i = 0; i < n; ++i) si[i * steps[1]] += static_cast<double>(xi[i * steps[0]]);
    });
    T* yp = const_cast<Tensor&>(y).data<T>();
    for (std::size_t i = 0; i < sums.size(); ++i) yp[i] = static_cast<T>(sums[i]);
  });
}

// Note [Deterministic reductions]: a row longer than `block` is always split into fixed blocks whose
// partial results are combined in block order, whether one thread or many computed them; rows are
// otherwise reduced whole by one thread. So the result never depends on the thread count.
constexpr std::int64_t block = 32768;

// rows x n contiguous, reducing each row.
template <class T>
void reduce_rows(ReduceInnerFn inner, std::int64_t rows, std::int64_t n, const T* x, T* y) {
  if (n <= block) {
    parallel::for_chunks(rows, std::max<std::int64_t>(1, block / std::max<std::int64_t>(n, 1)),
                         [&](std::int64_t r0, std::int64_t r1) { inner(r1 - r0, n, x + r0 * n, y + r0); }, n);
    return;
  }
  const std::int64_t blocks = (n + block - 1) / block;
  for (std::int64_t r = 0; r < rows; ++r) {
    std::vector<T> partial(static_cast<std::size_t>(blocks));
    parallel::for_chunks(blocks, 1, [&](std::int64_t b0, std::int64_t b1) {
      for (std::int64_t b = b0; b < b1; ++b)
        inner(1, std::min(block, n - b * block), x + r * n + b * block, &partial[static_cast<std::size_t>(b)]);
    }, block);
    // fold the partials through the same kernel: a fixed order, whatever the thread count
    inner(1, blocks, partial.data(), y + r);
  }
}

// y[o, j] = Σ_r x[o, r, j] for x of shape [outer, reduced, inner], in float64 (Note [Accurate sums]).
// Tasks are tiles of `height` rows by `width` columns, fixed by the sizes alone; each adds its rows
// into float64 sums of its own. With one row tile they are the result; otherwise they are kept, and
// the tiles of a column are added in tile order (Note [Deterministic reductions]).
constexpr std::int64_t column_tile = 1024;  // float64 sums of a tile's row: 8 KB, in L1

template <class T>
void sum_columns(SumColumnsFn kernel, std::int64_t outer, std::int64_t reduced, std::int64_t inner, const T* x, T* y) {
  if (reduced == 0) return;  // y already holds 0
  const std::int64_t width = std::clamp<std::int64_t>(inner, 1, column_tile);
  const std::int64_t height = std::max<std::int64_t>(1, 2 * block / width);
  const std::int64_t column_tiles = (inner + width - 1) / width;
  const std::int64_t row_tiles = (reduced + height - 1) / height;
  const std::int64_t tiles_per_o = row_tiles * column_tiles;
  // partial[(o * row_tiles + t) * inner + j]: the sum over row tile t of column j
  std::vector<double> partial(static_cast<std::size_t>(row_tiles > 1 ? outer * row_tiles * inner : 0));
  parallel::for_chunks(outer * tiles_per_o, 1, [&](std::int64_t t0, std::int64_t t1) {
    double sums[column_tile];
    for (std::int64_t t = t0; t < t1; ++t) {
      const std::int64_t o = t / tiles_per_o, row_tile = t % tiles_per_o / column_tiles;
      const std::int64_t c0 = t % column_tiles * width, n = std::min(inner - c0, width);
      const std::int64_t r0 = row_tile * height, r1 = std::min(reduced, r0 + height);
      std::fill_n(sums, n, 0.0);
      kernel(r1 - r0, n, inner, x + (o * reduced + r0) * inner + c0, sums);
      if (row_tiles == 1) std::copy_n(sums, n, y + o * inner + c0);  // rounded once, here
      else std::copy_n(sums, n, partial.data() + (o * row_tiles + row_tile) * inner + c0);
    }
  }, height * width);
  if (row_tiles == 1) return;
  parallel::for_chunks(outer * column_tiles, 1, [&](std::int64_t t0, std::int64_t t1) {
    double sums[column_tile];
    for (std::int64_t t = t0; t < t1; ++t) {
      const std::int64_t o = t / column_tiles, c0 = t % column_tiles * width, n = std::min(inner - c0, width);
      const double* first = partial.data() + o * row_tiles * inner + c0;
      std::copy_n(first, n, sums);
      for (std::int64_t tile = 1; tile < row_tiles; ++tile)
        for (std::int64_t j = 0; j < n; ++j) sums[j] += first[tile * inner + j];
      std::copy_n(sums, n, y + o * inner + c0);
    }
  }, row_tiles * width);
}

// Tries the SIMD paths: x contiguous and the reduced axes forming one of the patterns
// [reduced], [kept, reduced], [reduced, kept], [kept, reduced, kept] once size-1 axes are dropped
// and neighbours merged. Returns false when the pattern is not one of those.
bool reduce_fast(Reduce kind, const Tensor& x, const std::vector<bool>& mask, const Tensor& y) {
  if (!is_floating(x.dtype()) || !x.is_contiguous()) return false;
  std::vector<std::pair<std::int64_t, bool>> groups;  // (size, reduced)
  for (std::size_t i = 0; i < mask.size(); ++i) {
    if (x.shape()[i] == 1) continue;
    if (!groups.empty() && groups.back().second == mask[i]) groups.back().first *= x.shape()[i];
    else groups.emplace_back(x.shape()[i], mask[i]);
  }
  const int k = static_cast<int>(kind);
  return dispatch_floating(x.dtype(), [&]<class T>() {
    const int d = std::is_same_v<T, double> ? 1 : 0;
    const SimdTable& table = simd_table();
    const T* xp = x.data<T>();
    T* yp = const_cast<Tensor&>(y).data<T>();
    if (groups.empty()) {  // one element
      *yp = *xp;
      return true;
    }
    std::int64_t outer = 1, reduced = 1, inner = 1;
    if (groups.size() == 1 && groups[0].second) {
      reduced = groups[0].first;
    } else if (groups.size() == 1) {  // nothing reduced (all reduced axes have size 1)
      std::copy(xp, xp + groups[0].first, yp);
      return true;
    } else if (groups.size() == 2 && !groups[0].second) {
      outer = groups[0].first;
      reduced = groups[1].first;
    } else if (groups.size() == 2) {
      reduced = groups[0].first;
      inner = groups[1].first;
    } else if (groups.size() == 3 && !groups[0].second) {
      outer = groups[0].first;
      reduced = groups[1].first;
      inner = groups[2].first;
    } else {
      return false;
    }
    if (inner == 1) {
      const bool float32_sum = kind == Reduce::sum && std::is_same_v<T, float>;
      reduce_rows<T>(float32_sum ? table.sum_rows_float32 : table.reduce_inner[k][d], outer, reduced, xp, yp);
      return true;
    }
    if (kind == Reduce::sum) {
      sum_columns<T>(table.sum_columns[d], outer, reduced, inner, xp, yp);
      return true;
    }
    // Columns: y[o, j] folds x[o, 0..reduced, j]; threads take blocks of (o, column range).
    ReduceOuterFn fold = table.reduce_outer[k][d];
    const std::int64_t columns_per_task = std::max<std::int64_t>(64, block / std::max<std::int64_t>(reduced, 1));
    const std::int64_t column_tasks = (inner + columns_per_task - 1) / columns_per_task;
    parallel::for_chunks(outer * column_tasks, 1, [&](std::int64_t t0, std::int64_t t1) {
      for (std::int64_t t = t0; t < t1; ++t) {
        const std::int64_t o = t / column_tasks, c0 = (t % column_tasks) * columns_per_task;
        const std::int64_t c1 = std::min(inner, c0 + columns_per_task);
        fold(reduced, c1 - c0, inner, xp + o * reduced * inner + c0, yp + o * inner + c0);
      }
    }, reduced * columns_per_task);
    return true;
  });
}

}  // namespace

Tensor reduce(Reduce kind, const Tensor& x, const std::vector<bool>& mask, bool keepdim) {
  Shape kept = detail::reduced_shape(x.shape(), mask, true);
  Tensor y = detail::new_tensor(kept, x.dtype());
  dispatch(x.dtype(), [&]<class T>() {
    T start = kind == Reduce::sum   ? T(0)
              : kind == Reduce::max ? std::numeric_limits<T>::lowest()
                                    : std::numeric_limits<T>::max();
    if constexpr (std::numeric_limits<T>::has_infinity) {
      if (kind == Reduce::max) start = -std::numeric_limits<T>::infinity();
      if (kind == Reduce::min) start = std::numeric_limits<T>::infinity();
    }
    fill(y, static_cast<double>(start));
  });
  if (!reduce_fast(kind, x, mask, y)) {
    if (kind == Reduce::sum && is_floating(x.dtype())) sum_strided(x, mask, y);
    else reduce_generic(kind, x, mask, y);
  }
  if (!keepdim) {
    Shape shape = detail::reduced_shape(x.shape(), mask, false);
    y = detail::make_view(y, shape, contiguous_strides(shape), 0);
  }
  return y;
}

Tensor softmax_last_axis(const Tensor& x, bool log) {
  Tensor y = detail::new_tensor(x.shape(), x.dtype());
  const std::int64_t n = x.dim() == 0 ? 1 : x.shape().back();
  const std::int64_t rows = n == 0 ? 0 : x.numel() / n;
  dispatch_floating(x.dtype(), [&]<class T>() {
    const SoftmaxRowsFn kernel = simd_table().softmax_rows[std::is_same_v<T, double> ? 1 : 0];
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    // whole rows per task: each row's result is computed the same way whatever the thread count
    parallel::for_chunks(rows, std::max<std::int64_t>(1, block / std::max<std::int64_t>(n, 1)),
                         [&](std::int64_t r0, std::int64_t r1) { kernel(r1 - r0, n, xp + r0 * n, yp + r0 * n, log); },
                         4 * n);
  });
  return y;
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const std::size_t lead = g.shape().size() - shape.size();
  std::vector<bool> mask(g.shape().size(), false);
  for (std::size_t i = 0; i < g.shape().size(); ++i)
    mask[i] = i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1);
  Tensor kept = reduce(Reduce::sum, g, mask, true);
  return detail::make_view(kept, shape, contiguous_strides(shape), 0);
}

Tensor arg_reduce(bool is_max, const Tensor& x, std::int64_t axis, bool keepdim) {
  Tensor src = x;
  std::int64_t ax = axis;
  if (axis < 0) {  // flattened
    src = cast(x, x.dtype());
    src = detail::make_view(src, {x.numel()}, {1}, 0);
    ax = 0;
  }
  const Shape& shape = src.shape();
  Shape out_shape = shape;
  out_shape[static_cast<std::size_t>(ax)] = 1;
  Tensor y = detail::new_tensor(out_shape, DType::int64);
  const std::int64_t length = shape[static_cast<std::size_t>(ax)];
  const std::int64_t step = src.strides()[static_cast<std::size_t>(ax)];
  Strides ys = y.strides();
  dispatch(src.dtype(), [&]<class T>() {
    const T* xp = src.data<T>();
    std::int64_t* yp = y.data<std::int64_t>();
    // iterate over the output positions; scan `length` elements along the axis for each
    for_each_strided<2>(out_shape, {&src.strides(), &ys}, [&](auto offsets, std::int64_t n, auto steps) {
      for (std::int64_t i = 0; i < n; ++i) {
        const T* row = xp + offsets[0] + i * steps[0];
        std::int64_t best = 0;
        T best_value = row[0];
        for (std::int64_t j = 1; j < length; ++j) {
          T v = row[j * step];
          if (math::isnan(best_value)) break;  // NaN wins, the first one, like torch.argmax
          if (math::or_nan(is_max ? v > best_value : v < best_value, v)) {
            best = j;
            best_value = v;
          }
        }
        yp[offsets[1] + i * steps[1]] = best;
      }
    });
  });
  if (axis < 0) return keepdim ? detail::make_view(y, Shape(x.dim(), 1), Strides(x.dim(), 1), 0)
                               : detail::make_view(y, {}, {}, 0);
  if (!keepdim) {
    Shape squeezed = x.shape();
    squeezed.erase(squeezed.begin() + ax);
    return detail::make_view(y, squeezed, contiguous_strides(squeezed), 0);
  }
  return y;
}

}  // namespace tapegrad::kernels
