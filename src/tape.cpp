// Note [The tape]
// Each thread owns a tape: a vector of entries in the order ops ran, which is already a topological
// order (Stan Math's insight), so backward is a plain reverse loop: no sort, no recursion, no stack
// overflow on deep graphs. An entry holds the op's backward closure, the tensors it saved, and one
// edge per input: either the serial number of the entry that produced the input, or the leaf that
// receives .grad(). Tensors made by an op remember (tape id, serial, output index).
//
// Entries do not own each other and tensors do not own entries, so freeing a 150,000-op graph is a
// flat loop over a vector. Memory comes back in three ways:
//   - backward (without retain_graph) releases every entry it ran through;
//   - a sweep, after each backward and whenever the tape doubles in size, releases entries that no
//     live tensor can reach any more (their outputs are gone and no needed entry consumes them), then
//     compacts the vector; entries are found by serial with a binary search, so compaction is safe;
//   - a TapeScope releases everything recorded inside it.
//
// Note [Version counter]
// Every storage counts in-place writes. A saved tensor remembers the count at save time; backward
// refuses to run an entry whose saved tensors were modified since, instead of silently computing a
// wrong gradient (PyTorch's rule).
#include "tapegrad/tape.hpp"

#include <algorithm>
#include <atomic>
#include <span>

#include "internal.hpp"
#include "kernels/elementwise.hpp"
#include "kernels/reduce.hpp"
#include "kernels/copy.hpp"
#include "tapegrad/function.hpp"
#include "tapegrad/ops/shape.hpp"

namespace tapegrad {
namespace detail {

struct Edge {
  std::uint64_t serial = 0;  // producing entry, 0 for none
  std::uint32_t output = 0;
  std::shared_ptr<TensorImpl> leaf;  // set for a leaf that requires grad
  Shape shape;
  DType dtype = DType::float32;
  bool needs_grad = false;
};

struct SavedTensor {
  Tensor tensor;
  std::uint64_t version = 0;
};

struct Output {
  std::weak_ptr<TensorImpl> tensor;  // not owning: an entry must not keep its outputs alive
  Shape shape;
  DType dtype = DType::float32;
  Tensor grad;  // pending gradient during a backward run
};

struct Entry {
  std::uint64_t serial = 0;
  std::string op;
  std::source_location at;
  SmallVector<Edge, 2> inputs;
  SmallVector<SavedTensor, 3> saved;
  BackwardFn backward;
  SmallVector<Output, 1> outputs;
  bool released = false;

  bool reached() const {
    return std::any_of(outputs.begin(), outputs.end(), [](const Output& o) { return o.grad.defined(); });
  }
  void clear_grads() {
    for (auto& o : outputs) o.grad = Tensor();
  }
  void release() {
    released = true;
    inputs.clear();
    saved.clear();
    backward = nullptr;
    clear_grads();
  }
};

struct Tape {
  std::uint64_t id;
  std::vector<Entry> entries;
  std::uint64_t next_serial = 1;
  std::size_t sweep_at = 1024;
  // Set while a backward walks the tape: backward holds positions into `entries`, so a nested
  // backward (or a sweep it would run) must not move them.
  int backward_depth = 0;

  Tape() {
    static std::atomic<std::uint64_t> next_id{1};
    id = next_id++;
  }

  // Position of the entry with this serial, or -1.
  std::int64_t find(std::uint64_t serial) const {
    if (entries.empty()) return -1;
    const std::uint64_t guess = serial - entries.front().serial;
    if (serial >= entries.front().serial && guess < entries.size() && entries[guess].serial == serial)
      return static_cast<std::int64_t>(guess);
    auto it = std::lower_bound(entries.begin(), entries.end(), serial,
                               [](const Entry& e, std::uint64_t s) { return e.serial < s; });
    if (it == entries.end() || it->serial != serial) return -1;
    return it - entries.begin();
  }

  // Releases entries no live tensor can reach, then drops released entries from the vector.
  void sweep() {
    std::vector<char> needed(entries.size(), 0);
    for (std::size_t j = entries.size(); j-- > 0;) {
      Entry& e = entries[j];
      if (e.released) continue;
      if (!needed[j])
        for (const auto& out : e.outputs)
          if (!out.tensor.expired()) needed[j] = 1;
      if (!needed[j]) {
        e.release();
        continue;
      }
      for (const Edge& edge : e.inputs)
        if (edge.serial)
          if (auto p = find(edge.serial); p >= 0) needed[static_cast<std::size_t>(p)] = 1;
    }
    if (std::all_of(entries.begin(), entries.end(), [](const Entry& e) { return e.released; })) entries.clear();
    else std::erase_if(entries, [](const Entry& e) { return e.released; });
    // The vector's capacity is kept for the next step of a training loop, unless it is large.
    if (entries.empty() && entries.capacity() > 65536) entries.shrink_to_fit();
    sweep_at = std::max<std::size_t>(1024, 2 * entries.size());
  }
};

Tape& current_tape() {
  TAPEGRAD_FAST_TLS thread_local Tape tape;
  return tape;
}

TAPEGRAD_FAST_TLS thread_local bool grad_enabled = true;

// State of one backward pass.
struct BackwardRun {
  BackwardRun(Tape& t, bool retain, const std::source_location& where) : tape(t), retain_graph(retain), at(where) {}
  Tape& tape;
  bool retain_graph;
  const std::source_location& at;
  // Functional grad(): requested leaves (by impl) and intermediates (by serial/output) -> result slot.
  bool functional = false;
  std::vector<std::pair<const TensorImpl*, std::size_t>> wanted_leaves;
  std::vector<std::tuple<std::uint64_t, std::uint32_t, std::size_t>> wanted_outputs;
  std::vector<Tensor> results;

  static Tensor add(const Tensor& a, const Tensor& b) {
    if (!a.defined()) return b;
    return kernels::binary(kernels::binary_id<kernels::Add>, a, b, a.shape(), a.dtype());
  }

  void deliver(const Edge& edge, const Tensor& g) {
    if (edge.serial) {
      auto p = tape.find(edge.serial);
      if (p < 0)
        fail<GraphError>("backward", "backward through a released tape (its entries were freed by an earlier "
                         "backward or a TapeScope; pass retain_graph=true to backward twice)",
                         "a tensor whose producing op is gone", at);
      Entry& producer = tape.entries[static_cast<std::size_t>(p)];
      Tensor& pending = producer.outputs[edge.output].grad;
      pending = add(pending, g);
      return;
    }
    if (!edge.leaf) return;
    if (functional) {
      for (auto& [impl, slot] : wanted_leaves)
        if (impl == edge.leaf.get()) results[slot] = add(results[slot], g);
      return;
    }
    accumulate_leaf_grad(*edge.leaf, g);
  }

  void run(Entry& e) {
    if (e.released)
      fail<GraphError>(e.op, "backward through a released tape (the graph was freed by an earlier backward or "
                       "a TapeScope; pass retain_graph=true to backward twice)",
                       "a second backward through this op", e.at);
    for (const SavedTensor& s : e.saved)
      if (s.tensor.defined() && s.tensor.impl().storage->version != s.version)
        fail<GraphError>(e.op, "a tensor saved for backward was modified in place after it was saved",
                         "version " + std::to_string(s.tensor.impl().storage->version) + ", saved at version " +
                             std::to_string(s.version),
                         e.at);
    if (functional)
      for (auto& [serial, output, slot] : wanted_outputs)
        if (serial == e.serial && output < e.outputs.size() && e.outputs[output].grad.defined())
          results[slot] = add(results[slot], e.outputs[output].grad);
    Backward context(e, *this);
    e.backward(context);
  }
};

[[noreturn]] void throw_gradient_count(std::string_view op, std::size_t expected, std::size_t got,
                                       const std::source_location& at) {
  fail<GraphError>(op, "backward must return one gradient per tensor input (undefined for none)",
                   std::to_string(got) + " gradients for " + std::to_string(expected) + " inputs", at);
}

}  // namespace detail

using detail::Entry;
using detail::fail;
using detail::Tape;

// ------------------------------------------------------------------ grad mode and scopes

bool is_grad_enabled() { return detail::grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(detail::grad_enabled) { detail::grad_enabled = false; }
NoGradGuard::~NoGradGuard() { detail::grad_enabled = previous_; }

TapeScope::TapeScope() : first_serial_(detail::current_tape().next_serial) {}
TapeScope::~TapeScope() {
  Tape& tape = detail::current_tape();
  while (!tape.entries.empty() && tape.entries.back().serial >= first_serial_) tape.entries.pop_back();
}

TapeStats tape_stats() {
  const Tape& tape = detail::current_tape();
  TapeStats stats;
  stats.entries = tape.entries.size();
  for (const Entry& e : tape.entries) {
    if (e.released) continue;
    ++stats.live_entries;
    stats.saved_tensors += e.saved.size();
    for (const auto& s : e.saved)
      if (s.tensor.defined()) stats.saved_bytes += s.tensor.impl().storage->bytes;
  }
  return stats;
}

// ------------------------------------------------------------------ recording

namespace {
bool any_requires_grad(std::span<const Tensor> inputs) {
  if (!detail::grad_enabled) return false;
  return std::any_of(inputs.begin(), inputs.end(), [](const Tensor& t) { return t.defined() && t.requires_grad(); });
}
}  // namespace

bool will_record(const std::vector<Tensor>& inputs) { return any_requires_grad(inputs); }
bool will_record(std::initializer_list<Tensor> inputs) {
  return any_requires_grad(std::span<const Tensor>(inputs.begin(), inputs.size()));
}

namespace {

// The one recording routine behind both public forms; outputs are marked in place.
void record_entry(std::string_view op, std::span<const Tensor> inputs, std::span<Tensor> outputs,
                  std::span<const Tensor> saved, BackwardFn&& backward, const std::source_location& at) {
  Tape& tape = detail::current_tape();
  if (tape.backward_depth > 0)
    fail<GraphError>(op, "ops cannot be recorded while a backward runs", "a recording inside a backward function", at);
  for (const Tensor& y : outputs)
    if (!y.defined()) fail<ValueError>(op, "every output of a recorded op must be defined", "an undefined output", at);
  for (const Tensor& x : inputs)
    if (x.defined() && x.impl().tape_id != 0 && x.impl().tape_id != tape.id)
      fail<GraphError>(op, "an op's inputs must have been recorded on the calling thread's tape",
                       "a tensor made on another thread", at);
  // Built in place at the end of the tape (nothing below throws).
  Entry& e = tape.entries.emplace_back();
  e.serial = tape.next_serial++;
  e.op = op;
  e.at = at;
  for (const Tensor& x : inputs) {
    detail::Edge edge;
    if (x.defined()) {
      const auto& impl = x.impl();
      edge.shape = impl.shape;
      edge.dtype = impl.dtype;
      edge.needs_grad = impl.requires_grad;
      if (impl.tape_id != 0) {
        edge.serial = impl.serial;
        edge.output = impl.output_index;
      } else if (impl.requires_grad) {
        edge.leaf = x.impl_ptr();
      }
    }
    e.inputs.push_back(std::move(edge));
  }
  for (const Tensor& s : saved) {
    // A saved output is kept through a detached alias: an entry must not keep its own outputs alive,
    // or the sweep could never free it (Note [The tape]).
    bool is_output = false;
    for (const Tensor& y : outputs) is_output = is_output || (s.defined() && s.same(y));
    Tensor kept = is_output ? s.detach() : s;
    const std::uint64_t version = kept.defined() ? kept.impl().storage->version : 0;
    e.saved.push_back({std::move(kept), version});
  }
  e.backward = std::move(backward);
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    Tensor& y = outputs[k];
    // An output that is one of the inputs (or already has history) gets a fresh alias, so the
    // input's own identity on the tape is untouched.
    bool shared = y.impl().tape_id != 0 || y.impl().requires_grad;
    for (const Tensor& x : inputs) shared = shared || (x.defined() && x.same(y));
    if (shared) y = detail::make_view(y, y.shape(), y.strides(), 0);
    auto& impl = y.impl();
    impl.requires_grad = true;
    impl.tape_id = tape.id;
    impl.serial = e.serial;
    impl.output_index = static_cast<std::uint32_t>(k);
    e.outputs.push_back({y.impl_ptr(), impl.shape, impl.dtype, Tensor()});
  }
  if (tape.entries.size() >= tape.sweep_at) tape.sweep();
}

}  // namespace

std::vector<Tensor> record(std::string_view op, const std::vector<Tensor>& inputs, std::vector<Tensor> outputs,
                           std::vector<Tensor> saved, BackwardFn backward, std::source_location at) {
  if (!will_record(inputs)) return outputs;
  record_entry(op, inputs, outputs, saved, std::move(backward), at);
  return outputs;
}

Tensor record(std::string_view op, std::initializer_list<Tensor> inputs, Tensor output,
              std::initializer_list<Tensor> saved, BackwardFn backward, std::source_location at) {
  if (!will_record(inputs)) return output;
  record_entry(op, std::span<const Tensor>(inputs.begin(), inputs.size()), std::span<Tensor>(&output, 1),
               std::span<const Tensor>(saved.begin(), saved.size()), std::move(backward), at);
  return output;
}

// ------------------------------------------------------------------ the Backward context

const Tensor& Backward::gy(std::size_t output) const {
  check_index("gy", output, entry_->outputs.size());
  detail::Output& o = entry_->outputs[output];
  if (!o.grad.defined()) o.grad = zeros(o.shape, o.dtype);
  return o.grad;
}
const Tensor& Backward::saved(std::size_t k) const {
  check_index("saved", k, entry_->saved.size());
  return entry_->saved[k].tensor;
}
std::size_t Backward::num_inputs() const { return entry_->inputs.size(); }
bool Backward::needs_grad(std::size_t input) const {
  check_index("needs_grad", input, entry_->inputs.size());
  return entry_->inputs[input].needs_grad;
}
const Shape& Backward::input_shape(std::size_t input) const {
  check_index("input_shape", input, entry_->inputs.size());
  return entry_->inputs[input].shape;
}
DType Backward::input_dtype(std::size_t input) const {
  check_index("input_dtype", input, entry_->inputs.size());
  return entry_->inputs[input].dtype;
}
void Backward::check_index(std::string_view what, std::size_t index, std::size_t count) const {
  if (index >= count)
    fail<GraphError>(entry_->op, "backward asked for " + std::string(what) + " of a slot the op does not have",
                     "index " + std::to_string(index) + " of " + std::to_string(count), entry_->at);
}
std::string_view Backward::op() const { return entry_->op; }
const std::source_location& Backward::where() const { return entry_->at; }

void Backward::accumulate(std::size_t input, const Tensor& g) {
  check_index("accumulate", input, entry_->inputs.size());
  const detail::Edge& edge = entry_->inputs[input];
  if (!edge.needs_grad || !g.defined()) return;
  Tensor gx = g;
  if (gx.shape() != edge.shape) {
    bool reducible = gx.dim() >= static_cast<std::int64_t>(edge.shape.size());
    const std::size_t lead = gx.shape().size() - edge.shape.size();
    for (std::size_t i = 0; reducible && i < edge.shape.size(); ++i)
      reducible = edge.shape[i] == gx.shape()[lead + i] || edge.shape[i] == 1;
    if (!reducible)
      fail<GraphError>(entry_->op, "backward produced a gradient whose shape does not reduce to the input's",
                       to_string(gx.shape()) + " for input " + std::to_string(input) + " of shape " +
                           to_string(edge.shape),
                       entry_->at);
    gx = kernels::sum_to(gx, edge.shape);
  }
  if (gx.dtype() != edge.dtype) gx = kernels::cast(gx, edge.dtype);
  run_->deliver(edge, gx);
}

// ------------------------------------------------------------------ backward

namespace {

std::vector<Tensor> run_backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& gradients,
                                 bool retain_graph, const std::source_location& at, detail::BackwardRun& run) {
  Tape& tape = run.tape;
  if (tape.backward_depth > 0)
    fail<GraphError>("backward", "backward and grad cannot be called from inside a backward function",
                     "a nested backward", at);
  if (!gradients.empty() && gradients.size() != outputs.size())
    fail<ValueError>("backward", "one gradient per output is needed",
                     std::to_string(gradients.size()) + " gradients for " + std::to_string(outputs.size()) + " outputs",
                     at);
  std::int64_t start = -1;
  std::vector<std::pair<detail::Edge, Tensor>> seeds;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& y = outputs[i];
    detail::require_defined("backward", y, at);
    if (!y.requires_grad())
      fail<GraphError>("backward", "the output must require grad (set requires_grad_() on an input, with grad "
                       "mode on)", "a tensor that does not require grad", at);
    Tensor gy;
    if (!gradients.empty() && gradients[i].defined()) {
      gy = gradients[i];
      if (gy.shape() != y.shape())
        fail<ShapeError>("backward", "the gradient must have the output's shape",
                         to_string(gy.shape()) + " for an output of shape " + to_string(y.shape()), at);
      if (gy.dtype() != y.dtype()) gy = kernels::cast(gy, y.dtype());
    } else {
      if (y.numel() != 1)
        fail<GraphError>("backward", "a gradient must be given for a non-scalar output",
                         "shape " + to_string(y.shape()), at);
      gy = ones_like(y);
    }
    detail::Edge edge;
    edge.shape = y.shape();
    edge.dtype = y.dtype();
    edge.needs_grad = true;
    const auto& impl = y.impl();
    if (impl.tape_id == 0) {
      edge.leaf = y.impl_ptr();
    } else {
      if (impl.tape_id != tape.id)
        fail<GraphError>("backward", "backward must run on the thread that recorded the graph",
                         "a tensor recorded on another thread", at);
      auto p = tape.find(impl.serial);
      if (p < 0)
        fail<GraphError>("backward", "backward through a released tape (the graph was freed by an earlier "
                         "backward or a TapeScope; pass retain_graph=true to backward twice)",
                         "an output whose op is gone", at);
      start = std::max(start, p);
      edge.serial = impl.serial;
      edge.output = impl.output_index;
    }
    seeds.emplace_back(std::move(edge), std::move(gy));
  }

  NoGradGuard no_grad;
  // On any exit (also by exception), pending gradients are dropped and, without retain_graph, what
  // ran is released and the tape swept.
  std::vector<std::size_t> ran;
  struct Cleanup {
    Tape& tape;
    std::int64_t start;
    bool retain;
    std::vector<std::size_t>& ran;
    ~Cleanup() {
      --tape.backward_depth;
      for (std::int64_t j = 0; j <= start && j < static_cast<std::int64_t>(tape.entries.size()); ++j)
        tape.entries[static_cast<std::size_t>(j)].clear_grads();
      if (!retain) {
        for (auto j : ran) tape.entries[j].release();
        tape.sweep();
      }
    }
  } cleanup{tape, start, retain_graph, ran};
  ++tape.backward_depth;

  for (auto& [edge, gy] : seeds) run.deliver(edge, gy);
  for (std::int64_t j = start; j >= 0; --j) {
    Entry& e = tape.entries[static_cast<std::size_t>(j)];
    if (!e.reached()) continue;
    run.run(e);
    e.clear_grads();
    ran.push_back(static_cast<std::size_t>(j));
  }
  return std::move(run.results);
}

}  // namespace

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& gradients, bool retain_graph,
              std::source_location at) {
  detail::OpScope scope("backward", at);  // names backward when a gradient cannot be allocated
  detail::BackwardRun run(detail::current_tape(), retain_graph, at);
  run_backward(outputs, gradients, retain_graph, at, run);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& gradients, bool retain_graph, std::source_location at) {
  detail::OpScope scope("grad", at);
  detail::BackwardRun run(detail::current_tape(), retain_graph, at);
  run.functional = true;
  run.results.resize(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    detail::require_defined("grad", inputs[i], at);
    const auto& impl = inputs[i].impl();
    if (!impl.requires_grad)
      fail<GraphError>("grad", "every input must require grad", "input " + std::to_string(i) + " does not", at);
    // An intermediate is known by (tape, serial, output): serials repeat across tapes, never within one.
    if (impl.tape_id != 0 && impl.tape_id != run.tape.id)
      fail<GraphError>("grad", "every input must have been recorded on the calling thread's tape",
                       "input " + std::to_string(i) + ", recorded on another thread", at);
    if (impl.tape_id == 0) run.wanted_leaves.emplace_back(&impl, i);
    else run.wanted_outputs.emplace_back(impl.serial, impl.output_index, i);
  }
  // An output that is itself a wanted input (y = x): its seed is the answer.
  std::vector<Tensor> results = run_backward(outputs, gradients, retain_graph, at, run);
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (!results[i].defined()) results[i] = zeros_like(inputs[i]);
    else if (results[i].shape() != inputs[i].shape()) results[i] = kernels::sum_to(results[i], inputs[i].shape());
  return results;
}

}  // namespace tapegrad
