// Note [Generated op tests]: every op is gradchecked (float64, PyTorch tolerances) on the sample
// kinds the core issue asks for: a 0-d scalar, broadcast pairs, a non-trivial 3-D shape (also as a
// non-contiguous view), and an empty tensor. Elementwise ops come straight from the lists in
// src/kernels/formulas.hpp; the other ops from the table below. Adding an op to a list is what gets it
// tested, and an op in a list with no public function here fails the suite.
#include <functional>
#include <map>
#include <string>
#include <tuple>

#include "helpers.hpp"
#include "kernels/formulas.hpp"

using namespace tapegrad;
using test::sample;
namespace k = tapegrad::kernels;

namespace {

using Unary = std::function<Tensor(const Tensor&, const k::Params&)>;
using Binary = std::function<Tensor(const Tensor&, const Tensor&)>;

// The public function behind each elementwise op of the lists.
const std::map<std::string_view, Unary>& unary_functions() {
  static const std::map<std::string_view, Unary> table = {
      {"neg", [](const Tensor& x, const k::Params&) { return neg(x); }},
      {"exp", [](const Tensor& x, const k::Params&) { return exp(x); }},
      {"log", [](const Tensor& x, const k::Params&) { return log(x); }},
      {"log1p", [](const Tensor& x, const k::Params&) { return log1p(x); }},
      {"sqrt", [](const Tensor& x, const k::Params&) { return sqrt(x); }},
      {"rsqrt", [](const Tensor& x, const k::Params&) { return rsqrt(x); }},
      {"abs", [](const Tensor& x, const k::Params&) { return abs(x); }},
      {"sin", [](const Tensor& x, const k::Params&) { return sin(x); }},
      {"cos", [](const Tensor& x, const k::Params&) { return cos(x); }},
      {"tanh", [](const Tensor& x, const k::Params&) { return tanh(x); }},
      {"sigmoid", [](const Tensor& x, const k::Params&) { return sigmoid(x); }},
      {"relu", [](const Tensor& x, const k::Params&) { return relu(x); }},
      {"gelu", [](const Tensor& x, const k::Params&) { return gelu(x); }},
      {"silu", [](const Tensor& x, const k::Params&) { return silu(x); }},
      {"leaky_relu", [](const Tensor& x, const k::Params& p) { return leaky_relu(x, p.a); }},
      {"elu", [](const Tensor& x, const k::Params& p) { return elu(x, p.a); }},
      {"softplus", [](const Tensor& x, const k::Params& p) { return softplus(x, p.a, p.b); }},
      {"clamp", [](const Tensor& x, const k::Params& p) { return clamp(x, p.a, p.b); }},
      {"pow_scalar", [](const Tensor& x, const k::Params& p) { return pow(x, p.a); }},
  };
  return table;
}

const std::map<std::string_view, Binary>& binary_functions() {
  static const std::map<std::string_view, Binary> table = {
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }},
      {"pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); }},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }},
      {"eq", [](const Tensor& a, const Tensor& b) { return eq(a, b); }},
      {"ne", [](const Tensor& a, const Tensor& b) { return ne(a, b); }},
      {"lt", [](const Tensor& a, const Tensor& b) { return lt(a, b); }},
      {"le", [](const Tensor& a, const Tensor& b) { return le(a, b); }},
      {"gt", [](const Tensor& a, const Tensor& b) { return gt(a, b); }},
      {"ge", [](const Tensor& a, const Tensor& b) { return ge(a, b); }},
  };
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

TEST_CASE("every unary op is gradchecked on 0-d, 2-D, 3-D, strided and empty samples") {
  std::size_t ops = 0, gradchecks = 0;
  [&]<class... Ops>(std::tuple<Ops...>*) {
    (
        [&] {
          using Op = Ops;
          ++ops;
          INFO("op: " << Op::name);
          auto it = unary_functions().find(Op::name);
          REQUIRE_MESSAGE(it != unary_functions().end(), "no public function in the test table for " << Op::name);
          const Unary& f = it->second;
          for (const Tensor& x : unary_samples(Op::domain)) {
            INFO("shape " << to_string(x.shape()));
            ++gradchecks;
            CHECK(gradcheck([&](const std::vector<Tensor>& xs) { return f(xs[0], Op::domain.params); }, {x}));
            // forward against the scalar formula in double
            Tensor y = f(x, Op::domain.params);
            CHECK(y.shape() == x.shape());
            std::vector<double> xv = x.detach().to_vector<double>(), yv = y.detach().to_vector<double>();
            for (std::size_t i = 0; i < xv.size(); ++i)
              CHECK(yv[i] == doctest::Approx(Op::forward(xv[i], Op::domain.params)).epsilon(1e-12));
          }
        }(),
        ...);
  }(static_cast<k::unary_ops*>(nullptr));
  CHECK(ops == unary_functions().size());
  MESSAGE(ops << " unary ops, " << gradchecks << " gradchecks");
}

TEST_CASE("every binary op is gradchecked on broadcast pairs, or value-checked when not differentiable") {
  std::size_t ops = 0, gradchecks = 0;
  [&]<class... Ops>(std::tuple<Ops...>*) {
    (
        [&] {
          using Op = Ops;
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
        }(),
        ...);
  }(static_cast<k::binary_ops*>(nullptr));
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
      {{s({3, 4}), s({4, 5})}, {s({2, 3, 4}), s({4, 2})}, {s({2, 1, 3, 4}), s({3, 4, 2})}, {s({4}), s({4})},
       {s({4}), s({4, 3})}, {s({2, 3, 4}), s({4})}, {s({0, 4}), s({4, 3})}, {s({3, 0}), s({0, 2})}});
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
  add("pad", [](auto& x) { return pad(x[0], {1, 2, 0, 1}, 0.5); }, {{s({2, 3, 4})}, {s({0, 2})}});
  add("pad 1-D", [](auto& x) { return pad(x[0], {2, 0}); }, {{s({3})}, {s({0})}});
  // float32 rounding limits central differences: a wider step and float32-sized tolerances.
  add("to float32 and back", [](auto& x) { return x[0].to(float32).to(float64) * 1.0; }, {{s({})}, {s({2, 3})}},
      {.eps = 1e-3, .atol = 1e-3, .rtol = 1e-2});
  add("contiguous", [](auto& x) { return transpose(x[0], 0, 1).contiguous(); }, {{s({3, 4})}, {s({0, 2})}});
  add("clone", [](auto& x) { return x[0].clone() * x[0]; }, {{s({})}, {s({2, 3, 4})}});

  // indexing
  add("index_select", [](auto& x) { return index_select(x[0], 0, labels({2, 0, 2, 1}, {4})); },
      {{s({3, 4})}, {s({3, 2, 2})}, {s({3, 0})}});
  add("index_select axis 1", [](auto& x) { return index_select(x[0], 1, labels({1, 1}, {2})); }, {{s({2, 3, 4})}});
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

TEST_CASE("every reduction, shape, index and linear-algebra op is gradchecked") {
  std::size_t gradchecks = 0;
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
    }
  }
  MESSAGE(ops.size() << " op variants, " << gradchecks << " gradchecks (full and fast mode)");
}
