// Data-parallel training on threads that share one model's parameters, with gradients that do not
// depend on the thread count or on scheduling (Note [Leaf gradients] in src/leaf_grad.cpp).
//
//   tapegrad::GradShards shards(model.parameters(), 8);   // 8 shards of each batch, fixed
//   // on any threads, each shard once per step (shard s: rows s*B/8 .. (s+1)*B/8 of the batch):
//   {
//     tapegrad::ShardGuard guard(shards, s);  // this thread's backward now adds into shard s
//     loss_of_rows(s).backward();             // scale each shard's loss by its share of the batch
//   }
//   // after every shard's thread has finished (joined, or a barrier):
//   shards.reduce();                          // the sync point: .grad() += shard 0, then 1, ... 7
//   optimizer_step();
//
// Each shard keeps its own partial gradient of every parameter, summed without a lock (one thread
// owns a shard at a time). reduce() adds them into the parameters' .grad() in shard order, so the
// result is bitwise the same whichever thread ran which shard and however many threads there were:
// the same bits as running the shards one after another on one thread with plain backward()
// (gradient accumulation), when each backward gives a parameter one gradient. Without a guard,
// backward on several threads adds into a shared .grad() under a per-parameter lock, in whatever
// order the threads arrive.
#pragma once

#include <memory>
#include <source_location>
#include <vector>

#include "tapegrad/tensor.hpp"

namespace tapegrad {

class GradShards {
 public:
  // `parameters` are the leaves whose gradients are sharded (others, reached from inside a guard,
  // accumulate into .grad() directly). shards >= 1; leaves only (ValueError, GraphError).
  GradShards(const std::vector<Tensor>& parameters, int shards,
             std::source_location at = std::source_location::current());
  ~GradShards();  // partial gradients not yet reduced are dropped
  GradShards(const GradShards&) = delete;
  GradShards& operator=(const GradShards&) = delete;

  int size() const;
  // The sync point: adds every shard's partial gradients into the parameters' .grad(), shard 0 first,
  // then clears them. GraphError while a ShardGuard is open on any shard.
  void reduce(std::source_location at = std::source_location::current());

  struct State;  // opaque (src/leaf_grad.cpp)

 private:
  friend class ShardGuard;
  std::unique_ptr<State> state_;
};

// While alive, gradients that a backward on this thread would add into a sharded parameter's .grad()
// go to shard `shard`'s partial gradient instead. One thread at a time per shard (GraphError
// otherwise); guards nest (the inner one wins until it ends). Must end before its GradShards does.
class ShardGuard {
 public:
  ShardGuard(GradShards& shards, int shard, std::source_location at = std::source_location::current());
  ~ShardGuard();
  ShardGuard(const ShardGuard&) = delete;
  ShardGuard& operator=(const ShardGuard&) = delete;

 private:
  GradShards::State* state_;
  int shard_;
  GradShards::State* outer_state_;
  int outer_shard_;
};

}  // namespace tapegrad
