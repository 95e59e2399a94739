// Shared by the tests: sampling inputs and comparing values.
#pragma once

#include <doctest/doctest.h>

#include <tuple>

#include <string>

#include <tapegrad/tapegrad.hpp>

namespace test {

using namespace tapegrad;

// A float64 leaf of the given shape with values in [low, high), seeded by a counter so each sample differs.
inline Tensor sample(const Shape& shape, double low = -2.0, double high = 2.0) {
  static Generator gen(1234);
  Tensor t = uniform(shape, low, high, float64, &gen);
  t.requires_grad_();
  return t;
}

// Calls f.template operator()<Op>(index) for each op type of the tuple Ops (an op list of
// src/kernels/formulas.hpp), index counting from 0: the op's slot in the SIMD tables.
template <class Ops, class F>
void for_each_op(F&& f) {
  [&]<class... Op>(std::tuple<Op...>*) {
    int index = 0;
    (f.template operator()<Op>(index++), ...);
  }(static_cast<Ops*>(nullptr));
}

inline void check_close(const Tensor& actual, const std::vector<double>& expected, double tol = 1e-6) {
  std::vector<double> values = actual.detach().to(float64).to_vector<double>();
  REQUIRE(values.size() == expected.size());
  for (std::size_t i = 0; i < values.size(); ++i) CHECK(values[i] == doctest::Approx(expected[i]).epsilon(tol));
}

// The message of the exception E thrown by f, or "" (and a failed check) when none is thrown.
template <class E, class F>
std::string message_of(F f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("wrong exception type: " << std::string(e.what()));
  }
  FAIL("no exception thrown");
  return "";
}

}  // namespace test
