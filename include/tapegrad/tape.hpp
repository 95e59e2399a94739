// The tape: each thread records the differentiable ops it runs, in order; backward walks that record
// in reverse (Note [The tape] in src/tape.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
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

struct TapeStats {
  std::size_t entries = 0;        // entries held (live or awaiting compaction)
  std::size_t live_entries = 0;   // entries a backward could still run through
  std::size_t saved_tensors = 0;  // tensors held for backward by live entries
  std::size_t saved_bytes = 0;    // their storage, in bytes (a shared buffer counted once per save)
};
// This thread's tape.
TapeStats tape_stats();

// Reverse-mode pass from several outputs at once; leaves accumulate into .grad().
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& gradients = {},
              bool retain_graph = false, std::source_location at = std::source_location::current());

// Functional form: d(outputs)/d(inputs) weighted by `gradients` (ones for scalar outputs), returned
// instead of accumulated into .grad(). Inputs may be leaves or intermediate tensors; an input the
// outputs do not depend on gets zeros.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& gradients = {}, bool retain_graph = false,
                         std::source_location at = std::source_location::current());

}  // namespace tapegrad
