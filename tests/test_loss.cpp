// cross_entropy and nll_loss against PyTorch (fixtures/make_loss_fixtures.py writes the values and
// gradients), plus their errors. Their gradchecks are rows of the op table in test_ops.cpp.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "fixtures/loss_fixtures.hpp"
#include "helpers.hpp"

using namespace tapegrad;

namespace {

Reduction reduction_of(const char* name) {
  if (std::strcmp(name, "none") == 0) return Reduction::none;
  return std::strcmp(name, "sum") == 0 ? Reduction::sum : Reduction::mean;
}

Shape shape_of(const std::vector<std::int64_t>& sizes) { return Shape(sizes.begin(), sizes.end()); }

}  // namespace

TEST_CASE("cross_entropy and nll_loss agree with PyTorch: values and gradients, in float64 and float32") {
  for (const test::LossFixture& f : test::loss_fixtures) {
    for (DType dtype : {float64, float32}) {
      INFO(std::string(f.name) << " (" << std::string(f.op) << ", " << dtype_name(dtype) << ")");
      Tensor input = from_vector(f.input, shape_of(f.input_shape)).to(dtype);
      input.requires_grad_();
      Tensor target = from_vector(f.target, shape_of(f.target_shape));
      if (!f.probabilities) target = target.to(int64);
      Tensor weight =
          f.weight.empty() ? Tensor() : from_vector(f.weight, {static_cast<std::int64_t>(f.weight.size())});
      Tensor y = std::strcmp(f.op, "nll_loss") == 0
                     ? nll_loss(input, target, {weight, f.ignore_index, reduction_of(f.reduction)})
                     : cross_entropy(input, target,
                                     {weight, f.ignore_index, reduction_of(f.reduction), f.label_smoothing});
      CHECK(y.dtype() == dtype);
      const double tol = dtype == float64 ? 1e-12 : 1e-5;
      std::vector<double> got = y.detach().to(float64).to_vector<double>();
      REQUIRE(got.size() == f.expected.size());
      for (std::size_t i = 0; i < got.size(); ++i)
        CHECK(got[i] == doctest::Approx(f.expected[i]).epsilon(tol).scale(1.0));
      sum(y).backward();
      std::vector<double> g = input.grad().to(float64).to_vector<double>();
      REQUIRE(g.size() == f.grad.size());
      for (std::size_t i = 0; i < g.size(); ++i)
        CHECK(g[i] == doctest::Approx(f.grad[i]).epsilon(tol).scale(1.0));
    }
  }
}

TEST_CASE("cross_entropy and nll_loss are gradgradchecked on every PyTorch fixture case") {
  for (const test::LossFixture& f : test::loss_fixtures) {
    INFO(std::string(f.name) << " (" << std::string(f.op) << ")");
    Tensor input = from_vector(f.input, shape_of(f.input_shape));
    input.requires_grad_();
    Tensor target = from_vector(f.target, shape_of(f.target_shape));
    if (!f.probabilities) target = target.to(int64);
    Tensor weight =
        f.weight.empty() ? Tensor() : from_vector(f.weight, {static_cast<std::int64_t>(f.weight.size())});
    auto loss = [&](const std::vector<Tensor>& xs) {
      return std::strcmp(f.op, "nll_loss") == 0
                 ? nll_loss(xs[0], target, {weight, f.ignore_index, reduction_of(f.reduction)})
                 : cross_entropy(xs[0], target, {weight, f.ignore_index, reduction_of(f.reduction), f.label_smoothing});
    };
    CHECK(gradgradcheck(loss, {input}));
  }
}

TEST_CASE("the Hessian of cross_entropy is (diag(p) - p pᵀ) / N per row, through create_graph") {
  // Mean cross_entropy over N rows: d²L/dz² of row i is (diag(p_i) - p_i p_iᵀ) / N, whatever the
  // targets, so H v of row i is (p_i ⊙ v_i - p_i (p_i · v_i)) / N.
  const std::int64_t n = 3, classes = 4;
  Tensor logits = test::sample({n, classes});
  Tensor v = test::sample({n, classes}).detach();
  Tensor target = from_vector(std::vector<std::int64_t>{2, 0, 3}, {n});
  Tensor g = grad({cross_entropy(logits, target)}, {logits}, {}, false, true)[0];
  Tensor hv = grad({sum(g * v)}, {logits})[0];
  std::vector<double> z = logits.detach().to_vector<double>(), vv = v.to_vector<double>(), expected;
  for (std::int64_t i = 0; i < n; ++i) {
    double max_z = -INFINITY, total = 0, pv = 0;
    for (std::int64_t c = 0; c < classes; ++c) max_z = std::max(max_z, z[i * classes + c]);
    std::vector<double> p(classes);
    for (std::int64_t c = 0; c < classes; ++c) total += p[c] = std::exp(z[i * classes + c] - max_z);
    for (std::int64_t c = 0; c < classes; ++c) pv += (p[c] /= total) * vv[i * classes + c];
    for (std::int64_t c = 0; c < classes; ++c) expected.push_back((p[c] * vv[i * classes + c] - p[c] * pv) / n);
  }
  test::check_close(hv, expected, 1e-12);
}

TEST_CASE(
    "cross_entropy: every target ignored, or an empty batch, gives NaN like PyTorch; gradients stay finite") {
  Tensor logits = test::sample({2, 3});
  Tensor all_ignored = from_vector(std::vector<std::int64_t>{-100, -100}, {2});
  CHECK(std::isnan(cross_entropy(logits, all_ignored).item()));
  CHECK(cross_entropy(logits, all_ignored, {.reduction = Reduction::sum}).item() == 0.0);
  CHECK(std::isnan(cross_entropy(zeros({0, 3}, float64), zeros({0}, int64)).item()));
  // An ignored row whose logits are -inf adds nothing (not NaN) to the loss or the gradient.
  Tensor masked = tensor({{-INFINITY, 0.0}, {1.0, 2.0}}, float64);
  masked.requires_grad_();
  Tensor loss = cross_entropy(masked, from_vector(std::vector<std::int64_t>{-100, 1}, {2}),
                              {.reduction = Reduction::sum});
  CHECK(loss.item() == doctest::Approx(std::log1p(std::exp(-1.0))));
  loss.backward();
  for (double g : masked.grad().to_vector<double>()) CHECK(std::isfinite(g));
}

TEST_CASE("cross_entropy and nll_loss errors name the op, the bad value and the caller's line") {
  Tensor logits = test::sample({3, 4});
  auto labels = [](std::vector<std::int64_t> v) {
    return from_vector(v, {static_cast<std::int64_t>(v.size())});
  };
  auto message = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  const int line = __LINE__ + 1;
  std::string m = message([&] { cross_entropy(logits, labels({0, 4, 1})); });
  CHECK(m ==
        "cross_entropy: target classes must lie in [0, 4), got class 4 at position 1 (at test_loss.cpp:" +
            std::to_string(line) + ")");
  CHECK_THROWS_AS(cross_entropy(logits, labels({0, -1, 1})), ValueError);
  CHECK_THROWS_AS(nll_loss(logits, labels({0, 1, 9})), ValueError);
  CHECK(message([&] { nll_loss(logits, labels({0, 1, 9})); }).find("nll_loss: target classes") == 0);
  // a float target of the class-index shape
  CHECK_THROWS_AS(cross_entropy(logits, labels({0, 1, 2}).to(float32)), DTypeError);
  CHECK_THROWS_AS(nll_loss(logits, labels({0, 1, 2}).to(float64)), DTypeError);
  CHECK_THROWS_AS(cross_entropy(logits.detach().to(int64), labels({0, 1, 2})), DTypeError);
  CHECK_THROWS_AS(cross_entropy(logits, labels({0, 1})), ShapeError);
  CHECK_THROWS_AS(cross_entropy(scalar(1.0), labels({0})), ShapeError);
  CHECK_THROWS_AS(cross_entropy(logits, labels({0, 1, 2}), {.weight = ones({3})}), ShapeError);
  CHECK_THROWS_AS(cross_entropy(logits, labels({0, 1, 2}), {.label_smoothing = 1.5}), ValueError);
  CHECK_THROWS_AS(cross_entropy(logits, labels({0, 1, 2}), {.label_smoothing = NAN}), ValueError);
  CHECK_THROWS_AS(cross_entropy(logits, Tensor()), ValueError);
  // int64 class weights: the message names the weights, not the input
  CHECK(message([&] { nll_loss(logits, labels({0, 1, 2}), {.weight = ones({4}, int64)}); })
            .find("nll_loss: the class weights must have a floating dtype, got int64") == 0);
}
