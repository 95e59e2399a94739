// The tape: each thread records the differentiable ops it runs, in order; backward walks that record
// in reverse (Note [The tape] in src/tape.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <source_location>
#include <vector>

#include "tapegrad/tensor.hpp"

namespace tapegrad {

// Is recording on for this thread (true unless a NoGradGuard is alive)?
bool is_grad_enabled();

// While alive, ops on this thread record nothing (inference, optimiser updates).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Everything recorded on this thread while the scope is alive is released when it ends; tensors made
// inside keep their values, but backward through them afterwards raises GraphError.
class TapeScope {
 public:
  TapeScope();
  ~TapeScope();
  TapeScope(const TapeScope&) = delete;
  TapeScope& operator=(const TapeScope&) = delete;

 private:
  std::uint64_t first_serial_;
};

// While alive, ops on this thread record again, even inside a NoGradGuard (torch.enable_grad).
class EnableGradGuard {
 public:
  EnableGradGuard();
  ~EnableGradGuard();
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool previous_;
};

// A differentiable function of several tensors (gradcheck, the functional vjp / jvp / hvp).
using TensorFunction = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

struct TapeStats {
  std::size_t entries = 0;         // entries held (after a sweep: the live ones)
  std::size_t live_entries = 0;    // entries a backward could still run through
  std::size_t saved_tensors = 0;   // tensors held for backward by live entries
  std::size_t saved_bytes = 0;     // their storage, in bytes (a shared buffer counted once per save)
  std::size_t metadata_bytes = 0;  // the tape's own memory (blocks and their arenas), tensors excluded
};
// This thread's tape. Sweeps it first (Note [The tape]), so entries nothing can reach any more are
// neither counted nor kept.
TapeStats tape_stats();

// Reverse-mode pass from several outputs at once; leaves accumulate into .grad().
// With create_graph the pass is itself recorded (Note [Higher-order gradients]): the gradients
// require grad and can be differentiated again, to any order. As in PyTorch, create_graph also
// keeps the graph (retain_graph is taken as true).
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& gradients = {},
              bool retain_graph = false, bool create_graph = false,
              std::source_location at = std::source_location::current());

// Functional form: d(outputs)/d(inputs) weighted by `gradients` (ones for scalar outputs), returned
// instead of accumulated into .grad(). Inputs may be leaves or intermediate tensors; an input the
// outputs do not depend on gets zeros (which do not require grad).
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& gradients = {}, bool retain_graph = false,
                         bool create_graph = false, std::source_location at = std::source_location::current());

}  // namespace tapegrad
