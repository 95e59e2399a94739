#include "kernels/isa.hpp"

#include <cstdlib>
#include <string_view>
#include <xsimd/xsimd.hpp>

namespace tapegrad::kernels {
namespace {

Isa detect() {
  // xsimd reads cpuid; __builtin_cpu_supports also checks that the OS saves the ymm registers.
  const auto cpu = xsimd::available_architectures();
  if (cpu.fma3_avx2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
  return Isa::sse2;
}

Isa choose() {
  if (const char* forced = std::getenv("TAPEGRAD_ISA")) {
    const std::string_view name(forced);
    if (name == "sse2" || name == "generic") return Isa::sse2;
  }
  return best_isa();
}

}  // namespace

Isa best_isa() {
  static const Isa isa = detect();
  return isa;
}

Isa active_isa() {
  static const Isa isa = choose();
  return isa;
}

bool isa_supported(Isa isa) { return isa <= best_isa(); }

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::sse2:
      return "sse2";
    case Isa::avx2:
      return "avx2";
  }
  return "unknown";
}

}  // namespace tapegrad::kernels
