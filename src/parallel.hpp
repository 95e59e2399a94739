// The one place that talks to oneTBB: thread count, serial threshold, deterministic chunking.
//
// Note [Deterministic chunking]: work is split into chunks whose boundaries depend only on the
// problem size and the grain, never on the number of threads, and every chunk writes its own
// output (or its own partial result, combined afterwards in chunk order). A result is then
// bitwise identical whether 1, 2 or 8 threads ran it.
//
// Note [Isolated regions]: every parallel region runs inside tbb::this_task_arena::isolate. A thread
// waiting for its region's chunks then only runs chunks of that region, never a task of another one
// (say a user's tbb::parallel_for over data shards, each running forward and backward). Without it,
// a thread inside a kernel of one shard's backward could start another shard's backward on the same
// thread and tape: "backward inside a backward", or a deadlock on a lock the first one holds (a leaf's
// gradient lock, Note [Leaf gradients]).
//
// Note [Nested regions]: a region started inside a chunk of another region that runs in parallel runs
// its chunks on the calling thread, as ATen's parallel_for does: the outer region already keeps the
// threads busy (a convolution's images, each a GEMM), and a parallel region per inner call only adds
// scheduling. The chunks are the same, so the results are too (Note [Deterministic chunking]).
#pragma once

#include <cstdint>
#include <functional>

namespace tapegrad::parallel {

// Below this many elements (or scalar operations) work stays on the calling thread.
inline constexpr std::int64_t serial_threshold = 32768;

// Number of threads the library may use (set_num_threads, TAPEGRAD_NUM_THREADS, or the hardware).
// One atomic load once set (every parallel region asks).
int num_threads();
// The thread count TAPEGRAD_NUM_THREADS asks for (its text, or null when unset): unset or empty means
// the hardware's; a value that is not a whole number >= 1 raises ValueError (at first use, not silence).
int threads_from_environment(const char* text);

// Runs body(begin, end) over [0, n) in chunks of `grain` (the last may be shorter). Chunks are the
// same whatever the thread count; they run in parallel when n * cost_per_item >= serial_threshold,
// more than one thread is allowed and no parallel region encloses the call (Note [Nested regions]).
void for_chunks(std::int64_t n, std::int64_t grain, const std::function<void(std::int64_t, std::int64_t)>& body,
                std::int64_t cost_per_item = 1);

}  // namespace tapegrad::parallel
