// The caching allocator of tensor buffers (Note [Caching allocator] in src/allocator.hpp). Counts are
// exact: nothing else allocates while a test runs (TBB workers only run inside ops).
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "allocator.hpp"
#include "helpers.hpp"

using namespace tapegrad;
namespace alloc = tapegrad::detail::allocator;

namespace {

std::size_t default_cap() { return alloc::cache_bytes_from_environment(std::getenv("TAPEGRAD_CACHE_BYTES")); }

bool aligned(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 64 == 0; }

}  // namespace

TEST_CASE("allocator: size classes are 64-byte steps to 1 KiB, then quarter powers of two") {
  CHECK(alloc::class_size(0) == 64);
  CHECK(alloc::class_size(1) == 64);
  CHECK(alloc::class_size(65) == 128);
  CHECK(alloc::class_size(1024) == 1024);
  CHECK(alloc::class_size(1025) == 1280);
  CHECK(alloc::class_size(1792) == 1792);
  CHECK(alloc::class_size(2048) == 2048);
  CHECK(alloc::class_size(2049) == 2560);
  CHECK(alloc::class_size(alloc::max_request) == alloc::max_request);
  for (std::size_t n = 1; n < (std::size_t{1} << 24); n = n * 5 / 3 + 7) {
    CAPTURE(n);
    const std::size_t c = alloc::class_size(n);
    CHECK(c >= n);
    CHECK(c % 64 == 0);
    CHECK(c <= n + n / 4 + 64);  // at most 25% (or one 64-byte step) of waste
    CHECK(alloc::class_size(c) == c);
  }
}

TEST_CASE("allocator: a freed block serves the next request of its class; the counters are exact") {
  empty_cache();
  const MemoryStats before = memory_stats();
  const std::size_t n = 100000, size = alloc::caching() ? alloc::class_size(n) : n;
  void* p = alloc::allocate(n);
  REQUIRE(p);
  CHECK(aligned(p));
  std::memset(p, 1, n);
  MemoryStats m = memory_stats();
  CHECK(m.bytes_in_use == before.bytes_in_use + size);
  CHECK(m.peak_bytes_in_use >= m.bytes_in_use);
  CHECK(m.from_os == before.from_os + 1);
  CHECK(m.bytes_allocated == before.bytes_allocated + size);
  alloc::release(p, n);
  m = memory_stats();
  CHECK(m.bytes_in_use == before.bytes_in_use);
  if (!alloc::caching()) {
    MESSAGE("caching is off (AddressSanitizer or TAPEGRAD_CACHE_BYTES=0): every block goes to the heap");
    CHECK(m.bytes_cached == 0);
    return;
  }
  CHECK(m.bytes_cached == size);
  void* q = alloc::allocate(n - 1000);  // the same class
  CHECK(q == p);
  m = memory_stats();
  CHECK(m.from_cache == before.from_cache + 1);
  CHECK(m.from_os == before.from_os + 1);
  CHECK(m.bytes_cached == 0);
  CHECK(m.bytes_in_use == before.bytes_in_use + size);
  alloc::release(q, n - 1000);
  empty_cache();
}

TEST_CASE("allocator: tensors get their buffers from it, and give them back") {
  empty_cache();
  const MemoryStats before = memory_stats();
  {
    Tensor t = zeros({1000});  // 4,000 bytes
    CHECK(aligned(t.data<float>()));
    CHECK(memory_stats().bytes_in_use ==
          before.bytes_in_use + (alloc::caching() ? alloc::class_size(4000) : 4000));
    Tensor tiny = zeros({4});  // inline in its storage: not counted
    CHECK(memory_stats().bytes_in_use ==
          before.bytes_in_use + (alloc::caching() ? alloc::class_size(4000) : 4000));
  }
  CHECK(memory_stats().bytes_in_use == before.bytes_in_use);
  if (alloc::caching()) {
    Tensor again = ones({1000});
    CHECK(memory_stats().from_cache == before.from_cache + 1);
  }
  empty_cache();
}

TEST_CASE("allocator: the cap on cached bytes holds; above it blocks go back to the system") {
  if (!alloc::caching()) return;
  empty_cache();
  const std::size_t n = 300000, size = alloc::class_size(n);  // mmap'ed
  alloc::set_cache_limit(size + size / 2);
  std::vector<void*> blocks;
  for (int i = 0; i < 4; ++i) blocks.push_back(alloc::allocate(n));
  for (void* p : blocks) {
    REQUIRE(p);
    alloc::release(p, n);
  }
  CHECK(memory_stats().bytes_cached == size);  // one fits under the cap, three were freed
  alloc::set_cache_limit(0);
  void* p = alloc::allocate(n);
  alloc::release(p, n);
  CHECK(memory_stats().bytes_cached == 0);
  alloc::set_cache_limit(default_cap());
  empty_cache();
  CHECK(memory_stats().bytes_cached == 0);
}

TEST_CASE("allocator: empty_cache returns every cached block, this thread's, other threads' and the pool's") {
  if (!alloc::caching()) return;
  const std::vector<std::size_t> sizes = {100, 1000, 5000, 70000, 300000, 5000000, 40000000};
  for (std::size_t n : sizes) alloc::release(alloc::allocate(n), n);
  CHECK(memory_stats().bytes_cached > 0);
  // Another thread, still alive, holds blocks in its cache.
  std::mutex mutex;
  std::condition_variable wake;
  bool filled = false, emptied = false;
  std::thread other([&] {
    for (std::size_t n : sizes) alloc::release(alloc::allocate(n + 1), n + 1);
    std::unique_lock lock(mutex);
    filled = true;
    wake.notify_all();
    wake.wait(lock, [&] { return emptied; });
  });
  {
    std::unique_lock lock(mutex);
    wake.wait(lock, [&] { return filled; });
  }
  empty_cache();
  CHECK(memory_stats().bytes_cached == 0);
  {
    std::lock_guard lock(mutex);
    emptied = true;
  }
  wake.notify_all();
  other.join();
  CHECK(memory_stats().bytes_cached == 0);
}

TEST_CASE("allocator: a block freed on another thread is reused after that thread ends") {
  if (!alloc::caching()) return;
  empty_cache();
  const std::size_t n = 50000;
  void* p = alloc::allocate(n);
  const MemoryStats before = memory_stats();
  std::thread([&] { alloc::release(p, n); }).join();  // into that thread's cache, then the pool
  CHECK(memory_stats().bytes_cached == alloc::class_size(n));
  void* q = alloc::allocate(n);
  CHECK(q == p);
  CHECK(memory_stats().from_cache == before.from_cache + 1);
  alloc::release(q, n);
  empty_cache();
}

TEST_CASE(
    "allocator: many threads allocating and freeing, blocks crossing threads, with empty_cache between") {
  const MemoryStats before = memory_stats();
  std::mutex mutex;
  struct Block {
    unsigned char* p;
    std::size_t n;
    unsigned char mark;
  };
  std::vector<Block> shared;  // blocks in use, freed by whichever thread draws them
  auto worker = [&](unsigned seed) {
    std::uint64_t state = seed * 2654435761u + 1;
    auto next = [&] { return state = state * 6364136223846793005u + 1442695040888963407u, state >> 33; };
    for (int i = 0; i < 3000; ++i) {
      const std::size_t n = std::size_t{1} << (next() % 21);  // 1 B .. 1 MiB
      auto* p = static_cast<unsigned char*>(alloc::allocate(n));
      CHECK(p != nullptr);  // no REQUIRE off the main thread: it throws
      if (!p) continue;
      CHECK(aligned(p));
      const auto mark = static_cast<unsigned char>(seed * 31 + i);
      std::memset(p, mark, n);
      Block freed{nullptr, 0, 0};
      {
        std::lock_guard lock(mutex);
        shared.push_back({p, n, mark});
        if (shared.size() > 16) {
          const std::size_t k = next() % shared.size();
          freed = shared[k];
          shared[k] = shared.back();
          shared.pop_back();
        }
      }
      if (freed.p) {
        CHECK((freed.p[0] == freed.mark && freed.p[freed.n - 1] == freed.mark));  // nobody else wrote there
        alloc::release(freed.p, freed.n);
      }
      if (seed == 0 && i % 500 == 0) empty_cache();
    }
  };
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 8; ++t) threads.emplace_back(worker, t);
  for (auto& t : threads) t.join();
  for (const Block& b : shared) alloc::release(b.p, b.n);
  CHECK(memory_stats().bytes_in_use == before.bytes_in_use);
  empty_cache();
  CHECK(memory_stats().bytes_cached == 0);
}

TEST_CASE("allocator: zero-size and huge requests") {
  void* p = alloc::allocate(0);
  REQUIRE(p);
  CHECK(aligned(p));
  alloc::release(p, 0);
  CHECK(alloc::allocate(alloc::max_request + 1) == nullptr);
  CHECK(alloc::allocate(std::numeric_limits<std::size_t>::max()) == nullptr);
  // Through a tensor, a size the system cannot give is OutOfMemoryError (the cache emptied first).
  const MemoryStats before = memory_stats();
  CHECK_THROWS_AS(empty({std::int64_t{1} << 38}), OutOfMemoryError);  // 1 TiB
  CHECK(memory_stats().bytes_in_use == before.bytes_in_use);
}

TEST_CASE("TAPEGRAD_CACHE_BYTES: a bad value is an error, not silence") {
  CHECK(alloc::cache_bytes_from_environment(nullptr) == std::size_t{1} << 30);
  CHECK(alloc::cache_bytes_from_environment("") == std::size_t{1} << 30);
  CHECK(alloc::cache_bytes_from_environment("0") == 0);
  CHECK(alloc::cache_bytes_from_environment("268435456") == std::size_t{1} << 28);
  for (const char* bad : {"-1", "1G", " 5", "5 ", "abc", "1e9", "99999999999999999999999"}) {
    CAPTURE(bad);
    CHECK(test::message_of<ValueError>([&] { alloc::cache_bytes_from_environment(bad); }) ==
          std::string(
              "TAPEGRAD_CACHE_BYTES: the environment variable must be a whole number of bytes >= 0, got \"") +
              bad + "\"");
  }
}
