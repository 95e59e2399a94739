// Train steps of the reference models (examples/models.hpp: MLP, CNN, LSTM, as a user writes them) at
// batch 64 with Adam: forward, cross_entropy, backward, optimiser step, zero_grad. The LibTorch peer is
// bench/torch_models.cpp, with the same names. Counters per step: FLOPs (the matmul and convolution
// work of forward and backward, for the GEMM floor tools/bench prints), page faults, bytes allocated,
// peak resident memory.
//
//   build-bench/bench/bench_models [Google Benchmark flags]
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "../examples/models.hpp"
#include "inputs.hpp"

namespace tg = tapegrad;

namespace {

constexpr std::int64_t batch = 64;

// FLOPs per train step (forward + backward = 3x the forward's multiply-adds x 2); the first layer's
// input gradient is not needed and not counted for the CNN and LSTM as for the MLP.
double mlp_flops() { return 3.0 * 2 * batch * (784 * 256 + 256 * 128 + 128 * 10); }
double cnn_flops() {
  const double conv1 = 2.0 * batch * 28 * 28 * 32 * 9, conv2 = 2.0 * batch * 14 * 14 * 64 * 32 * 9;
  const double fc = 2.0 * batch * (3136 * 128 + 128 * 10);
  return 2 * conv1 + 3 * (conv2 + fc);
}
double lstm_flops() { return 3.0 * 28 * 2 * batch * (28 + 128) * 4 * 128 + 3.0 * 2 * batch * 128 * 10; }

template <class Model>
void train_step(benchmark::State& state, int threads, double flops) {
  tg::set_num_threads(threads);
  tg::manual_seed(0);
  Model model;
  tg::optim::Adam optimizer(model.parameters(), {.lr = 1e-3});
  const tg::Tensor images = tg::rand({batch, 1, 28, 28});
  const tg::Tensor labels = tg::randint(0, 10, {batch});
  auto step = [&] {
    tg::Tensor loss = tg::cross_entropy(model(images), labels);
    loss.backward();
    optimizer.step();
    optimizer.zero_grad();
    benchmark::DoNotOptimize(loss.item());
  };
  for (int i = 0; i < 5; ++i) step();
  bench::timed_steps(state, step);
  state.counters["flops"] = flops;
}

void register_all() {
  for (int threads : {1, 2}) {
    const std::string t = "_t" + std::to_string(threads);
    auto add = [&](const std::string& name, auto function, double flops) {
      benchmark::RegisterBenchmark((name + t + "/ours").c_str(), function, threads, flops)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    };
    add("train_step_mlp_b64_adam", train_step<tg::examples::Mlp>, mlp_flops());
    add("train_step_cnn_b64_adam", train_step<tg::examples::Cnn>, cnn_flops());
    add("train_step_lstm_b64_adam", train_step<tg::examples::LstmClassifier>, lstm_flops());
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
