// Float32 reductions on long axes in every position and layout against float64 references computed
// here from the same float32 values (Note [Accurate sums] in src/kernels/reduce.cpp), and the same
// results at 1, 2 and 8 threads (Note [Deterministic reductions]).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "helpers.hpp"
#include "kernels/isa.hpp"
#include "kernels/simd_table.hpp"

using namespace tapegrad;
namespace k = tapegrad::kernels;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif
#else
constexpr bool sanitized = false;
#endif

// 2^25 values (128 MB of float32); 2^23 under ASan, still far past where a float32 running sum of
// values in [0, 1) goes wrong (its ulp passes the values' size near 2^24, and its error is ~1e-4 of
// the total well before).
constexpr std::int64_t long_size = sanitized ? std::int64_t{1} << 23 : std::int64_t{1} << 25;

// The float32 data every case views, and the same values as double.
struct Data {
  Tensor x;
  std::vector<double> values;
};

const Data& data() {
  static const Data d = [] {
    Generator gen(2024);
    Data out;
    out.x = uniform({long_size}, 0.0, 1.0, float32, &gen);
    const float* p = out.x.data<float>();
    out.values.assign(p, p + long_size);
    return out;
  }();
  return d;
}

// An [outer, length, inner] reading of the data, reduced over `length`: the axis in the middle.
struct Case {
  std::int64_t outer, length, inner;
};

// The float64 reference: out[o * inner + j] = fold over i of values[(o * length + i) * inner + j].
template <class Fold>
std::vector<double> reference(const Case& c, Fold fold) {
  const std::vector<double>& v = data().values;
  std::vector<double> out(static_cast<std::size_t>(c.outer * c.inner));
  std::vector<double> column(static_cast<std::size_t>(c.length));
  for (std::int64_t o = 0; o < c.outer; ++o)
    for (std::int64_t j = 0; j < c.inner; ++j) {
      for (std::int64_t i = 0; i < c.length; ++i)
        column[static_cast<std::size_t>(i)] = v[static_cast<std::size_t>((o * c.length + i) * c.inner + j)];
      out[static_cast<std::size_t>(o * c.inner + j)] = fold(column);
    }
  return out;
}

double exact_sum(const std::vector<double>& column) {
  double total = 0.0;  // float32 values: a float64 running sum of up to 2^25 of them is exact to ~1e-9
  for (double v : column) total += v;
  return total;
}

// The layouts one case is read in, each with the axis to reduce and how to map the result back to
// [outer, inner] order: contiguous, and the three axes permuted so that the reduced one sits first,
// in the middle or last, in strided views.
struct Layout {
  const char* name;
  Axes order;  // permute(x, order); {} for the contiguous view
};
const Layout layouts[] = {
    {"contiguous", {}},
    {"permuted, reduced axis first", {1, 0, 2}},
    {"permuted, reduced axis last", {0, 2, 1}},
    {"permuted, reduced axis middle", {2, 1, 0}},
};

// Reduces the case in the layout with op(x, axis) and returns the result in [outer, inner] order.
template <class Op>
std::vector<double> run(const Case& c, const Layout& layout, Op op) {
  Tensor x = narrow(data().x, 0, 0, c.outer * c.length * c.inner).reshape({c.outer, c.length, c.inner});
  auto position = [&](std::int64_t original) {
    return std::find(layout.order.begin(), layout.order.end(), original) - layout.order.begin();
  };
  std::int64_t axis = 1;
  if (!layout.order.empty()) {
    x = permute(x, layout.order);
    axis = position(1);
  }
  Tensor y = op(x, axis);  // keepdim: the kept axes in the order of the layout
  // put the kept axes back in (outer, inner) order
  const bool swapped = !layout.order.empty() && position(2) < position(0);
  Tensor kept = y.reshape(
      {y.numel() / std::max<std::int64_t>(1, swapped ? c.outer : c.inner), swapped ? c.outer : c.inner});
  if (swapped) kept = transpose(kept, 0, 1);
  return kept.to(float64).contiguous().to_vector<double>();
}

void check_relative(const std::vector<double>& actual, const std::vector<double>& expected,
                    double tolerance) {
  REQUIRE(actual.size() == expected.size());
  double worst = 0.0;
  for (std::size_t i = 0; i < actual.size(); ++i)
    worst = std::max(worst, std::abs(actual[i] - expected[i]) / std::abs(expected[i]));
  CHECK(worst <= tolerance);
}

const std::vector<Case> cases() {
  const std::int64_t n = long_size;
  return {{1, n, 1}, {1, n / 2, 2}, {2, n / 8, 4}, {3, n / 64, 21}, {2, n / 4096, 2048}};
}

}  // namespace

TEST_CASE("float32 sum and mean on long axes in every position and layout are accurate to 1e-6") {
  for (const Case& c : cases()) {
    const std::vector<double> sums = reference(c, exact_sum);
    std::vector<double> means = sums;
    for (double& m : means) m /= static_cast<double>(c.length);
    for (const Layout& layout : layouts) {
      if (c.outer == 1 && c.inner == 1 && !layout.order.empty()) continue;  // only size-1 axes move
      INFO("[" << c.outer << ", " << c.length << ", " << c.inner << "] reduced over " << c.length << ", "
               << layout.name);
      check_relative(run(c, layout, [](const Tensor& x, std::int64_t a) { return sum(x, {a}, true); }), sums,
                     1e-6);
      if (c.inner == 4 || c.inner == 21)
        check_relative(run(c, layout, [](const Tensor& x, std::int64_t a) { return mean(x, {a}, true); }),
                       means, 1e-6);
    }
  }
}

TEST_CASE("float32 logsumexp on long axes in every position is accurate to 1e-6") {
  // a quarter of the length: still ~1e-4 wrong with float32 running sums, and 3 temporaries smaller
  for (const Case& c : {Case{1, long_size / 4, 1}, Case{1, long_size / 8, 2}, Case{2, long_size / 32, 4}}) {
    const std::vector<double> expected = reference(c, [](const std::vector<double>& column) {
      const double m = *std::max_element(column.begin(), column.end());
      double total = 0.0;
      for (double v : column) total += std::exp(v - m);
      return m + std::log(total);
    });
    for (const Layout& layout : {layouts[0], layouts[3]}) {
      INFO("[" << c.outer << ", " << c.length << ", " << c.inner << "], " << layout.name);
      check_relative(run(c, layout, [](const Tensor& x, std::int64_t a) { return logsumexp(x, {a}, true); }),
                     expected, 1e-6);
    }
  }
}

TEST_CASE("float32 var of N(1e4, 1) data is ~1 along every axis") {
  // 1e5 rows: a float32 running sum of the values (~1e9) is off by ~1e-4 relative, so the mean is off
  // by ~1 and the variance by ~1 too; two passes around an accurate mean keep it to float rounding.
  Generator gen(7);
  const std::int64_t rows = sanitized ? 30000 : 100000;
  Tensor x = normal({rows, 3}, 1e4, 1.0, float32, &gen);
  const std::vector<float> v = x.to_vector<float>();
  std::vector<double> expected(3);
  for (std::int64_t j = 0; j < 3; ++j) {
    double total = 0.0, squares = 0.0;
    for (std::int64_t r = 0; r < rows; ++r) total += v[static_cast<std::size_t>(r * 3 + j)];
    const double m = total / static_cast<double>(rows);
    for (std::int64_t r = 0; r < rows; ++r)
      squares += std::pow(v[static_cast<std::size_t>(r * 3 + j)] - m, 2);
    expected[static_cast<std::size_t>(j)] = squares / static_cast<double>(rows - 1);
  }
  Tensor t = transpose(x, 0, 1);
  Tensor middle = x.reshape({1, rows, 3});
  check_relative(var(x, {0}).to(float64).to_vector<double>(), expected, 1e-5);               // outer
  check_relative(var(t, {1}).to(float64).to_vector<double>(), expected, 1e-5);               // inner, strided
  check_relative(var(t.contiguous(), {1}).to(float64).to_vector<double>(), expected, 1e-5);  // inner
  check_relative(var(middle, {1}).to(float64).to_vector<double>(), expected, 1e-5);          // middle
  check_relative(var(permute(middle, {1, 0, 2}), {0}).to(float64).to_vector<double>(), expected, 1e-5);
}

TEST_CASE("a float32 sum of ones past 2^24 is exact on every path, and so is a broadcast bias gradient") {
  // A float32 running sum stops at 2^24: 2^24 + 1 rounds back down.
  const std::int64_t rows = (std::int64_t{1} << 24) + 8;
  const double expected = static_cast<double>(rows);
  Tensor x = ones({rows, 2});
  auto exact = [&](const Tensor& y) {
    for (double v : y.to(float64).to_vector<double>()) CHECK(v == expected);
  };
  exact(sum(x, {0}));                   // outer axis, contiguous
  exact(sum(transpose(x, 0, 1), {1}));  // inner axis, strided
  if (!sanitized) exact(mean(x, {0}) * expected);  // the same column path as sum, and 128 MB more
  exact(sum(expand(ones({1, 2}), {rows, 2}), {0}));  // stride 0
  // b of shape [2] added to x of shape [rows, 2]: b.grad sums the upstream gradient over the rows
  Tensor b = zeros({2});
  b.requires_grad_();
  Tensor y = x + b;
  y.backward(ones_like(y));  // a contiguous gy: the SIMD column path
  exact(b.grad());
  if (sanitized) return;  // the next one takes the stride-0 path above again, through 3 more temporaries
  Tensor b2 = zeros({2});
  b2.requires_grad_();
  sum(x + b2).backward();  // gy broadcast from the scalar: a stride-0 view
  exact(b2.grad());
}

TEST_CASE("a float32 sum of a constant along the innermost axis is accurate to 1e-6") {
  // Random data hides a float32 accumulator's rounding (it averages out); a constant makes it add up:
  // four float32 batches over blocks of 32768 values were ~1e-5 off.
  for (double value : {0.1, 1.0 / 3.0, 0.7}) {
    INFO("value " << value);
    const double term = static_cast<double>(static_cast<float>(value));
    const Tensor x = full({4, long_size / 4}, value);
    check_relative({sum(x).to(float64).item<double>()}, {term * static_cast<double>(long_size)}, 1e-6);
    check_relative(sum(x, {1}).to(float64).to_vector<double>(),
                   std::vector<double>(4, term * static_cast<double>(long_size / 4)), 1e-6);
  }
}

TEST_CASE("outer-axis sums and their statistics are bitwise identical with 1, 2 and 8 threads") {
  Generator gen(31);
  const std::vector<Tensor> inputs = {
      normal({1 << 18, 4}, 0.0, 1.0, float32, &gen), normal({2048, 1000}, 0.0, 1.0, float32, &gen),
      normal({3, 50000, 7}, 0.0, 1.0, float32, &gen), normal({70000, 3}, 1.0, 1.0, float64, &gen)};
  auto run_all = [&] {
    std::vector<std::vector<double>> out;
    for (const Tensor& x : inputs) {
      for (const Tensor& y : {sum(x, {0}), sum(x, {x.dim() - 2}), mean(x, {0}), var(x, {0}),
                              logsumexp(x, {0}), sum(transpose(x, 0, x.dim() - 1), {x.dim() - 1})})
        out.push_back(y.to(float64).to_vector<double>());
    }
    return out;
  };
  const int before = get_num_threads();
  set_num_threads(1);
  const auto one = run_all();
  set_num_threads(2);
  const auto two = run_all();
  set_num_threads(8);
  const auto eight = run_all();
  set_num_threads(before);
  REQUIRE(one.size() == two.size());
  for (std::size_t i = 0; i < one.size(); ++i) {
    INFO("result " << i);
    CHECK(std::memcmp(one[i].data(), two[i].data(), one[i].size() * sizeof(double)) == 0);
    CHECK(std::memcmp(one[i].data(), eight[i].data(), one[i].size() * sizeof(double)) == 0);
  }
}

TEST_CASE("the SIMD float32 row-sum kernel matches a float64 sum to 1e-6, any length") {
  for (const auto* table : k::supported_tables()) {
    for (std::int64_t n : {0, 1, 7, 33, 1023, 1025, 70001}) {
      INFO("isa " << table->isa << ", n " << n);
      for (float value : {0.1f, 0.7f}) {  // a constant: float32 rounding adds up instead of averaging out
        const std::vector<float> x(static_cast<std::size_t>(2 * n), value);
        float y[3] = {-1.0f, -1.0f, -7.0f};
        table->sum_rows_float32(2, n, x.data(), y);
        const double expected = static_cast<double>(value) * static_cast<double>(n);
        CHECK(std::abs(y[0] - expected) <= 1e-6 * expected);
        CHECK(y[1] == y[0]);
        CHECK(y[2] == -7.0f);
      }
    }
  }
}

TEST_CASE("the SIMD column-sum kernel adds float32 and float64 columns in float64, any width and stride") {
  Generator gen(5);
  for (const auto* table : k::supported_tables()) {
    for (std::int64_t rows : {0, 1, 3, 65, 1000}) {
      for (std::int64_t n : {1, 2, 3, 7, 8, 9, 31, 32, 33, 100}) {
        for (std::int64_t ld : {n, n + 3}) {
          INFO("isa " << table->isa << ", rows " << rows << ", n " << n << ", ld " << ld);
          const std::vector<double> x64 = uniform({rows * ld}, -3.0, 3.0, float64, &gen).to_vector<double>();
          std::vector<float> x32(x64.begin(), x64.end());
          std::vector<double> expected32(static_cast<std::size_t>(n) + 1, 0.5), expected64 = expected32;
          for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t j = 0; j < n; ++j) {
              expected32[static_cast<std::size_t>(j)] += x32[static_cast<std::size_t>(r * ld + j)];
              expected64[static_cast<std::size_t>(j)] += x64[static_cast<std::size_t>(r * ld + j)];
            }
          // sums start at 0.5 (the kernel adds into them) and the last one is past the end
          std::vector<double> sums32(static_cast<std::size_t>(n) + 1, 0.5), sums64 = sums32;
          table->sum_columns[0](rows, n, ld, x32.data(), sums32.data());
          table->sum_columns[1](rows, n, ld, x64.data(), sums64.data());
          for (std::size_t j = 0; j <= static_cast<std::size_t>(n); ++j) {
            CHECK(std::abs(sums32[j] - expected32[j]) <= 1e-12 * (1.0 + std::abs(expected32[j])));
            CHECK(std::abs(sums64[j] - expected64[j]) <= 1e-12 * (1.0 + std::abs(expected64[j])));
          }
        }
      }
    }
  }
}
