// Bad input gets a typed exception "<op>: <rule>, got <observed> (at file:line)", the line being the
// user's call; never a crash.
#include <string>

#include "helpers.hpp"

using namespace tapegrad;
using test::message_of;

namespace {
std::string here(int line) { return "(at test_errors.cpp:" + std::to_string(line) + ")"; }
}  // namespace

TEST_CASE("matmul inner dimensions") {
  Tensor a = zeros({3, 4}), b = zeros({5, 2});
  int line = __LINE__ + 1;
  auto m = message_of<ShapeError>([&] { matmul(a, b); });
  CHECK(m == "matmul: inner dimensions must agree, got a=[3, 4], b=[5, 2] " + here(line));
}

TEST_CASE("incompatible broadcast shapes, through an operator too") {
  Tensor a = zeros({2, 3}), b = zeros({4});
  int line = __LINE__ + 1;
  auto m = message_of<ShapeError>([&] { return a + b; });
  CHECK(m == "add: shapes must be equal or 1 in each trailing axis, got [2, 3] and [4] " + here(line));
  line = __LINE__ + 1;
  m = message_of<ShapeError>([&] { return mul(a, b); });
  CHECK(m.find(here(line)) != std::string::npos);
}

TEST_CASE("axis out of range") {
  Tensor a = zeros({2, 3});
  int line = __LINE__ + 1;
  auto m = message_of<ShapeError>([&] { return sum(a, {2}); });
  CHECK(m == "sum: axis must be in [-2, 2), got axis 2 for a tensor of rank 2 " + here(line));
  CHECK_THROWS_AS(softmax(a, -3), ShapeError);
  CHECK_THROWS_AS(transpose(a, 0, 5), ShapeError);
  CHECK_THROWS_AS(unsqueeze(a, 3), ShapeError);
  CHECK_THROWS_AS(argmax(a, 2), ShapeError);
  CHECK_THROWS_AS(concat({a, a}, 2), ShapeError);
}

TEST_CASE("dtype mismatches: int64 where a float is required") {
  Tensor labels = arange(4.0, int64);
  int line = __LINE__ + 1;
  auto m = message_of<DTypeError>([&] { return exp(labels); });
  CHECK(m == "exp: input must have a floating dtype (float32 or float64), got int64 " + here(line));
  CHECK_THROWS_AS(labels.requires_grad_(), DTypeError);
  CHECK_THROWS_AS(index_select(zeros({3, 2}), 0, zeros({2})), DTypeError);
  CHECK_THROWS_AS(matmul(labels, labels), DTypeError);
  CHECK_THROWS_AS(pow(labels, labels), DTypeError);  // (div is true division: float32)
  CHECK_THROWS_AS(labels.data<float>(), DTypeError);
}

TEST_CASE("backward on a non-scalar without a gradient") {
  Tensor x = test::sample({3});
  Tensor y = x * 2.0;
  int line = __LINE__ + 1;
  auto m = message_of<GraphError>([&] { y.backward(); });
  CHECK(m == "backward: a gradient must be given for a non-scalar output, got shape [3] " + here(line));
  CHECK_THROWS_AS(y.backward(ones({2}, float64)), ShapeError);
  y.backward(ones({3}, float64));
}

TEST_CASE("backward twice through a released tape") {
  Tensor x = test::sample({3});
  Tensor y = sum(exp(x));
  y.backward();
  int line = __LINE__ + 1;
  auto m = message_of<GraphError>([&] { y.backward(); });
  CHECK(m.find("backward through a released tape") != std::string::npos);
  CHECK(m.find(here(line)) != std::string::npos);
  // an intermediate reused after its graph was freed
  Tensor h = exp(x);
  Tensor z = sum(h);
  z.backward();
  Tensor w = sum(h * 2.0);
  CHECK_THROWS_AS(w.backward(), GraphError);
}

TEST_CASE("backward of something that does not require grad") {
  Tensor y = sum(ones({3}));
  CHECK_THROWS_AS(y.backward(), GraphError);
}

TEST_CASE("reshape and view to a wrong numel") {
  Tensor a = zeros({2, 3});
  int line = __LINE__ + 1;
  auto m = message_of<ShapeError>([&] { return reshape(a, {4, 2}); });
  CHECK(m == "reshape: the shape must have the same number of elements as the input, got [4, 2] for an input of "
             "shape [2, 3] " + here(line));
  CHECK_THROWS_AS(reshape(a, {-1, -1}), ShapeError);
  CHECK_THROWS_AS(reshape(a, {4, -1}), ShapeError);
  CHECK_THROWS_AS(view(transpose(a, 0, 1), {6}), ShapeError);  // needs a copy
  CHECK(reshape(transpose(a, 0, 1), {6}).shape() == Shape{6});
}

TEST_CASE("other bad inputs: indices, sizes, empty reductions, undefined tensors") {
  Tensor a = zeros({3, 2});
  CHECK_THROWS_AS(index_select(a, 0, from_vector<std::int64_t>({3}, {1})), ValueError);
  CHECK_THROWS_AS(gather(a, 1, from_vector<std::int64_t>({0, 2, 0, 0, 0, 0}, {3, 2})), ValueError);
  CHECK_THROWS_AS(max(zeros({0})), ShapeError);
  CHECK_THROWS_AS(argmax(zeros({0})), ShapeError);
  CHECK_THROWS_AS(narrow(a, 0, 2, 2), ValueError);
  CHECK_THROWS_AS(zeros({-1}), ValueError);
  CHECK_THROWS_AS(exp(Tensor()), ValueError);
  CHECK_THROWS_AS(Tensor().shape(), ValueError);
  CHECK_THROWS_AS(a.item(), ShapeError);
  CHECK_THROWS_AS(split(a, {1, 1}, 0), ShapeError);
  CHECK_THROWS_AS(pad(a, {1}), ShapeError);
  CHECK_THROWS_AS(expand(a, {3, 4}), ShapeError);
  CHECK_THROWS_AS(stack({a, zeros({2, 3})}), ShapeError);
  CHECK_THROWS_AS(tensor({{1.0, 2.0}, {3.0}}), ShapeError);
  CHECK_THROWS_AS(set_num_threads(0), ValueError);
  CHECK_THROWS_AS(clamp(a, 1.0, -1.0), ValueError);
}
