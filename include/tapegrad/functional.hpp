// Functional derivatives, like torch.autograd.functional: vector-Jacobian, Jacobian-vector and
// Hessian-vector products of a function of tensors, without touching any .grad().
#pragma once

#include <source_location>
#include <vector>

#include "tapegrad/tape.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad {

// f's outputs (detached unless create_graph) and the product asked for, one tensor per input.
struct FunctionalResult {
  std::vector<Tensor> outputs;
  std::vector<Tensor> product;
};

// vᵀ J: v holds one tensor per output of f (may be empty when f returns one scalar).
FunctionalResult vjp(const TensorFunction& f, const std::vector<Tensor>& inputs, const std::vector<Tensor>& v = {},
                     bool create_graph = false, std::source_location at = std::source_location::current());
// J v: v holds one tensor per input. Computed as the vjp of the vjp (the double-vjp trick), so it
// needs f's backward to be differentiable, as every built-in op's is.
FunctionalResult jvp(const TensorFunction& f, const std::vector<Tensor>& inputs, const std::vector<Tensor>& v,
                     bool create_graph = false, std::source_location at = std::source_location::current());
// H v for a scalar f: v holds one tensor per input.
FunctionalResult hvp(const TensorFunction& f, const std::vector<Tensor>& inputs, const std::vector<Tensor>& v,
                     bool create_graph = false, std::source_location at = std::source_location::current());

}  // namespace tapegrad
