// Convolutions. Every row of the table below (conv1d, conv2d, conv_transpose2d with stride, padding
// incl. "same" and "valid", dilation, groups, output_padding, unbatched and empty inputs) is compared
// with a direct-loop float64 reference, gradchecked and gradgradchecked, and its create_graph
// gradients are compared with the fused first-order ones. PyTorch fixtures (tests/data/conv,
// make_conv.py) pin values and gradients; the bad-input rows sit at the end.
#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <mutex>
#include <set>
#include <thread>

#include "bad_input.hpp"
#include "helpers.hpp"
#include "parallel.hpp"

using namespace tapegrad;
using test::sample;

#ifndef TAPEGRAD_SOURCE_DIR
#error "tests/meson.build passes TAPEGRAD_SOURCE_DIR, the source tree, to find the fixtures"
#endif

namespace {

enum class Kind { conv1d, conv2d, transposed };

// One call, described by its arguments (1-D calls use axis 0 of each pair).
struct ConvCase {
  std::string name;
  Kind kind;
  Shape x, weight;
  bool bias = true;
  std::array<std::int64_t, 2> stride{1, 1}, padding{0, 0}, dilation{1, 1}, output_padding{0, 0};
  std::int64_t groups = 1;
  std::string mode{};  // "same" / "valid" / "" (sizes)
};

Tensor call(const ConvCase& c, const Tensor& x, const Tensor& w, const Tensor& b) {
  auto padding2 = [&]() -> ConvPadding<2> {
    if (!c.mode.empty()) return c.mode;
    return {c.padding[0], c.padding[1]};
  };
  switch (c.kind) {
    case Kind::conv1d: {
      ConvPadding<1> padding = c.mode.empty() ? ConvPadding<1>(c.padding[0]) : ConvPadding<1>(c.mode);
      return conv1d(x, w, b, {.stride = c.stride[0], .padding = padding, .dilation = c.dilation[0], .groups = c.groups});
    }
    case Kind::conv2d:
      return conv2d(x, w, b, {.stride = {c.stride[0], c.stride[1]}, .padding = padding2(),
                              .dilation = {c.dilation[0], c.dilation[1]}, .groups = c.groups});
    case Kind::transposed:
      return conv_transpose2d(x, w, b, {.stride = {c.stride[0], c.stride[1]}, .padding = {c.padding[0], c.padding[1]},
                                        .output_padding = {c.output_padding[0], c.output_padding[1]},
                                        .groups = c.groups, .dilation = {c.dilation[0], c.dilation[1]}});
  }
  return {};
}

// The definition, in loops over float64 values (independent of im2col and GEMM): a convolution sums
// w · x over the taps that land inside the input; a transposed one scatters w · x into the output.
std::vector<double> reference(const ConvCase& c, const Tensor& x_in, const Tensor& w_in, const Tensor& b_in,
                              const Shape& out_shape) {
  const bool batched = x_in.dim() == (c.kind == Kind::conv1d ? 3 : 4);
  const std::size_t spatial = c.kind == Kind::conv1d ? 1 : 2;
  // View everything as [N, C, H, W] with H = 1 for 1-D.
  auto as4 = [&](Shape s, bool has_batch) {
    if (!has_batch) s.insert(s.begin(), 1);
    if (spatial == 1) s.insert(s.begin() + 2, 1);
    return s;
  };
  const Shape xs = as4(x_in.shape(), batched), ws = as4(w_in.shape(), true), ys = as4(out_shape, batched);
  const std::vector<double> x = x_in.detach().contiguous().to_vector<double>();
  const std::vector<double> w = w_in.detach().contiguous().to_vector<double>();
  std::vector<double> b = b_in.defined() ? b_in.detach().to_vector<double>() : std::vector<double>(ys[1], 0.0);
  std::array<std::int64_t, 2> stride{1, c.stride[0]}, dilation{1, c.dilation[0]}, pad{0, c.padding[0]};
  if (spatial == 2) stride = c.stride, dilation = c.dilation, pad = c.padding;
  if (c.mode == "same")
    for (int a = 0; a < 2; ++a) pad[a] = dilation[a] * (ws[2 + a] - 1) / 2;
  if (c.mode == "valid") pad = {0, 0};
  std::vector<double> y(static_cast<std::size_t>(ys[0] * ys[1] * ys[2] * ys[3]));
  auto at4 = [](const Shape& s, std::int64_t n, std::int64_t ch, std::int64_t i, std::int64_t j) {
    return static_cast<std::size_t>(((n * s[1] + ch) * s[2] + i) * s[3] + j);
  };
  for (std::int64_t n = 0; n < ys[0]; ++n)
    for (std::int64_t o = 0; o < ys[1]; ++o)
      for (std::int64_t i = 0; i < ys[2]; ++i)
        for (std::int64_t j = 0; j < ys[3]; ++j) y[at4(ys, n, o, i, j)] = b[static_cast<std::size_t>(o)];
  const std::int64_t g = c.groups;
  if (c.kind != Kind::transposed) {
    const std::int64_t in_per_group = ws[1], out_per_group = ys[1] / g;
    for (std::int64_t n = 0; n < ys[0]; ++n)
      for (std::int64_t o = 0; o < ys[1]; ++o)
        for (std::int64_t i = 0; i < ys[2]; ++i)
          for (std::int64_t j = 0; j < ys[3]; ++j)
            for (std::int64_t ci = 0; ci < in_per_group; ++ci)
              for (std::int64_t ki = 0; ki < ws[2]; ++ki)
                for (std::int64_t kj = 0; kj < ws[3]; ++kj) {
                  const std::int64_t h = i * stride[0] - pad[0] + ki * dilation[0];
                  const std::int64_t v = j * stride[1] - pad[1] + kj * dilation[1];
                  if (h < 0 || h >= xs[2] || v < 0 || v >= xs[3]) continue;
                  const std::int64_t channel = o / out_per_group * in_per_group + ci;
                  y[at4(ys, n, o, i, j)] += w[at4(ws, o, ci, ki, kj)] * x[at4(xs, n, channel, h, v)];
                }
  } else {
    const std::int64_t in_per_group = xs[1] / g, out_per_group = ws[1];
    for (std::int64_t n = 0; n < xs[0]; ++n)
      for (std::int64_t ci = 0; ci < xs[1]; ++ci)
        for (std::int64_t i = 0; i < xs[2]; ++i)
          for (std::int64_t j = 0; j < xs[3]; ++j)
            for (std::int64_t co = 0; co < out_per_group; ++co)
              for (std::int64_t ki = 0; ki < ws[2]; ++ki)
                for (std::int64_t kj = 0; kj < ws[3]; ++kj) {
                  const std::int64_t h = i * stride[0] - pad[0] + ki * dilation[0];
                  const std::int64_t v = j * stride[1] - pad[1] + kj * dilation[1];
                  if (h < 0 || h >= ys[2] || v < 0 || v >= ys[3]) continue;
                  const std::int64_t channel = ci / in_per_group * out_per_group + co;
                  y[at4(ys, n, channel, h, v)] += w[at4(ws, ci, co, ki, kj)] * x[at4(xs, n, ci, i, j)];
                }
  }
  return y;
}

std::vector<ConvCase> conv_cases() {
  using K = Kind;
  return {
      {"conv2d", K::conv2d, {2, 3, 5, 6}, {4, 3, 3, 3}},
      {"conv2d stride and padding per axis", K::conv2d, {2, 2, 7, 6}, {3, 2, 3, 2}, true, {2, 1}, {1, 0}},
      {"conv2d dilation", K::conv2d, {1, 2, 7, 7}, {2, 2, 3, 3}, false, {1, 1}, {2, 1}, {2, 1}},
      {"conv2d groups, stride, dilation", K::conv2d, {1, 4, 6, 5}, {6, 2, 3, 3}, true, {2, 2}, {1, 1}, {1, 2}, {0, 0}, 2},
      {"conv2d depthwise", K::conv2d, {2, 3, 5, 5}, {3, 1, 3, 3}, false, {1, 1}, {1, 1}, {1, 1}, {0, 0}, 3},
      {"conv2d same, even kernel (asymmetric)", K::conv2d, {1, 2, 5, 6}, {3, 2, 4, 3}, true, {1, 1}, {0, 0}, {2, 1}, {0, 0}, 1, "same"},
      {"conv2d same, groups", K::conv2d, {1, 4, 4, 4}, {2, 2, 3, 2}, true, {1, 1}, {0, 0}, {1, 1}, {0, 0}, 2, "same"},
      {"conv2d valid", K::conv2d, {1, 2, 5, 5}, {2, 2, 2, 3}, true, {1, 2}, {0, 0}, {1, 1}, {0, 0}, 1, "valid"},
      {"conv2d pointwise, groups", K::conv2d, {2, 4, 3, 3}, {6, 2, 1, 1}, true, {1, 1}, {0, 0}, {1, 1}, {0, 0}, 2},
      {"conv2d 1x1 with stride", K::conv2d, {1, 2, 5, 5}, {3, 2, 1, 1}, true, {2, 2}},
      {"conv2d unbatched", K::conv2d, {2, 5, 5}, {3, 2, 3, 3}, true, {1, 1}, {1, 1}},
      {"conv2d kernel as large as the padded input", K::conv2d, {1, 1, 2, 2}, {2, 1, 4, 4}, true, {1, 1}, {1, 1}},
      {"conv2d stride larger than the kernel", K::conv2d, {1, 2, 7, 7}, {2, 2, 2, 2}, true, {3, 3}, {1, 1}},
      {"conv2d zero input channels (the output is the bias)", K::conv2d, {2, 0, 4, 4}, {3, 0, 3, 3}},
      {"conv2d empty batch", K::conv2d, {0, 2, 4, 4}, {3, 2, 3, 3}},
      {"conv2d batch of 19 (weight gradient in chunks of 2 images)", K::conv2d, {19, 1, 3, 3}, {2, 1, 2, 2}, true, {1, 1}, {1, 0}},
      {"conv1d stride, padding, dilation, groups", K::conv1d, {2, 4, 9}, {6, 2, 3}, true, {2, 1}, {1, 0}, {2, 1}, {0, 0}, 2},
      {"conv1d same", K::conv1d, {1, 2, 6}, {3, 2, 4}, true, {1, 1}, {0, 0}, {1, 1}, {0, 0}, 1, "same"},
      {"conv1d unbatched", K::conv1d, {2, 7}, {3, 2, 3}},
      {"conv_transpose2d stride, padding, output_padding", K::transposed, {2, 4, 3, 3}, {4, 3, 3, 3}, true, {2, 2}, {1, 1}, {1, 1}, {1, 1}},
      {"conv_transpose2d groups, per-axis options", K::transposed, {1, 4, 3, 4}, {4, 2, 2, 3}, true, {2, 3}, {0, 1}, {1, 1}, {1, 2}, 2},
      {"conv_transpose2d dilation, output_padding below it", K::transposed, {1, 2, 3, 3}, {2, 2, 3, 3}, false, {1, 1}, {0, 0}, {2, 2}, {1, 1}},
      {"conv_transpose2d unbatched", K::transposed, {2, 3, 3}, {2, 3, 2, 2}, true, {2, 2}},
      {"conv_transpose2d pointwise", K::transposed, {2, 4, 3, 3}, {4, 2, 1, 1}},
      {"conv_transpose2d empty batch", K::transposed, {0, 2, 3, 3}, {2, 3, 2, 2}},
      {"conv_transpose2d batch of 19", K::transposed, {19, 2, 2, 2}, {2, 1, 2, 2}, true, {2, 1}},
  };
}

std::vector<Tensor> inputs_of(const ConvCase& c) {
  std::vector<Tensor> xs{sample(c.x), sample(c.weight, -1.0, 1.0)};
  const std::int64_t out_channels = c.kind == Kind::transposed ? c.weight[1] * c.groups : c.weight[0];
  if (c.bias) xs.push_back(sample({out_channels}, -1.0, 1.0));
  return xs;
}

Tensor call_with(const ConvCase& c, const std::vector<Tensor>& xs) {
  return call(c, xs[0], xs[1], xs.size() > 2 ? xs[2] : Tensor());
}

}  // namespace

TEST_CASE("every convolution row matches the direct definition, is gradchecked and gradgradchecked") {
  std::size_t rows = 0;
  for (const ConvCase& c : conv_cases()) {
    INFO("row: " << c.name);
    ++rows;
    const std::vector<Tensor> xs = inputs_of(c);
    const Tensor y = call_with(c, xs);
    test::check_close(y, reference(c, xs[0], xs[1], xs.size() > 2 ? xs[2] : Tensor(), y.shape()), 1e-12);
    auto f = [&](const std::vector<Tensor>& in) { return call_with(c, in); };
    CHECK(gradcheck(f, xs));
    CHECK(gradcheck(f, xs, {.fast_mode = true}));
    CHECK(gradgradcheck(f, xs));
    // The create_graph gradients (written with ops) equal the fused first-order ones.
    const Tensor gy = sample(y.shape()).detach();
    const std::vector<Tensor> fused = grad({call_with(c, xs)}, xs, {gy});
    const std::vector<Tensor> recorded = grad({call_with(c, xs)}, xs, {gy}, false, true);
    for (std::size_t i = 0; i < xs.size(); ++i) test::check_close(recorded[i], fused[i].to_vector<double>(), 1e-12);
  }
  MESSAGE(rows << " convolution rows");
}

TEST_CASE("conv2d of a non-contiguous input equals conv2d of its contiguous copy, gradients included") {
  Tensor base = sample({2, 5, 3, 6});  // [N, H, C, W], viewed as [N, C, H, W]
  Tensor w = sample({4, 3, 3, 2});
  Tensor x = permute(base, {0, 2, 1, 3});
  REQUIRE_FALSE(x.is_contiguous());
  const Conv2dOptions options{.stride = {1, 2}, .padding = 1};
  test::check_close(conv2d(x, w, {}, options), conv2d(x.contiguous(), w, {}, options).to_vector<double>(), 1e-14);
  CHECK(gradcheck([&](const std::vector<Tensor>& in) { return conv2d(permute(in[0], {0, 2, 1, 3}), in[1], {}, options); },
                  {base, w}));
}

TEST_CASE("convolutions match PyTorch's values and gradients (tests/data/conv/make_conv.py)") {
  const std::filesystem::path folder = std::filesystem::path(TAPEGRAD_SOURCE_DIR) / "tests" / "data" / "conv";
  // The options of make_conv.py's configurations.
  const std::vector<ConvCase> cases = {
      {"conv2d_basic", Kind::conv2d, {}, {}, true, {1, 1}, {1, 1}},
      {"conv2d_strided_groups", Kind::conv2d, {}, {}, true, {2, 1}, {1, 2}, {1, 2}, {0, 0}, 2},
      {"conv2d_same", Kind::conv2d, {}, {}, true, {1, 1}, {0, 0}, {2, 1}, {0, 0}, 1, "same"},
      {"conv1d", Kind::conv1d, {}, {}, true, {2, 1}, {2, 0}, {2, 1}, {0, 0}, 2},
      {"conv_transpose2d", Kind::transposed, {}, {}, true, {2, 3}, {1, 0}, {1, 1}, {1, 2}, 2},
  };
  for (const ConvCase& c : cases) {
    auto load = [&](const char* part) { return load_npy(folder / (c.name + "_" + part + ".npy")); };
    for (DType dtype : {float64, float32}) {
      INFO("configuration " << c.name << ", " << dtype_name(dtype));
      const double tol = dtype == float64 ? 1e-10 : 1e-5;
      std::vector<Tensor> xs{load("x").to(dtype), load("w").to(dtype), load("b").to(dtype)};
      for (Tensor& t : xs) t.requires_grad_();
      Tensor y = call_with(c, xs);
      CHECK(y.dtype() == dtype);
      y.backward(load("gy").to(dtype));
      // Relative to the largest value, so float32's cancellations near zero do not count.
      auto close = [&](const Tensor& actual, const Tensor& expected) {
        REQUIRE(actual.shape() == expected.shape());
        const std::vector<double> a = actual.detach().to(float64).to_vector<double>(), e = expected.to_vector<double>();
        double scale = 1.0;
        for (double v : e) scale = std::max(scale, std::abs(v));
        for (std::size_t i = 0; i < a.size(); ++i) CHECK(std::abs(a[i] - e[i]) <= tol * scale);
      };
      close(y, load("y"));
      close(xs[0].grad(), load("gx"));
      close(xs[1].grad(), load("gw"));
      close(xs[2].grad(), load("gb"));
    }
  }
}

TEST_CASE("convolutions give bitwise the same values and gradients at 1 and 2 threads") {
  const int threads = get_num_threads();
  Generator gen(7);
  const Tensor x = uniform({32, 8, 12, 12}, -1, 1, float32, &gen), w = uniform({16, 4, 3, 3}, -1, 1, float32, &gen);
  const Tensor b = uniform({16}, -1, 1, float32, &gen), gy = uniform({32, 16, 6, 6}, -1, 1, float32, &gen);
  const Tensor wt = uniform({8, 8, 3, 3}, -1, 1, float32, &gen);
  auto run = [&](int n) {
    set_num_threads(n);
    std::vector<Tensor> leaves{x.clone(), w.clone(), b.clone(), wt.clone()};
    for (Tensor& t : leaves) t.requires_grad_();
    Tensor y = conv2d(leaves[0], leaves[1], leaves[2], {.stride = 2, .padding = 1, .groups = 2});
    Tensor z = conv_transpose2d(leaves[0], leaves[3], {}, {.stride = 2, .padding = 1, .output_padding = 1});
    std::vector<Tensor> grads = grad({y, z}, leaves, {gy, ones_like(z)});
    std::vector<std::vector<float>> values{y.detach().to_vector<float>(), z.detach().to_vector<float>()};
    for (const Tensor& g : grads) values.push_back(g.to_vector<float>());
    return values;
  };
  const auto one = run(1);
  const auto two = run(2);
  set_num_threads(threads);
  REQUIRE(one.size() == two.size());
  for (std::size_t i = 0; i < one.size(); ++i) CHECK(one[i] == two[i]);
}

TEST_CASE("parallel: a region inside a chunk of a parallel region runs on that chunk's thread (Note [Nested regions])") {
  // Two outer chunks: one returns at once, the other runs an inner region of slow chunks. Were the inner
  // region parallel, the thread left idle would take some of its chunks.
  const int threads = get_num_threads();
  set_num_threads(2);
  std::mutex mutex;
  int inner_chunks = 0, inner_elsewhere = 0;
  parallel::for_chunks(2, 1, [&](std::int64_t begin, std::int64_t) {
    if (begin == 0) return;
    const std::thread::id self = std::this_thread::get_id();
    parallel::for_chunks(32, 1, [&](std::int64_t, std::int64_t) {
      std::this_thread::sleep_for(std::chrono::microseconds(500));
      std::lock_guard lock(mutex);
      ++inner_chunks;
      if (std::this_thread::get_id() != self) ++inner_elsewhere;
    }, parallel::serial_threshold);
  }, parallel::serial_threshold);
  set_num_threads(threads);
  CHECK(inner_chunks == 32);
  CHECK(inner_elsewhere == 0);
}

TEST_CASE("conv2d: NaN in the input spreads to the outputs whose taps read it, as in PyTorch") {
  Tensor x = zeros({1, 1, 4, 4});
  x.data<float>()[5] = std::nanf("");  // (1, 1)
  const std::vector<float> y = conv2d(x, ones({1, 1, 2, 2})).to_vector<float>();  // 3 x 3
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) CHECK(std::isnan(y[i * 3 + j]) == (i <= 1 && j <= 1));
}

namespace bad_input {
namespace {

Tensor x4() { return zeros({1, 2, 5, 5}); }
Tensor w4() { return zeros({4, 2, 3, 3}); }

void conv_rows(Catalogue& row) {
  // conv2d
  row("conv2d", [] { conv2d(undef(), w4()); }, Expect::value, "conv2d");
  row("conv2d", [] { conv2d(zeros({1, 2, 5, 5}, int64), zeros({4, 2, 3, 3}, int64)); }, Expect::dtype, "conv2d");
  row("conv2d", [] { conv2d(zeros({1, 2, 5, 5}, float64), w4()); }, Expect::dtype, "conv2d");
  row("conv2d", [] { conv2d(x4(), w4(), zeros({4}, float64)); }, Expect::dtype, "conv2d");
  row("conv2d", [] { conv2d(zeros({5, 5}), w4()); }, Expect::shape, "conv2d");
  row("conv2d", [] { conv2d(zeros({1, 1, 2, 5, 5}), w4()); }, Expect::shape, "conv2d");
  row("conv2d", [] { conv2d(x4(), zeros({4, 2, 3})); }, Expect::shape, "conv2d");
  row("conv2d", [] { conv2d(x4(), w4(), {}, {.stride = 0}); }, Expect::value, "conv2d");
  row("conv2d", [] { conv2d(x4(), w4(), {}, {.stride = {1, -1}}); }, Expect::value, "conv2d");
  row("conv2d", [] { conv2d(x4(), w4(), {}, {.padding = -1}); }, Expect::value, "conv2d");
  row("conv2d", [] { conv2d(x4(), w4(), {}, {.dilation = 0}); }, Expect::value, "conv2d");
  row("conv2d", [] { conv2d(x4(), w4(), {}, {.groups = 0}); }, Expect::value, "conv2d");
  row("conv2d", [] { conv2d(x4(), w4(), {}, {.groups = -2}); }, Expect::value, "conv2d");
  row("conv2d", [] { conv2d(x4(), w4(), {}, {.padding = "full"}); }, Expect::value, "conv2d");
  row("conv2d", [] { conv2d(x4(), w4(), {}, {.stride = 2, .padding = "same"}); }, Expect::value, "conv2d");
  row("conv2d", [] { conv2d(zeros({1, 6, 5, 5}), w4(), {}, {.groups = 3}); }, Expect::shape, "conv2d");  // 4 % 3
  row("conv2d", [] { conv2d(zeros({1, 5, 5, 5}), w4(), {}, {.groups = 2}); }, Expect::shape, "conv2d");  // wants 4 channels
  row("conv2d", [] { conv2d(zeros({1, 3, 5, 5}), w4()); }, Expect::shape, "conv2d");
  row("conv2d", [] { conv2d(x4(), zeros({0, 2, 3, 3})); }, Expect::shape, "conv2d");  // no output channels
  row("conv2d", [] { conv2d(x4(), zeros({4, 2, 0, 3})); }, Expect::shape, "conv2d");  // an empty kernel
  row("conv2d", [] { conv2d(x4(), w4(), zeros({3})); }, Expect::shape, "conv2d");
  row("conv2d", [] { conv2d(x4(), w4(), zeros({4, 1})); }, Expect::shape, "conv2d");
  row("conv2d", [] { conv2d(zeros({1, 2, 2, 2}), w4()); }, Expect::shape, "conv2d");  // kernel larger than the input
  row("conv2d", [] { conv2d(zeros({1, 2, 0, 5}), zeros({4, 2, 1, 1}), {}, {.padding = 1}); }, Expect::shape, "conv2d");
  row("conv2d", [] { conv2d(x4(), zeros({4, 2, 2, 2}), {}, {.dilation = 1LL << 62}); }, Expect::shape, "conv2d");
  row("conv2d", [] { conv2d(x4(), w4(), {}, {.padding = 1LL << 62}); }, Expect::value, "conv2d");  // overflows int64
  row("conv2d", [] { conv2d(x4(), w4(), {}, {.padding = 1LL << 40}); }, Expect::value, "conv2d");  // numel overflows
  row("conv2d", [] { conv2d(x4(), w4(), {}, {.padding = 1LL << 22}); }, Expect::oom, "conv2d");
  row.outcome("conv2d", "a huge stride reads the first tap only", [] { CHECK(conv2d(x4(), w4(), {}, {.stride = 1LL << 62}).shape() == Shape{1, 4, 1, 1}); });
  row.outcome("conv2d", "an empty batch gives an empty batch (torch)", [] { CHECK(conv2d(zeros({0, 2, 5, 5}), w4()).shape() == Shape{0, 4, 3, 3}); });
  row.outcome("conv2d", "zero input channels give the bias (torch returns no channels)", [] { CHECK(conv2d(zeros({1, 0, 3, 3}), zeros({2, 0, 1, 1}), ones({2})).to_vector<float>() == std::vector<float>(18, 1.0f)); });
  // conv1d
  row("conv1d", [] { conv1d(undef(), zeros({4, 2, 3})); }, Expect::value, "conv1d");
  row("conv1d", [] { conv1d(zeros({1, 2, 5}, int64), zeros({4, 2, 3}, int64)); }, Expect::dtype, "conv1d");
  row("conv1d", [] { conv1d(zeros({1, 2, 5, 1}), zeros({4, 2, 3})); }, Expect::shape, "conv1d");
  row("conv1d", [] { conv1d(zeros({1, 2, 5}), zeros({4, 2, 3, 1})); }, Expect::shape, "conv1d");
  row("conv1d", [] { conv1d(zeros({1, 2, 5}), zeros({4, 2, 3}), {}, {.stride = -1}); }, Expect::value, "conv1d");
  row("conv1d", [] { conv1d(zeros({1, 2, 5}), zeros({4, 2, 3}), {}, {.padding = "SAME"}); }, Expect::value, "conv1d");
  row("conv1d", [] { conv1d(zeros({1, 2, 2}), zeros({4, 2, 3})); }, Expect::shape, "conv1d");
  row("conv1d", [] { conv1d(zeros({1, 3, 5}), zeros({4, 2, 3})); }, Expect::shape, "conv1d");
  // conv_transpose2d
  row("conv_transpose2d", [] { conv_transpose2d(x4(), undef()); }, Expect::value, "conv_transpose2d");
  row("conv_transpose2d", [] { conv_transpose2d(zeros({1, 4, 5, 5}, int64), zeros({4, 2, 3, 3}, int64)); }, Expect::dtype, "conv_transpose2d");
  row("conv_transpose2d", [] { conv_transpose2d(zeros({5, 5}), w4()); }, Expect::shape, "conv_transpose2d");
  row("conv_transpose2d", [] { conv_transpose2d(zeros({1, 3, 5, 5}), w4()); }, Expect::shape, "conv_transpose2d");  // wants 4
  row("conv_transpose2d", [] { conv_transpose2d(zeros({1, 4, 5, 5}), w4(), {}, {.groups = 3}); }, Expect::shape, "conv_transpose2d");
  row("conv_transpose2d", [] { conv_transpose2d(zeros({1, 4, 5, 5}), w4(), zeros({2}), {.groups = 2}); }, Expect::shape, "conv_transpose2d");  // bias wants 2 * 2
  row("conv_transpose2d", [] { conv_transpose2d(zeros({1, 4, 5, 5}), w4(), {}, {.stride = 2, .output_padding = 2}); }, Expect::value, "conv_transpose2d");
  row("conv_transpose2d", [] { conv_transpose2d(zeros({1, 4, 5, 5}), w4(), {}, {.output_padding = -1}); }, Expect::value, "conv_transpose2d");
  row("conv_transpose2d", [] { conv_transpose2d(zeros({1, 4, 5, 5}), w4(), {}, {.padding = -1}); }, Expect::value, "conv_transpose2d");
  row("conv_transpose2d", [] { conv_transpose2d(zeros({1, 4, 1, 1}), zeros({4, 2, 1, 1}), {}, {.padding = 1}); }, Expect::shape, "conv_transpose2d");
  row("conv_transpose2d", [] { conv_transpose2d(zeros({1, 4, 0, 5}), w4()); }, Expect::shape, "conv_transpose2d");
  row("conv_transpose2d", [] { conv_transpose2d(zeros({1, 4, 5, 5}), w4(), {}, {.stride = 1LL << 62}); }, Expect::value, "conv_transpose2d");
  row.outcome("conv_transpose2d", "no output channels give an empty output (torch refuses)", [] { CHECK(conv_transpose2d(zeros({1, 4, 2, 2}), zeros({4, 0, 3, 3})).shape() == Shape{1, 0, 4, 4}); });
  row.unwalked("Spatial");
  row.unwalked("ConvPadding");
}

Rows rows(&conv_rows);

}  // namespace
}  // namespace bad_input
