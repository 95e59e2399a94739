// tapegrad's public ops side by side with plain C++ loops on the same number of threads.
//
//   build/bench/bench_ops [Google Benchmark flags]      (tools/bench runs it and joins the results)
//
// Benchmark names are <workload>/<impl>: workload like add_4M_t2 (op, size, thread count), impl
// `ours` (the public op, allocation of its output included: that is what a user pays) or `loop`
// (bench/loops.cpp into a preallocated output, split over the threads by bench::StaticSplit).
// Inputs are made outside the timed loop. Times are wall-clock (UseRealTime), as work runs on
// several threads.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "inputs.hpp"
#include "loops.hpp"
#include "split.hpp"

namespace tg = tapegrad;

namespace {

using bench::input;

constexpr std::int64_t big = std::int64_t{4} << 20;   // 4M floats: 16 MB per array, beyond the caches
constexpr std::int64_t small = std::int64_t{64} << 10;  // 64K floats: 256 KB per array, in L2/L3
constexpr std::int64_t rows = 4096, columns = 1000;
constexpr int tiny_steps = 3333;                        // 3 ops per step, plus the final sum
constexpr std::int64_t tiny_ops = 3 * tiny_steps + 1;  // 10,000
const int thread_counts[] = {1, 2};

std::string size_name(std::int64_t n) {
  return n % (1 << 20) == 0 ? std::to_string(n >> 20) + "M" : std::to_string(n >> 10) + "K";
}


void set_bytes(benchmark::State& state, std::int64_t bytes_per_iteration) {
  state.SetBytesProcessed(state.iterations() * bytes_per_iteration);
}

// --- elementwise

struct UnaryCase {
  const char* name;
  tg::Tensor (*ours)(const tg::Tensor&);
  void (*loop)(const float*, float*, std::int64_t, std::int64_t);
};
const UnaryCase unary_cases[] = {
    {"relu", [](const tg::Tensor& x) { return tg::relu(x); }, bench::loops::relu},
    {"sigmoid", [](const tg::Tensor& x) { return tg::sigmoid(x); }, bench::loops::sigmoid},
    {"tanh", [](const tg::Tensor& x) { return tg::tanh(x); }, bench::loops::tanh},
    {"exp", [](const tg::Tensor& x) { return tg::exp(x); }, bench::loops::exp},
};

struct BinaryCase {
  const char* name;
  tg::Tensor (*ours)(const tg::Tensor&, const tg::Tensor&);
  void (*loop)(const float*, const float*, float*, std::int64_t, std::int64_t);
};
const BinaryCase binary_cases[] = {
    {"add", [](const tg::Tensor& a, const tg::Tensor& b) { return tg::add(a, b); }, bench::loops::add},
    {"mul", [](const tg::Tensor& a, const tg::Tensor& b) { return tg::mul(a, b); }, bench::loops::mul},
};

void unary_ours(benchmark::State& state, UnaryCase op, std::int64_t n, int threads) {
  tg::set_num_threads(threads);
  const tg::Tensor x = input({n}, -2.0, 2.0, 1);
  for (auto _ : state) {
    tg::Tensor y = op.ours(x);
    benchmark::DoNotOptimize(y.data<float>());
  }
  set_bytes(state, 2 * n * 4);
}

void unary_loop(benchmark::State& state, UnaryCase op, std::int64_t n, int threads) {
  const tg::Tensor x = input({n}, -2.0, 2.0, 1);
  tg::Tensor y = tg::empty({n});
  const float* xs = x.data<float>();
  float* ys = y.data<float>();
  bench::StaticSplit split(threads);
  const bench::StaticSplit::Body body = [&](int, std::int64_t begin, std::int64_t end) { op.loop(xs, ys, begin, end); };
  for (auto _ : state) {
    split.run(n, body);
    benchmark::ClobberMemory();
  }
  set_bytes(state, 2 * n * 4);
}

void binary_ours(benchmark::State& state, BinaryCase op, std::int64_t n, int threads) {
  tg::set_num_threads(threads);
  const tg::Tensor a = input({n}, -2.0, 2.0, 1);
  const tg::Tensor b = input({n}, -2.0, 2.0, 2);
  for (auto _ : state) {
    tg::Tensor y = op.ours(a, b);
    benchmark::DoNotOptimize(y.data<float>());
  }
  set_bytes(state, 3 * n * 4);
}

void binary_loop(benchmark::State& state, BinaryCase op, std::int64_t n, int threads) {
  const tg::Tensor a = input({n}, -2.0, 2.0, 1);
  const tg::Tensor b = input({n}, -2.0, 2.0, 2);
  tg::Tensor y = tg::empty({n});
  const float* as = a.data<float>();
  const float* bs = b.data<float>();
  float* ys = y.data<float>();
  bench::StaticSplit split(threads);
  const bench::StaticSplit::Body body = [&](int, std::int64_t begin, std::int64_t end) {
    op.loop(as, bs, ys, begin, end);
  };
  for (auto _ : state) {
    split.run(n, body);
    benchmark::ClobberMemory();
  }
  set_bytes(state, 3 * n * 4);
}

// --- reductions and softmax

void sum_all_ours(benchmark::State& state, int threads) {
  tg::set_num_threads(threads);
  const tg::Tensor x = input({big}, 0.0, 1.0, 3);
  for (auto _ : state) {
    tg::Tensor y = tg::sum(x);
    benchmark::DoNotOptimize(y.data<float>());
  }
  set_bytes(state, big * 4);
}

void sum_all_loop(benchmark::State& state, int threads) {
  const tg::Tensor x = input({big}, 0.0, 1.0, 3);
  const float* xs = x.data<float>();
  struct alignas(64) Partial {
    float value = 0.0f;
  };
  std::vector<Partial> partial(static_cast<std::size_t>(threads));
  bench::StaticSplit split(threads);
  const bench::StaticSplit::Body body = [&](int part, std::int64_t begin, std::int64_t end) {
    partial[static_cast<std::size_t>(part)].value = bench::loops::sum(xs, begin, end);
  };
  for (auto _ : state) {
    for (auto& p : partial) p.value = 0.0f;
    split.run(big, body);
    float total = 0.0f;
    for (const auto& p : partial) total += p.value;
    benchmark::DoNotOptimize(total);
  }
  set_bytes(state, big * 4);
}

void sum_rows_ours(benchmark::State& state, int threads) {
  tg::set_num_threads(threads);
  const tg::Tensor x = input({rows, columns}, -4.0, 4.0, 4);
  for (auto _ : state) {
    tg::Tensor y = tg::sum(x, {1});
    benchmark::DoNotOptimize(y.data<float>());
  }
  set_bytes(state, (rows * columns + rows) * 4);
}

void sum_rows_loop(benchmark::State& state, int threads) {
  const tg::Tensor x = input({rows, columns}, -4.0, 4.0, 4);
  tg::Tensor y = tg::empty({rows});
  const float* xs = x.data<float>();
  float* ys = y.data<float>();
  bench::StaticSplit split(threads);
  const bench::StaticSplit::Body body = [&](int, std::int64_t begin, std::int64_t end) {
    bench::loops::sum_rows(xs, columns, ys, begin, end);
  };
  for (auto _ : state) {
    split.run(rows, body, 1);
    benchmark::ClobberMemory();
  }
  set_bytes(state, (rows * columns + rows) * 4);
}

// Column sums (the batch mean, a bias gradient): sum over axis 0 of a [height, width] matrix.
void sum_columns_ours(benchmark::State& state, std::int64_t height, std::int64_t width, int threads) {
  tg::set_num_threads(threads);
  const tg::Tensor x = input({height, width}, -4.0, 4.0, 6);
  for (auto _ : state) {
    tg::Tensor y = tg::sum(x, {0});
    benchmark::DoNotOptimize(y.data<float>());
  }
  set_bytes(state, (height * width + width) * 4);
}

void sum_columns_loop(benchmark::State& state, std::int64_t height, std::int64_t width, int threads) {
  const tg::Tensor x = input({height, width}, -4.0, 4.0, 6);
  const float* xs = x.data<float>();
  // one row of partial sums per thread, added up in thread order
  std::vector<std::vector<float>> partial(static_cast<std::size_t>(threads), std::vector<float>(width));
  std::vector<float> y(static_cast<std::size_t>(width));
  bench::StaticSplit split(threads);
  const bench::StaticSplit::Body body = [&](int part, std::int64_t begin, std::int64_t end) {
    std::vector<float>& p = partial[static_cast<std::size_t>(part)];
    std::fill(p.begin(), p.end(), 0.0f);
    bench::loops::sum_columns(xs, width, p.data(), begin, end);
  };
  for (auto _ : state) {
    split.run(height, body, 1);
    std::copy(partial[0].begin(), partial[0].end(), y.begin());
    for (std::size_t t = 1; t < partial.size(); ++t)
      for (std::size_t c = 0; c < y.size(); ++c) y[c] += partial[t][c];
    benchmark::DoNotOptimize(y.data());
  }
  set_bytes(state, (height * width + width) * 4);
}

void softmax_rows_ours(benchmark::State& state, int threads) {
  tg::set_num_threads(threads);
  const tg::Tensor x = input({rows, columns}, -4.0, 4.0, 5);
  for (auto _ : state) {
    tg::Tensor y = tg::softmax(x, 1);
    benchmark::DoNotOptimize(y.data<float>());
  }
  set_bytes(state, 2 * rows * columns * 4);
}

void softmax_rows_loop(benchmark::State& state, int threads) {
  const tg::Tensor x = input({rows, columns}, -4.0, 4.0, 5);
  tg::Tensor y = tg::empty({rows, columns});
  const float* xs = x.data<float>();
  float* ys = y.data<float>();
  bench::StaticSplit split(threads);
  const bench::StaticSplit::Body body = [&](int, std::int64_t begin, std::int64_t end) {
    bench::loops::softmax_rows(xs, columns, ys, begin, end);
  };
  for (auto _ : state) {
    split.run(rows, body, 1);
    benchmark::ClobberMemory();
  }
  set_bytes(state, 2 * rows * columns * 4);
}

// --- many tiny ops: the per-op overhead of recording and replaying the tape

// h ← tanh(h * w + x), 3,333 times over 4-element leaves, then sum(h).backward(): 10,000 ops
// forward and their backward. items/s counts ops, so 1 / items_per_second is the time per op.
// A listener that does nothing: what the op boundary (hooks.hpp) costs when it is on, against the
// same rows with nothing listening (one thread-local check per op).
struct NoOpListener : tg::OpListener {};

void tiny_chain_ours(benchmark::State& state, int threads, bool listened) {
  tg::set_num_threads(threads);
  tg::Tensor x = input({4}, -1.0, 1.0, 6);
  tg::Tensor w = input({4}, -1.0, 1.0, 7);
  x.requires_grad_();
  w.requires_grad_();
  NoOpListener listener;
  std::optional<tg::ListenGuard> listening;
  if (listened) listening.emplace(listener);
  for (auto _ : state) {
    tg::Tensor h = x;
    for (int step = 0; step < tiny_steps; ++step) h = tg::tanh(tg::add(tg::mul(h, w), x));
    tg::sum(h).backward();
    x.zero_grad();
    w.zero_grad();
  }
  state.SetItemsProcessed(state.iterations() * tiny_ops);
  state.counters["ops"] = static_cast<double>(tiny_ops);
  state.counters["tape_entries_after"] = static_cast<double>(tg::tape_stats().entries);
}

// A chain of 10^6 ops on a 0-d float64 leaf (y = tanh(y) + y, then y * 1.0, alternately), forward
// and backward: the tape on a long graph. Counter: the tape's own memory per entry (blocks and arenas,
// tensors excluded), measured once before the timed runs.
void long_chain_ours(benchmark::State& state) {
  tg::set_num_threads(1);
  constexpr int ops = 1000000;
  tg::Tensor x = tg::scalar(0.5, tg::float64);
  x.requires_grad_();
  auto forward = [&] {
    tg::Tensor y = x;
    for (int i = 0; (i * 3) / 2 < ops; ++i) y = (i % 2) ? tg::mul(y, tg::scalar(1.0, tg::float64)) : tg::add(tg::tanh(y), y);
    return y;
  };
  double bytes_per_entry = 0;
  {
    tg::Tensor y = forward();
    const tg::TapeStats stats = tg::tape_stats();
    bytes_per_entry = static_cast<double>(stats.metadata_bytes) / static_cast<double>(stats.live_entries);
    y.backward();
    x.zero_grad();
  }
  for (auto _ : state) {
    forward().backward();
    x.zero_grad();
  }
  state.SetItemsProcessed(state.iterations() * ops);
  state.counters["tape_bytes_per_entry"] = bytes_per_entry;
}

// The gradient penalty of an MLP 784-256-10 at batch 64: loss + sum(grad(loss, W1, create_graph)^2),
// then backward through both: what a create_graph step costs next to the plain one.
void penalty_step_ours(benchmark::State& state, bool create_graph) {
  tg::set_num_threads(1);
  tg::Tensor w1 = input({784, 256}, -0.03, 0.03, 50), w2 = input({256, 10}, -0.06, 0.06, 51);
  w1.requires_grad_();
  w2.requires_grad_();
  const tg::Tensor x = input({64, 784}, 0.0, 1.0, 52);
  for (auto _ : state) {
    tg::Tensor loss = tg::mean(tg::tanh(tg::matmul(tg::tanh(tg::matmul(x, w1)), w2)));
    if (create_graph) {
      tg::Tensor g = tg::grad({loss}, {w1}, {}, false, true)[0];
      tg::add(loss, tg::sum(tg::mul(g, g))).backward();
    } else {
      loss.backward();
    }
    w1.zero_grad();
    w2.zero_grad();
  }
}

// 10,000 adds of 4-element tensors with grad mode off: the forward cost of an op with no tape, where
// the boundary's check is the largest share it can be.
void tiny_ops_ours(benchmark::State& state, bool listened) {
  tg::set_num_threads(1);
  tg::Tensor a = input({4}, -1.0, 1.0, 8);
  tg::Tensor b = input({4}, -1.0, 1.0, 9);
  tg::NoGradGuard no_grad;
  NoOpListener listener;
  std::optional<tg::ListenGuard> listening;
  if (listened) listening.emplace(listener);
  for (auto _ : state) {
    for (int i = 0; i < 10000; ++i) benchmark::DoNotOptimize(tg::add(a, b));
  }
  state.SetItemsProcessed(state.iterations() * 10000);
}

// --- a training step: what the tensor buffer allocator saves (Note [Caching allocator])

// One Adam step of an MLP 784-256-128-10 at batch 64, written from core ops: matmul, add, relu,
// cross_entropy, backward, and the update by optim::Adam (fused, in place: no temporaries). Timed after a
// warm-up of 20 steps. Counters per step: page faults (getrusage ru_minflt), bytes handed out by the
// allocator, and allocations that reached the system. TAPEGRAD_CACHE_BYTES=0 runs the same step on
// the heap path the library used before the cache.
void mlp_step_ours(benchmark::State& state, int threads) {
  tg::set_num_threads(threads);
  constexpr std::int64_t batch = 64;
  const std::int64_t widths[] = {784, 256, 128, 10};
  std::vector<tg::Tensor> params;
  for (int l = 0; l < 3; ++l) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(widths[l]));
    params.push_back(input({widths[l], widths[l + 1]}, -bound, bound, 20 + l));
    params.push_back(input({widths[l + 1]}, -bound, bound, 30 + l));
  }
  for (auto& p : params) p.requires_grad_();
  const tg::Tensor x = input({batch, 784}, 0.0, 1.0, 40);
  const tg::Tensor target = tg::randint(0, 10, {batch});
  tg::optim::Adam adam(params, {.lr = 1e-3});
  auto step = [&] {
    tg::Tensor h = x;
    for (int l = 0; l < 3; ++l) {
      h = tg::add(tg::matmul(h, params[2 * l]), params[2 * l + 1]);
      if (l < 2) h = tg::relu(h);
    }
    tg::cross_entropy(h, target).backward();
    adam.step();
    adam.zero_grad();
  };
  for (int i = 0; i < 20; ++i) step();
  bench::timed_steps(state, step);
}

// --- an RNN over 10^5 steps: slices of one leaf against separate leaves (Backward::accumulate_region)

enum class RnnRead { narrow, select, leaves };
constexpr std::int64_t rnn_steps = 100000;

// h = tanh(x_t * w + h * u) with h, w, u of 8 elements, x_t read from one leaf X [T, 8] through
// narrow or select, or T separate leaves of 8 elements. Only backward is timed (manual time); the
// forward of each iteration runs outside it. Linear in T when each step's gradient touches only its
// slice of X's gradient.
void rnn_backward_ours(benchmark::State& state, RnnRead read) {
  tg::set_num_threads(1);
  tg::Tensor X = input({rnn_steps, 8}, -1.0, 1.0, 50);
  tg::Tensor w = input({8}, -1.0, 1.0, 51);
  tg::Tensor u = input({8}, -1.0, 1.0, 52);
  std::vector<tg::Tensor> leaves;
  if (read == RnnRead::leaves)
    for (std::int64_t t = 0; t < rnn_steps; ++t) leaves.push_back(tg::select(X, 0, t).clone().requires_grad_());
  X.requires_grad_();
  w.requires_grad_();
  u.requires_grad_();
  for (auto _ : state) {
    tg::Tensor h = tg::zeros({8});
    for (std::int64_t t = 0; t < rnn_steps; ++t) {
      tg::Tensor x = read == RnnRead::narrow ? tg::narrow(X, 0, t, 1)
                     : read == RnnRead::select ? tg::select(X, 0, t)
                                               : leaves[static_cast<std::size_t>(t)];
      h = tg::tanh(x * w + h * u);
    }
    tg::Tensor loss = tg::sum(h);
    const auto start = std::chrono::steady_clock::now();
    loss.backward();
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    X.zero_grad();
    w.zero_grad();
    u.zero_grad();
    for (auto& leaf : leaves) leaf.zero_grad();
  }
  state.counters["steps"] = static_cast<double>(rnn_steps);
}

// --- the two sides must compute the same thing, or the comparison means nothing

double max_difference(const tg::Tensor& ours, const tg::Tensor& loop) {
  const std::vector<float> a = ours.to_vector<float>();
  const std::vector<float> b = loop.to_vector<float>();
  if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
  double worst = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(double{a[i]} - double{b[i]}) / (1.0 + std::abs(double{b[i]})));
  return worst;
}

// Runs each workload once on one thread and reports (stderr) where ours and the loop disagree by
// more than float rounding. A report, not a test: timing runs go on regardless.
void verify() {
  constexpr double tolerance = 1e-4;
  const std::int64_t n = 1000;
  const tg::Tensor a = input({n}, -2.0, 2.0, 11);
  const tg::Tensor b = input({n}, -2.0, 2.0, 12);
  auto report = [&](const std::string& what, double difference) {
    if (difference > tolerance)
      std::fprintf(stderr, "bench_ops: %s: ours and the loop differ by %g (relative)\n", what.c_str(), difference);
  };
  for (const BinaryCase& op : binary_cases) {
    tg::Tensor y = tg::empty({n});
    op.loop(a.data<float>(), b.data<float>(), y.data<float>(), 0, n);
    report(op.name, max_difference(op.ours(a, b), y));
  }
  for (const UnaryCase& op : unary_cases) {
    tg::Tensor y = tg::empty({n});
    op.loop(a.data<float>(), y.data<float>(), 0, n);
    report(op.name, max_difference(op.ours(a), y));
  }
  const tg::Tensor x = input({64, 1000}, -4.0, 4.0, 13);
  tg::Tensor sums = tg::empty({64});
  bench::loops::sum_rows(x.data<float>(), 1000, sums.data<float>(), 0, 64);
  report("sum_rows", max_difference(tg::sum(x, {1}), sums));
  tg::Tensor column_sums = tg::zeros({1000});
  bench::loops::sum_columns(x.data<float>(), 1000, column_sums.data<float>(), 0, 64);
  report("sum_columns", max_difference(tg::sum(x, {0}), column_sums));
  report("sum", max_difference(tg::sum(x).reshape({1}), tg::full({1}, bench::loops::sum(x.data<float>(), 0, 64000))));
  tg::Tensor softmax = tg::empty({64, 1000});
  bench::loops::softmax_rows(x.data<float>(), 1000, softmax.data<float>(), 0, 64);
  report("softmax_rows", max_difference(tg::softmax(x, 1), softmax));
}

template <class Function, class... Args>
void register_benchmark(const std::string& name, Function function, Args... args) {
  benchmark::RegisterBenchmark(name.c_str(), function, args...)->UseRealTime();
}

void register_all() {
  const bool loops = bench::loops::supported();
  if (!loops) std::fprintf(stderr, "bench_ops: this CPU lacks AVX2/FMA; the plain-loop references are skipped\n");
  // Each workload's `ours` and `loop` run back to back, so both see the same machine state.
  for (int t : thread_counts) {
    const std::string threads = "_t" + std::to_string(t);
    for (std::int64_t n : {big, small}) {
      for (const BinaryCase& op : binary_cases) {
        const std::string workload = std::string(op.name) + "_" + size_name(n) + threads;
        register_benchmark(workload + "/ours", binary_ours, op, n, t);
        if (loops) register_benchmark(workload + "/loop", binary_loop, op, n, t);
      }
      for (const UnaryCase& op : unary_cases) {
        const std::string workload = std::string(op.name) + "_" + size_name(n) + threads;
        register_benchmark(workload + "/ours", unary_ours, op, n, t);
        if (loops) register_benchmark(workload + "/loop", unary_loop, op, n, t);
      }
    }
    register_benchmark("sum_4M" + threads + "/ours", sum_all_ours, t);
    if (loops) register_benchmark("sum_4M" + threads + "/loop", sum_all_loop, t);
    register_benchmark("sum_rows_4096x1000" + threads + "/ours", sum_rows_ours, t);
    if (loops) register_benchmark("sum_rows_4096x1000" + threads + "/loop", sum_rows_loop, t);
    for (auto [height, width, name] : {std::tuple{rows, columns, "sum_columns_4096x1000"},
                                       std::tuple{std::int64_t{1} << 20, std::int64_t{4}, "sum_columns_1Mx4"}}) {
      register_benchmark(name + threads + "/ours", sum_columns_ours, height, width, t);
      if (loops) register_benchmark(name + threads + "/loop", sum_columns_loop, height, width, t);
    }
    register_benchmark("softmax_rows_4096x1000" + threads + "/ours", softmax_rows_ours, t);
    if (loops) register_benchmark("softmax_rows_4096x1000" + threads + "/loop", softmax_rows_loop, t);
    register_benchmark("tiny_chain_10k" + threads + "/ours", tiny_chain_ours, t, false);
    register_benchmark("tiny_chain_noop_listener_10k" + threads + "/ours", tiny_chain_ours, t, true);
    register_benchmark("mlp_784_256_128_10_b64_adam" + threads + "/ours", mlp_step_ours, t);
  }
  register_benchmark("chain_1M_forward_backward_t1/ours", long_chain_ours);
  register_benchmark("mlp_784_256_10_b64_backward_t1/ours", penalty_step_ours, false);
  register_benchmark("mlp_784_256_10_b64_gradient_penalty_t1/ours", penalty_step_ours, true);
  // One thread: the walk is serial and each step's tensors are 8 elements.
  for (auto [read, name] : {std::pair{RnnRead::narrow, "narrow"}, std::pair{RnnRead::select, "select"},
                            std::pair{RnnRead::leaves, "leaves"}})
    benchmark::RegisterBenchmark(("rnn_backward_100k_" + std::string(name) + "_t1/ours").c_str(), rnn_backward_ours,
                                 read)
        ->UseManualTime()
        ->Iterations(1)
        ->Repetitions(5)
        ->Unit(benchmark::kMillisecond);
  register_benchmark("tiny_add_10k_nograd_t1/ours", tiny_ops_ours, false);
  register_benchmark("tiny_add_10k_nograd_noop_listener_t1/ours", tiny_ops_ours, true);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("loops", "bench/loops.cpp, -O3 -mavx2 -mfma, no -ffast-math");
  if (bench::loops::supported()) verify();
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
