// GEMM pieces for AVX2 + FMA; this file alone is compiled with -mavx2 -mfma (meson.build).
#include "kernels/gemm_impl.hpp"

namespace tapegrad::kernels::avx2 {

using Arch = xsimd::fma3<xsimd::avx2>;

const GemmKernels<float>& gemm_kernels(std::type_identity<float>) {
  static const GemmKernels<float> kernels = gemm_impl::make_kernels<float, Arch>();
  return kernels;
}

const GemmKernels<double>& gemm_kernels(std::type_identity<double>) {
  static const GemmKernels<double> kernels = gemm_impl::make_kernels<double, Arch>();
  return kernels;
}

}  // namespace tapegrad::kernels::avx2
