// The loss, activation, dropout and embedding modules: their rows in the layer table (gradcheck,
// gradgradcheck, state_dict keys, round trip, printing: test_layers.cpp), what the table cannot see
// (train vs eval, the init, the buffers, PyTorch's printing), and their bad-input rows.
#include <cmath>
#include <set>
#include <sstream>

#include "bad_input.hpp"
#include "layer_table.hpp"

using namespace tapegrad;

namespace {

// A loss module called on (input, target): the table's rows give both.
std::vector<Tensor> call_loss(nn::Module& m, const std::vector<Tensor>& xs) {
  return {dynamic_cast<nn::Loss&>(m)(xs.at(0), xs.at(1))};
}

Tensor labels(std::vector<std::int64_t> values, Shape shape) { return from_vector(values, shape); }

// Dropout draws a new mask at each call; the table's rows reseed it, so every evaluation of a
// gradcheck sees the same mask.
Generator& dropout_generator() {
  static Generator gen(5);
  return gen;
}
std::vector<Tensor> call_reseeded(nn::Module& m, const std::vector<Tensor>& xs) {
  dropout_generator().manual_seed(5);
  return {m(xs.at(0))};
}

template <class M, class... Args>
std::function<std::unique_ptr<nn::Module>()> maker(Args... args) {
  return [=] { return std::make_unique<M>(args...); };
}

void loss_layers(std::vector<test::LayerInfo>& rows) {
  // Note [Activation modules]: one row per plain activation, from the list itself.
#define TAPEGRAD_ACTIVATION_ROW(Class, function, repr) \
  rows.push_back({#Class "()", maker<nn::Class>(), {{3, 4}}});
  TAPEGRAD_PLAIN_ACTIVATION_MODULES(TAPEGRAD_ACTIVATION_ROW)
#undef TAPEGRAD_ACTIVATION_ROW
  rows.push_back({"LeakyReLU(0.2)", maker<nn::LeakyReLU>(0.2), {{3, 4}}});
  rows.push_back({"ELU(0.5) on [2, 3, 4]", maker<nn::ELU>(0.5), {{2, 3, 4}}});
  rows.push_back({"Softplus(2.0, 3.0)", maker<nn::Softplus>(2.0, 3.0), {{3, 4}}});
  rows.push_back({"Hardtanh(-0.5, 1.0)", maker<nn::Hardtanh>(-0.5, 1.0), {{3, 4}}});
  rows.push_back({"ReLU6()", maker<nn::ReLU6>(), {{3, 4}}});
  rows.push_back({"Softmax(1) on [2, 3, 4]", maker<nn::Softmax>(1), {{2, 3, 4}}});
  rows.push_back({"LogSoftmax(-1)", maker<nn::LogSoftmax>(-1), {{3, 4}}});

  rows.push_back({"Dropout(0.4), training, reseeded", [] { return std::make_unique<nn::Dropout>(0.4, &dropout_generator()); },
                  {{3, 4}}, {}, call_reseeded});
  rows.push_back({"Dropout(0.4), eval", maker<nn::Dropout>(0.4), {{3, 4}}, {}, {}, {}, false});
  rows.push_back({"Dropout2d(0.5), training, reseeded",
                  [] { return std::make_unique<nn::Dropout2d>(0.5, &dropout_generator()); }, {{2, 3, 2, 2}}, {},
                  call_reseeded});
  rows.push_back({"Embedding(5, 3) on [2, 3] indices", maker<nn::Embedding>(5, 3), {},
                  [] { return std::vector<Tensor>{labels({4, 0, 2, 2, 1, 4}, {2, 3})}; }, {}, {{"weight", {5, 3}}}});
  // padding_idx cuts that row from the gradient on purpose (checked below), so these indices avoid it
  rows.push_back({"Embedding(4, 2, padding_idx=-1), indices without the padding row",
                  maker<nn::Embedding>(4, 2, std::optional<std::int64_t>(-1)), {},
                  [] { return std::vector<Tensor>{labels({0, 2, 1}, {3})}; }, {}, {{"weight", {4, 2}}}});

  rows.push_back({"MSELoss()", maker<nn::MSELoss>(), {{3, 4}, {3, 4}}, {}, call_loss});
  rows.push_back({"L1Loss(sum) with a broadcast target", maker<nn::L1Loss>(Reduction::sum), {{3, 4}, {4}}, {}, call_loss});
  rows.push_back({"SmoothL1Loss(none, 0.5)", maker<nn::SmoothL1Loss>(Reduction::none, 0.5), {{3, 4}, {3, 4}}, {}, call_loss});
  rows.push_back({"HuberLoss(mean, 1.5)", maker<nn::HuberLoss>(Reduction::mean, 1.5), {{3, 4}, {3, 4}}, {}, call_loss});
  rows.push_back({"CrossEntropyLoss(weight, label_smoothing=0.1)",
                  [] {
                    return std::make_unique<nn::CrossEntropyLoss>(
                        CrossEntropyOptions{.weight = tensor({0.5, 1.0, 2.0, 1.5}), .label_smoothing = 0.1});
                  },
                  {}, [] { return std::vector<Tensor>{test::sample({3, 4}), labels({2, 0, 3}, {3})}; }, call_loss,
                  {{"weight", {4}}}});
  rows.push_back({"CrossEntropyLoss() on probabilities", maker<nn::CrossEntropyLoss>(), {{3, 4}, {3, 4}}, {},
                  call_loss});
  rows.push_back({"NLLLoss(ignore_index=1)", maker<nn::NLLLoss>(NllLossOptions{.ignore_index = 1}), {},
                  [] { return std::vector<Tensor>{test::sample({4, 3}), labels({2, 1, 0, 2}, {4})}; }, call_loss});
  rows.push_back({"BCELoss(weight [4])",
                  [] { return std::make_unique<nn::BCELoss>(BinaryCrossEntropyOptions{.weight = tensor({1.0, 2.0, 0.5, 1.0})}); },
                  {},
                  [] { return std::vector<Tensor>{test::sample({3, 4}, 0.05, 0.95), test::sample({3, 4}, 0.0, 1.0)}; },
                  call_loss, {{"weight", {4}}}});
  rows.push_back({"BCEWithLogitsLoss(weight [3, 1], pos_weight [4])",
                  [] {
                    return std::make_unique<nn::BCEWithLogitsLoss>(BinaryCrossEntropyWithLogitsOptions{
                        .weight = tensor({{1.0}, {0.5}, {2.0}}), .pos_weight = tensor({1.0, 2.0, 3.0, 0.5})});
                  },
                  {}, [] { return std::vector<Tensor>{test::sample({3, 4}), test::sample({3, 4}, 0.0, 1.0)}; },
                  call_loss, {{"weight", {3, 1}}, {"pos_weight", {4}}}});
  rows.push_back({"KLDivLoss(batchmean)", maker<nn::KLDivLoss>(KlDivOptions{.reduction = Reduction::batchmean}), {},
                  [] { return std::vector<Tensor>{test::sample({3, 4}), test::sample({3, 4}, 0.1, 1.0)}; }, call_loss});
  rows.push_back({"KLDivLoss(sum, log_target)",
                  maker<nn::KLDivLoss>(KlDivOptions{.reduction = Reduction::sum, .log_target = true}), {{3, 4}, {3, 4}},
                  {}, call_loss});
}

test::LayerRows rows(&loss_layers);

std::string printed(const nn::Module& m) {
  std::ostringstream out;
  out << m;
  return out.str();
}

}  // namespace

TEST_CASE("activation, dropout, embedding and loss modules print as PyTorch's do") {
  CHECK(printed(nn::ReLU()) == "ReLU()");
  CHECK(printed(nn::GELU()) == "GELU(approximate='none')");
  CHECK(printed(nn::LeakyReLU()) == "LeakyReLU(negative_slope=0.01)");
  CHECK(printed(nn::ELU()) == "ELU(alpha=1.0)");
  CHECK(printed(nn::Hardtanh()) == "Hardtanh(min_val=-1.0, max_val=1.0)");
  CHECK(printed(nn::ReLU6()) == "ReLU6()");
  CHECK(printed(nn::Softmax(1)) == "Softmax(dim=1)");
  CHECK(printed(nn::Dropout()) == "Dropout(p=0.5, inplace=False)");
  CHECK(printed(nn::Embedding(10, 3, -10)) == "Embedding(10, 3, padding_idx=0)");
  CHECK(printed(nn::Embedding(10, 3)) == "Embedding(10, 3)");
  CHECK(printed(nn::MSELoss()) == "MSELoss(reduction='mean')");
}

TEST_CASE("each activation module is its op, and every activation op has a module") {
  Tensor x = test::sample({3, 4}).detach();
  auto same = [](const Tensor& a, const Tensor& b) { return a.to_vector<double>() == b.to_vector<double>(); };
#define TAPEGRAD_ACTIVATION_CHECK(Class, function, repr) \
  CHECK_MESSAGE(same(nn::Class()(x), function(x)), #Class);
  TAPEGRAD_PLAIN_ACTIVATION_MODULES(TAPEGRAD_ACTIVATION_CHECK)
#undef TAPEGRAD_ACTIVATION_CHECK
  CHECK(same(nn::LeakyReLU(0.3)(x), leaky_relu(x, 0.3)));
  CHECK(same(nn::ELU(0.7)(x), elu(x, 0.7)));
  CHECK(same(nn::Softplus(2.0, 4.0)(x), softplus(x, 2.0, 4.0)));
  CHECK(same(nn::ReLU6()(x * 5.0), clamp(x * 5.0, 0.0, 6.0)));
  CHECK(same(nn::LogSoftmax(0)(x), log_softmax(x, 0)));
  // The plain unary ops that are activations (the others are math: exp, log, sin, ...) each have a
  // module in the list: a new activation op must add its line there.
  std::set<std::string> modules;
#define TAPEGRAD_ACTIVATION_NAME(Class, function, repr) modules.insert(#function);
  TAPEGRAD_PLAIN_ACTIVATION_MODULES(TAPEGRAD_ACTIVATION_NAME)
#undef TAPEGRAD_ACTIVATION_NAME
  const std::set<std::string> math = {"exp", "log", "log1p", "sqrt", "rsqrt", "sin", "cos", "erf"};
#define TAPEGRAD_PLAIN_OP_NAME(function, Formula) \
  CHECK_MESSAGE((modules.count(#function) == 1 || math.count(#function) == 1), "no module for " #function);
  TAPEGRAD_PLAIN_UNARY_OPS(TAPEGRAD_PLAIN_OP_NAME)
#undef TAPEGRAD_PLAIN_OP_NAME
}

TEST_CASE("Dropout: masks in training, the identity after eval(), the same masks from the same seed") {
  Generator a(21), b(21);
  nn::Dropout first(0.25, &a), second(0.25, &b);
  Tensor x = ones({50, 40}, float64);
  Tensor ya = first(x), yb = second(x);
  CHECK(ya.to_vector<double>() == yb.to_vector<double>());
  CHECK(ya.to_vector<double>() != first(x).to_vector<double>());  // the next call draws a new mask
  for (double v : ya.to_vector<double>()) CHECK((v == 0.0 || v == doctest::Approx(1.0 / 0.75).epsilon(1e-15)));
  first.eval();
  CHECK(first(x).same(x));
  CHECK_THROWS_AS(nn::Dropout(1.5), ValueError);
  CHECK_THROWS_AS(nn::Dropout2d(-0.1), ValueError);
}

TEST_CASE("Embedding: N(0, 1) weights with the padding row zeroed, and no gradient to it") {
  manual_seed(3);
  nn::Embedding table(1000, 8, 7);
  std::vector<double> w = table.weight.detach().to(float64).to_vector<double>();
  double total = 0, squares = 0;
  for (std::size_t r = 0; r < 1000; ++r)
    for (std::size_t c = 0; c < 8; ++c) {
      const double v = w[r * 8 + c];
      if (r == 7) CHECK(v == 0.0);
      total += v;
      squares += v * v;
    }
  // 7992 N(0, 1) draws: the mean's standard deviation is 0.011, the variance's 0.016.
  CHECK(total / 7992 == doctest::Approx(0.0).scale(1.0).epsilon(0.06));
  CHECK(squares / 7992 == doctest::Approx(1.0).epsilon(0.08));
  Tensor y = table(from_vector(std::vector<std::int64_t>{7, 3, 7}, {3}));
  CHECK(y.shape() == Shape{3, 8});
  sum(y * y).backward();
  std::vector<double> g = table.weight.grad().to(float64).to_vector<double>();
  for (std::size_t c = 0; c < 8; ++c) {
    CHECK(g[7 * 8 + c] == 0.0);
    CHECK(g[3 * 8 + c] == doctest::Approx(2.0 * w[3 * 8 + c]));
  }
  CHECK(nn::Embedding(4, 2, -1).padding_idx == 3);
  CHECK_THROWS_AS(nn::Embedding(4, 2, 4), ValueError);
  CHECK_THROWS_AS(nn::Embedding(-1, 2), ValueError);
}

TEST_CASE("loss modules: the functional loss, with class weights as buffers that load_state_dict and to() reach") {
  Tensor logits = test::sample({3, 4}).detach();
  Tensor target = labels({1, 0, 3}, {3});
  nn::CrossEntropyLoss loss({.weight = tensor({1.0, 2.0, 3.0, 4.0}), .reduction = Reduction::sum});
  CHECK(loss.state_dict().keys() == std::vector<std::string>{"weight"});
  CHECK_FALSE(loss.options.weight.defined());
  loss.to(float64);
  CHECK(loss.weight.dtype() == float64);
  CHECK(loss(logits, target).item() ==
        cross_entropy(logits, target, {.weight = tensor({1.0, 2.0, 3.0, 4.0}, float64), .reduction = Reduction::sum}).item());
  loss.load_state_dict({{"weight", tensor({1.0, 1.0, 1.0, 1.0}, float64)}});
  CHECK(loss(logits, target).item() == doctest::Approx(cross_entropy(logits, target, {.reduction = Reduction::sum}).item()));
  CHECK(nn::CrossEntropyLoss().state_dict().empty());
  nn::BCEWithLogitsLoss bce({.pos_weight = tensor({2.0})});
  CHECK(bce.state_dict().keys() == std::vector<std::string>{"pos_weight"});
  // errors name the functional loss and the caller's line
  nn::MSELoss mse;
  const int line = __LINE__ + 1;
  std::string m = test::message_of<ShapeError>([&] { mse(zeros({2, 3}), zeros({4})); });
  CHECK(m.starts_with("mse_loss: "));
  CHECK(m.ends_with("(at test_nn_loss.cpp:" + std::to_string(line) + ")"));
  CHECK_THROWS_AS(mse(zeros({2})), ValueError);  // a loss needs its target
}

namespace bad_input {
namespace {

// clang-format off
void nn_loss_rows(Catalogue& row) {
  using namespace tapegrad::nn;
  // the plain activations, one row each from their list (int64 input: their op's DTypeError)
#define TAPEGRAD_ACTIVATION_BAD_INPUT(Class, function, repr) row("nn::" #Class, [] { Class m; m(ints()); }, Expect::dtype, #function);
  TAPEGRAD_PLAIN_ACTIVATION_MODULES(TAPEGRAD_ACTIVATION_BAD_INPUT)
#undef TAPEGRAD_ACTIVATION_BAD_INPUT
  for (const char* name : {"nn::LeakyReLU", "nn::ELU", "nn::Softplus", "nn::Hardtanh", "nn::ReLU6", "nn::Softmax", "nn::LogSoftmax",
                           "nn::Dropout", "nn::Embedding", "nn::MSELoss", "nn::L1Loss", "nn::SmoothL1Loss", "nn::HuberLoss",
                           "nn::CrossEntropyLoss", "nn::NLLLoss", "nn::BCELoss", "nn::BCEWithLogitsLoss", "nn::KLDivLoss"})
    row.exempt(std::string(name) + "::extra_repr", "prints the module's options");
  row("nn::Dropout::Dropout", [] { Dropout d(-1.0); }, Expect::value, "Dropout");
  row("nn::Dropout::forward", [] { Dropout d; d(zeros({2}, int64)); }, Expect::dtype, "dropout");
  row("nn::Dropout2d::Dropout2d", [] { Dropout2d d(2.0); }, Expect::value, "Dropout2d");
  row("nn::Dropout2d::forward", [] { Dropout2d d; d(zeros({2})); }, Expect::shape, "dropout2d");
  row("nn::Embedding::Embedding", [] { Embedding e(3, 2, 3); }, Expect::value, "Embedding");
  row("nn::Embedding::Embedding", [] { Embedding e(3, -2); }, Expect::value, "Embedding");
  row("nn::Embedding::forward", [] { Embedding e(3, 2); e(ints()); }, Expect::value, "embedding");  // index 3 of 3
  row("nn::Embedding::forward", [] { Embedding e(3, 2); e(f23()); }, Expect::dtype, "embedding");
  row.exempt("nn::Embedding::reset_parameters", "draws N(0, 1) into its own weight; no argument can be bad (a null generator is the default)");
  row("nn::Softplus::Softplus", [] { Softplus s(0.0); }, Expect::value, "Softplus::Softplus");
  row("nn::Hardtanh::Hardtanh", [] { Hardtanh h(1.0, -1.0); }, Expect::value, "Hardtanh::Hardtanh");
  row("nn::Hardtanh::Hardtanh", [] { Hardtanh h(nan, 1.0); }, Expect::value, "Hardtanh::Hardtanh");
  row("nn::Softmax::forward", [] { Softmax s(2); s(f23()); }, Expect::shape, "softmax");
  row("nn::LogSoftmax::forward", [] { LogSoftmax s(-3); s(f23()); }, Expect::shape, "log_softmax");
  row("nn::LeakyReLU::forward", [] { LeakyReLU l; l(ints()); }, Expect::dtype, "leaky_relu");
  row("nn::ELU::forward", [] { ELU l; l(ints()); }, Expect::dtype, "elu");
  row("nn::Softplus::forward", [] { Softplus l; l(ints()); }, Expect::dtype, "softplus");
  row("nn::Hardtanh::forward", [] { Hardtanh l; l(undef()); }, Expect::value, "clamp");
  row("nn::Loss::operator()", [] { MSELoss l; l(f23(), zeros({4})); }, Expect::shape, "mse_loss");
  row("nn::Loss::operator()", [] { CrossEntropyLoss l; l(f23(), zeros({2}, int64) + 5.0); }, Expect::value, "cross_entropy");
  row("nn::Loss::operator()", [] { BCELoss l; l(full({2}, 2.0), zeros({2})); }, Expect::value, "binary_cross_entropy");
  row("nn::Loss::operator()", [] { BCEWithLogitsLoss l({.pos_weight = ones({5})}); l(f23(), f23()); }, Expect::shape, "binary_cross_entropy_with_logits");
  row("nn::Loss::operator()", [] { KLDivLoss l; l(f23(), zeros({2, 3}, int64)); }, Expect::dtype, "kl_div");
  row("nn::Loss::operator()", [] { NLLLoss l({.weight = ones({2})}); l(f23(), zeros({2}, int64)); }, Expect::shape, "nll_loss");
  row("nn::Loss::operator()", [] { SmoothL1Loss l(Reduction::mean, -1.0); l(f23(), f23()); }, Expect::value, "smooth_l1_loss");
  row("nn::Loss::operator()", [] { HuberLoss l(Reduction::mean, 0.0); l(f23(), f23()); }, Expect::value, "huber_loss");
  row("nn::Loss::operator()", [] { L1Loss l(Reduction::batchmean); l(f23(), f23()); }, Expect::value, "l1_loss");
  for (const char* name : {"nn::MSELoss::MSELoss", "nn::L1Loss::L1Loss", "nn::SmoothL1Loss::SmoothL1Loss", "nn::HuberLoss::HuberLoss",
                           "nn::CrossEntropyLoss::CrossEntropyLoss", "nn::NLLLoss::NLLLoss", "nn::BCELoss::BCELoss",
                           "nn::BCEWithLogitsLoss::BCEWithLogitsLoss", "nn::KLDivLoss::KLDivLoss"})
    row.exempt(name, "stores its options; the functional loss checks them at the call (its rows above and in test_bad_input_loss.cpp)");
  for (const char* name : {"nn::LeakyReLU::LeakyReLU", "nn::ELU::ELU", "nn::ReLU6::ReLU6", "nn::Softmax::Softmax", "nn::LogSoftmax::LogSoftmax"})
    row.exempt(name, "any value is an option PyTorch takes (a dim is checked against the input at the call)");
}
// clang-format on

Rows rows(&nn_loss_rows);

}  // namespace
}  // namespace bad_input
