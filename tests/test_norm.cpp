// Normalisation ops: a table of variants (gradcheck, fast gradcheck, gradgradcheck in float64, and
// the create_graph gradients equal to the fused first-order ones), PyTorch fixtures
// (tests/data/make_norm.py: values, gradients, updated running statistics), numerical care (float32
// far from 0, constant channels, NaN), determinism across thread counts, and the bad-input rows.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>

#include "bad_input.hpp"

using namespace tapegrad;
namespace fs = std::filesystem;

namespace {

struct NormInfo {
  std::string name;
  std::function<Tensor(const std::vector<Tensor>&)> f;
  std::vector<std::vector<Tensor>> samples;
};

Tensor constant(const Shape& shape, double low, double high) {
  static Generator gen(99);
  return uniform(shape, low, high, float64, &gen);
}

// A float64 leaf [N, C, L] whose channel 1 holds one value: variance 0.
Tensor with_constant_channel(const Shape& shape) {
  Tensor x = test::sample(shape).detach();
  select(x, 1, 1).fill_(0.75);
  x.requires_grad_();
  return x;
}

std::vector<NormInfo> norm_infos() {
  auto s = [](const Shape& shape) { return test::sample(shape); };
  std::vector<NormInfo> ops;
  auto add = [&](std::string name, std::function<Tensor(const std::vector<Tensor>&)> f,
                 std::vector<std::vector<Tensor>> samples) {
    ops.push_back({std::move(name), std::move(f), std::move(samples)});
  };
  // batch_norm in training mode: the statistics are functions of x.
  add("batch_norm train", [](auto& x) { return batch_norm(x[0], {}, {}, x[1], x[2], true); },
      {{s({5, 3}), s({3}), s({3})}, {s({3, 2, 4}), s({2}), s({2})}, {s({2, 3, 2, 3}), s({3}), s({3})},
       {s({2, 2, 1, 1, 3}), s({2}), s({2})}});
  add("batch_norm train without affine", [](auto& x) { return batch_norm(x[0], {}, {}, {}, {}, true); },
      {{s({4, 3})}, {s({2, 3, 5})}, {s({2, 2, 2, 3})}});
  add("batch_norm train, weight only, eps 0.1",
      [](auto& x) { return batch_norm(x[0], {}, {}, x[1], {}, true, 0.1, 0.1); }, {{s({3, 2, 2}), s({2})}});
  add("batch_norm train, bias only", [](auto& x) { return batch_norm(x[0], {}, {}, {}, x[1], true); },
      {{s({3, 2, 2}), s({2})}});
  add("batch_norm train updating running statistics", [](auto& x) {
        static Tensor running_mean = zeros({3}, float64), running_var = ones({3}, float64);
        return batch_norm(x[0], running_mean, running_var, x[1], x[2], true, 0.3);
      },
      {{s({4, 3, 2}), s({3}), s({3})}});
  add("batch_norm train, a constant channel", [](auto& x) { return batch_norm(x[0], {}, {}, x[1], x[2], true); },
      {{with_constant_channel({4, 3, 2}), s({3}), s({3})}});
  add("batch_norm train, an empty batch", [](auto& x) { return batch_norm(x[0], {}, {}, x[1], x[2], true); },
      {{s({0, 3}), s({3}), s({3})}});
  add("batch_norm eval", [](auto& x) {
        static Tensor running_mean = constant({3}, -1, 1), running_var = constant({3}, 0.5, 2);
        return batch_norm(x[0], running_mean, running_var, x[1], x[2], false);
      },
      {{s({4, 3}), s({3}), s({3})}, {s({2, 3, 2, 2}), s({3}), s({3})}});
  add("batch_norm eval without affine", [](auto& x) {
        static Tensor running_mean = constant({2}, -1, 1), running_var = constant({2}, 0.5, 2);
        return batch_norm(x[0], running_mean, running_var, {}, {}, false);
      },
      {{s({3, 2, 4})}});
  add("layer_norm", [](auto& x) { return layer_norm(x[0], {3, 4}, x[1], x[2]); },
      {{s({2, 3, 4}), s({3, 4}), s({3, 4})}, {s({3, 4}), s({3, 4}), s({3, 4})}});
  add("layer_norm last axis without affine", [](auto& x) { return layer_norm(x[0], {4}); },
      {{s({3, 4})}, {s({2, 3, 4})}, {s({4})}, {s({0, 4})}});
  add("layer_norm weight only", [](auto& x) { return layer_norm(x[0], {2}, x[1]); }, {{s({3, 2}), s({2})}});
  add("layer_norm bias only, eps 0.5", [](auto& x) { return layer_norm(x[0], {2}, {}, x[1], 0.5); },
      {{s({3, 2}), s({2})}});
  add("layer_norm of a transposed view", [](auto& x) { return layer_norm(transpose(x[0], 0, 1), {3}, x[1], x[2]); },
      {{s({3, 4}), s({3}), s({3})}});
  add("group_norm", [](auto& x) { return group_norm(x[0], 3, x[1], x[2]); },
      {{s({2, 6, 3}), s({6}), s({6})}, {s({2, 6, 2, 2}), s({6}), s({6})}, {s({3, 6}), s({6}), s({6})}});
  add("group_norm without affine", [](auto& x) { return group_norm(x[0], 2, {}, {}); },
      {{s({2, 4, 3})}, {s({1, 2, 2, 2})}});
  add("group_norm one group, weight only", [](auto& x) { return group_norm(x[0], 1, x[1]); },
      {{s({2, 3, 2}), s({3})}});
  add("group_norm a group per channel, bias only", [](auto& x) { return group_norm(x[0], 3, {}, x[1]); },
      {{s({2, 3, 2}), s({3})}});
  add("group_norm a constant group", [](auto& x) { return group_norm(x[0], 3, x[1], x[2]); },
      {{with_constant_channel({2, 3, 4}), s({3}), s({3})}});
  return ops;
}

// Gradients of (f(inputs) * v).sum() for v fixed, with create_graph on or off.
std::vector<Tensor> gradients(const NormInfo& op, const std::vector<Tensor>& inputs, const Tensor& v,
                              bool create_graph) {
  Tensor y = op.f(inputs);
  std::vector<Tensor> wrt;
  for (const Tensor& x : inputs) wrt.push_back(x);
  std::vector<Tensor> g = grad({sum(y * v)}, wrt, {}, false, create_graph);
  for (Tensor& t : g) t = t.detach();
  return g;
}

}  // namespace

TEST_CASE("every normalisation variant is gradchecked and gradgradchecked; create_graph gives the fused gradients") {
  std::size_t checks = 0;
  const auto ops = norm_infos();
  for (const NormInfo& op : ops) {
    for (const auto& inputs : op.samples) {
      std::string shapes;
      for (const auto& x : inputs) shapes += to_string(x.shape()) + " ";
      INFO("op: " << op.name << ", shapes " << shapes);
      CHECK(gradcheck(op.f, inputs));
      CHECK(gradcheck(op.f, inputs, {.fast_mode = true}));
      CHECK(gradgradcheck(op.f, inputs));
      // gradgradcheck differentiates the create_graph gradients, not their values: compare those.
      const Tensor v = constant(op.f(inputs).shape(), -1, 1);
      std::vector<Tensor> fused = gradients(op, inputs, v, false), with_ops = gradients(op, inputs, v, true);
      for (std::size_t k = 0; k < fused.size(); ++k)
        test::check_close(with_ops[k], fused[k].to_vector<double>(), 1e-9);
      ++checks;
    }
  }
  MESSAGE(ops.size() << " normalisation variants, " << checks << " samples");
}

// ------------------------------------------------------------------ PyTorch fixtures
namespace {

fs::path fixtures() { return fs::path(TAPEGRAD_SOURCE_DIR) / "tests" / "data" / "norm"; }

// Equal within atol + rtol |expected|, NaN where expected is NaN.
void check_matches(const std::string& what, const Tensor& actual, const Tensor& expected, double tol) {
  INFO(what);
  REQUIRE(actual.defined());
  REQUIRE(actual.shape() == expected.shape());
  std::vector<double> a = actual.detach().to(float64).to_vector<double>();
  std::vector<double> e = expected.to(float64).to_vector<double>();
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO("element " << i << ": " << a[i] << " vs PyTorch " << e[i]);
    if (std::isnan(e[i])) CHECK(std::isnan(a[i]));
    else CHECK(std::abs(a[i] - e[i]) <= tol * (1.0 + std::abs(e[i])));
  }
}

}  // namespace

TEST_CASE("batch_norm, layer_norm and group_norm match PyTorch: values, gradients, running statistics") {
  std::vector<fs::path> cases;
  for (const auto& entry : fs::directory_iterator(fixtures())) cases.push_back(entry.path());
  std::sort(cases.begin(), cases.end());
  REQUIRE(cases.size() >= 15);
  for (const fs::path& dir : cases) {
    const std::string name = dir.filename().string();
    INFO("case " << name);
    auto load = [&](const char* file) { return fs::exists(dir / (std::string(file) + ".npy")) ? load_npy(dir / (std::string(file) + ".npy")) : Tensor(); };
    auto leaf = [&](const char* file) {
      Tensor t = load(file);
      if (t.defined()) t.requires_grad_();
      return t;
    };
    Tensor x = leaf("x"), weight = leaf("weight"), bias = leaf("bias");
    Tensor running_mean = load("running_mean"), running_var = load("running_var");
    const std::vector<double> args = load("args").to_vector<double>();
    Tensor y;
    if (name.starts_with("bn_")) {
      y = batch_norm(x, running_mean, running_var, weight, bias, args[0] != 0, args[1], args[2]);
    } else if (name.starts_with("ln_")) {
      Shape shape;
      for (std::size_t k = 1; k < args.size(); ++k) shape.push_back(static_cast<std::int64_t>(args[k]));
      y = layer_norm(x, shape, weight, bias, args[0]);
    } else {
      REQUIRE(name.starts_with("gn_"));
      y = group_norm(x, static_cast<std::int64_t>(args[1]), weight, bias, args[0]);
    }
    const double tol = x.dtype() == float32 ? 2e-6 : 1e-12;
    check_matches("y", y, load("y"), tol);
    sum(y * load("gy")).backward();
    check_matches("gx", x.grad(), load("gx"), tol);
    if (weight.defined()) check_matches("gweight", weight.grad(), load("gweight"), tol);
    if (bias.defined()) check_matches("gbias", bias.grad(), load("gbias"), tol);
    if (running_mean.defined()) check_matches("running_mean", running_mean, load("running_mean_after"), tol);
    if (running_var.defined()) check_matches("running_var", running_var, load("running_var_after"), tol);
  }
}

// ------------------------------------------------------------------ numerical care
TEST_CASE("float32 data far from 0 (1e4 + small noise) keeps its statistics and gradients (float64 reference)") {
  Generator gen(7);
  Tensor x32 = add(uniform({16, 3, 50}, -0.01, 0.01, float32, &gen), full({}, 1e4));
  Tensor x64 = x32.to(float64);  // the same values
  Tensor gy64 = uniform({16, 3, 50}, -1, 1, float64, &gen), gy32 = gy64.to(float32);
  auto compare = [](const Tensor& actual32, const Tensor& reference64, double tol) {
    const std::vector<double> a = actual32.detach().to(float64).to_vector<double>();
    const std::vector<double> r = reference64.detach().to_vector<double>();
    double scale = 0, worst = 0;
    for (double v : r) scale = std::max(scale, std::abs(v));
    for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - r[i]));
    INFO("worst error " << worst << " at scale " << scale);
    CHECK(worst <= tol * scale);
  };
  using Norm = std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)>;
  const std::pair<const char*, Norm> norms[] = {
      {"batch_norm", [](auto& x, auto& rm, auto& rv) { return batch_norm(x, rm, rv, {}, {}, true, 0.5); }},
      {"layer_norm", [](auto& x, auto&, auto&) { return layer_norm(x, {50}); }},
      {"group_norm", [](auto& x, auto&, auto&) { return group_norm(x, 1); }},
  };
  for (const auto& [name, norm] : norms) {
    INFO(name);
    Tensor a = x32.detach(), b = x64.detach();
    a.requires_grad_();
    b.requires_grad_();
    Tensor rm32 = zeros({3}), rv32 = ones({3}), rm64 = zeros({3}, float64), rv64 = ones({3}, float64);
    Tensor y32 = norm(a, rm32, rv32), y64 = norm(b, rm64, rv64);
    compare(y32, y64, 1e-5);
    sum(y32 * gy32).backward();
    sum(y64 * gy64).backward();
    compare(a.grad(), b.grad(), 1e-4);
    compare(rm32, rm64, 1e-7);
    compare(rv32, rv64, 1e-5);
  }
}

TEST_CASE("a constant channel normalises to the bias exactly, and NaN stays in its channel") {
  Tensor x = tensor({{2.5, 1.0}, {2.5, -1.0}, {2.5, 3.0}});
  Tensor y = batch_norm(x, {}, {}, ones({2}), tensor({0.25, 0.0}), true);
  CHECK(y.to_vector<float>()[0] == 0.25f);
  CHECK(y.to_vector<float>()[2] == 0.25f);
  CHECK(y.to_vector<float>()[4] == 0.25f);
  Tensor with_nan = tensor({{1.0, 2.0}, {std::nan(""), 4.0}, {5.0, 7.0}});
  Tensor running_mean = zeros({2}), running_var = ones({2});
  std::vector<float> z = batch_norm(with_nan, running_mean, running_var, {}, {}, true).to_vector<float>();
  CHECK((std::isnan(z[0]) && std::isnan(z[2]) && std::isnan(z[4])));
  CHECK((std::isfinite(z[1]) && std::isfinite(z[3]) && std::isfinite(z[5])));
  CHECK(std::isnan(running_mean.to_vector<float>()[0]));
  CHECK(running_mean.to_vector<float>()[1] == doctest::Approx(0.1 * 13.0 / 3.0));
}

TEST_CASE("batch_norm's statistics and gradients are bitwise equal at 1 and 2 threads") {
  Generator gen(3);
  Tensor x = uniform({4, 8, 32, 32}, -2, 2, float32, &gen), gy = uniform({4, 8, 32, 32}, -1, 1, float32, &gen);
  auto run = [&](int threads) {
    set_num_threads(threads);
    Tensor a = x.detach(), w = ones({8}), b = zeros({8}), rv = ones({8});
    a.requires_grad_();
    w.requires_grad_();
    Tensor y = batch_norm(a, zeros({8}), rv, w, b, true);
    sum(y * gy).backward();
    std::vector<float> all = y.detach().to_vector<float>();
    for (const Tensor& t : {a.grad(), w.grad(), rv}) {
      std::vector<float> v = t.to_vector<float>();
      all.insert(all.end(), v.begin(), v.end());
    }
    return all;
  };
  const int threads = get_num_threads();
  const std::vector<float> one = run(1), two = run(2);
  set_num_threads(threads);
  CHECK(one == two);
}

TEST_CASE("batch_norm in training updates the running statistics without recording; eval uses them") {
  Tensor x = tensor({{1.0, 2.0}, {3.0, 6.0}}, float64);
  x.requires_grad_();
  Tensor running_mean = zeros({2}, float64), running_var = ones({2}, float64);
  Tensor y = batch_norm(x, running_mean, running_var, {}, {}, true, 0.5);
  CHECK_FALSE(running_mean.requires_grad());
  test::check_close(running_mean, {1.0, 2.0}, 1e-12);  // 0.5 * 0 + 0.5 * [2, 4]
  test::check_close(running_var, {1.5, 4.5}, 1e-12);   // 0.5 * 1 + 0.5 * [2, 8] (unbiased)
  Tensor eval = batch_norm(x, running_mean, running_var, {}, {}, false, 0.5, 0.0);
  test::check_close(eval, {0.0, 0.0, 2.0 / std::sqrt(1.5), 4.0 / std::sqrt(4.5)}, 1e-12);
  // Running statistics that are strided views are updated in place.
  Tensor storage = zeros({4}, float64), strided_mean = storage.slice(0, 0, 4, 2);
  batch_norm(x.detach(), strided_mean, {}, {}, {}, true, 1.0);
  CHECK(storage.to_vector<double>() == std::vector<double>{2.0, 0.0, 4.0, 0.0});
  // An empty batch leaves them as they are (PyTorch).
  batch_norm(zeros({0, 2}, float64), running_mean, running_var, {}, {}, true);
  test::check_close(running_mean, {1.0, 2.0}, 1e-12);
}

TEST_CASE("each normalisation op's boundary event ends last, with its final output (affine steps and running statistics inside it)") {
  struct Outermost : OpListener {
    std::vector<std::pair<std::string, Tensor>> ends;  // depth 0
    int last_depth = -1;                                // of the last event to end
    void end(const OpEvent& e) override {
      last_depth = e.depth;
      if (e.depth == 0 && e.phase == Phase::forward) ends.emplace_back(std::string(e.name), e.outputs.at(0));
    }
  };
  Tensor x = test::sample({2, 4, 3}), weight = test::sample({4}), bias = test::sample({4});
  Tensor rm = zeros({4}, float64), rv = ones({4}, float64), weight3 = test::sample({3}), bias3 = test::sample({3});
  const std::pair<const char*, std::function<Tensor()>> calls[] = {
      {"batch_norm", [&] { return batch_norm(x, {}, {}, weight, bias, true); }},
      {"batch_norm", [&] { return batch_norm(x, rm, rv, weight, bias, true); }},  // updates the running statistics
      {"batch_norm", [&] { return batch_norm(x, rm, rv, weight, bias, false); }},
      {"layer_norm", [&] { return layer_norm(x, {3}, weight3, bias3); }},
      {"group_norm", [&] { return group_norm(x, 2, weight, bias); }},
  };
  for (const auto& [name, call] : calls) {
    Outermost listener;
    Tensor y;
    {
      ListenGuard guard(listener);
      y = call();
    }
    INFO(name);
    REQUIRE(listener.ends.size() == 1);
    CHECK(listener.ends[0].first == name);
    CHECK(listener.ends[0].second.same(y));
    CHECK(listener.last_depth == 0);  // nothing of the op runs after its event ended
  }
}

// ------------------------------------------------------------------ bad input
namespace bad_input {
namespace {

void norm_rows(Catalogue& row) {
  row("batch_norm", [] { batch_norm(zeros({1, 3}), {}, {}, {}, {}, true); }, Expect::value, "batch_norm");  // torch: ValueError
  row("batch_norm", [] { batch_norm(zeros({1, 3, 1, 1}), {}, {}, {}, {}, true); }, Expect::value, "batch_norm");
  row("batch_norm", [] { batch_norm(f23(), {}, {}, {}, {}, false); }, Expect::value, "batch_norm");  // eval needs running statistics
  row("batch_norm", [] { batch_norm(f23(), zeros({3}), {}, {}, {}, false); }, Expect::value, "batch_norm");
  row("batch_norm", [] { batch_norm(zeros({3}), {}, {}, {}, {}, true); }, Expect::shape, "batch_norm");
  row("batch_norm", [] { batch_norm(scalar(1), {}, {}, {}, {}, true); }, Expect::shape, "batch_norm");
  row("batch_norm", [] { batch_norm(f23(), zeros({4}), ones({4}), {}, {}, true); }, Expect::shape, "batch_norm");
  row("batch_norm", [] { batch_norm(f23(), {}, {}, ones({2, 3}), {}, true); }, Expect::shape, "batch_norm");
  row("batch_norm", [] { batch_norm(f23(), {}, {}, {}, ones({2}), true); }, Expect::shape, "batch_norm");
  row("batch_norm", [] { batch_norm(f23(), zeros({3}, float64), ones({3}), {}, {}, true); }, Expect::dtype, "batch_norm");
  row("batch_norm", [] { batch_norm(f23(), {}, {}, ones({3}, int64), {}, true); }, Expect::dtype, "batch_norm");
  row("batch_norm", [] { batch_norm(zeros({2, 3}, int64), {}, {}, {}, {}, true); }, Expect::dtype, "batch_norm");
  row("batch_norm", [] { batch_norm(undef(), {}, {}, {}, {}, true); }, Expect::value, "batch_norm");
  row.outcome("batch_norm", "zero channels and an empty batch give empty outputs (torch)", [] { CHECK(batch_norm(zeros({4, 0}), {}, {}, {}, {}, true).shape() == Shape{4, 0}); CHECK(batch_norm(zeros({0, 3, 2}), {}, {}, {}, {}, true).shape() == Shape{0, 3, 2}); });
  row.outcome("batch_norm", "a negative eps gives NaN where var + eps < 0 (torch)", [] { CHECK(std::isnan(batch_norm(zeros({2, 1}), {}, {}, {}, {}, true, 0.1, -1.0).to_vector<float>()[0])); });
  row("layer_norm", [] { layer_norm(f23(), {}); }, Expect::shape, "layer_norm");
  row("layer_norm", [] { layer_norm(f23(), {2}); }, Expect::shape, "layer_norm");
  row("layer_norm", [] { layer_norm(f23(), {1, 2, 3}); }, Expect::shape, "layer_norm");
  row("layer_norm", [] { layer_norm(f23(), {-3}); }, Expect::shape, "layer_norm");
  row("layer_norm", [] { layer_norm(f23(), {3}, ones({2})); }, Expect::shape, "layer_norm");
  row("layer_norm", [] { layer_norm(f23(), {3}, {}, ones({2, 3})); }, Expect::shape, "layer_norm");
  row("layer_norm", [] { layer_norm(f23(), {3}, ones({3}, float64)); }, Expect::dtype, "layer_norm");
  row("layer_norm", [] { layer_norm(zeros({2, 3}, int64), {3}); }, Expect::dtype, "layer_norm");
  row("layer_norm", [] { layer_norm(undef(), {3}); }, Expect::value, "layer_norm");
  row.outcome("layer_norm", "a normalised size of 0 gives an empty output; of 1, zeros (torch)", [] { CHECK(layer_norm(zeros({4, 0}), {0}).shape() == Shape{4, 0}); CHECK(layer_norm(ones({2, 1}), {1}).to_vector<float>() == std::vector<float>{0, 0}); });
  row("group_norm", [] { group_norm(zeros({2, 4, 3}), 3); }, Expect::shape, "group_norm");
  row("group_norm", [] { group_norm(zeros({2, 4, 3}), 0); }, Expect::value, "group_norm");
  row("group_norm", [] { group_norm(zeros({2, 4, 3}), -2); }, Expect::value, "group_norm");
  row("group_norm", [] { group_norm(zeros({4}), 2); }, Expect::shape, "group_norm");
  row("group_norm", [] { group_norm(zeros({2, 4, 3}), 2, ones({3})); }, Expect::shape, "group_norm");
  row("group_norm", [] { group_norm(zeros({2, 4, 3}), 2, {}, ones({4}, float64)); }, Expect::dtype, "group_norm");
  row("group_norm", [] { group_norm(zeros({2, 4}, int64), 2); }, Expect::dtype, "group_norm");
  row("group_norm", [] { group_norm(undef(), 2); }, Expect::value, "group_norm");
  row.outcome("group_norm", "an empty batch or zero channels give empty outputs (torch)", [] { CHECK(group_norm(zeros({0, 4, 3}), 2).shape() == Shape{0, 4, 3}); CHECK(group_norm(zeros({2, 0, 3}), 2).shape() == Shape{2, 0, 3}); });
  row.outcome("group_norm", "zero channels in any number of groups give an empty output (torch)", [] { CHECK(group_norm(zeros({2, 0}), std::int64_t{1} << 62).shape() == Shape{2, 0}); });
  row("batch_norm", [] { batch_norm(zeros({0, std::int64_t{1} << 50}), {}, {}, {}, {}, true); }, Expect::oom, "batch_norm");  // statistics for 2^50 channels
  row("layer_norm", [] { layer_norm(zeros({std::int64_t{1} << 50, 0}), {0}); }, Expect::oom, "layer_norm");
}

Rows rows(&norm_rows);

}  // namespace
}  // namespace bad_input
