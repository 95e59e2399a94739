// Forward and backward of the reference CNN's layers (../shared/REFERENCE.md) one by one: its two
// convolutions (bench/conv_layers.hpp), its pools and a batch norm of its activations. The LibTorch
// peer rows of the same names are in bench/torch_ops.cpp; whole train steps are in bench_models.
//
//   build-bench/bench/bench_layers [Google Benchmark flags]
#include <benchmark/benchmark.h>

#include <cmath>
#include <string>
#include <tapegrad/tapegrad.hpp>

#include "conv_layers.hpp"
#include "inputs.hpp"

namespace tg = tapegrad;

namespace {

using bench::input;

void set_bytes(benchmark::State& state, std::int64_t bytes_per_iteration) {
  state.SetBytesProcessed(state.iterations() * bytes_per_iteration);
}

// --- batch norm in training mode: the CNN's [64, 32, 28, 28] activations, forward and backward
// (weight, bias and input gradients; the running statistics updated).
void batch_norm_ours(benchmark::State& state, int threads) {
  tg::set_num_threads(threads);
  tg::Tensor x = input({64, 32, 28, 28}, -2.0, 2.0, 8), weight = input({32}, 0.5, 1.5, 9), bias = tg::zeros({32});
  const tg::Tensor gy = input({64, 32, 28, 28}, -1.0, 1.0, 10);
  tg::Tensor running_mean = tg::zeros({32}), running_var = tg::ones({32});
  x.requires_grad_();
  weight.requires_grad_();
  bias.requires_grad_();
  for (auto _ : state) {
    tg::batch_norm(x, running_mean, running_var, weight, bias, true).backward(gy);
    benchmark::DoNotOptimize(x.grad().data<float>());
  }
  set_bytes(state, 5 * x.numel() * 4);  // x, y; x, gy, gx
}

// --- the two convolutions of the reference CNN (bench/conv_layers.hpp), forward and backward

void conv_step_ours(benchmark::State& state, bench::ConvLayer layer, int threads) {
  tg::set_num_threads(threads);
  const double bound = 1.0 / std::sqrt(static_cast<double>(layer.in * 9));
  tg::Tensor x = input({64, layer.in, layer.size, layer.size}, -1.0, 1.0, 50);
  tg::Tensor w = input({layer.out, layer.in, 3, 3}, -bound, bound, 51);
  tg::Tensor b = input({layer.out}, -bound, bound, 52);
  const tg::Tensor gy = input({64, layer.out, layer.size, layer.size}, -1.0, 1.0, 53);
  if (layer.input_grad) x.requires_grad_();
  w.requires_grad_();
  b.requires_grad_();
  for (auto _ : state) {
    tg::conv2d(x, w, b, {.padding = 1}).backward(gy);
    benchmark::DoNotOptimize(w.grad().data<float>());
    w.zero_grad();
    b.zero_grad();
    x.zero_grad();
  }
  state.counters["FLOPS"] = benchmark::Counter(layer.flops(), benchmark::Counter::kIsIterationInvariantRate);
}

// --- the CNN's pools (../shared/REFERENCE.md): max_pool2d by 2 of [64, 32, 28, 28] and [64, 64, 14, 14],
// forward and backward (gradients given: y.backward(gy)), as in a train step.
void pool_cnn_ours(benchmark::State& state, int threads) {
  tg::set_num_threads(threads);
  tg::Tensor x1 = input({64, 32, 28, 28}, -1.0, 1.0, 50), x2 = input({64, 64, 14, 14}, -1.0, 1.0, 51);
  x1.requires_grad_();
  x2.requires_grad_();
  const tg::Tensor g1 = input({64, 32, 14, 14}, -1.0, 1.0, 52), g2 = input({64, 64, 7, 7}, -1.0, 1.0, 53);
  for (auto _ : state) {
    tg::max_pool2d(x1, 2).backward(g1);
    tg::max_pool2d(x2, 2).backward(g2);
    x1.zero_grad();
    x2.zero_grad();
  }
}

void register_all() {
  for (int t : {1, 2}) {
    const std::string threads = "_t" + std::to_string(t);
    auto add = [&](const std::string& name, auto function, auto... args) {
      benchmark::RegisterBenchmark(name.c_str(), function, args...)->UseRealTime();
    };
    add("max_pool2d_cnn_b64_forward_backward" + threads + "/ours", pool_cnn_ours, t);
    add("batch_norm_64x32x28x28_train" + threads + "/ours", batch_norm_ours, t);
    for (const bench::ConvLayer& layer : bench::conv_layers)
      add(std::string(layer.name) + "_forward_backward" + threads + "/ours", conv_step_ours, layer, t);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
