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
