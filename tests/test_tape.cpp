// The tape's regressions (REFERENCE.md lists the classic engine bugs, each gets a test here).
#include <cmath>
#include <thread>

#include "helpers.hpp"

using namespace tapegrad;

TEST_CASE("diamond: y = 3x, a = 2y, b = 5y, c = a + b gives dc/dx = 21") {
  Tensor x = scalar(1.5, float64);
  x.requires_grad_();
  Tensor y = 3.0 * x;
  Tensor c = 2.0 * y + 5.0 * y;
  c.backward();
  CHECK(x.grad().item() == 21.0);
}

TEST_CASE("x * x * x gives 3x^2") {
  Tensor x = tensor({-2.0, 0.5, 3.0}, float64);
  x.requires_grad_();
  sum(x * x * x).backward();
  test::check_close(x.grad(), {12.0, 0.75, 27.0});
}

TEST_CASE("1,000 consumers of one tensor accumulate their gradients") {
  Tensor x = tensor({1.0, 2.0}, float64);
  x.requires_grad_();
  Tensor total = zeros({2}, float64);
  for (int i = 0; i < 1000; ++i) total = total + x * static_cast<double>(i % 3);
  sum(total).backward();
  // sum over i of (i % 3) for i < 1000: 333 * (0 + 1 + 2) + (999 % 3 == 0 ? 0 : ...) = 999 + 0
  double expected = 0;
  for (int i = 0; i < 1000; ++i) expected += i % 3;
  test::check_close(x.grad(), {expected, expected});
}

TEST_CASE("two backward calls accumulate twice into .grad(), zero_grad clears") {
  Tensor x = tensor({1.0, -1.0}, float64);
  x.requires_grad_();
  for (int i = 0; i < 2; ++i) sum(x * x).backward();
  test::check_close(x.grad(), {4.0, -4.0});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
  sum(3.0 * x).backward();
  test::check_close(x.grad(), {3.0, 3.0});
}

TEST_CASE("a 150,000-op chain: backward and destruction do not overflow the stack") {
  Tensor x = scalar(1.0, float64);
  x.requires_grad_();
  {
    Tensor y = x;
    for (int i = 0; i < 150000; ++i) y = y * 1.0;
    CHECK(tape_stats().live_entries == 150000);
    y.backward();
    CHECK(x.grad().item() == 1.0);
  }
  CHECK(tape_stats().entries == 0);
  // and destruction without any backward
  {
    Tensor y = x;
    for (int i = 0; i < 150000; ++i) y = y + 0.0;
  }
  Tensor trigger = x * 1.0;  // a record runs the sweep only when the tape doubles; force one through backward
  trigger.backward();
  CHECK(tape_stats().entries == 0);
}

TEST_CASE("no-grad records nothing; inference keeps the tape empty") {
  Tensor w = ones({3, 3});
  w.requires_grad_();
  {
    NoGradGuard no_grad;
    CHECK_FALSE(is_grad_enabled());
    Tensor y = relu(matmul(w, w) - 1.0);
    CHECK_FALSE(y.requires_grad());
    CHECK(tape_stats().entries == 0);
  }
  CHECK(is_grad_enabled());
  Tensor a = ones({3});  // no input requires grad: nothing recorded either
  Tensor b = exp(a) * a;
  CHECK_FALSE(b.requires_grad());
  CHECK(tape_stats().entries == 0);
}

TEST_CASE("the tape's memory is back to zero after backward, and stays flat over a training loop") {
  Tensor w = test::sample({4, 4});
  Tensor x = ones({2, 4}, float64);
  for (int step = 0; step < 50; ++step) {
    Tensor loss = mean(tanh(matmul(x, w)) * 2.0);
    CHECK(tape_stats().live_entries > 0);
    CHECK(tape_stats().saved_tensors > 0);
    loss.backward();
    TapeStats stats = tape_stats();
    CHECK(stats.entries == 0);
    CHECK(stats.saved_tensors == 0);
    CHECK(stats.saved_bytes == 0);
  }
}

TEST_CASE("entries nobody can reach are swept when the tape grows") {
  Tensor w = test::sample({3});
  for (int i = 0; i < 5000; ++i) {
    Tensor unused = exp(w) * 2.0;  // dies at the end of the iteration, never backwarded
  }
  CHECK(tape_stats().entries < 2100);  // swept at each doubling past 1,024
}

TEST_CASE("retain_graph allows a second backward; without it the second raises GraphError") {
  Tensor x = tensor({2.0}, float64);
  x.requires_grad_();
  Tensor y = sum(x * x * x);
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  test::check_close(x.grad(), {24.0});
  CHECK_THROWS_AS(y.backward(), GraphError);
}

TEST_CASE("functional grad leaves .grad() untouched and handles intermediates") {
  Tensor x = tensor({1.0, 2.0}, float64);
  x.requires_grad_();
  Tensor h = x * 3.0;
  Tensor y = sum(h * h);
  auto grads = grad({y}, {x, h}, {}, /*retain_graph=*/true);
  test::check_close(grads[0], {18.0, 36.0});
  test::check_close(grads[1], {6.0, 12.0});
  CHECK_FALSE(x.grad().defined());
  Tensor other = test::sample({2});
  auto none = grad({y}, {other});
  test::check_close(none[0], {0.0, 0.0});
}

TEST_CASE("backward with a gradient for a non-scalar output") {
  Tensor x = tensor({1.0, 2.0, 3.0}, float64);
  x.requires_grad_();
  Tensor y = x * x;
  y.backward(tensor({1.0, 0.0, 2.0}, float64));
  test::check_close(x.grad(), {2.0, 0.0, 12.0});
}

TEST_CASE("in-place change of a tensor saved for backward raises GraphError, never a wrong gradient") {
  Tensor x = tensor({1.0, 2.0}, float64);
  x.requires_grad_();
  Tensor a = tensor({3.0, 4.0}, float64);
  Tensor y = sum(x * a);  // saves a
  a.add_(ones({2}, float64));
  CHECK_THROWS_AS(y.backward(), GraphError);
  // and a leaf that requires grad cannot be modified in place while recording
  CHECK_THROWS_AS(x.mul_(2.0), GraphError);
  {
    NoGradGuard no_grad;
    x.mul_(2.0);
  }
  test::check_close(x, {2.0, 4.0});
}

TEST_CASE("in-place change of a saved output (exp saves y) is caught too") {
  Tensor x = tensor({0.0, 1.0}, float64);
  x.requires_grad_();
  Tensor y = exp(x);
  Tensor z = sum(y * 1.0);
  {
    NoGradGuard no_grad;
    y.fill_(0.0);
  }
  CHECK_THROWS_AS(z.backward(), GraphError);
}

TEST_CASE("TapeScope releases what was recorded inside it") {
  Tensor x = test::sample({3});
  Tensor kept;
  const std::size_t before = tape_stats().entries;
  {
    TapeScope scope;
    kept = exp(x) * 2.0;
    CHECK(tape_stats().entries == before + 2);
  }
  CHECK(tape_stats().entries == before);
  CHECK_THROWS_AS(sum(kept).backward(), GraphError);
}

TEST_CASE("each op records its caller's source line") {
  Tensor x = test::sample({2});
  const int line = __LINE__ + 1;
  Tensor y = x * x;
  Tensor bad = tensor({1.0, 2.0, 3.0}, float64);
  try {
    (void)(y + bad);  // broadcast error names this file and line
    FAIL("expected a ShapeError");
  } catch (const ShapeError& e) {
    CHECK(e.where() == "test_tape.cpp:" + std::to_string(line + 3));
  }
  y.backward(ones({2}, float64));
}

TEST_CASE("each thread has its own tape; backward on another thread is refused") {
  Tensor x = test::sample({2});
  Tensor y = sum(x * x);
  bool refused = false;
  std::thread other([&] {
    try {
      y.backward();
    } catch (const GraphError&) {
      refused = true;
    }
    CHECK(tape_stats().entries == 0);
  });
  other.join();
  CHECK(refused);
  y.backward();
  CHECK(x.grad().defined());
}

TEST_CASE("grad() matches an intermediate by tape, not by serial alone: another thread's is refused") {
  // Two fresh threads record the same ops, so their intermediates carry the same serial numbers.
  auto record_graph = [](double factor, Tensor& h, Tensor& loss) {
    Tensor x = tensor({1.0, 2.0}, float64);
    x.requires_grad_();
    h = x * factor;
    loss = sum(h * h);
  };
  Tensor h_other, loss_other;
  std::thread([&] { record_graph(3.0, h_other, loss_other); }).join();
  Tensor h, loss;
  bool refused = false;
  std::vector<Tensor> own;
  std::thread([&] {
    record_graph(5.0, h, loss);
    try {
      (void)grad({loss}, {h_other}, {}, /*retain_graph=*/true);
    } catch (const GraphError&) {
      refused = true;
    }
    own = grad({loss}, {h});
  }).join();
  CHECK(h.impl().serial == h_other.impl().serial);
  CHECK(refused);
  test::check_close(own[0], {10.0, 20.0});  // d(sum h^2)/dh = 2h
}

TEST_CASE("broadcast gradients are summed back to each input's shape") {
  Tensor a = test::sample({3, 1});
  Tensor b = test::sample({4});
  sum(a * b).backward();
  CHECK(a.grad().shape() == Shape{3, 1});
  CHECK(b.grad().shape() == Shape{4});
  double bsum = sum(b.detach()).item(), asum = sum(a.detach()).item();
  for (double g : a.grad().to_vector<double>()) CHECK(g == doctest::Approx(bsum));
  for (double g : b.grad().to_vector<double>()) CHECK(g == doctest::Approx(asum));
}

TEST_CASE("softmax, log_softmax and logsumexp are stable at logits of +-1000") {
  Tensor logits = tensor({{1000.0, -1000.0, 999.0}, {-1000.0, -1000.0, -1000.0}}, float64);
  logits.requires_grad_();
  Tensor p = softmax(logits, 1);
  Tensor lp = log_softmax(logits, 1);
  Tensor lse = logsumexp(logits, {1});
  for (double v : p.detach().to_vector<double>()) CHECK(std::isfinite(v));
  for (double v : lp.detach().to_vector<double>()) CHECK(std::isfinite(v));
  test::check_close(lse, {1000.0 + std::log1p(std::exp(-1.0)), -1000.0 + std::log(3.0)});
  test::check_close(p.detach().sum({1}), {1.0, 1.0});
  sum(lp * tensor({1.0, 0.0, 0.0}, float64)).backward();
  for (double v : logits.grad().to_vector<double>()) CHECK(std::isfinite(v));
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return log_softmax(x[0], 1); }, {logits}));
}

TEST_CASE("a thread that ends with entries on its tape frees them safely (tape outliving the block pool)") {
  // tape_stats() first makes the tape before any tensor (and so before the block pool), so the tape is
  // destroyed after the pool at thread exit and gives its saved tensors' blocks back late.
  for (int i = 0; i < 3; ++i) {
    std::thread worker([] {
      (void)tape_stats();
      Tensor x = ones({4}, float64);
      x.requires_grad_();
      Tensor y = exp(x) * x;  // saved tensors stay on the tape: nobody runs backward
      CHECK(tape_stats().live_entries == 2);
    });
    worker.join();
  }
}
