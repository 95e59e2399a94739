// Gradients of views that read one region of their input (narrow, slice, select, split, unbind,
// index_select): each adds into its region of one gradient buffer (Context::accumulate_region), so
// reading T slices of a tensor costs O(T * slice) in backward, not O(T * tensor).
#include <chrono>

#include "helpers.hpp"

using namespace tapegrad;

TEST_CASE("split and unbind are one op each, with one output per piece") {
  Tensor x = zeros({6, 2}).requires_grad_();
  const std::size_t before = tape_stats().live_entries;
  std::vector<Tensor> pieces = split(x, 2, 0);
  std::vector<Tensor> rows = unbind(x, 0);
  CHECK(pieces.size() == 3);
  CHECK(rows.size() == 6);
  CHECK(tape_stats().live_entries == before + 2);
  CHECK(rows[4].shape() == Shape{2});
  CHECK(pieces[2].shape() == Shape{2, 2});
}

TEST_CASE("unbind gives torch.unbind's pieces and gradient; unused pieces give zeros") {
  // torch: x = arange(6.).reshape(2, 3); a, b, c = x.unbind(1) -> a = [0, 3], c = [2, 5];
  // (a * 2 + c * 3).sum().backward() -> x.grad = [[2, 0, 3], [2, 0, 3]].
  Tensor x = arange(6.0, float64).reshape({2, 3}).detach().requires_grad_();
  std::vector<Tensor> p = unbind(x, 1);
  REQUIRE(p.size() == 3);
  test::check_close(p[0], {0, 3});
  test::check_close(p[2], {2, 5});
  sum(p[0] * 2.0 + p[2] * 3.0).backward();
  test::check_close(x.grad(), {2, 0, 3, 2, 0, 3});
  CHECK(unbind(x, -1)[1].to_vector<double>() == std::vector<double>{1, 4});
}

TEST_CASE("index_select's gradient sums repeated rows and leaves the rows outside its span at zero") {
  Tensor x = zeros({6, 2}, float64).requires_grad_();
  Tensor w = tensor({{1.0, 2.0}, {10.0, 20.0}, {100.0, 200.0}, {1000.0, 2000.0}}, float64);
  sum(index_select(x, 0, from_vector<std::int64_t>({4, 2, 4, -2}, {4})) * w).backward();
  // Row 4 is read three times (4, 4 and -2): 1 + 100 + 1000 and 2 + 200 + 2000; row 2 once.
  test::check_close(x.grad(), {0, 0, 0, 0, 10, 20, 0, 0, 1101, 2202, 0, 0});
}

TEST_CASE("regions and whole gradients reaching one tensor add up, in either order") {
  // d/dx of sum(narrow(x, 0, 1, 2) * 3) + sum(x * x) + sum(select(x, 0, 0)) = 3 [row 1, 2] + 2x + [row 0]
  for (int order = 0; order < 2; ++order) {
    Tensor x = arange(6.0, float64).reshape({3, 2}).detach().requires_grad_();
    Tensor a = sum(narrow(x, 0, 1, 2) * 3.0), b = sum(x * x), c = sum(select(x, 0, 0));
    Tensor loss = order == 0 ? a + b + c : b + c + a;
    loss.backward();
    test::check_close(x.grad(), {1, 3, 7, 9, 11, 13});
  }
}

TEST_CASE("create_graph through narrow, select and index_select gives the second derivative") {
  // f = sum(narrow(x)^3) + sum(select(x)^3) + sum(index_select(x)^3); df/dx_i = 3 c_i x_i^2 with c_i how
  // often x_i is read; d/dx sum(df/dx) = 6 c_i x_i.
  Tensor x = tensor({1.0, -2.0, 0.5, 3.0}, float64).requires_grad_();
  auto cube = [](const Tensor& t) { return t * t * t; };
  Tensor f = sum(cube(narrow(x, 0, 1, 2))) + sum(cube(select(x, 0, 3))) +
             sum(cube(index_select(x, 0, from_vector<std::int64_t>({0, 3, 0}, {3}))));
  std::vector<Tensor> g = grad({f}, {x}, {}, false, true);
  test::check_close(g[0], {3 * 2 * 1.0, 3 * 1 * 4.0, 3 * 1 * 0.25, 3 * 2 * 9.0});
  sum(g[0]).backward();
  test::check_close(x.grad(), {6 * 2 * 1.0, 6 * 1 * -2.0, 6 * 1 * 0.5, 6 * 2 * 3.0});
}

namespace {

enum class Read { narrow, select, leaves };

// h = tanh(x_t * w + h * u) over T steps, x_t read from one leaf X [T, 8] (narrow or select) or from T
// separate leaves; returns the gradient with respect to every x_t as a [T, 8] tensor and the backward time.
std::pair<std::vector<float>, double> rnn(std::int64_t T, Read read) {
  Generator gen(7);
  Tensor X = uniform({T, 8}, -1.0, 1.0, float32, &gen);
  Tensor w = uniform({8}, -1.0, 1.0, float32, &gen).requires_grad_();
  Tensor u = uniform({8}, -1.0, 1.0, float32, &gen).requires_grad_();
  std::vector<Tensor> leaves;
  if (read == Read::leaves)
    for (std::int64_t t = 0; t < T; ++t) leaves.push_back(select(X, 0, t).clone().requires_grad_());
  X.requires_grad_();
  Tensor h = zeros({8});
  for (std::int64_t t = 0; t < T; ++t) {
    Tensor x = read == Read::narrow ? reshape(narrow(X, 0, t, 1), {8})
               : read == Read::select ? select(X, 0, t)
                                      : leaves[static_cast<std::size_t>(t)];
    h = tanh(x * w + h * u);
  }
  Tensor loss = sum(h);
  const auto start = std::chrono::steady_clock::now();
  loss.backward();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (read != Read::leaves) return {X.grad().to_vector<float>(), seconds};
  std::vector<float> g;
  for (const Tensor& leaf : leaves) {
    std::vector<float> row = leaf.grad().to_vector<float>();
    g.insert(g.end(), row.begin(), row.end());
  }
  return {g, seconds};
}

}  // namespace

TEST_CASE("an RNN reading x_t through narrow or select from one leaf gets the gradient of separate leaves") {
  // Each region's gradient is added into zeros once, so the result is bitwise the separate leaves'.
  // Timing is printed, not asserted (bench/bench_regions.cpp measures T = 10^5).
  const std::int64_t T = 20000;
  auto [by_leaves, leaves_s] = rnn(T, Read::leaves);
  auto [by_narrow, narrow_s] = rnn(T, Read::narrow);
  auto [by_select, select_s] = rnn(T, Read::select);
  REQUIRE(by_leaves.size() == static_cast<std::size_t>(T * 8));
  CHECK(by_narrow == by_leaves);
  CHECK(by_select == by_leaves);
  MESSAGE("backward of a " << T << "-step RNN: separate leaves " << leaves_s << " s, narrow " << narrow_s
                           << " s, select " << select_s << " s");
}
