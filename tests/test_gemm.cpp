// GEMM against a plain float64 triple loop: odd sizes, all transposes, padded strides, alpha/beta,
// beta == 0 over NaN, every instruction set; and bitwise determinism across thread counts.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/gemm.hpp"
#include "kernels/gemm_kernels.hpp"
#include "kernels/isa.hpp"
#include "kernels/simd_table.hpp"
#include "tapegrad/threads.hpp"

namespace {

using tapegrad::kernels::Isa;
using tapegrad::kernels::Trans;

using tapegrad::kernels::supported_isas;  // every instruction set this CPU has

template <class T>
std::vector<T> random_values(std::size_t size, std::uint32_t seed) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<T> values(size);
  for (auto& value : values) value = static_cast<T>(uniform(engine));
  return values;
}

// One GEMM problem with its operands stored as gemm expects them (padded row strides).
template <class T>
struct Problem {
  Trans ta = Trans::no, tb = Trans::no;
  std::int64_t m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;
  T alpha = 1, beta = 0;
  std::vector<T> a, b, c;

  Problem(Trans ta_, Trans tb_, std::int64_t m_, std::int64_t n_, std::int64_t k_, T alpha_, T beta_,
          std::int64_t pad, std::uint32_t seed)
      : ta(ta_), tb(tb_), m(m_), n(n_), k(k_), alpha(alpha_), beta(beta_) {
    const std::int64_t a_rows = ta == Trans::no ? m : k, a_cols = ta == Trans::no ? k : m;
    const std::int64_t b_rows = tb == Trans::no ? k : n, b_cols = tb == Trans::no ? n : k;
    lda = a_cols + pad;
    ldb = b_cols + pad;
    ldc = n + pad;
    a = random_values<T>(static_cast<std::size_t>(a_rows * lda), seed);
    b = random_values<T>(static_cast<std::size_t>(b_rows * ldb), seed + 1);
    c = random_values<T>(static_cast<std::size_t>(m * ldc), seed + 2);
    if (beta == T(0)) std::fill(c.begin(), c.end(), std::numeric_limits<T>::quiet_NaN());
  }

  double op_a(std::int64_t i, std::int64_t p) const {
    return ta == Trans::no ? a[i * lda + p] : a[p * lda + i];
  }
  double op_b(std::int64_t p, std::int64_t j) const {
    return tb == Trans::no ? b[p * ldb + j] : b[j * ldb + p];
  }

  std::vector<T> run(Isa isa) const {
    std::vector<T> result = c;
    tapegrad::kernels::gemm(isa, ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, result.data(),
                            ldc);
    return result;
  }
};

// Checks every element against float64 within 2 (k + 2) eps (|alpha| sum_p |a_ip b_pj| + |beta c_ij|),
// and that the padding between rows of C was left alone. Returns the number of bad elements.
template <class T>
int count_mismatches(const Problem<T>& problem, const std::vector<T>& result) {
  const std::int64_t m = problem.m, n = problem.n, k = problem.k;
  // op(A) by rows and op(B) by columns, in float64, so the reference loop reads both in order.
  std::vector<double> a_rows(static_cast<std::size_t>(m * k)), b_columns(static_cast<std::size_t>(n * k));
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t p = 0; p < k; ++p) a_rows[i * k + p] = problem.op_a(i, p);
  }
  for (std::int64_t j = 0; j < n; ++j) {
    for (std::int64_t p = 0; p < k; ++p) b_columns[j * k + p] = problem.op_b(p, j);
  }
  const double eps = std::numeric_limits<T>::epsilon();
  int bad = 0;
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < problem.ldc; ++j) {
      const T got = result[i * problem.ldc + j];
      const T before = problem.c[i * problem.ldc + j];
      if (j >= n) {  // padding: untouched (NaN stays NaN)
        if (std::memcmp(&got, &before, sizeof(T)) != 0) ++bad;
        continue;
      }
      double sum = 0, magnitude = 0;
      for (std::int64_t p = 0; p < k; ++p) {
        const double product = a_rows[i * k + p] * b_columns[j * k + p];
        sum += product;
        magnitude += std::abs(product);
      }
      double expected = problem.alpha * sum;
      magnitude = std::abs(double(problem.alpha)) * magnitude;
      if (problem.beta != T(0)) {
        expected += double(problem.beta) * before;
        magnitude += std::abs(double(problem.beta) * before);
      }
      const double tolerance = 2 * (k + 2) * eps * magnitude + std::numeric_limits<T>::min();
      if (!(std::abs(got - expected) <= tolerance)) ++bad;
    }
  }
  return bad;
}

std::string describe(Isa isa, Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k,
                     double alpha, double beta) {
  return std::string(tapegrad::kernels::isa_name(isa)) + " " + (ta == Trans::yes ? "T" : "N") +
         (tb == Trans::yes ? "T" : "N") + " m=" + std::to_string(m) + " n=" + std::to_string(n) +
         " k=" + std::to_string(k) + " alpha=" + std::to_string(alpha) + " beta=" + std::to_string(beta);
}

constexpr Trans transposes[] = {Trans::no, Trans::yes};
struct Scalars {
  double alpha, beta;
};
// beta == 0 runs over a NaN-filled C; beta == 1 accumulates; the rest are general.
constexpr Scalars scalar_cases[] = {{1.0, 0.0}, {1.0, 1.0}, {-0.5, 2.0}, {2.0, 0.0}, {0.75, -1.0}};

template <class T>
void check_odd_sizes() {
  const std::int64_t sizes[] = {0, 1, 7, 8, 9, 17, 64, 65, 127, 300};
  int case_number = 0;
  for (Isa isa : supported_isas()) {
    for (Trans ta : transposes) {
      for (Trans tb : transposes) {
        for (std::int64_t m : sizes) {
          for (std::int64_t n : sizes) {
            for (std::int64_t k : sizes) {
              if (m * n * k > 300 * 65 * 65) continue;  // larger ones: check_large_sizes
              const Scalars s = scalar_cases[case_number % std::size(scalar_cases)];
              const std::int64_t pad = case_number % 3 == 0 ? 0 : case_number % 3 + 2;
              ++case_number;
              const Problem<T> problem(ta, tb, m, n, k, T(s.alpha), T(s.beta), pad, case_number);
              INFO(describe(isa, ta, tb, m, n, k, s.alpha, s.beta));
              CHECK(count_mismatches(problem, problem.run(isa)) == 0);
            }
          }
        }
      }
    }
  }
}

template <class T>
void check_large_sizes() {
  struct Size {
    std::int64_t m, n, k;
  };
  // 2000 x 40 x 600 packs k in several rounds (Note [Pack first, then multiply] in gemm.cpp).
  const Size sizes[] = {{257, 513, 129}, {300, 300, 300}, {130, 4100, 70},
                        {2, 3, 1100},    {1000, 33, 17},  {2000, 40, 600}};
  int case_number = 0;
  for (Isa isa : supported_isas()) {
    for (Trans ta : transposes) {
      for (Trans tb : transposes) {
        for (const Size& size : sizes) {
          const Scalars s = scalar_cases[case_number % std::size(scalar_cases)];
          ++case_number;
          const Problem<T> problem(ta, tb, size.m, size.n, size.k, T(s.alpha), T(s.beta), 5, case_number);
          INFO(describe(isa, ta, tb, size.m, size.n, size.k, s.alpha, s.beta));
          CHECK(count_mismatches(problem, problem.run(isa)) == 0);
        }
      }
    }
  }
}

// Same inputs on 1, 2 and 8 threads: bitwise the same C (Note [Deterministic chunking]).
template <class T>
void check_deterministic() {
  struct Size {
    std::int64_t m, n, k;
  };
  const Size sizes[] = {{64, 784, 256}, {301, 517, 300}, {2000, 70, 300}, {5, 9000, 40}};
  for (Isa isa : supported_isas()) {
    for (Trans ta : transposes) {
      for (Trans tb : transposes) {
        for (const Size& size : sizes) {
          const Problem<T> problem(ta, tb, size.m, size.n, size.k, T(0.5), T(1.5), 3, 7);
          INFO(describe(isa, ta, tb, size.m, size.n, size.k, 0.5, 1.5));
          tapegrad::set_num_threads(1);
          const std::vector<T> one = problem.run(isa);
          tapegrad::set_num_threads(2);
          const std::vector<T> two = problem.run(isa);
          tapegrad::set_num_threads(8);
          const std::vector<T> eight = problem.run(isa);
          CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(T)) == 0);
          CHECK(std::memcmp(one.data(), eight.data(), one.size() * sizeof(T)) == 0);
        }
      }
    }
  }
  tapegrad::set_num_threads(2);
}

}  // namespace

TEST_CASE("gemm: float odd sizes, transposes, strides and alpha/beta match float64") {
  check_odd_sizes<float>();
}
TEST_CASE("gemm: double odd sizes, transposes, strides and alpha/beta match float64") {
  check_odd_sizes<double>();
}
TEST_CASE("gemm: float large sizes match float64") { check_large_sizes<float>(); }
TEST_CASE("gemm: double large sizes match float64") { check_large_sizes<double>(); }
TEST_CASE("gemm: float result does not depend on the thread count") { check_deterministic<float>(); }
TEST_CASE("gemm: double result does not depend on the thread count") { check_deterministic<double>(); }

TEST_CASE("gemm: the public entry point uses the active instruction set") {
  using tapegrad::kernels::active_isa;
  using tapegrad::kernels::best_isa;
  const char* forced = std::getenv("TAPEGRAD_ISA");
  const bool baseline =
      forced != nullptr && (std::string(forced) == "sse2" || std::string(forced) == "generic");
  CHECK(active_isa() == (baseline ? Isa::sse2 : best_isa()));

  const Problem<float> problem(Trans::no, Trans::yes, 33, 45, 67, 1.0f, 0.0f, 1, 3);
  std::vector<float> result = problem.c;
  tapegrad::kernels::gemm(problem.ta, problem.tb, problem.m, problem.n, problem.k, problem.alpha,
                          problem.a.data(), problem.lda, problem.b.data(), problem.ldb, problem.beta,
                          result.data(), problem.ldc);
  const std::vector<float> expected = problem.run(active_isa());
  CHECK(std::memcmp(result.data(), expected.data(), result.size() * sizeof(float)) == 0);
}

TEST_CASE("gemm: very tall and very wide products are computed in slices") {
  // kc = 334 for k = 1000, so more than 12,000 rows or columns take more than one slice.
  for (Isa isa : supported_isas()) {
    const Problem<float> tall(Trans::no, Trans::no, 13000, 3, 1000, 1.0f, 0.5f, 1, 11);
    INFO(describe(isa, tall.ta, tall.tb, tall.m, tall.n, tall.k, 1.0, 0.5));
    CHECK(count_mismatches(tall, tall.run(isa)) == 0);
    const Problem<float> wide(Trans::yes, Trans::yes, 2, 13000, 1000, 1.0f, 0.0f, 0, 12);
    INFO(describe(isa, wide.ta, wide.tb, wide.m, wide.n, wide.k, 1.0, 0.0));
    CHECK(count_mismatches(wide, wide.run(isa)) == 0);
  }
}

TEST_CASE("gemm: alpha == 0 or k == 0 scales C by beta without reading A or B") {
  for (Isa isa : supported_isas()) {
    std::vector<float> c = {1, 2, 3, 4, 5, 6};
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const std::vector<float> a(6, nan), b(6, nan);
    tapegrad::kernels::gemm(isa, Trans::no, Trans::no, 2, 3, 2, 0.0f, a.data(), 2, b.data(), 3, 2.0f,
                            c.data(), 3);
    CHECK(c == std::vector<float>{2, 4, 6, 8, 10, 12});
    tapegrad::kernels::gemm(isa, Trans::no, Trans::no, 2, 3, 0, 1.0f, a.data(), 2, b.data(), 3, 0.5f,
                            c.data(), 3);
    CHECK(c == std::vector<float>{1, 2, 3, 4, 5, 6});
    std::fill(c.begin(), c.end(), nan);
    tapegrad::kernels::gemm(isa, Trans::no, Trans::no, 2, 3, 0, 1.0f, a.data(), 2, b.data(), 3, 0.0f,
                            c.data(), 3);
    CHECK(c == std::vector<float>(6, 0.0f));
  }
}
