// Tensors: creation, layout, conversion, printing, random numbers, xtensor interop.
#include <sstream>
#include <thread>

#include <tapegrad/xtensor.hpp>

#include "helpers.hpp"

using namespace tapegrad;

TEST_CASE("creation: zeros, ones, full, arange, linspace, eye, nested lists") {
  Tensor z = zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.strides() == Strides{3, 1});
  CHECK(z.dtype() == float32);
  CHECK(z.numel() == 6);
  CHECK(full({2}, 2.5, float64).to_vector<double>() == std::vector<double>{2.5, 2.5});
  CHECK(arange(0.0, 1.0, 0.25, float64).to_vector<double>() == std::vector<double>{0.0, 0.25, 0.5, 0.75});
  CHECK(arange(3.0, int64).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 2});
  CHECK(arange(5.0, 0.0, -2.0, float64).to_vector<double>() == std::vector<double>{5, 3, 1});
  auto ls = linspace(0.0, 1.0, 5, float64).to_vector<double>();
  CHECK(ls == std::vector<double>{0.0, 0.25, 0.5, 0.75, 1.0});
  CHECK(eye(2, 3, int64).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 0, 0, 0, 1, 0});
  Tensor t = tensor({{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}}, float64);
  CHECK(t.shape() == Shape{2, 2, 2});
  CHECK(t.to_vector<double>()[5] == 6.0);
  CHECK(scalar(3.0).dim() == 0);
  CHECK(scalar(3.0).item() == 3.0);
  CHECK(zeros({0, 3}).numel() == 0);
}

TEST_CASE("to, contiguous, clone and detach") {
  Tensor a = tensor({{1.5, -2.5}, {3.0, 4.0}});
  CHECK(a.to(int64).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, -2, 3, 4});
  CHECK(a.to(float64).dtype() == float64);
  Tensor t = transpose(a, 0, 1);
  CHECK_FALSE(t.is_contiguous());
  Tensor c = t.contiguous();
  CHECK(c.is_contiguous());
  CHECK(c.to_vector<float>() == std::vector<float>{1.5f, 3.0f, -2.5f, 4.0f});
  Tensor cl = a.clone();
  cl.fill_(0.0);
  CHECK(a.to_vector<float>()[0] == 1.5f);  // clone owns its storage
  Tensor w = test::sample({2});
  Tensor d = (w * 2.0).detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
  // gradients flow through to() and clone()
  Tensor x = test::sample({3});
  sum(x.to(float32).clone() * 2.0f).backward();
  CHECK(x.grad().dtype() == float64);
  test::check_close(x.grad(), {2.0, 2.0, 2.0});
}

TEST_CASE("views share storage; reshape copies only when needed") {
  Tensor a = arange(0.0, 6.0, 1.0, float64);
  Tensor v = view(a, {2, 3});
  Tensor s = slice(v, 1, 1, 3);
  CHECK(s.shape() == Shape{2, 2});
  CHECK(s.to_vector<double>() == std::vector<double>{1, 2, 4, 5});
  a.fill_(7.0);
  CHECK(s.to_vector<double>()[0] == 7.0);
  Tensor e = expand(tensor({1.0, 2.0}), {3, 2});
  CHECK(e.strides() == Strides{0, 1});
}

TEST_CASE("nested-list literals have torch.tensor's shapes, column vectors and 1x1 included") {
  // {{1.0}, {2.0}} and {{1.0}} were ambiguous between the depth-1 and depth-2 overloads.
  Tensor column = tensor({{1.0}, {2.0}});
  CHECK(column.shape() == Shape{2, 1});
  CHECK(column.to_vector<float>() == std::vector<float>{1.0f, 2.0f});
  CHECK(tensor({{1.0}}).shape() == Shape{1, 1});
  CHECK(tensor({1.0}).shape() == Shape{1});
  CHECK(tensor({{{1.0}}}).shape() == Shape{1, 1, 1});
  CHECK(tensor({{{1.0}, {2.0}}, {{3.0}, {4.0}}}).shape() == Shape{2, 2, 1});
  CHECK(tensor({{1.0, 2.0}}).shape() == Shape{1, 2});
  // what worked before still means the same
  Tensor ints = tensor({1, 2});
  CHECK(ints.shape() == Shape{2});
  CHECK(ints.dtype() == float32);
  Tensor square = tensor({{1, 2}, {3, 4}}, float64);
  CHECK(square.shape() == Shape{2, 2});
  CHECK(square.to_vector<double>() == std::vector<double>{1, 2, 3, 4});
  CHECK(tensor({{1, 2}, {3, 4}}, int64).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2, 3, 4});
  // any depth, empty lists and a bare number, like torch.tensor
  CHECK(tensor({{{{1, 2}}}, {{{3, 4}}}}).shape() == Shape{2, 1, 1, 2});
  CHECK(tensor({}).shape() == Shape{0});
  CHECK(tensor({{}, {}}).shape() == Shape{2, 0});
  CHECK(tensor(2.5, float64).dim() == 0);
  CHECK(tensor(2.5, float64).item() == 2.5);
  // ragged lists are refused at the user's line
  const std::string where = "(at test_tensor.cpp:" + std::to_string(__LINE__ + 1) + ")";
  CHECK_THROWS_WITH_AS(tensor({{1.0, 2.0}, {3.0}}), doctest::Contains(where.c_str()), ShapeError);
  CHECK_THROWS_AS(tensor({1.0, {2.0}}), ShapeError);
  CHECK_THROWS_AS(tensor({{{1.0}, {2.0}}, {{3.0}, {4.0, 5.0}}}), ShapeError);
}

TEST_CASE("copy_ and add_ from a view of their own storage read every element before writing it") {
  Tensor x = arange(9.0, float64).reshape({3, 3});
  x.copy_(transpose(x, 0, 1));
  CHECK(x.to_vector<double>() == std::vector<double>{0, 3, 6, 1, 4, 7, 2, 5, 8});
  Tensor y = arange(9.0, float64).reshape({3, 3});
  y.add_(transpose(y, 0, 1), 2.0);
  CHECK(y.to_vector<double>() == std::vector<double>{0, 7, 14, 5, 12, 19, 10, 17, 24});
  // shifted windows of one buffer, in both directions (memmove, not memcpy)
  Tensor right = arange(6.0, float64);
  slice(right, 0, 1, 6).copy_(slice(right, 0, 0, 5));
  CHECK(right.to_vector<double>() == std::vector<double>{0, 0, 1, 2, 3, 4});
  Tensor left = arange(6.0, float64);
  slice(left, 0, 0, 5).copy_(slice(left, 0, 1, 6));
  CHECK(left.to_vector<double>() == std::vector<double>{1, 2, 3, 4, 5, 5});
  // a row broadcast over its own matrix, and a tensor copied onto itself
  Tensor m = arange(6.0, float64).reshape({2, 3});
  m.copy_(slice(m, 0, 1, 2));
  CHECK(m.to_vector<double>() == std::vector<double>{3, 4, 5, 3, 4, 5});
  m.copy_(m);
  CHECK(m.to_vector<double>() == std::vector<double>{3, 4, 5, 3, 4, 5});
}

TEST_CASE("in-place writes into an expanded (stride-0) view are refused, as in PyTorch") {
  Tensor e = expand(ones({1, 3}), {4, 3});
  const int line = __LINE__ + 1;
  CHECK_THROWS_WITH_AS(e.fill_(2.0), doctest::Contains("fill_: unsupported operation: more than one element"),
                       ValueError);
  try {
    e.add_(ones({4, 3}));
    FAIL("expected a ValueError");
  } catch (const ValueError& error) {
    CHECK(error.op() == "add_");
    CHECK(error.where() == "test_tensor.cpp:" + std::to_string(line + 3));
  }
  CHECK_THROWS_WITH_AS(e.zero_(), doctest::Contains("zero_:"), ValueError);
  CHECK_THROWS_AS(e.mul_(2.0), ValueError);
  CHECK_THROWS_AS(e.copy_(zeros({4, 3})), ValueError);
  CHECK_THROWS_AS(broadcast_to(ones({3}), {2, 3}).fill_(1.0), ValueError);
  CHECK(e.to_vector<float>() == std::vector<float>(12, 1.0f));  // nothing was written
  // a stride-0 axis of size 1 aliases nothing, and an expanded source is fine
  Tensor row = expand(zeros({1, 3}), {1, 3});
  row.fill_(2.0);
  Tensor t = zeros({4, 3});
  t.copy_(e);
  CHECK(t.to_vector<float>() == std::vector<float>(12, 1.0f));
}

TEST_CASE("set_grad checks the gradient's shape and dtype") {
  Tensor w = zeros({3});
  w.requires_grad_();
  const std::string expected = "set_grad: the gradient must have the tensor's shape, got [2] for a tensor of "
                               "shape [3] (at test_tensor.cpp:" + std::to_string(__LINE__ + 1) + ")";
  CHECK_THROWS_WITH_AS(w.set_grad(zeros({2})), expected.c_str(), ShapeError);
  CHECK_THROWS_AS(w.set_grad(zeros({3}, float64)), DTypeError);
  CHECK_FALSE(w.grad().defined());
  w.set_grad(ones({3}));
  CHECK(w.grad().to_vector<float>() == std::vector<float>{1, 1, 1});
  w.set_grad(Tensor());
  CHECK_FALSE(w.grad().defined());
}

TEST_CASE("printing like PyTorch, elided when large") {
  std::ostringstream out;
  out << tensor({{1.0, 2.0}, {3.0, 4.0}});
  CHECK(out.str() == "tensor([[1., 2.],\n        [3., 4.]], shape=[2, 2], dtype=float32)");
  Tensor x = tensor({0.5, -1.25}, float64);
  x.requires_grad_();
  CHECK(x.to_string() == "tensor([ 0.5000, -1.2500], shape=[2], dtype=float64, requires_grad=true)");
  CHECK(scalar(3.0, int64).to_string() == "tensor(3, shape=[], dtype=int64)");
  std::string big = arange(2000.0).to_string();
  CHECK(big.find("...") != std::string::npos);
  CHECK(big.find("1999.") != std::string::npos);
  CHECK(big.size() < 200);
}

TEST_CASE("seeded random numbers repeat, and do not depend on how they are drawn") {
  Generator g1(42), g2(42);
  auto a = uniform({1000}, 0.0, 1.0, float64, &g1).to_vector<double>();
  auto b = uniform({1000}, 0.0, 1.0, float64, &g2).to_vector<double>();
  CHECK(a == b);
  for (double v : a) CHECK((v >= 0.0 && v < 1.0));
  // The same counters drawn in two halves give the same numbers as one draw.
  Generator g3(42);
  auto first = uniform({500}, 0.0, 1.0, float64, &g3).to_vector<double>();
  auto second = uniform({500}, 0.0, 1.0, float64, &g3).to_vector<double>();
  first.insert(first.end(), second.begin(), second.end());
  CHECK(first == a);
  // normal: mean and std close to 0 and 1 over 100k samples
  Generator g4(7);
  Tensor n = normal({100000}, 0.0, 1.0, float64, &g4);
  CHECK(mean(n).item() == doctest::Approx(0.0).epsilon(0.02).scale(1.0));
  CHECK(var(n).item() == doctest::Approx(1.0).epsilon(0.02));
  Generator g5(3);
  double p = mean(bernoulli({100000}, 0.3, float64, &g5)).item();
  CHECK(p == doctest::Approx(0.3).epsilon(0.02));
  Generator g6(3);
  auto ints = randint(-2, 3, {1000}, &g6).to_vector<std::int64_t>();
  for (auto v : ints) CHECK((v >= -2 && v < 3));
  // the default generator
  manual_seed(5);
  auto r1 = randn({4}).to_vector<float>();
  manual_seed(5);
  CHECK(randn({4}).to_vector<float>() == r1);
}

TEST_CASE("xtensor interop: from and to xarray, and a shared view") {
  xt::xarray<double> arr = {{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}};
  Tensor t = from_xarray(arr);
  CHECK(t.shape() == Shape{2, 3});
  CHECK(t.dtype() == float64);
  xt::xarray<double> back = to_xarray<double>(transpose(t, 0, 1));
  CHECK(back(2, 1) == 6.0);
  CHECK(back.shape()[0] == 3);
  Tensor tt = transpose(t, 0, 1);
  auto view = as_xview<double>(tt);
  CHECK(view(2, 0) == 3.0);
  view(0, 1) = 40.0;
  CHECK(t.to_vector<double>()[3] == 40.0);
}
