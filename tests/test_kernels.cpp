// Kernels against a plain float64 reference on odd sizes (0, 1, 7, 8, 9, 1023 and more), on every
// instruction set this CPU has (the baseline table and the AVX2 one), plus determinism across thread
// counts. Note [Kernels per instruction set].
#include <cmath>
#include <cstring>

#include "helpers.hpp"
#include "kernels/isa.hpp"
#include "kernels/simd_table.hpp"

using namespace tapegrad;
namespace k = tapegrad::kernels;
using test::for_each_op;

namespace {

const std::vector<std::int64_t> sizes = {0, 1, 7, 8, 9, 15, 16, 17, 33, 1023, 4099};

std::vector<double> values(std::int64_t n, double low, double high, std::uint64_t seed) {
  Generator gen(seed);
  return uniform({n}, low, high, float64, &gen).to_vector<double>();
}

// |actual - expected| <= tol * (1 + |expected|)
template <class T>
void check_values(const std::vector<T>& actual, const std::vector<double>& expected, double tol) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    INFO("element " << i << " of " << actual.size());
    CHECK(std::abs(static_cast<double>(actual[i]) - expected[i]) <= tol * (1.0 + std::abs(expected[i])));
  }
}

template <class T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

template <class T>
constexpr double tolerance() {
  return std::is_same_v<T, float> ? 2e-6 : 1e-13;
}

}  // namespace

TEST_CASE("SIMD unary kernels and their fused backward match the float64 formula") {
  for (const auto* table : k::supported_tables()) {
    INFO("isa " << std::string(table->isa));
    for_each_op<k::unary_ops>([&]<class Op>(int id) {
      INFO("op " << Op::name);
      const k::Params& p = Op::domain.params;
      auto run = [&]<class T>(int slot) {
        for (auto n : sizes) {
          INFO("n " << n);
          auto x64 = values(n, Op::domain.low, Op::domain.high, 1 + static_cast<std::uint64_t>(n));
          auto gy64 = values(n, -1.0, 1.0, 99);
          auto x = cast<T>(x64), gy = cast<T>(gy64);
          std::vector<T> y(static_cast<std::size_t>(n) + 1, T(-7)), gx(static_cast<std::size_t>(n) + 1, T(-7));
          table->unary[id][slot](n, x.data(), y.data(), p);
          CHECK(y.back() == T(-7));  // nothing written past the end
          std::vector<double> expected_y(x64.size()), expected_gx(x64.size());
          std::vector<T> y_in(x.size());
          for (std::size_t i = 0; i < x.size(); ++i) {
            const double xi = static_cast<double>(x[i]);
            expected_y[i] = Op::forward(xi, p);
            y_in[i] = static_cast<T>(expected_y[i]);
            expected_gx[i] = Op::backward(xi, static_cast<double>(y_in[i]), static_cast<double>(gy[i]), p);
          }
          y.pop_back();
          check_values(y, expected_y, tolerance<T>());
          table->unary_backward[id][slot](n, x.data(), y_in.data(), gy.data(), gx.data(), p);
          CHECK(gx.back() == T(-7));
          gx.pop_back();
          check_values(gx, expected_gx, 4 * tolerance<T>());
        }
      };
      run.template operator()<float>(0);
      run.template operator()<double>(1);
    });
  }
}

TEST_CASE("SIMD binary kernels, forward and both gradients, in every broadcast mode") {
  for (const auto* table : k::supported_tables()) {
    INFO("isa " << std::string(table->isa));
    for_each_op<k::binary_ops>([&]<class Op>(int id) {
      if constexpr (Op::differentiable) {
        INFO("op " << Op::name);
        auto run = [&]<class T>(int slot) {
          for (int mode : {k::both_vectors, k::b_scalar, k::a_scalar}) {
            for (auto n : sizes) {
              INFO("n " << n << ", mode " << mode);
              auto a = cast<T>(values(std::max<std::int64_t>(n, 1), Op::domain.low, Op::domain.high, 3));
              auto b = cast<T>(values(std::max<std::int64_t>(n, 1), Op::domain.low, Op::domain.high, 4));
              auto gy = cast<T>(values(std::max<std::int64_t>(n, 1), -1.0, 1.0, 5));
              auto av = [&](std::size_t i) { return static_cast<double>(mode == k::a_scalar ? a[0] : a[i]); };
              auto bv = [&](std::size_t i) { return static_cast<double>(mode == k::b_scalar ? b[0] : b[i]); };
              std::vector<T> y(static_cast<std::size_t>(n) + 1, T(-7));
              table->binary[id][slot][mode](n, a.data(), b.data(), y.data());
              CHECK(y.back() == T(-7));
              y.pop_back();
              std::vector<double> expected(static_cast<std::size_t>(n));
              for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = Op::forward(av(i), bv(i));
              check_values(y, expected, tolerance<T>());
              for (int which = 0; which < 2; ++which) {
                std::vector<T> g(static_cast<std::size_t>(n) + 1, T(-7));
                table->binary_backward[id][slot][which][mode](n, a.data(), b.data(), y.data(), gy.data(), g.data());
                CHECK(g.back() == T(-7));
                g.pop_back();
                for (std::size_t i = 0; i < expected.size(); ++i) {
                  double yi = static_cast<double>(y[i]), gi = static_cast<double>(gy[i]);
                  expected[i] = which == 0 ? Op::grad_a(av(i), bv(i), yi, gi) : Op::grad_b(av(i), bv(i), yi, gi);
                }
                check_values(g, expected, 8 * tolerance<T>());
              }
            }
          }
        };
        run.template operator()<float>(0);
        run.template operator()<double>(1);
      }
    });
  }
}

TEST_CASE("SIMD reductions over rows and columns match a float64 reference") {
  for (const auto* table : k::supported_tables()) {
    INFO("isa " << std::string(table->isa));
    for (int kind = 0; kind < 3; ++kind) {
      for (auto rows : {1, 3}) {
        for (auto n : sizes) {
          if (n == 0 && kind != 0) continue;  // max/min of nothing: the ops layer refuses it
          INFO("kind " << kind << ", rows " << rows << ", n " << n);
          auto x64 = values(rows * n, -3.0, 3.0, 11);
          auto x = cast<float>(x64);
          auto fold = [&](double acc, double v) { return kind == 0 ? acc + v : kind == 1 ? std::max(acc, v) : std::min(acc, v); };
          const double start = kind == 0 ? 0.0 : kind == 1 ? -INFINITY : INFINITY;
          std::vector<float> y(static_cast<std::size_t>(rows) + 1, -7.0f);
          table->reduce_inner[kind][0](rows, n, x.data(), y.data());
          CHECK(y.back() == -7.0f);
          y.pop_back();
          std::vector<double> expected(static_cast<std::size_t>(rows), start);
          for (int r = 0; r < rows; ++r)
            for (std::int64_t i = 0; i < n; ++i) expected[static_cast<std::size_t>(r)] = fold(expected[static_cast<std::size_t>(r)], x[static_cast<std::size_t>(r * n + i)]);
          check_values(y, expected, 1e-5 * (1 + static_cast<double>(n)) / 64);
          // columns: the same data seen as n columns of `rows` values, y holding the running value
          std::vector<float> columns(static_cast<std::size_t>(n) + 1, static_cast<float>(start));
          columns.back() = -7.0f;
          table->reduce_outer[kind][0](rows, n, n, x.data(), columns.data());
          CHECK(columns.back() == -7.0f);
          columns.pop_back();
          std::vector<double> expected_columns(static_cast<std::size_t>(n), start);
          for (int r = 0; r < rows; ++r)
            for (std::int64_t i = 0; i < n; ++i)
              expected_columns[static_cast<std::size_t>(i)] = fold(expected_columns[static_cast<std::size_t>(i)], x[static_cast<std::size_t>(r * n + i)]);
          check_values(columns, expected_columns, 1e-6);
        }
      }
    }
  }
}

TEST_CASE("max and min propagate NaN through the SIMD and scalar paths") {
  std::vector<double> v(37, 1.0);
  v[20] = NAN;
  Tensor x = from_vector(v, {37});
  CHECK(std::isnan(max(x).item()));
  CHECK(std::isnan(min(x).item()));
  CHECK(std::isnan(max(transpose(reshape(x.to(float32), {1, 37}), 0, 1), {0}).item()));
}

TEST_CASE("ops on odd sizes and non-contiguous inputs agree with the float64 path") {
  for (auto n : sizes) {
    INFO("n " << n);
    Generator gen(static_cast<std::uint64_t>(n) + 5);
    Tensor x = uniform({3, n}, -2.0, 2.0, float64, &gen);
    Tensor xf = x.to(float32);
    // a transposed (non-contiguous) float32 view, its contiguous copy, and the float64 original
    Tensor t = transpose(xf, 0, 1);
    check_values(tanh(t).contiguous().to_vector<float>(), tanh(transpose(x, 0, 1)).contiguous().to_vector<double>(), 2e-6);
    check_values(sigmoid(xf * 2.0f + 1.0f).to_vector<float>(), sigmoid(x * 2.0 + 1.0).to_vector<double>(), 2e-6);
    check_values(sum(t, {0}).to_vector<float>(), sum(x, {1}).to_vector<double>(), 1e-5 * (1 + n));
    check_values(sum(xf, {0}).to_vector<float>(), sum(x, {0}).to_vector<double>(), 1e-5);
    // row and column broadcasts take the vector-scalar SIMD paths
    Tensor column = narrow(xf, 1, 0, std::min<std::int64_t>(n, 1));
    if (n > 0) check_values((xf - column).to_vector<float>(), (x - narrow(x, 1, 0, 1)).to_vector<double>(), 2e-6);
  }
}

TEST_CASE("results are bitwise identical with 1, 2 and 8 threads") {
  Generator gen(17);
  Tensor big = normal({1 << 22}, 0.0, 1.0, float32, &gen);  // 4M floats: several reduction blocks
  Tensor rows = normal({4096, 1000}, 0.0, 1.0, float32, &gen);
  Tensor w1 = normal({784, 128}, 0.0, 0.05, float32, &gen), w2 = normal({128, 10}, 0.0, 0.1, float32, &gen);
  Tensor input = normal({64, 784}, 0.0, 1.0, float32, &gen);
  Tensor labels = randint(0, 10, {64}, &gen);
  w1.requires_grad_();
  w2.requires_grad_();

  auto run = [&] {
    std::vector<std::vector<float>> out;
    out.push_back(sum(big).to_vector<float>());
    out.push_back(sum(rows, {1}).to_vector<float>());
    out.push_back(sum(rows, {0}).to_vector<float>());
    out.push_back(max(rows, {1}).to_vector<float>());
    out.push_back(softmax(rows, 1).to_vector<float>());
    out.push_back(exp(big).to_vector<float>());
    out.push_back(matmul(rows, transpose(narrow(rows, 0, 0, 300), 0, 1)).to_vector<float>());
    // one training step of a small MLP written from core ops
    w1.zero_grad();
    w2.zero_grad();
    Tensor logits = matmul(relu(matmul(input, w1)), w2);
    Tensor loss = -mean(gather(log_softmax(logits, 1), 1, unsqueeze(labels, 1)));
    loss.backward();
    out.push_back(loss.detach().reshape({1}).to_vector<float>());
    out.push_back(w1.grad().to_vector<float>());
    out.push_back(w2.grad().to_vector<float>());
    return out;
  };
  set_num_threads(1);
  auto one = run();
  set_num_threads(2);
  auto two = run();
  set_num_threads(8);
  auto eight = run();
  set_num_threads(2);
  REQUIRE(one.size() == two.size());
  for (std::size_t i = 0; i < one.size(); ++i) {
    INFO("result " << i);
    CHECK(std::memcmp(one[i].data(), two[i].data(), one[i].size() * sizeof(float)) == 0);
    CHECK(std::memcmp(one[i].data(), eight[i].data(), one[i].size() * sizeof(float)) == 0);
  }
}

TEST_CASE("SIMD fused softmax and log_softmax rows match a float64 reference, also at +-1000 and -inf") {
  for (const auto* table : k::supported_tables()) {
    INFO("isa " << std::string(table->isa));
    for (auto n : sizes) {
      if (n == 0) continue;
      for (bool log : {false, true}) {
        INFO("n " << n << ", log " << log);
        auto x64 = values(2 * n, -30.0, 30.0, 21);
        x64[0] = 1000.0;                             // a huge logit in row 0
        x64[static_cast<std::size_t>(n)] = -INFINITY;  // a -inf logit in row 1
        std::vector<double> y(x64.size());
        table->softmax_rows[1](2, n, x64.data(), y.data(), log);
        for (int r = 0; r < 2; ++r) {
          double m = -INFINITY, total = 0;
          for (std::int64_t i = 0; i < n; ++i) m = std::max(m, x64[static_cast<std::size_t>(r * n + i)]);
          if (!std::isfinite(m)) m = 0;
          for (std::int64_t i = 0; i < n; ++i) total += std::exp(x64[static_cast<std::size_t>(r * n + i)] - m);
          for (std::int64_t i = 0; i < n; ++i) {
            const double xi = x64[static_cast<std::size_t>(r * n + i)];
            const double expected = log ? xi - m - std::log(total) : std::exp(xi - m) / total;
            const double got = y[static_cast<std::size_t>(r * n + i)];
            if (std::isnan(expected)) CHECK(std::isnan(got));  // a row of only -inf, as in torch
            else if (std::isinf(expected)) CHECK(got == expected);
            else CHECK(std::abs(got - expected) <= 1e-12 * (1 + std::abs(expected)));
          }
        }
        auto xf = cast<float>(x64);
        std::vector<float> yf(xf.size() + 1, -7.0f);
        table->softmax_rows[0](2, n, xf.data(), yf.data(), log);
        CHECK(yf.back() == -7.0f);
      }
    }
  }
}
