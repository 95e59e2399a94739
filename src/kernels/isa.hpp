// Which instruction set the kernels run on. Each kernel family compiles its SIMD code once per
// instruction set (Note [Kernels per instruction set] in meson.build) and picks one at run time here.
#pragma once

#include <string_view>

namespace tapegrad::kernels {

// The instruction sets tapegrad is built for, slowest first. sse2 is the x86-64 baseline.
enum class Isa { sse2, avx2 };

// The best instruction set this CPU (and operating system) supports; avx2 means AVX2 and FMA.
Isa best_isa();

// The instruction set kernels use: best_isa(), unless the environment variable TAPEGRAD_ISA says
// "sse2" or "generic", which forces the baseline (for tests and for comparing the paths), or
// "avx2". Any other value, or avx2 on a CPU without it, raises ValueError. Read on the first call.
Isa active_isa();
// The instruction set TAPEGRAD_ISA asks for (its text, or null when unset): unset or empty means
// best_isa(); an unknown name, or one this CPU lacks, raises ValueError.
Isa isa_from_environment(const char* text);

// Whether kernels may be run on `isa` on this CPU (the baseline always can).
bool isa_supported(Isa isa);

std::string_view isa_name(Isa isa);

}  // namespace tapegrad::kernels
