// The GEMM driver: cache blocking, packing and threads, compiled once for the baseline. The SIMD
// pieces come per instruction set through GemmKernels (gemm_kernels.hpp).
#include "kernels/gemm.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "kernels/gemm_kernels.hpp"
#include "kernels/isa.hpp"
#include "parallel.hpp"

namespace tapegrad::kernels {
namespace {

// Note [GEMM blocking]: sizes for Zen 3 (32 KB L1d, 512 KB L2 per core, 32 MB shared L3).
// - kc: depth of one pass; a B panel (kc x nr = 256 x 16 floats = 16 KB) stays in L1 while the
//   A panels of a block stream through. k is split into equal passes of at most kc.
// - mc: rows of A per block; mc x kc (~140 KB for floats) stays in L2 while every B panel of the
//   task passes. m is split into equal blocks of at most mc, rounded up to mr.
// - nc: columns of B packed at once, which only bounds the packing buffer: each B panel is
//   reused mc times from L1, so fetching it from L3 (or memory) again for every A block is cheap.
// The k split depends on k alone, so every element of C is summed in the same order whatever
// the thread count or the block a thread gets (Note [Deterministic chunking]).
constexpr std::int64_t kc_max = 256;
constexpr std::int64_t mc_max = 144;
constexpr std::int64_t nc_max = 4096;
// Aim for at least this many tasks per pass, so that a few threads share the work evenly.
constexpr std::int64_t min_tasks = 16;

std::int64_t ceil_div(std::int64_t x, std::int64_t y) { return (x + y - 1) / y; }
std::int64_t round_up(std::int64_t x, std::int64_t multiple) { return ceil_div(x, multiple) * multiple; }

// Packing buffers are kept per calling thread and reused: allocating megabytes for every call costs
// page faults. A second call on the same thread while the first is still running (TBB lets a thread
// waiting for its tasks run other tasks, which may call gemm) gets a buffer of its own.
template <class T>
class PackBuffer {
 public:
  explicit PackBuffer(std::size_t size) {
    Cache& cache = thread_cache();
    if (cache.busy) {
      data_ = allocate(size);
      owned_ = true;
      return;
    }
    if (cache.size < size) {
      std::free(cache.data);
      cache.data = nullptr;
      cache.size = 0;
      cache.data = allocate(size);
      cache.size = size;
    }
    cache.busy = true;
    data_ = cache.data;
  }
  ~PackBuffer() {
    if (owned_) {
      std::free(data_);
    } else {
      thread_cache().busy = false;
    }
  }
  PackBuffer(const PackBuffer&) = delete;
  PackBuffer& operator=(const PackBuffer&) = delete;

  T* data() const { return data_; }

 private:
  struct Cache {
    T* data = nullptr;
    std::size_t size = 0;
    bool busy = false;
    ~Cache() { std::free(data); }
  };
  static Cache& thread_cache() {
    thread_local Cache cache;
    return cache;
  }
  static T* allocate(std::size_t size) {
    constexpr std::size_t alignment = 64;
    const std::size_t bytes = (size * sizeof(T) + alignment - 1) / alignment * alignment;
    void* memory = std::aligned_alloc(alignment, bytes);
    if (memory == nullptr) throw std::bad_alloc();
    return static_cast<T*>(memory);
  }

  T* data_ = nullptr;
  bool owned_ = false;
};

// C = beta * C, where beta == 0 writes zeros without reading C.
template <class T>
void scale(std::int64_t m, std::int64_t n, T beta, T* c, std::int64_t ldc) {
  for (std::int64_t i = 0; i < m; ++i) {
    T* row = c + i * ldc;
    if (beta == T(0)) {
      std::fill(row, row + n, T(0));
    } else if (beta != T(1)) {
      for (std::int64_t j = 0; j < n; ++j) row[j] *= beta;
    }
  }
}

template <class T>
void gemm_packed(const GemmKernels<T>& kernels, Trans ta, Trans tb, std::int64_t m, std::int64_t n,
                 std::int64_t k, T alpha, const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta,
                 T* c, std::int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == T(0)) {
    scale(m, n, beta, c, ldc);
    return;
  }
  const std::int64_t mr = kernels.mr;
  const std::int64_t nr = kernels.nr;

  const std::int64_t k_passes = ceil_div(k, kc_max);
  const std::int64_t kc = ceil_div(k, k_passes);
  const std::int64_t m_blocks = ceil_div(m, mc_max);
  const std::int64_t mc = round_up(ceil_div(m, m_blocks), mr);
  const std::int64_t nc = std::min(round_up(n, nr), round_up(nc_max, nr));
  const std::int64_t a_panels = ceil_div(m, mr);

  // With few row blocks, each pass is also split by columns; the row blocks are then packed once,
  // up front, and shared. Otherwise a task packs its own block of A just before using it.
  const std::int64_t column_splits = ceil_div(min_tasks, m_blocks);
  const bool share_a = column_splits > 1;

  // B panels are read with aligned loads: start them on a cache line.
  const std::int64_t a_size = round_up(a_panels * mr * kc, 64 / sizeof(T));
  PackBuffer<T> buffer(static_cast<std::size_t>(a_size + nc * kc));
  T* packed_a = buffer.data();
  T* packed_b = packed_a + a_size;

  auto a_at = [&](std::int64_t i, std::int64_t p) { return ta == Trans::no ? a + i * lda + p : a + p * lda + i; };
  auto b_at = [&](std::int64_t p, std::int64_t j) { return tb == Trans::no ? b + p * ldb + j : b + j * ldb + p; };

  for (std::int64_t p0 = 0; p0 < k; p0 += kc) {
    const std::int64_t depth = std::min(kc, k - p0);
    const T beta_pass = p0 == 0 ? beta : T(1);  // later passes add to what the first wrote
    auto pack_a_panel = [&](std::int64_t panel) {
      const std::int64_t i = panel * mr;
      kernels.pack_a(ta, a_at(i, p0), lda, std::min(mr, m - i), depth, packed_a + panel * mr * depth);
    };

    for (std::int64_t j0 = 0; j0 < n; j0 += nc) {
      const std::int64_t cols = std::min(nc, n - j0);
      const std::int64_t b_panels = ceil_div(cols, nr);
      const std::int64_t a_to_pack = share_a && j0 == 0 ? a_panels : 0;
      parallel::for_chunks(
          a_to_pack + b_panels, 4,
          [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t panel = begin; panel < end; ++panel) {
              if (panel < a_to_pack) {
                pack_a_panel(panel);
              } else {
                const std::int64_t j = (panel - a_to_pack) * nr;
                kernels.pack_b(tb, b_at(p0, j0 + j), ldb, depth, std::min(nr, cols - j),
                               packed_b + (j / nr) * nr * depth);
              }
            }
          },
          std::max<std::int64_t>(1, mr * depth / 8));

      const std::int64_t panels_per_task = ceil_div(b_panels, std::min(b_panels, column_splits));
      const std::int64_t tasks_per_block = ceil_div(b_panels, panels_per_task);
      const bool pack_a_in_task = !share_a && j0 == 0;
      parallel::for_chunks(
          m_blocks * tasks_per_block, 1,
          [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t task = begin; task < end; ++task) {
              const std::int64_t i0 = task / tasks_per_block * mc;
              const std::int64_t rows = std::min(mc, m - i0);
              const std::int64_t j = task % tasks_per_block * panels_per_task * nr;
              if (i0 >= m) continue;
              if (pack_a_in_task) {
                for (std::int64_t panel = i0 / mr; panel < ceil_div(i0 + rows, mr); ++panel) pack_a_panel(panel);
              }
              kernels.multiply_panels(rows, std::min(panels_per_task * nr, cols - j), depth,
                                      packed_a + (i0 / mr) * mr * depth, packed_b + (j / nr) * nr * depth, alpha,
                                      beta_pass, c + i0 * ldc + j0 + j, ldc);
            }
          },
          std::max<std::int64_t>(1, mc * panels_per_task * nr * depth / 16));
    }
  }
}

template <class T>
const GemmKernels<T>& kernels_for(Isa isa) {
  if (isa == Isa::avx2) return avx2::gemm_kernels(std::type_identity<T>{});
  return sse2::gemm_kernels(std::type_identity<T>{});
}

}  // namespace

void gemm(Isa isa, Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
          std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  gemm_packed(kernels_for<float>(isa), ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(Isa isa, Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
          const double* a, std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c,
          std::int64_t ldc) {
  gemm_packed(kernels_for<double>(isa), ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
          std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  gemm(active_isa(), ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const double* a,
          std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc) {
  gemm(active_isa(), ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace tapegrad::kernels
