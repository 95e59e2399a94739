// Note [Plain unary ops]: the elementwise ops y = f(x) whose public function is just
// `Tensor f(const Tensor& x, Here at)` (floating dtypes only, no parameters), as X(function, Formula):
// Formula is the op's struct in src/kernels/formulas.hpp (forward, backward, gradcheck domain).
// This one list declares them (ops/elementwise.hpp), defines them (src/ops/elementwise.cpp), puts
// them in the kernels' op list (formulas.hpp) and in the generated tests (tests/test_ops.cpp), so a
// new plain op is its formula struct plus one line here. The comment after each line is its math.
#pragma once

#define TAPEGRAD_PLAIN_UNARY_OPS(X)                                                                 \
  X(exp, Exp)             /* e^x */                                                                 \
  X(log, Log)             /* ln x */                                                                \
  X(log1p, Log1p)         /* ln(1 + x) */                                                           \
  X(sqrt, Sqrt)           /* x^(1/2) */                                                             \
  X(rsqrt, Rsqrt)         /* x^(-1/2) */                                                            \
  X(sin, Sin)             /* sin x */                                                               \
  X(cos, Cos)             /* cos x */                                                               \
  X(tanh, Tanh)           /* tanh x */                                                              \
  X(sigmoid, Sigmoid)     /* 1 / (1 + e^-x) */                                                      \
  X(relu, Relu)           /* max(x, 0), gradient 0 at 0 */                                          \
  X(gelu, Gelu)           /* x Φ(x), exact (erf) form */                                            \
  X(silu, Silu)           /* x σ(x) */                                                              \
  X(hardswish, Hardswish) /* x min(max(x + 3, 0), 6) / 6, gradient x/3 + 1/2 on [-3, 3] */          \
  X(erf, Erf)             /* 2/√π ∫₀ˣ e^(-t²) dt, gradient 2/√π e^(-x²) */
