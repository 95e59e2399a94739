// nn::Module: registration and names, state_dict and its errors, modes, conversion, hooks, module names
// at the op boundary, printing; the rows of the layer table for Linear, Bilinear, the shape modules
// and Sequential; the initialisers.
#include <cmath>
#include <sstream>

#include "bad_input.hpp"
#include "layer_table.hpp"

using namespace tapegrad;

namespace {

struct Encoder : nn::Module {
  nn::Linear& fc1 = register_module("fc1", nn::Linear(4, 3));
  nn::Linear& fc2 = register_module("fc2", nn::Linear(3, 2, false));
  Tensor forward(const Tensor& x) override { return fc2(relu(fc1(x))); }
};

struct Net : nn::Module {
  Encoder& encoder = register_module("encoder", Encoder());
  Tensor& scale = register_parameter("scale", ones({2}));
  Tensor& count = register_buffer("count", zeros({1}, int64));
  Tensor forward(const Tensor& x) override { return encoder(x) * scale; }
};

void linear_layers(std::vector<test::LayerInfo>& rows) {
  rows.push_back({"Linear(3, 4)", [] { return std::make_unique<nn::Linear>(3, 4); }, {{5, 3}}, {}, {},
                  {{"weight", {4, 3}}, {"bias", {4}}}});
  rows.push_back({"Linear(3, 2, bias=false) on [2, 4, 3]", [] { return std::make_unique<nn::Linear>(3, 2, false); },
                  {{2, 4, 3}}, {}, {}, {{"weight", {2, 3}}}});
  rows.push_back({"Linear(3, 2) unbatched", [] { return std::make_unique<nn::Linear>(3, 2); }, {{3}}, {}, {}, {}});
  rows.push_back({"Bilinear(3, 2, 4)", [] { return std::make_unique<nn::Bilinear>(3, 2, 4); }, {{5, 3}, {5, 2}}, {},
                  [](nn::Module& m, const std::vector<Tensor>& xs) {
                    return std::vector<Tensor>{static_cast<nn::Bilinear&>(m)(xs[0], xs[1])};
                  },
                  {{"weight", {4, 3, 2}}, {"bias", {4}}}});
  rows.push_back({"Sequential(Flatten, Linear(6, 3), tanh lambda, Unflatten(1, {3, 1}), Identity)",
                  [] {
                    return std::make_unique<nn::Sequential>(nn::Flatten(), nn::Linear(6, 3),
                                                            [](const Tensor& x) { return tanh(x); },
                                                            nn::Unflatten(1, {3, 1}), nn::Identity());
                  },
                  {{4, 2, 3}}, {}, {}, {{"1.weight", {3, 6}}, {"1.bias", {3}}}});
  rows.push_back({"Net (nested modules, a parameter and a buffer of its own)", [] { return std::make_unique<Net>(); },
                  {{3, 4}}, {}, {},
                  {{"scale", {2}}, {"count", {1}}, {"encoder.fc1.weight", {3, 4}}, {"encoder.fc1.bias", {3}},
                   {"encoder.fc2.weight", {2, 3}}}});
}
test::LayerRows rows(&linear_layers);

}  // namespace

TEST_CASE("a model class has PyTorch's parameter names, in registration order, depth first") {
  Net net;
  std::vector<std::string> names;
  for (auto& [name, p] : net.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"scale", "encoder.fc1.weight", "encoder.fc1.bias", "encoder.fc2.weight"});
  CHECK(net.parameters().size() == 4);
  CHECK(net.parameters(false).size() == 1);
  CHECK(net.buffers().size() == 1);
  CHECK(net.children().size() == 1);
  CHECK(net.encoder.fc1.path() == "encoder.fc1");
  CHECK(&net.child("encoder.fc2") == &net.encoder.fc2);
  std::vector<std::string> modules;
  for (auto& [name, m] : net.named_modules()) modules.push_back(name);
  CHECK(modules == std::vector<std::string>{"", "encoder", "encoder.fc1", "encoder.fc2"});
  // The members are the registered tensors.
  CHECK(net.encoder.fc1.weight.same(net.named_parameters()[1].second));
  CHECK(net.encoder.fc1.weight.requires_grad());
  CHECK_FALSE(net.count.requires_grad());
}

TEST_CASE("Linear's default initialisation is PyTorch's: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias") {
  manual_seed(7);
  nn::Linear layer(400, 300);
  const double bound = 1.0 / std::sqrt(400.0);
  for (const Tensor& t : {layer.weight, layer.bias}) {
    std::vector<float> v = t.to_vector<float>();
    double low = 1, high = -1, mean = 0, square = 0;
    for (float x : v) {
      low = std::min<double>(low, x), high = std::max<double>(high, x), mean += x, square += double(x) * x;
    }
    mean /= double(v.size());
    CHECK(low >= -bound);
    CHECK(high <= bound);
    if (v.size() > 1000) {
      CHECK(high > 0.99 * bound);  // the whole interval is used
      CHECK(std::abs(mean) < 0.01 * bound);
      CHECK(square / double(v.size()) == doctest::Approx(bound * bound / 3).epsilon(0.02));  // U(-b, b) variance
    }
  }
}

TEST_CASE("load_state_dict copies into the module's own tensors and names every key at fault") {
  Net a, b;
  b.load_state_dict(a.state_dict());
  CHECK(b.encoder.fc1.weight.to_vector<float>() == a.encoder.fc1.weight.to_vector<float>());
  CHECK_FALSE(b.encoder.fc1.weight.same(a.encoder.fc1.weight));  // copied, not shared

  StateDict missing = a.state_dict();
  missing.erase("encoder.fc1.bias");
  missing.insert("encoder.fc3.weight", zeros({1}));
  std::string m = test::message_of<ValueError>([&] { b.load_state_dict(missing); });
  CHECK(m.find("missing 'encoder.fc1.bias'") != std::string::npos);
  CHECK(m.find("unexpected 'encoder.fc3.weight'") != std::string::npos);
  CHECK(m.find("test_module.cpp") != std::string::npos);
  // Not strict: unexpected keys are ignored, missing ones are still an error.
  StateDict extra = a.state_dict();
  extra.insert("decoder.weight", zeros({1}));
  b.load_state_dict(extra, false);

  StateDict shaped = a.state_dict();
  shaped.set("scale", zeros({3}));
  m = test::message_of<ShapeError>([&] { b.load_state_dict(shaped); });
  CHECK(m.find("scale: [3] for [2]") != std::string::npos);
  StateDict typed = a.state_dict();
  typed.set("count", zeros({1}));
  m = test::message_of<DTypeError>([&] { b.load_state_dict(typed); });
  CHECK(m.find("count: float32 for int64") != std::string::npos);
  // Nothing was copied by a failed load.
  typed.set("count", zeros({1}, int64));
  typed.set("scale", full({2}, 5.0));
  typed.set("encoder.fc1.bias", zeros({2}));
  CHECK_THROWS_AS(b.load_state_dict(typed), ShapeError);
  CHECK(b.scale.to_vector<float>() == std::vector<float>{1, 1});
}

TEST_CASE("train/eval, zero_grad and to(dtype) reach every module and keep the tensors' identity") {
  Net net;
  net.eval();
  CHECK_FALSE(net.encoder.fc2.is_training());
  net.train();
  CHECK(net.encoder.fc1.is_training());
  Tensor weight = net.encoder.fc1.weight;
  net(ones({2, 4})).sum().backward();
  CHECK(weight.grad().defined());
  net.zero_grad();
  CHECK_FALSE(weight.grad().defined());
  net.to(float64);
  CHECK(weight.dtype() == float64);  // the same tensor, converted
  CHECK(net.count.dtype() == int64);  // integer buffers stay
  CHECK(weight.requires_grad());
  Tensor y = net(ones({2, 4}, float64));
  CHECK(y.dtype() == float64);
}

TEST_CASE("forward pre-hooks, forward hooks and backward hooks run, and handles remove them") {
  nn::Linear layer(3, 2);
  int pre = 0, post = 0;
  Tensor grad_in, grad_out;
  auto h1 = layer.register_forward_pre_hook([&](nn::Module&, const Tensor& x) { pre += x.shape()[0] == 4; });
  auto h2 = layer.register_forward_hook([&](nn::Module&, const Tensor&, Tensor& y) {
    ++post;
    y = y * 2.0;  // a hook may replace the output
  });
  auto h3 = layer.register_full_backward_hook([&](nn::Module&, const Tensor& gx, const Tensor& gy) {
    grad_in = gx;
    grad_out = gy;
  });
  Tensor x = test::sample({4, 3}).to(float32).detach().requires_grad_();
  Tensor y = layer(x);
  y.sum().backward();
  CHECK(pre == 1);
  CHECK(post == 1);
  REQUIRE(grad_out.defined());
  CHECK(grad_out.shape() == Shape{4, 2});
  CHECK(grad_out.to_vector<float>() == std::vector<float>(8, 1.0f));  // the hooked output is the doubled one
  REQUIRE(grad_in.defined());
  CHECK(grad_in.to_vector<float>() == x.grad().to_vector<float>());
  // Without an input that requires grad, the hook still runs, with an undefined grad_input.
  grad_in = ones({1});
  layer(ones({4, 3})).sum().backward();
  CHECK_FALSE(grad_in.defined());
  h1.remove();
  h2.remove();
  h3.remove();
  h3.remove();
  layer(ones({4, 3}));
  CHECK(pre == 2);
}

TEST_CASE("ops run by a module carry its name to the op boundary, forward and backward") {
  struct Names : OpListener {
    std::vector<std::string> seen;
    void end(const OpEvent& e) override {
      if (e.depth == 0 || e.phase == Phase::backward)
        seen.push_back(std::string(e.phase == Phase::backward ? "backward " : "") + std::string(e.name) + "@" +
                       std::string(e.module));
    }
  } names;
  Net net;
  Tensor x = ones({2, 4});
  {
    ListenGuard listening(names);
    net(x).sum().backward();
  }
  auto has = [&](const std::string& s) {
    return std::find(names.seen.begin(), names.seen.end(), s) != names.seen.end();
  };
  CHECK(has("linear@encoder.fc1"));
  CHECK(has("relu@encoder"));
  CHECK(has("mul@Net"));
  CHECK(has("sum@"));
  CHECK(has("backward linear@encoder.fc2"));
  CHECK(has("backward relu@encoder"));
  CHECK(current_module() == "");
}

TEST_CASE("a layer's errors name the layer and the user's line that called it") {
  nn::Linear layer(3, 2);
  std::string m = test::message_of<ShapeError>([&] { layer(ones({4, 5})); });
  CHECK(m.starts_with("Linear: the input's last axis must be in_features (3), got [4, 5]"));
  CHECK(m.find("test_module.cpp") != std::string::npos);
  nn::Sequential seq(nn::Linear(3, 2), nn::Linear(4, 1));
  m = test::message_of<ShapeError>([&] { seq(ones({1, 3})); });
  CHECK(m.starts_with("Linear: the input's last axis must be in_features (4)"));
  CHECK(m.find("test_module.cpp") != std::string::npos);
}

TEST_CASE("a module prints like PyTorch's, and summary counts the parameters") {
  nn::Sequential seq(nn::Linear(784, 256), nn::Flatten(), nn::Sequential(nn::Linear(256, 10, false)));
  std::ostringstream out;
  out << seq;
  CHECK(out.str() ==
        "Sequential(\n"
        "  (0): Linear(in_features=784, out_features=256, bias=true)\n"
        "  (1): Flatten(start_dim=1, end_dim=-1)\n"
        "  (2): Sequential(\n"
        "    (0): Linear(in_features=256, out_features=10, bias=false)\n"
        "  )\n"
        ")");
  std::string s = nn::summary(seq);
  CHECK(s.find("0.weight  [256, 784]  200704") != std::string::npos);
  CHECK(s.find("parameters: 203520 (trainable 203520)") != std::string::npos);
}

TEST_CASE("inference under NoGradGuard records and saves nothing") {
  Net net;
  NoGradGuard no_grad;
  const auto before = tape_stats();
  Tensor y = net(ones({8, 4}));
  CHECK_FALSE(y.requires_grad());
  CHECK(tape_stats().live_entries == before.live_entries);
}

TEST_CASE("functional_call stands tensors in for parameters and puts the module's own back") {
  nn::Linear layer(2, 1);
  Tensor w = tensor({{1.0, 2.0}}).requires_grad_();
  Tensor y = nn::functional_call(layer, {{"weight", w}}, [&] { return layer(tensor({{3.0, 4.0}})); });
  y.sum().backward();
  CHECK(w.grad().to_vector<float>() == std::vector<float>{3, 4});
  CHECK_FALSE(layer.weight.grad().defined());
  CHECK(layer.weight.same(layer.named_parameters()[0].second));
  CHECK_THROWS_AS(nn::functional_call(layer, {{"weight", zeros({3})}}, [] { return 0; }), ShapeError);
}

TEST_CASE("initialisers follow torch.nn.init's formulas") {
  using namespace nn::init;
  CHECK(calculate_gain("relu") == doctest::Approx(std::sqrt(2.0)));
  CHECK(calculate_gain("tanh") == doctest::Approx(5.0 / 3.0));
  CHECK(calculate_gain("leaky_relu", 0.2) == doctest::Approx(std::sqrt(2.0 / 1.04)));
  CHECK(calculate_gain("selu") == doctest::Approx(0.75));
  Tensor conv = empty({8, 3, 5, 5});
  CHECK(fan_in_and_fan_out(conv) == std::pair<std::int64_t, std::int64_t>{75, 200});
  Generator gen(3);
  Tensor w = empty({300, 200}, float64);
  for (auto [fill, bound] : std::vector<std::pair<std::function<void()>, double>>{
           {[&] { xavier_uniform_(w, 1.0, &gen); }, std::sqrt(6.0 / 500)},
           {[&] { kaiming_uniform_(w, 0.0, FanMode::fan_out, "relu", &gen); }, std::sqrt(2.0) * std::sqrt(3.0 / 300)},
           {[&] { uniform_(w, -0.25, 0.25, &gen); }, 0.25}}) {
    fill();
    std::vector<double> v = w.to_vector<double>();
    double square = 0;
    for (double x : v) {
      CHECK(std::abs(x) <= bound);
      square += x * x;
    }
    CHECK(square / double(v.size()) == doctest::Approx(bound * bound / 3).epsilon(0.03));
  }
  kaiming_normal_(w, 0.0, FanMode::fan_in, "relu", &gen);
  double square = 0;
  for (double x : w.to_vector<double>()) square += x * x;
  CHECK(square / double(w.numel()) == doctest::Approx(2.0 / 200).epsilon(0.03));
  for (Shape shape : {Shape{5, 3}, Shape{3, 5}, Shape{4, 2, 3}}) {
    Tensor q = empty(shape, float64);
    orthogonal_(q, 2.0, &gen);
    Tensor m = reshape(q, {shape[0], -1});
    Tensor product = m.dim() == 2 && shape[0] >= m.shape()[1] ? matmul(m.t(), m) : matmul(m, m.t());
    const std::int64_t n = product.shape()[0];
    test::check_close(product, eye(n, -1, float64).mul(scalar(4.0, float64)).to_vector<double>(), 1e-12);
  }
  constant_(w, 0.5);
  CHECK(w.to_vector<double>()[7] == 0.5);
}

namespace bad_input {
namespace {

void nn_rows(Catalogue& row) {
  using namespace nn;
  row("nn::Linear::Linear", [] { Linear(-1, 2); }, Expect::value, "Linear");
  row("nn::Linear::forward", [] { Linear(3, 2)(zeros({2, 4})); }, Expect::shape, "Linear");
  row("linear", [] { linear(zeros({2, 3}), zeros({3, 3}), zeros({2})); }, Expect::shape, "linear");
  row("nn::Bilinear::Bilinear", [] { Bilinear(1, -2, 3); }, Expect::value, "Bilinear");
  row("nn::Bilinear::operator()", [] { Bilinear b(2, 3, 1); b(zeros({4, 2}), zeros({5, 3})); }, Expect::shape, "Bilinear");
  row("nn::Unflatten::forward", [] { Unflatten(3, {2, 2})(zeros({2, 4})); }, Expect::shape, "Unflatten");
  row("nn::Flatten::forward", [] { Flatten(1, 5)(zeros({2, 4})); }, Expect::shape, "flatten");
  row("nn::Module::forward", [] { Module m; m(zeros({1})); }, Expect::value, "Module");
  row("nn::Module::operator()", [] { Linear(2, 2)(undef()); }, Expect::value, "Linear");
  row("nn::Module::register_parameter", [] { Module m; m.register_parameter("w", ints()); }, Expect::dtype, "register_parameter");
  row("nn::Module::register_buffer", [] { Module m; m.register_buffer("a.b", f23()); }, Expect::value, "register_buffer");
  row("nn::Module::register_module", [] { Module m; m.register_module("x", std::unique_ptr<Module>()); }, Expect::value, "register_module");
  row("nn::Module::child", [] { Module m; m.child("nope"); }, Expect::value, "Module::child");
  row("nn::Module::load_state_dict", [] { Linear(2, 2).load_state_dict(StateDict{}); }, Expect::value, "load_state_dict");
  row("nn::Module::to", [] { Linear(2, 2).to(int64); }, Expect::dtype, "Module::to");
  row("nn::Substitution::Substitution", [] { Linear l(2, 2); Substitution s(l, {{"nope", f23()}}); }, Expect::value, "functional_call");
  row("nn::functional_call", [] { Linear l(2, 2); functional_call(l, {{"bias", f23()}}, [] { return 0; }); }, Expect::shape, "functional_call");
  row("nn::init::calculate_gain", [] { init::calculate_gain("swish"); }, Expect::value, "calculate_gain");
  row("nn::init::fan_in_and_fan_out", [] { init::fan_in_and_fan_out(zeros({3})); }, Expect::value, "fan_in_and_fan_out");
  row("nn::init::uniform_", [] { Tensor t = f23(); init::uniform_(t, 1.0, 0.0); }, Expect::value, "uniform_");
  row("nn::init::normal_", [] { Tensor t = f23(); init::normal_(t, 0.0, nan); }, Expect::value, "normal_");
  row("nn::init::constant_", [] { Tensor t = ints(); init::constant_(t, 1.0); }, Expect::dtype, "constant_");
  row("nn::init::zeros_", [] { Tensor t = undef(); init::zeros_(t); }, Expect::value, "constant_");
  row("nn::init::ones_", [] { Tensor t = ints(); init::ones_(t); }, Expect::dtype, "constant_");
  row("nn::init::xavier_uniform_", [] { Tensor t = zeros({3}); init::xavier_uniform_(t); }, Expect::value, "fan_in_and_fan_out");
  row("nn::init::xavier_normal_", [] { Tensor t = ints(); init::xavier_normal_(t); }, Expect::dtype, "xavier_normal_");
  row("nn::init::kaiming_uniform_", [] { Tensor t = zeros({0, 3}); init::kaiming_uniform_(t, 0.0, init::FanMode::fan_out); }, Expect::value, "kaiming_uniform_");
  row("nn::init::kaiming_normal_", [] { Tensor t = f23(); init::kaiming_normal_(t, 0.0, init::FanMode::fan_in, "cube"); }, Expect::value, "calculate_gain");
  row("nn::init::orthogonal_", [] { Tensor t = zeros({3}); init::orthogonal_(t); }, Expect::value, "orthogonal_");
  for (const char* name : {"nn::Module::Module", "nn::Module::parameters", "nn::Module::named_parameters", "nn::Module::buffers",
                           "nn::Module::named_buffers", "nn::Module::children", "nn::Module::named_children",
                           "nn::Module::named_modules", "nn::Module::state_dict", "nn::Module::train", "nn::Module::eval",
                           "nn::Module::is_training", "nn::Module::zero_grad", "nn::Module::type_name", "nn::Module::extra_repr",
                           "nn::Module::path", "nn::Module::register_forward_pre_hook", "nn::Module::register_forward_hook",
                           "nn::Module::register_full_backward_hook", "nn::HookHandle::HookHandle", "nn::HookHandle::remove",
                           "nn::Linear::reset_parameters", "nn::Linear::extra_repr", "nn::Bilinear::reset_parameters",
                           "nn::Bilinear::extra_repr", "nn::Identity::forward", "nn::Flatten::Flatten", "nn::Flatten::extra_repr",
                           "nn::Unflatten::Unflatten", "nn::Unflatten::extra_repr", "nn::summary", "nn::operator<<", "current_module",
                           "ModuleNameGuard::ModuleNameGuard", "nn::Functional::Functional", "nn::Functional::forward",
                           "nn::Sequential::Sequential", "nn::Sequential::push_back",
                           "nn::Sequential::forward", "nn::ModuleList::push_back", "nn::ModuleList::size"})
    row.exempt(name, "no input to check: walks, modes, accessors, printing, or options checked when the module runs");
  for (const char* name : {"nn::ModuleList::operator[]"})
    row.exempt(name, "operator[] cannot take the caller's line; out of range is a ValueError naming the size");
}

Rows rows(&nn_rows);

}  // namespace
}  // namespace bad_input
