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
#include "op_functions.hpp"
#include "kernels/formulas.hpp"
#include "kernels/isa.hpp"
#include "kernels/simd_table.hpp"

using namespace tapegrad;
using test::sample;
using test::for_each_op;
namespace k = tapegrad::kernels;

namespace {

using test::Unary;
using test::unary_functions;
using test::Binary;
using test::binary_functions;


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
  add("linear", [](auto& x) { return linear(x[0], x[1], x[2]); },
      {{s({5, 3}), s({4, 3}), s({4})}, {s({2, 3, 3}), s({4, 3}), s({4})}, {s({3}), s({2, 3}), s({2})}});
  add("linear without bias", [](auto& x) { return linear(x[0], x[1]); }, {{s({5, 3}), s({4, 3})}, {s({0, 3}), s({4, 3})}});
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
  // the pointwise losses: input and target both differentiable, broadcast pairs, 0-d, empty (sum)
  add("mse_loss", [](auto& x) { return mse_loss(x[0], x[1]); }, {{s({3, 4}), s({3, 4})}, {s({2, 3, 4}), s({4})}, {s({}), s({})}});
  add("mse_loss none", [](auto& x) { return mse_loss(x[0], x[1], Reduction::none); }, {{s({3, 1}), s({4})}});
  add("mse_loss sum, empty", [](auto& x) { return mse_loss(x[0], x[1], Reduction::sum); }, {{s({0, 3}), s({3})}});
  add("l1_loss", [](auto& x) { return l1_loss(x[0], x[1], Reduction::sum); }, {{s({3, 4}), s({3, 4})}, {s({2, 3}), s({})}});
  add("smooth_l1_loss", [](auto& x) { return smooth_l1_loss(x[0], x[1], Reduction::mean, 0.8); }, {{s({3, 4}), s({3, 4})}, {s({2, 3, 4}), s({3, 1})}});
  add("huber_loss none", [](auto& x) { return huber_loss(x[0], x[1], Reduction::none, 1.5); }, {{s({3, 4}), s({4})}});
  add("binary_cross_entropy", [](auto& x) { return binary_cross_entropy(x[0], x[1]); },
      {{s({3, 4}, 0.05, 0.95), s({3, 4}, 0.0, 1.0)}, {s({}, 0.05, 0.95), s({}, 0.0, 1.0)}});
  add("binary_cross_entropy weight, none", [](auto& x) {
        return binary_cross_entropy(x[0], x[1], {.weight = x[2], .reduction = Reduction::none});
      },
      {{s({3, 4}, 0.05, 0.95), s({3, 4}, 0.0, 1.0), s({4}, 0.5, 2.0)}});
  add("binary_cross_entropy_with_logits", [](auto& x) { return binary_cross_entropy_with_logits(x[0], x[1]); },
      {{s({3, 4}, -4, 4), s({3, 4}, 0.0, 1.0)}, {s({}), s({}, 0.0, 1.0)}});
  add("binary_cross_entropy_with_logits sum, empty", [](auto& x) {
        return binary_cross_entropy_with_logits(x[0], x[1], {.reduction = Reduction::sum});
      },
      {{s({0, 2}), s({0, 2})}});
  add("binary_cross_entropy_with_logits weight, pos_weight, sum", [](auto& x) {
        return binary_cross_entropy_with_logits(x[0], x[1], {.weight = x[2], .pos_weight = x[3], .reduction = Reduction::sum});
      },
      {{s({3, 4}, -4, 4), s({3, 4}, 0.0, 1.0), s({3, 1}, 0.5, 2.0), s({4}, 0.5, 3.0)}});
  add("kl_div batchmean", [](auto& x) { return kl_div(log_softmax(x[0], 1), softmax(x[1], 1), {.reduction = Reduction::batchmean}); },
      {{s({3, 4}), s({3, 4})}});
  add("kl_div log_target, none", [](auto& x) { return kl_div(x[0], x[1], {.reduction = Reduction::none, .log_target = true}); },
      {{s({3, 4}), s({4})}});
  // dropout: a generator seeded inside the function draws the same mask at every evaluation
  add("dropout", [](auto& x) { Generator g(7); return dropout(x[0], 0.4, true, &g); }, {{s({3, 4})}, {s({})}, {s({0, 3})}});
  add("dropout eval and p = 0, p = 1", [](auto& x) {
        Generator g(7);
        return dropout(x[0], 0.4, false, &g) + dropout(x[0], 0.0, true, &g) * 2.0 + dropout(x[0], 1.0, true, &g);
      },
      {{s({3, 4})}});
  add("dropout2d", [](auto& x) { Generator g(3); return dropout2d(x[0], 0.5, true, &g); }, {{s({2, 3, 2, 2})}, {s({3, 2, 2})}});
  // embedding: the weight is the input; repeated rows, a padding row (no gradient), 0-d and empty indices
  add("embedding", [](auto& x) { return embedding(labels({2, 0, 2, 1, 4, 2}, {2, 3}), x[0]); }, {{s({5, 3})}});
  // (padding_idx cuts rows from the gradient on purpose, so it is checked in test_dropout_embedding.cpp)
  add("embedding 0-d and empty indices", [](auto& x) {
        return concat({embedding(labels({1}, {}), x[0]), sum(embedding(labels({}, {0, 2}), x[0]), {0, 1})}, 0);
      },
      {{s({3, 2})}});
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
