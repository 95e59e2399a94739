// The two convolutions of the reference CNN (../shared/REFERENCE.md) at batch 64, shared by bench_ops
// and its LibTorch peer: conv(1->32, 3x3, pad 1) on 28x28, whose input needs no gradient (it is the
// image), and conv(32->64, 3x3, pad 1) on 14x14. Plain C++17 (torch_ops is built as C++17).
#pragma once

#include <cstdint>

namespace bench {

struct ConvLayer {
  const char* name;
  std::int64_t in, out, size;
  bool input_grad;
  // GEMM work of forward and backward: 2·N·O·C·9·H·W per product (forward, weight gradient and, when
  // the input needs one, input gradient), to set beside the GEMM rate of bench_gemm.
  double flops() const {
    return (input_grad ? 3.0 : 2.0) * 2.0 * static_cast<double>(64 * out * in * 9 * size * size);
  }
};

inline const ConvLayer conv_layers[] = {{"conv2d_1_32_28x28_b64", 1, 32, 28, false},
                                        {"conv2d_32_64_14x14_b64", 32, 64, 14, true}};

}  // namespace bench
