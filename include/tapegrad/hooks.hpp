// The op boundary: one hook point every public op passes, forward and backward (Note [Op boundary]
// in src/hooks.cpp). A listener registered on a thread sees each op that thread runs: its name, the
// user's line, its inputs and outputs, whether it is a forward or the backward of a tape entry, and
// how deeply it is nested in other ops. When nothing listens, an op pays one thread-local check.
//
//   struct Counter : OpListener {
//     int ops = 0;
//     void end(const OpEvent& e) override { ops += e.depth == 0; }
//   };
//   Counter counter;
//   {
//     ListenGuard listening(counter);
//     Tensor y = tanh(x * w);  // counter.ops == 2: mul, tanh
//   }
//
// Anomaly mode (DetectAnomalyGuard, torch.autograd.detect_anomaly) is built on it.
#pragma once

#include <cstdint>
#include <source_location>
#include <string_view>
#include <vector>

#include "tapegrad/tensor.hpp"

namespace tapegrad {

namespace detail {
struct Boundary;
}

// backward() and grad() are events of their own (phase forward, no outputs) that enclose the backward
// events of the entries they run.
enum class Phase : std::uint8_t {
  forward,   // the op computing its outputs (also an op a backward function calls)
  backward,  // the backward function of one tape entry, run by backward() or grad()
};

// One op passing the boundary. The same object is handed to begin() and to end(); it lives until end()
// returns (copy what you keep).
struct OpEvent {
  // The public op ("matmul"), a custom function's name, or, in backward, the name of the entry's op.
  std::string_view name;
  // The user's call of the op (for a backward: the call of the forward op that recorded the entry).
  std::source_location at;
  // The module whose forward ran the op, as its state_dict prefix ("encoder.fc1"; "" outside any
  // module). For a backward: the module that ran the forward op. Valid for the program's lifetime.
  std::string_view module;
  Phase phase = Phase::forward;
  // Open events enclosing this one on this thread: 0 for an op the user called, 1 for an op called
  // by that op's implementation or by a backward function, and so on. A profiler subtracts the time of
  // events at depth d + 1 from their parent at depth d to get self time.
  int depth = 0;
  const OpEvent* parent = nullptr;  // the enclosing event, null at depth 0
  // The tape position: forward, the entry the op recorded (0 when it recorded nothing: grad mode off,
  // no input requiring grad); backward, the entry being run. Known at end().
  std::uint64_t serial = 0;
  // A custom function: Function<Derived>::apply, or record() called outside a built-in op.
  bool custom = false;
  // end() only: the op threw (outputs are then empty). end() is still called, from a destructor, and
  // must not throw then (what it throws is dropped).
  bool failed = false;
  // Forward: the op's tensor arguments. Backward: the gradients flowing into the entry's outputs
  // (undefined where none arrived).
  std::vector<Tensor> inputs;
  // end() only. Forward: the op's results (empty for the few helpers that report none, such as the
  // creation functions). Backward: each gradient the backward function handed to Context::accumulate
  // or accumulate_region, in call order, with the input it was for in `gradient_for`.
  std::vector<Tensor> outputs;
  std::vector<std::size_t> gradient_for;

  // Does this event run inside a backward function (itself or an enclosing event in phase backward)?
  bool in_backward() const {
    for (const OpEvent* e = this; e; e = e->parent)
      if (e->phase == Phase::backward) return true;
    return false;
  }
};

// Receives every op event of the threads it is registered on (ListenGuard). begin() runs before the
// op computes, end() after. Ops a listener runs itself pass no boundary (no recursion). A listener may
// throw from begin() or from end() with failed == false to stop the op, as anomaly mode does.
class OpListener {
 public:
  virtual ~OpListener() = default;
  virtual void begin(const OpEvent&) {}
  virtual void end(const OpEvent&) {}
};

// Registers a listener for the ops run on the calling thread while the guard is alive. Guards nest
// (each registered listener is called; the newest first); destroy them in reverse order of creation.
class ListenGuard {
 public:
  explicit ListenGuard(OpListener& listener);
  ~ListenGuard();
  ListenGuard(const ListenGuard&) = delete;
  ListenGuard& operator=(const ListenGuard&) = delete;

 private:
  friend struct detail::Boundary;
  OpListener* listener_;
  ListenGuard* next_;
};

// The boundary for an op written outside the library (Function<Derived>::apply uses it): begin() on
// construction, end() at finish() or, if the op throws, on destruction.
class OpBoundary {
 public:
  OpBoundary(std::string_view op, const std::vector<Tensor>& inputs,
             std::source_location at = std::source_location::current());
  ~OpBoundary();
  OpBoundary(const OpBoundary&) = delete;
  OpBoundary& operator=(const OpBoundary&) = delete;
  // Reports the op's output and ends the event (later calls do nothing); returns the output.
  Tensor finish(Tensor output);

 private:
  OpEvent* event_ = nullptr;
  int exceptions_ = 0;
};

// Anomaly mode on the calling thread while alive (torch.autograd.detect_anomaly): every op's forward
// outputs and every backward's gradients are checked for NaN and infinity. The first found raises
// AnomalyError naming the op, forward or backward, its tape position and the user's line that called
// the op (for a backward, the line of the forward call). A forward is flagged only when it made a
// non-finite value from finite inputs: an infinity passed in on purpose (a -inf attention mask) flows
// through. Ops inside a library op's implementation are judged by that op's result, and ops inside a
// backward function by the gradients it returns. Slow: every value is read once more.
class DetectAnomalyGuard {
 public:
  DetectAnomalyGuard();
  ~DetectAnomalyGuard();
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  struct Checker : OpListener {
    void end(const OpEvent& e) override;
  };
  Checker checker_;
  ListenGuard guard_;
};

// Is a DetectAnomalyGuard alive on this thread?
bool is_anomaly_enabled();

// The module running on this thread ("encoder.fc1"; "" outside any module). Ops report it in
// OpEvent::module and tape entries keep it, so a backward is attributed to the module that recorded it.
std::string_view current_module();

// Makes `name` the current module while alive (nn::Module's call does this). The name is interned:
// events and tape entries keep it for the program's lifetime. Guards nest.
class ModuleNameGuard {
 public:
  explicit ModuleNameGuard(std::string_view name);
  ~ModuleNameGuard();
  ModuleNameGuard(const ModuleNameGuard&) = delete;
  ModuleNameGuard& operator=(const ModuleNameGuard&) = delete;

 private:
  std::string_view previous_;
};

}  // namespace tapegrad
