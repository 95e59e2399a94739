// Recording: the tape's blocks, entries and sweep, grad mode and scopes (Note [The tape] in
// tape_impl.hpp).
#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include "tape_impl.hpp"
#include "tapegrad/tape.hpp"

namespace tapegrad {
namespace detail {

// ------------------------------------------------------------------ entries, arenas, blocks

bool Entry::reached() const {
  for (const Output& o : outputs())
    if (o.grad.defined()) return true;
  return false;
}
void Entry::clear_grads() {
  for (Output& o : outputs()) {
    o.grad = Tensor();
    o.owned = false;
  }
}
void Entry::release() {
  if (released) return;
  released = true;
  std::destroy(inputs().begin(), inputs().end());
  std::destroy(saved().begin(), saved().end());
  std::destroy(outputs().begin(), outputs().end());
  backward = nullptr;
  n_inputs = n_saved = n_outputs = 0;
}

std::byte* Arena::allocate(std::size_t bytes) {
  bytes = (bytes + 7) & ~std::size_t{7};
  if (bytes > chunk_bytes / 4) {  // a rare large entry (concat of many tensors) gets its own chunk
    chunks_.push_back(std::make_unique<std::byte[]>(bytes));
    reserved_ += bytes;
    return chunks_.back().get();
  }
  if (left_ < bytes) {
    chunks_.push_back(std::make_unique<std::byte[]>(chunk_bytes));
    reserved_ += chunk_bytes;
    cursor_ = chunks_.back().get();
    left_ = chunk_bytes;
  }
  std::byte* p = cursor_;
  cursor_ += bytes;
  left_ -= bytes;
  return p;
}

void Arena::reset() {
  chunks_.clear();
  cursor_ = nullptr;
  left_ = reserved_ = 0;
}

Tape::Tape() {
  static std::atomic<std::uint64_t> next_id{1};
  id = next_id++;
}

std::pair<Entry*, Block*> Tape::append() {
  if (blocks.empty() || !blocks.back() || blocks.back()->count == Block::capacity) {
    if (blocks.empty()) base = next_serial;
    blocks.push_back(spare ? std::move(spare) : std::make_unique<Block>());
  }
  Block* block = blocks.back().get();
  Entry* e = &block->entries[block->count++];
  ++block->live;
  ++live;
  e->serial = next_serial++;
  e->released = false;
  return {e, block};
}

void Tape::released_one(std::uint64_t serial) {
  --live;
  --blocks[(serial - base) / Block::capacity]->live;
}

void Tape::free_empty_blocks() {
  if (backward_depth > 0) return;  // the walk holds references into them
  for (auto& block : blocks)
    if (block && block->live == 0 && (block->count == Block::capacity || &block != &blocks.back())) block.reset();
  while (!blocks.empty() && !blocks.front()) {
    blocks.pop_front();
    base += Block::capacity;
  }
  if (live == 0) {
    // Nothing left: start afresh at the next serial, keeping one block for the next step.
    for (auto& block : blocks)
      if (block && !spare) {
        block->reset();
        spare = std::move(block);
      }
    blocks.clear();
    base = next_serial;
  }
}

void Tape::sweep() {
  if (backward_depth > 0) return;
  const std::uint64_t span = next_serial - base;
  std::vector<char> needed(span, 0);
  for (std::uint64_t j = span; j-- > 0;) {
    Entry* e = find(base + j);
    if (!e || e->released) continue;
    if (!needed[j])
      for (const Output& out : e->outputs())
        if (!out.tensor.expired()) needed[j] = 1;
    if (!needed[j]) {
      e->release();
      released_one(e->serial);
      continue;
    }
    for (const Edge& edge : e->inputs())
      if (edge.serial >= base) needed[edge.serial - base] = 1;
  }
  free_empty_blocks();
  sweep_at = std::max<std::size_t>(1024, 2 * live);
}

std::size_t Tape::metadata_bytes() const {
  std::size_t bytes = 0;
  for (const auto& block : blocks)
    if (block) bytes += sizeof(Block) + block->arena.bytes_reserved();
  return bytes;
}

Tape& current_tape() {
  TAPEGRAD_FAST_TLS thread_local Tape tape;
  return tape;
}

TAPEGRAD_FAST_TLS thread_local bool grad_enabled = true;

// Note [Op names]
// An entry keeps one pointer to its site: the op's name and the user's line that called it. Sites are
// interned in a process-wide table (nodes never move; one per distinct name and call site, so a
// program's set is small and fixed), found again through a per-thread direct-mapped cache checked
// by content, so a custom function's name may be any string the caller owns.
namespace {
struct SiteKey {
  std::string op;
  const char* file;
  const char* function;
  std::uint_least32_t line, column;
  const char* module;  // interned: compared by address
  bool operator==(const SiteKey&) const = default;
};
struct SiteHash {
  std::size_t operator()(const SiteKey& k) const {
    return std::hash<std::string>()(k.op) ^ (std::hash<const void*>()(k.file) * 31) ^ (k.line * 131) ^ k.column ^
           (std::hash<const void*>()(k.module) * 7);
  }
};
bool same_site(const Site& s, std::string_view op, const std::source_location& at, std::string_view module) {
  return s.at.line() == at.line() && s.at.column() == at.column() && s.at.file_name() == at.file_name() &&
         s.at.function_name() == at.function_name() && s.module.data() == module.data() && s.op == op;
}
}  // namespace

const Site* intern_site(std::string_view op, const std::source_location& at) {
  struct Cached {
    const Site* site = nullptr;
  };
  TAPEGRAD_FAST_TLS thread_local Cached cache[64];
  const std::string_view module = current_module_name;
  const std::size_t slot = (reinterpret_cast<std::uintptr_t>(op.data()) ^ (at.line() * 2654435761u) ^
                            reinterpret_cast<std::uintptr_t>(at.file_name()) ^
                            (reinterpret_cast<std::uintptr_t>(module.data()) >> 3)) % 64;
  if (cache[slot].site && same_site(*cache[slot].site, op, at, module)) return cache[slot].site;
  static std::mutex mutex;
  static std::unordered_map<SiteKey, std::unique_ptr<Site>, SiteHash> sites;
  std::lock_guard lock(mutex);
  auto [it, fresh] = sites.try_emplace(
      SiteKey{std::string(op), at.file_name(), at.function_name(), at.line(), at.column(), module.data()});
  if (fresh) it->second = std::make_unique<Site>(Site{it->first.op, at, module});
  cache[slot].site = it->second.get();
  return cache[slot].site;
}

}  // namespace detail

using detail::Edge;
using detail::Entry;
using detail::fail;
using detail::Tape;

// ------------------------------------------------------------------ grad mode and scopes

bool is_grad_enabled() { return detail::grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(detail::grad_enabled) { detail::grad_enabled = false; }
NoGradGuard::~NoGradGuard() { detail::grad_enabled = previous_; }
EnableGradGuard::EnableGradGuard() : previous_(detail::grad_enabled) { detail::grad_enabled = true; }
EnableGradGuard::~EnableGradGuard() { detail::grad_enabled = previous_; }

TapeScope::TapeScope() : first_serial_(detail::current_tape().next_serial) {}
TapeScope::~TapeScope() {
  Tape& tape = detail::current_tape();
  for (std::uint64_t s = std::max(first_serial_, tape.base); s < tape.next_serial; ++s)
    if (Entry* e = tape.find(s); e && !e->released) {
      e->release();
      tape.released_one(s);
    }
  tape.free_empty_blocks();
}

TapeStats tape_stats() {
  Tape& tape = detail::current_tape();
  tape.sweep();
  TapeStats stats;
  stats.metadata_bytes = tape.metadata_bytes();
  for (std::uint64_t s = tape.base; s < tape.next_serial; ++s) {
    const Entry* e = tape.find(s);
    if (!e || e->released) continue;
    ++stats.live_entries;
    stats.saved_tensors += e->saved().size();
    for (const auto& saved : e->saved())
      if (saved.tensor.defined()) stats.saved_bytes += saved.tensor.impl().storage->bytes;
  }
  stats.entries = stats.live_entries;
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
  // One pass over each list checks it and sizes the tail: edges, saved tensors, outputs, then the
  // dims of outputs and of constant inputs (a leaf or a producer already has its shape).
  auto require_rank = [&](const Tensor& t) {
    if (t.impl().shape.size() > 255) fail<ValueError>(op, "a recorded tensor has at most 255 axes", to_string(t.shape()), at);
  };
  std::size_t dims = 0;
  for (const Tensor& y : outputs) {
    if (!y.defined()) fail<ValueError>(op, "every output of a recorded op must be defined", "an undefined output", at);
    require_rank(y);
    dims += y.impl().shape.size();
  }
  for (const Tensor& x : inputs) {
    if (!x.defined()) continue;
    if (x.impl().tape_id != 0 && x.impl().tape_id != tape.id)
      fail<GraphError>(op, "an op's inputs must have been recorded on the calling thread's tape",
                       "a tensor made on another thread", at);
    require_rank(x);
    if (x.impl().tape_id == 0 && !x.impl().requires_grad) dims += x.impl().shape.size();
  }
  if (std::max({inputs.size(), saved.size(), outputs.size()}) > Entry::max_slots)
    fail<ValueError>(op, "an op records at most 65535 inputs, saved tensors and outputs",
                     std::to_string(inputs.size()) + " inputs, " + std::to_string(saved.size()) + " saved, " +
                         std::to_string(outputs.size()) + " outputs",
                     at);
  const detail::Site* site = detail::intern_site(op, at);
  const std::size_t bytes = inputs.size() * sizeof(Edge) + saved.size() * sizeof(detail::SavedTensor) +
                            outputs.size() * sizeof(detail::Output) + dims * sizeof(std::int64_t);
  // Built in place (nothing below throws after the slot is taken).
  auto [e, block] = tape.append();
  e->site = site;
  e->tail = block->arena.allocate(bytes);
  e->n_inputs = static_cast<std::uint16_t>(inputs.size());
  e->n_saved = static_cast<std::uint16_t>(saved.size());
  e->n_outputs = static_cast<std::uint16_t>(outputs.size());
  auto* dim_area = const_cast<std::int64_t*>(e->dims());
  std::uint32_t next_dim = 0;
  auto put_dims = [&](const Shape& shape) {
    std::copy(shape.begin(), shape.end(), dim_area + next_dim);
    const std::uint32_t at_dim = next_dim;
    next_dim += static_cast<std::uint32_t>(shape.size());
    return at_dim;
  };
  Edge* edge = e->inputs().data();
  for (const Tensor& x : inputs) {
    Edge* made = ::new (edge++) Edge();
    if (!x.defined()) continue;
    const auto& impl = x.impl();
    made->dtype = impl.dtype;
    made->needs_grad = impl.requires_grad;
    if (impl.tape_id != 0) {
      made->serial = impl.serial;
      made->output = impl.output_index;
    } else if (impl.requires_grad) {
      made->leaf = x.impl_ptr();
    } else {
      made->rank = static_cast<std::uint8_t>(impl.shape.size());
      made->output = put_dims(impl.shape);
    }
  }
  detail::SavedTensor* kept = e->saved().data();
  for (const Tensor& s : saved) {
    // A saved output is kept through a detached alias: an entry must not keep its own outputs alive,
    // or the sweep could never free it (Note [The tape]).
    std::uint64_t output = detail::SavedTensor::not_output;
    for (std::size_t k = 0; k < outputs.size(); ++k)
      if (s.defined() && s.same(outputs[k])) output = k;
    auto* made = ::new (kept++) detail::SavedTensor();
    made->tensor = output != detail::SavedTensor::not_output ? s.detach() : s;
    made->version = made->tensor.defined() ? made->tensor.impl().storage->version : 0;
    made->output = output;
  }
  e->backward = std::move(backward);
  detail::Output* out = e->outputs().data();
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
    impl.serial = e->serial;
    impl.output_index = static_cast<std::uint32_t>(k);
    auto* made = ::new (out++) detail::Output();
    made->tensor = y.impl_ptr();
    made->dtype = impl.dtype;
    made->rank = static_cast<std::uint8_t>(impl.shape.size());
    made->dims = put_dims(impl.shape);
  }
  if (tape.live >= tape.sweep_at) tape.sweep();
}

}  // namespace

std::vector<Tensor> record(std::string_view op, const std::vector<Tensor>& inputs, std::vector<Tensor> outputs,
                           std::vector<Tensor> saved, BackwardFn backward, std::source_location at) {
  const bool recording = will_record(inputs);
  if (recording) record_entry(op, inputs, outputs, saved, std::move(backward), at);
  if (detail::listeners) [[unlikely]]  // Note [Op boundary]
    detail::Boundary::recorded(op, inputs, outputs,
                               recording && !outputs.empty() ? outputs[0].impl().serial : 0, at);
  return outputs;
}

Tensor record(std::string_view op, std::initializer_list<Tensor> inputs, Tensor output,
              std::initializer_list<Tensor> saved, BackwardFn backward, std::source_location at) {
  const bool recording = will_record(inputs);
  if (recording)
    record_entry(op, std::span<const Tensor>(inputs.begin(), inputs.size()),
                 std::span<Tensor>(&output, 1), std::span<const Tensor>(saved.begin(), saved.size()),
                 std::move(backward), at);
  if (detail::listeners) [[unlikely]]  // Note [Op boundary]
    detail::Boundary::recorded(op, std::span<const Tensor>(inputs.begin(), inputs.size()), {&output, 1},
                               recording ? output.impl().serial : 0, at);
  return output;
}

}  // namespace tapegrad
