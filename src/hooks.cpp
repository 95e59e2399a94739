// The op boundary and anomaly mode (include/tapegrad/hooks.hpp).
//
// Note [Op boundary]
// Every public op opens a detail::OpScope at its entry (name, the user's line, its tensor inputs) and
// returns through OpScope::finish or through record(), which hands its outputs to the innermost open
// event of the same name. Custom functions pass it through OpBoundary (Function<Derived>::apply) or,
// for the lambda form, through record() itself: called outside a built-in op of its name, record()
// opens and ends an event of its own. The backward walk opens one event per entry it runs (phase
// backward, the entry's op and recorded line), whose outputs are the gradients handed to
// Context::accumulate.
//
// When no listener is registered on the thread, an op pays one thread-local load and a branch
// (`listeners` is null); everything else lives behind it, out of line. When one is, events sit on a
// per-thread stack (reused objects, so an event allocates only its tensor lists), which gives depth
// and parent for free. While a listener runs, `listeners` is null, so ops it runs itself pass no
// boundary.
#include "tapegrad/hooks.hpp"

#include <cmath>
#include <exception>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_set>

#include "internal.hpp"
#include "tape_impl.hpp"
#include "tapegrad/tape.hpp"

namespace tapegrad {
namespace detail {

TAPEGRAD_FAST_TLS thread_local ListenGuard* listeners = nullptr;

namespace {

struct Slot {
  std::unique_ptr<OpEvent> event = std::make_unique<OpEvent>();
  bool ended = false;
};
struct EventStack {
  std::vector<Slot> slots;
  std::size_t open = 0;
};
EventStack& events() {
  thread_local EventStack stack;
  return stack;
}
Slot& slot_of(const OpEvent& e) { return events().slots[static_cast<std::size_t>(e.depth)]; }

void pop(OpEvent& e) {
  EventStack& stack = events();
  Slot& slot = slot_of(e);
  slot.ended = true;
  e.inputs.clear();
  e.outputs.clear();
  e.gradient_for.clear();
  stack.open = static_cast<std::size_t>(e.depth);
}

// Nulls `listeners` while listeners run (no boundary for their own ops), restores it after.
class Quiet {
 public:
  Quiet() : saved_(listeners) { listeners = nullptr; }
  ~Quiet() { listeners = saved_; }
  ListenGuard* saved() const { return saved_; }

 private:
  ListenGuard* saved_;
};

TAPEGRAD_FAST_TLS thread_local int anomaly_guards = 0;

}  // namespace

void Boundary::dispatch(OpEvent& e, bool begin) {
  Quiet quiet;
  // Every listener sees the event, even when one throws; the first exception is rethrown after.
  std::exception_ptr first;
  for (ListenGuard* g = quiet.saved(); g; g = g->next_) {
    try {
      if (begin)
        g->listener_->begin(e);
      else
        g->listener_->end(e);
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

OpEvent& Boundary::push(std::string_view op, const std::source_location& at, Phase phase, bool custom) {
  EventStack& stack = events();
  if (stack.open == stack.slots.size()) stack.slots.emplace_back();
  Slot& slot = stack.slots[stack.open];
  OpEvent& e = *slot.event;
  slot.ended = false;
  e.name = op;
  e.at = at;
  e.module = current_module_name;
  e.phase = phase;
  e.depth = static_cast<int>(stack.open);
  e.parent = stack.open > 0 ? stack.slots[stack.open - 1].event.get() : nullptr;
  e.serial = 0;
  e.custom = custom;
  e.failed = false;
  ++stack.open;
  return e;
}

void Boundary::begin(OpEvent& e) {
  try {
    dispatch(e, true);
  } catch (...) {
    pop(e);
    throw;
  }
}

void Boundary::end(OpEvent& e, std::span<const Tensor> outputs) {
  Slot& slot = slot_of(e);
  if (slot.ended) return;
  slot.ended = true;
  if (outputs.data() != e.outputs.data()) e.outputs.assign(outputs.begin(), outputs.end());
  dispatch(e, false);
}

void Boundary::close(OpEvent& e, int exceptions) noexcept {
  if (!slot_of(e).ended) {
    slot_of(e).ended = true;
    e.failed = std::uncaught_exceptions() > exceptions;
    if (e.failed) e.outputs.clear();
    try {
      dispatch(e, false);
    } catch (...) {  // a destructor cannot throw: dropped (OpEvent::failed)
    }
  }
  pop(e);
}

OpEvent& Boundary::open_backward(const Entry& entry) {
  OpEvent& e = push(entry.op(), entry.at(), Phase::backward, false);
  e.serial = entry.serial;
  e.module = entry.module();
  for (const Output& o : entry.outputs()) e.inputs.push_back(o.grad);
  begin(e);
  return e;
}

void Boundary::gradient(std::size_t input, const Tensor& g) {
  EventStack& stack = events();
  if (stack.open == 0) return;
  Slot& top = stack.slots[stack.open - 1];
  if (top.ended || top.event->phase != Phase::backward) return;
  top.event->outputs.push_back(g);
  top.event->gradient_for.push_back(input);
}

void Boundary::recorded(std::string_view op, std::span<const Tensor> inputs, std::span<const Tensor> outputs,
                        std::uint64_t serial, const std::source_location& at) {
  EventStack& stack = events();
  if (stack.open > 0) {
    Slot& top = stack.slots[stack.open - 1];
    if (!top.ended && top.event->phase == Phase::forward && top.event->name == op) {
      top.event->serial = serial;
      end(*top.event, outputs);
      return;
    }
  }
  // A custom op recorded outside a built-in one: its own event, begun and ended here.
  OpEvent& e = push(op, at, Phase::forward, true);
  e.inputs.assign(inputs.begin(), inputs.end());
  begin(e);
  struct Pop {
    OpEvent& e;
    ~Pop() { pop(e); }
  } popped{e};
  e.serial = serial;
  end(e, outputs);
}

}  // namespace detail

using detail::Boundary;

ListenGuard::ListenGuard(OpListener& listener) : listener_(&listener), next_(detail::listeners) {
  detail::listeners = this;
}
ListenGuard::~ListenGuard() { detail::listeners = next_; }

OpBoundary::OpBoundary(std::string_view op, const std::vector<Tensor>& inputs, std::source_location at) {
  if (!detail::listeners) return;
  OpEvent& e = Boundary::push(op, at, Phase::forward, true);
  e.inputs = inputs;
  Boundary::begin(e);
  event_ = &e;
  exceptions_ = std::uncaught_exceptions();
}
OpBoundary::~OpBoundary() {
  if (event_) Boundary::close(*event_, exceptions_);
}
Tensor OpBoundary::finish(Tensor output) {
  if (event_) Boundary::end(*event_, {&output, 1});
  return output;
}

// ------------------------------------------------------------------ anomaly mode

namespace {

struct NonFinite {
  double value = 0;
  std::int64_t element = -1;  // -1: none
};

NonFinite find_non_finite(const Tensor& t) {
  NonFinite found;
  if (!t.defined() || !is_floating(t.dtype()) || t.numel() == 0) return found;
  const Tensor c = t.detach().contiguous();
  detail::dispatch_floating(c.dtype(), [&]<class T>() {
    const T* p = c.data<T>();
    for (std::int64_t i = 0; i < c.numel(); ++i)
      if (!std::isfinite(p[i])) {
        found = {static_cast<double>(p[i]), i};
        return;
      }
  });
  return found;
}

std::string describe_value(double v) { return std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf"; }

std::string tape_position(std::uint64_t serial) {
  return serial ? "tape entry " + std::to_string(serial) : "not recorded on the tape";
}

// The event whose result a forward is judged by: an op the library's own implementation runs with the
// caller's line (clamp_min running clamp, a binary op casting an input) speaks for the op the user
// called; one at a line of its own inside a library op is judged by that op's result (null).
const OpEvent* user_level(const OpEvent& e) {
  const OpEvent* top = &e;
  while (top->parent && top->parent->phase == Phase::forward && top->parent->at.line() == e.at.line() &&
         std::string_view(top->parent->at.file_name()) == e.at.file_name())
    top = top->parent;
  if (top->parent && !top->parent->custom) return nullptr;  // inside a built-in op
  return top;
}

}  // namespace

void DetectAnomalyGuard::Checker::end(const OpEvent& e) {
  if (e.failed) return;
  if (e.phase == Phase::backward) {
    for (std::size_t k = 0; k < e.outputs.size(); ++k) {
      const NonFinite bad = find_non_finite(e.outputs[k]);
      if (bad.element < 0) continue;
      throw AnomalyError(e.name, "anomaly mode: backward produced a NaN or infinite gradient",
                         describe_value(bad.value) + " at element " + std::to_string(bad.element) +
                             " of the gradient for input " + std::to_string(e.gradient_for[k]) +
                             " (backward, " + tape_position(e.serial) + ")",
                         e.at, true, e.serial);
    }
    return;
  }
  if (e.in_backward()) return;  // judged by the gradients the backward function returns
  const OpEvent* op = user_level(e);
  if (!op) return;
  // Only a value the op made: creation functions have no tensor input, and an infinity passed in (a
  // -inf mask) may flow through.
  bool any_input = false;
  for (const Tensor& x : e.inputs) {
    if (!x.defined()) continue;
    any_input = true;
    if (find_non_finite(x).element >= 0) return;
  }
  if (!any_input) return;
  for (std::size_t k = 0; k < e.outputs.size(); ++k) {
    const NonFinite bad = find_non_finite(e.outputs[k]);
    if (bad.element < 0) continue;
    throw AnomalyError(op->name, "anomaly mode: forward produced NaN or infinity from finite inputs",
                       describe_value(bad.value) + " at element " + std::to_string(bad.element) +
                           " of output " + std::to_string(k) + " (forward, " + tape_position(e.serial) + ")",
                       e.at, false, e.serial);
  }
}

DetectAnomalyGuard::DetectAnomalyGuard() : guard_(checker_) { ++detail::anomaly_guards; }
DetectAnomalyGuard::~DetectAnomalyGuard() { --detail::anomaly_guards; }
bool is_anomaly_enabled() { return detail::anomaly_guards > 0; }

// ------------------------------------------------------------------ module names

namespace detail {
TAPEGRAD_FAST_TLS thread_local std::string_view current_module_name = "";
}  // namespace detail

std::string_view current_module() { return detail::current_module_name; }

// Names are interned once and never freed: a model has a few hundred modules at most, and tape
// entries and listeners may hold a name after its module is gone.
ModuleNameGuard::ModuleNameGuard(std::string_view name) : previous_(detail::current_module_name) {
  static std::mutex mutex;
  static std::unordered_set<std::string> names;
  std::lock_guard lock(mutex);
  detail::current_module_name = *names.emplace(name).first;
}
ModuleNameGuard::~ModuleNameGuard() { detail::current_module_name = previous_; }

}  // namespace tapegrad
