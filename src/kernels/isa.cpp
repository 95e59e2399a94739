#include "kernels/isa.hpp"

#include <cstdlib>
#include <string>
#include <string_view>
#include <xsimd/xsimd.hpp>

#include "tapegrad/error.hpp"

namespace tapegrad::kernels {
namespace {

Isa detect() {
  // xsimd reads cpuid; __builtin_cpu_supports also checks that the OS saves the ymm registers.
  const auto cpu = xsimd::available_architectures();
  if (cpu.fma3_avx2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
  return Isa::sse2;
}

}  // namespace

Isa best_isa() {
  static const Isa isa = detect();
  return isa;
}

Isa active_isa() {
  // An invalid TAPEGRAD_ISA throws from the initialiser, which leaves the static unset: every use raises.
  static const Isa isa = isa_from_environment(std::getenv("TAPEGRAD_ISA"));
  return isa;
}

Isa isa_from_environment(const char* text) {
  if (!text || !*text) return best_isa();
  const std::string_view name(text);
  if (name == "sse2" || name == "generic") return Isa::sse2;
  if (name == "avx2" && isa_supported(Isa::avx2)) return Isa::avx2;
  throw ValueError("TAPEGRAD_ISA",
                   name == "avx2" ? "this CPU lacks avx2 (with fma); use sse2 or leave the variable unset"
                                  : "the environment variable must be sse2, generic or avx2",
                   "\"" + std::string(name) + "\"", {});
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
