// Recurrent modules: parameters named and shaped as in PyTorch, forward through ops/rnn.hpp (the LSTM
// layer through the fused lstm_sequence, RNN and GRU layers step by step through their cells).
#include "tapegrad/nn/rnn.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

#include "tapegrad/error.hpp"
#include "tapegrad/nn/init.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/shape.hpp"
#include "tapegrad/tape.hpp"

namespace tapegrad::nn {

namespace {

std::int64_t checked_size(const std::string& op, const char* what, std::int64_t size, std::int64_t minimum,
                          const Here& at) {
  if (size < minimum)
    throw ValueError(op, std::string(what) + " must be at least " + std::to_string(minimum),
                     std::string(what) + "=" + std::to_string(size), at);
  return size;
}

// U(-1/sqrt(H), 1/sqrt(H)) for every parameter (torch.nn.RNNBase / RNNCellBase.reset_parameters).
void uniform_init(const std::vector<Tensor*>& parameters, std::int64_t hidden, Generator* generator) {
  const double bound = hidden > 0 ? 1.0 / std::sqrt(static_cast<double>(hidden)) : 0.0;
  for (Tensor* p : parameters)
    if (p && p->defined()) init::uniform_(*p, -bound, bound, generator);
}

Tensor bias_of(const Tensor* b) { return b ? *b : Tensor(); }

// h_t = step(x_t, h_{t-1}) over x [L, N, in] in order (or reverse); a missing h0 is zeros.
RecurrentBase::Pass run_steps(const Tensor& x, const Tensor& h0, bool reverse,
                              const std::function<Tensor(const Tensor&, const Tensor&)>& step) {
  const std::int64_t steps = x.shape()[0];
  std::vector<Tensor> outputs(static_cast<std::size_t>(steps));
  Tensor h = h0;
  for (std::int64_t s = 0; s < steps; ++s) {
    const std::int64_t t = reverse ? steps - 1 - s : s;
    h = step(select(x, 0, t), h);
    outputs[static_cast<std::size_t>(t)] = h;
  }
  return {stack(outputs, 0), h, Tensor()};
}

}  // namespace

// --------------------------------------------------------------------------- cells

RecurrentCell::RecurrentCell(const char* kind, std::int64_t gates, std::int64_t input_size, std::int64_t hidden_size,
                             bool bias, Here at)
    : input_size(checked_size(kind, "input_size", input_size, 0, at)),
      hidden_size(checked_size(kind, "hidden_size", hidden_size, 0, at)),
      weight_ih(register_parameter("weight_ih", empty({gates * hidden_size, input_size}, float32, at), true, at)),
      weight_hh(register_parameter("weight_hh", empty({gates * hidden_size, hidden_size}, float32, at), true, at)),
      bias_ih(register_parameter("bias_ih", bias ? empty({gates * hidden_size}, float32, at) : Tensor(), true, at)),
      bias_hh(register_parameter("bias_hh", bias ? empty({gates * hidden_size}, float32, at) : Tensor(), true, at)) {
  reset_parameters();
}

void RecurrentCell::reset_parameters(Generator* generator) {
  uniform_init({&weight_ih, &weight_hh, &bias_ih, &bias_hh}, hidden_size, generator);
}

std::string RecurrentCell::extra_repr() const {
  return std::to_string(input_size) + ", " + std::to_string(hidden_size) + (bias_ih.defined() ? "" : ", bias=false");
}

RNNCell::RNNCell(std::int64_t input_size, std::int64_t hidden_size, bool bias, Nonlinearity nonlinearity, Here at)
    : RecurrentCell("RNNCell", 1, input_size, hidden_size, bias, at), nonlinearity(nonlinearity) {}

Tensor RNNCell::operator()(const Tensor& x, const Tensor& h, Here at) {
  Call call(*this, at);
  return nonlinearity == Nonlinearity::tanh ? rnn_tanh_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh, at)
                                            : rnn_relu_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh, at);
}

Tensor RNNCell::forward(const Tensor& x) {
  const Here at = caller();
  return nonlinearity == Nonlinearity::tanh ? rnn_tanh_cell(x, {}, weight_ih, weight_hh, bias_ih, bias_hh, at)
                                            : rnn_relu_cell(x, {}, weight_ih, weight_hh, bias_ih, bias_hh, at);
}

std::string RNNCell::extra_repr() const {
  return RecurrentCell::extra_repr() + (nonlinearity == Nonlinearity::relu ? ", nonlinearity=relu" : "");
}

LSTMCell::LSTMCell(std::int64_t input_size, std::int64_t hidden_size, bool bias, Here at)
    : RecurrentCell("LSTMCell", 4, input_size, hidden_size, bias, at) {}

LstmState LSTMCell::operator()(const Tensor& x, const LstmState& state, Here at) {
  Call call(*this, at);
  return lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh, at);
}

Tensor LSTMCell::forward(const Tensor& x) {
  return lstm_cell(x, {}, weight_ih, weight_hh, bias_ih, bias_hh, caller()).h;
}

GRUCell::GRUCell(std::int64_t input_size, std::int64_t hidden_size, bool bias, Here at)
    : RecurrentCell("GRUCell", 3, input_size, hidden_size, bias, at) {}

Tensor GRUCell::operator()(const Tensor& x, const Tensor& h, Here at) {
  Call call(*this, at);
  return gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh, at);
}

Tensor GRUCell::forward(const Tensor& x) { return gru_cell(x, {}, weight_ih, weight_hh, bias_ih, bias_hh, caller()); }

// --------------------------------------------------------------------------- layers

RecurrentBase::RecurrentBase(std::string kind, std::int64_t gates, std::int64_t input_size, std::int64_t hidden_size,
                             RecurrentOptions options, Here at)
    : kind_(std::move(kind)), gates_(gates), input_size_(input_size), hidden_size_(hidden_size), options_(options) {
  checked_size(kind_, "input_size", input_size, 0, at);
  checked_size(kind_, "hidden_size", hidden_size, 1, at);
  checked_size(kind_, "num_layers", options.num_layers, 1, at);
  if (!(options.dropout >= 0.0 && options.dropout <= 1.0))
    throw ValueError(kind_, "dropout must be a probability in [0, 1]", "dropout=" + std::to_string(options.dropout),
                     at);
  const std::int64_t directions = options.bidirectional ? 2 : 1;
  // All parameters are asked for in one allocation first: an absurd num_layers or hidden_size fails
  // at once (OutOfMemoryError) instead of looping over layers until memory runs out.
  const double hidden = static_cast<double>(hidden_size);
  const double widest = std::max(static_cast<double>(input_size), static_cast<double>(directions) * hidden);
  const double per_direction = static_cast<double>(gates) * hidden * (widest + hidden + (options.bias ? 2.0 : 0.0));
  const double total = per_direction * static_cast<double>(directions) * static_cast<double>(options.num_layers);
  if (!(total < 0x1p62))
    throw ValueError(
        kind_, "the parameters must fit in int64 elements",
        "num_layers=" + std::to_string(options.num_layers) + ", hidden_size=" + std::to_string(hidden_size), at);
  (void)empty({static_cast<std::int64_t>(total)}, float32, at);
  // Parameters are registered in PyTorch's order: per layer, per direction, w_ih w_hh b_ih b_hh.
  for (std::int64_t layer = 0; layer < options.num_layers; ++layer) {
    const std::int64_t in = layer == 0 ? input_size : directions * hidden_size;
    for (std::int64_t d = 0; d < directions; ++d) {
      const std::string suffix = "_l" + std::to_string(layer) + (d == 1 ? "_reverse" : "");
      Weights w;
      w.w_ih = &register_parameter("weight_ih" + suffix, empty({gates * hidden_size, in}, float32, at), true, at);
      w.w_hh =
          &register_parameter("weight_hh" + suffix, empty({gates * hidden_size, hidden_size}, float32, at), true, at);
      if (options.bias) {
        w.b_ih = &register_parameter("bias_ih" + suffix, empty({gates * hidden_size}, float32, at), true, at);
        w.b_hh = &register_parameter("bias_hh" + suffix, empty({gates * hidden_size}, float32, at), true, at);
      }
      weights_.push_back(w);
    }
  }
  reset_parameters();
}

void RecurrentBase::reset_parameters(Generator* generator) {
  for (const Weights& w : weights_) uniform_init({w.w_ih, w.w_hh, w.b_ih, w.b_hh}, hidden_size_, generator);
}

std::string RecurrentBase::extra_repr() const {
  std::string s = std::to_string(input_size_) + ", " + std::to_string(hidden_size_);
  if (options_.num_layers != 1) s += ", num_layers=" + std::to_string(options_.num_layers);
  if (kind_ == "RNN" && options_.nonlinearity != Nonlinearity::tanh) s += ", nonlinearity=relu";
  if (!options_.bias) s += ", bias=false";
  if (options_.batch_first) s += ", batch_first=true";
  if (options_.dropout != 0.0) s += ", dropout=" + std::to_string(options_.dropout);
  if (options_.bidirectional) s += ", bidirectional=true";
  return s;
}

LstmOutput RecurrentBase::run_layers(const Tensor& input, const Tensor& h0_in, const Tensor& c0_in, bool has_cell,
                                     Here at) {
  const char* op = kind_.c_str();
  if (!input.defined()) throw ValueError(op, "the input must be defined", "an undefined tensor", at);
  const DType dtype = weights_[0].w_ih->dtype();
  if (input.dtype() != dtype)
    throw DTypeError(
        op, "the input must have the parameters' dtype",
        std::string(dtype_name(input.dtype())) + " input, " + std::string(dtype_name(dtype)) + " parameters", at);
  const char* layout = options_.batch_first ? "[N, L, input_size]" : "[L, N, input_size]";
  if (input.dim() != 2 && input.dim() != 3)
    throw ShapeError(op, std::string("the input must be ") + layout + " or unbatched [L, input_size]",
                     "input " + to_string(input.shape()), at);
  const bool unbatched = input.dim() == 2;
  Tensor x = unbatched ? unsqueeze(input, 1, at) : options_.batch_first ? transpose(input, 0, 1, at) : input;
  if (x.shape()[2] != input_size_)
    throw ShapeError(op, "the input must have input_size = " + std::to_string(input_size_) + " features",
                     "input " + to_string(input.shape()), at);
  if (x.shape()[0] == 0)
    throw ShapeError(op, "the sequence must have at least one step", "input " + to_string(input.shape()), at);
  const std::int64_t directions = options_.bidirectional ? 2 : 1, batch = x.shape()[1];
  const std::int64_t states = options_.num_layers * directions;
  const Shape state_shape = unbatched ? Shape{states, hidden_size_} : Shape{states, batch, hidden_size_};
  auto check_state = [&](const Tensor& s, const char* name) {
    if (!s.defined()) return Tensor();
    if (s.shape() != state_shape)
      throw ShapeError(op, std::string(name) + " must have shape " + to_string(state_shape),
                       std::string(name) + " " + to_string(s.shape()) + " for input " + to_string(input.shape()), at);
    if (s.dtype() != dtype)
      throw DTypeError(op, std::string(name) + " must have the parameters' dtype", std::string(dtype_name(s.dtype())),
                       at);
    return unbatched ? unsqueeze(s, 1, at) : s;
  };
  const Tensor h0 = check_state(h0_in, "h0"), c0 = check_state(c0_in, "c0");
  std::vector<Tensor> hs, cs;
  Tensor layer_input = x;
  for (std::int64_t layer = 0; layer < options_.num_layers; ++layer) {
    std::vector<Tensor> outputs;
    for (std::int64_t d = 0; d < directions; ++d) {
      const std::int64_t index = layer * directions + d;
      Pass pass = run(static_cast<std::size_t>(index), layer_input, h0.defined() ? select(h0, 0, index) : Tensor(),
                      c0.defined() ? select(c0, 0, index) : Tensor(), d == 1);
      outputs.push_back(pass.output);
      hs.push_back(pass.h);
      cs.push_back(pass.c);
    }
    layer_input = directions == 1 ? outputs[0] : concat(outputs, 2);
    const double p = options_.dropout;
    if (is_training() && p > 0.0 && layer + 1 < options_.num_layers) {
      const Tensor keep = bernoulli(layer_input.shape(), 1.0 - p, dtype, options_.dropout_generator, at);
      layer_input = p < 1.0 ? layer_input * keep * (1.0 / (1.0 - p)) : layer_input * keep;
    }
  }
  LstmOutput result{layer_input, {stack(hs, 0), has_cell ? stack(cs, 0) : Tensor()}};
  if (unbatched) {
    result.output = squeeze(result.output, {1});
    result.state.h = squeeze(result.state.h, {1});
    if (has_cell) result.state.c = squeeze(result.state.c, {1});
  } else if (options_.batch_first) {
    result.output = transpose(result.output, 0, 1);
  }
  return result;
}

RNN::RNN(std::int64_t input_size, std::int64_t hidden_size, RecurrentOptions options, Here at)
    : RecurrentBase("RNN", 1, input_size, hidden_size, options, at) {}

RecurrentOutput RNN::operator()(const Tensor& input, const Tensor& h0, Here at) {
  Call call(*this, at);
  LstmOutput r = run_layers(input, h0, {}, false, at);
  return {r.output, r.state.h};
}

Tensor RNN::forward(const Tensor& input) { return run_layers(input, {}, {}, false, caller()).output; }

RecurrentBase::Pass RNN::run(std::size_t index, const Tensor& x, const Tensor& h0, const Tensor&, bool reverse) {
  const Weights& w = weights_[index];
  const bool tanh_cell = options_.nonlinearity == Nonlinearity::tanh;
  return run_steps(x, h0, reverse, [&](const Tensor& x_t, const Tensor& h) {
    return tanh_cell ? rnn_tanh_cell(x_t, h, *w.w_ih, *w.w_hh, bias_of(w.b_ih), bias_of(w.b_hh))
                     : rnn_relu_cell(x_t, h, *w.w_ih, *w.w_hh, bias_of(w.b_ih), bias_of(w.b_hh));
  });
}

LSTM::LSTM(std::int64_t input_size, std::int64_t hidden_size, RecurrentOptions options, Here at)
    : RecurrentBase("LSTM", 4, input_size, hidden_size, options, at) {}

LstmOutput LSTM::operator()(const Tensor& input, const LstmState& state, Here at) {
  Call call(*this, at);
  return run_layers(input, state.h, state.c, true, at);
}

Tensor LSTM::forward(const Tensor& input) { return run_layers(input, {}, {}, true, caller()).output; }

RecurrentBase::Pass LSTM::run(std::size_t index, const Tensor& x, const Tensor& h0, const Tensor& c0, bool reverse) {
  const Weights& w = weights_[index];
  LstmSequence r = lstm_sequence(x, {h0, c0}, *w.w_ih, *w.w_hh, bias_of(w.b_ih), bias_of(w.b_hh), reverse);
  return {r.output, r.h, r.c};
}

GRU::GRU(std::int64_t input_size, std::int64_t hidden_size, RecurrentOptions options, Here at)
    : RecurrentBase("GRU", 3, input_size, hidden_size, options, at) {}

RecurrentOutput GRU::operator()(const Tensor& input, const Tensor& h0, Here at) {
  Call call(*this, at);
  LstmOutput r = run_layers(input, h0, {}, false, at);
  return {r.output, r.state.h};
}

Tensor GRU::forward(const Tensor& input) { return run_layers(input, {}, {}, false, caller()).output; }

RecurrentBase::Pass GRU::run(std::size_t index, const Tensor& x, const Tensor& h0, const Tensor&, bool reverse) {
  const Weights& w = weights_[index];
  return run_steps(x, h0, reverse, [&](const Tensor& x_t, const Tensor& h) {
    return gru_cell(x_t, h, *w.w_ih, *w.w_hh, bias_of(w.b_ih), bias_of(w.b_hh));
  });
}

}  // namespace tapegrad::nn
