// SIMD kernels for the x86-64 baseline (SSE2). Note [Kernels per instruction set].
#define TAPEGRAD_ISA_NAMESPACE tapegrad_simd_sse2
#include "kernels/simd_kernels.hpp"

namespace tapegrad::kernels {
const SimdTable& simd_table_sse2() {
  static const SimdTable table = tapegrad_simd_sse2::make_table<xsimd::sse2>("sse2");
  return table;
}
}  // namespace tapegrad::kernels
