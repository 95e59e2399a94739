// Note [Kernels per instruction set]
// The SIMD bodies of the elementwise, reduction and GEMM kernels are templates over an xsimd
// architecture (simd_kernels.hpp, gemm_impl.hpp), instantiated once per instruction set by one
// translation unit, simd_isa.cpp, that meson.build compiles once per instruction set with that
// set's flags (the baseline's for sse2, -mavx2 -mfma for avx2). Each compilation fills one
// SimdTable of function pointers; simd_table() (isa.cpp) picks the table of kernels::active_isa()
// at run time, the one place where an instruction set is selected. So one binary runs on any x86-64
// and uses AVX2+FMA where present. Only contiguous inner loops and GEMM's register tiles live here:
// the callers (elementwise.cpp, reduce.cpp, gemm.cpp) walk shapes, broadcasting, blocks and
// threads. Note [Adding an instruction set] in isa.hpp says how a table is added.
#pragma once

#include <cstdint>
#include <tuple>
#include <type_traits>
#include <vector>

#include "kernels/formulas.hpp"
#include "kernels/gemm_kernels.hpp"
#include "kernels/isa.hpp"

namespace tapegrad::kernels {

// How a binary kernel reads its operands: both vectors, or one of them a single repeated value.
enum Broadcast : int { both_vectors = 0, b_scalar = 1, a_scalar = 2 };

using UnaryFn = void (*)(std::int64_t n, const void* x, void* y, const Params& params);
// gx = Op'(x, y) * gy; x or y may point at gy when the op does not read them.
using UnaryBackwardFn = void (*)(std::int64_t n, const void* x, const void* y, const void* gy, void* gx,
                                 const Params& params);
using BinaryFn = void (*)(std::int64_t n, const void* a, const void* b, void* y);
// The gradient for one operand, at the output's shape: a and b follow the Broadcast mode, y and gy
// are vectors.
using BinaryBackwardFn = void (*)(std::int64_t n, const void* a, const void* b, const void* y, const void* gy,
                                  void* g);
// rows x n row-major: y[r] = reduce(x[r, :])
using ReduceInnerFn = void (*)(std::int64_t rows, std::int64_t n, const void* x, void* y);
// rows x n, rows ld apart: y[j] = reduce(y[j], x[0, j], ..., x[rows-1, j]) (y holds the running value)
using ReduceOuterFn = void (*)(std::int64_t rows, std::int64_t n, std::int64_t ld, const void* x, void* y);

// rows x n, rows ld apart, added into float64 sums: sums[j] += x[0, j] + ... + x[rows-1, j], each
// column in row order (Note [Accurate sums] in reduce.cpp).
using SumColumnsFn = void (*)(std::int64_t rows, std::int64_t n, std::int64_t ld, const void* x, double* sums);

// rows x n row-major: y[r, :] = softmax(x[r, :]) (or log_softmax when `log`), stable at any magnitude.
using SoftmaxRowsFn = void (*)(std::int64_t rows, std::int64_t n, const void* x, void* y, bool log);

inline constexpr int n_unary = std::tuple_size_v<unary_ops>;
inline constexpr int n_binary = std::tuple_size_v<binary_ops>;
inline constexpr int n_reduce = 3;  // Reduce::sum, max, min

struct SimdTable {
  const char* isa;
  // [op][dtype: 0 float32, 1 float64]
  UnaryFn unary[n_unary][2];
  UnaryBackwardFn unary_backward[n_unary][2];
  // [op][dtype][Broadcast]; null for ops without a SIMD body (comparisons)
  BinaryFn binary[n_binary][2][3];
  // [op][dtype][which operand][Broadcast]
  BinaryBackwardFn binary_backward[n_binary][2][2][3];
  ReduceInnerFn reduce_inner[n_reduce][2];
  ReduceOuterFn reduce_outer[n_reduce][2];
  SumColumnsFn sum_columns[2];
  ReduceInnerFn sum_rows_float32;  // float32 rows summed through float64 (Note [Accurate sums])
  SoftmaxRowsFn softmax_rows[2];
  GemmKernels<float> gemm_float;
  GemmKernels<double> gemm_double;

  template <class T>
  const GemmKernels<T>& gemm() const {
    if constexpr (std::is_same_v<T, double>) return gemm_double;
    else return gemm_float;
  }
};

// The table of the active instruction set (kernels::active_isa()).
const SimdTable& simd_table();
// The table of `isa`, which must be supported (isa_supported): lets tests and benchmarks run every
// path in one process.
const SimdTable& simd_table(Isa isa);
// The instruction sets this CPU supports, and their tables, slowest first.
std::vector<Isa> supported_isas();
std::vector<const SimdTable*> supported_tables();

// One per instruction set, defined by simd_isa.cpp compiled for it.
#define TAPEGRAD_DECLARE_SIMD_TABLE(name, arch, cpu) const SimdTable& simd_table_##name();
TAPEGRAD_KERNEL_ISAS(TAPEGRAD_DECLARE_SIMD_TABLE)
#undef TAPEGRAD_DECLARE_SIMD_TABLE

}  // namespace tapegrad::kernels
