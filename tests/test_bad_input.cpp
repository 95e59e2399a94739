// Note [Bad-input catalogue]: every public entry point, called with bad input (wrong shape or dtype,
// empty or undefined tensors, NaN, negative, overflowing and unallocatable sizes, indices out of range),
// raises exactly its typed error, whose message starts with "<op>: " and ends with the caller's line
// "(at test_bad_input.cpp:N)"; or, where bad input has a defined answer (the sum of nothing is 0), gives
// that answer. The list of entry points is read from the public headers when the test runs
// (test_bad_input_parse.cpp), so a new public function without a row here, or in the exemptions below,
// fails the suite with its name.
#include <cmath>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <tapegrad/xtensor.hpp>
#include <thread>
#include <xtensor/xarray.hpp>

#include "bad_input.hpp"

#ifndef TAPEGRAD_SOURCE_DIR
#error "tests/meson.build passes TAPEGRAD_SOURCE_DIR, the source tree, to find the public headers"
#endif

using namespace tapegrad;

namespace bad_input {
namespace {

// Classes whose members are not entry points to walk: exceptions, argument wrappers, plain structs and
// the shape container (an std::vector look-alike, unchecked like std::vector).
const std::set<std::string> unwalked = {
    "Error",           "ShapeError",       "DTypeError",  "GraphError", "ValueError",
    "IoError",         "OutOfMemoryError", "Located",     "TapeStats",  "GradcheckOptions",
    "GradcheckResult", "dtype_of",         "SmallVector", "MemoryStats", "AnomalyError", "OpEvent",
    "OpListener",
};

// Entry points without a row, each with the reason it cannot be given bad input.
const std::map<std::string, std::string> exempt = {
    {"Tensor::Tensor", "default: the undefined tensor; from an impl: wraps it, no check to make"},
    {"Tensor::defined", "the test for an undefined tensor: never throws"},
    {"Tensor::impl_ptr", "raw access, may be null: never throws"},
    {"Tensor::same", "pointer comparison: never throws"},
    {"Generator::Generator", "every seed is valid"},
    {"Generator::manual_seed", "every seed is valid"},
    {"Generator::seed", "accessor"},
    {"Generator::advance", "reserves counters; the 64-bit offset wraps by design (2^64 draws)"},
    {"manual_seed", "every seed is valid"},
    {"default_generator", "no input"},
    {"is_grad_enabled", "no input"},
    {"get_num_threads", "no input"},
    {"GradShards::size", "accessor"},
    {"tape_stats", "no input"},
    {"memory_stats", "no input"},
    {"empty_cache", "no input"},
    {"itemsize", "total over DType"},
    {"is_floating", "total over DType"},
    {"dtype_name", "total over DType"},
    {"to_string", "prints any shape"},
    {"format_location", "formats any location, the empty one as \"\""},
    {"from_xarray", "every xarray of float, double or int64 is a valid tensor"},
    {"Context::num_inputs", "accessor of the running backward"},
    {"Context::op", "accessor of the running backward"},
    {"Context::where", "accessor of the running backward"},
    {"Context::create_graph", "accessor of the running backward"},
    {"EnableGradGuard::EnableGradGuard", "takes no input"},
    {"Context::Context", "a forward context; its backward accessors raise GraphError (test_function.cpp)"},
    {"Context::save_for_backward", "any tensors may be saved (undefined ones too)"},
    {"Context::needs_input_grad", "an index out of range answers false"},
    {"Context::set", "any value under any key"},
    {"ListenGuard::ListenGuard", "any listener may be registered"},
    {"OpBoundary::OpBoundary", "any name, inputs and line: it only reports them to the listeners"},
    {"OpBoundary::finish", "any output (undefined too): it only reports it"},
    {"DetectAnomalyGuard::DetectAnomalyGuard", "takes no input"},
    {"is_anomaly_enabled", "no input"},
};

const char* expect_name(Expect e) {
  switch (e) {
    case Expect::shape:
      return "ShapeError";
    case Expect::dtype:
      return "DTypeError";
    case Expect::graph:
      return "GraphError";
    case Expect::value:
      return "ValueError";
    case Expect::io:
      return "IoError";
    case Expect::oom:
      return "OutOfMemoryError";
  }
  return "?";
}

bool has_type(const Error& e, Expect expect) {
  switch (expect) {
    case Expect::shape:
      return typeid(e) == typeid(ShapeError);
    case Expect::dtype:
      return typeid(e) == typeid(DTypeError);
    case Expect::graph:
      return typeid(e) == typeid(GraphError);
    case Expect::value:
      return typeid(e) == typeid(ValueError);
    case Expect::io:
      return typeid(e) == typeid(IoError);
    case Expect::oom:
      return typeid(e) == typeid(OutOfMemoryError);
  }
  return false;
}

// "" when the row holds, else what went wrong.
std::string run(const Row& row) {
  std::string site = "(at " + row.site + ")";
  try {
    row.call();
  } catch (const Error& e) {
    std::string m = e.what();
    if (!has_type(e, row.expect)) return std::string("expected ") + expect_name(row.expect) + ", got: " + m;
    if (!m.starts_with(row.op + ": ")) return "expected the message to name " + row.op + ", got: " + m;
    if (m.find(site) == std::string::npos) return "expected the message to give " + site + ", got: " + m;
    return "";
  } catch (const std::exception& e) {
    return std::string("expected ") + expect_name(row.expect) + ", got a " + typeid(e).name() + ": " +
           e.what();
  }
  return std::string("expected ") + expect_name(row.expect) + ", nothing was thrown";
}

std::vector<void (*)(Catalogue&)>& registered_rows() {
  static std::vector<void (*)(Catalogue&)> all;
  return all;
}

const Catalogue& catalogue() {
  static const Catalogue all = [] {
    Catalogue c;
    tensor_rows(c);
    ops_rows(c);
    api_rows(c);
    for (auto add : registered_rows()) add(c);
    for (const auto& [name, reason] : exempt) c.exempt(name, reason);
    return c;
  }();
  return all;
}

std::vector<std::string> entry_points() {
  std::set<std::string> types = unwalked;
  types.insert(catalogue().unwalked_types.begin(), catalogue().unwalked_types.end());
  return public_entry_points_in(std::filesystem::path(TAPEGRAD_SOURCE_DIR) / "include" / "tapegrad", types);
}

}  // namespace

Rows::Rows(void (*add)(Catalogue&)) { registered_rows().push_back(add); }

}  // namespace bad_input

using namespace bad_input;

TEST_CASE("bad-input catalogue: every row raises its typed error, naming the op and the caller's line") {
  for (const Row& row : catalogue().rows) {
    std::string problem = run(row);
    if (!problem.empty()) FAIL_CHECK(row.entry << " (" << row.site << "): " << problem);
  }
  MESSAGE(catalogue().rows.size() << " rows");
}

TEST_CASE("bad-input catalogue: defined results for bad input that must not throw") {
  for (const Outcome& o : catalogue().outcomes) {
    INFO(o.entry << ": " << o.what);
    try {
      o.check();
    } catch (const std::exception& e) {
      FAIL_CHECK("threw: " << std::string(e.what()));
    }
  }
  MESSAGE(catalogue().outcomes.size() << " outcomes");
}

TEST_CASE("bad-input catalogue: every public entry point has a row or a reasoned exemption") {
  std::set<std::string> covered;
  for (const Row& row : catalogue().rows) covered.insert(row.entry);
  for (const Outcome& o : catalogue().outcomes) covered.insert(o.entry);
  std::vector<std::string> entries = entry_points();
  std::set<std::string> found(entries.begin(), entries.end());
  const auto& exempt = catalogue().exemptions;
  MESSAGE(entries.size() << " public entry points, " << exempt.size() << " exempt");
  CHECK(entries.size() > 100);  // the parser reads the headers (a broken parser finds nothing)
  for (const std::string& name : entries)
    if (!covered.count(name) && !exempt.count(name))
      FAIL_CHECK("public function " << name
                                    << " has no row in the bad-input catalogue (tests/test_bad_input*.cpp)");
  // Rows and exemptions must name real entry points (a renamed function leaves a stale row).
  for (const std::string& name : covered)
    if (!found.count(name))
      FAIL_CHECK("the catalogue has rows for " << name << ", which no public header declares");
  for (const auto& [name, reason] : exempt)
    if (!found.count(name)) FAIL_CHECK("the exemption for " << name << " names no public function");
}

TEST_CASE("bad-input catalogue: the header parser") {
  std::string header = R"(
    #include <vector>
    namespace tapegrad {
    // Tensor commented_out(const Tensor& x);
    using Fn = std::function<void(int)>;
    inline constexpr DType f32 = DType::float32;
    Tensor hardswish(const Tensor& x, Here at = Here::current());
    Tensor sum(const Tensor& x, Axes axes = {}, bool keepdim = false, Here at = Here::current());
    template <class F>
      requires std::is_invocable_v<F>
    Result check(F f, const char* text = "a(b);") { return {}; }
    Tensor operator+(Located<Tensor> a, double b);
    Tensor operator>=(Located<Tensor> a, double b);
    [[nodiscard]] Tensor kept(const Tensor& x);
    [[deprecated("use kept")]] Tensor old(const Tensor& x);
    class Thing {
     public:
      Thing() = default;
      Thing(const Thing&) = delete;
      ~Thing();
      int size(int axis) const { if (axis) { return 1; } return 0; }
      Tensor exp(Here at = Here::current()) const;
      template <class T> T get() const;
     private:
      void hidden();
    };
    struct Plain { double eps = 1e-6; explicit operator bool() const; };
    template <class D> void Thing::outside(D d) {}
    namespace detail { Tensor internal(const Tensor& x); }
    namespace nn { Tensor linear(const Tensor& x); }
    #define TAPEGRAD_LIST(X) \
      X(listed_a, A)       \
      X(listed_b, B)
    #define DECLARE(name, Formula) Tensor name(const Tensor& x);
    TAPEGRAD_LIST(DECLARE)
    }  // namespace tapegrad
    namespace other { Tensor elsewhere(); }
  )";
  std::vector<std::string> expected = {"hardswish",   "sum",        "check",      "operator+",
                                       "operator>=",  "kept",       "old",        "Thing::Thing",
                                       "Thing::size", "Thing::exp", "Thing::get", "nn::linear",
                                       "listed_a",    "listed_b"};
  const ListMacros lists = list_macros(header);
  CHECK(lists.at("TAPEGRAD_LIST") == std::vector<std::string>{"listed_a", "listed_b"});
  CHECK(public_entry_points(header, {"Plain"}, lists) == expected);
}

// ------------------------------------------------------------------ rows: tensor, creation, random, tape

namespace bad_input {
namespace {

// A custom op (y = 2x) whose backward runs `body`: errors in it name "custom" and the line of this call.
Tensor custom(const Tensor& x, BackwardFn body, Here at = Here::current()) {
  return record("custom", {x}, x.detach() * 2.0, {}, std::move(body), at);
}

// Backward returns two gradients for its one input.
struct TwoGrads : Function<TwoGrads> {
  static constexpr const char* name = "two_grads";
  static Tensor forward(Context&, const Tensor& x) { return x * 2.0; }
  static std::vector<Tensor> backward(Context&, const std::vector<Tensor>& gy) { return {gy[0], gy[0]}; }
};

// y = sum(x^2) with a wrong backward (gy instead of 2 x gy).
Tensor wrong_square(const std::vector<Tensor>& xs) {
  const Tensor& x = xs[0];
  return record("wrong_square", {x}, sum(x.detach() * x.detach()), {},
                [](Context& b) { b.accumulate(0, b.gy() * ones(b.input_shape(0), float64)); });
}

std::vector<Tensor> identity_function(const std::vector<Tensor>& xs) { return xs; }

// sum(x^2) whose backward reads x detached: the first derivative is right, the second is 0.
Tensor flat_backward_square(const std::vector<Tensor>& xs) {
  const Tensor& x = xs[0];
  return record("flat_backward_square", {x}, sum(x.detach() * x.detach()), {x},
                [](Context& b) { b.accumulate(0, b.gy() * b.saved(0).detach() * 2.0); });
}

// A loss recorded inside a TapeScope that has ended.
Tensor outlived_scope() {
  Tensor x = leaf(), y;
  {
    TapeScope scope;
    y = sum(exp(x));
  }
  return y;
}
Tensor made_without_grad() {
  NoGradGuard no_grad;
  return sum(exp(leaf()));
}
// 2x recorded on another thread's tape.
Tensor on_other_thread(const Tensor& x) {
  Tensor h;
  std::thread([&] { h = x * 2.0; }).join();
  return h;
}
Tensor stride0() { return expand(zeros({1}), {4}); }  // four elements, one memory location

template <class F>
void throws_undefined(F f) {
  CHECK_THROWS_AS(f(), ValueError);
}

}  // namespace

// Each row stays on one line: the op's message must give the row's line.
// clang-format off
void tensor_rows(Catalogue& row) {
  // --- creation
  row("empty", [] { empty({2, -3}); }, Expect::value, "empty");
  row("empty", [] { empty({big, big}); }, Expect::value, "empty");
  row("empty", [] { empty({too_many_floats}); }, Expect::oom, "empty");
  row("zeros", [] { zeros({2, -3}); }, Expect::value, "zeros");
  row("zeros", [] { zeros({big, big}); }, Expect::value, "zeros");
  row("zeros", [] { zeros({big}); }, Expect::value, "zeros");  // 2^64 bytes
  row("zeros", [] { zeros({too_many_floats}); }, Expect::oom, "zeros");
  row("ones", [] { ones({-1}); }, Expect::value, "ones");
  row("ones", [] { ones({big, big}, float64); }, Expect::value, "ones");
  row("ones", [] { ones({too_many_floats}); }, Expect::oom, "ones");
  row("full", [] { full({-1}, 1.0); }, Expect::value, "full");
  row("full", [] { full({big, 4}, 1.0); }, Expect::value, "full");
  row("full", [] { full({too_many_floats}, 1.0); }, Expect::oom, "full");
  row("full", [] { full({2}, nan, int64); }, Expect::value, "full");  // torch: cannot convert
  row("full", [] { full({2}, 1e30, int64); }, Expect::value, "full");
  row("zeros_like", [] { zeros_like(undef()); }, Expect::value, "zeros_like");
  row("ones_like", [] { ones_like(undef()); }, Expect::value, "ones_like");
  row("full_like", [] { full_like(undef(), 1.0); }, Expect::value, "full_like");
  row("full_like", [] { full_like(ints(), nan); }, Expect::value, "full_like");
  row("scalar", [] { scalar(nan, int64); }, Expect::value, "scalar");
  row("arange", [] { arange(0.0, nan); }, Expect::value, "arange");
  row("arange", [] { arange(0.0, 1.0, 0.0); }, Expect::value, "arange");
  row("arange", [] { arange(0.0, 1e30); }, Expect::value, "arange");
  // torch raises for a step of the wrong sign; the sizes branch keeps NumPy's empty result (test_sizes.cpp)
  row.outcome("arange", "a step of the wrong sign gives an empty tensor", [] { CHECK(arange(0.0, 1.0, -1.0).numel() == 0); CHECK(arange(-1.0, int64).numel() == 0); });
  row("arange", [] { arange(0.0, double(too_many_floats)); }, Expect::oom, "arange");
  row("arange", [] { arange(nan, int64); }, Expect::value, "arange");
  row("linspace", [] { linspace(0.0, 1.0, -1); }, Expect::value, "linspace");
  row("linspace", [] { linspace(0.0, 1.0, big); }, Expect::value, "linspace");
  row("linspace", [] { linspace(0.0, 1.0, too_many_floats); }, Expect::oom, "linspace");
  row("eye", [] { eye(-1); }, Expect::value, "eye");
  row("eye", [] { eye(2, -2); }, Expect::value, "eye");
  row("eye", [] { eye(big, big); }, Expect::value, "eye");
  row("eye", [] { eye(1LL << 25, 1LL << 25); }, Expect::oom, "eye");
  row("tensor", [] { tensor({{1.0, 2.0}, {3.0}}); }, Expect::shape, "tensor");
  row("tensor", [] { tensor({{{1.0}}, {{1.0, 2.0}}}); }, Expect::shape, "tensor");
  row("tensor", [] { tensor({nan}, int64); }, Expect::value, "tensor");  // List1 form: no `at`
  row("from_vector", [] { from_vector<float>({1, 2, 3}, {2, 2}); }, Expect::shape, "from_vector");
  row("from_vector", [] { from_vector<float>({}, {-1, 0}); }, Expect::value, "from_vector");
  row("from_vector", [] { from_vector<float>({}, {big, big, 0}); }, Expect::value, "from_vector");
  row("from_vector", [] { from_vector<float>({}, {big, big}); }, Expect::value, "from_vector");

  // --- random draws
  row("rand", [] { rand({-1}); }, Expect::value, "rand");
  row("rand", [] { rand({2}, int64); }, Expect::dtype, "rand");
  row("rand", [] { rand({too_many_floats}); }, Expect::oom, "rand");
  row("randn", [] { randn({-1}); }, Expect::value, "randn");
  row("randn", [] { randn({3}, int64); }, Expect::dtype, "randn");
  row("randn", [] { randn({big, big}); }, Expect::value, "randn");
  row("uniform", [] { uniform({2}, 1.0, 0.0); }, Expect::value, "uniform");
  row("uniform", [] { uniform({2}, 0.0, nan); }, Expect::value, "uniform");
  row("uniform", [] { uniform({-2}); }, Expect::value, "uniform");
  row("uniform", [] { uniform({2}, 0.0, 1.0, int64); }, Expect::dtype, "uniform");
  row("uniform", [] { uniform({big, big}); }, Expect::value, "uniform");
  row("normal", [] { normal({2}, 0.0, -1.0); }, Expect::value, "normal");
  row("normal", [] { normal({2}, 0.0, nan); }, Expect::value, "normal");
  row("normal", [] { normal({-2}); }, Expect::value, "normal");
  row("normal", [] { normal({2}, 0.0, 1.0, int64); }, Expect::dtype, "normal");
  row("normal", [] { normal({too_many_floats}); }, Expect::oom, "normal");
  row("bernoulli", [] { bernoulli({2}, 1.5); }, Expect::value, "bernoulli");
  row("bernoulli", [] { bernoulli({2}, nan); }, Expect::value, "bernoulli");
  row("bernoulli", [] { bernoulli({-2}, 0.5); }, Expect::value, "bernoulli");
  row("bernoulli", [] { bernoulli(full({2}, 2.0)); }, Expect::value, "bernoulli");
  row("bernoulli", [] { bernoulli(full({2}, nan)); }, Expect::value, "bernoulli");
  row("bernoulli", [] { bernoulli(undef()); }, Expect::value, "bernoulli");
  row("bernoulli", [] { bernoulli({big, big}, 0.5); }, Expect::value, "bernoulli");
  row("randint", [] { randint(5, 5, {2}); }, Expect::value, "randint");
  row("randint", [] { randint(0, 10, {-1}); }, Expect::value, "randint");
  row("randint", [] { randint(0, 10, {big, big}); }, Expect::value, "randint");
  row("randint", [] { randint(0, 10, {too_many_floats}); }, Expect::oom, "randint");

  // --- Tensor methods
  row("Tensor::size", [] { f23().size(2); }, Expect::shape, "size");
  row("Tensor::size", [] { undef().size(0); }, Expect::value, "size");
  row("Tensor::item", [] { f23().item(); }, Expect::shape, "item");
  row("Tensor::item", [] { zeros({0}).item<float>(); }, Expect::shape, "item");
  row("Tensor::item", [] { undef().item(); }, Expect::value, "item");
  row("Tensor::to_vector", [] { f23().to_vector<double>(); }, Expect::dtype, "to_vector");
  row("Tensor::to_vector", [] { undef().to_vector<float>(); }, Expect::value, "to_vector");
  row("Tensor::data", [] { ints().data<float>(); }, Expect::dtype, "data");
  row("Tensor::data", [] { undef().data<float>(); }, Expect::value, "data");
  row("Tensor::to", [] { leaf().to(int64); }, Expect::dtype, "to");
  row("Tensor::to", [] { undef().to(float64); }, Expect::value, "to");
  row("Tensor::to", [] { huge_view().to(float64); }, Expect::value, "to");  // 2^63 bytes
  row("Tensor::contiguous", [] { expand(zeros({1}), {too_many_floats}).contiguous(); }, Expect::oom, "contiguous");
  row("Tensor::contiguous", [] { undef().contiguous(); }, Expect::value, "contiguous");
  row("Tensor::clone", [] { huge_view().clone(); }, Expect::oom, "clone");  // 2^62 bytes
  row("Tensor::clone", [] { undef().clone(); }, Expect::value, "clone");
  row("Tensor::requires_grad_", [] { ints().requires_grad_(); }, Expect::dtype, "requires_grad_");
  row("Tensor::requires_grad_", [] { (leaf() * 2.0).requires_grad_(false); }, Expect::graph, "requires_grad_");
  row("Tensor::requires_grad_", [] { undef().requires_grad_(); }, Expect::value, "requires_grad_");
  row("Tensor::set_grad", [] { leaf().set_grad(zeros({5}, float64)); }, Expect::shape, "set_grad");
  row("Tensor::set_grad", [] { leaf().set_grad(zeros({3}, int64)); }, Expect::dtype, "set_grad");
  row("Tensor::backward", [] { (leaf() * 2.0).backward(); }, Expect::graph, "backward");
  row("Tensor::backward", [] { (leaf() * 2.0).backward(ones({2}, float64)); }, Expect::shape, "backward");
  row("Tensor::backward", [] { f23().sum().backward(); }, Expect::graph, "backward");
  row("Tensor::backward", [] { undef().backward(); }, Expect::value, "backward");
  row("Tensor::fill_", [] { leaf().fill_(1.0); }, Expect::graph, "fill_");
  row("Tensor::fill_", [] { stride0().fill_(1.0); }, Expect::value, "fill_");
  row("Tensor::fill_", [] { ints().fill_(nan); }, Expect::value, "fill_");  // torch: cannot convert
  row("Tensor::fill_", [] { undef().fill_(1.0); }, Expect::value, "fill_");
  row("Tensor::zero_", [] { leaf().zero_(); }, Expect::graph, "zero_");  // said fill_
  row("Tensor::zero_", [] { stride0().zero_(); }, Expect::value, "zero_");
  row("Tensor::copy_", [] { f23().copy_(zeros({4})); }, Expect::shape, "copy_");  // said broadcast
  row("Tensor::copy_", [] { leaf().copy_(zeros({3})); }, Expect::graph, "copy_");
  row("Tensor::copy_", [] { f23().copy_(undef()); }, Expect::value, "copy_");
  row("Tensor::copy_", [] { stride0().copy_(ones({4})); }, Expect::value, "copy_");
  row("Tensor::add_", [] { f23().add_(zeros({4})); }, Expect::shape, "add_");  // said broadcast, and tensor.cpp's line
  row("Tensor::add_", [] { zeros({3}).add_(zeros({2, 3})); }, Expect::shape, "add_");
  row("Tensor::add_", [] { stride0().add_(ones({4})); }, Expect::value, "add_");
  row("Tensor::mul_", [] { leaf().mul_(2.0); }, Expect::graph, "mul_");
  row("Tensor::mul_", [] { stride0().mul_(2.0); }, Expect::value, "mul_");
  // Note [In-place promotion]: torch raises these; add_ and mul_ truncated the floating result
  row("Tensor::add_", [] { ints().add_(ones({1})); }, Expect::dtype, "add_");
  row("Tensor::add_", [] { ints().add_(ints(), 0.5); }, Expect::dtype, "add_");
  row("Tensor::mul_", [] { ints().mul_(2.5); }, Expect::dtype, "mul_");
  row("Tensor::sum", [] { f23().sum({2}); }, Expect::shape, "sum");
  row("Tensor::sum", [] { f23().sum({0, 0}); }, Expect::shape, "sum");
  row("Tensor::sum", [] { undef().sum(); }, Expect::value, "sum");
  row("Tensor::mean", [] { f23().mean({-3}); }, Expect::shape, "mean");
  row("Tensor::mean", [] { ints().mean(); }, Expect::dtype, "mean");
  row("Tensor::reshape", [] { f23().reshape({4}); }, Expect::shape, "reshape");
  row("Tensor::reshape", [] { f23().reshape({-1, -1}); }, Expect::shape, "reshape");
  row("Tensor::reshape", [] { f23().reshape({-2, -3}); }, Expect::shape, "reshape");
  row("Tensor::view", [] { f23().transpose(0, 1).view({6}); }, Expect::shape, "view");
  row("Tensor::view", [] { f23().view({big, big, 0}); }, Expect::value, "view");  // overflow: ValueError (sizes)
  row("Tensor::transpose", [] { f23().transpose(0, 2); }, Expect::shape, "transpose");
  row("Tensor::matmul", [] { f23().matmul(f23()); }, Expect::shape, "matmul");
  row("Tensor::matmul", [] { ints().matmul(ints()); }, Expect::dtype, "matmul");

  // Accessors of an undefined tensor name themselves and the caller's line.
  row("Tensor::shape", [] { undef().shape(); }, Expect::value, "shape");
  row("Tensor::strides", [] { undef().strides(); }, Expect::value, "strides");
  row("Tensor::dtype", [] { undef().dtype(); }, Expect::value, "dtype");
  row("Tensor::dim", [] { undef().dim(); }, Expect::value, "dim");
  row("Tensor::numel", [] { undef().numel(); }, Expect::value, "numel");
  row("Tensor::offset", [] { undef().offset(); }, Expect::value, "offset");
  row("Tensor::is_contiguous", [] { undef().is_contiguous(); }, Expect::value, "is_contiguous");
  row("Tensor::requires_grad", [] { undef().requires_grad(); }, Expect::value, "requires_grad");
  row("Tensor::is_leaf", [] { undef().is_leaf(); }, Expect::value, "is_leaf");
  row("Tensor::grad", [] { undef().grad(); }, Expect::value, "grad");
  row("Tensor::zero_grad", [] { undef().zero_grad(); }, Expect::value, "zero_grad");
  row("Tensor::detach", [] { undef().detach(); }, Expect::value, "detach");
  row("Tensor::set_grad", [] { undef().set_grad(zeros({3})); }, Expect::value, "set_grad");
  // impl() is for the kernels and has no call site: the generic error.
  row.outcome("Tensor::impl", "undefined", [] { throws_undefined([] { undef().impl(); }); });
  row.outcome("Tensor::grad", "a leaf before backward: undefined", [] { CHECK(!leaf().grad().defined()); });
  row.outcome("Tensor::to_string", "undefined", [] { CHECK(undef().to_string() == "tensor(undefined)"); });
  row.outcome("operator<<", "undefined", [] {
    std::ostringstream out;
    out << undef();
    CHECK(out.str() == "tensor(undefined)");
  });
  row.outcome("Tensor::to_vector", "empty", [] { CHECK(zeros({0, 3}).to_vector<float>().empty()); });
  row("numel_of", [] { numel_of({big, big}); }, Expect::value, "numel_of");
  row("numel_of", [] { numel_of({2, -1}); }, Expect::value, "numel_of");
  row("contiguous_strides", [] { contiguous_strides({big, big, 2}); }, Expect::value, "contiguous_strides");

  // --- tape
  row("backward", [] { backward({sum(leaf())}, {ones({}), ones({})}); }, Expect::value, "backward");
  row("backward", [] { backward({sum(f23())}); }, Expect::graph, "backward");
  row("backward", [] { backward({leaf() * 2.0}); }, Expect::graph, "backward");
  row("backward", [] { backward({undef()}); }, Expect::value, "backward");
  row("grad", [] { grad({sum(leaf())}, {f23()}); }, Expect::graph, "grad");
  row("grad", [] { grad({sum(leaf())}, {undef()}); }, Expect::value, "grad");
  row("grad", [] { Tensor x = leaf(), h = on_other_thread(x); grad({sum(x * 2.0)}, {h}); }, Expect::graph, "grad");
  row("TapeScope::TapeScope", [] { outlived_scope().backward(); }, Expect::graph, "backward");
  row("NoGradGuard::NoGradGuard", [] { made_without_grad().backward(); }, Expect::graph, "backward");
  row("set_num_threads", [] { set_num_threads(0); }, Expect::value, "set_num_threads");
  row("set_num_threads", [] { set_num_threads(-4); }, Expect::value, "set_num_threads");
  row("GradShards::GradShards", [] { GradShards({leaf()}, 0); }, Expect::value, "GradShards");
  row("GradShards::GradShards", [] { GradShards({leaf(), undef()}, 2); }, Expect::value, "GradShards");
  row("GradShards::GradShards", [] { GradShards({leaf() * 2.0}, 2); }, Expect::graph, "GradShards");
  row("ShardGuard::ShardGuard", [] { GradShards s({leaf()}, 2); ShardGuard g(s, 2); }, Expect::value, "ShardGuard");
  row("ShardGuard::ShardGuard", [] { GradShards s({leaf()}, 2); ShardGuard g(s, -1); }, Expect::value, "ShardGuard");
  row("ShardGuard::ShardGuard", [] { GradShards s({leaf()}, 2); ShardGuard g(s, 0); ShardGuard h(s, 0); }, Expect::graph, "ShardGuard");
  row("GradShards::reduce", [] { GradShards s({leaf()}, 2); ShardGuard g(s, 1); s.reduce(); }, Expect::graph, "GradShards::reduce");

  // --- custom functions
  row("record", [] { record("custom", {leaf()}, Tensor(), {}, [](Context&) {}); }, Expect::value, "custom");
  row("record", [] { record("custom", {leaf()}, {Tensor()}, {}, [](Context&) {}, Here::current()); }, Expect::value, "custom");
  row("Context::gy", [] { sum(custom(leaf(), [](Context& b) { b.gy(1); })).backward(); }, Expect::graph, "custom");
  row("Context::saved", [] { sum(custom(leaf(), [](Context& b) { b.saved(0); })).backward(); }, Expect::graph, "custom");
  row("Context::needs_grad", [] { sum(custom(leaf(), [](Context& b) { b.needs_grad(1); })).backward(); }, Expect::graph, "custom");
  row("Context::input_shape", [] { sum(custom(leaf(), [](Context& b) { b.input_shape(1); })).backward(); }, Expect::graph, "custom");
  row("Context::input_dtype", [] { sum(custom(leaf(), [](Context& b) { b.input_dtype(1); })).backward(); }, Expect::graph, "custom");
  row("Context::accumulate", [] { sum(custom(leaf(), [](Context& b) { b.accumulate(1, b.gy()); })).backward(); }, Expect::graph, "custom");
  row("Context::accumulate", [] { sum(custom(leaf(), [](Context& b) { b.accumulate(0, zeros({5}, float64)); })).backward(); }, Expect::graph, "custom");
  // A region outside the input's [3] gradient, a mismatched rank, and a gradient of another shape.
  row("Context::accumulate_region", [] { sum(custom(leaf(), [](Context& b) { b.accumulate_region(0, b.gy(), {3}, {1}, 1); })).backward(); }, Expect::graph, "custom");
  row("Context::accumulate_region", [] { sum(custom(leaf(), [](Context& b) { b.accumulate_region(0, b.gy(), {3}, {}, 0); })).backward(); }, Expect::graph, "custom");
  row("Context::accumulate_region", [] { sum(custom(leaf(), [](Context& b) { b.accumulate_region(0, b.gy(), {2}, {1}, 0); })).backward(); }, Expect::graph, "custom");
  // Sizes and strides whose span overflows int64, and a negative size.
  row("Context::accumulate_region", [] { sum(custom(leaf(), [](Context& b) { b.accumulate_region(0, b.gy(), {big, 1}, {big, 1}, 0); })).backward(); }, Expect::graph, "custom");
  row("Context::accumulate_region", [] { sum(custom(leaf(), [](Context& b) { b.accumulate_region(0, b.gy(), {-3}, {1}, 0); })).backward(); }, Expect::graph, "custom");
  row("Function::apply", [] { sum(TwoGrads::apply(leaf())).backward(); }, Expect::graph, "two_grads");
  row("Context::get", [] { Context().get<double>("factor"); }, Expect::value, "Context::get");  // was std::out_of_range
  row("Context::get", [] { Context c; c.set("factor", 2); c.get<double>("factor"); }, Expect::value, "Context::get");  // was std::bad_any_cast
  row.outcome("will_record", "undefined inputs are not recorded", [] { CHECK(!will_record({undef(), f23()})); });
  row("gradcheck", [] { gradcheck(wrong_square, {leaf()}, {.raise_exception = true}); }, Expect::graph, "gradcheck");
  // Right first derivative, a backward that is not differentiable: the second order is wrong.
  row("gradgradcheck", [] { gradgradcheck(flat_backward_square, {leaf()}, {.raise_exception = true}); }, Expect::graph, "gradgradcheck");
  row("vjp", [] { vjp(identity_function, {}); }, Expect::value, "vjp");
  row("vjp", [] { vjp(identity_function, {leaf()}); }, Expect::value, "vjp");  // [3] output, no v
  row("vjp", [] { vjp(identity_function, {leaf()}, {ones({2}, float64)}); }, Expect::shape, "vjp");
  row("vjp", [] { vjp(identity_function, {arange(3.0, int64)}, {ones({3})}); }, Expect::dtype, "vjp");
  row("jvp", [] { jvp(identity_function, {leaf()}, {}); }, Expect::value, "jvp");
  row("jvp", [] { jvp(identity_function, {leaf()}, {ones({4}, float64)}); }, Expect::shape, "jvp");
  row("hvp", [] { hvp(identity_function, {leaf()}, {ones({3}, float64)}); }, Expect::value, "hvp");  // not a scalar
  row("hvp", [] { hvp(identity_function, {leaf(), leaf()}, {ones({3}, float64)}); }, Expect::value, "hvp");
  row("gradgradcheck", [] { gradgradcheck([](const std::vector<Tensor>& xs) { return xs[0] * 2.0; }, {f23()}); }, Expect::value, "gradgradcheck");
  row("gradgradcheck", [] { gradgradcheck([](const std::vector<Tensor>& xs) { return xs[0]; }, {leaf()}, {.eps = 0}); }, Expect::value, "gradgradcheck");
  row("gradcheck", [] { gradcheck([](const std::vector<Tensor>& xs) { return xs[0] * 2.0; }, {f23()}); }, Expect::value, "gradcheck");
  row("gradcheck", [] { gradcheck([](const std::vector<Tensor>& xs) { return xs[0]; }, {leaf()}, {.eps = 0}); }, Expect::value, "gradcheck");
  row("gradcheck", [] { gradcheck([](const std::vector<Tensor>& xs) { return xs[0]; }, {leaf()}, {.eps = -1e-6}); }, Expect::value, "gradcheck");
  row("gradcheck", [] { gradcheck([](const std::vector<Tensor>& xs) { return xs[0]; }, {leaf()}, {.atol = nan}); }, Expect::value, "gradcheck");
  row("gradcheck", [] { gradcheck([](const std::vector<Tensor>& xs) { return xs[0]; }, {leaf()}, {.rtol = -1}); }, Expect::value, "gradcheck");
  row.outcome("gradcheck", "a wrong gradient is reported, not thrown", [] { CHECK(!gradcheck(wrong_square, {leaf()})); });

  // --- xtensor interop
  row("to_xarray", [] { to_xarray<float>(leaf()); }, Expect::dtype, "to_xarray");  // said to_vector
  row("to_xarray", [] { to_xarray<float>(undef()); }, Expect::value, "to_xarray");
  row("as_xview", [] { Tensor x = leaf(); as_xview<float>(x); }, Expect::dtype, "as_xview");  // said data
  row("as_xview", [] { Tensor x; as_xview<float>(x); }, Expect::value, "as_xview");
}
// clang-format on

}  // namespace bad_input
