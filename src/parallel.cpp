#include "parallel.hpp"

#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "tapegrad/threads.hpp"
#include "tapegrad/error.hpp"

// Note [TSan and TBB]: libtbb is not instrumented, so ThreadSanitizer sees neither the hand-over of
// a task from the thread that spawned it to the one that runs it, nor the join: every parallel region,
// TBB's own header code included, would be reported as racing. A TSan build (tools/check --tsan)
// therefore runs every region on the calling thread, chunk by chunk, as with one thread (the same
// results, Note [Deterministic chunking]); the races it looks for are those between the user's
// threads (shared parameters, .grad(), the allocator's caches).
#if defined(__SANITIZE_THREAD__)
constexpr bool tsan_build = true;
#else
constexpr bool tsan_build = false;
#endif

namespace tapegrad {
namespace {

// `threads` is read on every parallel region without the lock (it is only ever set to a value >= 1,
// after the global_control that enforces it exists); the lock orders the writers.
struct ThreadSetting {
  std::mutex mutex;
  std::atomic<int> threads = 0;  // 0: not set yet
  std::unique_ptr<tbb::global_control> control;
};

ThreadSetting& setting() {
  static ThreadSetting s;
  return s;
}

int from_environment() { return parallel::threads_from_environment(std::getenv("TAPEGRAD_NUM_THREADS")); }

// Is this thread running a chunk of a parallel region (Note [Nested regions])?
thread_local bool inside_region = false;

// Marks the thread as inside a region for the life of one task, restoring what it was (a task may
// also end by an exception).
class RegionMark {
 public:
  RegionMark() : outer_(inside_region) { inside_region = true; }
  ~RegionMark() { inside_region = outer_; }
  RegionMark(const RegionMark&) = delete;
  RegionMark& operator=(const RegionMark&) = delete;

 private:
  bool outer_;
};

}  // namespace

void set_num_threads(int n, std::source_location at) {
  if (n < 1) {
    throw ValueError("set_num_threads", "the thread count must be at least 1", std::to_string(n), at);
  }
  auto& s = setting();
  std::lock_guard lock(s.mutex);
  s.control = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                    static_cast<std::size_t>(n));
  s.threads.store(n, std::memory_order_release);
}

int get_num_threads() { return parallel::num_threads(); }

namespace parallel {

int threads_from_environment(const char* text) {
  if (!text || !*text) return tbb::info::default_concurrency();
  const std::string_view value(text);
  int n = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (error != std::errc() || end != value.data() + value.size() || n < 1)
    throw ValueError("TAPEGRAD_NUM_THREADS", "the environment variable must be a whole number >= 1",
                     "\"" + std::string(value) + "\"", {});
  return n;
}

int num_threads() {
  auto& s = setting();
  if (const int n = s.threads.load(std::memory_order_acquire); n > 0) return n;
  std::lock_guard lock(s.mutex);
  if (s.threads.load(std::memory_order_relaxed) == 0) {
    const int n = from_environment();
    s.control = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                      static_cast<std::size_t>(n));
    s.threads.store(n, std::memory_order_release);
  }
  return s.threads.load(std::memory_order_relaxed);
}

void for_chunks(std::int64_t n, std::int64_t grain, const std::function<void(std::int64_t, std::int64_t)>& body,
                std::int64_t cost_per_item) {
  if (n <= 0) return;
  grain = std::max<std::int64_t>(grain, 1);
  const std::int64_t chunks = (n + grain - 1) / grain;
  if (chunks == 1 || n * cost_per_item < serial_threshold || inside_region || num_threads() == 1 || tsan_build) {
    for (std::int64_t c = 0; c < chunks; ++c) body(c * grain, std::min(n, (c + 1) * grain));
    return;
  }
  // simple_partitioner with grainsize 1 over chunk indices: chunk boundaries stay fixed.
  // Isolated (Note [Isolated regions]).
  tbb::this_task_arena::isolate([&] {
    tbb::parallel_for(
        tbb::blocked_range<std::int64_t>(0, chunks, 1),
        [&](const tbb::blocked_range<std::int64_t>& r) {
          const RegionMark mark;
          for (std::int64_t c = r.begin(); c < r.end(); ++c) body(c * grain, std::min(n, (c + 1) * grain));
        },
        tbb::simple_partitioner());
  });
}

}  // namespace parallel
}  // namespace tapegrad
