// Pooling: the op table (gradcheck and gradgradcheck in float64 of every row, Note [Generated op
// tests] in test_ops.cpp), PyTorch's values, indices and gradients (tests/data/make_pool.py), and the
// rules torch enforces, with the bad-input rows of every public pooling function.
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "bad_input.hpp"
#include "helpers.hpp"

#ifndef TAPEGRAD_SOURCE_DIR
#error "tests/meson.build passes TAPEGRAD_SOURCE_DIR, the source tree, to find the fixtures"
#endif

using namespace tapegrad;
using test::sample;

namespace {

using Fn = std::function<Tensor(const Tensor&)>;

struct PoolOpInfo {
  std::string name;
  Fn f;
  std::vector<Shape> samples;
};

// Windows overlap (stride < kernel), hang over the edge (ceil_mode), take padding and dilation;
// samples include unbatched, empty-batch and 1-wide inputs. Random float64 samples have no ties
// closer than gradcheck's step, so the max is unambiguous.
// clang-format off
std::vector<PoolOpInfo> pool_ops() {
  return {
      {"max_pool2d k2", [](const Tensor& x) { return max_pool2d(x, 2); }, {{2, 3, 6, 4}, {3, 5, 5}, {0, 2, 4, 4}}},
      {"max_pool2d k3 s2 p1 ceil", [](const Tensor& x) { return max_pool2d(x, 3, 2, 1, 1, true); },
       {{2, 2, 7, 6}, {2, 5, 4}}},
      {"max_pool2d k(3,2) s(2,1) p(1,0) d(2,1)", [](const Tensor& x) { return max_pool2d(x, {3, 2}, {2, 1}, {1, 0}, {2, 1}); },
       {{1, 2, 7, 5}}},
      {"max_pool2d k2 s1 p1 d2 ceil", [](const Tensor& x) { return max_pool2d(x, 2, 1, 1, 2, true); }, {{1, 2, 5, 6}, {2, 1, 1}}},
      // every window full: the unrolled 3x3 and 2x2 paths (a 3x3 bug gave later rows the wrong base)
      {"max_pool2d k3 s2, every window 3x3", [](const Tensor& x) { return max_pool2d(x, 3, 2); }, {{2, 2, 7, 7}}},
      {"avg_pool2d k3 s1, every window 3x3", [](const Tensor& x) { return avg_pool2d(x, 3, 1); }, {{1, 2, 5, 6}}},
      {"max_pool2d kernel the whole plane", [](const Tensor& x) { return max_pool2d(x, {4, 3}); }, {{2, 2, 4, 3}}},
      {"max_pool2d_with_indices values", [](const Tensor& x) { return max_pool2d_with_indices(x, 3, 2, 1).values; },
       {{2, 2, 6, 5}}},
      {"max_pool1d k3 s2 p1 ceil", [](const Tensor& x) { return max_pool1d(x, 3, 2, 1, 1, true); }, {{2, 3, 8}, {3, 7}, {0, 2, 5}}},
      {"max_pool1d k2 d3 p1", [](const Tensor& x) { return max_pool1d(x, 2, 1, 1, 3); }, {{2, 2, 7}}},
      {"max_pool1d_with_indices values", [](const Tensor& x) { return max_pool1d_with_indices(x, 2).values; }, {{2, 6}}},
      {"avg_pool2d k2", [](const Tensor& x) { return avg_pool2d(x, 2); }, {{2, 3, 6, 4}, {3, 5, 5}, {0, 2, 4, 4}}},
      {"avg_pool2d k3 s2 p1 ceil", [](const Tensor& x) { return avg_pool2d(x, 3, 2, 1, true); }, {{2, 2, 7, 6}}},
      {"avg_pool2d k3 s2 p1 ceil, padding not counted", [](const Tensor& x) { return avg_pool2d(x, 3, 2, 1, true, false); },
       {{2, 2, 7, 6}, {2, 5, 4}}},
      {"avg_pool2d k(3,2) s(1,2) p(1,1) divisor_override",
       [](const Tensor& x) { return avg_pool2d(x, {3, 2}, {1, 2}, {1, 1}, false, true, -3); }, {{1, 2, 5, 5}}},
      {"avg_pool1d k3 s2 p1 ceil", [](const Tensor& x) { return avg_pool1d(x, 3, 2, 1, true, false); }, {{2, 3, 8}, {3, 7}}},
      {"avg_pool1d k2", [](const Tensor& x) { return avg_pool1d(x, 2); }, {{2, 2, 6}, {0, 2, 5}}},
      {"adaptive_avg_pool2d (3, 4)", [](const Tensor& x) { return adaptive_avg_pool2d(x, {3, 4}); }, {{2, 2, 7, 6}, {2, 5, 5}}},
      {"adaptive_avg_pool2d larger than the input", [](const Tensor& x) { return adaptive_avg_pool2d(x, {5, 7}); }, {{1, 2, 3, 4}}},
      // an empty output on one axis: the window tables are left empty (regression: the backward read them)
      {"adaptive_avg_pool2d (2, 0)", [](const Tensor& x) { return adaptive_avg_pool2d(x, {2, 0}); }, {{1, 2, 3, 4}}},
      {"adaptive_max_pool2d (0, 3)", [](const Tensor& x) { return adaptive_max_pool2d(x, {0, 3}); }, {{1, 2, 3, 4}}},
      {"adaptive_avg_pool2d 1 (global)", [](const Tensor& x) { return adaptive_avg_pool2d(x, 1); }, {{2, 3, 4, 5}, {0, 3, 4, 5}}},
      {"adaptive_avg_pool1d 3", [](const Tensor& x) { return adaptive_avg_pool1d(x, 3); }, {{2, 2, 7}, {3, 5}}},
      {"adaptive_max_pool2d (3, 4)", [](const Tensor& x) { return adaptive_max_pool2d(x, {3, 4}); }, {{2, 2, 7, 6}, {2, 5, 5}}},
      {"adaptive_max_pool2d larger than the input", [](const Tensor& x) { return adaptive_max_pool2d(x, {4, 5}); }, {{1, 2, 3, 4}}},
      {"adaptive_max_pool2d_with_indices values", [](const Tensor& x) { return adaptive_max_pool2d_with_indices(x, 2).values; },
       {{2, 2, 5, 5}}},
  };
}
// clang-format on

// A [2, 3, 6, 4] view with strides not those of its shape.
Tensor strided_sample() {
  Tensor x = permute(sample({2, 4, 3, 6}).detach(), {0, 2, 3, 1}).detach();
  x.requires_grad_();
  return x;
}

}  // namespace

TEST_CASE("every pooling op is gradchecked and gradgradchecked in float64") {
  std::size_t checks = 0;
  for (const PoolOpInfo& op : pool_ops()) {
    for (const Shape& shape : op.samples) {
      INFO("op: " << op.name << ", shape " << to_string(shape));
      auto f = [&](const std::vector<Tensor>& xs) { return op.f(xs[0]); };
      const Tensor x = sample(shape);
      CHECK(gradcheck(f, {x}));
      CHECK(gradcheck(f, {x}, {.fast_mode = true}));
      CHECK(gradgradcheck(f, {x}));
      ++checks;
    }
    if (op.samples[0].size() == 4 && op.samples[0][3] >= 4 && op.samples[0][1] >= 3) {
      INFO("op: " << op.name << ", a strided view");
      CHECK(gradcheck([&](const std::vector<Tensor>& xs) { return op.f(xs[0]); }, {strided_sample()}));
    }
  }
  MESSAGE(pool_ops().size() << " pooling rows, " << checks << " samples gradchecked and gradgradchecked");
}

// ------------------------------------------------------------------ PyTorch's values

namespace {

std::filesystem::path fixture(const std::string& name) {
  return std::filesystem::path(TAPEGRAD_SOURCE_DIR) / "tests" / "data" / "pool" / name;
}

struct PoolFixtureCase {
  Shape shape;
  bool nans;
  std::function<ValuesIndices(const Tensor&)> f;  // indices undefined for the averages
};

// The rows of `cases` in tests/data/make_pool.py, in its order.
// clang-format off
std::vector<PoolFixtureCase> fixture_cases() {
  auto v = [](const Tensor& y) { return ValuesIndices{y, Tensor()}; };
  return {
      {{2, 2, 7, 6}, false, [](const Tensor& x) { return max_pool2d_with_indices(x, 2); }},
      {{2, 2, 7, 6}, false, [](const Tensor& x) { return max_pool2d_with_indices(x, 3, 2, 1, 1, true); }},
      {{2, 2, 7, 6}, false, [](const Tensor& x) { return max_pool2d_with_indices(x, {3, 2}, {2, 1}, {1, 0}, {2, 1}); }},
      {{2, 2, 7, 6}, false, [](const Tensor& x) { return max_pool2d_with_indices(x, 2, 1, 1, 2, true); }},
      {{4, 7, 6}, false, [](const Tensor& x) { return max_pool2d_with_indices(x, 3, 2, 0, 1, true); }},
      {{2, 14, 6}, false, [](const Tensor& x) { return max_pool1d_with_indices(x, 3, 2, 1, 1, true); }},
      {{2, 14, 6}, false, [](const Tensor& x) { return max_pool1d_with_indices(x, 2, 1, 1, 3); }},
      {{2, 2, 7, 6}, true, [](const Tensor& x) { return max_pool2d_with_indices(x, 3, 2); }},
      {{2, 2, 7, 6}, false, [v](const Tensor& x) { return v(avg_pool2d(x, 3, 2, 1, true)); }},
      {{2, 2, 7, 6}, false, [v](const Tensor& x) { return v(avg_pool2d(x, 3, 2, 1, true, false)); }},
      {{2, 2, 7, 6}, false, [v](const Tensor& x) { return v(avg_pool2d(x, {3, 2}, {2, 3}, {1, 1}, true, true, 5)); }},
      {{4, 7, 6}, false, [v](const Tensor& x) { return v(avg_pool2d(x, 2, 1, 1)); }},
      {{2, 14, 6}, false, [v](const Tensor& x) { return v(avg_pool1d(x, 3, 2, 1, true, false)); }},
      {{2, 2, 7, 6}, false, [v](const Tensor& x) { return v(adaptive_avg_pool2d(x, {3, 4})); }},
      {{2, 2, 7, 6}, false, [v](const Tensor& x) { return v(adaptive_avg_pool2d(x, {5, 9})); }},
      {{2, 14, 6}, false, [v](const Tensor& x) { return v(adaptive_avg_pool1d(x, 4)); }},
      {{2, 2, 7, 6}, false, [](const Tensor& x) { return adaptive_max_pool2d_with_indices(x, {3, 4}); }},
      {{4, 7, 6}, false, [](const Tensor& x) { return adaptive_max_pool2d_with_indices(x, {4, 9}); }},
  };
}
// clang-format on

// torch's values, NaN where torch has NaN.
void check_values(const std::vector<double>& ours, const std::vector<double>& torch, std::size_t at, double tol) {
  REQUIRE(at + ours.size() <= torch.size());
  for (std::size_t i = 0; i < ours.size(); ++i) {
    const double expected = torch[at + i];
    INFO("element " << i);
    if (std::isnan(expected))
      CHECK(std::isnan(ours[i]));
    else
      CHECK(ours[i] == doctest::Approx(expected).epsilon(tol).scale(1.0));
  }
}

}  // namespace

TEST_CASE("pooling reproduces PyTorch's values, indices and gradients (float64 and float32)") {
  const Tensor x0 = load_npy(fixture("x.npy"));
  const std::vector<double> torch_y = load_npy(fixture("y.npy")).to_vector<double>();
  const std::vector<std::int64_t> torch_indices = load_npy(fixture("indices.npy")).to_vector<std::int64_t>();
  const std::vector<double> torch_gx = load_npy(fixture("gx.npy")).to_vector<double>();
  std::vector<double> nan_values = x0.to_vector<double>();
  for (std::size_t i : {5, 40, 41, 100}) nan_values[i] = std::numeric_limits<double>::quiet_NaN();
  const Tensor nan_x = from_vector(nan_values, x0.shape());
  std::size_t y_at = 0, index_at = 0, gx_at = 0;
  const auto cases = fixture_cases();
  for (std::size_t c = 0; c < cases.size(); ++c) {
    INFO("case " << c << " of tests/data/make_pool.py");
    const PoolFixtureCase& pc = cases[c];
    for (DType dtype : {float64, float32}) {
      INFO("dtype " << dtype_name(dtype));
      Tensor x = reshape(pc.nans ? nan_x : x0, pc.shape).to(dtype).detach();
      x.requires_grad_();
      ValuesIndices out = pc.f(x);
      CHECK(out.values.dtype() == dtype);
      const std::int64_t n = out.values.numel();
      Tensor gy = cos(arange(0.0, static_cast<double>(n), 1.0, float64) * 0.37 + static_cast<double>(c))
                      .reshape(out.values.shape())
                      .to(dtype);
      Tensor gx = grad({sum(out.values * gy)}, {x})[0];
      const double tol = dtype == float64 ? 1e-12 : 1e-5;
      check_values(out.values.detach().to(float64).to_vector<double>(), torch_y, y_at, tol);
      check_values(gx.to(float64).to_vector<double>(), torch_gx, gx_at, tol);
      if (out.indices.defined()) {
        CHECK(out.indices.dtype() == int64);
        CHECK(out.indices.shape() == out.values.shape());
        const std::vector<std::int64_t> ours = out.indices.to_vector<std::int64_t>();
        REQUIRE(index_at + ours.size() <= torch_indices.size());
        CHECK(ours == std::vector<std::int64_t>(torch_indices.begin() + static_cast<std::ptrdiff_t>(index_at),
                                                torch_indices.begin() + static_cast<std::ptrdiff_t>(index_at + ours.size())));
      }
      if (dtype == float32) {
        y_at += static_cast<std::size_t>(n);
        gx_at += static_cast<std::size_t>(x.numel());
        if (out.indices.defined()) index_at += static_cast<std::size_t>(n);
      }
    }
  }
  CHECK(y_at == torch_y.size());
  CHECK(index_at == torch_indices.size());
  CHECK(gx_at == torch_gx.size());
}

TEST_CASE("pooling forward and backward give the same bits at 1 and 2 threads") {
  const int threads = get_num_threads();
  const Tensor x = sample({4, 16, 28, 28}).to(float32).detach();  // enough planes to run in parallel
  const std::vector<Fn> ops = {
      [](const Tensor& v) { return max_pool2d(v, 3, 2, 1, 1, true); },
      [](const Tensor& v) { return avg_pool2d(v, 3, 2, 1, true, false); },
      [](const Tensor& v) { return adaptive_avg_pool2d(v, {5, 9}); },
      [](const Tensor& v) { return max_pool1d(v.reshape({64, 28, 28}), 4, 3); },
  };
  for (std::size_t k = 0; k < ops.size(); ++k) {
    INFO("op " << k);
    std::vector<std::vector<float>> results;
    for (int n : {1, 2}) {
      set_num_threads(n);
      Tensor leaf = x.clone();
      leaf.requires_grad_();
      Tensor y = ops[k](leaf);
      Tensor gx = grad({sum(y * cos(y))}, {leaf})[0];
      results.push_back(y.detach().to_vector<float>());
      results.push_back(gx.to_vector<float>());
    }
    CHECK(results[0] == results[2]);
    CHECK(results[1] == results[3]);
  }
  set_num_threads(threads);
}

TEST_CASE("max pooling's backward uses the indices it returned: changing them in place is a GraphError") {
  Tensor x = sample({1, 2, 4, 4});
  auto [y, indices] = max_pool2d_with_indices(x, 2);
  indices.fill_(0);
  CHECK_THROWS_AS(sum(y).backward(), GraphError);
  // Untouched indices: the gradient lands on them, one per window.
  auto [y2, indices2] = max_pool2d_with_indices(x, 2);
  Tensor gx = grad({sum(y2)}, {x})[0];
  std::vector<double> g = gx.to_vector<double>();
  std::vector<std::int64_t> at = indices2.to_vector<std::int64_t>();
  for (std::size_t plane = 0; plane < 2; ++plane)
    for (std::size_t o = 0; o < 4; ++o) CHECK(g[plane * 16 + static_cast<std::size_t>(at[plane * 4 + o])] == 1.0);
  CHECK(sum(gx).item() == 8.0);
}

// The window tables stay empty then: a backward that read them would be undefined (seen under sanitizers).
TEST_CASE("an output empty along one axis has a zero gradient") {
  for (const Fn& f : std::vector<Fn>{[](const Tensor& x) { return adaptive_avg_pool2d(x, {2, 0}); },
                                     [](const Tensor& x) { return adaptive_max_pool2d(x, {0, 3}); }}) {
    Tensor x = sample({2, 2, 3, 4});
    Tensor y = f(x);
    CHECK(y.numel() == 0);
    Tensor gx = grad({sum(y)}, {x})[0];
    CHECK(gx.shape() == x.shape());
    CHECK(sum(abs(gx)).item() == 0.0);
  }
}
