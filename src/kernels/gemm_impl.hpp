// GEMM pieces written once for any xsimd architecture. Included only by the per-instruction-set
// translation units (gemm_sse2.cpp, gemm_avx2.cpp), each compiled with its own flags.
//
// Note [One instantiation per instruction set]: everything here is a template on Arch, so the
// copies built with -mavx2 and those built for the baseline are different functions to the linker.
// A non-template inline function (or a template not depending on Arch) compiled in both TUs could
// be merged by the linker into its AVX2 copy and then run on a CPU without AVX2, so none is
// defined here, and standard library calls are kept out of these loops.
#pragma once

#include <cstdint>
#include <xsimd/xsimd.hpp>

#include "kernels/gemm_kernels.hpp"

namespace tapegrad::kernels::gemm_impl {

// The register tile: mr rows by two vectors of columns. With AVX2 (16 ymm registers) that is 6 x 16
// floats: 12 accumulators, two B vectors and one broadcast A value.
template <class T, class Arch>
struct Tile {
  using Batch = xsimd::batch<T, Arch>;
  static constexpr std::int64_t lanes = static_cast<std::int64_t>(Batch::size);
  static constexpr std::int64_t mr = 6;
  static constexpr std::int64_t nr = 2 * lanes;
};

// C tile (full mr x nr, row stride ldc) = alpha * (packed A panel · packed B panel) + beta * C.
template <class T, class Arch>
inline void micro_kernel(std::int64_t depth, const T* a, const T* b, T alpha, T beta, T* c, std::int64_t ldc) {
  using Batch = xsimd::batch<T, Arch>;
  constexpr std::int64_t mr = Tile<T, Arch>::mr;
  constexpr std::int64_t lanes = Tile<T, Arch>::lanes;

  Batch acc[mr][2];
#pragma GCC unroll 8
  for (std::int64_t r = 0; r < mr; ++r) {
    acc[r][0] = Batch(T(0));
    acc[r][1] = Batch(T(0));
  }
#pragma GCC unroll 4
  for (std::int64_t p = 0; p < depth; ++p) {
    const Batch b0 = Batch::load_aligned(b);
    const Batch b1 = Batch::load_aligned(b + lanes);
#pragma GCC unroll 8
    for (std::int64_t r = 0; r < mr; ++r) {
      const Batch a_r(a[r]);
      acc[r][0] = xsimd::fma(a_r, b0, acc[r][0]);
      acc[r][1] = xsimd::fma(a_r, b1, acc[r][1]);
    }
    a += mr;
    b += 2 * lanes;
  }

  const Batch alpha_v(alpha);
  if (beta == T(0)) {
#pragma GCC unroll 8
    for (std::int64_t r = 0; r < mr; ++r) {
      (alpha_v * acc[r][0]).store_unaligned(c + r * ldc);
      (alpha_v * acc[r][1]).store_unaligned(c + r * ldc + lanes);
    }
  } else {
    const Batch beta_v(beta);
#pragma GCC unroll 8
    for (std::int64_t r = 0; r < mr; ++r) {
      T* row = c + r * ldc;
      xsimd::fma(alpha_v, acc[r][0], beta_v * Batch::load_unaligned(row)).store_unaligned(row);
      xsimd::fma(alpha_v, acc[r][1], beta_v * Batch::load_unaligned(row + lanes)).store_unaligned(row + lanes);
    }
  }
}

// The same for a tile cut by the edge of C (rows < mr or cols < nr): computed in a full local tile
// so that nothing outside C is read or written.
template <class T, class Arch>
void micro_kernel_edge(std::int64_t depth, const T* a, const T* b, T alpha, T beta, T* c, std::int64_t ldc,
                       std::int64_t rows, std::int64_t cols) {
  constexpr std::int64_t mr = Tile<T, Arch>::mr;
  constexpr std::int64_t nr = Tile<T, Arch>::nr;
  alignas(64) T tile[mr * nr] = {};
  if (beta != T(0)) {
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t j = 0; j < cols; ++j) tile[r * nr + j] = c[r * ldc + j];
    }
  }
  micro_kernel<T, Arch>(depth, a, b, alpha, beta, tile, nr);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t j = 0; j < cols; ++j) c[r * ldc + j] = tile[r * nr + j];
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
        micro_kernel<T, Arch>(depth, a_panel, b_panel, alpha, beta, c_tile, ldc);
      } else {
        micro_kernel_edge<T, Arch>(depth, a_panel, b_panel, alpha, beta, c_tile, ldc, tile_rows, tile_cols);
      }
    }
  }
}

// Note [Packed panels] in gemm_kernels.hpp.
template <class T, class Arch>
void pack_a(Trans ta, const T* a, std::int64_t lda, std::int64_t rows, std::int64_t depth, T* panel) {
  constexpr std::int64_t mr = Tile<T, Arch>::mr;
  if (ta == Trans::yes) {
    // op(A)(i, p) = a[p * lda + i]: the mr values of one column are adjacent already.
    for (std::int64_t p = 0; p < depth; ++p) {
      const T* column = a + p * lda;
      for (std::int64_t r = 0; r < rows; ++r) panel[p * mr + r] = column[r];
      for (std::int64_t r = rows; r < mr; ++r) panel[p * mr + r] = T(0);
    }
    return;
  }
  // op(A)(i, p) = a[i * lda + p]: gather one value from each of the mr rows.
  if (rows == mr) {
    const T* row[mr];
    for (std::int64_t r = 0; r < mr; ++r) row[r] = a + r * lda;
    for (std::int64_t p = 0; p < depth; ++p) {
#pragma GCC unroll 8
      for (std::int64_t r = 0; r < mr; ++r) panel[p * mr + r] = row[r][p];
    }
    return;
  }
  for (std::int64_t p = 0; p < depth; ++p) {
    for (std::int64_t r = 0; r < rows; ++r) panel[p * mr + r] = a[r * lda + p];
    for (std::int64_t r = rows; r < mr; ++r) panel[p * mr + r] = T(0);
  }
}

template <class T, class Arch>
void pack_b(Trans tb, const T* b, std::int64_t ldb, std::int64_t depth, std::int64_t cols, T* panel) {
  using Batch = xsimd::batch<T, Arch>;
  constexpr std::int64_t lanes = Tile<T, Arch>::lanes;
  constexpr std::int64_t nr = Tile<T, Arch>::nr;
  if (tb == Trans::no) {
    // op(B)(p, j) = b[p * ldb + j]: each row of the panel is a contiguous copy.
    if (cols == nr) {
      for (std::int64_t p = 0; p < depth; ++p) {
        Batch::load_unaligned(b + p * ldb).store_aligned(panel + p * nr);
        Batch::load_unaligned(b + p * ldb + lanes).store_aligned(panel + p * nr + lanes);
      }
      return;
    }
    for (std::int64_t p = 0; p < depth; ++p) {
      for (std::int64_t j = 0; j < cols; ++j) panel[p * nr + j] = b[p * ldb + j];
      for (std::int64_t j = cols; j < nr; ++j) panel[p * nr + j] = T(0);
    }
    return;
  }
  // op(B)(p, j) = b[j * ldb + p].
  for (std::int64_t p = 0; p < depth; ++p) {
    for (std::int64_t j = 0; j < cols; ++j) panel[p * nr + j] = b[j * ldb + p];
    for (std::int64_t j = cols; j < nr; ++j) panel[p * nr + j] = T(0);
  }
}

template <class T, class Arch>
GemmKernels<T> make_kernels() {
  return {Tile<T, Arch>::mr, Tile<T, Arch>::nr, &pack_a<T, Arch>, &pack_b<T, Arch>, &multiply_panels<T, Arch>};
}

}  // namespace tapegrad::kernels::gemm_impl
