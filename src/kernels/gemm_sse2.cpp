// GEMM pieces for the x86-64 baseline (SSE2), compiled without extra flags.
#include "kernels/gemm_impl.hpp"

namespace tapegrad::kernels::sse2 {

using Arch = xsimd::sse2;

const GemmKernels<float>& gemm_kernels(std::type_identity<float>) {
  static const GemmKernels<float> kernels = gemm_impl::make_kernels<float, Arch>();
  return kernels;
}

const GemmKernels<double>& gemm_kernels(std::type_identity<double>) {
  static const GemmKernels<double> kernels = gemm_impl::make_kernels<double, Arch>();
  return kernels;
}

}  // namespace tapegrad::kernels::sse2
