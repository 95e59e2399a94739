// The LibTorch peer of bench_models: the same models (examples/models.hpp) and train step, batch 64,
// Adam, through LibTorch's C++ frontend (Debian libtorch-dev 1.13). Names match bench_models.
//
//   ninja -C build-bench bench/torch_models && build-bench/bench/torch_models
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <string>

namespace {

constexpr std::int64_t batch = 64;

void set_threads(int n) {
  torch::set_num_threads(n);
  using SetThreads = void (*)(int);
  static auto openblas_set_num_threads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (openblas_set_num_threads) openblas_set_num_threads(n);
}

struct MlpImpl : torch::nn::Module {
  torch::nn::Linear fc1{784, 256}, fc2{256, 128}, fc3{128, 10};
  MlpImpl() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
    register_module("fc3", fc3);
  }
  torch::Tensor forward(const torch::Tensor& images) {
    torch::Tensor x = images.flatten(1);
    return fc3(torch::relu(fc2(torch::relu(fc1(x)))));
  }
};

struct CnnImpl : torch::nn::Module {
  torch::nn::Conv2d conv1{torch::nn::Conv2dOptions(1, 32, 3).padding(1)};
  torch::nn::Conv2d conv2{torch::nn::Conv2dOptions(32, 64, 3).padding(1)};
  torch::nn::Linear fc1{3136, 128}, fc2{128, 10};
  CnnImpl() {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  torch::Tensor forward(const torch::Tensor& images) {
    torch::Tensor x = torch::max_pool2d(torch::relu(conv1(images)), 2);
    x = torch::max_pool2d(torch::relu(conv2(x)), 2);
    return fc2(torch::relu(fc1(x.flatten(1))));
  }
};

struct LstmImpl : torch::nn::Module {
  torch::nn::LSTM lstm{torch::nn::LSTMOptions(28, 128).batch_first(true)};
  torch::nn::Linear fc{128, 10};
  LstmImpl() {
    register_module("rnn", lstm);
    register_module("fc", fc);
  }
  torch::Tensor forward(const torch::Tensor& images) {
    torch::Tensor outputs = std::get<0>(lstm(images.reshape({-1, 28, 28})));
    return fc(outputs.select(1, 27));
  }
};

template <class Model>
void train_step(benchmark::State& state, int threads) {
  set_threads(threads);
  torch::manual_seed(0);
  auto model = std::make_shared<Model>();
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
  const torch::Tensor images = torch::rand({batch, 1, 28, 28});
  const torch::Tensor labels = torch::randint(0, 10, {batch});
  auto step = [&] {
    torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(images), labels);
    loss.backward();
    optimizer.step();
    optimizer.zero_grad();
    benchmark::DoNotOptimize(loss.item<float>());
  };
  for (int i = 0; i < 5; ++i) step();
  for (auto _ : state) step();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  state.counters["peak_rss_mb"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
}

void register_all() {
  for (int threads : {1, 2}) {
    const std::string t = "_t" + std::to_string(threads);
    auto add = [&](const std::string& name, auto function) {
      benchmark::RegisterBenchmark((name + t + "/libtorch").c_str(), function, threads)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    };
    add("train_step_mlp_b64_adam", train_step<MlpImpl>);
    add("train_step_cnn_b64_adam", train_step<CnnImpl>);
    add("train_step_lstm_b64_adam", train_step<LstmImpl>);
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
