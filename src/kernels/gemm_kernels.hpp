// The per-instruction-set pieces of GEMM, as seen by the driver in gemm.cpp. The driver (blocking,
// threads, buffers) is compiled once for the baseline; only what touches SIMD registers is compiled
// once per instruction set (gemm_impl.hpp, in simd_isa.cpp) and reached through the instruction
// set's SimdTable (simd_table.hpp).
#pragma once

#include <cstdint>
#include <type_traits>

#include "kernels/gemm.hpp"
#include "kernels/isa.hpp"

namespace tapegrad::kernels {

// Note [Packed panels]: op(A) is packed in panels of `mr` rows, each stored column by column
// (depth x mr, the mr values of one column adjacent); op(B) in panels of `nr` columns, each stored
// row by row (depth x nr). A panel that runs past the matrix edge is padded with zeros, so the
// micro-kernel always computes a full mr x nr tile and only its stores look at the edge.
template <class T>
struct GemmKernels {
  std::int64_t mr;  // rows of the register tile
  std::int64_t nr;  // columns of the register tile

  // Packs rows [0, rows) x columns [0, depth) of op(A) into ceil(rows / mr) consecutive panels.
  // `a` points at the first element of that block of op(A) as stored.
  void (*pack_a)(Trans ta, const T* a, std::int64_t lda, std::int64_t rows, std::int64_t depth, T* packed);
  // Packs rows [0, depth) x columns [0, cols) of op(B) into ceil(cols / nr) consecutive panels.
  void (*pack_b)(Trans tb, const T* b, std::int64_t ldb, std::int64_t depth, std::int64_t cols, T* packed);
  // C[rows, cols] = alpha * A·B + beta * C for packed A panels (rows / mr of them, covering `rows`)
  // and packed B panels. beta == 0: C is not read.
  void (*multiply_panels)(std::int64_t rows, std::int64_t cols, std::int64_t depth, const T* packed_a,
                          const T* packed_b, T alpha, T beta, T* c, std::int64_t ldc);
  // The whole product for small problems, straight from A and B (Note [Small GEMM] in
  // gemm_impl.hpp); false when it does not handle the layout.
  bool (*small_gemm)(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                     std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc);
};

// gemm on a chosen instruction set, which must be supported (isa_supported): lets tests and
// benchmarks run both paths in one process. The public gemm uses active_isa().
void gemm(Isa isa, Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
          const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
          std::int64_t ldc);
void gemm(Isa isa, Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
          const double* a, std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c,
          std::int64_t ldc);

}  // namespace tapegrad::kernels
