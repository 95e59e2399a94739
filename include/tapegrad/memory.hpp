// Tensor buffer memory: what the caching allocator holds (Note [Caching allocator] in src/allocator.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tapegrad {

struct MemoryStats {
  std::size_t bytes_in_use = 0;  // tensor buffers alive now, in bytes (rounded up to their size class)
  std::size_t bytes_cached = 0;  // freed buffers kept for reuse, in all threads' caches and the pool
  std::size_t peak_bytes_in_use = 0;
  std::uint64_t bytes_allocated = 0;  // total handed out since the process started
  std::uint64_t from_cache = 0;       // allocations served from a cache
  std::uint64_t from_os = 0;          // allocations that went to the operating system (or the heap)
};
// Counters of the tensor buffer allocator, for the whole process. Buffers of at most 64 bytes live
// inside their tensor and are not counted.
MemoryStats memory_stats();

// Returns every cached buffer, of every thread's cache and the pool, to the operating system; buffers
// in use are untouched. A thread's cache busy at that moment is waited for (a few instructions).
void empty_cache();

}  // namespace tapegrad
