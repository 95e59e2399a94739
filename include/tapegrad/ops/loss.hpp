// Classification losses, with PyTorch's semantics (torch.nn.functional.cross_entropy / nll_loss).
// The layer library builds its loss modules on these.
#pragma once

#include <cstdint>

#include "tapegrad/here.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad {

// How per-element losses become the result: kept as they are, averaged, or added up.
enum class Reduction { none, mean, sum };

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

}  // namespace tapegrad
