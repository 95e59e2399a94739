// Every elementwise op and reduction at NaN against PyTorch (Note [NaN propagation] in
// src/kernels/formulas.hpp; the values come from tests/fixtures/make_nan.py).
#include <cmath>
#include <string>
#include <vector>

#include "helpers.hpp"
#include "op_functions.hpp"
#include "kernels/formulas.hpp"
#include "kernels/isa.hpp"
#include "kernels/simd_table.hpp"

using namespace tapegrad;
using test::for_each_op;
using test::unary_functions;
using test::binary_functions;
using test::Unary;
using test::Binary;
namespace k = tapegrad::kernels;

// ------------------------------------------------------------------ NaN (Note [NaN propagation])
// Every op of the lists, at NaN, against what PyTorch gives (tests/fixtures/make_nan.py): through the
// public functions (contiguous, strided, broadcast) and through both SIMD tables directly.
namespace {

struct NanUnaryRow {
  std::string_view name;
  double a, b, y, gx;
};
struct NanBinaryRow {
  std::string_view name;
  double a, b, y, ga, gb;
};
struct NanReductionRow {
  std::string_view name;
  std::int64_t axis;
  std::vector<double> values, grad;
};
#include "fixtures/nan_torch.inc"

constexpr double nan_gy = 0.75;  // the fixture's upstream gradient

// actual equals PyTorch's expected value (NaN matches NaN), to float32 precision.
bool same(double actual, double expected) {
  if (std::isnan(expected)) return std::isnan(actual);
  return std::abs(actual - expected) <= 1e-6 * (1 + std::abs(expected));
}

// 37 elements: a full SIMD body and a tail in every instruction set; NaN rows at both.
constexpr std::size_t nan_n = 37;
bool nan_position(std::size_t i) { return i == 0 || i == 5 || i == 17 || i == 36; }

// `special` at the NaN positions, values spread over [low, high] elsewhere.
std::vector<double> nan_values(double special, double low, double high) {
  std::vector<double> v(nan_n);
  for (std::size_t i = 0; i < nan_n; ++i)
    v[i] = nan_position(i) ? special : low + (high - low) * (static_cast<double>(i) + 0.5) / nan_n;
  return v;
}

// A leaf holding v: contiguous, or (strided) each value twice along a transposed axis, so no inner
// loop is contiguous. Element k of the result's row-major order holds v[k / (strided ? 2 : 1)].
Tensor nan_leaf(const std::vector<double>& v, DType dtype, bool strided) {
  Tensor t = from_vector(v, {static_cast<std::int64_t>(v.size())}).to(dtype);
  if (strided) t = transpose(stack({t, t}), 0, 1);
  t = t.detach();
  t.requires_grad_();
  return t;
}

// At the NaN positions `t` holds `expected`; elsewhere it is not NaN (unless `others_nan`).
void check_nan_positions(const Tensor& t, double expected, bool others_nan = false) {
  std::vector<double> values = t.detach().contiguous().to(float64).to_vector<double>();
  const std::size_t repeat = values.size() / nan_n;
  for (std::size_t k = 0; k < values.size(); ++k) {
    INFO("element " << k);
    if (nan_position(k / repeat)) CHECK(same(values[k], expected));
    else if (!others_nan) CHECK_FALSE(std::isnan(values[k]));
  }
}

template <class Row>
std::vector<Row> rows_of(const std::vector<Row>& rows, std::string_view name) {
  std::vector<Row> out;
  for (const Row& r : rows)
    if (r.name == name) out.push_back(r);
  return out;
}

template <class T>
std::vector<T> as(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}
template <class T>
Tensor tensor_of(const std::vector<T>& v) {
  return from_vector(std::vector<double>(v.begin(), v.end()), {static_cast<std::int64_t>(v.size())});
}

}  // namespace

TEST_CASE("every unary op gives PyTorch's value and gradient at NaN, contiguous and strided") {
  for_each_op<k::unary_ops>([&]<class Op>(int) {
    INFO("op: " << Op::name);
    auto rows = rows_of(nan_unary_rows, Op::name);
    REQUIRE_MESSAGE(rows.size() == 1, "no torch row for " << Op::name << ": rerun tests/fixtures/make_nan.py");
    const NanUnaryRow& row = rows[0];
    CHECK(row.a == Op::domain.params.a);  // the fixture's parameters are still the domain's
    CHECK(row.b == Op::domain.params.b);
    const Unary& f = unary_functions().at(Op::name);
    const auto v = nan_values(NAN, Op::domain.low, Op::domain.high);
    for (DType dtype : {float32, float64}) {
      for (bool strided : {false, true}) {
        INFO(dtype_name(dtype) << ", " << std::string(strided ? "strided" : "contiguous"));
        Tensor x = nan_leaf(v, dtype, strided);
        Tensor y = f(x, Op::domain.params);
        check_nan_positions(y, row.y);
        y.backward(full(y.shape(), nan_gy, dtype));
        check_nan_positions(x.grad(), row.gx);
      }
    }
  });
}

TEST_CASE("SIMD unary kernels of every instruction set give PyTorch's value and gradient at NaN") {
  for (const auto* table : k::supported_tables()) {
    INFO("isa " << std::string(table->isa));
    for_each_op<k::unary_ops>([&]<class Op>(int id) {
      INFO("op: " << Op::name);
      const NanUnaryRow row = rows_of(nan_unary_rows, Op::name).at(0);
      auto run = [&]<class T>(int slot) {
        auto x = as<T>(nan_values(NAN, Op::domain.low, Op::domain.high));
        std::vector<T> y(nan_n), gy(nan_n, T(nan_gy)), gx(nan_n);
        table->unary[id][slot](nan_n, x.data(), y.data(), Op::domain.params);
        table->unary_backward[id][slot](nan_n, x.data(), y.data(), gy.data(), gx.data(), Op::domain.params);
        check_nan_positions(tensor_of(y), row.y);
        check_nan_positions(tensor_of(gx), row.gx);
      };
      run.template operator()<float>(0);
      run.template operator()<double>(1);
    });
  }
}

// torch 1.13: x = torch.tensor(v, dtype=torch.float64, requires_grad=True);
// F.hardswish(x).backward(torch.tensor(0.75, dtype=torch.float64)) gives x.grad -0.375 at -3 and 1.125 at 3
// (x/3 + 1/2 on the closed interval, as its scalar and CUDA kernels have it), 0 below, 0.75 above.
TEST_CASE("hardswish's gradient at its kinks -3 and 3 is PyTorch's, through the op and every SIMD table") {
  const std::vector<double> points = {-3.0, 3.0, -3.5, 3.5};
  const std::vector<double> torch_gx = {-0.375, 1.125, 0.0, 0.75};
  std::vector<double> x, expected;  // 37 elements: SIMD bodies and tails
  for (std::size_t i = 0; i < nan_n; ++i) {
    x.push_back(points[i % points.size()]);
    expected.push_back(torch_gx[i % points.size()]);
  }
  for (DType dtype : {float32, float64}) {
    for (bool strided : {false, true}) {
      Tensor leaf = nan_leaf(x, dtype, strided);
      hardswish(leaf).backward(full(leaf.shape(), nan_gy, dtype));
      std::vector<double> gx = leaf.grad().contiguous().to(float64).to_vector<double>();
      for (std::size_t i = 0; i < gx.size(); ++i) CHECK(gx[i] == expected[i / (strided ? 2 : 1)]);
    }
  }
  constexpr int id = k::unary_id<k::Hardswish>;
  for (const auto* table : k::supported_tables()) {
    INFO("isa " << std::string(table->isa));
    auto run = [&]<class T>(int slot) {
      auto xs = as<T>(x);
      std::vector<T> y(nan_n), gy(nan_n, T(nan_gy)), gx(nan_n);
      table->unary[id][slot](nan_n, xs.data(), y.data(), {});
      table->unary_backward[id][slot](nan_n, xs.data(), y.data(), gy.data(), gx.data(), {});
      for (std::size_t i = 0; i < nan_n; ++i) CHECK(static_cast<double>(gx[i]) == expected[i]);
    };
    run.template operator()<float>(0);
    run.template operator()<double>(1);
  }
}

TEST_CASE("every binary op gives PyTorch's value and gradients with NaN on either side") {
  for_each_op<k::binary_ops>([&]<class Op>(int) {
    INFO("op: " << Op::name);
    auto rows = rows_of(nan_binary_rows, Op::name);
    REQUIRE_MESSAGE(rows.size() >= 3, "no torch rows for " << Op::name << ": rerun tests/fixtures/make_nan.py");
    const Binary& f = binary_functions().at(Op::name);
    for (const NanBinaryRow& row : rows) {
      INFO("a " << row.a << ", b " << row.b);
      const auto av = nan_values(row.a, Op::domain.low, Op::domain.high);
      const auto bv = nan_values(row.b, Op::domain.high, Op::domain.low);
      for (DType dtype : {float32, float64}) {
        // both vectors (contiguous, strided), then one side a 0-d tensor holding the row's value
        for (int layout = 0; layout < 4; ++layout) {
          INFO(dtype_name(dtype) << ", layout " << layout);
          const bool strided = layout == 1;
          Tensor a = layout == 3 ? full({}, row.a, dtype) : nan_leaf(av, dtype, strided);
          Tensor b = layout == 2 ? full({}, row.b, dtype) : nan_leaf(bv, dtype, strided);
          if (layout >= 2) (layout == 3 ? a : b).requires_grad_();
          Tensor y = f(a, b);
          // with a 0-d NaN side, every position is a NaN position
          const bool all_nan = (layout == 2 && std::isnan(row.b)) || (layout == 3 && std::isnan(row.a));
          check_nan_positions(y, row.y, all_nan);
          if constexpr (Op::differentiable) {
            y.backward(full(y.shape(), nan_gy, dtype));
            if (a.dim() > 0) check_nan_positions(a.grad(), row.ga, all_nan);
            if (b.dim() > 0) check_nan_positions(b.grad(), row.gb, all_nan);
          } else {
            CHECK(y.dtype() == int64);
          }
        }
      }
    }
  });
}

TEST_CASE("SIMD binary kernels of every instruction set give PyTorch's value and gradients at NaN") {
  for (const auto* table : k::supported_tables()) {
    INFO("isa " << std::string(table->isa));
    for_each_op<k::binary_ops>([&]<class Op>(int id) {
      if constexpr (Op::differentiable) {
        INFO("op: " << Op::name);
        for (const NanBinaryRow& row : rows_of(nan_binary_rows, Op::name)) {
          INFO("a " << row.a << ", b " << row.b);
          auto run = [&]<class T>(int slot) {
            for (int mode : {k::both_vectors, k::b_scalar, k::a_scalar}) {
              INFO("mode " << mode);
              auto a = as<T>(nan_values(row.a, Op::domain.low, Op::domain.high));
              auto b = as<T>(nan_values(row.b, Op::domain.high, Op::domain.low));
              if (mode == k::a_scalar) a.assign(nan_n, T(row.a));
              if (mode == k::b_scalar) b.assign(nan_n, T(row.b));
              const bool all_nan = (mode == k::a_scalar && std::isnan(row.a)) || (mode == k::b_scalar && std::isnan(row.b));
              std::vector<T> y(nan_n), gy(nan_n, T(nan_gy)), ga(nan_n), gb(nan_n);
              table->binary[id][slot][mode](nan_n, a.data(), b.data(), y.data());
              table->binary_backward[id][slot][0][mode](nan_n, a.data(), b.data(), y.data(), gy.data(), ga.data());
              table->binary_backward[id][slot][1][mode](nan_n, a.data(), b.data(), y.data(), gy.data(), gb.data());
              check_nan_positions(tensor_of(y), row.y, all_nan);
              check_nan_positions(tensor_of(ga), row.ga, all_nan);
              check_nan_positions(tensor_of(gb), row.gb, all_nan);
            }
          };
          run.template operator()<float>(0);
          run.template operator()<double>(1);
        }
      }
    });
  }
}

TEST_CASE("max, min, argmax and argmin give PyTorch's values and gradients with NaN, by rows, columns and all") {
  const Tensor input = from_vector(nan_reduction_input, {5, 37});
  for (const NanReductionRow& row : nan_reduction_rows) {
    for (DType dtype : {float32, float64}) {
      for (bool strided : {false, true}) {
        INFO(row.name << " axis " << row.axis << ", " << dtype_name(dtype) << ", " << std::string(strided ? "strided" : "contiguous"));
        // strided: the same values as a transposed view of a [37, 5] tensor
        Tensor x = strided ? transpose(transpose(input, 0, 1).contiguous(), 0, 1) : input;
        x = x.to(dtype).detach();
        x.requires_grad_();
        Tensor y;
        std::optional<std::int64_t> axis;
        if (row.axis >= 0) axis = row.axis;
        if (row.name == "max") y = axis ? max(x, {*axis}) : max(x);
        else if (row.name == "min") y = axis ? min(x, {*axis}) : min(x);
        else if (row.name == "argmax") y = argmax(x, axis);
        else y = argmin(x, axis);
        std::vector<double> values = y.to(float64).to_vector<double>();
        REQUIRE(values.size() == row.values.size());
        for (std::size_t i = 0; i < values.size(); ++i) CHECK(same(values[i], row.values[i]));
        if (row.grad.empty()) continue;
        y.backward(full(y.shape(), nan_gy, dtype));
        std::vector<double> grad = x.grad().contiguous().to(float64).to_vector<double>();
        REQUIRE(grad.size() == row.grad.size());
        for (std::size_t i = 0; i < grad.size(); ++i) CHECK(same(grad[i], row.grad[i]));
      }
    }
  }
}

TEST_CASE("where passes a NaN of the chosen branch and none of the other; gradients follow the condition") {
  // torch.where: y = c ? a : b whatever the values; ga = c ? gy : 0, gb = c ? 0 : gy, NaN or not.
  std::vector<double> c(nan_n), av(nan_n, 1.0), bv(nan_n, 2.0);
  for (std::size_t i = 0; i < nan_n; ++i) {
    c[i] = i % 3 == 0;
    if (i % 2 == 0) av[i] = NAN;
    if (i % 5 == 0) bv[i] = NAN;
  }
  for (DType dtype : {float32, float64}) {
    Tensor a = nan_leaf(av, dtype, false), b = nan_leaf(bv, dtype, false);
    Tensor y = where(from_vector(c, {37}), a, b);
    y.backward(full(y.shape(), nan_gy, dtype));
    std::vector<double> yv = y.to(float64).to_vector<double>(), ga = a.grad().to(float64).to_vector<double>();
    std::vector<double> gb = b.grad().to(float64).to_vector<double>();
    for (std::size_t i = 0; i < nan_n; ++i) {
      INFO("element " << i);
      CHECK(same(yv[i], c[i] != 0 ? av[i] : bv[i]));
      CHECK(ga[i] == (c[i] != 0 ? nan_gy : 0.0));
      CHECK(gb[i] == (c[i] != 0 ? 0.0 : nan_gy));
    }
  }
}

TEST_CASE("clamp with a NaN bound gives NaN and a zero gradient, like torch.clamp") {
  for (DType dtype : {float32, float64}) {
    Tensor x = nan_leaf(nan_values(0.5, -2.0, 2.0), dtype, false);
    Tensor y = clamp(x, NAN, 1.0) + clamp_min(x, NAN) + clamp_max(x, NAN);
    y.backward(full(y.shape(), nan_gy, dtype));
    for (double v : y.to(float64).to_vector<double>()) CHECK(std::isnan(v));
    for (double g : x.grad().to(float64).to_vector<double>()) CHECK(g == 0.0);
  }
}

// The shape and index ops of the table above, gradgradchecked (a TEST_CASE of their own, so the
// reduction and linear-algebra rows can get theirs separately).
