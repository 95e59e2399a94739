// sgemm, ours against OpenBLAS side by side: the shapes of the MLP / CNN examples and of square
// problems, each forward (C = A·B) and in the two transposed forms backward uses, at 1 and 2 threads.
// GFLOP/s is reported as a counter; compare the two columns of one run, not across runs.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kernels/gemm.hpp"
#include "tapegrad/threads.hpp"

namespace {

using tapegrad::kernels::Trans;

struct Shape {
  std::int64_t m, n, k;
};

// Forward shapes M x N x K (C [M, N] = A [M, K] · B [K, N]).
// The MxKxN shapes (64x784x256 is a batch of 64 through a 784 -> 256 layer), as {m, n, k}.
const Shape forward_shapes[] = {{64, 256, 784},     {64, 784, 256}, {256, 256, 256}, {512, 512, 512},
                                {1024, 1024, 1024}, {64, 512, 156}, {12544, 64, 288}};

struct Problem {
  Trans ta, tb;
  Shape shape;
  std::vector<float> a, b, c;

  Problem(Trans ta_, Trans tb_, Shape shape_) : ta(ta_), tb(tb_), shape(shape_) {
    std::mt19937 engine(42);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    a.resize(static_cast<std::size_t>(shape.m * shape.k));
    b.resize(static_cast<std::size_t>(shape.k * shape.n));
    c.resize(static_cast<std::size_t>(shape.m * shape.n));
    for (auto& x : a) x = uniform(engine);
    for (auto& x : b) x = uniform(engine);
  }
  // Row strides of A and B as stored (A is [K, M] when transposed, B is [N, K]).
  std::int64_t lda() const { return ta == Trans::no ? shape.k : shape.m; }
  std::int64_t ldb() const { return tb == Trans::no ? shape.n : shape.k; }
};

void set_counters(benchmark::State& state, const Shape& shape) {
  const double flops = 2.0 * double(shape.m) * double(shape.n) * double(shape.k);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// OpenBLAS worker threads busy-wait for a while after a call, and TBB's briefly: on two cores a
// benchmark that starts right after the other library's 2-thread run would share a core with a
// spinning thread. Waiting before the timed loop lets those threads go to sleep.
void settle(int threads) {
  if (threads > 1) std::this_thread::sleep_for(std::chrono::milliseconds(250));
}

void run_tapegrad(benchmark::State& state, Trans ta, Trans tb, Shape shape, int threads) {
  tapegrad::set_num_threads(threads);
  Problem p(ta, tb, shape);
  settle(threads);
  for (auto _ : state) {
    tapegrad::kernels::gemm(ta, tb, shape.m, shape.n, shape.k, 1.0f, p.a.data(), p.lda(), p.b.data(), p.ldb(),
                            0.0f, p.c.data(), shape.n);
    benchmark::DoNotOptimize(p.c.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, shape);
}

void run_openblas(benchmark::State& state, Trans ta, Trans tb, Shape shape, int threads) {
  openblas_set_num_threads(threads);
  Problem p(ta, tb, shape);
  settle(threads);
  const auto blas_trans = [](Trans t) { return t == Trans::yes ? CblasTrans : CblasNoTrans; };
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, blas_trans(ta), blas_trans(tb), int(shape.m), int(shape.n), int(shape.k), 1.0f,
                p.a.data(), int(p.lda()), p.b.data(), int(p.ldb()), 0.0f, p.c.data(), int(shape.n));
    benchmark::DoNotOptimize(p.c.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, shape);
}

// Names follow tools/bench (Note [Benchmark names]): gemm_f32_<M>x<K>x<N>[_variant]_t<threads>/<impl>,
// the dimensions of the product computed; gyBt: B stored transposed, Atgy: A stored transposed.
void register_pair(const std::string& variant, Trans ta, Trans tb, Shape shape) {
  for (int threads : {1, 2}) {
    const std::string name = "gemm_f32_" + std::to_string(shape.m) + "x" + std::to_string(shape.k) + "x" +
                             std::to_string(shape.n) + variant + "_t" + std::to_string(threads);
    benchmark::RegisterBenchmark((name + "/ours").c_str(), run_tapegrad, ta, tb, shape, threads)->UseRealTime();
    benchmark::RegisterBenchmark((name + "/openblas").c_str(), run_openblas, ta, tb, shape, threads)->UseRealTime();
  }
}

}  // namespace

int main(int argc, char** argv) {
  for (const Shape& s : forward_shapes) {
    register_pair("", Trans::no, Trans::no, s);
    // Backward of C = A·B: gA = gC·Bᵀ is [M, K] over depth N; gB = Aᵀ·gC is [K, N] over depth M.
    register_pair("_gyBt", Trans::no, Trans::yes, {s.m, s.k, s.n});
    register_pair("_Atgy", Trans::yes, Trans::no, {s.k, s.n, s.m});
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
