// Placeholder until the SIMD GEMM lands.
