// GEMM pieces written once for any xsimd architecture: micro-kernels and the small-product path
// (packing is in gemm_pack.hpp). Included only by the per-instruction-set translation units
// (simd_isa.cpp, compiled once per instruction set with its own flags).
//
// Note [One instantiation per instruction set]: everything here is a template on Arch, so the
// copies built with -mavx2 and those built for the baseline are different functions to the linker.
// A non-template inline function (or a template not depending on Arch) compiled in both TUs could
// be merged by the linker into its AVX2 copy and then run on a CPU without AVX2, so none is
// defined here or in gemm_pack.hpp, and standard library calls are kept out of these loops. (The
// Transpose specialisations name their architecture, so each is only used, and emitted, in its own
// TU.)
// Check: `nm -C libtapegrad_kernels_avx2.a | grep ' [WV] '` lists only symbols with fma3<xsimd::avx2>.
#pragma once

#include <cstdint>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#include "kernels/gemm_kernels.hpp"
#include "kernels/gemm_pack.hpp"

namespace tapegrad::kernels::gemm_impl {

// C tile (rows x vectors * lanes, row stride ldc) = alpha * (A panel · B panel) + beta * C, for
// packed panels of mr rows and nr columns. Full tiles use rows = mr, vectors = 2; smaller values
// serve the tiles at the bottom and right edges of C without computing the padding.
template <class T, class Arch, int rows, int vectors>
inline void micro_kernel(std::int64_t depth, const T* a, const T* b, T alpha, T beta, T* c,
                         std::int64_t ldc) {
  using Batch = xsimd::batch<T, Arch>;
  constexpr std::int64_t mr = Tile<T, Arch>::mr;
  constexpr std::int64_t nr = Tile<T, Arch>::nr;
  constexpr std::int64_t lanes = Tile<T, Arch>::lanes;

  // The tile of C is needed only after the depth loop: start fetching it now.
#pragma GCC unroll 8
  for (int r = 0; r < rows; ++r) {
    __builtin_prefetch(c + r * ldc, 1);
    __builtin_prefetch(c + r * ldc + vectors * lanes - 1, 1);
  }
  Batch acc[rows][vectors];
#pragma GCC unroll 8
  for (int r = 0; r < rows; ++r) {
#pragma GCC unroll 2
    for (int v = 0; v < vectors; ++v) acc[r][v] = Batch(T(0));
  }
#pragma GCC unroll 4
  for (std::int64_t p = 0; p < depth; ++p) {
    Batch b_row[vectors];
#pragma GCC unroll 2
    for (int v = 0; v < vectors; ++v) b_row[v] = Batch::load_aligned(b + v * lanes);
#pragma GCC unroll 8
    for (int r = 0; r < rows; ++r) {
      const Batch a_r(a[r]);
#pragma GCC unroll 2
      for (int v = 0; v < vectors; ++v) acc[r][v] = xsimd::fma(a_r, b_row[v], acc[r][v]);
    }
    a += mr;
    b += nr;
  }

  const Batch alpha_v(alpha);
  if (beta == T(0)) {
#pragma GCC unroll 8
    for (int r = 0; r < rows; ++r) {
#pragma GCC unroll 2
      for (int v = 0; v < vectors; ++v) (alpha_v * acc[r][v]).store_unaligned(c + r * ldc + v * lanes);
    }
  } else {
    const Batch beta_v(beta);
#pragma GCC unroll 8
    for (int r = 0; r < rows; ++r) {
#pragma GCC unroll 2
      for (int v = 0; v < vectors; ++v) {
        T* at = c + r * ldc + v * lanes;
        xsimd::fma(alpha_v, acc[r][v], beta_v * Batch::load_unaligned(at)).store_unaligned(at);
      }
    }
  }
}

// A tile cut by the edge of C: `rows` < mr or `cols` < nr. Whole vectors of columns go straight
// to C; a partial vector goes through a local tile, so nothing outside C is read or written.
template <class T, class Arch, int rows>
void micro_kernel_rows(std::int64_t depth, const T* a, const T* b, T alpha, T beta, T* c, std::int64_t ldc,
                       std::int64_t cols) {
  constexpr std::int64_t lanes = Tile<T, Arch>::lanes;
  constexpr std::int64_t nr = Tile<T, Arch>::nr;
  if (cols == nr) return micro_kernel<T, Arch, rows, 2>(depth, a, b, alpha, beta, c, ldc);
  if (cols == lanes) return micro_kernel<T, Arch, rows, 1>(depth, a, b, alpha, beta, c, ldc);
  alignas(64) T tile[rows * nr] = {};
  if (beta != T(0)) {
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t j = 0; j < cols; ++j) tile[r * nr + j] = c[r * ldc + j];
    }
  }
  if (cols < lanes) {
    micro_kernel<T, Arch, rows, 1>(depth, a, b, alpha, beta, tile, nr);
  } else {
    micro_kernel<T, Arch, rows, 2>(depth, a, b, alpha, beta, tile, nr);
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t j = 0; j < cols; ++j) c[r * ldc + j] = tile[r * nr + j];
  }
}

template <class T, class Arch>
void micro_kernel_edge(std::int64_t depth, const T* a, const T* b, T alpha, T beta, T* c, std::int64_t ldc,
                       std::int64_t rows, std::int64_t cols) {
  static_assert(Tile<T, Arch>::mr == 6);
  switch (rows) {
    case 1:
      return micro_kernel_rows<T, Arch, 1>(depth, a, b, alpha, beta, c, ldc, cols);
    case 2:
      return micro_kernel_rows<T, Arch, 2>(depth, a, b, alpha, beta, c, ldc, cols);
    case 3:
      return micro_kernel_rows<T, Arch, 3>(depth, a, b, alpha, beta, c, ldc, cols);
    case 4:
      return micro_kernel_rows<T, Arch, 4>(depth, a, b, alpha, beta, c, ldc, cols);
    case 5:
      return micro_kernel_rows<T, Arch, 5>(depth, a, b, alpha, beta, c, ldc, cols);
    default:
      return micro_kernel_rows<T, Arch, 6>(depth, a, b, alpha, beta, c, ldc, cols);
  }
}

// Loop order: each B panel (depth x nr, ~16 KB) stays in L1 while the A panels of the block
// (mc x depth, in L2) stream past it.
template <class T, class Arch>
void multiply_panels(std::int64_t rows, std::int64_t cols, std::int64_t depth, const T* packed_a,
                     const T* packed_b, T alpha, T beta, T* c, std::int64_t ldc) {
  constexpr std::int64_t mr = Tile<T, Arch>::mr;
  constexpr std::int64_t nr = Tile<T, Arch>::nr;
  for (std::int64_t j = 0; j < cols; j += nr) {
    const T* b_panel = packed_b + (j / nr) * nr * depth;
    const std::int64_t tile_cols = cols - j < nr ? cols - j : nr;
    for (std::int64_t i = 0; i < rows; i += mr) {
      const T* a_panel = packed_a + (i / mr) * mr * depth;
      const std::int64_t tile_rows = rows - i < mr ? rows - i : mr;
      T* c_tile = c + i * ldc + j;
      if (tile_rows == mr && tile_cols == nr) {
        micro_kernel<T, Arch, mr, 2>(depth, a_panel, b_panel, alpha, beta, c_tile, ldc);
      } else {
        micro_kernel_edge<T, Arch>(depth, a_panel, b_panel, alpha, beta, c_tile, ldc, tile_rows, tile_cols);
      }
    }
  }
}

// Note [Small GEMM]: below a few thousand multiply-adds, packing and task set-up cost more than
// the arithmetic, so the product is computed straight from A and B on the calling thread. Each
// element is one sum over p in order (one vector lane or one dot product), so the result is still
// independent of the thread count. Returns false for the layout it does not handle (A and B both
// transposed), which then goes through the packed path.
template <class T, class Arch>
bool small_gemm(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  using Batch = xsimd::batch<T, Arch>;
  constexpr std::int64_t lanes = Tile<T, Arch>::lanes;
  if (ta == Trans::yes && tb == Trans::yes) return false;
  auto store = [&](T* to, T sum) { *to = beta == T(0) ? alpha * sum : alpha * sum + beta * *to; };
  for (std::int64_t i = 0; i < m; ++i) {
    T* c_row = c + i * ldc;
    if (tb == Trans::no) {
      // C row i = sum over p of op(A)(i, p) * B row p: vectors along the row.
      const T* a_row = a + (ta == Trans::no ? i * lda : i);
      const std::int64_t a_step = ta == Trans::no ? 1 : lda;
      std::int64_t j = 0;
      for (; j + lanes <= n; j += lanes) {
        Batch sum(T(0));
        for (std::int64_t p = 0; p < k; ++p)
          sum = xsimd::fma(Batch(a_row[p * a_step]), Batch::load_unaligned(b + p * ldb + j), sum);
        if (beta == T(0)) {
          (Batch(alpha) * sum).store_unaligned(c_row + j);
        } else {
          xsimd::fma(Batch(alpha), sum, Batch(beta) * Batch::load_unaligned(c_row + j))
              .store_unaligned(c_row + j);
        }
      }
      for (; j < n; ++j) {
        T sum = 0;
        for (std::int64_t p = 0; p < k; ++p) sum += a_row[p * a_step] * b[p * ldb + j];
        store(c_row + j, sum);
      }
    } else {
      // A row i and B row j are both contiguous: dot products, vectors along p.
      const T* a_row = a + i * lda;
      for (std::int64_t j = 0; j < n; ++j) {
        const T* b_row = b + j * ldb;
        Batch partial(T(0));
        std::int64_t p = 0;
        for (; p + lanes <= k; p += lanes) {
          partial = xsimd::fma(Batch::load_unaligned(a_row + p), Batch::load_unaligned(b_row + p), partial);
        }
        T sum = xsimd::hadd(partial);
        for (; p < k; ++p) sum += a_row[p] * b_row[p];
        store(c_row + j, sum);
      }
    }
  }
  return true;
}

template <class T, class Arch>
GemmKernels<T> make_kernels() {
  return {Tile<T, Arch>::mr, Tile<T, Arch>::nr,         &pack_a<T, Arch>,
          &pack_b<T, Arch>,  &multiply_panels<T, Arch>, &small_gemm<T, Arch>};
}

}  // namespace tapegrad::kernels::gemm_impl
