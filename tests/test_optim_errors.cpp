// Optimiser state_dict layout and its load errors, gradient clipping against PyTorch
// (fixtures/optim_fixtures.hpp), hostile input, and the optimisers' bad-input rows.
#include <xmmintrin.h>

#include <cmath>
#include <limits>

#include "bad_input.hpp"
#include "fixtures/optim_fixtures.hpp"

using namespace tapegrad;
namespace fixture = test::optim_fixture;

namespace {

Tensor param(Shape shape, DType dtype = float64) {
  Tensor t = zeros(std::move(shape), dtype);
  t.requires_grad_();
  return t;
}

// An Adam (amsgrad) over w [3, 2] and b [2] after one step with gradients of ones.
struct Stepped {
  Tensor w = param({3, 2}), b = param({2});
  optim::Adam adam{{w, b}, {.lr = 0.1, .amsgrad = true}};
  Stepped() {
    w.set_grad(ones({3, 2}, float64));
    b.set_grad(ones({2}, float64));
    adam.step();
  }
};

}  // namespace

TEST_CASE("an optimiser's state_dict has PyTorch's layout, flattened") {
  Stepped s;
  const std::vector<std::string> keys = s.adam.state_dict().keys();
  CHECK(keys == std::vector<std::string>{
                    "state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq", "state.0.max_exp_avg_sq", "state.1.step",
                    "state.1.exp_avg", "state.1.exp_avg_sq", "state.1.max_exp_avg_sq", "param_groups.0.params",
                    "param_groups.0.lr", "param_groups.0.beta1", "param_groups.0.beta2", "param_groups.0.eps",
                    "param_groups.0.weight_decay", "param_groups.0.amsgrad", "param_groups.0.maximize"});
  const StateDict d = s.adam.state_dict();
  CHECK(d.at("state.1.step").item<std::int64_t>() == 1);
  CHECK(d.at("state.1.step").dim() == 0);
  CHECK(d.at("param_groups.0.lr").item() == 0.1);
  CHECK(d.at("param_groups.0.params").to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1});
  // exp_avg = (1 - beta1) * g after one step.
  test::check_close(d.at("state.0.exp_avg"), std::vector<double>(6, 0.1), 1e-15);
}

TEST_CASE("load_state_dict refuses a bad dict with a typed error naming the key, and changes nothing") {
  struct Case {
    const char* what;
    std::function<void(StateDict&)> spoil;
    const char* needle;
  };
  const std::vector<Case> cases = {
      {"a missing buffer", [](StateDict& d) { d.erase("state.1.exp_avg_sq"); }, "state.1.exp_avg_sq"},
      {"a missing option", [](StateDict& d) { d.erase("param_groups.0.eps"); }, "param_groups.0.eps"},
      {"a wrongly shaped buffer",
       [](StateDict& d) {
         d.set("state.0.exp_avg", zeros({2, 3}, float64));
       },
       "[2, 3]"},
      {"an int64 buffer",
       [](StateDict& d) {
         d.set("state.0.exp_avg", zeros({3, 2}, int64));
       },
       "int64"},
      {"an unexpected key", [](StateDict& d) { d.insert("state.7.step", scalar(1, int64)); }, "state.7.step"},
      {"a group of another size", [](StateDict& d) { d.set("param_groups.0.params", zeros({3}, int64)); }, "size"},
      {"a negative lr", [](StateDict& d) { d.set("param_groups.0.lr", scalar(-1, float64)); }, "lr=-1"},
      {"a fractional step", [](StateDict& d) { d.set("state.0.step", scalar(1.5, float64)); }, "state.0.step"},
      {"an option of two values", [](StateDict& d) { d.set("param_groups.0.lr", zeros({2}, float64)); }, "one value"},
  };
  for (const Case& c : cases) {
    SUBCASE(c.what) {
      Stepped s;
      StateDict d = s.adam.state_dict();
      c.spoil(d);
      Stepped target;
      target.adam.set_option(0, "lr", 0.5);
      const StateDict before = target.adam.state_dict();
      std::string message;
      try {
        target.adam.load_state_dict(d);
      } catch (const Error& e) {
        message = e.what();
      }
      CHECK_MESSAGE(message.find(c.needle) != std::string::npos, message);
      CHECK(message.find("Adam::load_state_dict") == 0);
      CHECK(target.adam.lr() == 0.5);
      CHECK(target.adam.state_dict().keys() == before.keys());
    }
  }
}

TEST_CASE("a loaded state is a copy: stepping after load leaves the dict unchanged") {
  Stepped s;
  const StateDict d = s.adam.state_dict();
  Stepped t;
  t.adam.load_state_dict(d);
  t.adam.step();
  CHECK(d.at("state.0.step").item<std::int64_t>() == 1);
  test::check_close(d.at("state.0.exp_avg"), std::vector<double>(6, 0.1), 1e-15);
}

TEST_CASE("clip_grad_norm_ and clip_grad_value_ match PyTorch") {
  auto make = [](DType dtype) {
    std::vector<Tensor> params{param({3, 2}, dtype), param({5}, dtype)};
    params[0].set_grad(from_vector(fixture::g1, {3, 2}).to(dtype));
    params[1].set_grad(from_vector(fixture::g2, {5}).to(dtype));
    return params;
  };
  auto grads = [](const std::vector<Tensor>& params) {
    std::vector<double> values = params[0].grad().to(float64).to_vector<double>();
    for (double v : params[1].grad().to(float64).to_vector<double>()) values.push_back(v);
    return values;
  };
  for (const fixture::Clip& clip : fixture::clips) {
    CAPTURE(clip.norm_type);
    CAPTURE(clip.max_norm);
    std::vector<Tensor> params = make(float64);
    const Tensor total = optim::clip_grad_norm_(params, clip.max_norm, clip.norm_type);
    CHECK(total.dtype() == float64);
    CHECK(total.item() == doctest::Approx(clip.total).epsilon(1e-12));
    test::check_close(params[0].grad(), {clip.grads.begin(), clip.grads.begin() + 6}, 1e-12);
    test::check_close(params[1].grad(), {clip.grads.begin() + 6, clip.grads.end()}, 1e-12);
    std::vector<Tensor> single = make(float32);
    CHECK(optim::clip_grad_norm_(single, clip.max_norm, clip.norm_type).item() ==
          doctest::Approx(clip.total).epsilon(1e-5));
    const std::vector<double> got = grads(single);
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(clip.grads[i]).epsilon(1e-5));
  }
  std::vector<Tensor> params = make(float64);
  optim::clip_grad_value_(params, 0.7);
  CHECK(grads(params) == fixture::clipped_by_value);
}

TEST_CASE("clipping a non-contiguous gradient writes through it") {
  Tensor p = param({3, 2});
  p.set_grad(from_vector(fixture::g1, {2, 3}).t());
  REQUIRE_FALSE(p.grad().is_contiguous());
  const Tensor expected = from_vector(fixture::g1, {2, 3}).t().contiguous() * 0.5;
  const double norm = optim::clip_grad_norm_({p}, 1e9).item();
  optim::clip_grad_norm_({p}, norm * 0.5);  // coefficient 0.5 n / (n + 1e-6)
  test::check_close(p.grad(), expected.to_vector<double>(), 1e-6);
  optim::clip_grad_value_({p}, 0.1);
  CHECK(p.grad().abs().max().item() <= 0.1);
}

TEST_CASE("hostile input: NaN gradients, no gradients, non-finite norms") {
  SUBCASE("a NaN gradient makes NaN parameters, as in PyTorch, and leaves the others alone") {
    Tensor w = param({2}), b = param({2});
    optim::Adam adam({w, b});
    w.set_grad(from_vector(std::vector<double>{std::nan(""), 1.0}, {2}));
    b.set_grad(ones({2}, float64));
    adam.step();
    CHECK(std::isnan(w.detach().to_vector<double>()[0]));
    CHECK(std::isfinite(w.detach().to_vector<double>()[1]));
    CHECK(std::isfinite(b.detach().to_vector<double>()[0]));
  }
  SUBCASE("clip_grad_norm_ without gradients returns 0; error_if_nonfinite raises on a NaN norm") {
    Tensor w = param({2});
    CHECK(optim::clip_grad_norm_({w}, 1.0).item() == 0.0);
    CHECK(optim::clip_grad_norm_({}, 1.0).item() == 0.0);
    w.set_grad(from_vector(std::vector<double>{std::nan(""), 1.0}, {2}));
    CHECK(test::message_of<ValueError>([&] { optim::clip_grad_norm_({w}, 1.0, 2.0, true); }).find("non-finite") !=
          std::string::npos);
    CHECK(std::isnan(optim::clip_grad_norm_({w}, 1.0).item()));
  }
  SUBCASE("a step without any gradient changes nothing and makes no state") {
    Tensor w = param({2});
    optim::SGD sgd({w}, {.lr = 0.1, .momentum = 0.9});
    sgd.step();
    CHECK(sgd.state(0) == nullptr);
    CHECK(sgd.state_dict().keys() == std::vector<std::string>{"param_groups.0.params", "param_groups.0.lr",
                                                              "param_groups.0.momentum", "param_groups.0.dampening",
                                                              "param_groups.0.weight_decay", "param_groups.0.nesterov",
                                                              "param_groups.0.maximize"});
  }
  SUBCASE("the parameters of an optimiser step may still be used by a recorded graph: its backward then fails") {
    Tensor w = param({2});
    Tensor y = (w * w).sum();
    optim::SGD sgd({w}, {.lr = 0.1});
    w.set_grad(ones({2}, float64));
    sgd.step();
    CHECK_THROWS_AS(y.backward(), GraphError);
  }
}

TEST_CASE("scheduler options that would overflow or divide by zero are refused (found by probing)") {
  Tensor p = param({2});
  optim::SGD sgd({p}, {.lr = 0.1, .momentum = 0.9});
  const std::vector<std::pair<const char*, std::function<void()>>> cases = {
      // 2 * t_max, the period of PyTorch's recurrence, overflowed int64.
      {"t_max", [&] { optim::CosineAnnealingLR s(sgd, std::int64_t{1} << 62); }},
      {"div_factor", [&] { optim::OneCycleLR s(sgd, {0.1}, 10, {.div_factor = 0.0}); }},
      {"final_div_factor", [&] { optim::OneCycleLR s(sgd, {0.1}, 10, {.final_div_factor = -1.0}); }},
  };
  for (const auto& [name, make] : cases) {
    CAPTURE(name);
    CHECK(test::message_of<ValueError>(make).find(name) != std::string::npos);
  }
}

TEST_CASE("load_state_dict reports a huge step count as a number, not 300 digits") {
  Stepped s;
  StateDict d = s.adam.state_dict();
  d.set("state.0.step", scalar(1e300, float64));
  const std::string message = test::message_of<ValueError>([&] { s.adam.load_state_dict(d); });
  CHECK(message.find("state.0.step is 1e+300") != std::string::npos);
}

TEST_CASE("an optimiser step and a clip pass the op boundary under their names, the inner ops below them") {
  // Regression: the step's event named a temporary string ("Adam::step" built in step()), read after it died.
  struct Names : OpListener {
    std::vector<std::string> top;
    void end(const OpEvent& e) override {
      if (e.depth == 0) top.emplace_back(e.name);
    }
  } names;
  Tensor w = param({300});
  optim::Adam adam({w}, {.amsgrad = true});
  w.set_grad(ones({300}, float64));
  {
    ListenGuard guard(names);
    adam.step();
    optim::clip_grad_norm_({w}, 1.0);
  }
  CHECK(names.top == std::vector<std::string>{"Adam::step", "clip_grad_norm_"});
}

namespace bad_input {
namespace {

// clang-format off

Tensor p2() { return param({2}); }

void optim_rows(Catalogue& row) {
  using namespace optim;
  row("optim::SGD::SGD", [] { SGD o({p2()}, {.lr = -1}); }, Expect::value, "SGD");
  row("optim::SGD::add_param_group", [] { SGD o({p2()}); o.add_param_group({ints()}, SGDOptions{}); }, Expect::dtype, "SGD::add_param_group");
  row("optim::Adam::Adam", [] { Adam o({}); }, Expect::value, "Adam");
  row("optim::Adam::add_param_group", [] { Tensor p = p2(); Adam o({p}); o.add_param_group({p}, AdamOptions{}); }, Expect::value, "Adam::add_param_group");
  row("optim::AdamW::AdamW", [] { AdamW o({p2()}, {.beta1 = 1.0}); }, Expect::value, "AdamW");
  row("optim::AdamW::add_param_group", [] { AdamW o({p2()}); o.add_param_group({undef()}, AdamWOptions{}); }, Expect::value, "AdamW::add_param_group");
  row("optim::RMSprop::RMSprop", [] { RMSprop o({p2()}, {.alpha = nan}); }, Expect::value, "RMSprop");
  row("optim::RMSprop::add_param_group", [] { RMSprop o({p2()}); o.add_param_group({p2()}, {.eps = -1}); }, Expect::value, "RMSprop::add_param_group");
  row("optim::Adagrad::Adagrad", [] { Adagrad o({p2() * 2.0}); }, Expect::value, "Adagrad");
  row("optim::Adagrad::add_param_group", [] { Adagrad o({p2()}); o.add_param_group({p2()}, {.lr_decay = -1}); }, Expect::value, "Adagrad::add_param_group");
  row("optim::Optimizer::add_param_group", [] { SGD o({p2()}); o.add_param_group({expand(p2().detach().narrow(0, 0, 1), {3})}); }, Expect::value, "SGD::add_param_group");
  row("optim::Optimizer::option", [] { SGD o({p2()}); o.option(0, "beta1"); }, Expect::value, "SGD::option");
  row("optim::Optimizer::set_option", [] { Adam o({p2()}); o.set_option(0, "lr", -0.5); }, Expect::value, "Adam::set_option");
  row("optim::Optimizer::lr", [] { Adam o({p2()}); o.lr(1); }, Expect::value, "Adam::option");
  row("optim::Optimizer::load_state_dict", [] { Adam o({p2()}); o.load_state_dict(StateDict{}); }, Expect::value, "Adam::load_state_dict");
  for (const char* name : {"step", "zero_grad", "param_groups", "has_option", "state", "state_dict", "name"})
    row.exempt(std::string("optim::Optimizer::") + name, "no input beyond what add_param_group and set_option checked");
  row("optim::clip_grad_norm_", [] { optim::clip_grad_norm_({p2()}, nan); }, Expect::value, "clip_grad_norm_");
  row("optim::clip_grad_value_", [] { optim::clip_grad_value_({undef()}, 1.0); }, Expect::value, "clip_grad_value_");
}

void scheduler_rows(Catalogue& row) {
  using namespace optim;
  static Tensor p = p2();
  static SGD sgd({p}, {.lr = 0.1});
  static Adagrad adagrad({p2()});
  row("optim::StepLR::StepLR", [] { StepLR s(sgd, 0); }, Expect::value, "StepLR");
  row("optim::MultiStepLR::MultiStepLR", [] { MultiStepLR s(sgd, {1, 2}, nan); }, Expect::value, "MultiStepLR");
  row("optim::ExponentialLR::ExponentialLR", [] { ExponentialLR s(sgd, -0.5); }, Expect::value, "ExponentialLR");
  row("optim::CosineAnnealingLR::CosineAnnealingLR", [] { CosineAnnealingLR s(sgd, 0); }, Expect::value, "CosineAnnealingLR");
  row("optim::LinearLR::LinearLR", [] { LinearLR s(sgd, 0.0); }, Expect::value, "LinearLR");
  row("optim::OneCycleLR::OneCycleLR", [] { OneCycleLR s(adagrad, {0.1}, 10); }, Expect::value, "OneCycleLR");
  row("optim::LRScheduler::step", [] { OneCycleLR s(sgd, {0.1}, 1); s.step(); s.step(); }, Expect::value, "OneCycleLR::step");
  row("optim::LRScheduler::load_state_dict", [] { StepLR s(sgd, 2); s.load_state_dict(StateDict{}); }, Expect::value, "StepLR::load_state_dict");
  for (const char* name : {"get_last_lr", "last_epoch", "state_dict"})
    row.exempt(std::string("optim::LRScheduler::") + name, "accessors: no input");
  row("optim::ReduceLROnPlateau::ReduceLROnPlateau", [] { ReduceLROnPlateau s(sgd, {.factor = 1.0}); }, Expect::value, "ReduceLROnPlateau");
  row("optim::ReduceLROnPlateau::load_state_dict", [] { ReduceLROnPlateau s(sgd); s.load_state_dict({{"best", scalar(1)}}); }, Expect::value, "ReduceLROnPlateau::load_state_dict");
  row.outcome("optim::ReduceLROnPlateau::step", "a NaN metric is a bad epoch, as in PyTorch", [] {
    Tensor q = p2();
    SGD o({q}, {.lr = 0.1});
    ReduceLROnPlateau s(o, {.patience = 0});
    s.step(nan);
    CHECK(o.lr() == doctest::Approx(0.01));
  });
  for (const char* name : {"get_last_lr", "state_dict"})
    row.exempt(std::string("optim::ReduceLROnPlateau::") + name, "accessors: no input");
}

// clang-format on

Rows rows(&optim_rows);
Rows more_rows(&scheduler_rows);

}  // namespace
}  // namespace bad_input

TEST_CASE("an optimiser step flushes subnormal state to zero and leaves the caller's floating-point mode as it was") {
  // Note [Denormals in optimiser state]: subnormal moments cost a microcode assist per operation.
  Tensor p = tensor({1.0f}).requires_grad_();
  p.set_grad(tensor({1e-40}));  // subnormal in float32
  optim::Adam adam({p}, {.lr = 1e-3, .beta1 = 0.5});
  const unsigned before = _mm_getcsr();
  adam.step();
  CHECK(_mm_getcsr() == before);
  CHECK(adam.state_dict().at("state.0.exp_avg").item() == 0.0);  // 5e-41 without the flush
  CHECK(p.item() == 1.0);
}
