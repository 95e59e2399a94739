// SIMD kernels for AVX2 + FMA, built with -mavx2 -mfma. Note [Kernels per instruction set].
#define TAPEGRAD_ISA_NAMESPACE tapegrad_simd_avx2
#include "kernels/simd_kernels.hpp"

namespace tapegrad::kernels {
const SimdTable& simd_table_avx2() {
  static const SimdTable table = tapegrad_simd_avx2::make_table<xsimd::fma3<xsimd::avx2>>("avx2");
  return table;
}
}  // namespace tapegrad::kernels
