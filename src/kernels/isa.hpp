// Which instruction set the kernels run on. Each instruction set has one table of kernels
// (simd_table.hpp), built from one translation unit compiled once per instruction set, and the
// table of the active one is picked here, once, at run time.
#pragma once

#include <string_view>

// Note [Adding an instruction set]: the instruction sets tapegrad builds kernels for, slowest first:
// X(name, xsimd architecture, whether this CPU and operating system run it). sse2 is the x86-64
// baseline. Adding one (say avx512) is one line here plus its compiler flags in meson.build's
// `kernel_isas`, under the same name; simd_isa.cpp, the tests and TAPEGRAD_ISA pick it up from this
// list. __builtin_cpu_supports also checks that the OS saves the wider registers.
#define TAPEGRAD_KERNEL_ISAS(X) \
  X(sse2, xsimd::sse2, true)    \
  X(avx2, xsimd::fma3<xsimd::avx2>, __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))

namespace tapegrad::kernels {

#define TAPEGRAD_ISA_ENUMERATOR(name, arch, cpu) name,
enum class Isa { TAPEGRAD_KERNEL_ISAS(TAPEGRAD_ISA_ENUMERATOR) };
#undef TAPEGRAD_ISA_ENUMERATOR

// The best instruction set this CPU (and operating system) supports; avx2 means AVX2 and FMA.
Isa best_isa();

// The instruction set kernels use: best_isa(), unless the environment variable TAPEGRAD_ISA names
// another one this CPU has: "sse2" (or "generic") forces the baseline, for tests and for comparing
// the paths. Any other value, or an instruction set this CPU lacks, raises ValueError. Read on the
// first call.
Isa active_isa();
// The instruction set TAPEGRAD_ISA asks for (its text, or null when unset): unset or empty means
// best_isa(); an unknown name, or one this CPU lacks, raises ValueError.
Isa isa_from_environment(const char* text);

// Whether kernels may be run on `isa` on this CPU (the baseline always can).
bool isa_supported(Isa isa);

std::string_view isa_name(Isa isa);

}  // namespace tapegrad::kernels
