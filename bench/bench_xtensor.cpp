// xtensor as a kernel layer, side by side with our ops and plain loops, one thread (Note [xtensor's
// place] in src/io/npy.cpp says what the figures decided).
//
//   build-bench/bench/bench_xtensor [Google Benchmark flags]      (tools/bench joins it by workload)
//
// Impls: `ours` (the public op, its output allocated per call), `xtensor` (xt::xtensor<float, N>, the
// expression assigned to a new container per call, so it allocates too), `xarray` (the same through
// the dynamic-rank xt::xarray), `xtensor_immediate` (reducers with evaluation_strategy::immediate)
// and `loop` (bench/loops.cpp into a preallocated output). This unit is compiled -O3 -mavx2 -mfma
// with XTENSOR_USE_XSIMD (the xtensor dependency in meson.build), so xtensor gets the instruction
// set our AVX2 table runs with. Workloads:
//   add/mul/relu/tanh/exp_4M        single elementwise ops over 4M floats
//   add_rowbcast_1024x1024          x[1024, 1024] + b[1024]     (b repeated along the rows)
//   add_colbcast_1024x1024          x[1024, 1024] + b[1024, 1]  (b repeated along the columns)
//   sum_all / sum_axis0 / sum_axis1_1024x1024   reductions
//   chain_tanh_mul_add_4M           y = tanh(a * b + c): three ops for us, one fused pass for xtensor
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>
#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xtensor.hpp>

#include "loops.hpp"

namespace tg = tapegrad;

namespace {

constexpr std::int64_t big = std::int64_t{4} << 20;  // 4M floats, beyond the caches
constexpr std::int64_t side = 1024;                  // [1024, 1024]: 4 MB, about the L3 size

tg::Tensor input(tg::Shape shape, double low, double high, std::uint64_t seed) {
  tg::Generator gen(seed);
  return tg::uniform(std::move(shape), low, high, tg::float32, &gen);
}

// The same values as an xtensor container of rank N (or an xarray when Container is one).
template <class Container>
Container to_xt(const tg::Tensor& t) {
  const std::vector<float> values = t.to_vector<float>();
  Container out;
  out.resize(std::vector<std::size_t>(t.shape().begin(), t.shape().end()));
  std::copy(values.begin(), values.end(), out.begin());
  return out;
}

using X1 = xt::xtensor<float, 1>;
using X2 = xt::xtensor<float, 2>;
using XA = xt::xarray<float>;

void set_bytes(benchmark::State& state, std::int64_t bytes_per_iteration) {
  state.SetBytesProcessed(state.iterations() * bytes_per_iteration);
}

// --- single elementwise ops

enum class Op { add, mul, relu, tanh, exp };
const char* op_name(Op op) {
  const char* names[] = {"add", "mul", "relu", "tanh", "exp"};
  return names[static_cast<int>(op)];
}
bool is_binary(Op op) { return op == Op::add || op == Op::mul; }

tg::Tensor ours_op(Op op, const tg::Tensor& a, const tg::Tensor& b) {
  switch (op) {
    case Op::add:
      return tg::add(a, b);
    case Op::mul:
      return tg::mul(a, b);
    case Op::relu:
      return tg::relu(a);
    case Op::tanh:
      return tg::tanh(a);
    case Op::exp:
      return tg::exp(a);
  }
  return {};
}

// xt::maximum(a, 0.0f) is relu as xtensor users write it.
template <class Container>
Container xt_op(Op op, const Container& a, const Container& b) {
  switch (op) {
    case Op::add:
      return a + b;
    case Op::mul:
      return a * b;
    case Op::relu:
      return xt::maximum(a, 0.0f);
    case Op::tanh:
      return xt::tanh(a);
    case Op::exp:
      return xt::exp(a);
  }
  return {};
}

void single_ours(benchmark::State& state, Op op) {
  tg::set_num_threads(1);
  const tg::Tensor a = input({big}, -2.0, 2.0, 1), b = input({big}, -2.0, 2.0, 2);
  for (auto _ : state) {
    tg::Tensor y = ours_op(op, a, b);
    benchmark::DoNotOptimize(y.data<float>());
  }
  set_bytes(state, (is_binary(op) ? 3 : 2) * big * 4);
}

template <class Container>
void single_xt(benchmark::State& state, Op op) {
  const auto a = to_xt<Container>(input({big}, -2.0, 2.0, 1));
  const auto b = to_xt<Container>(input({big}, -2.0, 2.0, 2));
  for (auto _ : state) {
    Container y = xt_op(op, a, b);
    benchmark::DoNotOptimize(y.data());
  }
  set_bytes(state, (is_binary(op) ? 3 : 2) * big * 4);
}

// --- broadcasting: x[side, side] + b, b of shape [side] (row) or [side, 1] (column)

tg::Shape bias_shape(bool column) { return column ? tg::Shape{side, 1} : tg::Shape{side}; }

void broadcast_ours(benchmark::State& state, bool column) {
  tg::set_num_threads(1);
  const tg::Tensor x = input({side, side}, -2.0, 2.0, 3), b = input(bias_shape(column), -2.0, 2.0, 4);
  for (auto _ : state) {
    tg::Tensor y = tg::add(x, b);
    benchmark::DoNotOptimize(y.data<float>());
  }
  set_bytes(state, 2 * side * side * 4);
}

void broadcast_xtensor(benchmark::State& state, bool column) {
  const auto x = to_xt<X2>(input({side, side}, -2.0, 2.0, 3));
  for (auto _ : state) {
    // (the bias ranks differ, so the two cases are two expressions)
    if (column) {
      static const auto b = to_xt<X2>(input({side, 1}, -2.0, 2.0, 4));
      X2 y = x + b;
      benchmark::DoNotOptimize(y.data());
    } else {
      static const auto b = to_xt<X1>(input({side}, -2.0, 2.0, 4));
      X2 y = x + b;
      benchmark::DoNotOptimize(y.data());
    }
  }
  set_bytes(state, 2 * side * side * 4);
}

void broadcast_xarray(benchmark::State& state, bool column) {
  const auto x = to_xt<XA>(input({side, side}, -2.0, 2.0, 3));
  const auto b = to_xt<XA>(input(bias_shape(column), -2.0, 2.0, 4));
  for (auto _ : state) {
    XA y = x + b;
    benchmark::DoNotOptimize(y.data());
  }
  set_bytes(state, 2 * side * side * 4);
}

void broadcast_loop(benchmark::State& state, bool column) {
  const tg::Tensor x = input({side, side}, -2.0, 2.0, 3), b = input(bias_shape(column), -2.0, 2.0, 4);
  std::vector<float> y(static_cast<std::size_t>(side * side));
  const float* xs = x.data<float>();
  const float* bs = b.data<float>();
  for (auto _ : state) {
    for (std::int64_t r = 0; r < side; ++r) {
      const float* xr = xs + r * side;
      float* yr = y.data() + r * side;
      if (column) {
        const float value = bs[r];
        for (std::int64_t c = 0; c < side; ++c) yr[c] = xr[c] + value;
      } else {
        bench::loops::add(xr, bs, yr, 0, side);
      }
    }
    benchmark::ClobberMemory();
  }
  set_bytes(state, 2 * side * side * 4);
}

// --- reductions of x[side, side]: over everything (-1), over axis 0 or over axis 1

void sum_ours(benchmark::State& state, int axis) {
  tg::set_num_threads(1);
  const tg::Tensor x = input({side, side}, -4.0, 4.0, 5);
  for (auto _ : state) {
    tg::Tensor y = axis < 0 ? tg::sum(x) : tg::sum(x, axis);
    benchmark::DoNotOptimize(y.data<float>());
  }
  set_bytes(state, side * side * 4);
}

template <bool immediate>
void sum_xtensor(benchmark::State& state, int axis) {
  const auto x = to_xt<X2>(input({side, side}, -4.0, 4.0, 5));
  constexpr auto strategy = [] {
    if constexpr (immediate)
      return xt::evaluation_strategy::immediate;
    else
      return xt::evaluation_strategy::lazy;
  }();
  for (auto _ : state) {
    if (axis < 0) {
      xt::xtensor<float, 0> y = xt::sum(x, strategy);
      benchmark::DoNotOptimize(y.data());
    } else {
      X1 y = xt::sum(x, {static_cast<std::size_t>(axis)}, strategy);
      benchmark::DoNotOptimize(y.data());
    }
  }
  set_bytes(state, side * side * 4);
}

void sum_loop(benchmark::State& state, int axis) {
  const tg::Tensor x = input({side, side}, -4.0, 4.0, 5);
  const float* xs = x.data<float>();
  std::vector<float> y(static_cast<std::size_t>(side));
  for (auto _ : state) {
    if (axis < 0) {
      benchmark::DoNotOptimize(bench::loops::sum(xs, 0, side * side));
    } else if (axis == 0) {
      std::fill(y.begin(), y.end(), 0.0f);
      bench::loops::sum_columns(xs, side, y.data(), 0, side);
    } else {
      bench::loops::sum_rows(xs, side, y.data(), 0, side);
    }
    benchmark::ClobberMemory();
  }
  set_bytes(state, side * side * 4);
}

// --- a chain: y = tanh(a * b + c)

void chain_ours(benchmark::State& state) {
  tg::set_num_threads(1);
  const tg::Tensor a = input({big}, -1.0, 1.0, 6), b = input({big}, -1.0, 1.0, 7),
                   c = input({big}, -1.0, 1.0, 8);
  for (auto _ : state) {
    tg::Tensor y = tg::tanh(tg::add(tg::mul(a, b), c));
    benchmark::DoNotOptimize(y.data<float>());
  }
  set_bytes(state, 4 * big * 4);
}

void chain_xtensor(benchmark::State& state) {
  const auto a = to_xt<X1>(input({big}, -1.0, 1.0, 6));
  const auto b = to_xt<X1>(input({big}, -1.0, 1.0, 7));
  const auto c = to_xt<X1>(input({big}, -1.0, 1.0, 8));
  for (auto _ : state) {
    X1 y = xt::tanh(a * b + c);
    benchmark::DoNotOptimize(y.data());
  }
  set_bytes(state, 4 * big * 4);
}

// --- the two sides must compute the same thing (a report on stderr, as in bench_ops)

void report(const char* what, const std::vector<float>& ours, const float* theirs) {
  double worst = 0.0;
  for (std::size_t i = 0; i < ours.size(); ++i)
    worst =
        std::max(worst, std::abs(double{ours[i]} - double{theirs[i]}) / (1.0 + std::abs(double{theirs[i]})));
  if (worst > 1e-4)
    std::fprintf(stderr, "bench_xtensor: %s: ours and xtensor differ by %g (relative)\n", what, worst);
}

void verify() {
  const tg::Tensor x = input({64, 48}, -2.0, 2.0, 11), row = input({48}, -2.0, 2.0, 12);
  const tg::Tensor column = input({64, 1}, -2.0, 2.0, 13);
  const auto xx = to_xt<X2>(x);
  const X2 by_row = xx + to_xt<X1>(row), by_column = xx + to_xt<X2>(column);
  report("add_rowbcast", tg::add(x, row).to_vector<float>(), by_row.data());
  report("add_colbcast", tg::add(x, column).to_vector<float>(), by_column.data());
  const X1 sum0 = xt::sum(xx, {0}), sum1 = xt::sum(xx, {1});
  const xt::xtensor<float, 0> total = xt::sum(xx);
  report("sum_axis0", tg::sum(x, 0).to_vector<float>(), sum0.data());
  report("sum_axis1", tg::sum(x, 1).to_vector<float>(), sum1.data());
  report("sum_all", tg::sum(x).to_vector<float>(), total.data());
  const X2 chain = xt::tanh(xx * xx + by_row);
  report("chain", tg::tanh(tg::add(tg::mul(x, x), tg::add(x, row))).to_vector<float>(), chain.data());
}

template <class Function, class... Args>
void register_benchmark(const std::string& name, Function function, Args... args) {
  benchmark::RegisterBenchmark(name.c_str(), function, args...)->UseRealTime();
}

void register_all() {
  for (Op op : {Op::add, Op::mul, Op::relu, Op::tanh, Op::exp}) {
    const std::string workload = std::string(op_name(op)) + "_4M_t1";
    register_benchmark(workload + "/ours", single_ours, op);
    register_benchmark(workload + "/xtensor", single_xt<X1>, op);
    if (op == Op::add) register_benchmark(workload + "/xarray", single_xt<XA>, op);
  }
  for (bool column : {false, true}) {
    const std::string workload = std::string(column ? "add_colbcast" : "add_rowbcast") + "_1024x1024_t1";
    register_benchmark(workload + "/ours", broadcast_ours, column);
    register_benchmark(workload + "/xtensor", broadcast_xtensor, column);
    register_benchmark(workload + "/xarray", broadcast_xarray, column);
    register_benchmark(workload + "/loop", broadcast_loop, column);
  }
  for (int axis : {-1, 0, 1}) {
    const std::string workload = std::string(axis < 0    ? "sum_all"
                                             : axis == 0 ? "sum_axis0"
                                                         : "sum_axis1") +
                                 "_1024x1024_t1";
    register_benchmark(workload + "/ours", sum_ours, axis);
    register_benchmark(workload + "/xtensor", sum_xtensor<false>, axis);
    register_benchmark(workload + "/xtensor_immediate", sum_xtensor<true>, axis);
    register_benchmark(workload + "/loop", sum_loop, axis);
  }
  register_benchmark("chain_tanh_mul_add_4M_t1/ours", chain_ours);
  register_benchmark("chain_tanh_mul_add_4M_t1/xtensor", chain_xtensor);
}

}  // namespace

int main(int argc, char** argv) {
  // Compiled with -mavx2 -mfma throughout (xtensor's SIMD is chosen at compile time).
  if (!bench::loops::supported()) {
    std::fprintf(stderr, "bench_xtensor: this CPU lacks AVX2/FMA, nothing to run\n");
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("xtensor",
                              "xt::xtensor / xt::xarray, -O3 -mavx2 -mfma, XTENSOR_USE_XSIMD, 1 thread");
  verify();
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
