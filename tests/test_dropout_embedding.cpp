// dropout, dropout2d and embedding: what a gradcheck cannot see (the mask's law and its independence
// from the thread count, the edge values of p, padding_idx cutting the gradient), and their errors.
// Their gradchecks are rows of the op table in test_ops.cpp.
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "helpers.hpp"

using namespace tapegrad;

namespace {

// Restores the thread count a test changed.
struct ThreadCount {
  int saved = get_num_threads();
  ~ThreadCount() { set_num_threads(saved); }
};

}  // namespace

TEST_CASE("dropout zeroes a fraction p and scales the rest by 1 / (1 - p); the gradient is the same mask") {
  const double p = 0.3;
  Tensor x = full({400, 250}, 2.0, float64);
  x.requires_grad_();
  Generator gen(5);
  Tensor y = dropout(x, p, true, &gen);
  sum(y).backward();
  std::vector<double> values = y.detach().to_vector<double>(), g = x.grad().to_vector<double>();
  std::size_t zeros_seen = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const bool dropped = values[i] == 0.0;
    zeros_seen += dropped;
    if (!dropped) CHECK(values[i] == doctest::Approx(2.0 / (1.0 - p)).epsilon(1e-15));
    CHECK(g[i] == values[i] / 2.0);  // the mask, scaled
  }
  // 10^5 Bernoulli(0.3) draws: the standard deviation of the fraction is 0.00145.
  CHECK(static_cast<double>(zeros_seen) / static_cast<double>(values.size()) == doctest::Approx(p).epsilon(0.03));
}

TEST_CASE("dropout: the same seed gives the same mask at 1 and 2 threads; successive draws differ") {
  ThreadCount restore;
  std::map<int, std::vector<double>> masks;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    Generator gen(11);
    masks[threads] = dropout(ones({300, 300}, float32), 0.5, true, &gen).to(float64).to_vector<double>();
    Tensor second = dropout(ones({300, 300}, float32), 0.5, true, &gen);
    CHECK(second.to(float64).to_vector<double>() != masks[threads]);
  }
  CHECK(masks[1] == masks[2]);
  // dropout2d draws one value per (n, c): each channel is all zeros or all 2.
  Generator gen(3);
  Tensor y = dropout2d(ones({4, 8, 3, 3}, float64), 0.5, true, &gen);
  std::vector<double> v = y.to_vector<double>();
  for (std::size_t channel = 0; channel < 32; ++channel)
    for (std::size_t i = 1; i < 9; ++i) CHECK(v[channel * 9 + i] == v[channel * 9]);
}

TEST_CASE("dropout edge cases: p = 0 and eval return x itself, p = 1 gives zeros and a zero gradient") {
  Tensor x = test::sample({3, 4});
  CHECK(dropout(x, 0.0).same(x));
  CHECK(dropout(x, 0.7, false).same(x));
  CHECK(dropout2d(reshape(x, {1, 3, 2, 2}), 0.7, false).shape() == Shape{1, 3, 2, 2});
  Tensor y = dropout(x, 1.0);
  for (double v : y.detach().to_vector<double>()) CHECK(v == 0.0);
  sum(y).backward();
  for (double g : x.grad().to_vector<double>()) CHECK(g == 0.0);
  // an int64 tensor passes through in eval, as in PyTorch; training needs a floating dtype
  Tensor ints = arange(0.0, 4.0, 1.0, int64);
  CHECK(dropout(ints, 0.5, false).same(ints));
  CHECK_THROWS_AS(dropout(ints, 0.5, true), DTypeError);
  CHECK(dropout(zeros({0, 3}), 0.5).shape() == Shape{0, 3});
  for (double bad : {-0.1, 1.5, double(NAN)}) {
    CHECK_THROWS_AS(dropout(x, bad), ValueError);
    CHECK_THROWS_AS(dropout(x, bad, false), ValueError);  // checked in eval too, as in PyTorch
  }
  const int line = __LINE__ + 1;
  std::string m = test::message_of<ValueError>([&] { dropout2d(ones({1, 2, 2, 2}), 2.0); });
  CHECK(m == "dropout2d: the dropout probability p must lie in [0, 1], got 2.000000 (at test_dropout_embedding.cpp:" +
                 std::to_string(line) + ")");
  CHECK_THROWS_AS(dropout2d(ones({2, 2}), 0.5), ShapeError);
}

TEST_CASE("embedding: rows at any index shape; the gradient counts each row's uses, none at padding_idx") {
  // weight[r][c] = 10 r + c; torch.nn.functional.embedding(indices, weight, padding_idx=2)
  const std::int64_t rows = 5, dim = 3;
  std::vector<double> w(rows * dim);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < dim; ++c) w[static_cast<std::size_t>(r * dim + c)] = 10.0 * r + c;
  const std::vector<std::int64_t> index = {2, 0, 4, 2, 2, 1};
  for (std::optional<std::int64_t> padding : {std::optional<std::int64_t>{}, std::optional<std::int64_t>{2},
                                              std::optional<std::int64_t>{-3}}) {
    INFO("padding_idx " << padding.value_or(-999));
    Tensor weight = from_vector(w, {rows, dim});
    weight.requires_grad_();
    Tensor y = embedding(from_vector(index, {2, 3}), weight, padding);
    REQUIRE(y.shape() == Shape{2, 3, dim});
    std::vector<double> values = y.detach().to_vector<double>(), expected;
    for (std::int64_t i : index)
      for (std::int64_t c = 0; c < dim; ++c) expected.push_back(10.0 * i + c);
    CHECK(values == expected);  // the padding row's values too: only its gradient is cut
    sum(y * y).backward();
    std::vector<double> g = weight.grad().to_vector<double>(), expected_grad(w.size(), 0.0);
    for (std::int64_t i : index)
      if (!padding || i != 2)
        for (std::int64_t c = 0; c < dim; ++c)
          expected_grad[static_cast<std::size_t>(i * dim + c)] += 2.0 * (10.0 * i + c);
    CHECK(g == expected_grad);
  }
  // a 0-d index gives one row; an empty index none
  CHECK(embedding(scalar(3, int64), ones({5, 2})).shape() == Shape{2});
  CHECK(embedding(zeros({0, 4}, int64), ones({5, 2})).shape() == Shape{0, 4, 2});
}

TEST_CASE("embedding errors name the index, its position and the caller's line") {
  Tensor weight = ones({4, 2});
  const int line = __LINE__ + 1;
  std::string m = test::message_of<ValueError>([&] { embedding(from_vector(std::vector<std::int64_t>{0, 4}, {2}), weight); });
  CHECK(m == "embedding: indices must lie in [0, 4), got index 4 at position 1 (at test_dropout_embedding.cpp:" +
                 std::to_string(line) + ")");
  CHECK_THROWS_AS(embedding(from_vector(std::vector<std::int64_t>{-1}, {1}), weight), ValueError);  // torch: IndexError
  CHECK_THROWS_AS(embedding(zeros({2}), weight), DTypeError);  // float indices (or the arguments swapped)
  CHECK_THROWS_AS(embedding(zeros({2}, int64), ones({4})), ShapeError);
  CHECK_THROWS_AS(embedding(zeros({2}, int64), weight, 4), ValueError);
  CHECK_THROWS_AS(embedding(zeros({2}, int64), weight, -5), ValueError);
  CHECK_THROWS_AS(embedding(Tensor(), weight), ValueError);
}
