// Note [Generated op tests]: every op is gradchecked (float64, PyTorch tolerances) on the sample
// kinds the core issue asks for: a 0-d scalar, broadcast pairs, a non-trivial 3-D shape (also as a
// non-contiguous view), and an empty tensor. Elementwise ops come straight from the lists in
// src/kernels/formulas.hpp; the other ops from the table below. Adding an op to a list is what gets it
// tested, and an op in a list with no public function here fails the suite.
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>

#include "helpers.hpp"
#include "binary_functions.hpp"
#include "kernels/formulas.hpp"
#include "kernels/isa.hpp"
#include "kernels/simd_table.hpp"

using namespace tapegrad;
using test::sample;
using test::for_each_op;
namespace k = tapegrad::kernels;

namespace {

using Unary = std::function<Tensor(const Tensor&, const k::Params&)>;
using test::Binary;
using test::binary_functions;

// The public function behind each elementwise op of the lists; the plain ones straight from their
// list (Note [Plain unary ops] in tapegrad/op_list.hpp).
const std::map<std::string_view, Unary>& unary_functions() {
#define TAPEGRAD_PLAIN_UNARY_ROW(function, Formula) \
  {#function, [](const Tensor& x, const k::Params&) { return function(x); }},
  static const std::map<std::string_view, Unary> table = {
      TAPEGRAD_PLAIN_UNARY_OPS(TAPEGRAD_PLAIN_UNARY_ROW)
      {"neg", [](const Tensor& x, const k::Params&) { return neg(x); }},
      {"abs", [](const Tensor& x, const k::Params&) { return abs(x); }},
      {"leaky_relu", [](const Tensor& x, const k::Params& p) { return leaky_relu(x, p.a); }},
      {"elu", [](const Tensor& x, const k::Params& p) { return elu(x, p.a); }},
      {"softplus", [](const Tensor& x, const k::Params& p) { return softplus(x, p.a, p.b); }},
      {"clamp", [](const Tensor& x, const k::Params& p) { return clamp(x, p.a, p.b); }},
      {"pow_scalar", [](const Tensor& x, const k::Params& p) { return pow(x, p.a); }},
  };
#undef TAPEGRAD_PLAIN_UNARY_ROW
  return table;
}

// Unary samples: 0-d, 2-D, 3-D, a non-contiguous 3-D view, empty.
std::vector<Tensor> unary_samples(const k::Domain& d) {
  Tensor base = sample({4, 3, 2}, d.low, d.high);
  Tensor permuted = permute(base.detach(), {2, 0, 1});  // [2, 4, 3], non-contiguous
  permuted = permuted.detach();
  permuted.requires_grad_();
  return {sample({}, d.low, d.high), sample({3, 4}, d.low, d.high), sample({2, 3, 4}, d.low, d.high), permuted,
          sample({0, 3}, d.low, d.high)};
}

// Binary sample pairs: two 0-d, [3,4] with [3,1], [2,3,4] with [4], [2,1,4] with [3,1], non-contiguous, empty.
std::vector<std::pair<Tensor, Tensor>> binary_samples(const k::Domain& d) {
  auto s = [&](const Shape& shape) { return sample(shape, d.low, d.high); };
  Tensor t = transpose(s({4, 3}).detach(), 0, 1).detach();  // [3, 4] with strides [1, 3]
  t.requires_grad_();
  return {{s({}), s({})},           {s({3, 4}), s({3, 1})}, {s({2, 3, 4}), s({4})}, {s({2, 1, 4}), s({3, 1})},
          {t, s({3, 4})},           {s({}), s({2, 3})},     {s({0, 3}), s({3})}};
}

}  // namespace

TEST_CASE("every unary op is gradchecked and gradgradchecked on 0-d, 2-D, 3-D, strided and empty samples") {
  std::size_t ops = 0, gradchecks = 0;
  for_each_op<k::unary_ops>([&]<class Op>(int) {
    ++ops;
    INFO("op: " << Op::name);
    auto it = unary_functions().find(Op::name);
    REQUIRE_MESSAGE(it != unary_functions().end(), "no public function in the test table for " << Op::name);
    const Unary& f = it->second;
    for (const Tensor& x : unary_samples(Op::domain)) {
      INFO("shape " << to_string(x.shape()));
      ++gradchecks;
      CHECK(gradcheck([&](const std::vector<Tensor>& xs) { return f(xs[0], Op::domain.params); }, {x}));
      CHECK(gradgradcheck([&](const std::vector<Tensor>& xs) { return f(xs[0], Op::domain.params); }, {x}));
      // forward against the scalar formula in double
      Tensor y = f(x, Op::domain.params);
      CHECK(y.shape() == x.shape());
      std::vector<double> xv = x.detach().to_vector<double>(), yv = y.detach().to_vector<double>();
      for (std::size_t i = 0; i < xv.size(); ++i)
        CHECK(yv[i] == doctest::Approx(Op::forward(xv[i], Op::domain.params)).epsilon(1e-12));
    }
  });
  CHECK(ops == unary_functions().size());
  MESSAGE(ops << " unary ops, " << gradchecks << " gradchecks");
}

TEST_CASE("every binary op is gradchecked and gradgradchecked on broadcast pairs, or value-checked when not differentiable") {
  std::size_t ops = 0, gradchecks = 0;
  for_each_op<k::binary_ops>([&]<class Op>(int) {
    ++ops;
    INFO("op: " << Op::name);
    auto it = binary_functions().find(Op::name);
    REQUIRE_MESSAGE(it != binary_functions().end(), "no public function in the test table for " << Op::name);
    const Binary& f = it->second;
    for (auto [a, b] : binary_samples(Op::domain)) {
      INFO("shapes " << to_string(a.shape()) << " and " << to_string(b.shape()));
      Tensor y = f(a, b);
      CHECK(y.shape() == broadcast_shapes(a.shape(), b.shape()));
      if constexpr (Op::differentiable) {
        ++gradchecks;
        CHECK(gradcheck([&](const std::vector<Tensor>& xs) { return f(xs[0], xs[1]); }, {a, b}));
        CHECK(gradgradcheck([&](const std::vector<Tensor>& xs) { return f(xs[0], xs[1]); }, {a, b}));
      } else {
        CHECK(y.dtype() == int64);
        CHECK_FALSE(y.requires_grad());
      }
      Tensor ab = broadcast_to(a.detach(), y.shape()).contiguous(), bb = broadcast_to(b.detach(), y.shape()).contiguous();
      std::vector<double> av = ab.to_vector<double>(), bv = bb.to_vector<double>();
      std::vector<double> yv = y.detach().to(float64).to_vector<double>();
      for (std::size_t i = 0; i < yv.size(); ++i)
        CHECK(yv[i] == doctest::Approx(Op::forward(av[i], bv[i])).epsilon(1e-12));
    }
  });
  CHECK(ops == binary_functions().size());
  MESSAGE(ops << " binary ops, " << gradchecks << " gradchecks");
}

// ------------------------------------------------------------------ the other ops
namespace {

struct OpInfo {
  std::string name;
  std::function<Tensor(const std::vector<Tensor>&)> f;
  std::vector<std::vector<Tensor>> samples;
  GradcheckOptions options{};
};

Tensor labels(std::vector<std::int64_t> values, Shape shape) { return from_vector(values, shape); }

std::vector<OpInfo> op_infos() {
  auto s = [](const Shape& shape, double low = -2.0, double high = 2.0) { return sample(shape, low, high); };
  std::vector<OpInfo> ops;
  auto add = [&](std::string name, std::function<Tensor(const std::vector<Tensor>&)> f,
                 std::vector<std::vector<Tensor>> samples, GradcheckOptions options = {}) {
    ops.push_back({std::move(name), std::move(f), std::move(samples), options});
  };

  // reductions: 0-d, 2-D over one axis, 3-D over a set of axes with keepdim, empty
  add("sum", [](auto& x) { return sum(x[0]); }, {{s({})}, {s({3, 4})}, {s({2, 3, 4})}, {s({0, 3})}});
  add("sum axes", [](auto& x) { return sum(x[0], {0, 2}, true); }, {{s({2, 3, 4})}, {s({2, 0, 4})}});
  add("sum axis", [](auto& x) { return sum(x[0], {-1}); }, {{s({3, 4})}, {s({})}});
  add("mean", [](auto& x) { return mean(x[0]); }, {{s({})}, {s({3, 4})}, {s({2, 3, 4})}});
  add("mean axes", [](auto& x) { return mean(x[0], {1, 2}, true); }, {{s({2, 3, 4})}, {s({0, 3, 4})}});
  add("var", [](auto& x) { return var(x[0]); }, {{s({3, 4})}, {s({2, 3, 4})}});
  add("var axes", [](auto& x) { return var(x[0], {0, 2}, 1, true); }, {{s({2, 3, 4})}});
  add("var biased", [](auto& x) { return var(x[0], {1}, 0); }, {{s({3, 4})}, {s({2, 3, 4})}});
  add("var 0-d", [](auto& x) { return var(x[0], {}, 0); }, {{s({})}});
  add("max", [](auto& x) { return max(x[0]); }, {{s({})}, {s({3, 4})}, {s({2, 3, 4})}});
  add("max axes", [](auto& x) { return max(x[0], {0, 2}, true); }, {{s({2, 3, 4})}});
  add("max axis of an empty tensor", [](auto& x) { return max(x[0], {1}); }, {{s({0, 3})}});
  add("min", [](auto& x) { return min(x[0]); }, {{s({})}, {s({3, 4})}});
  add("min axis", [](auto& x) { return min(x[0], {1}); }, {{s({2, 3, 4})}, {s({0, 3})}});
  add("logsumexp", [](auto& x) { return logsumexp(x[0]); }, {{s({})}, {s({3, 4})}});
  add("logsumexp axes", [](auto& x) { return logsumexp(x[0], {0, 2}, true); }, {{s({2, 3, 4})}, {s({0, 3, 2})}});
  add("softmax", [](auto& x) { return softmax(x[0], -1); }, {{s({})}, {s({3, 4})}, {s({2, 3, 4})}, {s({0, 3})}});
  add("softmax axis 1", [](auto& x) { return softmax(x[0], 1); }, {{s({2, 3, 4})}});
  add("log_softmax", [](auto& x) { return log_softmax(x[0], -1); }, {{s({})}, {s({3, 4})}, {s({2, 3, 4})}, {s({0, 3})}});
  add("log_softmax axis 0", [](auto& x) { return log_softmax(x[0], 0); }, {{s({2, 3, 4})}});

  // matmul: 2-D, batched with broadcast batch axes, vectors, empty
  add("matmul", [](auto& x) { return matmul(x[0], x[1]); },
      {{s({3, 4}), s({4, 5})}, {s({2, 3, 4}), s({4, 2})}, {s({2, 1, 3, 4}), s({3, 4, 2})}, {s({0, 4}), s({4, 3})},
       {s({3, 0}), s({0, 2})}});
  add("matmul vectors", [](auto& x) { return matmul(x[0], x[1]); },  // through unsqueeze and squeeze
      {{s({4}), s({4})}, {s({4}), s({4, 3})}, {s({2, 3, 4}), s({4})}});
  add("matmul transposed operand", [](auto& x) { return matmul(transpose(x[0], 0, 1), x[1]); },
      {{s({4, 3}), s({4, 5})}});

  // shape ops
  add("reshape", [](auto& x) { return reshape(x[0], {4, -1}); }, {{s({2, 3, 4})}, {s({0, 4})}});
  add("reshape 0-d", [](auto& x) { return reshape(x[0], {1, 1}); }, {{s({})}});
  add("reshape of a transpose", [](auto& x) { return reshape(transpose(x[0], 0, 2), {-1}); }, {{s({2, 3, 4})}});
  add("view", [](auto& x) { return view(x[0], {6, 4}); }, {{s({2, 3, 4})}});
  add("flatten", [](auto& x) { return flatten(x[0], 1); }, {{s({2, 3, 4})}, {s({})}, {s({2, 0, 3})}});
  add("transpose", [](auto& x) { return transpose(x[0], 0, 2); }, {{s({2, 3, 4})}, {s({0, 3, 1})}});
  add("permute", [](auto& x) { return permute(x[0], {1, 2, 0}); }, {{s({2, 3, 4})}});
  add("squeeze", [](auto& x) { return squeeze(x[0]); }, {{s({2, 1, 4, 1})}, {s({})}, {s({0, 1})}});
  add("unsqueeze", [](auto& x) { return unsqueeze(x[0], 1); }, {{s({2, 3, 4})}, {s({3})}, {s({0})}});
  add("unsqueeze 0-d", [](auto& x) { return unsqueeze(x[0], 0); }, {{s({})}});
  add("slice", [](auto& x) { return slice(x[0], 1, 0, 3, 2); }, {{s({2, 3, 4})}, {s({2, 0, 4})}});
  add("slice negative", [](auto& x) { return slice(x[0], -1, -3, -1); }, {{s({2, 3, 4})}});
  add("narrow", [](auto& x) { return narrow(x[0], 2, 1, 2); }, {{s({2, 3, 4})}, {s({0, 3, 4})}});
  add("expand", [](auto& x) { return expand(x[0], {2, 3, 4}); }, {{s({3, 1})}, {s({})}, {s({1, 1, 4})}});
  add("broadcast_to", [](auto& x) { return broadcast_to(x[0], {2, 3, 4}); }, {{s({4})}, {s({})}, {s({2, 1, 1})}});
  add("broadcast_to empty", [](auto& x) { return broadcast_to(x[0], {0, 4}); }, {{s({1, 4})}});
  add("concat", [](auto& x) { return concat({x[0], x[1]}, 1); },
      {{s({2, 3, 4}), s({2, 1, 4})}, {s({2, 0}), s({2, 3})}});
  add("concat 1-D", [](auto& x) { return concat({x[0], x[1]}, 0); }, {{s({3}), s({2})}, {s({0}), s({2})}});
  add("stack", [](auto& x) { return stack({x[0], x[1], x[0]}, 1); }, {{s({2, 3}), s({2, 3})}, {s({0, 2}), s({0, 2})}});
  add("stack 0-d", [](auto& x) { return stack({x[0], x[1]}); }, {{s({}), s({})}});
  add("split", [](auto& x) {
        std::vector<Tensor> scaled;  // each piece scaled differently, so a mixed-up piece shows
        for (const Tensor& piece : split(x[0], 2, 1)) scaled.push_back(piece * static_cast<double>(scaled.size() + 1));
        return concat(scaled, 1);
      },
      {{s({2, 3, 4})}, {s({3, 0})}});
  add("split sizes", [](auto& x) { auto p = split(x[0], {1, 3}, 0); return sum(p[0]) * sum(p[1] * p[1]); }, {{s({4, 2})}});
  add("unbind", [](auto& x) {
        std::vector<Tensor> scaled;  // as for split: a mixed-up piece shows
        for (const Tensor& piece : unbind(x[0], 1)) scaled.push_back(piece * static_cast<double>(scaled.size() + 1));
        return stack(scaled, 0);
      },
      {{s({2, 3, 4})}, {s({3, 1})}});
  add("unbind, one piece unused", [](auto& x) { auto p = unbind(x[0], 0); return p[0] * p[2]; }, {{s({3, 2})}});
  add("split sizes, a product", [](auto& x) { auto p = split(x[0], {1, 3}, 0); return p[0] * p[1] * p[1]; }, {{s({4, 2})}});
  add("split, one piece unused", [](auto& x) { return split(x[0], 2, 0)[1]; }, {{s({5, 2})}});
  add("overlapping narrows and a whole use", [](auto& x) {  // regions and a full gradient in one buffer
        return concat({narrow(x[0], 0, 0, 2) * narrow(x[0], 0, 1, 2) * select(x[0], 0, 1), x[0] * x[0]}, 0);
      },
      {{s({3, 2})}});
  add("pad", [](auto& x) { return pad(x[0], {1, 2, 0, 1}, 0.5); }, {{s({2, 3, 4})}, {s({0, 2})}});
  add("pad 1-D", [](auto& x) { return pad(x[0], {2, 0}); }, {{s({3})}, {s({0})}});
  add("pad negative (crop)", [](auto& x) { return pad(x[0], {-1, -2, 0, -1}); }, {{s({2, 3, 4})}, {s({0, 2, 3})}});
  add("pad mixed", [](auto& x) { return pad(x[0], {2, -1, -1, 1}, 0.5); }, {{s({2, 3, 4})}, {s({3, 2})}});
  add("pad crop 1-D", [](auto& x) { return pad(x[0], {-1, 3}); }, {{s({3})}});
  add("pad crop to empty", [](auto& x) { return pad(x[0], {-3, 0}); }, {{s({3})}});
  add("pad crop past the padding", [](auto& x) { return pad(x[0], {4, -5}); }, {{s({3})}});
  // float32 rounding limits central differences: a wider step and float32-sized tolerances.
  add("to float32 and back", [](auto& x) { return x[0].to(float32).to(float64) * 1.0; }, {{s({})}, {s({2, 3})}},
      {.eps = 1e-3, .atol = 1e-3, .rtol = 1e-2});
  add("contiguous", [](auto& x) { return transpose(x[0], 0, 1).contiguous(); }, {{s({3, 4})}, {s({0, 2})}});
  add("clone", [](auto& x) { return x[0].clone() * x[0]; }, {{s({})}, {s({2, 3, 4})}});

  // indexing
  add("index_select", [](auto& x) { return index_select(x[0], 0, labels({2, 0, 2, 1}, {4})); },
      {{s({3, 4})}, {s({3, 2, 2})}, {s({3, 0})}});
  add("index_select axis 1", [](auto& x) { return index_select(x[0], 1, labels({1, 1}, {2})); }, {{s({2, 3, 4})}});
  add("index_select, a span of rows",
      [](auto& x) { return index_select(x[0], 1, labels({3, 4, 3}, {3})) * narrow(x[0], 1, 2, 3); },
      {{s({2, 6})}});
  add("index_select empty index", [](auto& x) { return index_select(x[0], 0, labels({}, {0})); }, {{s({3, 4})}});
  add("gather", [](auto& x) { return gather(x[0], 1, labels({0, 2, 1, 1, 3, 0}, {3, 2})); }, {{s({3, 4})}});
  add("gather 3-D axis 0", [](auto& x) { return gather(x[0], 0, labels({1, 0, 1, 1}, {2, 1, 2})); }, {{s({2, 3, 4})}});
  add("gather 0-d", [](auto& x) { return gather(x[0], 0, labels({0}, {})); }, {{s({})}});
  add("gather empty", [](auto& x) { return gather(x[0], 1, labels({}, {3, 0})); }, {{s({3, 4})}});

  // where, clamp_min/max, pow with a tensor exponent at broadcast shapes
  add("where", [](auto& x) { return where(gt(x[0], zeros({})), x[1], x[2]); },
      {{s({3, 4}), s({3, 1}), s({4})}, {s({}), s({}), s({})}, {s({2, 3, 4}), s({4}), s({2, 3, 4})}, {s({0, 3}), s({3}), s({})}});
  add("where 0/1 mask", [](auto& x) { return where(labels({1, 0, 0, 1}, {4}), x[0], x[1]); }, {{s({3, 4}), s({})}});
  add("clamp_min", [](auto& x) { return clamp_min(x[0], 0.3); }, {{s({3, 4})}, {s({})}});
  add("clamp_max", [](auto& x) { return clamp_max(x[0], -0.3); }, {{s({2, 3, 4})}, {s({0})}});

  // what a PyTorch user reaches for: select, t(), max/min with indices, the losses
  add("select", [](auto& x) { return select(x[0], 1, -1); }, {{s({2, 3, 4})}, {s({0, 3})}});
  add("select 1-D", [](auto& x) { return select(x[0], 0, 2); }, {{s({3})}});
  add("t", [](auto& x) { return x[0].t(); }, {{s({3, 4})}, {s({3})}, {s({})}, {s({0, 2})}});
  add("max with indices", [](auto& x) { return max(x[0], 1).values; }, {{s({3, 4})}, {s({2, 3, 4})}});
  add("max with indices 0-d", [](auto& x) { return max(x[0], -1).values; }, {{s({})}});
  add("min with indices keepdim", [](auto& x) { return x[0].min(-1, true).values; }, {{s({2, 3, 4})}, {s({0, 3})}});
  add("cross_entropy", [](auto& x) { return cross_entropy(x[0], labels({2, 0, 3}, {3})); }, {{s({3, 4})}});
  add("cross_entropy weight, ignore_index, smoothing, sum", [](auto& x) {
        return cross_entropy(x[0], labels({2, -100, 3}, {3}),
                             {.weight = tensor({0.5, 1.0, 2.0, 1.5}, float64), .reduction = Reduction::sum,
                              .label_smoothing = 0.2});
      },
      {{s({3, 4})}});
  add("cross_entropy unbatched", [](auto& x) { return cross_entropy(x[0], labels({1}, {})); }, {{s({4})}});
  add("cross_entropy [N, C, d], none", [](auto& x) {
        return cross_entropy(x[0], labels({0, 2, 1, 1, 2, 0, 0, 1}, {2, 4}), {.reduction = Reduction::none});
      },
      {{s({2, 3, 4})}});
  add("cross_entropy probabilities", [](auto& x) { return cross_entropy(x[0], softmax(x[1], 1), {.label_smoothing = 0.1}); },
      {{s({3, 4}), s({3, 4})}});
  add("nll_loss", [](auto& x) { return nll_loss(log_softmax(x[0], 1), labels({2, 0, 3}, {3})); }, {{s({3, 4})}});
  add("nll_loss weight, none", [](auto& x) {
        return nll_loss(x[0], labels({1, 0, 1, -100}, {4}), {.weight = tensor({2.0, 0.5}, float64), .reduction = Reduction::none});
      },
      {{s({4, 2})}});
  return ops;
}

}  // namespace

TEST_CASE("pad with negative entries crops, like torch.nn.functional.pad") {
  // Expected values from torch.nn.functional.pad on the same input.
  CHECK(pad(arange(3.0, float64), {2, -1}, 7.0).to_vector<double>() == std::vector<double>{7, 7, 0, 1});
  CHECK(pad(arange(3.0, float64), {-1, -1}).to_vector<double>() == std::vector<double>{1});
  CHECK(pad(arange(3.0, float64), {-3, 0}).shape() == Shape{0});
  Tensor x = arange(12.0, float64).reshape({3, 4});
  CHECK(pad(x, {1, -2, -1, 0}, -1.0).to_vector<double>() == std::vector<double>{-1, 4, 5, -1, 8, 9});
  CHECK_THROWS_AS(pad(arange(3.0), {-2, -2}), ShapeError);  // size -1
  CHECK_THROWS_AS(pad(arange(3.0), {INT64_MAX, 1}), ValueError);
  CHECK_THROWS_AS(pad(arange(3.0), {INT64_MIN, INT64_MAX}), ValueError);
}

TEST_CASE("every reduction, shape, index and linear-algebra op is gradchecked and gradgradchecked") {
  std::size_t gradchecks = 0, gradgradchecks = 0;
  const auto ops = op_infos();
  for (const OpInfo& op : ops) {
    for (const auto& inputs : op.samples) {
      std::string shapes;
      for (const auto& x : inputs) shapes += to_string(x.shape()) + " ";
      INFO("op: " << op.name << ", shapes " << shapes);
      CHECK(gradcheck(op.f, inputs, op.options));
      GradcheckOptions fast = op.options;
      fast.fast_mode = true;
      CHECK(gradcheck(op.f, inputs, fast));
      gradchecks += 2;
      CHECK(gradgradcheck(op.f, inputs, op.options));
      ++gradgradchecks;
    }
  }
  MESSAGE(ops.size() << " op variants, " << gradchecks << " gradchecks (full and fast mode), " << gradgradchecks
                     << " gradgradchecks");
}

TEST_CASE("third derivatives through softmax match PyTorch (create_graph twice)") {
  // torch: x = [0.3, -0.2, 0.5], f = (softmax(x, 0) * [1, 2, 3]).sum(); d/dx of d²f/dx0² from
  // three torch.autograd.grad calls with create_graph=True.
  Tensor x = tensor({0.3, -0.2, 0.5}, float64);
  x.requires_grad_();
  Tensor weights = tensor({1.0, 2.0, 3.0}, float64), first = tensor({1.0, 0.0, 0.0}, float64);
  Tensor g = grad({sum(softmax(x, 0) * weights)}, {x}, {}, false, true)[0];
  Tensor h = grad({sum(g * first)}, {x}, {}, false, true)[0];
  Tensor third = grad({sum(h * first)}, {x})[0];
  test::check_close(third, {0.14162584436189324, -0.03215642408149116, -0.10946942028040209}, 1e-12);
}

// ------------------------------------------------------------------ NaN (Note [NaN propagation])
// Every op of the lists, at NaN, against what PyTorch gives (tests/fixtures/make_nan.py): through the
// public functions (contiguous, strided, broadcast) and through both SIMD tables directly.
namespace {

struct NanUnaryRow {
  std::string_view name;
  double a, b, y, gx;
};
struct NanBinaryRow {
  std::string_view name;
  double a, b, y, ga, gb;
};
struct NanReductionRow {
  std::string_view name;
  std::int64_t axis;
  std::vector<double> values, grad;
};
#include "fixtures/nan_torch.inc"

constexpr double nan_gy = 0.75;  // the fixture's upstream gradient

// actual equals PyTorch's expected value (NaN matches NaN), to float32 precision.
bool same(double actual, double expected) {
  if (std::isnan(expected)) return std::isnan(actual);
  return std::abs(actual - expected) <= 1e-6 * (1 + std::abs(expected));
}

// 37 elements: a full SIMD body and a tail in every instruction set; NaN rows at both.
constexpr std::size_t nan_n = 37;
bool nan_position(std::size_t i) { return i == 0 || i == 5 || i == 17 || i == 36; }

// `special` at the NaN positions, values spread over [low, high] elsewhere.
std::vector<double> nan_values(double special, double low, double high) {
  std::vector<double> v(nan_n);
  for (std::size_t i = 0; i < nan_n; ++i)
    v[i] = nan_position(i) ? special : low + (high - low) * (static_cast<double>(i) + 0.5) / nan_n;
  return v;
}

// A leaf holding v: contiguous, or (strided) each value twice along a transposed axis, so no inner
// loop is contiguous. Element k of the result's row-major order holds v[k / (strided ? 2 : 1)].
Tensor nan_leaf(const std::vector<double>& v, DType dtype, bool strided) {
  Tensor t = from_vector(v, {static_cast<std::int64_t>(v.size())}).to(dtype);
  if (strided) t = transpose(stack({t, t}), 0, 1);
  t = t.detach();
  t.requires_grad_();
  return t;
}

// At the NaN positions `t` holds `expected`; elsewhere it is not NaN (unless `others_nan`).
void check_nan_positions(const Tensor& t, double expected, bool others_nan = false) {
  std::vector<double> values = t.detach().contiguous().to(float64).to_vector<double>();
  const std::size_t repeat = values.size() / nan_n;
  for (std::size_t k = 0; k < values.size(); ++k) {
    INFO("element " << k);
    if (nan_position(k / repeat)) CHECK(same(values[k], expected));
    else if (!others_nan) CHECK_FALSE(std::isnan(values[k]));
  }
}

template <class Row>
std::vector<Row> rows_of(const std::vector<Row>& rows, std::string_view name) {
  std::vector<Row> out;
  for (const Row& r : rows)
    if (r.name == name) out.push_back(r);
  return out;
}

template <class T>
std::vector<T> as(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}
template <class T>
Tensor tensor_of(const std::vector<T>& v) {
  return from_vector(std::vector<double>(v.begin(), v.end()), {static_cast<std::int64_t>(v.size())});
}

}  // namespace

TEST_CASE("every unary op gives PyTorch's value and gradient at NaN, contiguous and strided") {
  for_each_op<k::unary_ops>([&]<class Op>(int) {
    INFO("op: " << Op::name);
    auto rows = rows_of(nan_unary_rows, Op::name);
    REQUIRE_MESSAGE(rows.size() == 1, "no torch row for " << Op::name << ": rerun tests/fixtures/make_nan.py");
    const NanUnaryRow& row = rows[0];
    CHECK(row.a == Op::domain.params.a);  // the fixture's parameters are still the domain's
    CHECK(row.b == Op::domain.params.b);
    const Unary& f = unary_functions().at(Op::name);
    const auto v = nan_values(NAN, Op::domain.low, Op::domain.high);
    for (DType dtype : {float32, float64}) {
      for (bool strided : {false, true}) {
        INFO(dtype_name(dtype) << ", " << std::string(strided ? "strided" : "contiguous"));
        Tensor x = nan_leaf(v, dtype, strided);
        Tensor y = f(x, Op::domain.params);
        check_nan_positions(y, row.y);
        y.backward(full(y.shape(), nan_gy, dtype));
        check_nan_positions(x.grad(), row.gx);
      }
    }
  });
}

TEST_CASE("SIMD unary kernels of every instruction set give PyTorch's value and gradient at NaN") {
  for (const auto* table : k::supported_tables()) {
    INFO("isa " << std::string(table->isa));
    for_each_op<k::unary_ops>([&]<class Op>(int id) {
      INFO("op: " << Op::name);
      const NanUnaryRow row = rows_of(nan_unary_rows, Op::name).at(0);
      auto run = [&]<class T>(int slot) {
        auto x = as<T>(nan_values(NAN, Op::domain.low, Op::domain.high));
        std::vector<T> y(nan_n), gy(nan_n, T(nan_gy)), gx(nan_n);
        table->unary[id][slot](nan_n, x.data(), y.data(), Op::domain.params);
        table->unary_backward[id][slot](nan_n, x.data(), y.data(), gy.data(), gx.data(), Op::domain.params);
        check_nan_positions(tensor_of(y), row.y);
        check_nan_positions(tensor_of(gx), row.gx);
      };
      run.template operator()<float>(0);
      run.template operator()<double>(1);
    });
  }
}

// torch 1.13: x = torch.tensor(v, dtype=torch.float64, requires_grad=True);
// F.hardswish(x).backward(torch.tensor(0.75, dtype=torch.float64)) gives x.grad -0.375 at -3 and 1.125 at 3
// (x/3 + 1/2 on the closed interval, as its scalar and CUDA kernels have it), 0 below, 0.75 above.
TEST_CASE("hardswish's gradient at its kinks -3 and 3 is PyTorch's, through the op and every SIMD table") {
  const std::vector<double> points = {-3.0, 3.0, -3.5, 3.5};
  const std::vector<double> torch_gx = {-0.375, 1.125, 0.0, 0.75};
  std::vector<double> x, expected;  // 37 elements: SIMD bodies and tails
  for (std::size_t i = 0; i < nan_n; ++i) {
    x.push_back(points[i % points.size()]);
    expected.push_back(torch_gx[i % points.size()]);
  }
  for (DType dtype : {float32, float64}) {
    for (bool strided : {false, true}) {
      Tensor leaf = nan_leaf(x, dtype, strided);
      hardswish(leaf).backward(full(leaf.shape(), nan_gy, dtype));
      std::vector<double> gx = leaf.grad().contiguous().to(float64).to_vector<double>();
      for (std::size_t i = 0; i < gx.size(); ++i) CHECK(gx[i] == expected[i / (strided ? 2 : 1)]);
    }
  }
  constexpr int id = k::unary_id<k::Hardswish>;
  for (const auto* table : k::supported_tables()) {
    INFO("isa " << std::string(table->isa));
    auto run = [&]<class T>(int slot) {
      auto xs = as<T>(x);
      std::vector<T> y(nan_n), gy(nan_n, T(nan_gy)), gx(nan_n);
      table->unary[id][slot](nan_n, xs.data(), y.data(), {});
      table->unary_backward[id][slot](nan_n, xs.data(), y.data(), gy.data(), gx.data(), {});
      for (std::size_t i = 0; i < nan_n; ++i) CHECK(static_cast<double>(gx[i]) == expected[i]);
    };
    run.template operator()<float>(0);
    run.template operator()<double>(1);
  }
}

TEST_CASE("every binary op gives PyTorch's value and gradients with NaN on either side") {
  for_each_op<k::binary_ops>([&]<class Op>(int) {
    INFO("op: " << Op::name);
    auto rows = rows_of(nan_binary_rows, Op::name);
    REQUIRE_MESSAGE(rows.size() >= 3, "no torch rows for " << Op::name << ": rerun tests/fixtures/make_nan.py");
    const Binary& f = binary_functions().at(Op::name);
    for (const NanBinaryRow& row : rows) {
      INFO("a " << row.a << ", b " << row.b);
      const auto av = nan_values(row.a, Op::domain.low, Op::domain.high);
      const auto bv = nan_values(row.b, Op::domain.high, Op::domain.low);
      for (DType dtype : {float32, float64}) {
        // both vectors (contiguous, strided), then one side a 0-d tensor holding the row's value
        for (int layout = 0; layout < 4; ++layout) {
          INFO(dtype_name(dtype) << ", layout " << layout);
          const bool strided = layout == 1;
          Tensor a = layout == 3 ? full({}, row.a, dtype) : nan_leaf(av, dtype, strided);
          Tensor b = layout == 2 ? full({}, row.b, dtype) : nan_leaf(bv, dtype, strided);
          if (layout >= 2) (layout == 3 ? a : b).requires_grad_();
          Tensor y = f(a, b);
          // with a 0-d NaN side, every position is a NaN position
          const bool all_nan = (layout == 2 && std::isnan(row.b)) || (layout == 3 && std::isnan(row.a));
          check_nan_positions(y, row.y, all_nan);
          if constexpr (Op::differentiable) {
            y.backward(full(y.shape(), nan_gy, dtype));
            if (a.dim() > 0) check_nan_positions(a.grad(), row.ga, all_nan);
            if (b.dim() > 0) check_nan_positions(b.grad(), row.gb, all_nan);
          } else {
            CHECK(y.dtype() == int64);
          }
        }
      }
    }
  });
}

TEST_CASE("SIMD binary kernels of every instruction set give PyTorch's value and gradients at NaN") {
  for (const auto* table : k::supported_tables()) {
    INFO("isa " << std::string(table->isa));
    for_each_op<k::binary_ops>([&]<class Op>(int id) {
      if constexpr (Op::differentiable) {
        INFO("op: " << Op::name);
        for (const NanBinaryRow& row : rows_of(nan_binary_rows, Op::name)) {
          INFO("a " << row.a << ", b " << row.b);
          auto run = [&]<class T>(int slot) {
            for (int mode : {k::both_vectors, k::b_scalar, k::a_scalar}) {
              INFO("mode " << mode);
              auto a = as<T>(nan_values(row.a, Op::domain.low, Op::domain.high));
              auto b = as<T>(nan_values(row.b, Op::domain.high, Op::domain.low));
              if (mode == k::a_scalar) a.assign(nan_n, T(row.a));
              if (mode == k::b_scalar) b.assign(nan_n, T(row.b));
              const bool all_nan = (mode == k::a_scalar && std::isnan(row.a)) || (mode == k::b_scalar && std::isnan(row.b));
              std::vector<T> y(nan_n), gy(nan_n, T(nan_gy)), ga(nan_n), gb(nan_n);
              table->binary[id][slot][mode](nan_n, a.data(), b.data(), y.data());
              table->binary_backward[id][slot][0][mode](nan_n, a.data(), b.data(), y.data(), gy.data(), ga.data());
              table->binary_backward[id][slot][1][mode](nan_n, a.data(), b.data(), y.data(), gy.data(), gb.data());
              check_nan_positions(tensor_of(y), row.y, all_nan);
              check_nan_positions(tensor_of(ga), row.ga, all_nan);
              check_nan_positions(tensor_of(gb), row.gb, all_nan);
            }
          };
          run.template operator()<float>(0);
          run.template operator()<double>(1);
        }
      }
    });
  }
}

TEST_CASE("max, min, argmax and argmin give PyTorch's values and gradients with NaN, by rows, columns and all") {
  const Tensor input = from_vector(nan_reduction_input, {5, 37});
  for (const NanReductionRow& row : nan_reduction_rows) {
    for (DType dtype : {float32, float64}) {
      for (bool strided : {false, true}) {
        INFO(row.name << " axis " << row.axis << ", " << dtype_name(dtype) << ", " << std::string(strided ? "strided" : "contiguous"));
        // strided: the same values as a transposed view of a [37, 5] tensor
        Tensor x = strided ? transpose(transpose(input, 0, 1).contiguous(), 0, 1) : input;
        x = x.to(dtype).detach();
        x.requires_grad_();
        Tensor y;
        std::optional<std::int64_t> axis;
        if (row.axis >= 0) axis = row.axis;
        if (row.name == "max") y = axis ? max(x, {*axis}) : max(x);
        else if (row.name == "min") y = axis ? min(x, {*axis}) : min(x);
        else if (row.name == "argmax") y = argmax(x, axis);
        else y = argmin(x, axis);
        std::vector<double> values = y.to(float64).to_vector<double>();
        REQUIRE(values.size() == row.values.size());
        for (std::size_t i = 0; i < values.size(); ++i) CHECK(same(values[i], row.values[i]));
        if (row.grad.empty()) continue;
        y.backward(full(y.shape(), nan_gy, dtype));
        std::vector<double> grad = x.grad().contiguous().to(float64).to_vector<double>();
        REQUIRE(grad.size() == row.grad.size());
        for (std::size_t i = 0; i < grad.size(); ++i) CHECK(same(grad[i], row.grad[i]));
      }
    }
  }
}

TEST_CASE("where passes a NaN of the chosen branch and none of the other; gradients follow the condition") {
  // torch.where: y = c ? a : b whatever the values; ga = c ? gy : 0, gb = c ? 0 : gy, NaN or not.
  std::vector<double> c(nan_n), av(nan_n, 1.0), bv(nan_n, 2.0);
  for (std::size_t i = 0; i < nan_n; ++i) {
    c[i] = i % 3 == 0;
    if (i % 2 == 0) av[i] = NAN;
    if (i % 5 == 0) bv[i] = NAN;
  }
  for (DType dtype : {float32, float64}) {
    Tensor a = nan_leaf(av, dtype, false), b = nan_leaf(bv, dtype, false);
    Tensor y = where(from_vector(c, {37}), a, b);
    y.backward(full(y.shape(), nan_gy, dtype));
    std::vector<double> yv = y.to(float64).to_vector<double>(), ga = a.grad().to(float64).to_vector<double>();
    std::vector<double> gb = b.grad().to(float64).to_vector<double>();
    for (std::size_t i = 0; i < nan_n; ++i) {
      INFO("element " << i);
      CHECK(same(yv[i], c[i] != 0 ? av[i] : bv[i]));
      CHECK(ga[i] == (c[i] != 0 ? nan_gy : 0.0));
      CHECK(gb[i] == (c[i] != 0 ? 0.0 : nan_gy));
    }
  }
}

TEST_CASE("clamp with a NaN bound gives NaN and a zero gradient, like torch.clamp") {
  for (DType dtype : {float32, float64}) {
    Tensor x = nan_leaf(nan_values(0.5, -2.0, 2.0), dtype, false);
    Tensor y = clamp(x, NAN, 1.0) + clamp_min(x, NAN) + clamp_max(x, NAN);
    y.backward(full(y.shape(), nan_gy, dtype));
    for (double v : y.to(float64).to_vector<double>()) CHECK(std::isnan(v));
    for (double g : x.grad().to(float64).to_vector<double>()) CHECK(g == 0.0);
  }
}

// The shape and index ops of the table above, gradgradchecked (a TEST_CASE of their own, so the
// reduction and linear-algebra rows can get theirs separately).
