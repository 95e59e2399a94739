// Accumulating into a leaf's .grad() (Note [Leaf gradients]), and the gradient shards of
// tapegrad/grad_shards.hpp that make it deterministic across threads.
#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "internal.hpp"
#include "kernels/copy.hpp"
#include "kernels/elementwise.hpp"
#include "kernels/formulas.hpp"
#include "kernels/loop.hpp"
#include "kernels/simd_table.hpp"
#include "tapegrad/grad_shards.hpp"
#include "tapegrad/ops/elementwise.hpp"

// Note [Leaf gradients]
// A leaf's .grad() is touched by backward (accumulate_leaf_grad, on several threads at once when
// graphs share a parameter), by the user (grad(), set_grad(), zero_grad(), from any thread) and by
// GradShards::reduce. The rules:
// 1. Locking. leaf.grad (the shared_ptr) is read and written only under the leaf's lock: one of 64
//    mutexes picked by the leaf's address (striped: TensorImpl, a public layout, has no room for a
//    lock of its own). There is no global lock; two threads meet only on the same leaf or on a stripe
//    collision. A lock is held to copy a pointer or for an in-place add or zeroing: a kernel, whose
//    parallel region is isolated (Note [Isolated regions]) and takes no lock. It is never held while
//    a public op runs (rule 4), so nothing that listens to ops can deadlock on it.
// 2. The first gradient is copied: it may be a tensor the user or the tape still holds; unless the
//    backward hands over a buffer nothing else holds (may_adopt, checked by use counts). Under
//    create_graph (g requires grad) it is g itself, on the tape, so .grad() can be differentiated.
// 3. Later plain gradients are added in place when the buffer is the leaf's alone (no other Tensor
//    holds its TensorImpl or its storage, as PyTorch's use_count check), contiguous, with g's shape and
//    dtype; otherwise summed out of place, so a .grad() the user kept never changes under them.
// 4. When g or the current .grad() requires grad (a create_graph backward, or the gradient left by
//    one), the new .grad() is add(current, g) through the public op: recorded when grad mode is on, so
//    it stays differentiable. It is computed without the lock and stored only if .grad() did not
//    change meanwhile (else computed again from the new value).
// 5. Order. Backwards on several threads that reach one leaf add in the order they arrive: the float
//    sum's bits then depend on scheduling. GradShards fixes the order: inside a ShardGuard, gradients
//    of the listed parameters go to that shard's own partial (rules 2-4 on a buffer no other thread
//    sees, no lock), and GradShards::reduce adds the partials into .grad() in shard order, adopting a
//    partial without a copy when .grad() is empty. A shard is owned by one guard at a time (an atomic
//    flag, whose release/acquire also orders one thread's partial before the next owner's or
//    reduce's reads); reduce takes every shard's flag while it runs.
namespace tapegrad {

struct GradShards::State {
  std::vector<Tensor> parameters;
  std::unordered_map<const detail::TensorImpl*, std::size_t> index;  // read-only after construction
  // partials[shard][parameter]; a shard's row is touched only by the thread owning the shard.
  std::vector<std::vector<std::shared_ptr<detail::TensorImpl>>> partials;
  std::unique_ptr<std::atomic<bool>[]> in_use;
  int shards = 0;
};

namespace detail {
namespace {

struct alignas(64) Stripe {
  std::mutex mutex;
};
std::array<Stripe, 64> leaf_locks;

std::mutex& lock_of(const TensorImpl& leaf) {
  const auto address = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&leaf));
  return leaf_locks[((address >> 4) * 0x9E3779B97F4A7C15ull) >> 58].mutex;  // the top 6 bits
}

// The shard a ShardGuard opened on this thread (none: state null).
struct ActiveShard {
  GradShards::State* state = nullptr;
  int shard = 0;
};
TAPEGRAD_FAST_TLS thread_local ActiveShard active_shard;  // Note [Thread-local model]

bool differentiable(const std::shared_ptr<TensorImpl>& current, const Tensor& g) {
  return g.requires_grad() || (current && current->requires_grad);
}

// dst += src in place; dst contiguous, both of one floating dtype and shape (rule 3).
void add_into(const Tensor& dst, const Tensor& src) {
  using namespace kernels;
  dispatch_floating(dst.dtype(), [&]<class T>() {
    T* yp = const_cast<Tensor&>(dst).data<T>();
    const T* bp = src.data<T>();
    BinaryFn const* simd = simd_table().binary[binary_id<Add>][std::is_same_v<T, double> ? 1 : 0];
    parallel_for_each_strided<2>(dst.shape(), {&dst.strides(), &src.strides()},
                                 [&](auto offsets, std::int64_t n, auto steps) {
                                   T* y = yp + offsets[0];
                                   const T* b = bp + offsets[1];
                                   if (steps[0] == 1 && steps[1] == 1) return simd[both_vectors](n, y, b, y);
                                   for (std::int64_t i = 0; i < n; ++i) y[i * steps[0]] += b[i * steps[1]];
                                 });
  });
  bump_version(dst);
}

// slot += g by rules 2 and 3 (not differentiable); the caller has the slot to itself. `adopt`: g is
// the caller's own (a shard's partial) and may become the slot without a copy.
void add_plain(std::shared_ptr<TensorImpl>& slot, const Tensor& g, bool adopt) {
  if (!slot) {
    slot = adopt ? g.impl_ptr() : kernels::cast(g, g.dtype()).impl_ptr();
    return;
  }
  const bool alone = slot.use_count() == 1 && slot->storage.use_count() == 1;
  const Tensor current(slot);
  if (alone && current.is_contiguous() && current.shape() == g.shape() && current.dtype() == g.dtype()) {
    add_into(current, g);
    return;
  }
  slot = kernels::binary(kernels::binary_id<kernels::Add>, current, g, current.shape(), current.dtype())
             .impl_ptr();
}

// The next value of a slot under rule 4.
std::shared_ptr<TensorImpl> add_differentiable(const std::shared_ptr<TensorImpl>& current, const Tensor& g) {
  return current ? tapegrad::add(Tensor(current), g).impl_ptr() : g.impl_ptr();
}

// slot += g, all rules, for a slot only this thread sees (a shard's partial).
void add_owned(std::shared_ptr<TensorImpl>& slot, const Tensor& g, bool adopt) {
  if (differentiable(slot, g))
    slot = add_differentiable(slot, g);
  else
    add_plain(slot, g, adopt);
}

// leaf.grad += g, all rules, under the leaf's lock (rule 1).
void add_to_leaf(TensorImpl& leaf, const Tensor& g, bool adopt) {
  std::unique_lock lock(lock_of(leaf));
  while (differentiable(leaf.grad, g)) {
    std::shared_ptr<TensorImpl> current = leaf.grad;
    lock.unlock();
    std::shared_ptr<TensorImpl> next = add_differentiable(current, g);
    lock.lock();
    if (leaf.grad == current) {
      leaf.grad = std::move(next);
      return;
    }
  }
  add_plain(leaf.grad, g, adopt);
}

}  // namespace

void accumulate_leaf_grad(TensorImpl& leaf, const Tensor& g, bool may_adopt) {
  // A gradient only the caller holds (a buffer the backward made) becomes .grad() without a copy.
  const bool adopt = may_adopt && g.impl_ptr().use_count() == 1 && g.impl().storage.use_count() == 1 &&
                     g.impl().tape_id == 0 && !g.impl().requires_grad && g.is_contiguous();
  if (const ActiveShard shard = active_shard; shard.state) {
    if (auto it = shard.state->index.find(&leaf); it != shard.state->index.end()) {
      add_owned(shard.state->partials[static_cast<std::size_t>(shard.shard)][it->second], g, adopt);
      return;
    }
  }
  add_to_leaf(leaf, g, adopt);
}

std::shared_ptr<TensorImpl> load_leaf_grad(const TensorImpl& leaf) {
  std::lock_guard lock(lock_of(leaf));
  return leaf.grad;
}

void store_leaf_grad(TensorImpl& leaf, std::shared_ptr<TensorImpl> g) {
  {
    std::lock_guard lock(lock_of(leaf));
    leaf.grad.swap(g);
  }
  // the old gradient, if this was its last holder, is freed here, outside the lock
}

void zero_leaf_grad(TensorImpl& leaf, bool set_to_none) {
  if (set_to_none) return store_leaf_grad(leaf, nullptr);
  std::shared_ptr<TensorImpl> old;
  std::lock_guard lock(lock_of(leaf));
  std::shared_ptr<TensorImpl>& slot = leaf.grad;
  if (!slot) return;
  // In place when the buffer is the leaf's alone and off the tape (rule 3's test), else a fresh one.
  if (slot.use_count() == 1 && slot->storage.use_count() == 1 && !slot->requires_grad) {
    kernels::fill(Tensor(slot), 0.0);
    bump_version(Tensor(slot));
    return;
  }
  Tensor zeros = new_tensor(slot->shape, slot->dtype);
  kernels::fill(zeros, 0.0);
  old = std::exchange(slot, zeros.impl_ptr());
}

}  // namespace detail

// ------------------------------------------------------------------ GradShards

namespace {
// Takes shard s for one owner; GraphError naming `op` when another has it.
void take_shard(GradShards::State& state, int s, std::string_view op, const std::source_location& at) {
  if (state.in_use[static_cast<std::size_t>(s)].exchange(true, std::memory_order_acquire))
    detail::fail<GraphError>(op, "a shard is used by one ShardGuard (or reduce) at a time",
                             "shard " + std::to_string(s) + " in use", at);
}
void give_back(GradShards::State& state, int s) {
  state.in_use[static_cast<std::size_t>(s)].store(false, std::memory_order_release);
}
}  // namespace

GradShards::GradShards(const std::vector<Tensor>& parameters, int shards, std::source_location at)
    : state_(std::make_unique<State>()) {
  if (shards < 1)
    detail::fail<ValueError>("GradShards", "the number of shards must be at least 1", std::to_string(shards),
                             at);
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    const Tensor& p = parameters[i];
    if (!p.defined())
      detail::fail<ValueError>("GradShards", "every parameter must be a defined tensor",
                               "an undefined tensor at index " + std::to_string(i), at);
    if (!p.is_leaf())
      detail::fail<GraphError>("GradShards", "parameters must be leaves (only leaves have a .grad())",
                               "a tensor made by an op at index " + std::to_string(i), at);
    if (state_->index.emplace(&p.impl(), state_->parameters.size()).second) state_->parameters.push_back(p);
  }
  state_->shards = shards;
  state_->partials.assign(static_cast<std::size_t>(shards),
                          std::vector<std::shared_ptr<detail::TensorImpl>>(state_->parameters.size()));
  state_->in_use = std::make_unique<std::atomic<bool>[]>(static_cast<std::size_t>(shards));
}

GradShards::~GradShards() = default;

int GradShards::size() const { return state_->shards; }

void GradShards::reduce(std::source_location at) {
  State& state = *state_;
  int taken = 0;
  struct GiveBack {
    State& state;
    int& taken;
    ~GiveBack() {
      for (int s = 0; s < taken; ++s) give_back(state, s);
    }
  } give_back_all{state, taken};
  for (; taken < state.shards; ++taken) take_shard(state, taken, "GradShards::reduce", at);
  for (std::size_t p = 0; p < state.parameters.size(); ++p)
    for (auto& row : state.partials)
      if (auto partial = std::move(row[p]))
        detail::add_to_leaf(state.parameters[p].impl(), Tensor(partial), true);
}

ShardGuard::ShardGuard(GradShards& shards, int shard, std::source_location at)
    : state_(shards.state_.get()), shard_(shard) {
  if (shard < 0 || shard >= state_->shards)
    detail::fail<ValueError>("ShardGuard", "the shard must be in [0, shards)",
                             std::to_string(shard) + " of " + std::to_string(state_->shards) + " shards", at);
  take_shard(*state_, shard, "ShardGuard", at);
  outer_state_ = detail::active_shard.state;
  outer_shard_ = detail::active_shard.shard;
  detail::active_shard = {state_, shard_};
}

ShardGuard::~ShardGuard() {
  detail::active_shard = {outer_state_, outer_shard_};
  give_back(*state_, shard_);
}

}  // namespace tapegrad
