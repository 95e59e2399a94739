// Higher-order gradients (Note [Higher-order gradients] in src/tape_backward.cpp), the functional
// vjp / jvp / hvp, and the tape's size on long graphs.
#include <pthread.h>

#include <cmath>
#include <functional>

#include "helpers.hpp"

using namespace tapegrad;

TEST_CASE("a gradient penalty differentiates through the gradient (create_graph), as PyTorch does") {
  // torch: x = [1, -2], w = [0.5, 0.5], l = sum(w x^2), g = grad(l, x, create_graph=True),
  // (l + sum(g^2)).backward() gives w.grad = x^2 + 2 * 2 w x * 2 x... = [5, 20].
  Tensor x = tensor({1.0, -2.0}, float64).requires_grad_();
  Tensor w = tensor({0.5, 0.5}, float64).requires_grad_();
  Tensor l = sum(w * x * x);
  std::vector<Tensor> g = grad({l}, {x}, {}, /*retain_graph=*/false, /*create_graph=*/true);
  REQUIRE(g[0].requires_grad());
  (l + sum(g[0] * g[0])).backward();
  test::check_close(w.grad(), {5.0, 20.0}, 1e-12);
  // Without create_graph the gradient is a constant: the penalty adds nothing to w.grad.
  Tensor w2 = tensor({0.5, 0.5}, float64).requires_grad_();
  Tensor l2 = sum(w2 * x * x);
  std::vector<Tensor> g2 = grad({l2}, {x}, {}, /*retain_graph=*/true);
  CHECK_FALSE(g2[0].requires_grad());
  (l2 + sum(g2[0] * g2[0])).backward();
  test::check_close(w2.grad(), {1.0, 4.0}, 1e-12);
}

TEST_CASE("backward(create_graph) leaves a .grad() that can be differentiated again") {
  Tensor x = tensor({0.5, -1.5}, float64).requires_grad_();
  sum(x * x * x).backward({}, false, /*create_graph=*/true);
  Tensor g = x.grad();  // 3x^2, with history
  REQUIRE(g.requires_grad());
  std::vector<Tensor> h = grad({sum(g)}, {x});
  test::check_close(h[0], {3.0, -9.0}, 1e-12);  // 6x
}

TEST_CASE("third derivatives of x^3 and tanh") {
  Tensor x = tensor({0.7, -1.2, 2.0}, float64).requires_grad_();
  auto third = [&](const std::function<Tensor(const Tensor&)>& f) {
    Tensor d1 = grad({sum(f(x))}, {x}, {}, false, true)[0];
    Tensor d2 = grad({sum(d1)}, {x}, {}, false, true)[0];
    return grad({sum(d2)}, {x})[0];
  };
  test::check_close(third([](const Tensor& t) { return t * t * t; }), {6.0, 6.0, 6.0}, 1e-12);
  test::check_close(third([](const Tensor& t) { return pow(t, 3.0); }), {6.0, 6.0, 6.0}, 1e-12);
  std::vector<double> expected;
  for (double v : {0.7, -1.2, 2.0}) {
    const double t = std::tanh(v), d = 1 - t * t;
    expected.push_back(d * (6 * t * t - 2));  // tanh''' = tanh' (6 tanh^2 - 2)
  }
  test::check_close(third([](const Tensor& t) { return tanh(t); }), expected, 1e-10);
}

namespace {
// A small MLP's loss as a function of its flattened first-layer weight.
Tensor mlp_loss(const Tensor& w1) {
  static const Tensor x = uniform({5, 3}, -1.0, 1.0, float64, nullptr);
  static const Tensor w2 = uniform({4, 2}, -1.0, 1.0, float64, nullptr);
  static const Tensor target = uniform({5, 2}, -1.0, 1.0, float64, nullptr);
  Tensor h = tanh(matmul(x, reshape(w1, {3, 4})));
  Tensor out = matmul(h, w2);
  return mean((out - target) * (out - target));
}
}  // namespace

TEST_CASE("the Hessian of a small MLP's loss matches finite differences of its gradient") {
  Tensor w = uniform({12}, -1.0, 1.0, float64, nullptr);
  const double eps = 1e-6;
  auto gradient = [](const Tensor& at) {
    Tensor leaf = at.detach().requires_grad_();
    return grad({mlp_loss(leaf)}, {leaf})[0].to_vector<double>();
  };
  for (std::int64_t j = 0; j < 12; ++j) {
    Tensor e = zeros({12}, float64);
    e.data<double>()[j] = 1.0;
    // Column j of the Hessian: H e_j by hvp, and by central differences of the gradient.
    FunctionalResult r = hvp([](const std::vector<Tensor>& xs) { return std::vector<Tensor>{mlp_loss(xs[0])}; }, {w}, {e});
    std::vector<double> plus = gradient(w + e * eps), minus = gradient(w - e * eps), numeric;
    for (std::size_t i = 0; i < plus.size(); ++i) numeric.push_back((plus[i] - minus[i]) / (2 * eps));
    test::check_close(r.product[0], numeric, 1e-5);
  }
}

TEST_CASE("vjp, jvp and hvp agree with the Jacobian written out") {
  // f(a, b) = (a * b, sum(a^2)): J wrt a is diag(b) and 2a, wrt b diag(a) and 0.
  TensorFunction f = [](const std::vector<Tensor>& xs) {
    return std::vector<Tensor>{xs[0] * xs[1], sum(xs[0] * xs[0])};
  };
  Tensor a = tensor({1.0, 2.0}, float64), b = tensor({3.0, -1.0}, float64);
  FunctionalResult v = vjp(f, {a, b}, {tensor({1.0, 10.0}, float64), scalar(2.0, float64)});
  test::check_close(v.outputs[0], {3.0, -2.0});
  test::check_close(v.product[0], {1.0 * 3.0 + 2 * 2 * 1.0, 10.0 * -1.0 + 2 * 2 * 2.0});
  test::check_close(v.product[1], {1.0, 20.0});
  CHECK_FALSE(v.product[0].requires_grad());
  FunctionalResult j = jvp(f, {a, b}, {tensor({1.0, 0.0}, float64), tensor({0.0, 1.0}, float64)});
  test::check_close(j.product[0], {3.0, 2.0});  // b0 * 1 + a0 * 0, b1 * 0 + a1 * 1
  test::check_close(j.product[1], {2.0});        // 2 a . u
  FunctionalResult h = hvp([](const std::vector<Tensor>& xs) { return std::vector<Tensor>{sum(xs[0] * xs[0] * xs[1])}; },
                           {a, b}, {tensor({1.0, 1.0}, float64), tensor({0.0, 0.0}, float64)});
  test::check_close(h.product[0], {6.0, -2.0});  // d2/da2 = 2b
  test::check_close(h.product[1], {2.0, 4.0});   // d2/dbda = 2a
  // The inputs' own .grad() is never touched.
  Tensor leaf = tensor({1.0}, float64).requires_grad_();
  (void)vjp([](const std::vector<Tensor>& xs) { return std::vector<Tensor>{xs[0] * 2.0}; }, {leaf});
  CHECK_FALSE(leaf.grad().defined());
}

namespace {
struct Cube : Function<Cube> {
  static constexpr const char* name = "cube";
  static Tensor forward(Context& ctx, const Tensor& x) {
    ctx.save_for_backward({x});
    return x * x * x;
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& gy) {
    const Tensor& x = ctx.saved()[0];
    return {gy[0] * 3.0 * x * x};
  }
};
struct ExpOut : Function<ExpOut> {  // saves its output
  static constexpr const char* name = "exp_out";
  static Tensor forward(Context& ctx, const Tensor& x) {
    Tensor y = exp(x);
    ctx.save_for_backward({y});
    return y;
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& gy) { return {gy[0] * ctx.saved()[0]}; }
};
}  // namespace

TEST_CASE("custom functions pass gradgradcheck when their backward is written in ops") {
  Tensor x = test::sample({2, 3});
  CHECK(gradgradcheck([](const std::vector<Tensor>& xs) { return Cube::apply(xs[0]); }, {x}));
  CHECK(gradgradcheck([](const std::vector<Tensor>& xs) { return ExpOut::apply(xs[0]); }, {x}));
  CHECK(gradgradcheck([](const std::vector<Tensor>& xs) {
          const Tensor& t = xs[0];
          return record("square", {t}, t.detach() * t.detach(), {t},
                        [](Context& b) { b.accumulate(0, 2.0 * b.saved(0) * b.gy()); });
        }, {x}));
}

TEST_CASE("recording while a backward runs is safe: entries never move") {
  // Many recorded entries during one create_graph backward (a long chain differentiated at once).
  Tensor x = scalar(0.3, float64).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 3000; ++i) y = sin(y);
  Tensor g = grad({y}, {x}, {}, false, true)[0];
  Tensor gg = grad({g}, {x})[0];
  // Finite differences of the first derivative.
  auto first = [](double v) {
    Tensor t = scalar(v, float64).requires_grad_();
    Tensor u = t;
    for (int i = 0; i < 3000; ++i) u = sin(u);
    return grad({u}, {t})[0].item();
  };
  CHECK(gg.item() == doctest::Approx((first(0.3 + 1e-6) - first(0.3 - 1e-6)) / 2e-6).epsilon(1e-4));
}

namespace {
// Runs f on a thread with exactly an 8 MiB stack.
void on_8mib_stack(std::function<void()> f) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 8u << 20);
  pthread_t thread;
  auto body = [](void* p) -> void* {
    (*static_cast<std::function<void()>*>(p))();
    return nullptr;
  };
  REQUIRE(pthread_create(&thread, &attr, body, &f) == 0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
}
}  // namespace

TEST_CASE("a 10^6-op chain runs forward and backward on an 8 MiB stack; the tape's memory comes back") {
  double grad_value = 0, bytes_per_entry = 0;
  std::size_t live = 0, after_backward = 1, after_drop = 1;
  on_8mib_stack([&] {
    Tensor x = scalar(1.0, float64).requires_grad_();
    {
      Tensor y = x;
      for (int i = 0; i < 1000000; ++i) y = (i % 2) ? y * 1.0 : tanh(y) + y;
      TapeStats stats = tape_stats();
      live = stats.live_entries;
      bytes_per_entry = static_cast<double>(stats.metadata_bytes) / static_cast<double>(stats.live_entries);
      y.backward();
      grad_value = x.grad().item();
    }
    after_backward = tape_stats().metadata_bytes;
    {
      Tensor y = x;
      for (int i = 0; i < 1000000; ++i) y = y * 1.0;
    }  // dropped without backward
    after_drop = tape_stats().metadata_bytes;
  });
  CHECK(live == 1500000);  // tanh, add, mul per two steps
  CHECK(std::isfinite(grad_value));
  MESSAGE("tape metadata per entry: " << bytes_per_entry << " bytes");
  CHECK(bytes_per_entry <= 200.0);
  CHECK(after_backward == 0);
  CHECK(after_drop == 0);
}

TEST_CASE("second derivatives of silu and softplus are right at exactly 0 (their sigmoid was differentiated through |x|)") {
  // silu''(0) = 2 σ'(0) = 0.5 and softplus''(0) = σ'(0) = 0.25; both came out wrong (0.25 and 0) at x = 0.
  for (auto [f, expected] : std::vector<std::pair<Tensor (*)(const Tensor&), double>>{
           {[](const Tensor& x) { return silu(x); }, 0.5}, {[](const Tensor& x) { return softplus(x); }, 0.25}}) {
    Tensor x = zeros({1}, float64).requires_grad_();
    Tensor g = grad({sum(f(x))}, {x}, {}, true, true)[0];
    Tensor h = grad({sum(g)}, {x})[0];
    CHECK(h.item() == doctest::Approx(expected).epsilon(1e-12));
  }
}
