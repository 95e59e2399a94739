// The backward walk, the context a backward receives (Context), backward() and grad() (Note [The tape] in tape_impl.hpp).
//
// Note [Higher-order gradients]
// With create_graph, a backward runs with grad mode on: every op a backward function runs is recorded
// at the end of the tape (blocks never move, so the walk's references stay valid), gradients are
// summed with the differentiable add, and a leaf's .grad() becomes the recorded sum. Each built-in
// backward asks Context::create_graph() and then computes with ops (the elementwise formulas are
// instantiated over tensors: Note [Formulas over tensors]); otherwise it runs its fused kernel, so a
// first-order backward costs what it did. A saved output comes back from Context::saved() with its
// place on the tape, so gradients flow through it too (y = exp(x): d/dx of gy * y sees y's history).
#include <algorithm>
#include <span>

#include "kernels/copy.hpp"
#include "kernels/elementwise.hpp"
#include "kernels/reduce.hpp"
#include "tape_impl.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shape.hpp"
#include "tapegrad/tape.hpp"

namespace tapegrad {
namespace detail {

namespace {

[[noreturn]] void throw_released(std::string_view op, const std::string& observed, const std::source_location& at) {
  fail<GraphError>(op, "backward through a released tape (the graph was freed by an earlier backward or a "
                   "TapeScope; pass retain_graph=true to backward twice)", observed, at);
}

// g summed down to `shape` (its broadcast source), with ops, so the sum is recorded.
Tensor sum_to_recorded(const Tensor& g, const Shape& shape) {
  const std::size_t lead = g.shape().size() - shape.size();
  Axes axes;
  for (std::size_t i = 0; i < g.shape().size(); ++i)
    if (i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1)) axes.push_back(static_cast<std::int64_t>(i));
  Tensor summed = axes.empty() ? g : sum(g, axes, true);
  return summed.shape() == shape ? summed : reshape(summed, shape);
}

// The region (shape, strides, offset) of a contiguous tensor, as a view: recorded, so a region's
// gradient can itself be differentiated (its backward embeds into zeros again).
Tensor take_region(const Tensor& full, const Shape& shape, const Strides& strides, std::int64_t offset);

Tensor embed_region(const Tensor& g, const Shape& full_shape, const Shape& shape, const Strides& strides,
                    std::int64_t offset) {
  Tensor y = zeros(full_shape, g.dtype());
  {
    NoGradGuard no_grad;
    Tensor region = make_view(y, shape, strides, offset);
    kernels::copy_into(region, kernels::binary(kernels::binary_id<kernels::Add>, region, g, shape, y.dtype()));
  }
  return record("region_backward", {g}, y, {}, [shape, strides, offset](Context& b) {
    b.accumulate(0, take_region(b.gy(), shape, strides, offset));
  }, {});
}

Tensor take_region(const Tensor& full, const Shape& shape, const Strides& strides, std::int64_t offset) {
  Tensor source = full.is_contiguous() ? full : full.contiguous();
  Tensor y = make_view(source.detach(), shape, strides, offset);
  y = kernels::cast(y, y.dtype());  // its own buffer: the entry must not alias its input
  const Shape full_shape = full.shape();
  return record("region", {full}, y, {}, [full_shape, shape, strides, offset](Context& b) {
    b.accumulate(0, embed_region(b.gy(), full_shape, shape, strides, offset));
  }, {});
}

}  // namespace

Tensor BackwardRun::add(const Tensor& a, const Tensor& b) const {
  if (!a.defined()) return b;
  if (create_graph) return tapegrad::add(a, b);
  return kernels::binary(kernels::binary_id<kernels::Add>, a, b, a.shape(), a.dtype());
}

Tensor* BackwardRun::pending_for(const Edge& edge, bool*& owned) {
  if (edge.serial) {
    Entry* producer = tape.find(edge.serial);
    if (!producer || producer->released) throw_released("backward", "a tensor whose producing op is gone", at);
    Output& o = producer->outputs()[edge.output];
    owned = &o.owned;
    return &o.grad;
  }
  if (!edge.leaf) return nullptr;
  if (functional && std::none_of(wanted_leaves.begin(), wanted_leaves.end(),
                                 [&](const auto& w) { return w.first == edge.leaf.get(); }))
    return nullptr;  // grad() leaves every other leaf alone
  auto [it, fresh] = leaf_index.try_emplace(edge.leaf.get(), leaf_pending.size());
  if (fresh) leaf_pending.push_back({edge.leaf, Tensor(), false});
  LeafPending& pending = leaf_pending[it->second];
  owned = &pending.owned;
  return &pending.grad;
}

void BackwardRun::deliver(const Edge& edge, const Tensor& g) {
  bool* owned = nullptr;
  Tensor* pending = pending_for(edge, owned);
  if (!pending) return;
  *pending = add(*pending, g);
  *owned = false;  // an alias of g, or a sum nobody else holds but that is not worth tracking
}

void BackwardRun::deliver_region(const Edge& edge, const Shape& input_shape, const Tensor& g, const Shape& shape,
                                 const Strides& strides, std::int64_t offset) {
  bool* owned = nullptr;
  Tensor* pending = pending_for(edge, owned);
  if (!pending) return;
  if (!*owned) {
    // One buffer of the input's shape for every region delivered to it.
    Tensor buffer = zeros(input_shape, edge.dtype);
    if (pending->defined()) kernels::copy_into(buffer, *pending);
    *pending = buffer;
    *owned = true;
  }
  Tensor region = make_view(*pending, shape, strides, offset);
  Tensor gx = g.dtype() == edge.dtype ? g : kernels::cast(g, edge.dtype);
  kernels::copy_into(region, kernels::binary(kernels::binary_id<kernels::Add>, region, gx, shape, edge.dtype));
}

void BackwardRun::run(Entry& e) {
  if (e.released) throw_released(e.op(), "a second backward through this op", e.at());
  for (const SavedTensor& s : e.saved())
    if (s.tensor.defined() && s.tensor.impl().storage->version != s.version)
      fail<GraphError>(e.op(), "a tensor saved for backward was modified in place after it was saved",
                       "version " + std::to_string(s.tensor.impl().storage->version) + ", saved at version " +
                           std::to_string(static_cast<std::uint64_t>(s.version)),
                       e.at());
  if (functional)
    for (auto& [serial, output, slot] : wanted_outputs)
      if (serial == e.serial && output < e.n_outputs && e.outputs()[output].grad.defined())
        results[slot] = add(results[slot], e.outputs()[output].grad);
  Context context(e, *this);
  OpScope boundary(e);  // the entry's backward passes the op boundary (Note [Op boundary])
  e.backward(context);
  boundary.finish();
}

void BackwardRun::flush_leaves() {
  for (auto& [leaf, g, owned] : leaf_pending) {
    if (!g.defined()) continue;
    if (functional) {
      for (auto& [impl, slot] : wanted_leaves)
        if (impl == leaf.get()) results[slot] = add(results[slot], g);
    } else {
      // Under create_graph, the recorded sum (Note [Leaf gradients]); else g itself when only this
      // run holds it.
      accumulate_leaf_grad(*leaf, g, /*may_adopt=*/true);
      g = Tensor();
    }
  }
}

[[noreturn]] void throw_gradient_count(std::string_view op, std::size_t expected, std::size_t got,
                                       const std::source_location& at) {
  fail<GraphError>(op, "backward must return one gradient per tensor input (undefined for none)",
                   std::to_string(got) + " gradients for " + std::to_string(expected) + " inputs", at);
}

}  // namespace detail

using detail::Edge;
using detail::Entry;
using detail::fail;
using detail::Tape;

// ------------------------------------------------------------------ the context (Note [One context], function.hpp)

const Tensor& Context::gy(std::size_t output) const {
  require_backward("gy");
  check_index("gy", output, entry_->n_outputs);
  detail::Output& o = entry_->outputs()[output];
  if (!o.grad.defined()) o.grad = zeros(entry_->output_shape(output), o.dtype);
  return o.grad;
}
const Tensor& Context::saved(std::size_t k) const {
  require_backward("saved");
  check_index("saved", k, entry_->n_saved);
  const detail::SavedTensor& s = entry_->saved()[k];
  if (!run_->create_graph || s.output == detail::SavedTensor::not_output || !s.tensor.defined()) return s.tensor;
  // The entry's own output, given back its place on the tape (Note [Higher-order gradients]).
  if (revived_.empty()) revived_.resize(entry_->n_saved);
  Tensor& alias = revived_[k];
  if (!alias.defined()) {
    alias = detail::make_view(s.tensor, s.tensor.shape(), s.tensor.strides(), 0);
    auto& impl = alias.impl();
    impl.requires_grad = true;
    impl.tape_id = run_->tape.id;
    impl.serial = entry_->serial;
    impl.output_index = static_cast<std::uint32_t>(s.output);
  }
  return alias;
}
std::size_t Context::num_inputs() const {
  require_backward("num_inputs");
  return entry_->n_inputs; }
bool Context::needs_grad(std::size_t input) const {
  require_backward("needs_grad");
  check_index("needs_grad", input, entry_->n_inputs);
  return entry_->inputs()[input].needs_grad;
}
Shape Context::input_shape(std::size_t input) const {
  require_backward("input_shape");
  check_index("input_shape", input, entry_->n_inputs);
  const Edge& edge = entry_->inputs()[input];
  if (edge.leaf) return edge.leaf->shape;
  if (edge.serial) {
    const Entry* producer = run_->tape.find(edge.serial);
    if (!producer || producer->released)
      detail::throw_released(entry_->op(), "an input whose producing op is gone", entry_->at());
    return producer->output_shape(edge.output);
  }
  return Shape(entry_->dims() + edge.output, entry_->dims() + edge.output + edge.rank);
}
DType Context::input_dtype(std::size_t input) const {
  require_backward("input_dtype");
  check_index("input_dtype", input, entry_->n_inputs);
  return entry_->inputs()[input].dtype;
}
void Context::require_backward(std::string_view what) const {
  if (!entry_)
    fail<GraphError>("Context::" + std::string(what), "is only available while the op's backward runs",
                     "a call in forward", std::source_location());
}
void Context::check_index(std::string_view what, std::size_t index, std::size_t count) const {
  if (index >= count)
    fail<GraphError>(entry_->op(), "backward asked for " + std::string(what) + " of a slot the op does not have",
                     "index " + std::to_string(index) + " of " + std::to_string(count), entry_->at());
}
std::string_view Context::op() const {
  require_backward("op");
  return entry_->op(); }
const std::source_location& Context::where() const {
  require_backward("where");
  return entry_->at(); }
bool Context::create_graph() const {
  require_backward("create_graph");
  return run_->create_graph; }

void Context::accumulate(std::size_t input, const Tensor& g) {
  require_backward("accumulate");
  check_index("accumulate", input, entry_->n_inputs);
  const Edge& edge = entry_->inputs()[input];
  if (!edge.needs_grad || !g.defined()) return;
  if (detail::listeners) [[unlikely]] detail::Boundary::gradient(input, g);
  Tensor gx = g;
  const Shape shape = input_shape(input);
  if (gx.shape() != shape) {
    bool reducible = gx.dim() >= static_cast<std::int64_t>(shape.size());
    const std::size_t lead = gx.shape().size() - shape.size();
    for (std::size_t i = 0; reducible && i < shape.size(); ++i)
      reducible = shape[i] == gx.shape()[lead + i] || shape[i] == 1;
    if (!reducible)
      fail<GraphError>(entry_->op(), "backward produced a gradient whose shape does not reduce to the input's",
                       to_string(gx.shape()) + " for input " + std::to_string(input) + " of shape " +
                           to_string(shape),
                       entry_->at());
    gx = run_->create_graph ? detail::sum_to_recorded(gx, shape) : kernels::sum_to(gx, shape);
  }
  if (gx.dtype() != edge.dtype) gx = run_->create_graph ? gx.to(edge.dtype) : kernels::cast(gx, edge.dtype);
  run_->deliver(edge, gx);
}

void Context::accumulate_region(std::size_t input, const Tensor& g, const Shape& shape, const Strides& strides,
                                 std::int64_t offset) {
  require_backward("accumulate_region");
  check_index("accumulate_region", input, entry_->n_inputs);
  const Edge& edge = entry_->inputs()[input];
  if (!edge.needs_grad || !g.defined()) return;
  if (detail::listeners) [[unlikely]] detail::Boundary::gradient(input, g);
  const Shape full = input_shape(input);
  // The region must lie inside a contiguous tensor of the input's shape.
  std::int64_t low = offset, high = offset;
  bool empty = false, overflow = shape.size() != strides.size();
  for (std::size_t i = 0; i < shape.size() && !overflow; ++i) {
    std::int64_t span = 0;
    if (shape[i] < 0) overflow = true;
    else if (shape[i] == 0) empty = true;
    else overflow = __builtin_mul_overflow(shape[i] - 1, strides[i], &span) ||
                    __builtin_add_overflow(strides[i] < 0 ? low : high, span, strides[i] < 0 ? &low : &high);
  }
  if (overflow || offset < 0 || low < 0 || (!empty && high >= detail::numel_unchecked(full)))
    fail<GraphError>(entry_->op(), "accumulate_region's region must lie inside the input's gradient",
                     "region " + to_string(shape) + " at offset " + std::to_string(offset) + " of " + to_string(full),
                     entry_->at());
  if (empty) return;
  bool broadcasts = g.shape().size() <= shape.size();
  for (std::size_t i = 0; broadcasts && i < g.shape().size(); ++i) {
    const std::int64_t have = g.shape()[g.shape().size() - 1 - i];
    broadcasts = have == 1 || have == shape[shape.size() - 1 - i];
  }
  if (!broadcasts)
    fail<GraphError>(entry_->op(), "accumulate_region's gradient must broadcast to the region's shape",
                     to_string(g.shape()) + " for a region of shape " + to_string(shape), entry_->at());
  if (run_->create_graph) {
    Tensor gx = g.dtype() == edge.dtype ? g : g.to(edge.dtype);
    run_->deliver(edge, detail::embed_region(g.shape() == shape ? gx : expand(gx, shape), full, shape, strides, offset));
    return;
  }
  run_->deliver_region(edge, full, g, shape, strides, offset);
}

// ------------------------------------------------------------------ backward

namespace {

std::vector<Tensor> run_backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& gradients,
                                 const std::source_location& at, detail::BackwardRun& run) {
  Tape& tape = run.tape;
  if (tape.backward_depth > 0)
    fail<GraphError>("backward", "backward and grad cannot be called from inside a backward function",
                     "a nested backward", at);
  if (!gradients.empty() && gradients.size() != outputs.size())
    fail<ValueError>("backward", "one gradient per output is needed",
                     std::to_string(gradients.size()) + " gradients for " + std::to_string(outputs.size()) + " outputs",
                     at);
  std::uint64_t start = 0;
  std::vector<std::pair<Edge, Tensor>> seeds;
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
      if (gy.dtype() != y.dtype()) gy = run.create_graph ? gy.to(y.dtype()) : kernels::cast(gy, y.dtype());
    } else {
      if (y.numel() != 1)
        fail<GraphError>("backward", "a gradient must be given for a non-scalar output",
                         "shape " + to_string(y.shape()), at);
      gy = ones_like(y);
    }
    Edge edge;
    edge.dtype = y.dtype();
    edge.needs_grad = true;
    const auto& impl = y.impl();
    if (impl.tape_id == 0) {
      edge.leaf = y.impl_ptr();
    } else {
      if (impl.tape_id != tape.id)
        fail<GraphError>("backward", "backward must run on the thread that recorded the graph",
                         "a tensor recorded on another thread", at);
      const Entry* e = tape.find(impl.serial);
      if (!e || e->released) detail::throw_released("backward", "an output whose op is gone", at);
      start = std::max(start, impl.serial);
      edge.serial = impl.serial;
      edge.output = impl.output_index;
    }
    seeds.emplace_back(std::move(edge), std::move(gy));
  }

  // Grad mode is on exactly when the pass is recorded (Note [Higher-order gradients]).
  const bool previous_mode = detail::grad_enabled;
  detail::grad_enabled = run.create_graph;
  const std::uint64_t first = tape.base;
  // On any exit (also by exception), pending gradients are dropped and, without retain_graph, what
  // ran is released and the tape swept.
  std::vector<std::uint64_t> ran;
  struct Cleanup {
    Tape& tape;
    std::uint64_t first, start;
    bool retain, mode;
    std::vector<std::uint64_t>& ran;
    ~Cleanup() {
      --tape.backward_depth;
      detail::grad_enabled = mode;
      for (std::uint64_t s = std::max(first, tape.base); s <= start && s < tape.next_serial; ++s)
        if (Entry* e = tape.find(s); e && !e->released) e->clear_grads();
      if (!retain) {
        for (auto s : ran)
          if (Entry* e = tape.find(s); e && !e->released) {
            e->release();
            tape.released_one(s);
          }
      }
      tape.sweep();
    }
  } cleanup{tape, first, start, run.retain_graph, previous_mode, ran};
  ++tape.backward_depth;

  for (auto& [edge, gy] : seeds) run.deliver(edge, gy);
  for (std::uint64_t s = start; s >= first && s > 0; --s) {
    Entry* e = tape.find(s);
    if (!e) {  // a freed block: skip to the one before it
      s = first + (s - first) / detail::Block::capacity * detail::Block::capacity;
      continue;
    }
    if (e->released || !e->reached()) continue;
    run.run(*e);
    e->clear_grads();
    ran.push_back(s);
  }
  run.flush_leaves();
  return std::move(run.results);
}

}  // namespace

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& gradients, bool retain_graph,
              bool create_graph, std::source_location at) {
  detail::OpScope scope("backward", at);  // names backward when a gradient cannot be allocated
  detail::BackwardRun run(detail::current_tape(), retain_graph || create_graph, create_graph, at);
  run_backward(outputs, gradients, at, run);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& gradients, bool retain_graph, bool create_graph,
                         std::source_location at) {
  detail::OpScope scope("grad", at);
  detail::BackwardRun run(detail::current_tape(), retain_graph || create_graph, create_graph, at);
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
  std::vector<Tensor> results = run_backward(outputs, gradients, at, run);
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (!results[i].defined()) results[i] = zeros_like(inputs[i]);
    else if (results[i].shape() != inputs[i].shape()) results[i] = kernels::sum_to(results[i], inputs[i].shape());
  return results;
}

}  // namespace tapegrad
