// A static split of [0, n) over a fixed number of threads, for the plain-loop references.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace bench {

// Thread t of T runs body(t, begin, end) on the t-th of T contiguous parts, rounded to whole cache
// lines (multiples of `align` items). The caller runs part 0; the workers spin while the object is
// alive, so starting a part costs no system call (an OpenMP runtime's static schedule, in ~60 lines).
// Make one per benchmark, outside the timed loop: spinning workers would steal cores from others.
// Waits yield after a short spin, so a descheduled partner (a busy, shared machine) costs a time
// slice of the other process rather than one of ours burnt spinning.
class StaticSplit {
 public:
  explicit StaticSplit(int threads) : threads_(std::max(threads, 1)) {
    for (int t = 1; t < threads_; ++t) workers_.emplace_back([this, t] { work(t); });
  }
  ~StaticSplit() {
    stop_.store(true, std::memory_order_release);
    for (auto& w : workers_) w.join();
  }
  StaticSplit(const StaticSplit&) = delete;
  StaticSplit& operator=(const StaticSplit&) = delete;

  int threads() const { return threads_; }

  using Body = std::function<void(int, std::int64_t, std::int64_t)>;

  // Returns when every part is done. Build `body` once, outside the timed loop (a std::function
  // made per call may allocate).
  void run(std::int64_t n, const Body& body, std::int64_t align = 16) {
    n_ = n;
    align_ = align;
    body_ = &body;
    pending_.store(threads_ - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    run_part(0);
    for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) pause(spins);
  }

 private:
  static void pause(int spins) {
    if (spins < 4096) {
      _mm_pause();
    } else {
      std::this_thread::yield();
    }
  }

  void run_part(int t) {
    const std::int64_t per = (n_ + threads_ - 1) / threads_;
    const std::int64_t part = (per + align_ - 1) / align_ * align_;
    const std::int64_t begin = std::min(n_, t * part);
    const std::int64_t end = std::min(n_, begin + part);
    if (begin < end) (*body_)(t, begin, end);
  }

  void work(int t) {
    std::uint64_t seen = 0;
    while (true) {
      std::uint64_t now;
      for (int spins = 0; (now = generation_.load(std::memory_order_acquire)) == seen; ++spins) {
        if (stop_.load(std::memory_order_acquire)) return;
        pause(spins);
      }
      seen = now;
      run_part(t);
      pending_.fetch_sub(1, std::memory_order_release);
    }
  }

  const int threads_;
  std::vector<std::thread> workers_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  // Written by run() before generation_ is bumped (release), read by workers after (acquire).
  std::int64_t n_ = 0;
  std::int64_t align_ = 16;
  const Body* body_ = nullptr;
};

}  // namespace bench
