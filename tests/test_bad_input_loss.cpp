// Bad-input rows for the pointwise losses, dropout and embedding (Note [Bad-input catalogue] in
// test_bad_input.cpp): NaN targets, mismatched shapes, int64 operands, p outside [0, 1], empty batches.
#include <cmath>

#include "bad_input.hpp"

namespace bad_input {
namespace {

Tensor classes(std::vector<std::int64_t> v) { return from_vector(v, {static_cast<std::int64_t>(v.size())}); }
std::vector<double> values(const Tensor& t) { return t.to(float64).to_vector<double>(); }
Tensor probs() { return full({2, 3}, 0.5); }

// clang-format off
void loss_rows(Catalogue& row) {
  row.unwalked("BinaryCrossEntropyOptions");
  row.unwalked("BinaryCrossEntropyWithLogitsOptions");
  row.unwalked("KlDivOptions");
  // --- regression losses: shapes that do not broadcast, int64 operands, bad reductions and parameters
  row("mse_loss", [] { mse_loss(f23(), zeros({4})); }, Expect::shape, "mse_loss");
  row("mse_loss", [] { mse_loss(zeros({2, 3}, int64), f23()); }, Expect::dtype, "mse_loss");
  row("mse_loss", [] { mse_loss(f23(), zeros({2, 3}, int64)); }, Expect::dtype, "mse_loss");
  row("mse_loss", [] { mse_loss(f23(), undef()); }, Expect::value, "mse_loss");
  row("mse_loss", [] { mse_loss(f23(), f23(), Reduction::batchmean); }, Expect::value, "mse_loss");
  row.outcome("mse_loss", "a NaN target gives NaN; an empty batch's mean is NaN, its sum 0 (torch)", [] { CHECK(std::isnan(mse_loss(f23(), full({3}, nan)).item())); CHECK(std::isnan(mse_loss(zeros({0, 3}), zeros({0, 3})).item())); CHECK(mse_loss(zeros({0, 3}), zeros({3}), Reduction::sum).item() == 0.0); });
  row("l1_loss", [] { l1_loss(f23(), zeros({3, 2})); }, Expect::shape, "l1_loss");
  row("l1_loss", [] { l1_loss(ints(), ints()); }, Expect::dtype, "l1_loss");
  row("l1_loss", [] { l1_loss(undef(), f23()); }, Expect::value, "l1_loss");
  row("smooth_l1_loss", [] { smooth_l1_loss(f23(), f23(), Reduction::mean, -1.0); }, Expect::value, "smooth_l1_loss");
  row("smooth_l1_loss", [] { smooth_l1_loss(f23(), f23(), Reduction::mean, nan); }, Expect::value, "smooth_l1_loss");
  row("smooth_l1_loss", [] { smooth_l1_loss(f23(), zeros({2})); }, Expect::shape, "smooth_l1_loss");
  row("huber_loss", [] { huber_loss(f23(), f23(), Reduction::mean, 0.0); }, Expect::value, "huber_loss");
  row("huber_loss", [] { huber_loss(f23(), f23(), Reduction::sum, INFINITY); }, Expect::value, "huber_loss");
  row("huber_loss", [] { huber_loss(f23(), ints()); }, Expect::dtype, "huber_loss");
  // --- binary cross-entropy: probabilities outside [0, 1] (NaN too), targets of another shape, weights
  row("binary_cross_entropy", [] { binary_cross_entropy(full({2}, 1.5), zeros({2})); }, Expect::value, "binary_cross_entropy");
  row("binary_cross_entropy", [] { binary_cross_entropy(full({2}, nan), zeros({2})); }, Expect::value, "binary_cross_entropy");  // torch refuses NaN too
  row("binary_cross_entropy", [] { binary_cross_entropy(probs(), zeros({3})); }, Expect::shape, "binary_cross_entropy");  // torch: ValueError
  row("binary_cross_entropy", [] { binary_cross_entropy(probs(), probs(), {.weight = ones({2})}); }, Expect::shape, "binary_cross_entropy");
  row("binary_cross_entropy", [] { binary_cross_entropy(probs(), probs(), {.weight = ones({3}, int64)}); }, Expect::dtype, "binary_cross_entropy");
  row("binary_cross_entropy", [] { binary_cross_entropy(probs(), probs(), {.weight = ones({1, 2, 3})}); }, Expect::shape, "binary_cross_entropy");
  row("binary_cross_entropy", [] { binary_cross_entropy(zeros({2}, int64), zeros({2})); }, Expect::dtype, "binary_cross_entropy");
  row.outcome("binary_cross_entropy", "a NaN target gives NaN; the logs are clamped at -100 at 0 and 1", [] { CHECK(std::isnan(binary_cross_entropy(probs(), full({2, 3}, nan)).item())); CHECK(binary_cross_entropy(tensor({0.0, 1.0}), tensor({1.0, 0.0}), {.reduction = Reduction::sum}).item() == 200.0); });
  row("binary_cross_entropy_with_logits", [] { binary_cross_entropy_with_logits(f23(), zeros({2, 1})); }, Expect::shape, "binary_cross_entropy_with_logits");  // torch: ValueError
  row("binary_cross_entropy_with_logits", [] { binary_cross_entropy_with_logits(f23(), f23(), {.pos_weight = ones({2})}); }, Expect::shape, "binary_cross_entropy_with_logits");
  row("binary_cross_entropy_with_logits", [] { binary_cross_entropy_with_logits(f23(), f23(), {.pos_weight = ones({3}, int64)}); }, Expect::dtype, "binary_cross_entropy_with_logits");
  row("binary_cross_entropy_with_logits", [] { binary_cross_entropy_with_logits(f23(), f23(), {.weight = ones({4})}); }, Expect::shape, "binary_cross_entropy_with_logits");
  row("binary_cross_entropy_with_logits", [] { binary_cross_entropy_with_logits(f23(), zeros({2, 3}, int64)); }, Expect::dtype, "binary_cross_entropy_with_logits");
  row("binary_cross_entropy_with_logits", [] { binary_cross_entropy_with_logits(f23(), f23(), {.reduction = Reduction::batchmean}); }, Expect::value, "binary_cross_entropy_with_logits");
  row.outcome("binary_cross_entropy_with_logits", "logits of +-1000 in float32 give finite losses", [] { CHECK(values(binary_cross_entropy_with_logits(tensor({1000.0, -1000.0}), tensor({0.0, 0.0}), {.reduction = Reduction::none})) == std::vector<double>{1000.0, 0.0}); });
  // --- kl_div
  row("kl_div", [] { kl_div(f23(), zeros({4})); }, Expect::shape, "kl_div");
  row("kl_div", [] { kl_div(f23(), zeros({2, 3}, int64)); }, Expect::dtype, "kl_div");
  row("kl_div", [] { kl_div(undef(), f23()); }, Expect::value, "kl_div");
  row.outcome("kl_div", "a negative or NaN target gives NaN (torch's xlogy), a zero target 0", [] { std::vector<double> v = values(kl_div(zeros({3}), tensor({-0.5, nan, 0.0}), {.reduction = Reduction::none})); CHECK(std::isnan(v[0])); CHECK(std::isnan(v[1])); CHECK(v[2] == 0.0); });
  row.outcome("kl_div", "batchmean of an empty batch is NaN (0 / 0, torch)", [] { CHECK(std::isnan(kl_div(zeros({0, 3}), zeros({0, 3}), {.reduction = Reduction::batchmean}).item())); });
  row("cross_entropy", [] { cross_entropy(f23(), classes({0, 1}), {.reduction = Reduction::batchmean}); }, Expect::value, "cross_entropy");
  row("nll_loss", [] { nll_loss(f23(), classes({0, 1}), {.reduction = static_cast<Reduction>(9)}); }, Expect::value, "nll_loss");
  // --- dropout and embedding
  row("dropout", [] { dropout(f23(), -0.5); }, Expect::value, "dropout");
  row("dropout", [] { dropout(f23(), nan); }, Expect::value, "dropout");
  row("dropout", [] { dropout(ints(), 0.5); }, Expect::dtype, "dropout");
  row("dropout", [] { dropout(undef()); }, Expect::value, "dropout");
  row("dropout", [] { dropout(huge_view(), 0.5); }, Expect::oom, "dropout");
  row("dropout2d", [] { dropout2d(zeros({2, 3}), 0.5); }, Expect::shape, "dropout2d");
  row("dropout2d", [] { dropout2d(zeros({1, 2, 2, 2}), 1.01); }, Expect::value, "dropout2d");
  row("dropout2d", [] { dropout2d(zeros({1, 2, 2, 2}, int64), 0.5); }, Expect::dtype, "dropout2d");
  row("embedding", [] { embedding(classes({0, 3}), f23()); }, Expect::value, "embedding");  // torch: IndexError
  row("embedding", [] { embedding(classes({-1}), f23()); }, Expect::value, "embedding");
  row("embedding", [] { embedding(f23(), f23()); }, Expect::dtype, "embedding");
  row("embedding", [] { embedding(classes({0}), zeros({3})); }, Expect::shape, "embedding");
  row("embedding", [] { embedding(classes({0}), f23(), 2); }, Expect::value, "embedding");
  row("embedding", [] { embedding(classes({0}), undef()); }, Expect::value, "embedding");
  row.outcome("embedding", "an empty index gives an empty [0, dim] result", [] { CHECK(embedding(classes({}), f23()).shape() == Shape{0, 3}); });
}
// clang-format on

Rows rows(&loss_rows);

}  // namespace
}  // namespace bad_input
