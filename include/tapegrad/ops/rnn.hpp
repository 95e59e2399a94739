// Recurrent cells, with PyTorch's formulas, gate order and weight layout (torch.nn.RNNCell,
// LSTMCell, GRUCell), and the whole-sequence LSTM the nn::LSTM layer runs per layer and direction.
//
// Shapes: x [N, in] (or unbatched [in]), h and c [N, H] (or [H]); w_ih [G*H, in], w_hh [G*H, H],
// b_ih and b_hh [G*H] with G = 1 (RNN), 4 (LSTM: gates i, f, g, o) or 3 (GRU: r, z, n). Biases may be
// undefined (none); an undefined h or c means zeros. All tensors share one floating dtype.
#pragma once

#include "tapegrad/here.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad {

// h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)
Tensor rnn_tanh_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih = {},
                     const Tensor& b_hh = {}, Here at = Here::current());
// h' = relu(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)
Tensor rnn_relu_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih = {},
                     const Tensor& b_hh = {}, Here at = Here::current());

// The state of an LSTM: hidden h and cell c.
struct LstmState {
  Tensor h;
  Tensor c;
};

// [i f g o] = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh, split in four; i, f, o through sigmoid, g through tanh;
// c' = f c + i g, h' = o tanh(c'). One fused op (forward and backward); `auto [h1, c1] = lstm_cell(...)`.
LstmState lstm_cell(const Tensor& x, const LstmState& state, const Tensor& w_ih, const Tensor& w_hh,
                    const Tensor& b_ih = {}, const Tensor& b_hh = {}, Here at = Here::current());

// r = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr), z = σ(x W_izᵀ + b_iz + h W_hzᵀ + b_hz),
// n = tanh(x W_inᵀ + b_in + r (h W_hnᵀ + b_hn)), h' = (1 - z) n + z h.
Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih = {},
                const Tensor& b_hh = {}, Here at = Here::current());

// An LSTM layer over a whole sequence, one direction: input [L, N, in] (L >= 1), state h, c [N, H].
struct LstmSequence {
  Tensor output;  // [L, N, H]: h of every step, in input order
  Tensor h;       // [N, H]: h after the last step processed
  Tensor c;       // [N, H]
};
// lstm_cell applied at steps 0..L-1 (reverse: L-1..0), as one fused op: one GEMM projects the whole
// input, one per step multiplies by W_hh, and the backward forms each weight gradient in one GEMM.
LstmSequence lstm_sequence(const Tensor& input, const LstmState& state, const Tensor& w_ih, const Tensor& w_hh,
                           const Tensor& b_ih = {}, const Tensor& b_hh = {}, bool reverse = false,
                           Here at = Here::current());

}  // namespace tapegrad
