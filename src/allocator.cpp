// The tensor buffer allocator: Note [Caching allocator] in allocator.hpp.
#include "allocator.hpp"

#include <sys/mman.h>

#include <atomic>
#include <bit>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "internal.hpp"
#include "tapegrad/error.hpp"
#include "tapegrad/memory.hpp"

namespace tapegrad::detail::allocator {
namespace {

constexpr std::size_t alignment = 64;
constexpr std::size_t small_classes = 16;                   // 64, 128, ..., 1024 bytes
constexpr std::size_t classes = small_classes + 30 * 4;     // then four per doubling, up to 2^40
constexpr std::size_t mmap_bytes = std::size_t{256} << 10;  // classes from here up are mmap'ed
constexpr std::size_t default_cap = std::size_t{1} << 30;
constexpr std::size_t thread_cache_max = std::size_t{64} << 20;
constexpr std::size_t thread_block_max = std::size_t{16} << 20;

std::size_t class_index(std::size_t bytes) {
  if (bytes <= 64 * small_classes) return bytes == 0 ? 0 : (bytes - 1) / 64;
  const int k = std::bit_width(bytes - 1) - 1;  // 2^k < bytes <= 2^(k+1), k >= 10
  const std::size_t base = std::size_t{1} << k, step = base >> 2;
  const std::size_t quarter = (bytes - base + step - 1) / step;  // 1..4
  return small_classes + static_cast<std::size_t>(k - 10) * 4 + (quarter - 1);
}

std::size_t size_of_class(std::size_t index) {
  if (index < small_classes) return 64 * (index + 1);
  index -= small_classes;
  const std::size_t base = std::size_t{1} << (10 + index / 4);
  return base + (index % 4 + 1) * (base >> 2);
}

// Counters: process-wide, relaxed (they are statistics, not synchronisation).
struct Counters {
  std::atomic<std::size_t> in_use{0}, cached{0}, peak{0};
  std::atomic<std::uint64_t> allocated{0}, from_cache{0}, from_os{0};
};
constinit Counters counters;

void count_out(std::size_t bytes, bool cached) {
  const std::size_t now = counters.in_use.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  std::size_t peak = counters.peak.load(std::memory_order_relaxed);
  while (now > peak && !counters.peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
  counters.allocated.fetch_add(bytes, std::memory_order_relaxed);
  (cached ? counters.from_cache : counters.from_os).fetch_add(1, std::memory_order_relaxed);
}

struct Setting {
  std::size_t initial_cap;
  std::atomic<std::size_t> cap;
  bool caching;
  explicit Setting(std::size_t bytes) : initial_cap(bytes), cap(bytes) {
#ifdef __SANITIZE_ADDRESS__
    caching = false;  // every buffer from the heap, so use-after-free is caught
#else
    caching = bytes > 0;
#endif
  }
};
Setting& setting() {
  // Read at the first allocation; a throw leaves it unread, so each later call throws again.
  static Setting s(cache_bytes_from_environment(std::getenv("TAPEGRAD_CACHE_BYTES")));
  return s;
}

void* system_allocate(std::size_t size) {
  if (size >= mmap_bytes) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }
  return ::operator new (size, std::align_val_t{alignment}, std::nothrow);
}

void system_release(void* p, std::size_t size) noexcept {
  if (size >= mmap_bytes)
    ::munmap(p, size);
  else
    ::operator delete (p, std::align_val_t{alignment});
}

using FreeLists = std::vector<std::vector<void*>>;  // one list per class

// Frees every block of `lists` and uncounts it from the cached bytes.
void drain(FreeLists& lists) noexcept {
  for (std::size_t c = 0; c < classes; ++c) {
    for (void* p : lists[c]) system_release(p, size_of_class(c));
    counters.cached.fetch_sub(lists[c].size() * size_of_class(c), std::memory_order_relaxed);
    lists[c].clear();
    lists[c].shrink_to_fit();
  }
}

class ThreadCache;

struct Pool {
  std::mutex mutex;
  FreeLists free = FreeLists(classes);
  std::vector<ThreadCache*> caches;  // every live thread's cache, for empty_cache
};
Pool& pool() {
  static Pool& p = *new Pool;  // never destroyed: tensors in static objects die after any static Pool would
  return p;
}

// Puts a block in the pool, or frees it when the pool cannot grow. `cached` counts it already.
void pool_put(Pool& g, void* p, std::size_t index) noexcept {
  try {
    g.free[index].push_back(p);
  } catch (const std::bad_alloc&) {
    system_release(p, size_of_class(index));
    counters.cached.fetch_sub(size_of_class(index), std::memory_order_relaxed);
  }
}

class ThreadCache : public PerThread<ThreadCache> {
 public:

  // Claims the cache for its owner; false when empty_cache() holds it (the caller uses the pool).
  bool claim() noexcept { return !busy_.exchange(true, std::memory_order_acquire); }
  void unclaim() noexcept { busy_.store(false, std::memory_order_release); }
  // For empty_cache(), with the pool's mutex held: waits for the owner's short critical section.
  void empty() noexcept {
    while (!claim()) std::this_thread::yield();
    drain(free_);
    bytes_ = 0;
    unclaim();
  }

  void* take(std::size_t index) noexcept {
    auto& list = free_[index];
    if (list.empty()) return nullptr;
    void* p = list.back();
    list.pop_back();
    bytes_ -= size_of_class(index);
    return p;
  }
  bool put(void* p, std::size_t index) noexcept {
    const std::size_t size = size_of_class(index);
    if (size > thread_block_max || bytes_ + size > thread_cache_max) return false;
    try {
      free_[index].push_back(p);
    } catch (const std::bad_alloc&) {
      return false;
    }
    bytes_ += size;
    return true;
  }

 private:
  friend struct PerThread<ThreadCache>;
  ThreadCache() : free_(classes) {  // on the heap: a dlopen'ed library has little static TLS room
    auto& g = pool();
    std::lock_guard lock(g.mutex);
    g.caches.push_back(this);  // may throw: the thread then runs without a cache (state stays unborn)
    state() = alive;
  }
  ~ThreadCache() {
    state() = dead;
    auto& g = pool();
    std::lock_guard lock(g.mutex);
    std::erase(g.caches, this);
    for (std::size_t c = 0; c < classes; ++c)
      for (void* p : free_[c]) pool_put(g, p, c);
  }

  std::atomic<bool> busy_{false};
  std::size_t bytes_ = 0;
  FreeLists free_;
};

void* from_caches(std::size_t index) {
  void* p = nullptr;
  if (ThreadCache::state() == ThreadCache::alive) {
    auto& cache = ThreadCache::local();
    if (cache.claim()) {
      p = cache.take(index);
      cache.unclaim();
    }
  } else if (ThreadCache::state() == ThreadCache::unborn) {
    try {
      ThreadCache::local();  // constructs the cache; it is used from the next call on
    } catch (const std::bad_alloc&) {
    }
  }
  if (!p) {
    auto& g = pool();
    std::lock_guard lock(g.mutex);
    auto& list = g.free[index];
    if (!list.empty()) {
      p = list.back();
      list.pop_back();
    }
  }
  if (p) counters.cached.fetch_sub(size_of_class(index), std::memory_order_relaxed);
  return p;
}

}  // namespace

std::size_t class_size(std::size_t bytes) { return size_of_class(class_index(bytes)); }

bool caching() { return setting().caching; }

void set_cache_limit(std::size_t bytes) { setting().cap.store(bytes, std::memory_order_relaxed); }

std::size_t cache_bytes_from_environment(const char* text) {
  if (!text || !*text) return default_cap;
  const std::string_view value(text);
  std::size_t n = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (error != std::errc() || end != value.data() + value.size())
    throw ValueError("TAPEGRAD_CACHE_BYTES", "the environment variable must be a whole number of bytes >= 0",
                     "\"" + std::string(value) + "\"", {});
  return n;
}

void* allocate(std::size_t bytes) {
  auto& s = setting();
  if (bytes > max_request) return nullptr;
  if (!s.caching) {
    void* p = ::operator new (bytes, std::align_val_t{alignment}, std::nothrow);
    if (p) count_out(bytes, false);
    return p;
  }
  const std::size_t index = class_index(bytes), size = size_of_class(index);
  if (void* p = from_caches(index)) {
    count_out(size, true);
    return p;
  }
  void* p = system_allocate(size);
  if (!p) {
    empty_cache();  // the kernel refused: give back what we hold, and try once more
    p = system_allocate(size);
    if (!p) return nullptr;
  }
  count_out(size, false);
  return p;
}

void release(void* block, std::size_t bytes) noexcept {
  auto& s = setting();
  if (!s.caching) {
    ::operator delete (block, std::align_val_t{alignment});
    counters.in_use.fetch_sub(bytes, std::memory_order_relaxed);
    return;
  }
  const std::size_t index = class_index(bytes), size = size_of_class(index);
  counters.in_use.fetch_sub(size, std::memory_order_relaxed);
  if (counters.cached.fetch_add(size, std::memory_order_relaxed) + size >
      s.cap.load(std::memory_order_relaxed)) {
    counters.cached.fetch_sub(size, std::memory_order_relaxed);  // the caches are full
    system_release(block, size);
    return;
  }
  if (ThreadCache::state() == ThreadCache::alive) {
    auto& cache = ThreadCache::local();
    if (cache.claim()) {
      const bool kept = cache.put(block, index);
      cache.unclaim();
      if (kept) return;
    }
  }
  auto& g = pool();
  std::lock_guard lock(g.mutex);
  pool_put(g, block, index);
}

}  // namespace tapegrad::detail::allocator

namespace tapegrad {

MemoryStats memory_stats() {
  using detail::allocator::counters;
  MemoryStats m;
  m.bytes_in_use = counters.in_use.load(std::memory_order_relaxed);
  m.bytes_cached = counters.cached.load(std::memory_order_relaxed);
  m.peak_bytes_in_use = counters.peak.load(std::memory_order_relaxed);
  m.bytes_allocated = counters.allocated.load(std::memory_order_relaxed);
  m.from_cache = counters.from_cache.load(std::memory_order_relaxed);
  m.from_os = counters.from_os.load(std::memory_order_relaxed);
  return m;
}

void empty_cache() {
  using namespace detail::allocator;
  auto& g = pool();
  std::lock_guard lock(g.mutex);
  for (ThreadCache* cache : g.caches) cache->empty();
  drain(g.free);
}

}  // namespace tapegrad
