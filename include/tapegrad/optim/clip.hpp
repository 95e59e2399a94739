// Gradient clipping, PyTorch's torch.nn.utils.clip_grad_norm_ / clip_grad_value_. Both change the
// parameters' .grad() in place and skip parameters without one.
#pragma once

#include <vector>

#include "tapegrad/here.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad::optim {

// Scales the gradients by min(1, max_norm / (total + 1e-6)), where total is the norm of order
// norm_type (any p, infinity for the largest magnitude, 0 for the count of nonzero) of the norms of
// the gradients, and returns total as a 0-d tensor of the gradients' dtype (0 in float32 when no
// parameter has a gradient). error_if_nonfinite: ValueError when total is NaN or infinite (else the
// gradients are scaled by it, as PyTorch). ValueError for a negative or NaN max_norm, a NaN norm_type,
// an undefined parameter.
Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false, Here at = Here::current());
// Clamps every gradient element into [-clip_value, clip_value] (NaN stays NaN). ValueError for a
// negative or NaN clip_value, an undefined parameter.
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value, Here at = Here::current());

}  // namespace tapegrad::optim
