// Shared by the loss sources (loss.cpp, loss_pointwise.cpp).
#pragma once

#include <source_location>
#include <string_view>

#include "tapegrad/ops/loss.hpp"

namespace tapegrad::detail {

// ValueError unless reduction is none, mean or sum (or batchmean, where allowed: kl_div).
void check_reduction(std::string_view op, Reduction reduction, bool batchmean_allowed, const std::source_location& at);

}  // namespace tapegrad::detail
