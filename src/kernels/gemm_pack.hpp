// Packing A and B into panels for the micro-kernel (Note [Packed panels] in gemm_kernels.hpp),
// written once for any xsimd architecture; part of gemm_impl.hpp and under the same rule, Note
// [One instantiation per instruction set]: everything is a template on Arch.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <type_traits>
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

// Transposes a lanes x lanes block: row r of `src` (rows src_stride apart) becomes column r of
// `dst` (rows dst_stride apart). Packing a transposed operand goes through this; the
// specialisations below do it in registers with shuffles, this fallback one element at a time.
template <class T, class Arch>
struct Transpose {
  static constexpr std::int64_t size = Tile<T, Arch>::lanes;
  static void block(const T* src, std::int64_t src_stride, T* dst, std::int64_t dst_stride) {
    for (std::int64_t r = 0; r < size; ++r) {
      for (std::int64_t c = 0; c < size; ++c) dst[c * dst_stride + r] = src[r * src_stride + c];
    }
  }
};

template <>
struct Transpose<float, xsimd::sse2> {
  static constexpr std::int64_t size = 4;
  static void block(const float* src, std::int64_t src_stride, float* dst, std::int64_t dst_stride) {
    __m128 r0 = _mm_loadu_ps(src), r1 = _mm_loadu_ps(src + src_stride);
    __m128 r2 = _mm_loadu_ps(src + 2 * src_stride), r3 = _mm_loadu_ps(src + 3 * src_stride);
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    _mm_storeu_ps(dst, r0);
    _mm_storeu_ps(dst + dst_stride, r1);
    _mm_storeu_ps(dst + 2 * dst_stride, r2);
    _mm_storeu_ps(dst + 3 * dst_stride, r3);
  }
};

template <>
struct Transpose<double, xsimd::sse2> {
  static constexpr std::int64_t size = 2;
  static void block(const double* src, std::int64_t src_stride, double* dst, std::int64_t dst_stride) {
    const __m128d r0 = _mm_loadu_pd(src), r1 = _mm_loadu_pd(src + src_stride);
    _mm_storeu_pd(dst, _mm_unpacklo_pd(r0, r1));
    _mm_storeu_pd(dst + dst_stride, _mm_unpackhi_pd(r0, r1));
  }
};

#if XSIMD_WITH_FMA3_AVX2  // only in the translation unit built with -mavx2 -mfma
template <>
struct Transpose<float, xsimd::fma3<xsimd::avx2>> {
  static constexpr std::int64_t size = 8;
  static void block(const float* src, std::int64_t src_stride, float* dst, std::int64_t dst_stride) {
    __m256 row[8], pair[8], quad[8];
    for (int r = 0; r < 8; ++r) row[r] = _mm256_loadu_ps(src + r * src_stride);
    for (int r = 0; r < 8; r += 2) {  // pair[r] = a0 b0 a1 b1 | a4 b4 a5 b5, pair[r+1] the odd ones
      pair[r] = _mm256_unpacklo_ps(row[r], row[r + 1]);
      pair[r + 1] = _mm256_unpackhi_ps(row[r], row[r + 1]);
    }
    for (int r = 0; r < 8; r += 4) {  // quad[r + c] = a_c b_c c_c d_c | a_{c+4} ...
      quad[r + 0] = _mm256_shuffle_ps(pair[r], pair[r + 2], _MM_SHUFFLE(1, 0, 1, 0));
      quad[r + 1] = _mm256_shuffle_ps(pair[r], pair[r + 2], _MM_SHUFFLE(3, 2, 3, 2));
      quad[r + 2] = _mm256_shuffle_ps(pair[r + 1], pair[r + 3], _MM_SHUFFLE(1, 0, 1, 0));
      quad[r + 3] = _mm256_shuffle_ps(pair[r + 1], pair[r + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int c = 0; c < 4; ++c) {
      _mm256_storeu_ps(dst + c * dst_stride, _mm256_permute2f128_ps(quad[c], quad[c + 4], 0x20));
      _mm256_storeu_ps(dst + (c + 4) * dst_stride, _mm256_permute2f128_ps(quad[c], quad[c + 4], 0x31));
    }
  }
};

template <>
struct Transpose<double, xsimd::fma3<xsimd::avx2>> {
  static constexpr std::int64_t size = 4;
  static void block(const double* src, std::int64_t src_stride, double* dst, std::int64_t dst_stride) {
    const __m256d r0 = _mm256_loadu_pd(src), r1 = _mm256_loadu_pd(src + src_stride);
    const __m256d r2 = _mm256_loadu_pd(src + 2 * src_stride), r3 = _mm256_loadu_pd(src + 3 * src_stride);
    const __m256d even01 = _mm256_unpacklo_pd(r0, r1), odd01 = _mm256_unpackhi_pd(r0, r1);  // a0 b0 | a2 b2
    const __m256d even23 = _mm256_unpacklo_pd(r2, r3), odd23 = _mm256_unpackhi_pd(r2, r3);
    _mm256_storeu_pd(dst, _mm256_permute2f128_pd(even01, even23, 0x20));
    _mm256_storeu_pd(dst + dst_stride, _mm256_permute2f128_pd(odd01, odd23, 0x20));
    _mm256_storeu_pd(dst + 2 * dst_stride, _mm256_permute2f128_pd(even01, even23, 0x31));
    _mm256_storeu_pd(dst + 3 * dst_stride, _mm256_permute2f128_pd(odd01, odd23, 0x31));
  }
};
#endif

// Copies `count` (<= width) values and pads the panel row with zeros up to `width`.
template <class T, class Arch>
inline void copy_padded(const T* from, std::int64_t count, std::int64_t width, T* to) {
  for (std::int64_t x = 0; x < count; ++x) to[x] = from[x];
  for (std::int64_t x = count; x < width; ++x) to[x] = T(0);
}

// Interleaves the six rows of an A panel (panel[p * 6 + r] = row[r][p]) with 128-bit shuffles,
// which SSE2 and AVX2 both have; returns how many columns it did (the rest are left to the caller).
//
// The rows are short runs far apart in memory, which the hardware prefetchers follow poorly, so
// the rows of the next panel (`next_panel` elements further) are fetched one cache line ahead.
template <class T, class Arch>
std::int64_t gather_rows(const T* const* row, std::int64_t depth, T* panel, std::int64_t next_panel) {
  static_assert(Tile<T, Arch>::mr == 6);
  constexpr std::int64_t line = 64 / sizeof(T);
  std::int64_t p = 0;
  if constexpr (std::is_same_v<T, float>) {
    for (; p + 4 <= depth; p += 4) {
      if (p % line == 0) {
        for (int r = 0; r < 6; ++r) __builtin_prefetch(row[r] + next_panel + p);
      }
      __m128 r0 = _mm_loadu_ps(row[0] + p), r1 = _mm_loadu_ps(row[1] + p);
      __m128 r2 = _mm_loadu_ps(row[2] + p), r3 = _mm_loadu_ps(row[3] + p);
      const __m128 r4 = _mm_loadu_ps(row[4] + p), r5 = _mm_loadu_ps(row[5] + p);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);            // r_c now holds rows 0..3 of column p + c
      const __m128 low = _mm_unpacklo_ps(r4, r5);   // e0 f0 e1 f1
      const __m128 high = _mm_unpackhi_ps(r4, r5);  // e2 f2 e3 f3
      float* to = panel + p * 6;
      _mm_storeu_ps(to, r0);
      _mm_storel_pi(reinterpret_cast<__m64*>(to + 4), low);
      _mm_storeu_ps(to + 6, r1);
      _mm_storeh_pi(reinterpret_cast<__m64*>(to + 10), low);
      _mm_storeu_ps(to + 12, r2);
      _mm_storel_pi(reinterpret_cast<__m64*>(to + 16), high);
      _mm_storeu_ps(to + 18, r3);
      _mm_storeh_pi(reinterpret_cast<__m64*>(to + 22), high);
    }
  } else if constexpr (std::is_same_v<T, double>) {
    for (; p + 2 <= depth; p += 2) {
      if (p % line == 0) {
        for (int r = 0; r < 6; ++r) __builtin_prefetch(row[r] + next_panel + p);
      }
      double* to = panel + p * 6;
      for (int r = 0; r < 6; r += 2) {
        const __m128d first = _mm_loadu_pd(row[r] + p), second = _mm_loadu_pd(row[r + 1] + p);
        _mm_storeu_pd(to + r, _mm_unpacklo_pd(first, second));
        _mm_storeu_pd(to + 6 + r, _mm_unpackhi_pd(first, second));
      }
    }
  }
  return p;
}

// Copies six adjacent values (one column of an A panel) with two or three stores.
template <class T, class Arch>
inline void copy_six(const T* from, T* to) {
  static_assert(Tile<T, Arch>::mr == 6);
  if constexpr (std::is_same_v<T, float>) {
    _mm_storeu_ps(to, _mm_loadu_ps(from));
    // The last two floats as one 8-byte move; memcpy because from + 4 need not be 8-byte aligned
    // (UBSan flagged _mm_load_sd on a double* there).
    double two;
    std::memcpy(&two, from + 4, sizeof two);
    _mm_storel_pi(reinterpret_cast<__m64*>(to + 4), _mm_castpd_ps(_mm_set_sd(two)));
  } else if constexpr (std::is_same_v<T, double>) {
    _mm_storeu_pd(to, _mm_loadu_pd(from));
    _mm_storeu_pd(to + 2, _mm_loadu_pd(from + 2));
    _mm_storeu_pd(to + 4, _mm_loadu_pd(from + 4));
  } else {
    for (int r = 0; r < 6; ++r) to[r] = from[r];
  }
}

// Note [Packed panels] in gemm_kernels.hpp. Where the source rows run along the panel (A
// transposed, B not), all panels are filled row by row, so the source is read front to back.
template <class T, class Arch>
void pack_a(Trans ta, const T* a, std::int64_t lda, std::int64_t rows, std::int64_t depth, T* packed) {
  constexpr std::int64_t mr = Tile<T, Arch>::mr;
  const std::int64_t full_panels = rows / mr;
  const std::int64_t rest = rows - full_panels * mr;
  if (ta == Trans::yes) {
    // op(A)(i, p) = a[p * lda + i]: the mr values of column p are adjacent in the source. One panel
    // at a time, so that the stores form a single stream (interleaving the panels' stores made
    // them wait on cache misses); the source lines are re-read from L1/L2 for the next panel.
    for (std::int64_t q = 0; q < full_panels; ++q) {
      const T* source = a + q * mr;
      T* panel = packed + q * mr * depth;
      for (std::int64_t p = 0; p < depth; ++p) copy_six<T, Arch>(source + p * lda, panel + p * mr);
    }
    if (rest > 0) {
      T* panel = packed + full_panels * mr * depth;
      for (std::int64_t p = 0; p < depth; ++p) {
        copy_padded<T, Arch>(a + p * lda + full_panels * mr, rest, mr, panel + p * mr);
      }
    }
    return;
  }
  // op(A)(i, p) = a[i * lda + p]: gather one value from each of the mr rows of a panel.
  for (std::int64_t q = 0; q < full_panels; ++q) {
    const T* row[mr];
    for (std::int64_t r = 0; r < mr; ++r) row[r] = a + (q * mr + r) * lda;
    T* panel = packed + q * mr * depth;
    const std::int64_t p_done = gather_rows<T, Arch>(row, depth, panel, mr * lda);
    for (std::int64_t p = p_done; p < depth; ++p) {
#pragma GCC unroll 8
      for (std::int64_t r = 0; r < mr; ++r) panel[p * mr + r] = row[r][p];
    }
  }
  if (rest > 0) {
    const T* first_row = a + full_panels * mr * lda;
    T* panel = packed + full_panels * mr * depth;
    for (std::int64_t p = 0; p < depth; ++p) {
      for (std::int64_t r = 0; r < rest; ++r) panel[p * mr + r] = first_row[r * lda + p];
      for (std::int64_t r = rest; r < mr; ++r) panel[p * mr + r] = T(0);
    }
  }
}

template <class T, class Arch>
void pack_b(Trans tb, const T* b, std::int64_t ldb, std::int64_t depth, std::int64_t cols, T* packed) {
  using Batch = xsimd::batch<T, Arch>;
  constexpr std::int64_t lanes = Tile<T, Arch>::lanes;
  constexpr std::int64_t nr = Tile<T, Arch>::nr;
  const std::int64_t full_panels = cols / nr;
  const std::int64_t rest = cols - full_panels * nr;
  if (tb == Trans::no) {
    // op(B)(p, j) = b[p * ldb + j]: each row of a panel is a contiguous copy. One panel at a time,
    // as for A.
    for (std::int64_t q = 0; q < full_panels; ++q) {
      const T* source = b + q * nr;
      T* panel = packed + q * nr * depth;
      for (std::int64_t p = 0; p < depth; ++p) {
        Batch::load_unaligned(source + p * ldb).store_aligned(panel + p * nr);
        Batch::load_unaligned(source + p * ldb + lanes).store_aligned(panel + p * nr + lanes);
      }
    }
    if (rest > 0) {
      T* panel = packed + full_panels * nr * depth;
      for (std::int64_t p = 0; p < depth; ++p) {
        copy_padded<T, Arch>(b + p * ldb + full_panels * nr, rest, nr, panel + p * nr);
      }
    }
    return;
  }
  // op(B)(p, j) = b[j * ldb + p]: transpose lanes x lanes blocks, the leftover rows one by one.
  constexpr std::int64_t block = Transpose<T, Arch>::size;
  for (std::int64_t q = 0; q < full_panels; ++q) {
    const T* source = b + q * nr * ldb;
    T* panel = packed + q * nr * depth;
    std::int64_t p = 0;
    for (; p + block <= depth; p += block) {
      for (std::int64_t j = 0; j < nr; j += block) {
        Transpose<T, Arch>::block(source + j * ldb + p, ldb, panel + p * nr + j, nr);
      }
    }
    for (; p < depth; ++p) {
      for (std::int64_t j = 0; j < nr; ++j) panel[p * nr + j] = source[j * ldb + p];
    }
  }
  if (rest > 0) {
    const T* source = b + full_panels * nr * ldb;
    T* panel = packed + full_panels * nr * depth;
    for (std::int64_t p = 0; p < depth; ++p) {
      for (std::int64_t j = 0; j < rest; ++j) panel[p * nr + j] = source[j * ldb + p];
      for (std::int64_t j = rest; j < nr; ++j) panel[p * nr + j] = T(0);
    }
  }
}

}  // namespace tapegrad::kernels::gemm_impl
