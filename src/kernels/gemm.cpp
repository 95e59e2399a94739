// The GEMM driver: cache blocking, packing and threads, compiled once for the baseline. The SIMD
// pieces come per instruction set through GemmKernels (gemm_kernels.hpp) in the SimdTable.
#include "kernels/gemm.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <new>

#include "kernels/gemm_kernels.hpp"
#include "kernels/isa.hpp"
#include "kernels/simd_table.hpp"
#include "parallel.hpp"

namespace tapegrad::kernels {
namespace {

// Note [GEMM blocking]: sizes for Zen 3 (32 KB L1d, 512 KB L2 per core, 32 MB shared L3).
// - kc: depth of one pass. A B panel (kc x nr = 384 x 16 floats = 24 KB) stays in L1 while the
//   A panels of a block stream past it; 256 and 512 measured within noise of 384. k is split
//   into equal passes of at most kc.
// - mc: rows of A per block; mc x kc (~220 KB of floats) stays in L2 while the B panels of the
//   task pass by. m is split into equal blocks of at most mc, rounded up to mr.
// - nc: the columns of one task, a group of B panels. No cache sets it: each B panel is reused
//   mc / mr times from L1, so fetching it from L3 again for every block of A costs little.
//   Columns are split only as far as needed for at least min_tasks tasks.
// The k split depends on k alone, so every element of C is summed in the same order whatever
// the thread count or the task that computes it (Note [Deterministic chunking]).
constexpr std::int64_t kc_max = 384;
constexpr std::int64_t mc_max = 144;
// Tasks per round to aim for, so that a few threads share the work evenly.
constexpr std::int64_t min_tasks = 16;
// Up to this many multiply-adds the product skips packing (Note [Small GEMM] in gemm_impl.hpp).
constexpr std::int64_t small_size = 4096;
// Panels packed by one work item.
constexpr std::int64_t pack_group = 8;
// Elements packed per round at most (2 MB of floats): packed panels are used while they are still
// in cache rather than written out to memory and read back.
constexpr std::int64_t max_pack_size = std::int64_t{1} << 19;
// Rows of A (or columns of B) times kc packed for one pass at most: 16 MB of floats.
constexpr std::int64_t max_slice_size = std::int64_t{1} << 22;

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
  const bool small = m * n <= small_size && m * n * k <= small_size;  // (m * n * k alone may overflow)
  if (small && kernels.small_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return;
  const std::int64_t mr = kernels.mr;
  const std::int64_t nr = kernels.nr;

  // Note [GEMM blocking]: k in equal passes, m in equal blocks, n in groups of panels.
  const std::int64_t passes = ceil_div(k, kc_max);
  const std::int64_t kc = ceil_div(k, passes);

  // A pass packs all rows of A and all columns of B; very tall or very wide problems go in slices
  // so that this stays bounded. Slicing depends on the sizes only and leaves the sum behind each
  // element of C as it was.
  const std::int64_t max_slice = std::max(mc_max, max_slice_size / kc / mc_max * mc_max);
  if (m > max_slice || n > max_slice) {
    for (std::int64_t i = 0; i < m; i += max_slice) {
      for (std::int64_t j = 0; j < n; j += max_slice) {
        const T* a_slice = ta == Trans::no ? a + i * lda : a + i;
        const T* b_slice = tb == Trans::no ? b + j : b + j * ldb;
        gemm_packed(kernels, ta, tb, std::min(max_slice, m - i), std::min(max_slice, n - j), k, alpha,
                    a_slice, lda, b_slice, ldb, beta, c + i * ldc + j, ldc);
      }
    }
    return;
  }
  const std::int64_t m_blocks = ceil_div(m, mc_max);
  const std::int64_t mc = round_up(ceil_div(m, m_blocks), mr);
  const std::int64_t a_panels = ceil_div(m, mr);
  const std::int64_t b_panels = ceil_div(n, nr);
  // Rounding the group size down rather than up gives more, evener tasks: 18 panels make 18
  // tasks rather than 9, which two threads split 9 + 9 instead of 5 + 4.
  const std::int64_t panels_per_task = std::max<std::int64_t>(1, b_panels / ceil_div(min_tasks, m_blocks));
  const std::int64_t column_tasks = ceil_div(b_panels, panels_per_task);

  // Note [Pack first, then multiply]: A and B are packed for a round of passes (all of k unless
  // that takes more than max_pack_size), then every task runs through the passes of the round over
  // its block of C. That is two parallel regions per round, and the passes of a round need no
  // synchronisation between them: a task's block of C only ever depends on its own earlier passes.
  const std::int64_t align = 64 / static_cast<std::int64_t>(sizeof(T));
  const std::int64_t a_pass_size = round_up(a_panels * mr * kc, align);
  const std::int64_t b_pass_size = round_up(b_panels * nr * kc, align);
  const std::int64_t pass_size = a_pass_size + b_pass_size;
  const std::int64_t passes_per_round = std::clamp<std::int64_t>(max_pack_size / pass_size, 1, passes);
  PackBuffer<T> buffer(static_cast<std::size_t>(passes_per_round * pass_size));

  auto a_at = [&](std::int64_t i, std::int64_t p) {
    return ta == Trans::no ? a + i * lda + p : a + p * lda + i;
  };
  auto b_at = [&](std::int64_t p, std::int64_t j) {
    return tb == Trans::no ? b + p * ldb + j : b + j * ldb + p;
  };

  for (std::int64_t first = 0; first < passes; first += passes_per_round) {
    const std::int64_t round_passes = std::min(passes_per_round, passes - first);
    auto packed_a = [&](std::int64_t pass) { return buffer.data() + (pass - first) * pass_size; };
    auto packed_b = [&](std::int64_t pass) { return packed_a(pass) + a_pass_size; };
    auto depth_of = [&](std::int64_t pass) { return std::min(kc, k - pass * kc); };

    // Packing work items: groups of pack_group panels of A, then of B, for every pass of the round.
    const std::int64_t a_groups = ceil_div(a_panels, pack_group);
    const std::int64_t groups = a_groups + ceil_div(b_panels, pack_group);
    auto pack = [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t item = begin; item < end; ++item) {
        const std::int64_t pass = first + item / groups;
        const std::int64_t group = item % groups;
        const std::int64_t p0 = pass * kc;
        const std::int64_t depth = depth_of(pass);
        if (group < a_groups) {
          const std::int64_t i = group * pack_group * mr;
          kernels.pack_a(ta, a_at(i, p0), lda, std::min(pack_group * mr, m - i), depth,
                         packed_a(pass) + i * depth);
        } else {
          const std::int64_t j = (group - a_groups) * pack_group * nr;
          kernels.pack_b(tb, b_at(p0, j), ldb, depth, std::min(pack_group * nr, n - j),
                         packed_b(pass) + j * depth);
        }
      }
    };
    // std::ref: a std::function holding a reference wrapper does not allocate.
    parallel::for_chunks(round_passes * groups, 1, std::ref(pack),
                         std::max<std::int64_t>(1, pack_group * mr * kc / 4));

    auto multiply = [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t task = begin; task < end; ++task) {
        const std::int64_t i0 = task / column_tasks * mc;
        const std::int64_t j0 = task % column_tasks * panels_per_task * nr;
        if (i0 >= m) continue;
        const std::int64_t rows = std::min(mc, m - i0);
        const std::int64_t cols = std::min(panels_per_task * nr, n - j0);
        for (std::int64_t pass = first; pass < first + round_passes; ++pass) {
          const std::int64_t depth = depth_of(pass);
          const T beta_pass = pass == 0 ? beta : T(1);  // later passes add to what the first wrote
          kernels.multiply_panels(rows, cols, depth, packed_a(pass) + i0 * depth, packed_b(pass) + j0 * depth,
                                  alpha, beta_pass, c + i0 * ldc + j0, ldc);
        }
      }
    };
    parallel::for_chunks(m_blocks * column_tasks, 1, std::ref(multiply),
                         std::max<std::int64_t>(1, mc * panels_per_task * nr * kc * round_passes / 16));
  }
}

}  // namespace

void gemm(Isa isa, Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
          const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
          std::int64_t ldc) {
  gemm_packed(simd_table(isa).gemm<float>(), ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(Isa isa, Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
          const double* a, std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c,
          std::int64_t ldc) {
  gemm_packed(simd_table(isa).gemm<double>(), ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
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
