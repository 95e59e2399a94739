// The bad-input catalogue's rows for the ops (Note [Bad-input catalogue] in test_bad_input.cpp).
#include <cmath>
#include <cstdint>
#include <limits>

#include "bad_input.hpp"

namespace bad_input {
namespace {

Tensor col() { return zeros({2, 1}); }  // float32 [2, 1]
Tensor index(const NestedList& v) { return tensor(v, int64); }

std::vector<double> values(const Tensor& t) { return t.to(float64).to_vector<double>(); }

}  // namespace

// Each row stays on one line: the op's message must give the row's line.
// clang-format off
void ops_rows(Catalogue& row) {
  // --- unary: int64 where a float is needed, undefined input
  row("neg", [] { neg(undef()); }, Expect::value, "neg");
  row("abs", [] { abs(undef()); }, Expect::value, "abs");
  // The plain unary ops, from their list (Note [Plain unary ops]): int64 and undefined input.
#define TAPEGRAD_PLAIN_UNARY_ROWS(function, Formula) \
  row(#function, [] { function(ints()); }, Expect::dtype, #function); \
  row(#function, [] { function(undef()); }, Expect::value, #function);
  TAPEGRAD_PLAIN_UNARY_OPS(TAPEGRAD_PLAIN_UNARY_ROWS)
#undef TAPEGRAD_PLAIN_UNARY_ROWS
  row("leaky_relu", [] { leaky_relu(ints()); }, Expect::dtype, "leaky_relu");
  row("elu", [] { elu(ints()); }, Expect::dtype, "elu");
  row("softplus", [] { softplus(ints()); }, Expect::dtype, "softplus");
  row("softplus", [] { softplus(undef()); }, Expect::value, "softplus");
  row("clamp", [] { clamp(ints(), 0.0, 1.0); }, Expect::dtype, "clamp");
  row("clamp", [] { clamp(undef(), 0.0, 1.0); }, Expect::value, "clamp");
  row("clamp_min", [] { clamp_min(ints(), 0.0); }, Expect::dtype, "clamp_min");  // said clamp
  row("clamp_max", [] { clamp_max(ints(), 0.0); }, Expect::dtype, "clamp_max");
  row("pow", [] { pow(ints(), 2.0); }, Expect::dtype, "pow");  // int64 ** int: no integer kernel (said pow_scalar)
  row.outcome("pow", "int64 ** 0.5 is float32 (torch)", [] { Tensor y = pow(ints(), 0.5); CHECK(y.dtype() == float32); for (int i = 0; i < 4; ++i) CHECK(values(y)[i] == doctest::Approx(std::sqrt(i)).epsilon(1e-6)); });
  row("pow", [] { pow(f23(), zeros({4})); }, Expect::shape, "pow");  // said broadcast
  row("pow", [] { pow(undef(), 2.0); }, Expect::value, "pow");

  // --- binary: shapes that do not broadcast, undefined operands
  row("add", [] { add(f23(), zeros({4})); }, Expect::shape, "add");  // said broadcast
  row("add", [] { add(f23(), undef()); }, Expect::value, "add");
  row("sub", [] { sub(f23(), zeros({4})); }, Expect::shape, "sub");
  row("sub", [] { sub(undef(), f23()); }, Expect::value, "sub");
  row("mul", [] { mul(f23(), zeros({4})); }, Expect::shape, "mul");
  row("mul", [] { mul(huge_view(), unsqueeze(huge_view(), 1)); }, Expect::value, "mul");  // [2^60, 2^60]
  row("div", [] { div(f23(), zeros({4})); }, Expect::shape, "div");
  row("div", [] { div(undef(), f23()); }, Expect::value, "div");
  row("maximum", [] { maximum(f23(), zeros({4})); }, Expect::shape, "maximum");
  row("maximum", [] { maximum(f23(), undef()); }, Expect::value, "maximum");
  row("minimum", [] { minimum(f23(), zeros({4})); }, Expect::shape, "minimum");
  row("where", [] { where(zeros({4}), f23(), f23()); }, Expect::shape, "where");
  row("where", [] { where(undef(), f23(), f23()); }, Expect::value, "where");
  row("eq", [] { eq(f23(), zeros({4})); }, Expect::shape, "eq");
  row("ne", [] { ne(f23(), zeros({4})); }, Expect::shape, "ne");
  row("lt", [] { lt(f23(), zeros({4})); }, Expect::shape, "lt");
  row("le", [] { le(f23(), zeros({4})); }, Expect::shape, "le");
  row("gt", [] { gt(f23(), zeros({4})); }, Expect::shape, "gt");
  row("ge", [] { ge(f23(), zeros({4})); }, Expect::shape, "ge");
  row("ge", [] { ge(undef(), f23()); }, Expect::value, "ge");
  row("operator+", [] { f23() + zeros({4}); }, Expect::shape, "add");
  row("operator+", [] { undef() + 1.0; }, Expect::value, "add");
  row("operator+", [] { 1.0 + undef(); }, Expect::value, "add");
  row("operator-", [] { f23() - zeros({4}); }, Expect::shape, "sub");
  row("operator-", [] { -undef(); }, Expect::value, "neg");
  row("operator-", [] { 1.0 - undef(); }, Expect::value, "sub");
  row("operator*", [] { f23() * zeros({4}); }, Expect::shape, "mul");
  row("operator*", [] { undef() * 2.0; }, Expect::value, "mul");
  row("operator/", [] { f23() / zeros({4}); }, Expect::shape, "div");
  row("operator/", [] { 2.0 / undef(); }, Expect::value, "div");
  row.outcome("operator/", "int64 / 2.0 is true division, float32 (torch)", [] { Tensor q = ints() / 2.0; CHECK(q.dtype() == float32); CHECK(values(q) == std::vector<double>{0, 0.5, 1, 1.5}); });
  row.outcome("operator*", "int64 * 2.5 promotes to float32 (torch)", [] { CHECK(values(ints() * 2.5) == std::vector<double>{0, 2.5, 5, 7.5}); });
  row.outcome("relu", "NaN propagates (torch)", [] { CHECK(std::isnan(relu(scalar(nan)).item())); });
  row.outcome("maximum", "NaN propagates in both orders (torch)", [] { CHECK(std::isnan(maximum(scalar(nan), scalar(0)).item())); CHECK(std::isnan(maximum(scalar(0), scalar(nan)).item())); });
  row.outcome("minimum", "NaN propagates in both orders (torch)", [] { CHECK(std::isnan(minimum(scalar(nan), scalar(0)).item())); CHECK(std::isnan(minimum(scalar(0), scalar(nan)).item())); });
  row.outcome("clamp", "NaN propagates (torch)", [] { CHECK(std::isnan(clamp(scalar(nan), 0, 1).item())); });
  row.outcome("exp", "empty in, empty out", [] { CHECK(exp(zeros({0, 3})).shape() == Shape{0, 3}); });
  row.outcome("add", "empty broadcasts with [1]", [] { CHECK(add(zeros({0, 3}), ones({1})).shape() == Shape{0, 3}); });

  // --- indexing: dtype and rank of the index, indices out of range
  row("index_select", [] { index_select(f23(), 0, zeros({2})); }, Expect::dtype, "index_select");
  row("index_select", [] { index_select(f23(), 0, index({0, 2})); }, Expect::value, "index_select");
  row("index_select", [] { index_select(f23(), 1, index({-4})); }, Expect::value, "index_select");
  row("index_select", [] { index_select(f23(), 2, index({0})); }, Expect::shape, "index_select");
  row("index_select", [] { index_select(f23(), 0, zeros({1, 1}, int64)); }, Expect::shape, "index_select");
  row("index_select", [] { index_select(undef(), 0, index({0})); }, Expect::value, "index_select");
  row("gather", [] { gather(f23(), 1, zeros({2, 3})); }, Expect::dtype, "gather");
  row("gather", [] { gather(f23(), 1, full({2, 1}, 3, int64)); }, Expect::value, "gather");
  row("gather", [] { gather(f23(), 1, full({2, 1}, -4, int64)); }, Expect::value, "gather");
  row("gather", [] { gather(f23(), 1, index({0})); }, Expect::shape, "gather");
  row("gather", [] { gather(f23(), 2, zeros({2, 1}, int64)); }, Expect::shape, "gather");
  row.outcome("index_select", "an empty index gives an empty axis", [] { CHECK(index_select(f23(), 1, zeros({0}, int64)).shape() == Shape{2, 0}); });

  // --- matmul
  row("matmul", [] { matmul(f23(), f23()); }, Expect::shape, "matmul");
  row("matmul", [] { matmul(ints(), ints()); }, Expect::dtype, "matmul");
  row("matmul", [] { matmul(scalar(1), f23()); }, Expect::shape, "matmul");
  row("matmul", [] { matmul(zeros({2, 2, 3}), zeros({3, 3, 1})); }, Expect::shape, "matmul");  // said broadcast
  row("matmul", [] { matmul(undef(), f23()); }, Expect::value, "matmul");
  row("matmul", [] { matmul(expand(zeros({1, 1}), {1LL << 60, 1}), expand(zeros({1, 1}), {1, 1LL << 60})); }, Expect::value, "matmul");
  row("matmul", [] { matmul(expand(zeros({1, 1}), {1LL << 25, 1}), expand(zeros({1, 1}), {1, 1LL << 25})); }, Expect::oom, "matmul");
  row.outcome("matmul", "an empty inner dimension gives zeros (torch)", [] { CHECK(values(matmul(zeros({2, 0}), zeros({0, 3}))) == std::vector<double>(6, 0.0)); });

  // --- reductions
  row("sum", [] { sum(f23(), {2}); }, Expect::shape, "sum");
  row("sum", [] { sum(f23(), {1, -1}); }, Expect::shape, "sum");
  row("sum", [] { sum(undef()); }, Expect::value, "sum");
  row("mean", [] { mean(ints()); }, Expect::dtype, "mean");
  row("mean", [] { mean(f23(), {-3}); }, Expect::shape, "mean");
  row("var", [] { var(ints()); }, Expect::dtype, "var");
  row("var", [] { var(f23(), {3}); }, Expect::shape, "var");
  row("var", [] { var(f23(), {}, -1); }, Expect::value, "var");
  row("max", [] { max(zeros({0})); }, Expect::shape, "max");  // torch: no identity for an empty max
  row("max", [] { max(zeros({2, 0}), {1}); }, Expect::shape, "max");
  row("max", [] { max(f23(), {2}); }, Expect::shape, "max");
  row("min", [] { min(zeros({0, 2})); }, Expect::shape, "min");
  row("min", [] { min(undef()); }, Expect::value, "min");
  row("argmax", [] { argmax(zeros({0})); }, Expect::shape, "argmax");
  row("argmax", [] { argmax(f23(), 2); }, Expect::shape, "argmax");
  row("argmin", [] { argmin(zeros({3, 0}), 1); }, Expect::shape, "argmin");
  row("argmin", [] { argmin(f23(), -3); }, Expect::shape, "argmin");
  row("logsumexp", [] { logsumexp(ints()); }, Expect::dtype, "logsumexp");
  row("logsumexp", [] { logsumexp(f23(), {2}); }, Expect::shape, "logsumexp");
  row("softmax", [] { softmax(ints()); }, Expect::dtype, "softmax");
  row("softmax", [] { softmax(f23(), 2); }, Expect::shape, "softmax");
  row("log_softmax", [] { log_softmax(ints()); }, Expect::dtype, "log_softmax");
  row("log_softmax", [] { log_softmax(f23(), -3); }, Expect::shape, "log_softmax");
  row.outcome("sum", "the sum of nothing is 0", [] { CHECK(sum(zeros({0})).item() == 0.0); CHECK(values(sum(zeros({2, 0}), {1})) == std::vector<double>{0, 0}); });
  row.outcome("mean", "the mean of nothing is NaN (torch)", [] { CHECK(std::isnan(mean(zeros({0})).item())); });
  row.outcome("var", "one value with correction 1 gives NaN (torch)", [] { CHECK(std::isnan(var(ones({1})).item())); CHECK(std::isnan(var(zeros({0})).item())); });
  row.outcome("logsumexp", "over nothing is -inf (torch)", [] { CHECK(logsumexp(zeros({0})).item() == -std::numeric_limits<double>::infinity()); });
  row.outcome("softmax", "empty in, empty out", [] { CHECK(softmax(zeros({0}), 0).numel() == 0); CHECK(log_softmax(zeros({2, 0}), 1).shape() == Shape{2, 0}); });
  row.outcome("max", "over a non-empty axis of an empty tensor", [] { CHECK(max(zeros({0, 2}), {1}).shape() == Shape{0}); CHECK(argmax(zeros({0, 2}), 1).shape() == Shape{0}); });

  // --- shape ops
  row("reshape", [] { reshape(f23(), {4}); }, Expect::shape, "reshape");
  row("reshape", [] { reshape(f23(), {-1, -1}); }, Expect::shape, "reshape");
  row("reshape", [] { reshape(f23(), {-3, -2}); }, Expect::shape, "reshape");
  row("reshape", [] { reshape(undef(), {1}); }, Expect::value, "reshape");
  row("view", [] { view(transpose(f23(), 0, 1), {6}); }, Expect::shape, "view");
  row("view", [] { view(f23(), {7}); }, Expect::shape, "view");
  row("flatten", [] { flatten(f23(), 1, 0); }, Expect::shape, "flatten");
  row("flatten", [] { flatten(f23(), 0, 2); }, Expect::shape, "flatten");
  row("transpose", [] { transpose(f23(), 0, 2); }, Expect::shape, "transpose");
  row("permute", [] { permute(f23(), {0, 0}); }, Expect::shape, "permute");
  row("permute", [] { permute(f23(), {0}); }, Expect::shape, "permute");
  row("squeeze", [] { squeeze(f23(), {2}); }, Expect::shape, "squeeze");
  row("unsqueeze", [] { unsqueeze(f23(), 3); }, Expect::shape, "unsqueeze");
  row("unsqueeze", [] { unsqueeze(undef(), 0); }, Expect::value, "unsqueeze");
  row("slice", [] { slice(f23(), 2, 0, 1); }, Expect::shape, "slice");
  row("slice", [] { slice(f23(), 0, 0, 2, 0); }, Expect::value, "slice");
  row("slice", [] { slice(f23(), 0, 0, 2, -1); }, Expect::value, "slice");
  row("narrow", [] { narrow(f23(), 1, 2, 2); }, Expect::value, "narrow");
  row("narrow", [] { narrow(f23(), 1, 0, -1); }, Expect::value, "narrow");
  row("narrow", [] { narrow(f23(), 1, 4, 0); }, Expect::value, "narrow");
  row("narrow", [] { narrow(f23(), 3, 0, 1); }, Expect::shape, "narrow");
  row("expand", [] { expand(f23(), {2, 4}); }, Expect::shape, "expand");
  row("expand", [] { expand(f23(), {-1, 2, 3}); }, Expect::shape, "expand");  // -1 only for existing axes (torch)
  row("expand", [] { expand(col(), {2, -4}); }, Expect::value, "expand");
  row("expand", [] { expand(zeros({1, 1}), {big, big}); }, Expect::value, "expand");
  row("broadcast_to", [] { broadcast_to(f23(), {3}); }, Expect::shape, "broadcast_to");
  row("broadcast_to", [] { broadcast_to(ones({1}), {2, -4}); }, Expect::value, "broadcast_to");
  row("concat", [] { concat({}); }, Expect::value, "concat");
  row("concat", [] { concat({f23(), zeros({2, 2})}, 0); }, Expect::shape, "concat");
  row("concat", [] { concat({f23(), zeros({3})}); }, Expect::shape, "concat");
  row("concat", [] { concat({f23(), undef()}); }, Expect::value, "concat");
  row("concat", [] { concat({huge_view(), huge_view(), huge_view(), huge_view()}); }, Expect::value, "concat");
  row("stack", [] { stack({}); }, Expect::value, "stack");
  row("stack", [] { stack({f23(), zeros({3, 2})}); }, Expect::shape, "stack");
  row("stack", [] { stack({f23(), f23()}, 3); }, Expect::shape, "stack");
  row("split", [] { split(f23(), 0, 1); }, Expect::value, "split");
  row("split", [] { split(f23(), -2, 1); }, Expect::value, "split");
  row("split", [] { split(f23(), 1, 2); }, Expect::shape, "split");
  row("split", [] { split(f23(), std::vector<std::int64_t>{1, 1}, 1); }, Expect::shape, "split");
  row("split", [] { split(f23(), std::vector<std::int64_t>{4, -1}, 1); }, Expect::value, "split");
  row("split", [] { split(f23(), std::vector<std::int64_t>{1, 2}, 5); }, Expect::shape, "split");
  row("unbind", [] { unbind(f23(), 2); }, Expect::shape, "unbind");  // torch: IndexError
  row("unbind", [] { unbind(zeros({}), 0); }, Expect::shape, "unbind");
  row("unbind", [] { unbind(undef(), 0); }, Expect::value, "unbind");
  row("pad", [] { pad(f23(), {1}); }, Expect::shape, "pad");
  row("pad", [] { pad(f23(), {1, 1, 1, 1, 1, 1}); }, Expect::shape, "pad");
  row("pad", [] { pad(f23(), {-2, -2}); }, Expect::shape, "pad");  // a negative size: ShapeError (alias branch, test_ops.cpp)
  row("pad", [] { pad(f23(), {big, big}); }, Expect::value, "pad");
  row("broadcast_shapes", [] { broadcast_shapes({2, 3}, {4}); }, Expect::shape, "broadcast_shapes");  // said broadcast
  row("broadcast_shapes", [] { broadcast_shapes({-1}, {3}); }, Expect::value, "broadcast_shapes");
  row.outcome("slice", "a step near INT64_MAX gives one element", [] { CHECK(slice(f23(), 1, 0, 3, std::numeric_limits<std::int64_t>::max()).shape() == Shape{2, 1}); });
  row.outcome("slice", "bounds are clamped (torch)", [] { CHECK(slice(f23(), 1, -100, 100).shape() == Shape{2, 3}); CHECK(slice(f23(), 1, 5, 9).shape() == Shape{2, 0}); });
  row.outcome("concat", "empty pieces join", [] { CHECK(concat({zeros({0, 3}), f23()}).shape() == Shape{2, 3}); });
  row.outcome("unbind", "an empty axis unbinds into no pieces (torch)", [] { CHECK(unbind(zeros({2, 0}), 1).empty()); });
  row.outcome("split", "an empty axis splits into no pieces or one empty piece", [] { CHECK(split(zeros({0, 3}), 2, 0).size() <= 1); });
}
// clang-format on

}  // namespace bad_input
