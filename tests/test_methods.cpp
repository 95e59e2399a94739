// What a PyTorch user reaches for: method forms, comparison operators, where with scalars, select,
// and max/min over one axis with indices. (Their gradchecks are rows of the op table in test_ops.cpp.)
#include <cmath>
#include <functional>
#include <type_traits>

#include "helpers.hpp"

using namespace tapegrad;
using test::sample;

namespace {

std::vector<double> values(const Tensor& t) {
  return t.detach().to(float64).contiguous().to_vector<double>();
}

template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

Tensor ints(std::vector<std::int64_t> v) { return from_vector(v, {static_cast<std::int64_t>(v.size())}); }

}  // namespace

// max(x, 1) is the values-and-indices form; max(x, {1}) and max(x) stay reductions returning a Tensor.
static_assert(std::is_same_v<decltype(max(std::declval<Tensor>(), 1)), ValuesIndices>);
static_assert(std::is_same_v<decltype(max(std::declval<Tensor>(), std::int64_t{1}, true)), ValuesIndices>);
static_assert(std::is_same_v<decltype(max(std::declval<Tensor>(), {1})), Tensor>);
static_assert(std::is_same_v<decltype(max(std::declval<Tensor>(), {})), Tensor>);
static_assert(std::is_same_v<decltype(min(std::declval<Tensor>(), {0, 1}, true)), Tensor>);
static_assert(std::is_same_v<decltype(std::declval<Tensor>().max(1)), ValuesIndices>);
static_assert(std::is_same_v<decltype(std::declval<Tensor>().max({1})), Tensor>);
static_assert(std::is_same_v<decltype(std::declval<Tensor>().min()), Tensor>);
static_assert(std::is_same_v<decltype(std::declval<Tensor>() > 0), Tensor>);
static_assert(std::is_same_v<decltype(std::declval<Tensor>() == std::declval<Tensor>()), Tensor>);

TEST_CASE("every method form gives what its free function gives") {
  Tensor x = sample({2, 3, 4}, 0.5, 2.0), y = sample({3, 4}), m = sample({3, 4});
  Tensor index = ints({2, 0});
  struct Row {
    const char* name;
    Tensor method, function;
  };
  const std::vector<Row> rows = {
      {"add", x.add(y), add(x, y)},
      {"sub", x.sub(y), sub(x, y)},
      {"mul", x.mul(y), mul(x, y)},
      {"div", x.div(y), div(x, y)},
      {"neg", x.neg(), neg(x)},
      {"exp", x.exp(), exp(x)},
      {"log", x.log(), log(x)},
      {"sqrt", x.sqrt(), sqrt(x)},
      {"abs", y.abs(), abs(y)},
      {"relu", y.relu(), relu(y)},
      {"sigmoid", y.sigmoid(), sigmoid(y)},
      {"tanh", y.tanh(), tanh(y)},
      {"pow scalar", x.pow(2.5), pow(x, 2.5)},
      {"pow tensor", x.pow(y), pow(x, y)},
      {"clamp", y.clamp(-0.5, 0.5), clamp(y, -0.5, 0.5)},
      {"clamp_min", y.clamp_min(0.1), clamp_min(y, 0.1)},
      {"clamp_max", y.clamp_max(0.1), clamp_max(y, 0.1)},
      {"eq", y.eq(m), eq(y, m)},
      {"ne", y.ne(m), ne(y, m)},
      {"lt", y.lt(m), lt(y, m)},
      {"le", y.le(m), le(y, m)},
      {"gt", y.gt(m), gt(y, m)},
      {"ge", y.ge(m), ge(y, m)},
      {"var", x.var({0, 2}, 0, true), var(x, {0, 2}, 0, true)},
      {"max", x.max(), max(x)},
      {"max axes", x.max({2}, true), max(x, Axes{2}, true)},
      {"min axes", x.min({0, 1}), min(x, Axes{0, 1})},
      {"max axis values", x.max(1).values, max_with_indices(x, 1).values},
      {"max axis indices", x.max(1).indices, max_with_indices(x, 1).indices},
      {"min axis keepdim", x.min(-1, true).values, min_with_indices(x, -1, true).values},
      {"sum axis", x.sum(1), sum(x, Axes{1})},
      {"sum axis function", sum(x, -1, true), sum(x, Axes{-1}, true)},
      {"sum of all axes", sum(x, {}), sum(x)},
      {"mean axis", x.mean(0, true), mean(x, Axes{0}, true)},
      {"mean axis function", mean(x, 2), mean(x, Axes{2})},
      {"var axis", x.var(1, 0), var(x, Axes{1}, 0)},
      {"var axis function", var(x, 1), var(x, Axes{1})},
      {"logsumexp axis", x.logsumexp(-1), logsumexp(x, Axes{-1})},
      {"logsumexp axis function", logsumexp(x, 0, true), logsumexp(x, Axes{0}, true)},
      {"squeeze axis", x.unsqueeze(1).squeeze(1), x},
      {"squeeze axis function", squeeze(x.unsqueeze(0), 0), x},
      {"argmax", x.argmax(1), argmax(x, 1)},
      {"argmax flat", x.argmax(), argmax(x)},
      {"argmin", x.argmin(0, true), argmin(x, 0, true)},
      {"logsumexp", x.logsumexp({1}), logsumexp(x, {1})},
      {"softmax", x.softmax(1), softmax(x, 1)},
      {"log_softmax", x.log_softmax(), log_softmax(x)},
      {"unsqueeze", x.unsqueeze(1), unsqueeze(x, 1)},
      {"squeeze", x.unsqueeze(0).squeeze(), x},
      {"flatten", x.flatten(1), flatten(x, 1)},
      {"permute", x.permute({2, 0, 1}), permute(x, {2, 0, 1})},
      {"t", y.t(), transpose(y, 0, 1)},
      {"expand", y.unsqueeze(0).expand({2, 3, 4}), expand(unsqueeze(y, 0), {2, 3, 4})},
      {"narrow", x.narrow(2, 1, 2), narrow(x, 2, 1, 2)},
      {"slice", x.slice(-1, 0, 4, 3), slice(x, -1, 0, 4, 3)},
      {"select", x.select(1, -1), select(x, 1, -1)},
      {"index_select", x.index_select(1, index), index_select(x, 1, index)},
      {"gather", y.gather(1, from_vector(std::vector<std::int64_t>{3, 0, 1}, {3, 1})),
       gather(y, 1, from_vector(std::vector<std::int64_t>{3, 0, 1}, {3, 1}))},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    CHECK(row.method.shape() == row.function.shape());
    CHECK(row.method.dtype() == row.function.dtype());
    CHECK(values(row.method) == values(row.function));
  }
}

TEST_CASE("t() transposes a matrix, returns 0-d and 1-d tensors as they are, and refuses more axes") {
  Tensor v = sample({3});
  CHECK(v.t().same(v));
  CHECK(scalar(2.0).t().item() == 2.0);
  CHECK(sample({2, 3}).t().shape() == Shape{3, 2});
  const int line = __LINE__ + 1;
  std::string m = message_of([] { sample({2, 3, 4}).t(); });
  CHECK(m ==
        "t: the input must have at most 2 axes (use transpose or permute), got shape [2, 3, 4] (at "
        "test_methods.cpp:" +
            std::to_string(line) + ")");
}

TEST_CASE(
    "comparison operators give the masks of eq ne lt le gt ge, with tensors or scalars on either side") {
  Tensor a = tensor({-1.0, 0.0, 2.0, 3.0}), b = tensor({0.0, 0.0, 3.0, 1.0});
  using V = std::vector<double>;
  CHECK(values(a == b) == V{0, 1, 0, 0});
  CHECK(values(a != b) == V{1, 0, 1, 1});
  CHECK(values(a < b) == V{1, 0, 1, 0});
  CHECK(values(a <= b) == V{1, 1, 1, 0});
  CHECK(values(a > b) == V{0, 0, 0, 1});
  CHECK(values(a >= b) == V{0, 1, 0, 1});
  CHECK(values(a > 0) == V{0, 0, 1, 1});
  CHECK(values(a >= 0) == V{0, 1, 1, 1});
  CHECK(values(a < 0) == V{1, 0, 0, 0});
  CHECK(values(a <= 0.0) == V{1, 1, 0, 0});
  CHECK(values(a == 2) == V{0, 0, 1, 0});
  CHECK(values(a != 2) == V{1, 1, 0, 1});
  CHECK(values(0 < a) == V{0, 0, 1, 1});
  CHECK(values(0 <= a) == V{0, 1, 1, 1});
  CHECK(values(0 > a) == V{1, 0, 0, 0});
  CHECK(values(0 >= a) == V{1, 1, 0, 0});
  CHECK(values(3.0 == a) == V{0, 0, 0, 1});
  CHECK(values(3.0 != a) == V{1, 1, 1, 0});
  for (const Tensor& mask : {a > b, a > 0, 0 < a}) {
    CHECK(mask.dtype() == int64);
    CHECK_FALSE(mask.requires_grad());
  }
  // broadcasting, like eq
  CHECK((sample({2, 1}) < sample({3})).shape() == Shape{2, 3});
  // a float32 tensor meets the scalar as float32, like a Python number in PyTorch: 0.1f == 0.1 there
  CHECK(values(full({1}, 0.1) == 0.1) == V{1});
  // an int64 tensor with a non-integral scalar compares as float, not truncated: [0, 1] == 0.5 is all false
  CHECK(values(ints({0, 1}) == 0.5) == V{0, 0});
  CHECK(values(ints({0, 1}) < 0.5) == V{1, 0});
  CHECK(values(ints({0, 1}) == 1) == V{0, 1});
  // errors name the comparison and the caller's line
  const int line = __LINE__ + 1;
  std::string m = message_of([] { (ones({2}) > ones({3})); });
  CHECK(m ==
        "gt: shapes must be equal or 1 in each trailing axis, got [2] and [3] (at test_methods.cpp:" +
            std::to_string(line) + ")");
  CHECK(message_of([] { (Tensor() > 0.0); }).find("gt: ") == 0);
}

TEST_CASE("masks work in where and arithmetic: where(x > 0, x, 0.0) and (x > 0) * x are relu") {
  Tensor x = sample({3, 4});
  Tensor r = relu(x);
  CHECK(values(where(x > 0, x, 0.0)) == values(r));
  Tensor masked = (x > 0) * x;
  CHECK(masked.dtype() == float64);
  CHECK(values(masked) == values(r));
  Tensor x32 = x.detach().to(float32);
  CHECK(((x32 > 0) * x32).dtype() == float32);  // int64 * float32 gives float32
  // gradients flow through the tensor side only
  Tensor g = grad({sum(where(x > 0, x, 0.0))}, {x})[0];
  CHECK(values(g) == values(gt(x, zeros({})).to(float64)));
  Tensor g2 = grad({sum((x > 0) * x)}, {x})[0];
  CHECK(values(g2) == values(g));
  // the fraction of positives, as a PyTorch user writes accuracy
  double positives = 0;
  for (double v : values(x)) positives += v > 0 ? 1 : 0;
  CHECK((x > 0).to(float32).mean().item() == doctest::Approx(positives / 12.0));
}

TEST_CASE(
    "where with scalar branches: the scalar takes the tensor's dtype, int64 with a fraction gives float32") {
  Tensor cond = ints({1, 0, 1});
  Tensor f64 = tensor({1.0, 2.0, 3.0}, float64), f32 = tensor({1.0, 2.0, 3.0}), i64 = ints({1, 2, 3});
  using V = std::vector<double>;
  CHECK(values(where(cond, f64, 0.1)) == V{1.0, 0.1, 3.0});  // 0.1 exactly: not rounded through float32
  CHECK(where(cond, f64, 0.1).dtype() == float64);
  CHECK(where(cond, f32, 0.5).dtype() == float32);
  CHECK(values(where(cond, 1.0, f32)) == V{1.0, 2.0, 1.0});
  CHECK(where(cond, i64, 0.5).dtype() == float32);
  CHECK(values(where(cond, i64, 0.5)) == V{1.0, 0.5, 3.0});
  CHECK(where(cond, i64, 0.0).dtype() == int64);
  CHECK(where(cond, 7.0, i64).dtype() == int64);
  Tensor both = where(cond, 1.0, 0.0);
  CHECK(both.dtype() == float32);
  CHECK(values(both) == V{1.0, 0.0, 1.0});
  CHECK(where(ones({2, 1}), 1.0, 0.0).shape() == Shape{2, 1});
  // a float64 leaf gets its gradient where the condition picks it
  Tensor x = sample({3});
  CHECK(values(grad({sum(where(cond, x, 2.0))}, {x})[0]) == V{1, 0, 1});
  CHECK(values(grad({sum(where(cond, 2.0, x))}, {x})[0]) == V{0, 1, 0});
  const int line = __LINE__ + 1;
  std::string m = message_of([&] { where(ones({2}), f32, 0.0); });
  CHECK(m ==
        "where: shapes must be equal or 1 in each trailing axis, got [2] and [3] (at test_methods.cpp:" +
            std::to_string(line) + ")");
}

TEST_CASE("select removes an axis, counts negative indices from the end and is a view") {
  Tensor x = arange(24.0).reshape({2, 3, 4});
  CHECK(select(x, 1, 2).shape() == Shape{2, 4});
  CHECK(values(select(x, 1, 2)) == std::vector<double>{8, 9, 10, 11, 20, 21, 22, 23});
  CHECK(values(select(x, 0, -1)) == values(narrow(x, 0, 1, 1).reshape({3, 4})));
  CHECK(values(select(x, -1, 0)) == std::vector<double>{0, 4, 8, 12, 16, 20});
  CHECK(select(sample({5}), 0, 3).dim() == 0);
  Tensor view = select(x, 2, 1);
  view.fill_(-1.0);  // writes through to x
  CHECK(x.to_vector<float>()[1] == -1.0f);
  CHECK(x.to_vector<float>()[5] == -1.0f);
  const int line = __LINE__ + 1;
  std::string m = message_of([&] { select(x, 1, 3); });
  CHECK(m ==
        "select: index must lie in [-3, 3), got index 3 on axis 1 of shape [2, 3, 4] (at test_methods.cpp:" +
            std::to_string(line) + ")");
  CHECK_THROWS_AS(select(x, 1, -4), ValueError);
  CHECK_THROWS_AS(select(x, 3, 0), ShapeError);
  CHECK_THROWS_AS(select(scalar(1.0), 0, 0), ShapeError);
  CHECK_THROWS_AS(select(zeros({0, 2}), 0, 0), ValueError);
}

TEST_CASE(
    "max/min over one axis return values and indices like torch.max(x, dim); the gradient goes to the "
    "index") {
  Tensor x = tensor({{3.0, 1.0, 3.0}, {0.0, 5.0, -2.0}}, float64);
  x.requires_grad_();
  auto [v, i] = max(x, 1);
  CHECK(values(v) == std::vector<double>{3.0, 5.0});
  CHECK(i.dtype() == int64);
  CHECK(i.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1});  // the first of tied maxima
  auto [vmin, imin] = min(x, 0, true);
  CHECK(vmin.shape() == Shape{1, 3});
  CHECK(imin.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 0, 1});
  // the tie at 3.0 sends its whole gradient to index 0 (max(x, {1}) would split it)
  Tensor g = grad({sum(v)}, {x})[0];
  CHECK(values(g) == std::vector<double>{1, 0, 0, 0, 1, 0});
  Tensor g_amax = grad({sum(max(x, {1}))}, {x})[0];
  CHECK(values(g_amax) == std::vector<double>{0.5, 0, 0.5, 0, 1, 0});
  // 0-d: index 0; int64 input: int64 values
  auto [v0, i0] = max(scalar(4.0), 0);
  CHECK(v0.item() == 4.0);
  CHECK(i0.item() == 0.0);
  CHECK(max(ints({2, 7, 1}), 0).values.dtype() == int64);
  CHECK(max(ints({2, 7, 1}), 0).values.item() == 7.0);
  // an empty axis has no extreme; an empty other axis is fine
  const int line = __LINE__ + 1;
  std::string m = message_of([] { max(zeros({2, 0}), 1); });
  CHECK(m == "max: cannot take the extreme of an empty axis, got shape [2, 0], axis 1 (at test_methods.cpp:" +
                 std::to_string(line) + ")");
  CHECK(min(zeros({0, 2}), 1).values.shape() == Shape{0});
  CHECK_THROWS_AS(min(x, 2), ShapeError);
}
