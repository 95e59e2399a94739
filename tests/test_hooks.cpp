// The op boundary (hooks.hpp, Note [Op boundary] in src/hooks.cpp) and anomaly mode built on it.
#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "helpers.hpp"

using namespace tapegrad;

namespace {

// What a listener saw of one event, copied (the event object is reused).
struct Seen {
  std::string name;
  int line = 0;
  std::string file;
  Phase phase = Phase::forward;
  int depth = 0;
  std::string parent;
  std::uint64_t serial = 0;
  bool custom = false, failed = false;
  std::vector<Tensor> inputs, outputs;
  std::vector<std::size_t> gradient_for;
};

struct Recorder : OpListener {
  std::vector<Seen> begun, ended;
  int open = 0;
  static Seen copy(const OpEvent& e) {
    return {std::string(e.name),
            static_cast<int>(e.at.line()),
            e.at.file_name(),
            e.phase,
            e.depth,
            e.parent ? std::string(e.parent->name) : "",
            e.serial,
            e.custom,
            e.failed,
            e.inputs,
            e.outputs,
            e.gradient_for};
  }
  void begin(const OpEvent& e) override {
    ++open;
    begun.push_back(copy(e));
  }
  void end(const OpEvent& e) override {
    --open;
    ended.push_back(copy(e));
  }
  // The ended events at depth 0.
  std::vector<Seen> top() const {
    std::vector<Seen> out;
    for (const Seen& s : ended)
      if (s.depth == 0) out.push_back(s);
    return out;
  }
};

struct Square : Function<Square> {
  static constexpr const char* name = "square";
  static Tensor forward(Context& ctx, const Tensor& x) {
    ctx.save_for_backward({x});
    return mul(x, x);
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& gy) {
    return {gy[0] * 2.0 * ctx.saved()[0]};
  }
};

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string here(int line) { return "test_hooks.cpp:" + std::to_string(line); }

}  // namespace

TEST_CASE(
    "op boundary: each op the user calls is one event at depth 0 with its name, line, inputs and outputs") {
  Tensor x = test::sample({3}), w = test::sample({3});
  Recorder r;
  Tensor y;
  int line = 0;
  {
    ListenGuard listening(r);
    line = __LINE__ + 1;
    y = tanh(x * w + x);
  }
  CHECK(r.open == 0);
  std::vector<Seen> top = r.top();
  REQUIRE(top.size() == 3);
  CHECK(top[0].name == "mul");
  CHECK(top[1].name == "add");
  CHECK(top[2].name == "tanh");
  for (const Seen& s : top) {
    CHECK(s.line == line);
    CHECK(ends_with(s.file, "test_hooks.cpp"));
    CHECK(s.phase == Phase::forward);
    CHECK(s.serial > 0);  // recorded: x requires grad
    CHECK_FALSE(s.custom);
    CHECK_FALSE(s.failed);
    REQUIRE(s.outputs.size() == 1);
  }
  CHECK(top[0].inputs.size() == 2);
  CHECK(top[0].inputs[0].same(x));
  CHECK(top[0].inputs[1].same(w));
  CHECK(top[1].inputs[0].same(top[0].outputs[0]));
  CHECK(top[2].outputs[0].same(y));
  CHECK(top[0].serial < top[1].serial);
  CHECK(top[1].serial < top[2].serial);
}

namespace {

using Outputs = std::vector<Tensor>;
Outputs values_indices(const ValuesIndices& r) { return {r.values, r.indices}; }
struct OpRow {
  std::string name;
  int line;
  std::function<Outputs()> call;
};

}  // namespace

TEST_CASE("op boundary: every public op passes it at the user's line, forward and backward") {
  Tensor x = test::sample({2, 3}), y = test::sample({2, 3}), m = test::sample({3, 2});
  Tensor mask = y.detach() > 0.0;
  Tensor index = tensor({1.0, 0.0}, int64), picks = zeros({2, 3}, int64);
  Tensor log_probs = log_softmax(x.detach(), 1), targets = tensor({2.0, 0.0}, int64);
  // Each row's call must stay on the row's line.
  // clang-format off
  const std::vector<OpRow> rows = {
      {"neg", __LINE__, [&] { return Outputs{neg(x)}; }},
      {"exp", __LINE__, [&] { return Outputs{exp(x)}; }},
      {"log", __LINE__, [&] { return Outputs{log(x)}; }},
      {"log1p", __LINE__, [&] { return Outputs{log1p(x)}; }},
      {"sqrt", __LINE__, [&] { return Outputs{sqrt(x)}; }},
      {"rsqrt", __LINE__, [&] { return Outputs{rsqrt(x)}; }},
      {"abs", __LINE__, [&] { return Outputs{abs(x)}; }},
      {"sin", __LINE__, [&] { return Outputs{sin(x)}; }},
      {"cos", __LINE__, [&] { return Outputs{cos(x)}; }},
      {"tanh", __LINE__, [&] { return Outputs{tanh(x)}; }},
      {"sigmoid", __LINE__, [&] { return Outputs{sigmoid(x)}; }},
      {"relu", __LINE__, [&] { return Outputs{relu(x)}; }},
      {"gelu", __LINE__, [&] { return Outputs{gelu(x)}; }},
      {"silu", __LINE__, [&] { return Outputs{silu(x)}; }},
      {"leaky_relu", __LINE__, [&] { return Outputs{leaky_relu(x)}; }},
      {"elu", __LINE__, [&] { return Outputs{elu(x)}; }},
      {"softplus", __LINE__, [&] { return Outputs{softplus(x)}; }},
      {"clamp", __LINE__, [&] { return Outputs{clamp(x, -0.5, 0.5)}; }},
      {"clamp_min", __LINE__, [&] { return Outputs{clamp_min(x, 0.0)}; }},
      {"clamp_max", __LINE__, [&] { return Outputs{clamp_max(x, 0.0)}; }},
      {"pow", __LINE__, [&] { return Outputs{pow(x, 2.0)}; }},
      {"add", __LINE__, [&] { return Outputs{add(x, y)}; }},
      {"sub", __LINE__, [&] { return Outputs{sub(x, y)}; }},
      {"mul", __LINE__, [&] { return Outputs{mul(x, y)}; }},
      {"div", __LINE__, [&] { return Outputs{div(x, y)}; }},
      {"pow", __LINE__, [&] { return Outputs{pow(abs(x).detach(), y)}; }},
      {"maximum", __LINE__, [&] { return Outputs{maximum(x, y)}; }},
      {"minimum", __LINE__, [&] { return Outputs{minimum(x, y)}; }},
      {"where", __LINE__, [&] { return Outputs{where(mask, x, y)}; }},
      {"eq", __LINE__, [&] { return Outputs{eq(x, y)}; }},
      {"ne", __LINE__, [&] { return Outputs{ne(x, y)}; }},
      {"lt", __LINE__, [&] { return Outputs{lt(x, y)}; }},
      {"le", __LINE__, [&] { return Outputs{le(x, y)}; }},
      {"gt", __LINE__, [&] { return Outputs{gt(x, y)}; }},
      {"ge", __LINE__, [&] { return Outputs{ge(x, y)}; }},
      {"sum", __LINE__, [&] { return Outputs{sum(x)}; }},
      {"mean", __LINE__, [&] { return Outputs{mean(x)}; }},
      {"var", __LINE__, [&] { return Outputs{var(x)}; }},
      {"max", __LINE__, [&] { return Outputs{max(x)}; }},
      {"min", __LINE__, [&] { return Outputs{min(x)}; }},
      {"argmax", __LINE__, [&] { return Outputs{argmax(x)}; }},
      {"argmin", __LINE__, [&] { return Outputs{argmin(x)}; }},
      {"logsumexp", __LINE__, [&] { return Outputs{logsumexp(x)}; }},
      {"softmax", __LINE__, [&] { return Outputs{softmax(x, 1)}; }},
      {"log_softmax", __LINE__, [&] { return Outputs{log_softmax(x, 1)}; }},
      {"max", __LINE__, [&] { return values_indices(max_with_indices(x, 1)); }},
      {"min", __LINE__, [&] { return values_indices(min_with_indices(x, 1)); }},
      {"view", __LINE__, [&] { return Outputs{view(x, {3, 2})}; }},
      {"reshape", __LINE__, [&] { return Outputs{reshape(x, {6})}; }},
      {"flatten", __LINE__, [&] { return Outputs{flatten(x)}; }},
      {"permute", __LINE__, [&] { return Outputs{permute(x, {1, 0})}; }},
      {"transpose", __LINE__, [&] { return Outputs{transpose(x, 0, 1)}; }},
      {"squeeze", __LINE__, [&] { return Outputs{squeeze(unsqueeze(x, 0).detach())}; }},
      {"unsqueeze", __LINE__, [&] { return Outputs{unsqueeze(x, 0)}; }},
      {"slice", __LINE__, [&] { return Outputs{slice(x, 1, 0, 2)}; }},
      {"narrow", __LINE__, [&] { return Outputs{narrow(x, 1, 1, 2)}; }},
      {"expand", __LINE__, [&] { return Outputs{expand(x, {4, 2, 3})}; }},
      {"broadcast_to", __LINE__, [&] { return Outputs{broadcast_to(x, {4, 2, 3})}; }},
      {"concat", __LINE__, [&] { return Outputs{concat({x, y}, 0)}; }},
      {"stack", __LINE__, [&] { return Outputs{stack({x, y}, 0)}; }},
      {"split", __LINE__, [&] { return split(x, 1, 1); }},
      {"pad", __LINE__, [&] { return Outputs{pad(x, {1, 1})}; }},
      {"select", __LINE__, [&] { return Outputs{select(x, 0, 1)}; }},
      {"index_select", __LINE__, [&] { return Outputs{index_select(x, 0, index)}; }},
      {"gather", __LINE__, [&] { return Outputs{gather(x, 1, picks)}; }},
      {"matmul", __LINE__, [&] { return Outputs{matmul(x, m)}; }},
      {"nll_loss", __LINE__, [&] { return Outputs{nll_loss(log_probs, targets)}; }},
      {"cross_entropy", __LINE__, [&] { return Outputs{cross_entropy(x, targets)}; }},
      {"to", __LINE__, [&] { return Outputs{x.to(float32)}; }},
      {"contiguous", __LINE__, [&] { return Outputs{transpose(x.detach(), 0, 1).contiguous()}; }},
      {"clone", __LINE__, [&] { return Outputs{x.clone()}; }},
  };
  // clang-format on
  for (const OpRow& row : rows) {
    INFO(row.name << " (line " << row.line << ")");
    Recorder r;
    Outputs out;
    {
      ListenGuard listening(r);
      out = row.call();
    }
    REQUIRE(!out.empty());
    // The last op at depth 0 is the one the row calls (some rows detach a helper's result first).
    const std::vector<Seen> top = r.top();
    REQUIRE(!top.empty());
    const Seen& s = top.back();
    CHECK(s.name == row.name);
    CHECK(s.line == row.line);
    CHECK(s.phase == Phase::forward);
    REQUIRE(s.outputs.size() == out.size());
    for (std::size_t k = 0; k < out.size(); ++k) CHECK(s.outputs[k].same(out[k]));
    if (!out[0].requires_grad()) continue;
    Tensor l = sum(out[0]);
    Recorder rb;
    {
      ListenGuard listening(rb);
      l.backward();
    }
    bool ran = false;
    for (const Seen& b : rb.ended)
      ran = ran || (b.phase == Phase::backward && b.line == row.line && b.depth == 1);
    CHECK_MESSAGE(ran, "no backward event at the row's line");
  }
}

TEST_CASE("op boundary: with recording off the outputs are still reported, with no tape position") {
  Tensor x = test::sample({2});
  Recorder r;
  Tensor y;
  {
    NoGradGuard no_grad;
    ListenGuard listening(r);
    y = exp(x);
  }
  REQUIRE(r.top().size() == 1);
  CHECK(r.top()[0].serial == 0);
  REQUIRE(r.top()[0].outputs.size() == 1);
  CHECK(r.top()[0].outputs[0].same(y));
}

TEST_CASE("op boundary: an op run by another op's implementation is nested, with its parent and depth") {
  Tensor x = test::sample({3});
  Recorder r;
  {
    ListenGuard listening(r);
    clamp_min(x, 0.0);
  }
  REQUIRE(r.ended.size() == 2);
  // Ends come innermost first.
  CHECK(r.ended[0].name == "clamp");
  CHECK(r.ended[0].depth == 1);
  CHECK(r.ended[0].parent == "clamp_min");
  CHECK(r.ended[1].name == "clamp_min");
  CHECK(r.ended[1].depth == 0);
  CHECK(r.ended[1].outputs.size() == 1);
  // Begins come outermost first.
  CHECK(r.begun[0].name == "clamp_min");
  CHECK(r.begun[1].name == "clamp");
}

TEST_CASE("op boundary: backward runs one event per entry, at the forward call's line, with the gradients") {
  Tensor x = test::sample({3}), w = test::sample({3});
  const int mul_line = __LINE__ + 1;
  Tensor y = x * w;
  const int sum_line = __LINE__ + 1;
  Tensor l = sum(y);
  Recorder r;
  {
    ListenGuard listening(r);
    l.backward();
  }
  std::vector<Seen> backward_events;
  for (const Seen& s : r.ended)
    if (s.phase == Phase::backward) backward_events.push_back(s);
  REQUIRE(backward_events.size() == 2);
  CHECK(backward_events[0].name == "sum");
  CHECK(backward_events[0].line == sum_line);
  CHECK(backward_events[1].name == "mul");
  CHECK(backward_events[1].line == mul_line);
  CHECK(backward_events[0].serial > backward_events[1].serial);
  // mul's backward: gy in, one gradient per input out.
  const Seen& m = backward_events[1];
  REQUIRE(m.inputs.size() == 1);
  CHECK(m.inputs[0].shape() == Shape{3});
  REQUIRE(m.outputs.size() == 2);
  CHECK(m.gradient_for == std::vector<std::size_t>{0, 1});
  test::check_close(m.outputs[0], w.detach().to_vector<double>(), 1e-12);  // d(x w)/dx = w
  // The entries run inside the backward() call's own event.
  CHECK(m.depth == 1);
  CHECK(m.parent == "backward");
}

TEST_CASE("op boundary: custom functions pass it, both forms") {
  Tensor x = test::sample({2});
  Recorder r;
  Tensor y, z;
  int line = 0;
  {
    ListenGuard listening(r);
    line = __LINE__ + 1;
    y = Square::apply(x);
    z = record("twice", {x}, add(x, x).detach(), {}, [](Context& b) { b.accumulate(0, b.gy() * 2.0); });
  }
  std::vector<Seen> top = r.top();
  REQUIRE(top.size() == 3);  // square, the add making twice's value, twice
  CHECK(top[0].name == "square");
  CHECK(top[0].custom);
  CHECK(top[0].line == line);
  CHECK(top[0].outputs[0].same(y));
  CHECK(top[0].serial > 0);
  CHECK(top[1].name == "add");
  CHECK(top[2].name == "twice");
  CHECK(top[2].custom);
  CHECK(top[2].line == line + 1);
  CHECK(top[2].outputs[0].same(z));
  // The forward's own mul is nested in square.
  bool nested_mul = false;
  for (const Seen& s : r.ended)
    nested_mul = nested_mul || (s.name == "mul" && s.depth == 1 && s.parent == "square");
  CHECK(nested_mul);
}

TEST_CASE("op boundary: an op that throws still ends its event, marked failed, and the depth recovers") {
  Recorder r;
  {
    ListenGuard listening(r);
    CHECK_THROWS_AS(matmul(zeros({2, 3}), zeros({2, 3})), ShapeError);
    exp(zeros({1}));
  }
  CHECK(r.open == 0);
  REQUIRE(r.top().size() >= 2);
  bool failed_matmul = false;
  for (const Seen& s : r.ended)
    failed_matmul = failed_matmul || (s.name == "matmul" && s.failed && s.outputs.empty());
  CHECK(failed_matmul);
  CHECK(r.top().back().name == "exp");
  CHECK(r.top().back().depth == 0);
}

TEST_CASE("op boundary: ops a listener runs pass no boundary, and guards nest") {
  struct Summing : OpListener {
    int seen = 0;
    void end(const OpEvent& e) override {
      ++seen;
      if (!e.outputs.empty() && e.outputs[0].defined()) sum(e.outputs[0]);  // would recurse without the rule
    }
  };
  Summing a;
  Recorder b;
  {
    ListenGuard first(a);
    ListenGuard second(b);
    exp(ones({2}));
  }
  CHECK(a.seen == 2);  // ones, exp
  CHECK(b.ended.size() == 2);
  exp(ones({2}));  // nobody listens any more
  CHECK(a.seen == 2);
}

// ------------------------------------------------------------------ anomaly mode

namespace {

AnomalyError anomaly_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const AnomalyError& e) {
    return e;
  }
  FAIL("no AnomalyError thrown");
  return AnomalyError("", "", "", {}, false, 0);
}

}  // namespace

TEST_CASE("anomaly mode: log(0) gives -inf in forward, named with the op and the user's line") {
  for (bool grad : {true, false}) {
    INFO("requires grad: " << grad);
    Tensor x = tensor({1.0, 0.0});
    x.requires_grad_(grad);
    int line = 0;
    AnomalyError e = anomaly_of([&] {
      DetectAnomalyGuard anomaly;
      line = __LINE__ + 1;
      Tensor y = log(x);
    });
    CHECK(e.op() == "log");
    CHECK(e.where() == here(line));
    CHECK_FALSE(e.in_backward());
    CHECK((e.serial() > 0) == grad);
    const std::string m = e.what();
    CHECK(m.find("forward") != std::string::npos);
    CHECK(m.find("-inf at element 1 of output 0") != std::string::npos);
    CHECK(m.starts_with("log: "));
  }
}

TEST_CASE("anomaly mode: 0/0 gives NaN in forward, through the operator") {
  Tensor z = test::sample({2}) * 0.0;
  int line = 0;
  AnomalyError e = anomaly_of([&] {
    DetectAnomalyGuard anomaly;
    line = __LINE__ + 1;
    Tensor y = z / z;
  });
  CHECK(e.op() == "div");
  CHECK(e.where() == here(line));
  CHECK(std::string(e.what()).find("nan at element 0") != std::string::npos);
  // int64 / int64 is true division (float32): 0 / 0 makes a NaN from inputs that have none.
  Tensor i = arange(3.0, int64);
  e = anomaly_of([&] {
    DetectAnomalyGuard anomaly;
    line = __LINE__ + 1;
    Tensor y = i / i;
  });
  CHECK(e.op() == "div");
  CHECK(e.where() == here(line));
}

TEST_CASE("anomaly mode: exp overflowing float32 is caught in forward") {
  Tensor x = full({3}, 100.0, float32);
  int line = 0;
  AnomalyError e = anomaly_of([&] {
    DetectAnomalyGuard anomaly;
    line = __LINE__ + 1;
    Tensor y = exp(x);
  });
  CHECK(e.op() == "exp");
  CHECK(e.where() == here(line));
  CHECK(std::string(e.what()).find("inf at element 0") != std::string::npos);
}

TEST_CASE(
    "anomaly mode: sqrt'(0) is infinite in backward, named with the forward call's line and tape entry") {
  Tensor x = zeros({2}, float64);
  x.requires_grad_();
  int line = 0;
  AnomalyError e = anomaly_of([&] {
    DetectAnomalyGuard anomaly;
    line = __LINE__ + 1;  // sqrt(0) = 0: the forward is fine
    Tensor y = sqrt(x);
    sum(y).backward();
  });
  CHECK(e.op() == "sqrt");
  CHECK(e.where() == here(line));
  CHECK(e.in_backward());
  CHECK(e.serial() > 0);
  const std::string m = e.what();
  CHECK(m.find("backward") != std::string::npos);
  CHECK(m.find("inf at element 0 of the gradient for input 0") != std::string::npos);
  CHECK(m.find("tape entry " + std::to_string(e.serial())) != std::string::npos);
}

TEST_CASE("anomaly mode: a custom function's forward and backward are checked too") {
  struct BadBackward : Function<BadBackward> {
    static Tensor forward(Context&, const Tensor& x) { return x * 1.0; }
    static std::vector<Tensor> backward(Context&, const std::vector<Tensor>& gy) { return {gy[0] / 0.0}; }
  };
  Tensor x = test::sample({2});
  int line = 0;
  AnomalyError e = anomaly_of([&] {
    DetectAnomalyGuard anomaly;
    line = __LINE__ + 1;
    Tensor y = BadBackward::apply(x);
    sum(y).backward();
  });
  CHECK(e.where() == here(line));
  CHECK(e.in_backward());
}

TEST_CASE("anomaly mode: off, none of these throw; on, an infinity passed in flows through") {
  Tensor zero = zeros({2}, float64);
  zero.requires_grad_();
  CHECK_FALSE(is_anomaly_enabled());
  CHECK_NOTHROW(log(zeros({2})));
  CHECK_NOTHROW(zeros({2}) / zeros({2}));
  CHECK_NOTHROW(exp(full({1}, 100.0, float32)));
  CHECK_NOTHROW(sum(sqrt(zero)).backward());
  DetectAnomalyGuard anomaly;
  CHECK(is_anomaly_enabled());
  Tensor mask = tensor({0.0, -INFINITY});
  Tensor scores = test::sample({2});
  Tensor p;
  CHECK_NOTHROW(p = softmax(scores + mask.to(float64), 0));  // a -inf mask is deliberate
  CHECK_NOTHROW(sum(p).backward());
  CHECK_NOTHROW(full({2}, INFINITY));  // creation makes what it is asked for
  // Ops a library op runs on its own are judged by that op's result: logsumexp of a -inf row is -inf,
  // from a non-finite input, so not flagged.
  CHECK_NOTHROW(logsumexp(tensor({-INFINITY, -INFINITY})));
}
