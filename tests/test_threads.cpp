// Leaf gradients on threads (Note [Leaf gradients] in src/leaf_grad.cpp, Note [Isolated regions] in
// src/parallel.hpp): sharded data-parallel training is bitwise deterministic, user TBB code around
// backward cannot nest one backward in another, .grad() may be read while another thread adds into it,
// and a leaf's own .grad() buffer is added into in place. `tools/check --tsan` runs the "threads:" cases
// under ThreadSanitizer (not the "isolation:" one: TBB is invisible to TSan, Note [TSan and TBB]).
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <atomic>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "helpers.hpp"

using namespace tapegrad;

namespace {

// A two-layer tanh network on one batch of float32 data, trained by SGD on `shards` equal row
// shards; each shard's loss is its part of the batch mean, so the shard gradients sum to the batch's.
struct Problem {
  static constexpr std::int64_t batch = 32, inputs = 8, hidden = 16, outputs = 4;
  static constexpr int shards = 8, steps = 5;
  static constexpr double learning_rate = 0.1;
  Tensor x, y;
  std::vector<Tensor> start;  // w1, b1, w2, b2

  Problem() {
    Generator gen(7);
    x = uniform({batch, inputs}, -1.0, 1.0, float32, &gen);
    y = uniform({batch, outputs}, -1.0, 1.0, float32, &gen);
    for (Shape shape : {Shape{inputs, hidden}, Shape{hidden}, Shape{hidden, outputs}, Shape{outputs}})
      start.push_back(uniform(shape, -0.5, 0.5, float32, &gen));
  }

  std::vector<Tensor> fresh_parameters() const {
    std::vector<Tensor> p;
    for (const Tensor& s : start) p.push_back(s.clone().requires_grad_());
    return p;
  }

  // Loss of rows [begin, end), scaled by 1 / batch.
  Tensor loss(const std::vector<Tensor>& p, std::int64_t begin, std::int64_t end) const {
    Tensor xs = narrow(x, 0, begin, end - begin), ys = narrow(y, 0, begin, end - begin);
    Tensor out = matmul(tanh(matmul(xs, p[0]) + p[1]), p[2]) + p[3];
    Tensor diff = out - ys;
    return sum(diff * diff) * (1.0 / batch);
  }
  Tensor shard_loss(const std::vector<Tensor>& p, int s) const {
    const std::int64_t rows = batch / shards;
    return loss(p, s * rows, (s + 1) * rows);
  }

  static void sgd_step(std::vector<Tensor>& p) {
    NoGradGuard no_grad;
    for (Tensor& t : p) {
      t.add_(t.grad(), -learning_rate);
      t.zero_grad();
    }
  }
};

std::vector<std::vector<float>> values(const std::vector<Tensor>& p) {
  std::vector<std::vector<float>> out;
  for (const Tensor& t : p) out.push_back(t.to_vector<float>());
  return out;
}

// Bitwise comparison (== on floats would call -0.0 and 0.0 equal).
bool same_bits(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].size() != b[i].size() || std::memcmp(a[i].data(), b[i].data(), a[i].size() * sizeof(float)) != 0)
      return false;
  return true;
}

// Trains with `workers` threads; worker w runs shards w, w + workers, ... under a ShardGuard.
std::vector<std::vector<float>> train_sharded(const Problem& problem, int workers) {
  std::vector<Tensor> p = problem.fresh_parameters();
  GradShards shards(p, Problem::shards);
  for (int step = 0; step < Problem::steps; ++step) {
    std::vector<std::thread> threads;
    std::mutex error_mutex;
    std::exception_ptr error;
    for (int w = 0; w < workers; ++w)
      threads.emplace_back([&, w] {
        try {
          for (int s = w; s < Problem::shards; s += workers) {
            ShardGuard guard(shards, s);
            problem.shard_loss(p, s).backward();
          }
        } catch (...) {
          std::lock_guard lock(error_mutex);
          error = std::current_exception();
        }
      });
    for (auto& t : threads) t.join();
    if (error) std::rethrow_exception(error);
    shards.reduce();
    Problem::sgd_step(p);
  }
  return values(p);
}

// The same shards one after another on this thread, plain backward (gradient accumulation).
std::vector<std::vector<float>> train_serial(const Problem& problem) {
  std::vector<Tensor> p = problem.fresh_parameters();
  for (int step = 0; step < Problem::steps; ++step) {
    for (int s = 0; s < Problem::shards; ++s) problem.shard_loss(p, s).backward();
    Problem::sgd_step(p);
  }
  return values(p);
}

// One backward over the whole batch.
std::vector<std::vector<float>> train_full_batch(const Problem& problem) {
  std::vector<Tensor> p = problem.fresh_parameters();
  for (int step = 0; step < Problem::steps; ++step) {
    problem.loss(p, 0, Problem::batch).backward();
    Problem::sgd_step(p);
  }
  return values(p);
}

struct ThreadCount {
  int saved = get_num_threads();
  explicit ThreadCount(int n) { set_num_threads(n); }
  ~ThreadCount() { set_num_threads(saved); }
};

}  // namespace

TEST_CASE(
    "threads: shared parameters trained by sharded threads are bitwise the same for 1-8 threads, 100 runs") {
  const Problem problem;
  const auto serial = train_serial(problem);
  int mismatches = 0;
  for (int run = 0; run < 100; ++run) {
    const int workers = 1 << (run % 4);  // 1, 2, 4, 8
    if (!same_bits(train_sharded(problem, workers), serial)) ++mismatches;
  }
  CHECK(mismatches == 0);

  // And the sharded sum is the full batch's gradient, to float32 rounding.
  const auto full = train_full_batch(problem);
  for (std::size_t i = 0; i < full.size(); ++i)
    for (std::size_t j = 0; j < full[i].size(); ++j)
      CHECK(serial[i][j] == doctest::Approx(full[i][j]).epsilon(1e-5));
}

// Note [Isolated regions]: a user's tbb::parallel_for over shards (in an arena of 8 threads, more than
// the cores, so that threads often wait), each running forward and backward whose kernels go parallel.
// Without isolation a thread waiting in a kernel's region picks up another shard's task on the same
// thread and tape: seen here as a shard body entered while one is running on the thread (measured: 3-9
// times in 20 rounds), and sometimes as a GraphError (a backward inside a backward).
namespace {
thread_local int shard_depth = 0;
constexpr int isolation_rounds = 20;
}  // namespace

TEST_CASE(
    "isolation: backward inside a user's tbb::parallel_for never runs another shard's task on its thread") {
  ThreadCount threads(8);
  constexpr int shards = 64;
  constexpr std::int64_t n = 512;  // 262144 elements per op: 16 chunks
  Generator gen(11);
  std::vector<Tensor> xs;
  for (int s = 0; s < shards; ++s) xs.push_back(uniform({n, n}, -1.0, 1.0, float32, &gen));
  Tensor w = uniform({n, n}, -1.0, 1.0, float32, &gen).requires_grad_();

  for (int s = 0; s < shards; ++s) sum(tanh(xs[static_cast<std::size_t>(s)] * w)).backward();
  const std::vector<float> serial = w.grad().to_vector<float>();
  w.zero_grad();

  std::atomic<int> nested = 0;
  tbb::task_arena arena(8);
  for (int round = 0; round < isolation_rounds; ++round) {
    GradShards grads({w}, shards);
    std::string error;
    try {
      arena.execute([&] {
        tbb::parallel_for(0, shards, [&](int s) {
          struct Depth {
            Depth() { shard_depth++; }
            ~Depth() { shard_depth--; }
          } depth;
          if (shard_depth > 1) ++nested;
          ShardGuard guard(grads, s);
          sum(tanh(xs[static_cast<std::size_t>(s)] * w)).backward();
        });
      });
    } catch (const std::exception& e) {
      error = e.what();
    }
    REQUIRE(error == "");
    grads.reduce();
    const std::vector<float> sharded = w.grad().to_vector<float>();
    CHECK(std::memcmp(sharded.data(), serial.data(), serial.size() * sizeof(float)) == 0);
    w.zero_grad();
  }
  CHECK(nested == 0);
}

// Note [Leaf gradients], rule 1: .grad() is read, zeroed and replaced while backward on another thread
// adds into it. A gradient read is a consistent snapshot (every element the same multiple of 1).
TEST_CASE("threads: grad, zero_grad and set_grad run while another thread's backward adds into the leaf") {
  ThreadCount threads(2);
  constexpr std::int64_t n = 1 << 16;  // the in-place add goes parallel
  Tensor w = zeros({n}).requires_grad_();
  std::atomic<bool> done = false;
  std::thread trainer([&] {
    for (int i = 0; i < 200; ++i) sum(w).backward();  // .grad() += 1 each time
    done = true;
  });
  int reads = 0, torn = 0;
  for (int i = 0; !done; ++i) {
    Tensor g = w.grad();
    if (g.defined()) {
      const std::vector<float> v = g.to_vector<float>();
      for (float e : v)
        if (e != v[0]) {
          ++torn;
          break;
        }
      ++reads;
    }
    switch (i % 3) {
      case 0:
        w.zero_grad(false);
        break;
      case 1:
        w.zero_grad();
        break;
      default:
        w.set_grad(ones({n}));
        break;
    }
  }
  trainer.join();
  CHECK(torn == 0);
  MESSAGE(reads << " reads");
}

TEST_CASE("threads: a shard is owned by one ShardGuard at a time, and reduce waits for none") {
  Tensor w = zeros({3}).requires_grad_();
  GradShards shards({w}, 2);
  CHECK(shards.size() == 2);
  ShardGuard guard(shards, 0);
  std::string error;
  std::thread([&] {
    try {
      ShardGuard second(shards, 0);
    } catch (const GraphError& e) {
      error = e.what();
    }
  }).join();
  CHECK(error.find(
            "ShardGuard: a shard is used by one ShardGuard (or reduce) at a time, got shard 0 in use") == 0);
  CHECK_THROWS_AS(shards.reduce(), GraphError);
}

TEST_CASE("leaf grad: shards partial gradients until reduce; leaves not listed accumulate directly") {
  Tensor w = ones({2}).requires_grad_(), v = ones({2}).requires_grad_();
  GradShards shards({w}, 2);
  {
    ShardGuard guard(shards, 1);
    sum(w * 3.0 + v * 5.0).backward();
  }
  {
    ShardGuard guard(shards, 0);
    sum(w * 2.0).backward();
  }
  CHECK_FALSE(w.grad().defined());
  test::check_close(v.grad(), {5.0, 5.0});
  shards.reduce();
  test::check_close(w.grad(), {5.0, 5.0});
  shards.reduce();  // nothing left to add
  test::check_close(w.grad(), {5.0, 5.0});
}

TEST_CASE("leaf grad: a later backward adds into the leaf's own .grad() buffer in place") {
  Tensor w = ones({1000}).requires_grad_();
  sum(w * 2.0).backward();
  const float* buffer = w.grad().data<float>();
  sum(w * 3.0).backward();
  CHECK(w.grad().data<float>() == buffer);  // was a new buffer every backward
  test::check_close(w.grad(), std::vector<double>(1000, 5.0));
}

TEST_CASE("leaf grad: a .grad() the user holds, or a view of it, never changes under them") {
  Tensor w = ones({4}).requires_grad_();
  sum(w).backward();
  Tensor held = w.grad();
  sum(w).backward();
  test::check_close(held, {1, 1, 1, 1});
  test::check_close(w.grad(), {2, 2, 2, 2});

  Tensor view = w.grad().reshape({2, 2});
  sum(w).backward();
  test::check_close(view, {2, 2, 2, 2});
  test::check_close(w.grad(), {3, 3, 3, 3});

  held = w.grad();
  w.zero_grad(false);
  test::check_close(held, {3, 3, 3, 3});
  test::check_close(w.grad(), {0, 0, 0, 0});
}

TEST_CASE("leaf grad: zero_grad sets to none by default, zero_grad(false) zeroes the buffer in place") {
  Tensor w = ones({3}).requires_grad_();
  w.zero_grad(false);
  CHECK_FALSE(w.grad().defined());  // as PyTorch: nothing to zero
  sum(w * 2.0).backward();
  const float* buffer = w.grad().data<float>();
  w.zero_grad(false);
  CHECK(w.grad().data<float>() == buffer);
  test::check_close(w.grad(), {0, 0, 0});
  sum(w).backward();
  CHECK(w.grad().data<float>() == buffer);
  test::check_close(w.grad(), {1, 1, 1});
  w.zero_grad();
  CHECK_FALSE(w.grad().defined());
}
