// The LibTorch peer: the workloads of bench_ops and bench_gemm, run through LibTorch's C++ API
// (Debian libtorch-dev 1.13), so its numbers join the same table (tools/bench).
//
//   ninja -C build bench/torch_ops && build/bench/torch_ops [Google Benchmark flags]
//
// Names are <workload>/libtorch with the workload spelt as in bench_ops / bench_gemm. Outputs are
// allocated by each call, as in our ops. Thread counts: torch::set_num_threads(n), and OpenBLAS
// (under torch::mm) set to n as well when it is the BLAS in this process; otherwise OpenBLAS would
// use every core even in a _t1 workload.
#include <cmath>
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "conv_layers.hpp"

namespace {

constexpr std::int64_t big = std::int64_t{4} << 20;
constexpr std::int64_t small = std::int64_t{64} << 10;
constexpr std::int64_t rows = 4096, columns = 1000;
constexpr int tiny_steps = 3333;
constexpr std::int64_t tiny_ops = 3 * tiny_steps + 1;
const int thread_counts[] = {1, 2};

void set_threads(int n) {
  torch::set_num_threads(n);
  using SetThreads = void (*)(int);
  static auto openblas_set_num_threads =
      reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (openblas_set_num_threads) openblas_set_num_threads(n);
}

std::string size_name(std::int64_t n) {
  return n % (1 << 20) == 0 ? std::to_string(n >> 20) + "M" : std::to_string(n >> 10) + "K";
}

torch::Tensor input(std::vector<std::int64_t> shape, double low, double high) {
  return torch::rand(shape) * (high - low) + low;
}

void set_bytes(benchmark::State& state, std::int64_t bytes_per_iteration) {
  state.SetBytesProcessed(state.iterations() * bytes_per_iteration);
}

struct UnaryCase {
  const char* name;
  torch::Tensor (*op)(const torch::Tensor&);
};
const UnaryCase unary_cases[] = {
    {"relu", [](const torch::Tensor& x) { return torch::relu(x); }},
    {"sigmoid", [](const torch::Tensor& x) { return torch::sigmoid(x); }},
    {"tanh", [](const torch::Tensor& x) { return torch::tanh(x); }},
    {"exp", [](const torch::Tensor& x) { return torch::exp(x); }},
};
struct BinaryCase {
  const char* name;
  torch::Tensor (*op)(const torch::Tensor&, const torch::Tensor&);
};
const BinaryCase binary_cases[] = {
    {"add", [](const torch::Tensor& a, const torch::Tensor& b) { return torch::add(a, b); }},
    {"mul", [](const torch::Tensor& a, const torch::Tensor& b) { return torch::mul(a, b); }},
};

void unary(benchmark::State& state, UnaryCase c, std::int64_t n, int threads) {
  set_threads(threads);
  const torch::Tensor x = input({n}, -2.0, 2.0);
  for (auto _ : state) {
    torch::Tensor y = c.op(x);
    benchmark::DoNotOptimize(y.data_ptr<float>());
  }
  set_bytes(state, 2 * n * 4);
}

void binary(benchmark::State& state, BinaryCase c, std::int64_t n, int threads) {
  set_threads(threads);
  const torch::Tensor a = input({n}, -2.0, 2.0);
  const torch::Tensor b = input({n}, -2.0, 2.0);
  for (auto _ : state) {
    torch::Tensor y = c.op(a, b);
    benchmark::DoNotOptimize(y.data_ptr<float>());
  }
  set_bytes(state, 3 * n * 4);
}

void sum_all(benchmark::State& state, int threads) {
  set_threads(threads);
  const torch::Tensor x = input({big}, 0.0, 1.0);
  for (auto _ : state) {
    torch::Tensor y = torch::sum(x);
    benchmark::DoNotOptimize(y.data_ptr<float>());
  }
  set_bytes(state, big * 4);
}

void sum_rows(benchmark::State& state, int threads) {
  set_threads(threads);
  const torch::Tensor x = input({rows, columns}, -4.0, 4.0);
  for (auto _ : state) {
    torch::Tensor y = torch::sum(x, {1});
    benchmark::DoNotOptimize(y.data_ptr<float>());
  }
  set_bytes(state, (rows * columns + rows) * 4);
}

void softmax_rows(benchmark::State& state, int threads) {
  set_threads(threads);
  const torch::Tensor x = input({rows, columns}, -4.0, 4.0);
  for (auto _ : state) {
    torch::Tensor y = torch::softmax(x, 1);
    benchmark::DoNotOptimize(y.data_ptr<float>());
  }
  set_bytes(state, 2 * rows * columns * 4);
}

// The same chain as bench_ops' tiny_chain_ours: h ← tanh(h * w + x), then sum(h).backward().
void tiny_chain(benchmark::State& state, int threads) {
  set_threads(threads);
  torch::Tensor x = input({4}, -1.0, 1.0).requires_grad_();
  torch::Tensor w = input({4}, -1.0, 1.0).requires_grad_();
  for (auto _ : state) {
    torch::Tensor h = x;
    for (int step = 0; step < tiny_steps; ++step) h = torch::tanh(torch::add(torch::mul(h, w), x));
    torch::sum(h).backward();
    x.mutable_grad().zero_();
    w.mutable_grad().zero_();
  }
  state.SetItemsProcessed(state.iterations() * tiny_ops);
  state.counters["ops"] = static_cast<double>(tiny_ops);
}

// The same batch norm as bench_ops' batch_norm_ours: [64, 32, 28, 28] in training mode, forward and backward.
void batch_norm_train(benchmark::State& state, int threads) {
  set_threads(threads);
  const torch::Tensor x = input({64, 32, 28, 28}, -2.0, 2.0).requires_grad_();
  const torch::Tensor weight = input({32}, 0.5, 1.5).requires_grad_(), bias = torch::zeros({32}).requires_grad_();
  const torch::Tensor gy = input({64, 32, 28, 28}, -1.0, 1.0);
  torch::Tensor running_mean = torch::zeros({32}), running_var = torch::ones({32});
  for (auto _ : state) {
    torch::batch_norm(x, weight, bias, running_mean, running_var, true, 0.1, 1e-5, false).backward(gy);
    benchmark::DoNotOptimize(x.grad().data_ptr<float>());
  }
  set_bytes(state, 5 * x.numel() * 4);
}

// The train-step rows' Adam (lr 1e-3, betas 0.9 and 0.999, eps 1e-8), written with out-of-place ops
// and in-place updates under NoGradGuard; step t counts from 1. Clears the gradients (set to none).
void adam_update(std::vector<torch::Tensor>& params, std::vector<torch::Tensor>& m, std::vector<torch::Tensor>& v, int t) {
  const double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  torch::NoGradGuard no_grad;
  const double c1 = 1.0 - std::pow(beta1, t), c2 = 1.0 - std::pow(beta2, t);
  for (std::size_t i = 0; i < params.size(); ++i) {
    const torch::Tensor g = params[i].grad();
    m[i].mul_(beta1).add_(g, 1.0 - beta1);
    v[i].mul_(beta2).add_(torch::mul(g, g), 1.0 - beta2);
    params[i].add_(torch::div(m[i], torch::sqrt(v[i] * (1.0 / c2)) + eps), -lr / c1);
    params[i].mutable_grad() = torch::Tensor();  // zero_grad(set_to_none)
  }
}

// The same Adam step as bench_ops' mlp_step_ours: MLP 784-256-128-10 at batch 64, cross_entropy,
// backward, and the update written with the same out-of-place ops under NoGradGuard, after 20 warm-up steps.
void mlp_step(benchmark::State& state, int threads) {
  set_threads(threads);
  constexpr std::int64_t batch = 64;
  const std::int64_t widths[] = {784, 256, 128, 10};
  std::vector<torch::Tensor> params, m, v;
  for (int l = 0; l < 3; ++l) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(widths[l]));
    params.push_back(input({widths[l], widths[l + 1]}, -bound, bound).requires_grad_());
    params.push_back(input({widths[l + 1]}, -bound, bound).requires_grad_());
  }
  for (auto& p : params) {
    m.push_back(torch::zeros(p.sizes()));
    v.push_back(torch::zeros(p.sizes()));
  }
  const torch::Tensor x = input({batch, 784}, 0.0, 1.0);
  const torch::Tensor target = torch::randint(0, 10, {batch});
  int t = 0;
  auto step = [&] {
    torch::Tensor h = x;
    for (int l = 0; l < 3; ++l) {
      h = torch::add(torch::matmul(h, params[2 * l]), params[2 * l + 1]);
      if (l < 2) h = torch::relu(h);
    }
    torch::nn::functional::cross_entropy(h, target).backward();
    adam_update(params, m, v, ++t);
  };
  for (int i = 0; i < 20; ++i) step();
  for (auto _ : state) step();
}

// The same pools as bench_ops' pool_cnn_ours: max_pool2d by 2 of [64, 32, 28, 28] and [64, 64, 14, 14],
// forward and backward with given gradients.
void pool_cnn(benchmark::State& state, int threads) {
  set_threads(threads);
  const torch::Tensor x1 = input({64, 32, 28, 28}, -1.0, 1.0).requires_grad_();
  const torch::Tensor x2 = input({64, 64, 14, 14}, -1.0, 1.0).requires_grad_();
  const torch::Tensor g1 = input({64, 32, 14, 14}, -1.0, 1.0), g2 = input({64, 64, 7, 7}, -1.0, 1.0);
  for (auto _ : state) {
    torch::max_pool2d(x1, 2).backward(g1);
    torch::max_pool2d(x2, 2).backward(g2);
    x1.mutable_grad() = torch::Tensor();
    x2.mutable_grad() = torch::Tensor();
  }
}

// C[m, n] = op(A) · op(B) with op(A) [m, k], op(B) [k, n]: the product's dimensions are the name's
// MxKxN whatever the storage. For each forward shape the backward products are timed too. Variants: "" (A, B stored as used), "gyBt" (B stored [n, k] and
// transposed: the ga = gy · Bᵀ of a linear layer), "Atgy" (A stored [k, m]: gb = Aᵀ · gy).
struct GemmShape {
  std::int64_t m, k, n;
};
const GemmShape gemm_shapes[] = {{64, 784, 256},  {64, 256, 784},  {256, 256, 256},  {512, 512, 512},
                                 {1024, 1024, 1024}, {64, 156, 512}, {12544, 288, 64}};
const char* gemm_variants[] = {"", "gyBt", "Atgy"};

void gemm(benchmark::State& state, GemmShape s, std::string variant, int threads) {
  set_threads(threads);
  const torch::Tensor a = variant == "Atgy" ? input({s.k, s.m}, -1.0, 1.0).t() : input({s.m, s.k}, -1.0, 1.0);
  const torch::Tensor b = variant == "gyBt" ? input({s.n, s.k}, -1.0, 1.0).t() : input({s.k, s.n}, -1.0, 1.0);
  for (auto _ : state) {
    torch::Tensor c = torch::mm(a, b);
    benchmark::DoNotOptimize(c.data_ptr<float>());
  }
  state.counters["FLOPS"] =
      benchmark::Counter(2.0 * static_cast<double>(s.m * s.k * s.n), benchmark::Counter::kIsIterationInvariantRate);
}

// The two convolutions of the reference CNN (bench/conv_layers.hpp), as bench_ops' conv_step_ours.
void conv_step(benchmark::State& state, bench::ConvLayer layer, int threads) {
  set_threads(threads);
  const double bound = 1.0 / std::sqrt(static_cast<double>(layer.in * 9));
  torch::Tensor x = input({64, layer.in, layer.size, layer.size}, -1.0, 1.0);
  torch::Tensor w = input({layer.out, layer.in, 3, 3}, -bound, bound).requires_grad_();
  torch::Tensor b = input({layer.out}, -bound, bound).requires_grad_();
  const torch::Tensor gy = input({64, layer.out, layer.size, layer.size}, -1.0, 1.0);
  if (layer.input_grad) x.requires_grad_();
  for (auto _ : state) {
    torch::conv2d(x, w, b, 1, 1).backward(gy);
    benchmark::DoNotOptimize(w.grad().data_ptr<float>());
    w.mutable_grad() = torch::Tensor();
    b.mutable_grad() = torch::Tensor();
    if (layer.input_grad) x.mutable_grad() = torch::Tensor();
  }
  state.counters["FLOPS"] = benchmark::Counter(layer.flops(), benchmark::Counter::kIsIterationInvariantRate);
}

template <class Function, class... Args>
void register_benchmark(const std::string& name, Function function, Args... args) {
  benchmark::RegisterBenchmark(name.c_str(), function, args...)->UseRealTime();
}

void register_all() {
  for (int t : thread_counts) {
    const std::string threads = "_t" + std::to_string(t);
    for (std::int64_t n : {big, small}) {
      for (const BinaryCase& c : binary_cases)
        register_benchmark(std::string(c.name) + "_" + size_name(n) + threads + "/libtorch", binary, c, n, t);
      for (const UnaryCase& c : unary_cases)
        register_benchmark(std::string(c.name) + "_" + size_name(n) + threads + "/libtorch", unary, c, n, t);
    }
    register_benchmark("sum_4M" + threads + "/libtorch", sum_all, t);
    register_benchmark("sum_rows_4096x1000" + threads + "/libtorch", sum_rows, t);
    register_benchmark("softmax_rows_4096x1000" + threads + "/libtorch", softmax_rows, t);
    register_benchmark("tiny_chain_10k" + threads + "/libtorch", tiny_chain, t);
    register_benchmark("mlp_784_256_128_10_b64_adam" + threads + "/libtorch", mlp_step, t);
    register_benchmark("max_pool2d_cnn_b64_forward_backward" + threads + "/libtorch", pool_cnn, t);
    register_benchmark("batch_norm_64x32x28x28_train" + threads + "/libtorch", batch_norm_train, t);
    for (const bench::ConvLayer& layer : bench::conv_layers)
      register_benchmark(std::string(layer.name) + "_forward_backward" + threads + "/libtorch", conv_step, layer, t);
    for (const GemmShape& forward : gemm_shapes)
      for (std::string variant : gemm_variants) {
        // The backward products of C = A·B: ga = gy · Bᵀ is [m, k] over depth n; gb = Aᵀ · gy is
        // [k, n] over depth m (the same products bench_gemm times).
        const GemmShape s = variant == "gyBt"   ? GemmShape{forward.m, forward.n, forward.k}
                            : variant == "Atgy" ? GemmShape{forward.k, forward.m, forward.n}
                                                : forward;
        const std::string shape = std::to_string(s.m) + "x" + std::to_string(s.k) + "x" + std::to_string(s.n);
        const std::string suffix = variant.empty() ? "" : "_" + variant;
        register_benchmark("gemm_f32_" + shape + suffix + threads + "/libtorch", gemm, s, variant, t);
      }
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("libtorch", TORCH_VERSION);
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
