// Detects the instruction sets of this CPU and selects the one table of kernels every kernel family
// (elementwise, reductions, GEMM) runs through. Note [Adding an instruction set] in isa.hpp.
#include "kernels/isa.hpp"

#include <array>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/simd_table.hpp"
#include "tapegrad/error.hpp"

namespace tapegrad::kernels {
namespace {

#define TAPEGRAD_ISA_NAME(name, arch, cpu) #name,
constexpr std::array names{TAPEGRAD_KERNEL_ISAS(TAPEGRAD_ISA_NAME)};
#undef TAPEGRAD_ISA_NAME

Isa detect() {
  Isa best = Isa::sse2;
#define TAPEGRAD_ISA_DETECT(name, arch, cpu) \
  if (cpu) best = Isa::name;
  TAPEGRAD_KERNEL_ISAS(TAPEGRAD_ISA_DETECT)
#undef TAPEGRAD_ISA_DETECT
  return best;
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
  const std::string observed = "\"" + std::string(name) + "\"";
  std::string known;  // "sse2, generic or avx2"
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto isa = static_cast<Isa>(i);
    if (name == names[i] || (isa == Isa::sse2 && name == "generic")) {
      if (isa_supported(isa)) return isa;
      throw ValueError("TAPEGRAD_ISA",
                       "this CPU lacks " + std::string(name) + "; use sse2 or leave the variable unset",
                       observed, {});
    }
    known += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + std::string(names[i]);
    if (isa == Isa::sse2) known += ", generic";
  }
  throw ValueError("TAPEGRAD_ISA", "the environment variable must be " + known, observed, {});
}

bool isa_supported(Isa isa) { return isa <= best_isa(); }

std::string_view isa_name(Isa isa) {
  const auto i = static_cast<std::size_t>(isa);
  return i < names.size() ? names[i] : "unknown";
}

const SimdTable& simd_table(Isa isa) {
  switch (isa) {
#define TAPEGRAD_ISA_TABLE(name, arch, cpu) \
  case Isa::name:                           \
    return simd_table_##name();
    TAPEGRAD_KERNEL_ISAS(TAPEGRAD_ISA_TABLE)
#undef TAPEGRAD_ISA_TABLE
  }
  return simd_table_sse2();
}

const SimdTable& simd_table() {
  static const SimdTable& table = simd_table(active_isa());
  return table;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> isas;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (isa_supported(static_cast<Isa>(i))) isas.push_back(static_cast<Isa>(i));
  return isas;
}

std::vector<const SimdTable*> supported_tables() {
  std::vector<const SimdTable*> tables;
  for (Isa isa : supported_isas()) tables.push_back(&simd_table(isa));
  return tables;
}

}  // namespace tapegrad::kernels
