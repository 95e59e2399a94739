// Custom differentiable functions, in both forms, gradchecked like the built-ins.
#include "helpers.hpp"

using namespace tapegrad;

namespace {

// Class form: y = x * exp(k x), saving x and a scalar on the context.
struct ScaledExp : Function<ScaledExp> {
  static constexpr const char* name = "scaled_exp";
  static Tensor forward(Context& ctx, const Tensor& x, double k) {
    ctx.save_for_backward({x});
    ctx.set("k", k);
    return x * exp(x * k);
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& gy) {
    const Tensor& x = ctx.saved()[0];
    double k = ctx.get<double>("k");
    return {gy[0] * exp(x * k) * (1.0 + x * k)};
  }
};

// Two tensor inputs: z = a * b^2.
struct MulSquare : Function<MulSquare> {
  static Tensor forward(Context& ctx, const Tensor& a, const Tensor& b) {
    ctx.save_for_backward({a, b});
    return a * b * b;
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& gy) {
    const Tensor& a = ctx.saved()[0];
    const Tensor& b = ctx.saved()[1];
    return {gy[0] * b * b, gy[0] * 2.0 * a * b};
  }
};

struct WrongCount : Function<WrongCount> {
  static Tensor forward(Context&, const Tensor& x) { return x * 1.0; }
  static std::vector<Tensor> backward(Context&, const std::vector<Tensor>& gy) { return {gy[0], gy[0]}; }
};

// Lambda form: y = x^3 with its backward next to the value.
Tensor cube(const Tensor& x, std::source_location at = std::source_location::current()) {
  Tensor value;
  {
    NoGradGuard no_grad;
    value = x * x * x;
  }
  return record("cube", {x}, value, {x}, [](Context& b) { b.accumulate(0, 3.0 * b.saved(0) * b.saved(0) * b.gy()); },
                at);
}

}  // namespace

TEST_CASE("class-form custom function: value, gradient and gradcheck") {
  Tensor x = test::sample({2, 3});
  CHECK(gradcheck([](const std::vector<Tensor>& xs) { return ScaledExp::apply(xs[0], 0.7); }, {x}));
  Tensor y = ScaledExp::apply(x, 0.7);
  CHECK(y.requires_grad());
  CHECK(tape_stats().live_entries == 1);  // one entry: the inner ops ran without recording
  sum(y).backward();
  CHECK(x.grad().shape() == x.shape());
}

TEST_CASE("class-form with two tensor inputs and broadcasting") {
  Tensor a = test::sample({3, 4}), b = test::sample({4});
  CHECK(gradcheck([](const std::vector<Tensor>& xs) { return MulSquare::apply(xs[0], xs[1]); }, {a, b}));
}

TEST_CASE("lambda-form custom function is gradchecked, and names the caller's line in errors") {
  Tensor x = test::sample({3});
  CHECK(gradcheck([](const std::vector<Tensor>& xs) { return cube(xs[0]); }, {x}));
  CHECK(gradcheck([](const std::vector<Tensor>& xs) { return cube(cube(xs[0])); }, {x}, {.fast_mode = true}));
}

TEST_CASE("a custom backward returning the wrong number of gradients raises GraphError") {
  Tensor x = test::sample({2});
  Tensor y = sum(WrongCount::apply(x));
  CHECK_THROWS_AS(y.backward(), GraphError);
}

TEST_CASE("a custom function whose saved input is modified in place is refused at backward") {
  Tensor x = test::sample({2});
  Tensor a = tensor({1.0, 2.0}, float64);
  Tensor y = sum(MulSquare::apply(x, a));
  {
    NoGradGuard no_grad;
    a.fill_(3.0);
  }
  CHECK_THROWS_AS(y.backward(), GraphError);
}

TEST_CASE("gradcheck catches a wrong gradient and reports the worst element") {
  auto wrong = [](const Tensor& x) {
    Tensor value;
    {
      NoGradGuard no_grad;
      value = x * x;
    }
    return record("wrong_square", {x}, value, {x}, [](Context& b) { b.accumulate(0, b.saved(0) * b.gy()); });
  };
  Tensor x = tensor({1.0, -2.0, 3.0}, float64);
  x.requires_grad_();
  GradcheckResult r = gradcheck([&](const std::vector<Tensor>& xs) { return wrong(xs[0]); }, {x});
  CHECK_FALSE(r);
  CHECK(r.message.find("with respect to input 0 at index [2]") != std::string::npos);
  CHECK(r.message.find("analytic 3, numeric 6") != std::string::npos);
  CHECK_FALSE(gradcheck([&](const std::vector<Tensor>& xs) { return wrong(xs[0]); }, {x}, {.fast_mode = true}));
  CHECK_THROWS_AS(gradcheck([&](const std::vector<Tensor>& xs) { return wrong(xs[0]); }, {x}, {.raise_exception = true}),
                  GraphError);
}

TEST_CASE("gradcheck promotes float32 inputs and says so; catches non-reentrant backward") {
  Tensor x = ones({2});
  x.requires_grad_();
  GradcheckResult r = gradcheck([](const std::vector<Tensor>& xs) { return exp(xs[0]); }, {x});
  CHECK(r);
  CHECK(r.message.find("promoted from float32") != std::string::npos);

  int calls = 0;
  auto flaky = [&](const Tensor& t) {
    Tensor value;
    {
      NoGradGuard no_grad;
      value = t * 1.0;
    }
    return record("flaky", {t}, value, {}, [&calls](Context& b) {
      b.accumulate(0, b.gy() * (1.0 + 1e-13 * ++calls));
    });
  };
  Tensor y = test::sample({2});
  GradcheckResult nr = gradcheck([&](const std::vector<Tensor>& xs) { return flaky(xs[0]); }, {y});
  CHECK_FALSE(nr);
  CHECK(nr.message.find("reentrant") != std::string::npos);
}

namespace {
// Saves its own output, as PyTorch code often does (ctx.save_for_backward(y)).
struct SavesOutput : Function<SavesOutput> {
  static Tensor forward(Context& ctx, const Tensor& x) {
    Tensor y = exp(x);
    ctx.save_for_backward({y});
    return y;
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& gy) { return {gy[0] * ctx.saved()[0]}; }
};
// An optional second input, saved even when absent (PyTorch allows None in save_for_backward).
struct OptionalBias : Function<OptionalBias> {
  static Tensor forward(Context& ctx, const Tensor& x, const Tensor& bias) {
    ctx.save_for_backward({x, bias});
    return bias.defined() ? x * 2.0 + bias : x * 2.0;
  }
  static std::vector<Tensor> backward(Context&, const std::vector<Tensor>& gy) { return {gy[0] * 2.0, Tensor()}; }
};
}  // namespace

TEST_CASE("a custom function that saves its own output does not keep its graph alive") {
  Tensor w = test::sample({4});
  const std::size_t before = tape_stats().live_entries;
  for (int i = 0; i < 3000; ++i) (void)SavesOutput::apply(w * 2.0);  // results dropped, never backwarded
  sum(w).backward();  // any backward sweeps the tape
  CHECK(tape_stats().live_entries <= before);
  CHECK(gradcheck([](const std::vector<Tensor>& xs) { return SavesOutput::apply(xs[0]); }, {test::sample({3})}));
}

TEST_CASE("undefined saved tensors are allowed; an undefined output is refused before touching the tape") {
  Tensor x = test::sample({3});
  const std::size_t before = tape_stats().entries;
  Tensor y = OptionalBias::apply(x, Tensor());
  CHECK(tape_stats().entries == before + 1);  // one entry: the inner ops ran unrecorded
  sum(y).backward();
  test::check_close(x.grad(), {2.0, 2.0, 2.0});
  Tensor z = test::sample({2});
  const std::size_t entries = tape_stats().entries;
  CHECK_THROWS_AS(record("bad", {z}, Tensor(), {}, [](Context&) {}), ValueError);
  CHECK(tape_stats().entries == entries);
}

TEST_CASE("backward called from inside a backward function is refused, and the outer pass stays sound") {
  Tensor a = test::sample({2});
  Tensor other = sum(a * a);
  Tensor x = test::sample({2});
  Tensor value;
  {
    NoGradGuard no_grad;
    value = x * 1.0;
  }
  bool refused = false;
  Tensor y = record("nested", {x}, value, {}, [&](Context& b) {
    try {
      other.backward();
    } catch (const GraphError&) {
      refused = true;
    }
    b.accumulate(0, b.gy());
  });
  sum(y).backward();
  CHECK(refused);
  test::check_close(x.grad(), {1.0, 1.0});
  other.backward();  // the other graph is intact
  CHECK(a.grad().defined());
}

// ------------------------------------------------------------------ second order
namespace {
// Lambda form saving its own output: y = exp(x), gx = gy * y. Under create_graph b.saved(0) is y
// with its place on the tape, so the second derivative sees y's dependence on x.
Tensor exp_saving_output(const Tensor& x) {
  Tensor y;
  {
    NoGradGuard no_grad;
    y = exp(x);
  }
  return record("exp_saving_output", {x}, y, {y}, [](Context& b) { b.accumulate(0, b.gy() * b.saved(0)); });
}
}  // namespace

TEST_CASE("custom functions whose backward is written in ops pass gradgradcheck, in both forms") {
  Tensor x = test::sample({2, 3}), a = test::sample({3, 4}), b = test::sample({4}), c = test::sample({3});
  CHECK(gradgradcheck([](const std::vector<Tensor>& xs) { return ScaledExp::apply(xs[0], 0.7); }, {x}));
  CHECK(gradgradcheck([](const std::vector<Tensor>& xs) { return MulSquare::apply(xs[0], xs[1]); }, {a, b}));
  CHECK(gradgradcheck([](const std::vector<Tensor>& xs) { return cube(xs[0]); }, {c}));
  CHECK(gradgradcheck([](const std::vector<Tensor>& xs) { return cube(cube(xs[0])); }, {c}));
}

TEST_CASE("a class-form Function that saves its output is differentiated twice through that output") {
  Tensor x = test::sample({3});
  CHECK(gradgradcheck([](const std::vector<Tensor>& xs) { return SavesOutput::apply(xs[0]); }, {x}));
}

TEST_CASE("a lambda-form record() that saves its output is differentiated twice through that output") {
  Tensor x = test::sample({3});
  CHECK(gradgradcheck([](const std::vector<Tensor>& xs) { return exp_saving_output(xs[0]); }, {x}));
  // d²/dx² exp(x) = exp(x): the second derivative comes only through the saved output.
  Tensor g = grad({sum(exp_saving_output(x))}, {x}, {}, false, true)[0];
  Tensor h = grad({sum(g)}, {x})[0];
  test::check_close(h, exp(x.detach()).to_vector<double>());
}

namespace {
// Note [One context]: the class form's ctx is the backward context too, so its backward may ask what a
// built-in op's asks (create_graph, the op, the upstream gradient) on the same object it saved into.
struct Cube : Function<Cube> {
  static constexpr const char* name = "cube";
  static Tensor forward(Context& ctx, const Tensor& x) {
    ctx.save_for_backward({x});
    ctx.set("calls", 0);
    return x * x * x;
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& gy) {
    CHECK(ctx.op() == "cube");
    CHECK(ctx.gy().same(gy[0]));
    CHECK(ctx.num_inputs() == 1);
    const Tensor& x = ctx.saved()[0];
    // First order: a fused-looking product on detached values; create_graph: ops that record.
    if (!ctx.create_graph()) return {(3.0 * x.detach() * x.detach()) * gy[0]};
    return {3.0 * x * x * gy[0]};
  }
};
}  // namespace

TEST_CASE("a class-form Function's ctx is the backward context: one name, in forward and in backward") {
  Tensor x = test::sample({4});
  CHECK(gradcheck([](const std::vector<Tensor>& xs) { return Cube::apply(xs[0]); }, {x}).ok);
  CHECK(gradgradcheck([](const std::vector<Tensor>& xs) { return Cube::apply(xs[0]); }, {x}).ok);
  Context forward_only;
  std::string m = test::message_of<GraphError>([&] { forward_only.gy(); });
  CHECK(m.starts_with("Context::gy: is only available while the op's backward runs"));
}
