// The public function behind each binary op of the list in src/kernels/formulas.hpp (the operator
// where there is one), shared by the generated op tests and the promotion tests.
#pragma once

#include <functional>
#include <map>
#include <string_view>

#include <tapegrad/tapegrad.hpp>

namespace test {

using Binary = std::function<tapegrad::Tensor(const tapegrad::Tensor&, const tapegrad::Tensor&)>;

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
