// The bad-input catalogue's rows for what a PyTorch user reaches for (Note [Bad-input catalogue] in
// test_bad_input.cpp): the Tensor method forms, integer axes, comparison operators, where with
// scalars, select, max/min with indices, the losses and the nested-list literal.
#include <cmath>
#include <cstdint>

#include "bad_input.hpp"

namespace bad_input {
namespace {

Tensor classes(const NestedList& v) { return tensor(v, int64); }
std::vector<double> values(const Tensor& t) { return t.to(float64).to_vector<double>(); }

}  // namespace

// Each row stays on one line: the op's message must give the row's line.
// clang-format off
void api_rows(Catalogue& row) {
  // --- Tensor method forms: each names the op, as the free function does
  row("Tensor::add", [] { f23().add(zeros({4})); }, Expect::shape, "add");
  row("Tensor::sub", [] { f23().sub(undef()); }, Expect::value, "sub");
  row("Tensor::mul", [] { f23().mul(zeros({4})); }, Expect::shape, "mul");
  row("Tensor::div", [] { undef().div(f23()); }, Expect::value, "div");
  row("Tensor::neg", [] { undef().neg(); }, Expect::value, "neg");
  row("Tensor::exp", [] { ints().exp(); }, Expect::dtype, "exp");
  row("Tensor::log", [] { ints().log(); }, Expect::dtype, "log");
  row("Tensor::sqrt", [] { ints().sqrt(); }, Expect::dtype, "sqrt");
  row("Tensor::abs", [] { undef().abs(); }, Expect::value, "abs");
  row("Tensor::relu", [] { ints().relu(); }, Expect::dtype, "relu");
  row("Tensor::sigmoid", [] { ints().sigmoid(); }, Expect::dtype, "sigmoid");
  row("Tensor::tanh", [] { undef().tanh(); }, Expect::value, "tanh");
  row("Tensor::pow", [] { ints().pow(2.0); }, Expect::dtype, "pow");
  row("Tensor::pow", [] { f23().pow(zeros({4})); }, Expect::shape, "pow");
  row("Tensor::pow", [] { f23().pow(undef()); }, Expect::value, "pow");
  row("Tensor::clamp", [] { ints().clamp(0.0, 1.0); }, Expect::dtype, "clamp");
  row("Tensor::clamp_min", [] { ints().clamp_min(0.0); }, Expect::dtype, "clamp_min");
  row("Tensor::clamp_max", [] { undef().clamp_max(0.0); }, Expect::value, "clamp_max");
  row("Tensor::eq", [] { f23().eq(zeros({4})); }, Expect::shape, "eq");
  row("Tensor::ne", [] { f23().ne(undef()); }, Expect::value, "ne");
  row("Tensor::lt", [] { f23().lt(zeros({4})); }, Expect::shape, "lt");
  row("Tensor::le", [] { f23().le(zeros({4})); }, Expect::shape, "le");
  row("Tensor::gt", [] { f23().gt(zeros({4})); }, Expect::shape, "gt");
  row("Tensor::ge", [] { undef().ge(f23()); }, Expect::value, "ge");
  row("Tensor::var", [] { f23().var({2}); }, Expect::shape, "var");
  row("Tensor::var", [] { f23().var(1, -1); }, Expect::value, "var");  // integer axis, negative correction
  row("Tensor::var", [] { ints().var(0); }, Expect::dtype, "var");
  row("Tensor::max", [] { f23().max({2}); }, Expect::shape, "max");
  row("Tensor::max", [] { f23().max(2); }, Expect::shape, "max");  // values and indices
  row("Tensor::max", [] { zeros({0}).max(0); }, Expect::shape, "max");
  row("Tensor::min", [] { zeros({2, 0}).min({1}); }, Expect::shape, "min");
  row("Tensor::min", [] { undef().min(0); }, Expect::value, "min");
  row("Tensor::argmax", [] { f23().argmax(2); }, Expect::shape, "argmax");
  row("Tensor::argmin", [] { zeros({0}).argmin(); }, Expect::shape, "argmin");
  row("Tensor::logsumexp", [] { ints().logsumexp(0); }, Expect::dtype, "logsumexp");
  row("Tensor::logsumexp", [] { f23().logsumexp({2}); }, Expect::shape, "logsumexp");
  row("Tensor::softmax", [] { f23().softmax(2); }, Expect::shape, "softmax");
  row("Tensor::log_softmax", [] { ints().log_softmax(); }, Expect::dtype, "log_softmax");
  row("Tensor::sum", [] { f23().sum(2); }, Expect::shape, "sum");  // integer axis
  row("Tensor::mean", [] { ints().mean(0); }, Expect::dtype, "mean");
  row("Tensor::mean", [] { f23().mean(-3, true); }, Expect::shape, "mean");
  row("Tensor::unsqueeze", [] { f23().unsqueeze(3); }, Expect::shape, "unsqueeze");
  row("Tensor::squeeze", [] { f23().squeeze(2); }, Expect::shape, "squeeze");
  row("Tensor::squeeze", [] { f23().squeeze({-3}); }, Expect::shape, "squeeze");
  row("Tensor::flatten", [] { f23().flatten(1, 0); }, Expect::shape, "flatten");
  row("Tensor::permute", [] { f23().permute({1, 1}); }, Expect::shape, "permute");
  row("Tensor::t", [] { zeros({2, 2, 2}).t(); }, Expect::shape, "t");
  row("Tensor::t", [] { undef().t(); }, Expect::value, "t");
  row("Tensor::expand", [] { f23().expand({2, 4}); }, Expect::shape, "expand");
  row("Tensor::expand", [] { zeros({2, 1}).expand({2, -4}); }, Expect::value, "expand");
  row("Tensor::narrow", [] { f23().narrow(1, 2, 2); }, Expect::value, "narrow");
  row("Tensor::slice", [] { f23().slice(0, 0, 2, 0); }, Expect::value, "slice");
  row("Tensor::select", [] { f23().select(0, 2); }, Expect::value, "select");
  row("Tensor::index_select", [] { f23().index_select(0, classes({0, 2})); }, Expect::value, "index_select");
  row("Tensor::gather", [] { f23().gather(1, zeros({2, 1})); }, Expect::dtype, "gather");

  // --- free functions with an integer axis (the template overloads)
  row("sum", [] { sum(f23(), 2); }, Expect::shape, "sum");
  row("mean", [] { mean(ints(), 0); }, Expect::dtype, "mean");
  row("var", [] { var(f23(), -3); }, Expect::shape, "var");
  row("logsumexp", [] { logsumexp(f23(), 2, true); }, Expect::shape, "logsumexp");
  row("squeeze", [] { squeeze(f23(), -3); }, Expect::shape, "squeeze");
  row("max", [] { max(f23(), 2); }, Expect::shape, "max");
  row("min", [] { min(zeros({3, 0}), 1); }, Expect::shape, "min");

  // --- select, max/min with indices: the api branch names max_with_indices "max" (torch.max(x, dim))
  row("select", [] { select(f23(), 0, 2); }, Expect::value, "select");  // torch: IndexError
  row("select", [] { select(f23(), 1, -4); }, Expect::value, "select");
  row("select", [] { select(f23(), 2, 0); }, Expect::shape, "select");
  row("select", [] { select(scalar(1), 0, 0); }, Expect::shape, "select");
  row("select", [] { select(undef(), 0, 0); }, Expect::value, "select");
  row("max_with_indices", [] { max_with_indices(f23(), 2); }, Expect::shape, "max");
  row("max_with_indices", [] { max_with_indices(zeros({0}), 0); }, Expect::shape, "max");
  row("max_with_indices", [] { max_with_indices(undef(), 0); }, Expect::value, "max");
  row("min_with_indices", [] { min_with_indices(f23(), -3); }, Expect::shape, "min");
  row("min_with_indices", [] { min_with_indices(zeros({2, 0}), 1); }, Expect::shape, "min");
  row.outcome("max_with_indices", "int64 input keeps int64 values (torch)", [] { auto [v, i] = max_with_indices(ints(), 0); CHECK(v.dtype() == int64); CHECK(values(v) == std::vector<double>{3}); CHECK(values(i) == std::vector<double>{3}); });
  row.outcome("max_with_indices", "NaN wins, at its index (torch)", [] { auto [v, i] = max_with_indices(tensor({1.0, nan, 2.0}), 0); CHECK(std::isnan(v.item())); CHECK(i.item() == 1.0); });

  // --- comparison operators and where with scalars
  row("operator==", [] { f23() == zeros({4}); }, Expect::shape, "eq");
  row("operator==", [] { undef() == 1.0; }, Expect::value, "eq");
  row("operator!=", [] { f23() != zeros({4}); }, Expect::shape, "ne");
  row("operator!=", [] { 1.0 != undef(); }, Expect::value, "ne");
  row("operator<", [] { f23() < zeros({4}); }, Expect::shape, "lt");
  row("operator<", [] { undef() < 1.0; }, Expect::value, "lt");
  row("operator<=", [] { f23() <= zeros({4}); }, Expect::shape, "le");
  row("operator<=", [] { 1.0 <= undef(); }, Expect::value, "le");
  row("operator>", [] { f23() > zeros({4}); }, Expect::shape, "gt");
  row("operator>", [] { undef() > 0.0; }, Expect::value, "gt");
  row("operator>=", [] { f23() >= zeros({4}); }, Expect::shape, "ge");
  row("operator>=", [] { 1.0 >= undef(); }, Expect::value, "ge");
  row.outcome("operator<", "NaN compares false, != true (torch)", [] { CHECK(values(scalar(nan) < 1.0) == std::vector<double>{0}); CHECK(values(scalar(nan) != scalar(nan)) == std::vector<double>{1}); });
  row("where", [] { where(zeros({4}), f23(), 0.0); }, Expect::shape, "where");
  row("where", [] { where(zeros({4}), 1.0, f23()); }, Expect::shape, "where");
  row("where", [] { where(undef(), 1.0, 0.0); }, Expect::value, "where");
  row("where", [] { where(f23(), undef(), 0.0); }, Expect::value, "where");
  row("where", [] { where(f23(), 0.0, undef()); }, Expect::value, "where");
  row.outcome("where", "a NaN branch is kept where chosen (torch)", [] { Tensor y = where(tensor({1.0, 0.0}), nan, 2.0); CHECK(std::isnan(values(y)[0])); CHECK(values(y)[1] == 2.0); });

  // --- losses: class indices out of range, shapes and dtypes of input, target and weight
  row("nll_loss", [] { nll_loss(f23(), classes({0, 3})); }, Expect::value, "nll_loss");  // torch: IndexError
  row("nll_loss", [] { nll_loss(f23(), classes({-1, 0})); }, Expect::value, "nll_loss");
  row("nll_loss", [] { nll_loss(f23(), zeros({2})); }, Expect::dtype, "nll_loss");
  row("nll_loss", [] { nll_loss(zeros({2, 3}, int64), classes({0, 1})); }, Expect::dtype, "nll_loss");
  row("nll_loss", [] { nll_loss(f23(), zeros({2, 1}, int64)); }, Expect::shape, "nll_loss");
  row("nll_loss", [] { nll_loss(f23(), classes({0, 1}), {.weight = ones({2})}); }, Expect::shape, "nll_loss");
  row("nll_loss", [] { nll_loss(f23(), classes({0, 1}), {.weight = ones({3}, int64)}); }, Expect::dtype, "nll_loss");
  row("nll_loss", [] { nll_loss(scalar(1), classes({0})); }, Expect::shape, "nll_loss");
  row("nll_loss", [] { nll_loss(undef(), classes({0, 1})); }, Expect::value, "nll_loss");
  row("nll_loss", [] { nll_loss(f23(), undef()); }, Expect::value, "nll_loss");
  row("cross_entropy", [] { cross_entropy(f23(), classes({0, 3})); }, Expect::value, "cross_entropy");
  row("cross_entropy", [] { cross_entropy(f23(), classes({0})); }, Expect::shape, "cross_entropy");
  row("cross_entropy", [] { cross_entropy(zeros({2, 3}, int64), classes({0, 1})); }, Expect::dtype, "cross_entropy");
  row("cross_entropy", [] { cross_entropy(f23(), zeros({2, 4})); }, Expect::dtype, "cross_entropy");  // probabilities of another shape
  row("cross_entropy", [] { cross_entropy(f23(), classes({0, 1}), {.weight = ones({4})}); }, Expect::shape, "cross_entropy");
  row("cross_entropy", [] { cross_entropy(f23(), classes({0, 1}), {.label_smoothing = 1.5}); }, Expect::value, "cross_entropy");
  row("cross_entropy", [] { cross_entropy(f23(), classes({0, 1}), {.label_smoothing = nan}); }, Expect::value, "cross_entropy");
  row("cross_entropy", [] { cross_entropy(scalar(1), classes({0})); }, Expect::shape, "cross_entropy");
  row("cross_entropy", [] { cross_entropy(undef(), classes({0, 1})); }, Expect::value, "cross_entropy");
  row.outcome("nll_loss", "every target ignored: the mean is NaN (torch)", [] { CHECK(std::isnan(nll_loss(f23(), classes({-100, -100})).item())); });

  // --- the nested-list literal: a ragged list is recorded, and tensor() raises ShapeError for it
  row.outcome("NestedList::NestedList", "ragged items are recorded, not thrown", [] { NestedList n{{1.0, 2.0}, {3.0}}; CHECK(!n.ragged().empty()); });
  row.outcome("NestedList::ragged", "a rectangular list is not ragged", [] { CHECK(NestedList{{1.0}, {2.0}}.ragged().empty()); });
  row.outcome("NestedList::shape", "{} is an empty list", [] { CHECK(NestedList{}.shape() == Shape{0}); CHECK(NestedList{{1.0}, {2.0}}.shape() == Shape{2, 1}); });
  row.outcome("NestedList::values", "NaN is kept as a value (tensor(..., int64) refuses it)", [] { CHECK(std::isnan(NestedList(nan).values()[0])); });
  row("tensor", [] { tensor({{1.0}, {2.0, 3.0}}, float64); }, Expect::shape, "tensor");

  // --- .npy files (the hostile files themselves: test_npy.cpp)
  row("load_npy", [] { load_npy("/nonexistent/x.npy"); }, Expect::io, "load_npy");
  row("load_npy", [] { load_npy("/"); }, Expect::io, "load_npy");
  row("load_npy", [] { load_npy(""); }, Expect::io, "load_npy");
  row("save_npy", [] { save_npy("/nonexistent/x.npy", f23()); }, Expect::io, "save_npy");
  row("save_npy", [] { save_npy("/tmp", f23()); }, Expect::io, "save_npy");  // a directory
  row("save_npy", [] { save_npy("/tmp/tapegrad-bad-input.npy", undef()); }, Expect::value, "save_npy");
}
// clang-format on

}  // namespace bad_input
