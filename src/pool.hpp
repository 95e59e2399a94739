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

class BlockPool : PerThread<BlockPool> {
 public:
  static constexpr std::size_t block_bytes = 256;
  static constexpr std::size_t block_align = 64;
  static constexpr std::size_t max_free = 65536;  // at most 16 MB kept per thread

  // A block of block_bytes, from this thread's list when it has one.
  static void* allocate() {
    if (state() == alive) {
      auto& free = local().free_;
      if (!free.empty()) {
        void* p = free.back();
        free.pop_back();
        return p;
      }
    } else if (state() == unborn) {
      local();  // constructs the list; it is used from the next call on
    }
    return ::operator new(block_bytes, std::align_val_t{block_align});
  }
  // Gives a block back: to this thread's list while it lives, else to the heap. Tensors can die
  // after the list during thread exit (the tape, another thread_local, may outlive it).
  static void release(void* p) {
    if (state() == alive && local().free_.size() < max_free) local().free_.push_back(p);
    else ::operator delete(p, std::align_val_t{block_align});
  }

 private:
  friend struct PerThread<BlockPool>;
  BlockPool() { state() = alive; }
  ~BlockPool() {
    state() = dead;
    for (void* p : free_) ::operator delete(p, std::align_val_t{block_align});
  }

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
    if (fits(n)) return static_cast<T*>(BlockPool::allocate());
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{alignof(T)}));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (fits(n)) BlockPool::release(p);
    else ::operator delete(p, std::align_val_t{alignof(T)});
  }
  template <class U>
  bool operator==(const PoolAllocator<U>&) const noexcept { return true; }
};

}  // namespace tapegrad::detail
