// Sizes at the edges (Note [Checked sizes] in src/shape_check.cpp): negative and overflowing sizes,
// requests too large to allocate, exact random integers, and errors that name the op the user called
// and the user's line.
#include <cstdint>
#include <functional>
#include <limits>
#include <string>

#include "helpers.hpp"
#include "kernels/isa.hpp"
#include "parallel.hpp"

using namespace tapegrad;
using test::message_of;

// Under AddressSanitizer a request beyond its allocator's limit aborts the process unless it may
// return null; tapegrad allocates with nothrow new, so a null becomes OutOfMemoryError as it does
// without the sanitizer.
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }

namespace {
std::string here(int line) { return "(at test_sizes.cpp:" + std::to_string(line) + ")"; }

constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t int64_min = std::numeric_limits<std::int64_t>::min();

// One row: the op the user called, the line of the call, the call.
struct Row {
  std::string op;
  int line;
  std::function<void()> call;
};
}  // namespace

TEST_CASE("creation and draws with a negative size name the op and the caller's line") {
  Generator gen(1);
  // One row per line, so __LINE__ is the line of the call.
  // clang-format off
  const Row rows[] = {
      {"zeros", __LINE__, [] { zeros({2, -3}); }},
      {"ones", __LINE__, [] { ones({2, -3}); }},
      {"empty", __LINE__, [] { empty({2, -3}); }},
      {"full", __LINE__, [] { full({2, -3}, 1.0); }},
      {"rand", __LINE__, [&] { rand({2, -3}, float32, &gen); }},
      {"randn", __LINE__, [&] { randn({2, -3}, float32, &gen); }},
      {"uniform", __LINE__, [&] { uniform({2, -3}, 0.0, 1.0, float32, &gen); }},
      {"normal", __LINE__, [&] { normal({2, -3}, 0.0, 1.0, float32, &gen); }},
      {"bernoulli", __LINE__, [&] { bernoulli({2, -3}, 0.5, float32, &gen); }},
      {"randint", __LINE__, [&] { randint(0, 3, {2, -3}, &gen); }},
      {"from_vector", __LINE__, [] { from_vector(std::vector<double>{}, {2, -3}); }},
      {"broadcast_to", __LINE__, [] { broadcast_to(ones({1}), {2, -3}); }},
      {"expand", __LINE__, [] { expand(ones({1}), {2, -3}); }},
  };
  // clang-format on
  for (const auto& row : rows) {
    CAPTURE(row.op);
    CHECK(message_of<ValueError>(row.call) ==
          row.op + ": sizes must be non-negative, got shape [2, -3] " + here(row.line));
  }
}

TEST_CASE("sizes whose product overflows int64 are refused before any allocation") {
  int line = __LINE__ + 1;
  CHECK(message_of<ValueError>([] { zeros({1LL << 62}); }) ==
        "zeros: the size in bytes must fit in int64, got shape [4611686018427387904] of float32 " +
            here(line));
  line = __LINE__ + 1;
  CHECK(message_of<ValueError>([] {
          ones({1LL << 32, 1LL << 32}, int64);
        }) ==
        "ones: the number of elements must fit in int64, got shape [4294967296, 4294967296] " + here(line));
  // The product of the non-zero sizes must fit even when a 0 makes the tensor empty.
  CHECK_THROWS_AS(empty({1LL << 32, 1LL << 32, 0}), ValueError);
  CHECK(empty({1LL << 20, 0}).numel() == 0);
  // Views: a stride-0 view may not claim more elements than int64 can count either.
  CHECK(message_of<ValueError>([] { expand(ones({1}), {1LL << 62}); }).find("expand: the size in bytes") ==
        0);
  CHECK_THROWS_AS(reshape(zeros({0}), {1LL << 40, 1LL << 40, 0}), ValueError);
  Tensor col = expand(ones({1, 1}), {1LL << 40, 1}), row = expand(ones({1, 1}), {1, 1LL << 40});
  line = __LINE__ + 1;
  CHECK(message_of<ValueError>([&] { return col + row; }) ==
        "add: the number of elements must fit in int64, got shape [1099511627776, 1099511627776] " +
            here(line));
}

TEST_CASE("broadcast_to a negative size is refused (its copy used to corrupt the heap)") {
  Tensor x = ones({1});
  CHECK_THROWS_AS(broadcast_to(x, {2, -4}), ValueError);
  CHECK_THROWS_AS(expand(x, {-4}), ValueError);
  CHECK(broadcast_to(x, {2, 4}).contiguous().to_vector<float>() == std::vector<float>(8, 1.0f));
}

TEST_CASE("arange range-checks its floating arguments before the cast to int64") {
  int line = __LINE__ + 1;
  CHECK(message_of<ValueError>([] { arange(0.0, 1e30); }) ==
        "arange: the number of elements must fit in int64, got start 0, end 1e+30, step 1 " +
            here(line));
  line = __LINE__ + 1;
  CHECK(message_of<ValueError>([] { arange(1e30); }).find(here(line)) != std::string::npos);
  CHECK_THROWS_AS(arange(-1e308, 1e308, 1.0), ValueError);  // end - start is inf
  CHECK(arange(5.0, 0.0).numel() == 0);
}

TEST_CASE("slice with a step near INT64_MAX, and narrow with a huge length") {
  Tensor x = arange(5.0, float64);
  Tensor y = slice(x, 0, 1, 5, int64_max);
  CHECK(y.shape() == Shape{1});
  CHECK(y.to_vector<double>() == std::vector<double>{1.0});
  CHECK(slice(x, 0, 0, 5, int64_max - 1).to_vector<double>() == std::vector<double>{0.0});
  CHECK(slice(x, 0, 0, 5, 3).to_vector<double>() == std::vector<double>{0.0, 3.0});
  CHECK(slice(x, 0, 3, 2, int64_max).numel() == 0);
  // The gradient goes back through the same huge step.
  Tensor leaf = arange(5.0, float64);
  leaf.requires_grad_();
  slice(leaf, 0, 2, int64_max, int64_max).sum().backward();
  CHECK(leaf.grad().to_vector<double>() == std::vector<double>{0, 0, 1, 0, 0});
  int line = __LINE__ + 1;
  CHECK(
      message_of<ValueError>([&] { narrow(x, 0, 2, int64_max); }) ==
      "narrow: start and length must lie within the axis, got start 2, length 9223372036854775807 on an axis "
      "of 5 " +
          here(line));
}

TEST_CASE("concat, stack, pad and matmul check the sizes they make") {
  Tensor big = expand(ones({1}), {1LL << 60});  // a view: 2^60 elements, no storage behind them
  int line = __LINE__ + 1;
  CHECK(message_of<ValueError>([&] { concat(std::vector<Tensor>(9, big)); }) ==
        "concat: sizes must add up to a value that fits in int64, got 8070450532247928832 + "
        "1152921504606846976 " +
            here(line));
  line = __LINE__ + 1;
  CHECK(message_of<ValueError>([&] { concat(std::vector<Tensor>(4, big)); }) ==
        "concat: the size in bytes must fit in int64, got shape [4611686018427387904] of float32 " +
            here(line));
  line = __LINE__ + 1;
  CHECK(message_of<ValueError>([&] { stack(std::vector<Tensor>(4, big)); }).find("stack: ") == 0);
  line = __LINE__ + 1;
  CHECK(message_of<ValueError>([] {
          pad(ones({2}), {int64_max, 1});
        }) ==
        "pad: sizes must add up to a value that fits in int64, got 2 + 9223372036854775807 " + here(line));
  Tensor col = expand(ones({1, 1}), {1LL << 31, 1}), row = expand(ones({1, 1}), {1, 1LL << 31});
  line = __LINE__ + 1;
  CHECK(message_of<ValueError>([&] { matmul(col, row); }) ==
        "matmul: the size in bytes must fit in int64, got shape [2147483648, 2147483648] of float32 " +
            here(line));
}

TEST_CASE("a request too large to allocate is OutOfMemoryError naming the op, the bytes and the line") {
  // 2^46 float32 elements are 256 TiB: valid sizes, but more than this machine (or its address space) has.
  int line = __LINE__ + 1;
  CHECK(message_of<OutOfMemoryError>([] { zeros({1LL << 46}); }) ==
        "zeros: not enough memory for the tensor, got 281474976710656 bytes for shape [70368744177664] of "
        "float32 " +
            here(line));
  line = __LINE__ + 1;
  CHECK(message_of<OutOfMemoryError>([] { empty({1LL << 40}, float64); }).find("empty: not enough memory") ==
        0);
  Tensor col = expand(ones({1, 1}), {1LL << 23, 1}), row = expand(ones({1, 1}), {1, 1LL << 23});
  // The kernels allocate the output; the error still names the op the user called, and the line.
  line = __LINE__ + 1;
  CHECK(message_of<OutOfMemoryError>([&] { return col + row; }) ==
        "add: not enough memory for the tensor, got 281474976710656 bytes for shape [8388608, 8388608] of "
        "float32 " +
            here(line));
  line = __LINE__ + 1;
  CHECK(message_of<OutOfMemoryError>([&] { matmul(col, row); }).find("matmul: not enough memory") == 0);
  line = __LINE__ + 1;
  auto m = message_of<OutOfMemoryError>([&] { broadcast_to(ones({1}), {1LL << 46}).contiguous(); });
  CHECK(m.find("contiguous: not enough memory") == 0);
  CHECK(m.find(here(line)) != std::string::npos);
  line = __LINE__ + 1;
  m = message_of<OutOfMemoryError>([] { expand(ones({1}), {1LL << 46}).to_vector<float>(); });
  CHECK(m.find("to_vector: not enough memory") == 0);
  CHECK(m.find(here(line)) != std::string::npos);
  Tensor wide = expand(ones({1, 1}), {1, 1LL << 44}), rows = zeros({4}, int64);
  line = __LINE__ + 1;
  m = message_of<OutOfMemoryError>([&] { index_select(wide, 0, rows); });
  CHECK(m.find("index_select: not enough memory") == 0);
  CHECK(m.find(here(line)) != std::string::npos);
  CHECK(zeros({4}).numel() == 4);  // and the library still works
}

TEST_CASE("randint is exact over any int64 range") {
  Generator gen(11);
  const std::int64_t n = 20000;
  // The whole int64 range: high - low overflows int64.
  auto all = randint(int64_min, int64_max, {n}, &gen).to_vector<std::int64_t>();
  std::int64_t positive = 0, odd = 0;
  for (auto v : all) {
    CHECK(v < int64_max);
    positive += v > 0;
    odd += v & 1;
  }
  CHECK(positive == doctest::Approx(n / 2).epsilon(0.05));
  CHECK(odd == doctest::Approx(n / 2).epsilon(0.05));
  // Wider than 2^53: every value in range, low bits random too (a trip through double loses them).
  const std::int64_t low = -(1LL << 62), high = (1LL << 62) + 12345;
  auto wide = randint(low, high, {n}, &gen).to_vector<std::int64_t>();
  odd = 0;
  std::int64_t above = 0;
  for (auto v : wide) {
    CHECK((v >= low && v < high));
    odd += v & 1;
    above += v >= 0;
  }
  CHECK(odd == doctest::Approx(n / 2).epsilon(0.05));
  CHECK(above == doctest::Approx(n / 2).epsilon(0.05));
  // A small range hits each value about equally often, and a range of one gives that value.
  std::int64_t counts[3] = {0, 0, 0};
  for (auto v : randint(-1, 2, {30000}, &gen).to_vector<std::int64_t>()) {
    REQUIRE((v >= -1 && v < 2));
    ++counts[v + 1];
  }
  for (auto c : counts) CHECK(c == doctest::Approx(10000).epsilon(0.05));
  CHECK(randint(int64_max - 1, int64_max, {3}, &gen).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>(3, int64_max - 1));
}

TEST_CASE("random draws with an integer dtype are refused, except randint") {
  Generator gen(2);
  // One row per line, so __LINE__ is the line of the call.
  // clang-format off
  const Row rows[] = {
      {"rand", __LINE__, [&] { rand({3}, int64, &gen); }},
      {"randn", __LINE__, [&] { randn({3}, int64, &gen); }},
      {"uniform", __LINE__, [&] { uniform({3}, 0.0, 1.0, int64, &gen); }},
      {"normal", __LINE__, [&] { normal({3}, 0.0, 1.0, int64, &gen); }},
      {"bernoulli", __LINE__, [&] { bernoulli({3}, 0.5, int64, &gen); }},
  };
  // clang-format on
  for (const auto& row : rows) {
    CAPTURE(row.op);
    CHECK(message_of<DTypeError>(row.call) ==
          row.op +
              ": random draws need a floating dtype (float32 or float64; randint makes int64), got int64 " +
              here(row.line));
  }
  CHECK(randint(0, 3, {3}, &gen).dtype() == int64);
}

TEST_CASE("linspace with one step gives start; eye's sizes") {
  // torch.linspace(2, 5, 1) and numpy.linspace(2, 5, 1) are both [2].
  CHECK(linspace(2.0, 5.0, 1, float64).to_vector<double>() == std::vector<double>{2.0});
  CHECK(linspace(2.0, 5.0, 2, float64).to_vector<double>() == std::vector<double>{2.0, 5.0});
  CHECK(linspace(2.0, 5.0, 0).numel() == 0);
  CHECK(eye(2).shape() == Shape{2, 2});
  CHECK(eye(2, -1).shape() == Shape{2, 2});
  CHECK(eye(2, 0).shape() == Shape{2, 0});
  CHECK(eye(0).shape() == Shape{0, 0});
  int line = __LINE__ + 1;
  CHECK(message_of<ValueError>([] { eye(-1); }) ==
        "eye: n must be non-negative and m non-negative or -1 (same as n), got n -1, m -1 " + here(line));
  line = __LINE__ + 1;
  CHECK(message_of<ValueError>([] { eye(2, -2); }).find("eye: ") == 0);
}

TEST_CASE("reshape and view say when a -1 is ambiguous") {
  Tensor x = zeros({0, 3});
  int line = __LINE__ + 1;
  CHECK(message_of<ShapeError>([&] {
          reshape(x, {-1, 0});
        }) ==
        "reshape: a -1 is ambiguous when another size is 0 (any size would fit), got [-1, 0] for an input of "
        "shape "
        "[0, 3] " +
            here(line));
  line = __LINE__ + 1;
  CHECK(message_of<ShapeError>([&] { view(x, {0, -1}); }).find("view: a -1 is ambiguous") == 0);
  line = __LINE__ + 1;
  CHECK(message_of<ShapeError>([&] {
          reshape(x, {-1, -1});
        }) == "reshape: only one size may be -1, got [-1, -1] " + here(line));
  CHECK(reshape(x, {-1, 3}).shape() == Shape{0, 3});
}

TEST_CASE("split with a bad axis names split") {
  Tensor x = zeros({4});
  int line = __LINE__ + 1;
  CHECK(message_of<ShapeError>([&] { split(x, 2, 1); }) ==
        "split: axis must be in [-1, 1), got axis 1 for a tensor of rank 1 " + here(line));
}

TEST_CASE("an undefined tensor names the op or accessor that received it, and the line") {
  Tensor u;
  // One row per line, so __LINE__ is the line of the call.
  // clang-format off
  const Row rows[] = {
      {"shape", __LINE__, [&] { u.shape(); }},
      {"dtype", __LINE__, [&] { u.dtype(); }},
      {"dim", __LINE__, [&] { u.dim(); }},
      {"numel", __LINE__, [&] { u.numel(); }},
      {"strides", __LINE__, [&] { u.strides(); }},
      {"is_contiguous", __LINE__, [&] { u.is_contiguous(); }},
      {"requires_grad", __LINE__, [&] { u.requires_grad(); }},
      {"is_leaf", __LINE__, [&] { u.is_leaf(); }},
      {"grad", __LINE__, [&] { u.grad(); }},
      {"zero_grad", __LINE__, [&] { u.zero_grad(); }},
      {"detach", __LINE__, [&] { u.detach(); }},
      {"size", __LINE__, [&] { u.size(0); }},
      {"item", __LINE__, [&] { u.item(); }},
      {"to_vector", __LINE__, [&] { u.to_vector<float>(); }},
      {"data", __LINE__, [&] { u.data<float>(); }},
      {"to", __LINE__, [&] { u.to(float64); }},
      {"contiguous", __LINE__, [&] { u.contiguous(); }},
      {"clone", __LINE__, [&] { u.clone(); }},
      {"requires_grad_", __LINE__, [&] { u.requires_grad_(); }},
      {"backward", __LINE__, [&] { u.backward(); }},
      {"fill_", __LINE__, [&] { u.fill_(1.0); }},
      {"zero_", __LINE__, [&] { u.zero_(); }},
      {"mul_", __LINE__, [&] { u.mul_(2.0); }},
      {"add_", __LINE__, [&] { u.add_(ones({1})); }},
      {"copy_", __LINE__, [&] { u.copy_(ones({1})); }},
      {"clamp_min", __LINE__, [&] { clamp_min(u, 0.0); }},
      {"clamp_max", __LINE__, [&] { clamp_max(u, 0.0); }},
      {"pow", __LINE__, [&] { pow(u, 2.0); }},
      {"zeros_like", __LINE__, [&] { zeros_like(u); }},
      {"ones_like", __LINE__, [&] { ones_like(u); }},
      {"full_like", __LINE__, [&] { full_like(u, 2.0); }},
  };
  // clang-format on
  for (const auto& row : rows) {
    CAPTURE(row.op);
    CHECK(message_of<ValueError>(row.call) ==
          row.op + ": the tensor must be defined, got an undefined (default-constructed) tensor " +
              here(row.line));
  }
}

TEST_CASE("TAPEGRAD_NUM_THREADS and TAPEGRAD_ISA: a bad value is an error, not silence") {
  CHECK(parallel::threads_from_environment(nullptr) >= 1);
  CHECK(parallel::threads_from_environment("") >= 1);
  CHECK(parallel::threads_from_environment("3") == 3);
  for (const char* bad : {"0", "-2", "four", "2x", " 2", "99999999999"}) {
    CAPTURE(bad);
    CHECK(message_of<ValueError>([&] { parallel::threads_from_environment(bad); }) ==
          std::string("TAPEGRAD_NUM_THREADS: the environment variable must be a whole number >= 1, got \"") +
              bad + "\"");
  }
  using kernels::Isa;
  CHECK(kernels::isa_from_environment(nullptr) == kernels::best_isa());
  CHECK(kernels::isa_from_environment("") == kernels::best_isa());
  CHECK(kernels::isa_from_environment("sse2") == Isa::sse2);
  CHECK(kernels::isa_from_environment("generic") == Isa::sse2);
  CHECK(message_of<ValueError>([] { kernels::isa_from_environment("avx512"); }) ==
        "TAPEGRAD_ISA: the environment variable must be sse2, generic or avx2, got \"avx512\"");
  if (kernels::isa_supported(Isa::avx2))
    CHECK(kernels::isa_from_environment("avx2") == Isa::avx2);
  else
    CHECK_THROWS_AS(kernels::isa_from_environment("avx2"), ValueError);
}

TEST_CASE("a value an int64 tensor cannot hold is refused, not converted with undefined behaviour") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  int line = __LINE__ + 1;
  CHECK(message_of<ValueError>([] { full({2}, 1e30, int64); }) ==
        "full: the value must fit in int64 for an int64 tensor, got 1000000000000000019884624838656.000000 " +
            here(line));
  CHECK_THROWS_AS(scalar(nan, int64), ValueError);
  CHECK_THROWS_AS(tensor({1.0, 1e19}, int64), ValueError);
  CHECK_THROWS_AS(arange(9.2e18, 9.5e18, 1e17, int64), ValueError);
  CHECK_THROWS_AS(linspace(0.0, 1e19, 3, int64), ValueError);
  Tensor t = zeros({2}, int64);
  line = __LINE__ + 1;
  CHECK(message_of<ValueError>([&] { t.fill_(-1e19); }).find("fill_: the value must fit in int64") == 0);
  CHECK(full({1}, -0x1p63, int64).item<std::int64_t>() == int64_min);
  CHECK(full({1}, 1e30).item() == doctest::Approx(1e30));  // float32 and float64 take any double
}
