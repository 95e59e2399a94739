// Losses, with PyTorch's semantics (torch.nn.functional): classification (cross_entropy, nll_loss,
// binary_cross_entropy[_with_logits], kl_div) and regression (mse_loss, l1_loss, smooth_l1_loss,
// huber_loss). The layer library builds its loss modules (nn/loss.hpp) on these.
#pragma once

#include <cstdint>

#include "tapegrad/here.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad {

// How per-element losses become the result: kept as they are, averaged, or added up. batchmean (the
// sum divided by the batch size, input.shape[0]) is kl_div's only; the other losses refuse it.
enum class Reduction { none, mean, sum, batchmean };

struct NllLossOptions {
  Tensor weight{};                   // [C] per-class weights (undefined: all 1)
  std::int64_t ignore_index = -100;  // targets equal to it add nothing and do not count in the mean
  Reduction reduction = Reduction::mean;
};

struct CrossEntropyOptions {
  Tensor weight{};                   // [C] per-class weights (undefined: all 1)
  std::int64_t ignore_index = -100;  // class-index targets only
  Reduction reduction = Reduction::mean;
  double label_smoothing = 0.0;  // in [0, 1]: the target mixes with the uniform distribution
};

// Negative log-likelihood of class indices: input holds log-probabilities, [N, C], [C] (unbatched)
// or [N, C, d1, ...]; target holds int64 classes in [0, C), shaped like input without the class axis.
// loss_n = -weight[target_n] * input[n, target_n]; the mean divides by the sum of those weights.
Tensor nll_loss(const Tensor& input, const Tensor& target, const NllLossOptions& options = {},
                Here at = Here::current());

// nll_loss(log_softmax(logits, class axis), target), stable at any logit magnitude. The target is
// either int64 class indices (as for nll_loss) or class probabilities shaped like the logits (a
// floating target); with probabilities, loss_n = -Σ_c weight_c target_nc log_softmax(logits)_nc and
// the mean divides by the number of samples.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options = {},
                     Here at = Here::current());

// --- pointwise losses. input and target broadcast (ShapeError when they cannot), as in PyTorch; both
// must be floating and both get gradients. none keeps the broadcast shape; mean divides by its numel
// (an empty batch gives NaN, as in PyTorch).

// (x - t)²
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean,
                Here at = Here::current());
// |x - t|, gradient sign(x - t) (0 at 0)
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean,
               Here at = Here::current());
// 0.5 d² / β where |d| < β, else |d| - 0.5 β (d = x - t; β >= 0, β = 0 is l1_loss)
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean,
                      double beta = 1.0, Here at = Here::current());
// 0.5 d² where |d| < δ, else δ (|d| - 0.5 δ) (δ > 0): δ times smooth_l1_loss with β = δ
Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean, double delta = 1.0,
                  Here at = Here::current());

struct BinaryCrossEntropyOptions {
  Tensor weight{};  // broadcasts to the input's shape (undefined: all 1)
  Reduction reduction = Reduction::mean;
};

// -w (t ln x + (1 - t) ln(1 - x)) for probabilities x in [0, 1] (ValueError otherwise, NaN too) and a
// target of the input's shape. Each log is clamped at -100 and the gradient is PyTorch's
// (x - t) / max(x (1 - x), 1e-12), so both stay finite at x = 0 and 1.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const BinaryCrossEntropyOptions& options = {},
                            Here at = Here::current());

struct BinaryCrossEntropyWithLogitsOptions {
  Tensor weight{};      // broadcasts to the input's shape (undefined: all 1)
  Tensor pos_weight{};  // weight of the positive term, broadcast along the last axis ([C] for [N, C])
  Reduction reduction = Reduction::mean;
};

// binary_cross_entropy(sigmoid(x), t) in the stable form (1 - t) x + (1 + (p - 1) t) softplus(-x),
// p the pos_weight: finite, with gradient p_t σ(x) - p t, at any logit magnitude.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BinaryCrossEntropyWithLogitsOptions& options = {},
                                        Here at = Here::current());

struct KlDivOptions {
  Reduction reduction = Reduction::mean;  // batchmean is the true KL divergence per sample
  bool log_target = false;                // the target holds log-probabilities
};

// Kullback-Leibler divergence pointwise, input holding log-probabilities: t (ln t - x), 0 where t = 0
// (xlogy), or e^t (t - x) with log_target. input and target broadcast.
Tensor kl_div(const Tensor& input, const Tensor& target, const KlDivOptions& options = {}, Here at = Here::current());

}  // namespace tapegrad
