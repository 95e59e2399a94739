// General matrix multiply, the kernel under matmul, linear layers and (later) convolution.
#pragma once

#include <cstdint>

namespace tapegrad::kernels {

enum class Trans : bool { no = false, yes = true };

// C = alpha * op(A) * op(B) + beta * C, all row-major. op(A) is [m, k], op(B) is [k, n], C is [m, n].
// lda, ldb, ldc are the row strides (in elements) of A, B, C as stored (A stored [m, k] when
// ta == no, [k, m] when ta == yes; likewise B). beta == 0 means C is not read (may hold NaN).
// Deterministic: the result does not depend on the thread count (Note [Deterministic chunking]).
void gemm(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
          std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc);
void gemm(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const double* a,
          std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc);

}  // namespace tapegrad::kernels
