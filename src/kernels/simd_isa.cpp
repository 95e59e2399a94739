// The kernels of one instruction set: meson.build compiles this file once per instruction set of
// TAPEGRAD_KERNEL_ISAS (isa.hpp), with that set's compiler flags and -DTAPEGRAD_KERNEL_ISA=<name>,
// and each compilation defines simd_table_<name>(). Note [Kernels per instruction set].
#ifndef TAPEGRAD_KERNEL_ISA
#error "meson.build passes -DTAPEGRAD_KERNEL_ISA=<name of an instruction set in TAPEGRAD_KERNEL_ISAS>"
#endif

#define TAPEGRAD_PASTE_(a, b) a##b
#define TAPEGRAD_PASTE(a, b) TAPEGRAD_PASTE_(a, b)
// Everything of simd_kernels.hpp lands in a namespace of its own per instruction set, so no symbol
// is shared between compilations with different flags (gemm_impl.hpp's templates differ by Arch).
#define TAPEGRAD_ISA_NAMESPACE TAPEGRAD_PASTE(tapegrad_simd_, TAPEGRAD_KERNEL_ISA)
#include "kernels/gemm_impl.hpp"
#include "kernels/simd_kernels.hpp"

namespace tapegrad::kernels {
namespace {

template <Isa isa>
struct ArchOf;
#define TAPEGRAD_ARCH_OF(name, arch, cpu) \
  template <>                             \
  struct ArchOf<Isa::name> {              \
    using type = arch;                    \
  };
TAPEGRAD_KERNEL_ISAS(TAPEGRAD_ARCH_OF)
#undef TAPEGRAD_ARCH_OF

constexpr Isa this_isa = Isa::TAPEGRAD_KERNEL_ISA;
using Arch = ArchOf<this_isa>::type;
static_assert(Arch::supported(),
              "compile with the flags meson.build's kernel_isas gives this instruction set");

}  // namespace

const SimdTable& TAPEGRAD_PASTE(simd_table_, TAPEGRAD_KERNEL_ISA)() {
  static const SimdTable table = [] {
    SimdTable t = TAPEGRAD_ISA_NAMESPACE::make_table<Arch>(isa_name(this_isa).data());
    t.gemm_float = gemm_impl::make_kernels<float, Arch>();
    t.gemm_double = gemm_impl::make_kernels<double, Arch>();
    return t;
  }();
  return table;
}

}  // namespace tapegrad::kernels
