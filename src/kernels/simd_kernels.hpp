// The SIMD bodies behind simd_table.hpp, templates over an xsimd architecture. Included only by the
// per-instruction-set translation units (Note [Kernels per instruction set]), inside a namespace
// named after the instruction set, so no symbol is shared between units built with different flags.
//
// Tails: the last partial batch is copied into a small buffer and run through the same batch
// formula, so every element gets exactly the same arithmetic whatever its position: results do not
// depend on how work is chunked over threads, and there are no loads or stores past the end.
#include <xsimd/xsimd.hpp>

#include <cstring>
#include <limits>

#include "kernels/simd_table.hpp"

namespace TAPEGRAD_ISA_NAMESPACE {

using namespace tapegrad::kernels;
using std::int64_t;

template <class T, class Arch>
using Batch = xsimd::batch<T, Arch>;

// Runs body(batch_index_offset, count) for full batches, then the tail through a padded buffer.
// load(i) and store(i, value) do the memory traffic; the tail variant works on copies.
template <class T, class Arch, class Full, class Tail>
inline void blocks(int64_t n, Full&& full, Tail&& tail) {
  constexpr int64_t width = Batch<T, Arch>::size;
  int64_t i = 0;
  for (; i + width <= n; i += width) full(i);
  if (i < n) tail(i, n - i);
}

template <class T, class Arch>
inline Batch<T, Arch> load_partial(const T* p, int64_t count, T fill = T(0)) {
  alignas(64) T buffer[Batch<T, Arch>::size];
  // (plain loops, not std:: algorithms: a std:: template instantiated here with -mavx2 could be the
  // copy the linker keeps for the baseline units too)
  for (auto& v : buffer) v = fill;
  std::memcpy(buffer, p, static_cast<std::size_t>(count) * sizeof(T));
  return Batch<T, Arch>::load_aligned(buffer);
}

template <class T, class Arch>
inline void store_partial(T* p, int64_t count, const Batch<T, Arch>& value) {
  alignas(64) T buffer[Batch<T, Arch>::size];
  value.store_aligned(buffer);
  std::memcpy(p, buffer, static_cast<std::size_t>(count) * sizeof(T));
}

// ---------------------------------------------------------------- elementwise

template <class Arch, class Op, class T>
void unary(int64_t n, const void* xv, void* yv, const Params& p) {
  using B = Batch<T, Arch>;
  const T* x = static_cast<const T*>(xv);
  T* y = static_cast<T*>(yv);
  blocks<T, Arch>(
      n, [&](int64_t i) { Op::forward(B::load_unaligned(x + i), p).store_unaligned(y + i); },
      [&](int64_t i, int64_t count) {
        store_partial<T, Arch>(y + i, count, Op::forward(load_partial<T, Arch>(x + i, count, T(1)), p));
      });
}

template <class Arch, class Op, class T>
void unary_backward(int64_t n, const void* xv, const void* yv, const void* gyv, void* gxv, const Params& p) {
  using B = Batch<T, Arch>;
  const T* x = static_cast<const T*>(xv);
  const T* y = static_cast<const T*>(yv);
  const T* gy = static_cast<const T*>(gyv);
  T* gx = static_cast<T*>(gxv);
  blocks<T, Arch>(
      n,
      [&](int64_t i) {
        Op::backward(B::load_unaligned(x + i), B::load_unaligned(y + i), B::load_unaligned(gy + i), p)
            .store_unaligned(gx + i);
      },
      [&](int64_t i, int64_t count) {
        store_partial<T, Arch>(gx + i, count,
                               Op::backward(load_partial<T, Arch>(x + i, count, T(1)),
                                            load_partial<T, Arch>(y + i, count, T(1)),
                                            load_partial<T, Arch>(gy + i, count), p));
      });
}

// Operand access for a Broadcast mode: a vector (load) or one repeated value (splat).
template <class T, class Arch, bool scalar>
struct Operand {
  const T* p;
  Batch<T, Arch> splat;
  explicit Operand(const T* pointer) : p(pointer), splat(scalar ? Batch<T, Arch>(*pointer) : Batch<T, Arch>(T(0))) {}
  Batch<T, Arch> at(int64_t i) const {
    if constexpr (scalar) return splat;
    else return Batch<T, Arch>::load_unaligned(p + i);
  }
  Batch<T, Arch> tail(int64_t i, int64_t count) const {
    if constexpr (scalar) return splat;
    else return load_partial<T, Arch>(p + i, count, T(1));
  }
};

template <class Arch, class Op, class T, bool a_is_scalar, bool b_is_scalar>
void binary(int64_t n, const void* av, const void* bv, void* yv) {
  Operand<T, Arch, a_is_scalar> a(static_cast<const T*>(av));
  Operand<T, Arch, b_is_scalar> b(static_cast<const T*>(bv));
  T* y = static_cast<T*>(yv);
  blocks<T, Arch>(
      n, [&](int64_t i) { Op::forward(a.at(i), b.at(i)).store_unaligned(y + i); },
      [&](int64_t i, int64_t count) { store_partial<T, Arch>(y + i, count, Op::forward(a.tail(i, count), b.tail(i, count))); });
}

template <class Arch, class Op, class T, int which, bool a_is_scalar, bool b_is_scalar>
void binary_backward(int64_t n, const void* av, const void* bv, const void* yv, const void* gyv, void* gv) {
  using B = Batch<T, Arch>;
  Operand<T, Arch, a_is_scalar> a(static_cast<const T*>(av));
  Operand<T, Arch, b_is_scalar> b(static_cast<const T*>(bv));
  const T* y = static_cast<const T*>(yv);
  const T* gy = static_cast<const T*>(gyv);
  T* g = static_cast<T*>(gv);
  auto grad = [](const B& av_, const B& bv_, const B& y_, const B& gy_) {
    if constexpr (which == 0) return Op::grad_a(av_, bv_, y_, gy_);
    else return Op::grad_b(av_, bv_, y_, gy_);
  };
  blocks<T, Arch>(
      n, [&](int64_t i) { grad(a.at(i), b.at(i), B::load_unaligned(y + i), B::load_unaligned(gy + i)).store_unaligned(g + i); },
      [&](int64_t i, int64_t count) {
        store_partial<T, Arch>(g + i, count,
                               grad(a.tail(i, count), b.tail(i, count), load_partial<T, Arch>(y + i, count, T(1)),
                                    load_partial<T, Arch>(gy + i, count)));
      });
}

// ---------------------------------------------------------------- reductions

template <class T, class Arch>
struct SumOp {
  static constexpr T identity() { return T(0); }
  static Batch<T, Arch> combine(const Batch<T, Arch>& a, const Batch<T, Arch>& b) { return a + b; }
  static T combine(T a, T b) { return a + b; }
};
// max / min propagate NaN, like torch.amax: they combine through the Maximum / Minimum formulas
// (Note [NaN propagation]), scalars and batches alike.
template <class T, class Arch>
struct MaxOp {
  static constexpr T identity() { return -std::numeric_limits<T>::infinity(); }
  template <class V> static V combine(const V& acc, const V& v) { return Maximum::forward(acc, v); }
};
template <class T, class Arch>
struct MinOp {
  static constexpr T identity() { return std::numeric_limits<T>::infinity(); }
  template <class V> static V combine(const V& acc, const V& v) { return Minimum::forward(acc, v); }
};

// Four independent accumulators (they hide the add latency), folded in a fixed order.
template <class Arch, template <class, class> class R, class T>
void reduce_inner(int64_t rows, int64_t n, const void* xv, void* yv) {
  using B = Batch<T, Arch>;
  using Op = R<T, Arch>;
  constexpr int64_t width = B::size;
  const T* x = static_cast<const T*>(xv);
  T* y = static_cast<T*>(yv);
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = x + r * n;
    B acc0(Op::identity()), acc1(Op::identity()), acc2(Op::identity()), acc3(Op::identity());
    int64_t i = 0;
    for (; i + 4 * width <= n; i += 4 * width) {
      acc0 = Op::combine(acc0, B::load_unaligned(row + i));
      acc1 = Op::combine(acc1, B::load_unaligned(row + i + width));
      acc2 = Op::combine(acc2, B::load_unaligned(row + i + 2 * width));
      acc3 = Op::combine(acc3, B::load_unaligned(row + i + 3 * width));
    }
    for (; i + width <= n; i += width) acc0 = Op::combine(acc0, B::load_unaligned(row + i));
    if (i < n) acc1 = Op::combine(acc1, load_partial<T, Arch>(row + i, n - i, Op::identity()));
    B total = Op::combine(Op::combine(acc0, acc1), Op::combine(acc2, acc3));
    alignas(64) T lanes[width];
    total.store_aligned(lanes);
    T result = lanes[0];
    for (int64_t k = 1; k < width; ++k) result = Op::combine(result, lanes[k]);
    y[r] = result;
  }
}

template <class Arch, template <class, class> class R, class T>
void reduce_outer(int64_t rows, int64_t n, int64_t ld, const void* xv, void* yv) {
  using B = Batch<T, Arch>;
  using Op = R<T, Arch>;
  const T* x = static_cast<const T*>(xv);
  T* y = static_cast<T*>(yv);
  blocks<T, Arch>(
      n,
      [&](int64_t j) {
        B acc = B::load_unaligned(y + j);
        for (int64_t r = 0; r < rows; ++r) acc = Op::combine(acc, B::load_unaligned(x + r * ld + j));
        acc.store_unaligned(y + j);
      },
      [&](int64_t j, int64_t count) {
        for (int64_t k = j; k < j + count; ++k) {
          T acc = y[k];
          for (int64_t r = 0; r < rows; ++r) acc = Op::combine(acc, x[r * ld + k]);
          y[k] = acc;
        }
      });
}

// Float32 rows: four batches of float32 accumulators take runs of `run` batches each (a short run
// loses little to rounding), then each run's total joins float64 accumulators. As fast as float32
// alone, and the error no longer grows with the row (Note [Accurate sums] in reduce.cpp).
template <class Arch>
void sum_rows_float32(int64_t rows, int64_t n, const void* xv, void* yv) {
  using B = Batch<float, Arch>;
  using D = Batch<double, Arch>;
  constexpr int64_t width = B::size;
  static_assert(width == 2 * D::size);
  constexpr int64_t run = 16 * 4 * width;
  const float* x = static_cast<const float*>(xv);
  float* y = static_cast<float*>(yv);
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * n;
    D total0(0.0), total1(0.0);
    for (int64_t i = 0; i < n;) {
      const int64_t end = n - i < run ? n : i + run;
      B acc0(0.0f), acc1(0.0f), acc2(0.0f), acc3(0.0f);
      for (; i + 4 * width <= end; i += 4 * width) {
        acc0 += B::load_unaligned(row + i);
        acc1 += B::load_unaligned(row + i + width);
        acc2 += B::load_unaligned(row + i + 2 * width);
        acc3 += B::load_unaligned(row + i + 3 * width);
      }
      for (; i + width <= end; i += width) acc0 += B::load_unaligned(row + i);
      if (i < end) {
        acc1 += load_partial<float, Arch>(row + i, end - i);
        i = end;
      }
      alignas(64) float lanes[width];
      ((acc0 + acc1) + (acc2 + acc3)).store_aligned(lanes);
      alignas(64) double wide[width];
      for (int64_t k = 0; k < width; ++k) wide[k] = lanes[k];
      total0 += D::load_aligned(wide);
      total1 += D::load_aligned(wide + D::size);
    }
    alignas(64) double wide[width];
    total0.store_aligned(wide);
    total1.store_aligned(wide + D::size);
    double result = wide[0];
    for (int64_t k = 1; k < width; ++k) result += wide[k];
    y[r] = static_cast<float>(result);
  }
}

// Plain loops, which the compiler vectorises with this unit's flags. The order of the additions
// depends only on rows, n and ld, never on the vector width.
template <class T>
void sum_columns(int64_t rows, int64_t n, int64_t ld, const void* xv, double* sums) {
  const T* x = static_cast<const T*>(xv);
  constexpr int64_t lanes = 64;
  if (ld == n && n < lanes / 2) {
    // Narrow and contiguous: take whole groups of rows as one run of `lanes`-ish elements, so the
    // inner loop is long enough to vectorise; lane k holds column k % n.
    const int64_t group = lanes / n, width = group * n;
    double partial[lanes] = {};
    int64_t r = 0;
    for (; r + group <= rows; r += group) {
      const T* xr = x + r * n;
      for (int64_t k = 0; k < width; ++k) partial[k] += static_cast<double>(xr[k]);
    }
    for (int64_t k = 0; k < width; ++k) sums[k % n] += partial[k];
    x += r * n;
    rows -= r;
  }
  // four rows per pass over the sums: a quarter of the loads and stores of `sums`
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const T *x0 = x + r * ld, *x1 = x0 + ld, *x2 = x1 + ld, *x3 = x2 + ld;
    for (int64_t j = 0; j < n; ++j)
      sums[j] = (((sums[j] + static_cast<double>(x0[j])) + static_cast<double>(x1[j])) + static_cast<double>(x2[j])) +
                static_cast<double>(x3[j]);
  }
  // the last 1 to 3 rows in one pass too (the same order of additions)
  const T* x0 = rows > r ? x + r * ld : x;  // (no pointer past the rows)
  if (rows - r == 3) {
    const T *x1 = x0 + ld, *x2 = x1 + ld;
    for (int64_t j = 0; j < n; ++j)
      sums[j] = ((sums[j] + static_cast<double>(x0[j])) + static_cast<double>(x1[j])) + static_cast<double>(x2[j]);
  } else if (rows - r == 2) {
    const T* x1 = x0 + ld;
    for (int64_t j = 0; j < n; ++j) sums[j] = (sums[j] + static_cast<double>(x0[j])) + static_cast<double>(x1[j]);
  } else if (rows - r == 1) {
    for (int64_t j = 0; j < n; ++j) sums[j] += static_cast<double>(x0[j]);
  }
}

// Three passes over each row while it sits in L1: the maximum, then e^(x - max) (stored) and its
// sum, then the scaling (softmax) or the shift by log(sum) (log_softmax). A row of -inf gives NaN
// for softmax and -inf - log(0) = NaN as well, like torch.
template <class Arch, class T>
void softmax_rows(int64_t rows, int64_t n, const void* xv, void* yv, bool log) {
  using B = Batch<T, Arch>;
  constexpr T infinity = std::numeric_limits<T>::infinity();
  const T* x = static_cast<const T*>(xv);
  T* y = static_cast<T*>(yv);
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    T m;
    reduce_inner<Arch, MaxOp, T>(1, n, xr, &m);
    if (!(m > -infinity && m < infinity)) m = T(0);  // all -inf, or inf/NaN: no shift
    const B shift(m);
    B total(T(0));
    blocks<T, Arch>(
        n,
        [&](int64_t i) {
          B v = B::load_unaligned(xr + i) - shift;
          B e = xsimd::exp(v);
          total += e;
          (log ? v : e).store_unaligned(yr + i);
        },
        [&](int64_t i, int64_t count) {
          B v = load_partial<T, Arch>(xr + i, count, -infinity) - shift;  // padding adds e^-inf = 0
          B e = xsimd::exp(v);
          total += e;
          store_partial<T, Arch>(yr + i, count, log ? v : e);
        });
    const B sum(xsimd::hadd(total));
    // log_softmax: y = (x - m) - log(sum); softmax: y = e / sum
    const B factor = log ? xsimd::log(sum) : B(T(1)) / sum;
    auto finish = [&](const B& v) { return log ? v - factor : v * factor; };
    blocks<T, Arch>(
        n, [&](int64_t i) { finish(B::load_unaligned(yr + i)).store_unaligned(yr + i); },
        [&](int64_t i, int64_t count) { store_partial<T, Arch>(yr + i, count, finish(load_partial<T, Arch>(yr + i, count))); });
  }
}

// ---------------------------------------------------------------- the table

template <class Arch>
SimdTable make_table(const char* name) {
  SimdTable t{};
  t.isa = name;
  [&]<class... Ops>(std::tuple<Ops...>*) {
    int id = 0;
    ((t.unary[id][0] = &unary<Arch, Ops, float>, t.unary[id][1] = &unary<Arch, Ops, double>,
      t.unary_backward[id][0] = &unary_backward<Arch, Ops, float>,
      t.unary_backward[id][1] = &unary_backward<Arch, Ops, double>, ++id),
     ...);
  }(static_cast<unary_ops*>(nullptr));
  [&]<class... Ops>(std::tuple<Ops...>*) {
    int id = 0;
    (
        [&] {
          if constexpr (Ops::differentiable) {
            auto fill = [&]<class T>(int d) {
              t.binary[id][d][both_vectors] = &binary<Arch, Ops, T, false, false>;
              t.binary[id][d][b_scalar] = &binary<Arch, Ops, T, false, true>;
              t.binary[id][d][a_scalar] = &binary<Arch, Ops, T, true, false>;
              t.binary_backward[id][d][0][both_vectors] = &binary_backward<Arch, Ops, T, 0, false, false>;
              t.binary_backward[id][d][0][b_scalar] = &binary_backward<Arch, Ops, T, 0, false, true>;
              t.binary_backward[id][d][0][a_scalar] = &binary_backward<Arch, Ops, T, 0, true, false>;
              t.binary_backward[id][d][1][both_vectors] = &binary_backward<Arch, Ops, T, 1, false, false>;
              t.binary_backward[id][d][1][b_scalar] = &binary_backward<Arch, Ops, T, 1, false, true>;
              t.binary_backward[id][d][1][a_scalar] = &binary_backward<Arch, Ops, T, 1, true, false>;
            };
            fill.template operator()<float>(0);
            fill.template operator()<double>(1);
          }
          ++id;
        }(),
        ...);
  }(static_cast<binary_ops*>(nullptr));
  t.reduce_inner[0][0] = &reduce_inner<Arch, SumOp, float>;
  t.reduce_inner[0][1] = &reduce_inner<Arch, SumOp, double>;
  t.reduce_inner[1][0] = &reduce_inner<Arch, MaxOp, float>;
  t.reduce_inner[1][1] = &reduce_inner<Arch, MaxOp, double>;
  t.reduce_inner[2][0] = &reduce_inner<Arch, MinOp, float>;
  t.reduce_inner[2][1] = &reduce_inner<Arch, MinOp, double>;
  t.reduce_outer[0][0] = &reduce_outer<Arch, SumOp, float>;
  t.reduce_outer[0][1] = &reduce_outer<Arch, SumOp, double>;
  t.reduce_outer[1][0] = &reduce_outer<Arch, MaxOp, float>;
  t.reduce_outer[1][1] = &reduce_outer<Arch, MaxOp, double>;
  t.reduce_outer[2][0] = &reduce_outer<Arch, MinOp, float>;
  t.reduce_outer[2][1] = &reduce_outer<Arch, MinOp, double>;
  t.sum_columns[0] = &sum_columns<float>;
  t.sum_columns[1] = &sum_columns<double>;
  t.sum_rows_float32 = &sum_rows_float32<Arch>;
  t.softmax_rows[0] = &softmax_rows<Arch, float>;
  t.softmax_rows[1] = &softmax_rows<Arch, double>;
  return t;
}

}  // namespace TAPEGRAD_ISA_NAMESPACE
