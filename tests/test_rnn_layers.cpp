// Recurrent modules (nn/rnn.hpp) against PyTorch: tests/data/make_rnn_fixtures.py saved a 2-layer,
// bidirectional, batch_first LSTM and GRU (weights by state_dict key, input, initial states, output,
// final states, and the gradients of a weighted sum of the outputs); our modules load the same
// weights and must reproduce them, to 1e-10 in float64 and 1e-5 in float32.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "layer_table.hpp"

using namespace tapegrad;

namespace {

const std::filesystem::path fixtures = std::filesystem::path(TAPEGRAD_SOURCE_DIR) / "tests" / "data" / "rnn";

struct RecurrentFixture {
  std::string name;  // folder under tests/data/rnn
  std::function<std::unique_ptr<nn::Module>()> make;
  bool has_cell;
  // output, h_n, c_n (undefined without a cell) from input and initial states
  std::function<std::vector<Tensor>(nn::Module&, const Tensor&, const Tensor&, const Tensor&)> run;
};

std::vector<RecurrentFixture> recurrent_fixtures() {
  const nn::RecurrentOptions options{.num_layers = 2, .batch_first = true, .bidirectional = true};
  return {
      {"lstm", [=] { return std::make_unique<nn::LSTM>(3, 4, options); }, true,
       [](nn::Module& m, const Tensor& x, const Tensor& h0, const Tensor& c0) {
         auto [output, state] = static_cast<nn::LSTM&>(m)(x, {h0, c0});
         return std::vector<Tensor>{output, state.h, state.c};
       }},
      {"gru", [=] { return std::make_unique<nn::GRU>(3, 4, options); }, false,
       [](nn::Module& m, const Tensor& x, const Tensor& h0, const Tensor&) {
         auto [output, h_n] = static_cast<nn::GRU&>(m)(x, h0);
         return std::vector<Tensor>{output, h_n};
       }},
  };
}

Tensor fixture(const std::string& model, const std::string& name, DType dtype) {
  return load_npy(fixtures / model / (name + ".npy")).to(dtype);
}

// PyTorch's keys and shapes of a stack of `layers` layers with G gates (in features to the first).
std::vector<std::pair<std::string, Shape>> recurrent_state(std::int64_t gates, std::int64_t in, std::int64_t hidden,
                                                           std::int64_t layers, bool bidirectional, bool bias) {
  std::vector<std::pair<std::string, Shape>> state;
  const std::int64_t directions = bidirectional ? 2 : 1;
  for (std::int64_t layer = 0; layer < layers; ++layer)
    for (std::int64_t d = 0; d < directions; ++d) {
      const std::string suffix = "_l" + std::to_string(layer) + (d == 1 ? "_reverse" : "");
      state.emplace_back("weight_ih" + suffix, Shape{gates * hidden, layer == 0 ? in : directions * hidden});
      state.emplace_back("weight_hh" + suffix, Shape{gates * hidden, hidden});
      if (bias) {
        state.emplace_back("bias_ih" + suffix, Shape{gates * hidden});
        state.emplace_back("bias_hh" + suffix, Shape{gates * hidden});
      }
    }
  return state;
}

std::vector<std::pair<std::string, Shape>> cell_state(std::int64_t gates, std::int64_t in, std::int64_t hidden,
                                                      bool bias = true) {
  std::vector<std::pair<std::string, Shape>> state{{"weight_ih", {gates * hidden, in}},
                                                   {"weight_hh", {gates * hidden, hidden}}};
  if (bias) state.insert(state.end(), {{"bias_ih", {gates * hidden}}, {"bias_hh", {gates * hidden}}});
  return state;
}

template <class M>
M& as(nn::Module& m) {
  return static_cast<M&>(m);
}

void recurrent_layers(std::vector<test::LayerInfo>& rows) {
  using Inputs = std::vector<Tensor>;
  rows.push_back({"RNNCell(3, 4) from zeros",
                  [] { return std::make_unique<nn::RNNCell>(3, 4); },
                  {{2, 3}},
                  {},
                  {},
                  cell_state(1, 3, 4)});
  rows.push_back({"RNNCell(3, 4, bias=false, relu) with h",
                  [] { return std::make_unique<nn::RNNCell>(3, 4, false, nn::Nonlinearity::relu); },
                  {{2, 3}, {2, 4}},
                  {},
                  [](nn::Module& m, const Inputs& xs) { return Inputs{as<nn::RNNCell>(m)(xs[0], xs[1])}; },
                  cell_state(1, 3, 4, false)});
  rows.push_back({"LSTMCell(3, 4) with (h, c)",
                  [] { return std::make_unique<nn::LSTMCell>(3, 4); },
                  {{2, 3}, {2, 4}, {2, 4}},
                  {},
                  [](nn::Module& m, const Inputs& xs) {
                    auto [h, c] = as<nn::LSTMCell>(m)(xs[0], {xs[1], xs[2]});
                    return Inputs{h, c};
                  },
                  cell_state(4, 3, 4)});
  rows.push_back({"LSTMCell(3, 4) unbatched, from zeros", [] { return std::make_unique<nn::LSTMCell>(3, 4); }, {{3}}});
  rows.push_back({"GRUCell(3, 4) with h",
                  [] { return std::make_unique<nn::GRUCell>(3, 4); },
                  {{2, 3}, {2, 4}},
                  {},
                  [](nn::Module& m, const Inputs& xs) { return Inputs{as<nn::GRUCell>(m)(xs[0], xs[1])}; },
                  cell_state(3, 3, 4)});
  // Five steps, two layers, both directions, initial states given: every output and final state.
  const nn::RecurrentOptions deep{.num_layers = 2, .bidirectional = true};
  rows.push_back({"LSTM(2, 3, num_layers=2, bidirectional=True) with (h0, c0)",
                  [=] { return std::make_unique<nn::LSTM>(2, 3, deep); },
                  {{5, 2, 2}, {4, 2, 3}, {4, 2, 3}},
                  {},
                  [](nn::Module& m, const Inputs& xs) {
                    auto [output, state] = as<nn::LSTM>(m)(xs[0], {xs[1], xs[2]});
                    return Inputs{output, state.h, state.c};
                  },
                  recurrent_state(4, 2, 3, 2, true, true)});
  rows.push_back({"GRU(2, 3, num_layers=2, bidirectional=True, batch_first=True) with h0",
                  [=] {
                    return std::make_unique<nn::GRU>(
                        2, 3, nn::RecurrentOptions{.num_layers = 2, .batch_first = true, .bidirectional = true});
                  },
                  {{2, 5, 2}, {4, 2, 3}},
                  {},
                  [](nn::Module& m, const Inputs& xs) {
                    auto [output, h_n] = as<nn::GRU>(m)(xs[0], xs[1]);
                    return Inputs{output, h_n};
                  },
                  recurrent_state(3, 2, 3, 2, true, true)});
  rows.push_back({"RNN(2, 3, num_layers=2, nonlinearity='relu', bias=False) unbatched",
                  [] {
                    return std::make_unique<nn::RNN>(
                        2, 3,
                        nn::RecurrentOptions{.num_layers = 2, .bias = false, .nonlinearity = nn::Nonlinearity::relu});
                  },
                  {{5, 2}},
                  {},
                  [](nn::Module& m, const Inputs& xs) {
                    auto [output, h_n] = as<nn::RNN>(m)(xs[0]);
                    return Inputs{output, h_n};
                  },
                  recurrent_state(1, 2, 3, 2, false, false)});
  rows.push_back({"RNN(2, 3, bidirectional=True) with h0",
                  [] { return std::make_unique<nn::RNN>(2, 3, nn::RecurrentOptions{.bidirectional = true}); },
                  {{5, 2, 2}, {2, 2, 3}},
                  {},
                  [](nn::Module& m, const Inputs& xs) {
                    auto [output, h_n] = as<nn::RNN>(m)(xs[0], xs[1]);
                    return Inputs{output, h_n};
                  },
                  recurrent_state(1, 2, 3, 1, true, true)});
  // Through Module::operator() (as in Sequential): the output only. Dropout acts in training only.
  rows.push_back(
      {"LSTM(2, 3, num_layers=2, dropout=0.5) in eval, output only",
       [] { return std::make_unique<nn::LSTM>(2, 3, nn::RecurrentOptions{.num_layers = 2, .dropout = 0.5}); },
       {{5, 1, 2}},
       {},
       {},
       recurrent_state(4, 2, 3, 2, false, true),
       false});
}
test::LayerRows layer_rows(&recurrent_layers);

}  // namespace

TEST_CASE("LSTM and GRU load PyTorch's weights and reproduce its outputs, final states and input gradients") {
  for (const RecurrentFixture& f : recurrent_fixtures()) {
    for (DType dtype : {float64, float32}) {
      INFO(f.name << ", " << dtype_name(dtype));
      const double tol = dtype == float64 ? 1e-10 : 1e-5;
      std::unique_ptr<nn::Module> model = f.make();
      model->to(dtype);
      StateDict weights;
      for (const auto& key : model->state_dict().keys()) weights.insert(key, fixture(f.name, key, dtype));
      model->load_state_dict(weights);
      Tensor x = fixture(f.name, "input", dtype).requires_grad_();
      Tensor h0 = fixture(f.name, "h0", dtype).requires_grad_();
      Tensor c0 = f.has_cell ? fixture(f.name, "c0", dtype).requires_grad_() : Tensor();
      std::vector<Tensor> ys = f.run(*model, x, h0, c0);
      const std::vector<std::string> names{"output", "h_n", "c_n"}, weights_of{"w_out", "w_h", "w_c"};
      Tensor loss = zeros({}, dtype);
      for (std::size_t k = 0; k < ys.size(); ++k) {
        INFO(names[k]);
        const Tensor expected = fixture(f.name, names[k], float64);
        REQUIRE(ys[k].shape() == expected.shape());
        test::check_close(ys[k], expected.to_vector<double>(), tol);
        loss = loss + sum(ys[k] * fixture(f.name, weights_of[k], dtype));
      }
      loss.backward();
      for (auto [leaf, name] : {std::pair{x, "input_grad"}, std::pair{h0, "h0_grad"}, std::pair{c0, "c0_grad"}}) {
        if (!leaf.defined()) continue;
        INFO(name);
        test::check_close(leaf.grad(), fixture(f.name, name, float64).to_vector<double>(), tol);
      }
    }
  }
}

TEST_CASE("dropout between layers acts in training only, drawn from the dropout generator") {
  Generator gen(11);
  nn::LSTM with_dropout(3, 4, {.num_layers = 2, .dropout = 0.5, .dropout_generator = &gen});
  nn::LSTM plain(3, 4, {.num_layers = 2});
  plain.load_state_dict(with_dropout.state_dict());
  const Tensor x = randn({5, 2, 3});
  NoGradGuard no_grad;
  const std::vector<float> reference = plain(x).output.to_vector<float>();
  const std::vector<float> first = with_dropout(x).output.to_vector<float>();
  CHECK(first != reference);
  CHECK(with_dropout(x).output.to_vector<float>() != first);  // a new mask each call
  with_dropout.eval();
  CHECK(with_dropout(x).output.to_vector<float>() == reference);
  // The same seed gives the same masks.
  Generator again(11);
  nn::LSTM replay(3, 4, {.num_layers = 2, .dropout = 0.5, .dropout_generator = &again});
  replay.load_state_dict(plain.state_dict());
  CHECK(replay(x).output.to_vector<float>() == first);
}
