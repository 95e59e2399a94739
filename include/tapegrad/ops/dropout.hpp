// Dropout, torch.nn.functional.dropout / dropout2d: the mask is drawn from the counter-based Generator
// (random.hpp), so a seed gives the same mask at any thread count.
#pragma once

#include "tapegrad/here.hpp"
#include "tapegrad/random.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad {

// Training: each element is zeroed with probability p and the others scaled by 1 / (1 - p), so the
// expectation is x; the gradient is the same mask times gy. p = 1 gives zeros; p = 0, or training
// false, gives x itself. p outside [0, 1] is a ValueError; gen null draws from default_generator().
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true, Generator* gen = nullptr,
               Here at = Here::current());
// Whole channels at once: x is [N, C, H, W] (one draw per (n, c)) or unbatched [C, H, W] (per c).
Tensor dropout2d(const Tensor& x, double p = 0.5, bool training = true, Generator* gen = nullptr,
                 Here at = Here::current());

}  // namespace tapegrad
