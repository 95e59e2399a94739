// The losses against PyTorch (fixtures/make_loss_fixtures.py writes the values and gradients, one row
// per case: adding a row is what gets a case compared, gradchecked and gradgradchecked), plus their
// errors. The op table in test_ops.cpp gradchecks them on its own samples too.
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fixtures/loss_fixtures.hpp"
#include "helpers.hpp"

using namespace tapegrad;

namespace {

Reduction reduction_of(const char* name) {
  if (std::strcmp(name, "none") == 0) return Reduction::none;
  if (std::strcmp(name, "batchmean") == 0) return Reduction::batchmean;
  return std::strcmp(name, "sum") == 0 ? Reduction::sum : Reduction::mean;
}

Shape shape_of(const std::vector<std::int64_t>& sizes) { return Shape(sizes.begin(), sizes.end()); }

bool pointwise(const test::LossFixture& f) {
  return std::strcmp(f.op, "cross_entropy") != 0 && std::strcmp(f.op, "nll_loss") != 0;
}

// A fixture's target (class indices as int64) and weights, in float64.
struct Operands {
  Tensor target, weight, pos_weight;
};

Operands operands_of(const test::LossFixture& f) {
  Operands o;
  o.target = from_vector(f.target, shape_of(f.target_shape));
  if (!f.probabilities) o.target = o.target.to(int64);
  if (!f.weight.empty()) o.weight = from_vector(f.weight, shape_of(f.weight_shape));
  if (!f.pos_weight.empty())
    o.pos_weight = from_vector(f.pos_weight, {static_cast<std::int64_t>(f.pos_weight.size())});
  return o;
}

// The fixture's loss of (input, target), by the name of its function.
Tensor loss_of(const test::LossFixture& f, const Tensor& input, const Tensor& target, const Operands& o) {
  using Loss = std::function<Tensor(const test::LossFixture&, const Tensor&, const Tensor&, const Operands&)>;
  static const std::map<std::string, Loss> losses = {
      {"cross_entropy", [](auto& f, auto& x, auto& t, auto& o) {
         return cross_entropy(x, t, {o.weight, f.ignore_index, reduction_of(f.reduction), f.label_smoothing});
       }},
      {"nll_loss", [](auto& f, auto& x, auto& t, auto& o) {
         return nll_loss(x, t, {o.weight, f.ignore_index, reduction_of(f.reduction)});
       }},
      {"mse_loss", [](auto& f, auto& x, auto& t, auto&) { return mse_loss(x, t, reduction_of(f.reduction)); }},
      {"l1_loss", [](auto& f, auto& x, auto& t, auto&) { return l1_loss(x, t, reduction_of(f.reduction)); }},
      {"smooth_l1_loss", [](auto& f, auto& x, auto& t, auto&) {
         return smooth_l1_loss(x, t, reduction_of(f.reduction), f.parameter);
       }},
      {"huber_loss", [](auto& f, auto& x, auto& t, auto&) {
         return huber_loss(x, t, reduction_of(f.reduction), f.parameter);
       }},
      {"binary_cross_entropy", [](auto& f, auto& x, auto& t, auto& o) {
         return binary_cross_entropy(x, t, {o.weight, reduction_of(f.reduction)});
       }},
      {"binary_cross_entropy_with_logits", [](auto& f, auto& x, auto& t, auto& o) {
         return binary_cross_entropy_with_logits(x, t, {o.weight, o.pos_weight, reduction_of(f.reduction)});
       }},
      {"kl_div", [](auto& f, auto& x, auto& t, auto&) {
         return kl_div(x, t, {reduction_of(f.reduction), f.log_target});
       }},
  };
  auto it = losses.find(f.op);
  REQUIRE_MESSAGE(it != losses.end(), "no function for " << f.op);
  return it->second(f, input, target, o);
}

void check_values(const Tensor& actual, const std::vector<double>& expected, double tol) {
  std::vector<double> got = actual.to(float64).to_vector<double>();
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(expected[i]).epsilon(tol).scale(1.0));
}

}  // namespace

TEST_CASE("every loss agrees with PyTorch on each fixture row: values and gradients, in float64 and float32") {
  for (const test::LossFixture& f : test::loss_fixtures) {
    for (DType dtype : {float64, float32}) {
      INFO(std::string(f.name) << " (" << std::string(f.op) << ", " << dtype_name(dtype) << ")");
      Tensor input = from_vector(f.input, shape_of(f.input_shape)).to(dtype);
      input.requires_grad_();
      Operands o = operands_of(f);
      Tensor target = o.target.dtype() == int64 ? o.target : o.target.to(dtype);
      if (pointwise(f)) target.requires_grad_();
      Tensor y = loss_of(f, input, target, o);
      if (!o.weight.defined() && !o.pos_weight.defined()) CHECK(y.dtype() == dtype);
      const double tol = dtype == float64 ? 1e-12 : 1e-5;
      check_values(y.detach(), f.expected, tol);
      sum(y).backward();
      check_values(input.grad(), f.grad, tol);
      if (!f.target_grad.empty()) check_values(target.grad(), f.target_grad, tol);
      for (double g : input.grad().to(float64).to_vector<double>()) CHECK(std::isfinite(g));
    }
  }
}

TEST_CASE("every loss is gradgradchecked on each PyTorch fixture row (the input, and a floating target)") {
  for (const test::LossFixture& f : test::loss_fixtures) {
    INFO(std::string(f.name) << " (" << std::string(f.op) << ")");
    Tensor input = from_vector(f.input, shape_of(f.input_shape));
    input.requires_grad_();
    Operands o = operands_of(f);
    // Central differences need a smooth neighbourhood: not an input at l1's kink (x = t), nor a probability
    // at 0 or 1, nor a kl_div target at 0 (those rows still compare their gradients with PyTorch's above).
    const std::string op = f.op;
    bool kink = false, zero_target = false;
    for (std::size_t i = 0; i < f.input.size(); ++i) {
      if ((op == "l1_loss" || (op == "smooth_l1_loss" && f.parameter == 0)) && f.target.size() == f.input.size())
        kink = kink || f.input[i] == f.target[i];
      if (op == "binary_cross_entropy") kink = kink || f.input[i] == 0.0 || f.input[i] == 1.0;
    }
    for (double t : f.target) zero_target = zero_target || (op == "kl_div" && !f.log_target && t == 0.0);
    if (kink) continue;
    if (pointwise(f) && !zero_target) {
      Tensor target = o.target.detach();
      target.requires_grad_();
      CHECK(gradgradcheck([&](const std::vector<Tensor>& x) { return loss_of(f, x[0], x[1], o); }, {input, target}));
    } else {
      CHECK(gradgradcheck([&](const std::vector<Tensor>& x) { return loss_of(f, x[0], o.target, o); }, {input}));
    }
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
