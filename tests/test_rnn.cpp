// Recurrent cells and the fused LSTM sequence (ops/rnn.hpp): a table of rows, each gradchecked and
// gradgradchecked in float64 (Note [Generated op tests]), and the fused LSTM checked against the
// same formulas written with plain ops.
#include <functional>
#include <string>
#include <vector>

#include "bad_input.hpp"

using namespace tapegrad;
using test::sample;

namespace {

using MultiFunction = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

struct RnnOpInfo {
  std::string name;
  MultiFunction f;
  std::vector<std::vector<Tensor>> samples;
};

// Weights for a cell with `gates` gates: w_ih [G*H, in], w_hh [G*H, H], b_ih, b_hh [G*H].
std::vector<Tensor> cell_weights(std::int64_t gates, std::int64_t in, std::int64_t hidden) {
  return {sample({gates * hidden, in}, -0.8, 0.8), sample({gates * hidden, hidden}, -0.8, 0.8),
          sample({gates * hidden}, -0.5, 0.5), sample({gates * hidden}, -0.5, 0.5)};
}

std::vector<Tensor> join(std::vector<Tensor> a, const std::vector<Tensor>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<Tensor> one(Tensor t) { return {std::move(t)}; }

std::vector<RnnOpInfo> rnn_op_infos() {
  std::vector<RnnOpInfo> ops;
  auto add = [&](std::string name, MultiFunction f, std::vector<std::vector<Tensor>> samples) {
    ops.push_back({std::move(name), std::move(f), std::move(samples)});
  };
  // x [3, 4] (batch 3), h [3, 5]; unbatched x [4], h [5].
  for (auto [name, relu_cell] : {std::pair{"rnn_tanh_cell", false}, std::pair{"rnn_relu_cell", true}}) {
    auto cell = [relu_cell](const Tensor& x, const Tensor& h, const Tensor& wi, const Tensor& wh, const Tensor& bi,
                            const Tensor& bh) {
      return relu_cell ? rnn_relu_cell(x, h, wi, wh, bi, bh) : rnn_tanh_cell(x, h, wi, wh, bi, bh);
    };
    add(name, [cell](auto& v) { return one(cell(v[0], v[1], v[2], v[3], v[4], v[5])); },
        {join({sample({3, 4}), sample({3, 5})}, cell_weights(1, 4, 5)),
         join({sample({4}), sample({5})}, cell_weights(1, 4, 5))});
    add(std::string(name) + " without biases or state",
        [cell](auto& v) { return one(cell(v[0], {}, v[1], v[2], {}, {})); },
        {{sample({3, 4}), sample({5, 4}), sample({5, 5})}});
  }
  add("lstm_cell",
      [](auto& v) {
        auto [h, c] = lstm_cell(v[0], {v[1], v[2]}, v[3], v[4], v[5], v[6]);
        return std::vector<Tensor>{h, c};
      },
      {join({sample({3, 4}), sample({3, 5}), sample({3, 5})}, cell_weights(4, 4, 5)),
       join({sample({4}), sample({5}), sample({5})}, cell_weights(4, 4, 5))});
  add("lstm_cell without biases or state",
      [](auto& v) {
        auto [h, c] = lstm_cell(v[0], {}, v[1], v[2]);
        return std::vector<Tensor>{h, c};
      },
      {{sample({2, 3}), sample({8, 3}), sample({8, 2})}});
  add("lstm_cell h only (c zeros)",
      [](auto& v) {
        return one(lstm_cell(v[0], {v[1], {}}, v[2], v[3], v[4]).h);
      },
      {{sample({2, 3}), sample({2, 2}), sample({8, 3}), sample({8, 2}), sample({8})}});
  add("gru_cell", [](auto& v) { return one(gru_cell(v[0], v[1], v[2], v[3], v[4], v[5])); },
      {join({sample({3, 4}), sample({3, 5})}, cell_weights(3, 4, 5)),
       join({sample({4}), sample({5})}, cell_weights(3, 4, 5))});
  add("gru_cell without biases or state", [](auto& v) { return one(gru_cell(v[0], {}, v[1], v[2])); },
      {{sample({2, 3}), sample({6, 3}), sample({6, 2})}});
  // Five steps, batch 2, in 3, hidden 4; forward and reverse; every output used.
  for (bool reverse : {false, true}) {
    add(std::string("lstm_sequence") + (reverse ? " reverse" : ""),
        [reverse](auto& v) {
          auto [y, h, c] = lstm_sequence(v[0], {v[1], v[2]}, v[3], v[4], v[5], v[6], reverse);
          return std::vector<Tensor>{y, h, c};
        },
        {join({sample({5, 2, 3}), sample({2, 4}), sample({2, 4})}, cell_weights(4, 3, 4))});
  }
  add("lstm_sequence output only, no state, no biases",
      [](auto& v) { return one(lstm_sequence(v[0], {}, v[1], v[2]).output); },
      {{sample({6, 2, 3}), sample({12, 3}), sample({12, 3})}, {sample({1, 1, 2}), sample({8, 2}), sample({8, 2})}});
  add("lstm_sequence h_n only",
      [](auto& v) {
        return one(lstm_sequence(v[0], {v[1], v[2]}, v[3], v[4]).h);
      },
      {{sample({5, 2, 3}), sample({2, 4}), sample({2, 4}), sample({16, 3}), sample({16, 4})}});
  add("lstm_sequence non-contiguous input",
      [](auto& v) { return one(lstm_sequence(transpose(v[0], 0, 1), {}, v[1], v[2], v[3]).output); },
      {{sample({2, 5, 3}), sample({12, 3}), sample({12, 3}), sample({12})}});
  return ops;
}

// The LSTM written with plain ops, step by step (the formulas of torch.nn.LSTM's documentation).
std::vector<Tensor> lstm_by_ops(const std::vector<Tensor>& v, bool reverse) {
  const Tensor &x = v[0], &w_ih = v[3], &w_hh = v[4], &b_ih = v[5], &b_hh = v[6];
  const std::int64_t steps = x.size(0), hidden = w_hh.size(1);
  Tensor h = v[1], c = v[2];
  std::vector<Tensor> outputs(static_cast<std::size_t>(steps));
  for (std::int64_t s = 0; s < steps; ++s) {
    const std::int64_t t = reverse ? steps - 1 - s : s;
    Tensor gates = matmul(select(x, 0, t), w_ih.t()) + b_ih + matmul(h, w_hh.t()) + b_hh;
    std::vector<Tensor> g = split(gates, hidden, 1);
    c = sigmoid(g[1]) * c + sigmoid(g[0]) * tanh(g[2]);
    h = sigmoid(g[3]) * tanh(c);
    outputs[static_cast<std::size_t>(t)] = h;
  }
  return {stack(outputs, 0), h, c};
}

}  // namespace

TEST_CASE("every recurrent cell and the fused LSTM sequence are gradchecked and gradgradchecked") {
  std::size_t checks = 0;
  for (const RnnOpInfo& op : rnn_op_infos()) {
    for (const std::vector<Tensor>& inputs : op.samples) {
      INFO(op.name << ", input " << to_string(inputs[0].shape()));
      CHECK(gradcheck(op.f, inputs));
      CHECK(gradgradcheck(op.f, inputs));
      ++checks;
    }
  }
  MESSAGE(checks << " recurrent samples gradchecked and gradgradchecked");
}

TEST_CASE("the fused LSTM sequence gives the values and gradients of the same formulas written with ops") {
  for (bool reverse : {false, true}) {
    for (DType dtype : {float64, float32}) {
      INFO("reverse " << reverse << ", " << dtype_name(dtype));
      std::vector<Tensor> v = join({sample({7, 3, 5}), sample({3, 6}), sample({3, 6})}, cell_weights(4, 5, 6));
      for (Tensor& t : v) t = t.detach().to(dtype).requires_grad_();
      const double tol = dtype == float64 ? 1e-12 : 1e-5;
      auto [y, h, c] = lstm_sequence(v[0], {v[1], v[2]}, v[3], v[4], v[5], v[6], reverse);
      std::vector<Tensor> expected = lstm_by_ops(v, reverse);
      std::vector<Tensor> ours{y, h, c};
      Generator gen(7);
      std::vector<Tensor> weights;
      for (int k = 0; k < 3; ++k) {
        test::check_close(ours[k], expected[k].detach().to(float64).to_vector<double>(), tol);
        weights.push_back(uniform(ours[k].shape(), -1.0, 1.0, dtype, &gen));
      }
      std::vector<Tensor> g_ours = grad(ours, v, weights);
      std::vector<Tensor> g_expected = grad(expected, v, weights);
      for (std::size_t k = 0; k < v.size(); ++k) {
        INFO("gradient of input " << k);
        test::check_close(g_ours[k], g_expected[k].to(float64).to_vector<double>(), tol);
      }
    }
  }
}

// Hidden size 0 (PyTorch allows it): empty states, and gradients (first order and recorded) of zeros
// for the input. gru_cell split its gates by a piece size of 0 and raised from split.
TEST_CASE("every cell takes hidden size 0, forward and backward, with and without create_graph") {
  const std::vector<std::pair<std::string, MultiFunction>> cells{
      {"rnn_tanh_cell", [](auto& v) { return one(rnn_tanh_cell(v[0], {}, v[1], v[2])); }},
      {"rnn_relu_cell", [](auto& v) { return one(rnn_relu_cell(v[0], {}, v[1], v[2])); }},
      {"gru_cell", [](auto& v) { return one(gru_cell(v[0], {}, v[1], v[2])); }},
      {"lstm_cell", [](auto& v) { return one(lstm_cell(v[0], {}, v[1], v[2]).h); }},
      {"lstm_sequence", [](auto& v) { return one(lstm_sequence(unsqueeze(v[0], 0), {}, v[1], v[2]).output); }}};
  for (const auto& [name, f] : cells) {
    for (bool create_graph : {false, true}) {
      INFO(name << ", create_graph " << create_graph);
      std::vector<Tensor> v{sample({2, 3}), sample({0, 3}), sample({0, 0})};
      Tensor y = f(v)[0];
      CHECK(y.shape().back() == 0);
      CHECK(y.numel() == 0);
      Tensor gx = grad({sum(y) + sum(v[0])}, {v[0]}, {}, false, create_graph)[0];
      test::check_close(gx, std::vector<double>(6, 1.0));
    }
  }
}

namespace bad_input {
namespace {

// x [2, 3], h [2, 4]; LSTM weights [16, 3] and [16, 4].
Tensor x23() { return zeros({2, 3}); }
Tensor w(std::int64_t rows, std::int64_t cols) { return zeros({rows, cols}); }

// Each row's call stays on the row's line (the line its message must give).
// clang-format off
void rnn_rows(Catalogue& row) {
  using namespace nn;
  for (const char* type : {"LstmState", "LstmSequence", "RecurrentOptions", "RecurrentOutput", "LstmOutput", "Pass"}) row.unwalked(type);
  row("rnn_tanh_cell", [] { rnn_tanh_cell(zeros({2, 5}), {}, w(4, 3), w(4, 4)); }, Expect::shape, "rnn_tanh_cell");
  row("rnn_relu_cell", [] { rnn_relu_cell(x23(), zeros({3, 4}), w(4, 3), w(4, 4)); }, Expect::shape, "rnn_relu_cell");
  row("gru_cell", [] { gru_cell(x23(), {}, w(12, 3), w(12, 4), zeros({16})); }, Expect::shape, "gru_cell");
  row("lstm_cell", [] { lstm_cell(ints(), {}, w(16, 4), w(16, 4)); }, Expect::dtype, "lstm_cell");
  row("lstm_sequence", [] { lstm_sequence(zeros({0, 2, 3}), {}, w(16, 3), w(16, 4)); }, Expect::shape, "lstm_sequence");
  row("nn::RNNCell::RNNCell", [] { RNNCell(-1, 2); }, Expect::value, "RNNCell");
  row("nn::RNNCell::operator()", [] { RNNCell c(3, 2); c(x23(), zeros({3, 2})); }, Expect::shape, "rnn_tanh_cell");
  row("nn::RNNCell::forward", [] { RNNCell(3, 2, true, Nonlinearity::relu)(zeros({2, 4})); }, Expect::shape, "rnn_relu_cell");
  row("nn::LSTMCell::LSTMCell", [] { LSTMCell(3, -1); }, Expect::value, "LSTMCell");
  row("nn::LSTMCell::operator()", [] { LSTMCell c(3, 2); c(x23(), {zeros({2, 3}), {}}); }, Expect::shape, "lstm_cell");
  row("nn::LSTMCell::forward", [] { LSTMCell(4, 2)(ints()); }, Expect::dtype, "lstm_cell");
  row("nn::GRUCell::GRUCell", [] { GRUCell(-3, 2); }, Expect::value, "GRUCell");
  row("nn::GRUCell::operator()", [] { GRUCell c(3, 2); c(x23(), zeros({2, 2}, float64)); }, Expect::dtype, "gru_cell");
  row("nn::GRUCell::forward", [] { GRUCell(3, 2)(zeros({1, 2, 3})); }, Expect::shape, "gru_cell");
  row("nn::RNN::RNN", [] { RNN(3, 0); }, Expect::value, "RNN");
  row("nn::RNN::operator()", [] { RNN r(3, 2); r(zeros({5, 2, 3}), zeros({1, 3, 2})); }, Expect::shape, "RNN");
  row("nn::RNN::forward", [] { RNN(3, 2)(zeros({0, 2, 3})); }, Expect::shape, "RNN");
  row("nn::LSTM::LSTM", [] { LSTM(3, 2, {.num_layers = 0}); }, Expect::value, "LSTM");
  row("nn::LSTM::LSTM", [] { LSTM(3, 2, {.num_layers = 1LL << 40}); }, Expect::oom, "empty");  // looped until memory ran out
  row("nn::GRU::GRU", [] { GRU(3, 1LL << 31, {.num_layers = 1LL << 31}); }, Expect::value, "GRU");
  row("nn::LSTM::operator()", [] { LSTM l(3, 2); l(zeros({5, 2, 4})); }, Expect::shape, "LSTM");
  row("nn::LSTM::forward", [] { LSTM(3, 2)(zeros({4, 2, 3}, float64)); }, Expect::dtype, "LSTM");
  row("nn::GRU::GRU", [] { GRU(3, 2, {.dropout = 1.5}); }, Expect::value, "GRU");
  row("nn::GRU::operator()", [] { GRU g(3, 2); g(zeros({5, 3}), zeros({1, 1, 2})); }, Expect::shape, "GRU");
  row("nn::GRU::forward", [] { GRU(3, 2)(zeros({2, 2, 2, 3})); }, Expect::shape, "GRU");
  for (const char* name : {"nn::RecurrentCell::reset_parameters", "nn::RecurrentCell::extra_repr", "nn::RNNCell::extra_repr",
                           "nn::RecurrentBase::reset_parameters", "nn::RecurrentBase::extra_repr", "nn::RecurrentBase::input_size",
                           "nn::RecurrentBase::hidden_size", "nn::RecurrentBase::options"})
    row.exempt(name, "no input to check: initialisation, printing and accessors");
}
// clang-format on

Rows rows(&rnn_rows);

}  // namespace
}  // namespace bad_input
