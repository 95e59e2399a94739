// Note [Caching allocator]: tensor buffers (Storage, over 64 bytes) come from here, not from the heap.
// glibc gives blocks over its mmap threshold back to the kernel when they are freed, so a training
// step that frees and remakes the same megabyte buffers every iteration paid a page fault per 4 KiB
// page touched (12-17 us each: 2,062 faults, 24-29 ms, for an MLP step that computes in ~1 ms).
// - Size classes: a request is rounded up to a multiple of 64 bytes up to 1 KiB (small tensors are
//   many; the waste is under 64 bytes), and above that to a quarter-power-of-two step (1280, 1536,
//   1792, 2048, 2560, ...): at most 25% waste, four classes per doubling, so buffers whose size varies
//   a little (the last, short batch) still share a class. The class is a function of the requested
//   size alone, so a block needs no header: Storage gives its size back on release. Blocks are
//   64-byte aligned (whole cache lines, aligned SIMD loads of any width).
// - Where blocks come from: classes of 256 KiB and up are mmap'ed and munmap'ed, so giving them back
//   really returns them to the kernel; smaller ones come from the heap (::operator new, aligned).
// - Per-thread caches, a global pool behind them. A freed block goes to the freeing thread's cache
//   (TBB workers free kernel outputs too), up to 64 MiB per thread and 16 MiB per block; beyond that
//   to the global pool, which takes a mutex. An allocation looks in its thread's cache, then in the
//   pool, then asks the kernel. The thread's own path takes no lock: it claims its cache with one
//   uncontended atomic exchange, which only empty_cache() ever contends for (it then falls through to
//   the pool instead of waiting). A thread's cache gives its blocks to the pool when the thread ends;
//   tensors can die after that (the tape, another thread_local, may outlive it, as in
//   Note [Small-object pool] in pool.hpp): their blocks then go straight to the pool.
// - A cap on cached bytes, over all threads: 1 GiB, or TAPEGRAD_CACHE_BYTES (read at the first
//   allocation; a bad value is ValueError there). A block freed while the caches are full goes back
//   to the kernel. empty_cache() returns every cached block; an allocation the kernel refuses empties
//   the cache and retries once before failing (Note [Allocation failures] in shape_check.cpp).
// - TAPEGRAD_CACHE_BYTES=0, and AddressSanitizer builds, bypass all this: buffers come from and go to
//   ::operator new/delete exactly as before the cache, so ASan still sees use-after-free. The counters
//   keep counting.
#pragma once

#include <cstddef>

namespace tapegrad::detail::allocator {

constexpr std::size_t max_request = std::size_t{1} << 40;  // above: refused outright (1 TiB)

// A 64-byte-aligned block of at least `bytes` bytes, or nullptr when the system has no memory for it.
// Throws ValueError when TAPEGRAD_CACHE_BYTES is malformed (at the first call).
void* allocate(std::size_t bytes);
// Gives back a block from allocate(bytes), with the same `bytes`.
void release(void* block, std::size_t bytes) noexcept;

// The size of the class serving `bytes` (bytes <= max_request).
std::size_t class_size(std::size_t bytes);
// Does this process cache (not under ASan, and a nonzero initial cap)?
bool caching();
// TAPEGRAD_CACHE_BYTES: null or empty means the default cap (1 GiB); else a whole number of bytes >= 0.
std::size_t cache_bytes_from_environment(const char* text);
// Changes the cap on cached bytes (for tests); the blocks over it are freed as they come back.
void set_cache_limit(std::size_t bytes);

}  // namespace tapegrad::detail::allocator
