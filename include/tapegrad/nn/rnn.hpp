// Recurrent modules with PyTorch's names, shapes, gate order and default init (torch.nn.RNNCell,
// LSTMCell, GRUCell, RNN, LSTM, GRU), so a PyTorch state_dict loads as it is.
//
//   nn::LSTM lstm(28, 128, {.num_layers = 2, .batch_first = true});
//   auto [output, state] = lstm(x);          // output [N, L, 128]; state.h, state.c [2, N, 128]
//   auto [y, h_n] = gru(x, h0);              // RNN and GRU: the final h only
//
// Every weight and bias starts as U(-1/sqrt(H), 1/sqrt(H)) (reset_parameters draws them again).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/nn/module.hpp"
#include "tapegrad/ops/rnn.hpp"
#include "tapegrad/random.hpp"

namespace tapegrad::nn {

enum class Nonlinearity { tanh, relu };

// --- cells: one step. forward(x) (what Sequential and Module::operator() call) starts from zeros.

// The parameters of a cell with G gates: weight_ih [G*H, in], weight_hh [G*H, H], bias_ih and
// bias_hh [G*H] (undefined without bias), all U(-1/sqrt(H), 1/sqrt(H)).
class RecurrentCell : public Module {
 public:
  // Draws the parameters again (from `generator`, or the default generator).
  void reset_parameters(Generator* generator = nullptr);
  std::string extra_repr() const override;

  std::int64_t input_size, hidden_size;
  Tensor& weight_ih;
  Tensor& weight_hh;
  Tensor& bias_ih;
  Tensor& bias_hh;

 protected:
  RecurrentCell(const char* kind, std::int64_t gates, std::int64_t input_size, std::int64_t hidden_size, bool bias,
                Here at);
};

// h' = tanh or relu(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (rnn_tanh_cell, rnn_relu_cell).
class RNNCell : public RecurrentCell {
 public:
  RNNCell(std::int64_t input_size, std::int64_t hidden_size, bool bias = true,
          Nonlinearity nonlinearity = Nonlinearity::tanh, Here at = Here::current());
  using Module::operator();
  Tensor operator()(const Tensor& x, const Tensor& h, Here at = Here::current());
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  Nonlinearity nonlinearity;
};

// lstm_cell (gates i, f, g, o); forward(x) returns h'.
class LSTMCell : public RecurrentCell {
 public:
  LSTMCell(std::int64_t input_size, std::int64_t hidden_size, bool bias = true, Here at = Here::current());
  using Module::operator();
  LstmState operator()(const Tensor& x, const LstmState& state, Here at = Here::current());
  Tensor forward(const Tensor& x) override;
};

// gru_cell (gates r, z, n).
class GRUCell : public RecurrentCell {
 public:
  GRUCell(std::int64_t input_size, std::int64_t hidden_size, bool bias = true, Here at = Here::current());
  using Module::operator();
  Tensor operator()(const Tensor& x, const Tensor& h, Here at = Here::current());
  Tensor forward(const Tensor& x) override;
};

// --- layers: whole sequences, stacked, optionally bidirectional.

struct RecurrentOptions {
  std::int64_t num_layers = 1;
  bool bias = true;
  bool batch_first = false;  // input and output [N, L, features] instead of [L, N, features]
  double dropout = 0.0;      // on the outputs of each layer but the last, in training only
  bool bidirectional = false;
  Nonlinearity nonlinearity = Nonlinearity::tanh;  // RNN only
  Generator* dropout_generator = nullptr;          // null: the default generator
};

// What RNN and GRU return: every step's output of the last layer ([L, N, D*H], or [N, L, D*H] with
// batch_first, [L, D*H] unbatched) and the final h of every layer and direction ([num_layers*D, N, H]).
struct RecurrentOutput {
  Tensor output;
  Tensor h_n;
};
// What LSTM returns: the output, and the final h and c ([num_layers*D, N, H] each).
struct LstmOutput {
  Tensor output;
  LstmState state;
};

// The parameters and the layer loop shared by RNN, LSTM and GRU. Parameter names are PyTorch's:
// weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, with the suffix _reverse for the
// backward direction; weight_ih_l{k} for k >= 1 reads D*H features.
class RecurrentBase : public Module {
 public:
  std::string extra_repr() const override;
  void reset_parameters(Generator* generator = nullptr);
  std::int64_t input_size() const { return input_size_; }
  std::int64_t hidden_size() const { return hidden_size_; }
  const RecurrentOptions& options() const { return options_; }

 protected:
  RecurrentBase(std::string kind, std::int64_t gates, std::int64_t input_size, std::int64_t hidden_size,
                RecurrentOptions options, Here at);
  // One layer and direction over x [L, N, in]: outputs [L, N, H] and the final h (and c).
 public:
  struct Pass {
    Tensor output, h, c;
  };

 protected:
  virtual Pass run(std::size_t index, const Tensor& x, const Tensor& h0, const Tensor& c0, bool reverse) = 0;
  // The layer loop: checks, batch_first and unbatched input, layers, directions, dropout.
  LstmOutput run_layers(const Tensor& input, const Tensor& h0, const Tensor& c0, bool has_cell, Here at);
  // weight_ih, weight_hh, bias_ih, bias_hh of layer * D + direction (biases undefined without bias).
  struct Weights {
    Tensor* w_ih = nullptr;
    Tensor* w_hh = nullptr;
    Tensor* b_ih = nullptr;
    Tensor* b_hh = nullptr;
  };
  std::vector<Weights> weights_;
  std::string kind_;
  std::int64_t gates_, input_size_, hidden_size_;
  RecurrentOptions options_;
};

// Elman RNN: h_t = tanh or relu(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh) per layer and direction.
class RNN : public RecurrentBase {
 public:
  RNN(std::int64_t input_size, std::int64_t hidden_size, RecurrentOptions options = {}, Here at = Here::current());
  RecurrentOutput operator()(const Tensor& input, const Tensor& h0 = {}, Here at = Here::current());
  Tensor forward(const Tensor& input) override;  // the output only

 protected:
  Pass run(std::size_t index, const Tensor& x, const Tensor& h0, const Tensor& c0, bool reverse) override;
};

// LSTM over lstm_sequence (one fused op per layer and direction).
class LSTM : public RecurrentBase {
 public:
  LSTM(std::int64_t input_size, std::int64_t hidden_size, RecurrentOptions options = {}, Here at = Here::current());
  LstmOutput operator()(const Tensor& input, const LstmState& state = {}, Here at = Here::current());
  Tensor forward(const Tensor& input) override;

 protected:
  Pass run(std::size_t index, const Tensor& x, const Tensor& h0, const Tensor& c0, bool reverse) override;
};

class GRU : public RecurrentBase {
 public:
  GRU(std::int64_t input_size, std::int64_t hidden_size, RecurrentOptions options = {}, Here at = Here::current());
  RecurrentOutput operator()(const Tensor& input, const Tensor& h0 = {}, Here at = Here::current());
  Tensor forward(const Tensor& input) override;

 protected:
  Pass run(std::size_t index, const Tensor& x, const Tensor& h0, const Tensor& c0, bool reverse) override;
};

}  // namespace tapegrad::nn
