// Note [Small-object pool]: tensors and their storages are allocated through a per-thread free list
// of fixed-size blocks. A training step makes and frees thousands of small tensors in waves (the
// forward, then the backward); malloc's per-thread cache holds only a few blocks per size, so most
// of those went through its slow path. Blocks freed on another thread go to that thread's list;
// every list returns its blocks to the heap when its thread ends, and keeps at most 16 MB meanwhile.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

#include "internal.hpp"

namespace tapegrad::detail {

class BlockPool {
 public:
  static constexpr std::size_t block_bytes = 256;
  static constexpr std::size_t block_align = 64;
  static constexpr std::size_t max_free = 65536;  // at most 16 MB kept per thread

  static BlockPool& local() {
    TAPEGRAD_FAST_TLS thread_local BlockPool pool;  // Note [Thread-local model] in internal.hpp
    return pool;
  }
  void* allocate() {
    if (free_.empty()) return ::operator new(block_bytes, std::align_val_t{block_align});
    void* p = free_.back();
    free_.pop_back();
    return p;
  }
  void release(void* p) {
    if (free_.size() < max_free) free_.push_back(p);
    else ::operator delete(p, std::align_val_t{block_align});
  }
  ~BlockPool() {
    for (void* p : free_) ::operator delete(p, std::align_val_t{block_align});
  }

 private:
  std::vector<void*> free_;
};

// A std::allocator-compatible front for allocate_shared: one object per block when it fits.
template <class T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() = default;
  template <class U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}  // NOLINT
  static constexpr bool fits(std::size_t n) {
#ifdef __SANITIZE_ADDRESS__
    (void)n;
    return false;  // under AddressSanitizer every block comes from the heap, so use-after-free is caught
#else
    return n * sizeof(T) <= BlockPool::block_bytes && alignof(T) <= BlockPool::block_align;
#endif
  }
  T* allocate(std::size_t n) {
    if (fits(n)) return static_cast<T*>(BlockPool::local().allocate());
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{alignof(T)}));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (fits(n)) BlockPool::local().release(p);
    else ::operator delete(p, std::align_val_t{alignof(T)});
  }
  template <class U>
  bool operator==(const PoolAllocator<U>&) const noexcept { return true; }
};

}  // namespace tapegrad::detail
