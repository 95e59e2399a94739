// Note [Op formulas]: one struct per elementwise op says everything about it: its name, where
// gradcheck samples it, its forward and the local derivative its backward applies to gy (in terms of
// x, the output y, and gy, as in PyTorch's derivatives.yaml). The lists at the bottom drive the
// kernels, the public ops and the generated tests: adding an op to a list is what gets it tested.
//
// Formulas are written once, over any T: float and double, xsimd batches (the SIMD kernels), and
// tensors (Note [Formulas over tensors], for create_graph), through the names of namespace math
// (kernels/formula_math.hpp).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "kernels/formula_math.hpp"
#include "tapegrad/op_list.hpp"

namespace tapegrad::kernels {

// Scalar parameters of parameterised ops (slope, alpha, beta/threshold, low/high, exponent).
struct Params {
  double a = 0.0;
  double b = 0.0;
};

// Where the generated gradcheck tests draw samples, and with which parameters.
struct Domain {
  double low = -2.0;
  double high = 2.0;
  Params params{};
};

// What an op's backward reads, as flags: a unary op's input x, a binary op's inputs a and b, the
// output y. The shared glue (src/ops/elementwise.cpp) saves exactly these for backward.
enum Saves : unsigned { saves_none = 0, saves_x = 1, saves_y = 2, saves_a = 4, saves_b = 8 };

// What a binary op does when its operands promote to int64 (Note [Type promotion]).
enum class Int64Inputs {
  computed,    // computes in int64 (add, maximum, comparisons)
  as_float32,  // computes in float32, like torch's true division
  refused,     // DTypeError with the op's int64_refusal: no integer kernel (pow)
};

// ---------------------------------------------------------------- unary ops: y = f(x)
struct Neg {
  static constexpr std::string_view name = "neg";
  static constexpr Domain domain{};
  static constexpr unsigned saves = saves_none;
  template <class T> static T forward(T x, const Params&) { return -x; }
  template <class T> static T backward(T, T, T gy, const Params&) { return -gy; }
};
struct Exp {
  static constexpr std::string_view name = "exp";
  static constexpr Domain domain{};
  static constexpr unsigned saves = saves_y;
  template <class T> static T forward(T x, const Params&) { return math::exp(x); }
  template <class T> static T backward(T, T y, T gy, const Params&) { return gy * y; }
};
struct Log {
  static constexpr std::string_view name = "log";
  static constexpr Domain domain{0.1, 3.0};
  static constexpr unsigned saves = saves_x;
  template <class T> static T forward(T x, const Params&) { return math::log(x); }
  template <class T> static T backward(T x, T, T gy, const Params&) { return gy / x; }
};
struct Log1p {
  static constexpr std::string_view name = "log1p";
  static constexpr Domain domain{-0.9, 3.0};
  static constexpr unsigned saves = saves_x;
  template <class T> static T forward(T x, const Params&) { return math::log1p(x); }
  template <class T> static T backward(T x, T, T gy, const Params&) { return gy / (T(1) + x); }
};
struct Sqrt {
  static constexpr std::string_view name = "sqrt";
  static constexpr Domain domain{0.1, 3.0};
  static constexpr unsigned saves = saves_y;
  template <class T> static T forward(T x, const Params&) { return math::sqrt(x); }
  template <class T> static T backward(T, T y, T gy, const Params&) { return gy / (T(2) * y); }
};
struct Rsqrt {
  static constexpr std::string_view name = "rsqrt";
  static constexpr Domain domain{0.1, 3.0};
  static constexpr unsigned saves = saves_y;
  template <class T> static T forward(T x, const Params&) { return T(1) / math::sqrt(x); }
  template <class T> static T backward(T, T y, T gy, const Params&) { return gy * (T(-0.5) * y * y * y); }
};
struct Abs {
  static constexpr std::string_view name = "abs";
  static constexpr Domain domain{};
  static constexpr unsigned saves = saves_x;
  template <class T> static T forward(T x, const Params&) { return math::abs(x); }
  template <class T> static T backward(T x, T, T gy, const Params&) {
    return math::select(x > T(0), gy, math::select(x < T(0), -gy, T(0)));
  }
};
struct Sin {
  static constexpr std::string_view name = "sin";
  static constexpr Domain domain{};
  static constexpr unsigned saves = saves_x;
  template <class T> static T forward(T x, const Params&) { return math::sin(x); }
  template <class T> static T backward(T x, T, T gy, const Params&) { return gy * math::cos(x); }
};
struct Cos {
  static constexpr std::string_view name = "cos";
  static constexpr Domain domain{};
  static constexpr unsigned saves = saves_x;
  template <class T> static T forward(T x, const Params&) { return math::cos(x); }
  template <class T> static T backward(T x, T, T gy, const Params&) { return -gy * math::sin(x); }
};
struct Tanh {
  static constexpr std::string_view name = "tanh";
  static constexpr Domain domain{-3.0, 3.0};
  static constexpr unsigned saves = saves_y;
  template <class T> static T forward(T x, const Params&) { return math::tanh(x); }
  template <class T> static T backward(T, T y, T gy, const Params&) { return gy * (T(1) - y * y); }
};
struct Sigmoid {
  static constexpr std::string_view name = "sigmoid";
  static constexpr Domain domain{-4.0, 4.0};
  static constexpr unsigned saves = saves_y;
  template <class T> static T forward(T x, const Params&) { return math::sigmoid(x); }
  template <class T> static T backward(T, T y, T gy, const Params&) { return gy * y * (T(1) - y); }
};
struct Relu {
  static constexpr std::string_view name = "relu";
  static constexpr Domain domain{};
  static constexpr unsigned saves = saves_y;
  template <class T> static T forward(T x, const Params&) { return math::select(math::or_nan(x > T(0), x), x, T(0)); }
  // PyTorch's threshold_backward: 0 where y <= 0, so a NaN output passes gy.
  template <class T> static T backward(T, T y, T gy, const Params&) { return math::select(y <= T(0), T(0), gy); }
};
struct Gelu {
  static constexpr std::string_view name = "gelu";
  static constexpr Domain domain{-3.0, 3.0};
  static constexpr unsigned saves = saves_x;
  template <class T> static T forward(T x, const Params&) {
    return T(0.5) * x * (T(1) + math::erf(x * T(0.70710678118654752440)));
  }
  template <class T> static T backward(T x, T, T gy, const Params&) {
    T cdf = T(0.5) * (T(1) + math::erf(x * T(0.70710678118654752440)));
    T pdf = T(0.39894228040143267794) * math::exp(T(-0.5) * x * x);
    return gy * (cdf + x * pdf);
  }
};
struct Silu {
  static constexpr std::string_view name = "silu";
  static constexpr Domain domain{-4.0, 4.0};
  static constexpr unsigned saves = saves_x;
  template <class T> static T forward(T x, const Params&) { return x * math::sigmoid(x); }
  template <class T> static T backward(T x, T, T gy, const Params&) {
    T s = math::sigmoid(x);
    return gy * s * (T(1) + x * (T(1) - s));
  }
};
struct LeakyRelu {  // a: negative slope
  static constexpr std::string_view name = "leaky_relu";
  static constexpr Domain domain{-2.0, 2.0, {0.1, 0.0}};
  static constexpr unsigned saves = saves_x;
  template <class T> static T forward(T x, const Params& p) { return math::select(x > T(0), x, T(p.a) * x); }
  template <class T> static T backward(T x, T, T gy, const Params& p) {
    return math::select(x > T(0), gy, T(p.a) * gy);
  }
};
struct Elu {  // a: alpha
  static constexpr std::string_view name = "elu";
  static constexpr Domain domain{-2.0, 2.0, {1.3, 0.0}};
  static constexpr unsigned saves = saves_x;
  template <class T> static T forward(T x, const Params& p) {
    return math::select(x > T(0), x, T(p.a) * (math::exp(x) - T(1)));
  }
  // PyTorch's elu_backward: the exponential branch where x <= 0, so a NaN input passes gy.
  template <class T> static T backward(T x, T, T gy, const Params& p) {
    return math::select(x <= T(0), gy * T(p.a) * math::exp(x), gy);
  }
};
struct Softplus {  // a: beta, b: threshold
  static constexpr std::string_view name = "softplus";
  static constexpr Domain domain{-3.0, 3.0, {1.5, 20.0}};
  static constexpr unsigned saves = saves_x;
  template <class T> static T forward(T x, const Params& p) {
    T bx = T(p.a) * x;
    return math::select(bx > T(p.b), x, math::log1p(math::exp(bx)) / T(p.a));
  }
  template <class T> static T backward(T x, T, T gy, const Params& p) {
    T bx = T(p.a) * x;
    return math::select(bx > T(p.b), gy, gy * math::sigmoid(bx));
  }
};
struct Clamp {  // a: low, b: high (±inf for one-sided); a NaN bound gives NaN, like torch.clamp
  static constexpr std::string_view name = "clamp";
  static constexpr Domain domain{-2.0, 2.0, {-1.0, 1.0}};
  static constexpr unsigned saves = saves_x;
  template <class T> static T forward(T x, const Params& p) {
    T low = T(p.a), high = T(p.b);
    return math::select(math::or_nan(x < low, low), low, math::select(math::or_nan(x > high, high), high, x));
  }
  template <class T> static T backward(T x, T, T gy, const Params& p) {
    return math::select((x >= T(p.a)) & (x <= T(p.b)), gy, T(0));
  }
};
struct PowScalar {  // a: exponent
  static constexpr std::string_view name = "pow_scalar";
  static constexpr Domain domain{0.2, 3.0, {2.5, 0.0}};
  static constexpr unsigned saves = saves_x;
  template <class T> static T forward(T x, const Params& p) { return math::pow(x, T(p.a)); }
  template <class T> static T backward(T x, T, T gy, const Params& p) {
    if (p.a == 0.0) return T(0);
    return gy * T(p.a) * math::pow(x, T(p.a - 1.0));
  }
};

// PyTorch's hardswish_backward as its scalar kernel (and CUDA's) has it: 0 below -3, x/3 + 1/2 on
// [-3, 3] (so -gy/2 at -3 and 3gy/2 at 3), gy above, and gy at NaN (every compare false). (torch's
// vectorised CPU kernel gives gy at 3 and NaN at NaN instead: torch disagrees with itself there.)
struct Hardswish {
  static constexpr std::string_view name = "hardswish";
  static constexpr Domain domain{-4.5, 4.5};
  static constexpr unsigned saves = saves_x;
  // x * relu6(x + 3) / 6 in torch's order; a NaN x gives NaN through the product.
  template <class T> static T forward(T x, const Params&) {
    T shifted = x + T(3);
    T relu6 = math::select(shifted < T(0), T(0), math::select(shifted > T(6), T(6), shifted));
    return x * relu6 / T(6);
  }
  template <class T> static T backward(T x, T, T gy, const Params&) {
    return math::select(x < T(-3), T(0), math::select(x <= T(3), gy * (x / T(3) + T(0.5)), gy));
  }
};
struct Erf {
  static constexpr std::string_view name = "erf";
  static constexpr Domain domain{};
  static constexpr unsigned saves = saves_x;
  template <class T> static T forward(T x, const Params&) { return math::erf(x); }
  template <class T> static T backward(T x, T, T gy, const Params&) {
    return gy * (T(1.12837916709551257390) * math::exp(-(x * x)));  // 2/√π e^(-x²)
  }
};

// The plain ones come from the public list (Note [Plain unary ops] in tapegrad/op_list.hpp).
#define TAPEGRAD_PLAIN_FORMULA(function, Formula) , Formula
using unary_ops = std::tuple<Neg, Abs, LeakyRelu, Elu, Softplus, Clamp,
                             PowScalar TAPEGRAD_PLAIN_UNARY_OPS(TAPEGRAD_PLAIN_FORMULA)>;
#undef TAPEGRAD_PLAIN_FORMULA
#define TAPEGRAD_PLAIN_NAME_CHECK(function, Formula) \
  static_assert(Formula::name == #function, "the formula's name is its public function's");
TAPEGRAD_PLAIN_UNARY_OPS(TAPEGRAD_PLAIN_NAME_CHECK)
#undef TAPEGRAD_PLAIN_NAME_CHECK

// ---------------------------------------------------------------- binary ops: y = f(a, b)
// Binary structs also say what backward saves (Saves flags) and what int64 operands do.
struct Add {
  static constexpr std::string_view name = "add";
  static constexpr Domain domain{};
  static constexpr bool differentiable = true;
  static constexpr unsigned saves = saves_none;
  static constexpr Int64Inputs int64_inputs = Int64Inputs::computed;
  template <class T> static T forward(T a, T b) { return a + b; }
  template <class T> static T grad_a(T, T, T, T gy) { return gy; }
  template <class T> static T grad_b(T, T, T, T gy) { return gy; }
};
struct Sub {
  static constexpr std::string_view name = "sub";
  static constexpr Domain domain{};
  static constexpr bool differentiable = true;
  static constexpr unsigned saves = saves_none;
  static constexpr Int64Inputs int64_inputs = Int64Inputs::computed;
  template <class T> static T forward(T a, T b) { return a - b; }
  template <class T> static T grad_a(T, T, T, T gy) { return gy; }
  template <class T> static T grad_b(T, T, T, T gy) { return -gy; }
};
struct Mul {
  static constexpr std::string_view name = "mul";
  static constexpr Domain domain{};
  static constexpr bool differentiable = true;
  static constexpr unsigned saves = saves_a | saves_b;
  static constexpr Int64Inputs int64_inputs = Int64Inputs::computed;
  template <class T> static T forward(T a, T b) { return a * b; }
  template <class T> static T grad_a(T, T b, T, T gy) { return gy * b; }
  template <class T> static T grad_b(T a, T, T, T gy) { return gy * a; }
};
struct Div {
  static constexpr std::string_view name = "div";
  static constexpr Domain domain{0.5, 2.0};  // keeps b away from 0
  static constexpr bool differentiable = true;
  static constexpr unsigned saves = saves_a | saves_b;
  static constexpr Int64Inputs int64_inputs = Int64Inputs::as_float32;
  template <class T> static T forward(T a, T b) { return a / b; }
  template <class T> static T grad_a(T, T b, T, T gy) { return gy / b; }
  template <class T> static T grad_b(T a, T b, T, T gy) { return -gy * a / (b * b); }
};
struct Pow {
  static constexpr std::string_view name = "pow";
  static constexpr Domain domain{0.2, 2.0};
  static constexpr bool differentiable = true;
  static constexpr unsigned saves = saves_a | saves_b | saves_y;
  static constexpr Int64Inputs int64_inputs = Int64Inputs::refused;
  static constexpr std::string_view int64_refusal =
      "int64 to an integral power is not supported (cast to a floating dtype first)";
  template <class T> static T forward(T a, T b) { return math::pow(a, b); }
  template <class T> static T grad_a(T a, T b, T, T gy) {
    return math::select(b == T(0), T(0), gy * b * math::pow(a, b - T(1)));
  }
  // d/db a^b = a^b ln a; taken as 0 where a == 0 and b >= 0 (the limit), like PyTorch.
  template <class T> static T grad_b(T a, T b, T y, T gy) {
    return math::select((a == T(0)) & (b >= T(0)), T(0), gy * y * math::log(a));
  }
};
// Ties split the gradient evenly. A NaN operand wins (Note [NaN propagation]); the gradients are
// PyTorch's: 0 on the side that compares smaller, gy / 2 on ties, else gy (so both get gy at a NaN).
struct Maximum {
  static constexpr std::string_view name = "maximum";
  static constexpr Domain domain{};
  static constexpr bool differentiable = true;
  static constexpr unsigned saves = saves_a | saves_b;
  static constexpr Int64Inputs int64_inputs = Int64Inputs::computed;
  template <class T> static T forward(T a, T b) { return math::select(math::or_nan(a >= b, a), a, b); }
  template <class T> static T grad_a(T a, T b, T, T gy) {
    return math::select(a < b, T(0), math::select(a == b, gy * T(0.5), gy));
  }
  template <class T> static T grad_b(T a, T b, T, T gy) {
    return math::select(b < a, T(0), math::select(a == b, gy * T(0.5), gy));
  }
};
struct Minimum {
  static constexpr std::string_view name = "minimum";
  static constexpr Domain domain{};
  static constexpr bool differentiable = true;
  static constexpr unsigned saves = saves_a | saves_b;
  static constexpr Int64Inputs int64_inputs = Int64Inputs::computed;
  template <class T> static T forward(T a, T b) { return math::select(math::or_nan(a <= b, a), a, b); }
  template <class T> static T grad_a(T a, T b, T, T gy) {
    return math::select(a > b, T(0), math::select(a == b, gy * T(0.5), gy));
  }
  template <class T> static T grad_b(T a, T b, T, T gy) {
    return math::select(b > a, T(0), math::select(a == b, gy * T(0.5), gy));
  }
};

#define TAPEGRAD_COMPARISON(Name, text, expression)                              \
  struct Name {                                                                 \
    static constexpr std::string_view name = text;                              \
    static constexpr Domain domain{};                                           \
    static constexpr bool differentiable = false;                               \
    static constexpr unsigned saves = saves_none;                               \
    static constexpr Int64Inputs int64_inputs = Int64Inputs::computed;          \
    template <class T> static T forward(T a, T b) { return (expression) ? T(1) : T(0); } \
    template <class T> static T grad_a(T, T, T, T) { return T(0); }             \
    template <class T> static T grad_b(T, T, T, T) { return T(0); }             \
  };
TAPEGRAD_COMPARISON(Eq, "eq", a == b)
TAPEGRAD_COMPARISON(Ne, "ne", a != b)
TAPEGRAD_COMPARISON(Lt, "lt", a < b)
TAPEGRAD_COMPARISON(Le, "le", a <= b)
TAPEGRAD_COMPARISON(Gt, "gt", a > b)
TAPEGRAD_COMPARISON(Ge, "ge", a >= b)
#undef TAPEGRAD_COMPARISON

using binary_ops = std::tuple<Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge>;

// Position of Op in a tuple of op structs: the runtime id the kernel entry points take.
template <class Op, class Tuple> struct index_in;
template <class Op, class... Ops> struct index_in<Op, std::tuple<Op, Ops...>> {
  static constexpr int value = 0;
};
template <class Op, class First, class... Ops> struct index_in<Op, std::tuple<First, Ops...>> {
  static constexpr int value = 1 + index_in<Op, std::tuple<Ops...>>::value;
};
template <class Op> inline constexpr int unary_id = index_in<Op, unary_ops>::value;
template <class Op> inline constexpr int binary_id = index_in<Op, binary_ops>::value;

// Calls f.template operator()<Op>() for the op at position `id` of the tuple.
template <class Tuple, class F, int I = 0>
decltype(auto) with_op(int id, F&& f) {
  if constexpr (I + 1 == std::tuple_size_v<Tuple>) {
    return f.template operator()<std::tuple_element_t<I, Tuple>>();
  } else {
    if (id == I) return f.template operator()<std::tuple_element_t<I, Tuple>>();
    return with_op<Tuple, F, I + 1>(id, std::forward<F>(f));
  }
}

}  // namespace tapegrad::kernels
