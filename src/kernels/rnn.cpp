// Fused LSTM gate passes: the transcendental functions run through the SIMD table's sigmoid and tanh
// (Note [Kernels per instruction set]); the products are plain loops the compiler vectorises.
#include "kernels/rnn.hpp"

#include "kernels/formulas.hpp"
#include "kernels/simd_table.hpp"
#include "parallel.hpp"

namespace tapegrad::kernels {

namespace {
template <class T>
constexpr int slot = std::is_same_v<T, double> ? 1 : 0;

// Rows per chunk: a chunk's boundaries depend only on n (Note [Deterministic chunking]).
constexpr std::int64_t rows_per_chunk = 8;
}  // namespace

template <class T>
void lstm_gates_forward(std::int64_t n, std::int64_t h, T* gates, const T* c_prev, T* c, T* tanh_c, T* h_out) {
  const SimdTable& table = simd_table();
  const UnaryFn sigmoid = table.unary[unary_id<Sigmoid>][slot<T>];
  const UnaryFn tanh = table.unary[unary_id<Tanh>][slot<T>];
  const Params params{};
  parallel::for_chunks(
      n, rows_per_chunk,
      [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r) {
          T* a = gates + r * 4 * h;
          sigmoid(2 * h, a, a, params);  // i, f
          tanh(h, a + 2 * h, a + 2 * h, params);
          sigmoid(h, a + 3 * h, a + 3 * h, params);
          const T* i = a;
          const T* f = a + h;
          const T* g = a + 2 * h;
          const T* o = a + 3 * h;
          const T* cp = c_prev + r * h;
          T* cr = c + r * h;
          T* tc = tanh_c + r * h;
          for (std::int64_t j = 0; j < h; ++j) cr[j] = f[j] * cp[j] + i[j] * g[j];
          tanh(h, cr, tc, params);
          T* y = h_out + r * h;
          for (std::int64_t j = 0; j < h; ++j) y[j] = o[j] * tc[j];
        }
      },
      24 * h);
}

template <class T>
void lstm_gates_backward(std::int64_t n, std::int64_t h, const T* gates, const T* c_prev, const T* tanh_c, const T* gh,
                         const T* gy_out, T* gc, T* d_gates) {
  parallel::for_chunks(
      n, rows_per_chunk,
      [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r) {
          const T* __restrict i = gates + r * 4 * h;
          const T* __restrict f = i + h;
          const T* __restrict g = i + 2 * h;
          const T* __restrict o = i + 3 * h;
          const T* __restrict cp = c_prev + r * h;
          const T* __restrict tc = tanh_c + r * h;
          const T* __restrict ghr = gh + r * h;
          const T* __restrict gyr = gy_out + r * h;
          T* __restrict gcr = gc + r * h;
          T* __restrict di = d_gates + r * 4 * h;
          T* __restrict df = di + h;
          T* __restrict dg = di + 2 * h;
          T* __restrict d_o = di + 3 * h;
          for (std::int64_t j = 0; j < h; ++j) {
            const T g_h = ghr[j] + gyr[j];
            const T g_c = gcr[j] + g_h * o[j] * (T(1) - tc[j] * tc[j]);
            di[j] = g_c * g[j] * i[j] * (T(1) - i[j]);
            df[j] = g_c * cp[j] * f[j] * (T(1) - f[j]);
            dg[j] = g_c * i[j] * (T(1) - g[j] * g[j]);
            d_o[j] = g_h * tc[j] * o[j] * (T(1) - o[j]);
            gcr[j] = g_c * f[j];
          }
        }
      },
      20 * h);
}

template <class T>
void add_rows_into(std::int64_t rows, std::int64_t cols, const T* __restrict x, T* __restrict y) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * cols;
    for (std::int64_t j = 0; j < cols; ++j) y[j] += xr[j];
  }
}

template void lstm_gates_forward<float>(std::int64_t, std::int64_t, float*, const float*, float*, float*, float*);
template void lstm_gates_forward<double>(std::int64_t, std::int64_t, double*, const double*, double*, double*, double*);
template void lstm_gates_backward<float>(std::int64_t, std::int64_t, const float*, const float*, const float*,
                                         const float*, const float*, float*, float*);
template void lstm_gates_backward<double>(std::int64_t, std::int64_t, const double*, const double*, const double*,
                                          const double*, const double*, double*, double*);
template void add_rows_into<float>(std::int64_t, std::int64_t, const float*, float*);
template void add_rows_into<double>(std::int64_t, std::int64_t, const double*, double*);

}  // namespace tapegrad::kernels
