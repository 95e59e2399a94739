// The public function behind each elementwise op of the lists in src/kernels/formulas.hpp (the
// operator where there is one), shared by the generated op tests, the NaN tests and the promotion tests.
#pragma once

#include <functional>
#include <map>
#include <string_view>

#include <tapegrad/tapegrad.hpp>

#include "kernels/formulas.hpp"

namespace test {

using Binary = std::function<tapegrad::Tensor(const tapegrad::Tensor&, const tapegrad::Tensor&)>;

using Unary = std::function<tapegrad::Tensor(const tapegrad::Tensor&, const tapegrad::kernels::Params&)>;

// The public function behind each elementwise op of the lists; the plain ones straight from their
// list (Note [Plain unary ops] in tapegrad/op_list.hpp).
inline const std::map<std::string_view, Unary>& unary_functions() {
  using tapegrad::Tensor;
  namespace k = tapegrad::kernels;
  using namespace tapegrad;
#define TAPEGRAD_PLAIN_UNARY_ROW(function, Formula) \
  {#function, [](const Tensor& x, const k::Params&) { return function(x); }},
  static const std::map<std::string_view, Unary> table = {
      TAPEGRAD_PLAIN_UNARY_OPS(TAPEGRAD_PLAIN_UNARY_ROW)
      {"neg", [](const Tensor& x, const k::Params&) { return neg(x); }},
      {"abs", [](const Tensor& x, const k::Params&) { return abs(x); }},
      {"leaky_relu", [](const Tensor& x, const k::Params& p) { return leaky_relu(x, p.a); }},
      {"elu", [](const Tensor& x, const k::Params& p) { return elu(x, p.a); }},
      {"softplus", [](const Tensor& x, const k::Params& p) { return softplus(x, p.a, p.b); }},
      {"clamp", [](const Tensor& x, const k::Params& p) { return clamp(x, p.a, p.b); }},
      {"pow_scalar", [](const Tensor& x, const k::Params& p) { return pow(x, p.a); }},
  };
#undef TAPEGRAD_PLAIN_UNARY_ROW
  return table;
}

inline const std::map<std::string_view, Binary>& binary_functions() {
  using tapegrad::Tensor;
  static const std::map<std::string_view, Binary> table = {
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }},
      {"pow", [](const Tensor& a, const Tensor& b) { return tapegrad::pow(a, b); }},
      {"maximum", [](const Tensor& a, const Tensor& b) { return tapegrad::maximum(a, b); }},
      {"minimum", [](const Tensor& a, const Tensor& b) { return tapegrad::minimum(a, b); }},
      {"eq", [](const Tensor& a, const Tensor& b) { return tapegrad::eq(a, b); }},
      {"ne", [](const Tensor& a, const Tensor& b) { return tapegrad::ne(a, b); }},
      {"lt", [](const Tensor& a, const Tensor& b) { return tapegrad::lt(a, b); }},
      {"le", [](const Tensor& a, const Tensor& b) { return tapegrad::le(a, b); }},
      {"gt", [](const Tensor& a, const Tensor& b) { return tapegrad::gt(a, b); }},
      {"ge", [](const Tensor& a, const Tensor& b) { return tapegrad::ge(a, b); }},
  };
  return table;
}

}  // namespace test
