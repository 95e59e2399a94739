// Matrix products.
#pragma once

#include "tapegrad/here.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad {

// torch.matmul: [n, k] x [k, m]; 1-D operands are treated as a row / column vector; more than 2-D is
// a batch of matrices whose batch axes broadcast. ga = gy · bᵀ, gb = aᵀ · gy (summed over broadcast batches).
Tensor matmul(const Tensor& a, const Tensor& b, Here at = Here::current());

// torch.nn.functional.linear: y = x · weightᵀ + bias over the last axis of x [*, in]; weight [out, in],
// bias [out] or undefined. Leading axes of x are one batch of rows for the product.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Here at = Here::current());

}  // namespace tapegrad
