// Numerical gradient checking, with PyTorch's conventions: float64 central differences, an element
// passes when |analytic - numeric| <= atol + rtol * |numeric|, and two backward runs must agree bitwise.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <source_location>
#include <string>
#include <type_traits>
#include <vector>

#include "tapegrad/tape.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
  // Fast mode: compare vᵀ J u for random u, v instead of the whole Jacobian.
  bool fast_mode = false;
  // Run backward twice; the gradients must be bitwise equal.
  bool check_reentrant = true;
  std::uint64_t seed = 0;
  // Throw GraphError with the message on failure instead of returning a failed result.
  bool raise_exception = false;
};

struct GradcheckResult {
  bool ok = false;
  std::string message;  // what failed (the worst element), or notes such as float32 promotion
  std::int64_t elements_checked = 0;
  std::string check = "gradcheck";  // or "gradgradcheck": what printing calls it
  explicit operator bool() const { return ok; }
};
std::ostream& operator<<(std::ostream& out, const GradcheckResult& r);

// Checks the gradients of f with respect to every input that requires grad. Float32 inputs are
// promoted to float64 (noted in the message); f is called with float64 copies of the inputs.
// ValueError when no input requires grad (there is nothing to check), or when eps is not a positive
// finite number or atol / rtol not non-negative finite ones.
GradcheckResult gradcheck(const TensorFunction& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {},
                          std::source_location at = std::source_location::current());

// Same, for a function returning a single tensor.
template <class F>
  requires std::is_invocable_r_v<Tensor, F, const std::vector<Tensor>&>
GradcheckResult gradcheck(F f, const std::vector<Tensor>& inputs, const GradcheckOptions& options = {},
                          std::source_location at = std::source_location::current()) {
  return gradcheck(TensorFunction([f](const std::vector<Tensor>& xs) { return std::vector<Tensor>{f(xs)}; }),
                   inputs, options, at);
}

// Second-order check, like torch.autograd.gradgradcheck: gradcheck of the function
//   (inputs, v) -> grad(f(inputs), inputs that require grad, v, create_graph=true)
// with random float64 weights v (one per floating output, drawn from options.seed, themselves
// checked as inputs). So the backward of every op f runs must be differentiable and right.
GradcheckResult gradgradcheck(const TensorFunction& f, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options = {},
                              std::source_location at = std::source_location::current());

template <class F>
  requires std::is_invocable_r_v<Tensor, F, const std::vector<Tensor>&>
GradcheckResult gradgradcheck(F f, const std::vector<Tensor>& inputs, const GradcheckOptions& options = {},
                              std::source_location at = std::source_location::current()) {
  return gradgradcheck(TensorFunction([f](const std::vector<Tensor>& xs) { return std::vector<Tensor>{f(xs)}; }),
                       inputs, options, at);
}

}  // namespace tapegrad
