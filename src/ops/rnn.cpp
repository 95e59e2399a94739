// Recurrent cells. The RNN and GRU cells are compositions of ops (their backward is the chain of those
// ops' backwards). The LSTM is one fused op over a whole sequence (lstm_cell is its one-step case):
// Note [Fused LSTM].
#include "tapegrad/ops/rnn.hpp"

#include <cstring>

#include "internal.hpp"
#include "kernels/copy.hpp"
#include "kernels/gemm.hpp"
#include "kernels/rnn.hpp"
#include "tapegrad/function.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/linalg.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shape.hpp"

namespace tapegrad {

using detail::fail;

namespace {

struct CellSizes {
  std::int64_t input = 0;
  std::int64_t hidden = 0;
};

// The weights and biases of a cell with `gates` gates: w_ih [G*H, in], w_hh [G*H, H], biases [G*H],
// all of x's floating dtype.
CellSizes check_weights(std::string_view op, std::int64_t gates, const Tensor& x, const Tensor& w_ih,
                        const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh, const Here& at) {
  detail::require_floating(op, x, at);
  detail::require_defined(op, w_ih, at);
  detail::require_defined(op, w_hh, at);
  for (const Tensor* t : {&w_ih, &w_hh, &b_ih, &b_hh})
    if (t->defined() && t->dtype() != x.dtype())
      fail<DTypeError>(op, "weights, biases and states must have the input's dtype",
                       std::string(dtype_name(t->dtype())) + " for a " + std::string(dtype_name(x.dtype())) + " input",
                       at);
  const std::string g = std::to_string(gates);
  if (w_hh.dim() != 2 || w_hh.shape()[0] != gates * w_hh.shape()[1])
    fail<ShapeError>(op, "w_hh must have shape [" + g + "*H, H]", "w_hh " + to_string(w_hh.shape()), at);
  const std::int64_t hidden = w_hh.shape()[1];
  if (w_ih.dim() != 2 || w_ih.shape()[0] != gates * hidden)
    fail<ShapeError>(op, "w_ih must have shape [" + g + "*H, in] with H = w_hh.size(1)",
                     "w_ih " + to_string(w_ih.shape()) + ", w_hh " + to_string(w_hh.shape()), at);
  if (x.dim() == 0 || x.shape().back() != w_ih.shape()[1])
    fail<ShapeError>(op, "the input's last axis must have w_ih.size(1) features",
                     "input " + to_string(x.shape()) + ", w_ih " + to_string(w_ih.shape()), at);
  for (const Tensor* b : {&b_ih, &b_hh})
    if (b->defined() && b->shape() != Shape{gates * hidden})
      fail<ShapeError>(op, "biases must have shape [" + g + "*H] = [" + std::to_string(gates * hidden) + "]",
                       "bias " + to_string(b->shape()), at);
  return {w_ih.shape()[1], hidden};
}

// A state (h or c) must be [N, H] for x [N, in], or [H] for an unbatched x [in]; undefined is zeros.
void check_state(std::string_view op, const char* name, const Tensor& state, const Tensor& x, std::int64_t hidden,
                 const Here& at) {
  if (!state.defined()) return;
  Shape expected = x.dim() == 1 ? Shape{hidden} : Shape{x.shape()[0], hidden};
  if (state.shape() != expected)
    fail<ShapeError>(op, std::string(name) + " must have shape " + to_string(expected),
                     std::string(name) + " " + to_string(state.shape()) + " for input " + to_string(x.shape()), at);
  if (state.dtype() != x.dtype())
    fail<DTypeError>(op, "weights, biases and states must have the input's dtype",
                     std::string(dtype_name(state.dtype())) + " for a " + std::string(dtype_name(x.dtype())) + " input",
                     at);
}

void check_cell_input(std::string_view op, const Tensor& x, const Here& at) {
  detail::require_floating(op, x, at);
  if (x.dim() != 1 && x.dim() != 2)
    fail<ShapeError>(op, "the input must be [N, in] or unbatched [in]", "input " + to_string(x.shape()), at);
}

// x Wᵀ + b (b undefined: none).
Tensor affine(const Tensor& x, const Tensor& w, const Tensor& b) {
  Tensor y = matmul(x, transpose(w, 0, 1));
  return b.defined() ? y + b : y;
}

// The gates of [N, G*H] as G pieces [N, H] (by sizes: a piece size of 0 is refused, hidden 0 is not).
std::vector<Tensor> split_gates(const Tensor& gates, std::int64_t count, std::int64_t hidden) {
  return split(gates, std::vector<std::int64_t>(static_cast<std::size_t>(count), hidden), 1);
}

Tensor batched(const Tensor& t, bool unbatched) { return unbatched && t.defined() ? unsqueeze(t, 0) : t; }

Tensor rnn_cell(std::string_view op, bool relu_activation, const Tensor& x_in, const Tensor& h_in, const Tensor& w_ih,
                const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh, const Here& at) {
  check_cell_input(op, x_in, at);
  const CellSizes sizes = check_weights(op, 1, x_in, w_ih, w_hh, b_ih, b_hh, at);
  check_state(op, "h", h_in, x_in, sizes.hidden, at);
  const bool unbatched = x_in.dim() == 1;
  Tensor x = batched(x_in, unbatched), h = batched(h_in, unbatched);
  Tensor pre = affine(x, w_ih, b_ih);
  if (h.defined())
    pre = pre + affine(h, w_hh, b_hh);
  else if (b_hh.defined())
    pre = pre + b_hh;
  Tensor y = relu_activation ? relu(pre) : tanh(pre);
  return unbatched ? squeeze(y, {0}) : y;
}

}  // namespace

Tensor rnn_tanh_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                     const Tensor& b_hh, Here at) {
  detail::OpScope scope("rnn_tanh_cell", at, x, h, w_ih, w_hh, b_ih, b_hh);
  return scope.finish(rnn_cell("rnn_tanh_cell", false, x, h, w_ih, w_hh, b_ih, b_hh, at));
}

Tensor rnn_relu_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                     const Tensor& b_hh, Here at) {
  detail::OpScope scope("rnn_relu_cell", at, x, h, w_ih, w_hh, b_ih, b_hh);
  return scope.finish(rnn_cell("rnn_relu_cell", true, x, h, w_ih, w_hh, b_ih, b_hh, at));
}

Tensor gru_cell(const Tensor& x_in, const Tensor& h_in, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh, Here at) {
  detail::OpScope scope("gru_cell", at, x_in, h_in, w_ih, w_hh, b_ih, b_hh);
  check_cell_input("gru_cell", x_in, at);
  const CellSizes sizes = check_weights("gru_cell", 3, x_in, w_ih, w_hh, b_ih, b_hh, at);
  check_state("gru_cell", "h", h_in, x_in, sizes.hidden, at);
  const bool unbatched = x_in.dim() == 1;
  Tensor x = batched(x_in, unbatched);
  Tensor h = h_in.defined() ? batched(h_in, unbatched) : zeros({x.shape()[0], sizes.hidden}, x.dtype(), at);
  std::vector<Tensor> gx = split_gates(affine(x, w_ih, b_ih), 3, sizes.hidden);
  std::vector<Tensor> gh = split_gates(affine(h, w_hh, b_hh), 3, sizes.hidden);
  Tensor r = sigmoid(gx[0] + gh[0]);
  Tensor z = sigmoid(gx[1] + gh[1]);
  Tensor n = tanh(gx[2] + r * gh[2]);
  Tensor y = (1.0 - z) * n + z * h;
  return scope.finish(unbatched ? squeeze(y, {0}) : y);
}

// Note [Fused LSTM]: lstm_sequence records one tape entry for a whole layer and direction.
// Forward: G = X W_ihᵀ + b_ih + b_hh for all L steps in one GEMM; then per step G_t += h_{t-1} W_hhᵀ
// (a GEMM into G_t) and one pass turns G_t into the gate activations and writes c_t, tanh(c_t), h_t.
// Backward, first order: per step one pass gives the pre-activation gradients D_t from the saved
// activations, and one GEMM gives the gradient reaching h_{t-1} (D_t W_hh); after the loop
// gX = D W_ih, gW_ih = Dᵀ X and gW_hh = Σ D_tᵀ h_{t-1} are one GEMM each (h_{t-1} for t >= 1 is the
// output itself, contiguous), and the bias gradient is D summed over rows. Under create_graph the
// backward recomputes the forward from the saved inputs with ops and writes the same formulas with
// ops (lstm_backward_recorded), so it is differentiable again.
namespace {

Tensor contiguous_copy(const Tensor& t) { return t.is_contiguous() ? t : kernels::cast(t, t.dtype()); }

// inputs: 0 x [L, N, in], 1 h0, 2 c0, 3 w_ih, 4 w_hh, 5 b_ih, 6 b_hh (all defined).
void lstm_backward_recorded(Context& bw, bool reverse) {
  const Tensor &x = bw.saved(0), &h0 = bw.saved(1), &c0 = bw.saved(2), &w_ih = bw.saved(3), &w_hh = bw.saved(4);
  const std::int64_t steps = x.shape()[0], batch = x.shape()[1], hidden = w_hh.shape()[1];
  const Tensor projected = matmul(x, transpose(w_ih, 0, 1)) + (bw.saved(5) + bw.saved(6));
  struct Step {
    Tensor h_prev, c_prev, i, f, g, o, tanh_c;
  };
  std::vector<Step> saved_steps(static_cast<std::size_t>(steps));
  Tensor h = h0, c = c0;
  for (std::int64_t s = 0; s < steps; ++s) {
    const std::int64_t t = reverse ? steps - 1 - s : s;
    std::vector<Tensor> gates = split_gates(select(projected, 0, t) + matmul(h, transpose(w_hh, 0, 1)), 4, hidden);
    Step& step = saved_steps[static_cast<std::size_t>(t)];
    step = {h, c, sigmoid(gates[0]), sigmoid(gates[1]), tanh(gates[2]), sigmoid(gates[3]), Tensor()};
    c = step.f * c + step.i * step.g;
    step.tanh_c = tanh(c);
    h = step.o * step.tanh_c;
  }
  Tensor gh = bw.gy(1), gc = bw.gy(2);
  const Tensor& gy = bw.gy(0);
  std::vector<Tensor> d_gates(static_cast<std::size_t>(steps)), h_prev(static_cast<std::size_t>(steps));
  for (std::int64_t s = steps - 1; s >= 0; --s) {
    const std::int64_t t = reverse ? steps - 1 - s : s;
    const Step& st = saved_steps[static_cast<std::size_t>(t)];
    Tensor g_h = gh + select(gy, 0, t);
    Tensor g_c = gc + g_h * st.o * (1.0 - st.tanh_c * st.tanh_c);
    Tensor d = concat({g_c * st.g * st.i * (1.0 - st.i), g_c * st.c_prev * st.f * (1.0 - st.f),
                       g_c * st.i * (1.0 - st.g * st.g), g_h * st.tanh_c * st.o * (1.0 - st.o)},
                      1);
    gc = g_c * st.f;
    gh = matmul(d, w_hh);
    d_gates[static_cast<std::size_t>(t)] = d;
    h_prev[static_cast<std::size_t>(t)] = st.h_prev;
  }
  const Tensor d = reshape(stack(d_gates, 0), {steps * batch, 4 * hidden});
  const Tensor d_t = transpose(d, 0, 1);
  if (bw.needs_grad(0)) bw.accumulate(0, reshape(matmul(d, w_ih), x.shape()));
  if (bw.needs_grad(1)) bw.accumulate(1, gh);
  if (bw.needs_grad(2)) bw.accumulate(2, gc);
  if (bw.needs_grad(3)) bw.accumulate(3, matmul(d_t, reshape(x, {steps * batch, x.shape()[2]})));
  if (bw.needs_grad(4)) bw.accumulate(4, matmul(d_t, reshape(stack(h_prev, 0), {steps * batch, hidden})));
  const Tensor gb = sum(d, {0});
  if (bw.needs_grad(5)) bw.accumulate(5, gb);
  if (bw.needs_grad(6)) bw.accumulate(6, gb.clone());  // its own tensor: no two gradients share a buffer
}

// The fused op; the caller has checked the shapes (input [L, N, in], L >= 1, states [N, H]).
LstmSequence run_lstm(std::string_view op, const Tensor& input, Tensor h0, Tensor c0, const Tensor& w_ih,
                      const Tensor& w_hh, Tensor b_ih, Tensor b_hh, bool reverse, const Here& at) {
  using kernels::Trans;
  const std::int64_t steps = input.shape()[0], batch = input.shape()[1], features = input.shape()[2];
  const std::int64_t hidden = w_hh.shape()[1], width = 4 * hidden;
  const DType dtype = input.dtype();
  detail::require_sizes(op, {steps, batch, width}, dtype, at);
  if (!h0.defined()) h0 = zeros({batch, hidden}, dtype, at);
  if (!c0.defined()) c0 = zeros({batch, hidden}, dtype, at);
  if (!b_ih.defined()) b_ih = zeros({width}, dtype, at);
  if (!b_hh.defined()) b_hh = zeros({width}, dtype, at);
  const Tensor x = contiguous_copy(input), h_first = contiguous_copy(h0), c_first = contiguous_copy(c0);
  const Tensor wi = contiguous_copy(w_ih), wh = contiguous_copy(w_hh);
  const Tensor bias_i = contiguous_copy(b_ih), bias_h = contiguous_copy(b_hh);
  Tensor gates = detail::new_tensor({steps, batch, width}, dtype);
  Tensor cells = detail::new_tensor({steps, batch, hidden}, dtype);
  Tensor tanh_cells = detail::new_tensor({steps, batch, hidden}, dtype);
  Tensor y = detail::new_tensor({steps, batch, hidden}, dtype);
  Tensor h_last = detail::new_tensor({batch, hidden}, dtype), c_last = detail::new_tensor({batch, hidden}, dtype);
  const std::int64_t gate_step = batch * width, state_step = batch * hidden;
  detail::dispatch_floating(dtype, [&]<class T>() {
    T* g = gates.data<T>();
    // Every row starts as b_ih + b_hh; the GEMM adds X W_ihᵀ to it (beta 1).
    const T* bi = bias_i.data<T>();
    const T* bh = bias_h.data<T>();
    for (std::int64_t j = 0; j < width; ++j) g[j] = bi[j] + bh[j];
    for (std::int64_t r = 1; r < steps * batch; ++r)
      std::memcpy(g + r * width, g, sizeof(T) * static_cast<std::size_t>(width));
    kernels::gemm(Trans::no, Trans::yes, steps * batch, width, features, T(1), x.data<T>(), features, wi.data<T>(),
                  features, T(1), g, width);
    for (std::int64_t s = 0; s < steps; ++s) {
      const std::int64_t t = reverse ? steps - 1 - s : s, prev = reverse ? t + 1 : t - 1;
      const T* h_prev = s == 0 ? h_first.data<T>() : y.data<T>() + prev * state_step;
      const T* c_prev = s == 0 ? c_first.data<T>() : cells.data<T>() + prev * state_step;
      kernels::gemm(Trans::no, Trans::yes, batch, width, hidden, T(1), h_prev, hidden, wh.data<T>(), hidden, T(1),
                    g + t * gate_step, width);
      kernels::lstm_gates_forward<T>(batch, hidden, g + t * gate_step, c_prev, cells.data<T>() + t * state_step,
                                     tanh_cells.data<T>() + t * state_step, y.data<T>() + t * state_step);
    }
    const std::int64_t last = reverse ? 0 : steps - 1;
    std::memcpy(h_last.data<T>(), y.data<T>() + last * state_step, sizeof(T) * static_cast<std::size_t>(state_step));
    std::memcpy(c_last.data<T>(), cells.data<T>() + last * state_step,
                sizeof(T) * static_cast<std::size_t>(state_step));
  });
  auto backward = [steps, batch, features, hidden, reverse, gates, cells, tanh_cells](Context& bw) {
    if (bw.create_graph()) return lstm_backward_recorded(bw, reverse);
    const std::int64_t width = 4 * hidden, gate_step = batch * width, state_step = batch * hidden;
    const Tensor x = contiguous_copy(bw.saved(0)), h0 = contiguous_copy(bw.saved(1));
    const Tensor c0 = contiguous_copy(bw.saved(2)), wi = contiguous_copy(bw.saved(3));
    const Tensor wh = contiguous_copy(bw.saved(4)), y = contiguous_copy(bw.saved(7));
    const Tensor gy = contiguous_copy(bw.gy(0));
    Tensor gh = kernels::cast(bw.gy(1), gates.dtype()), gc = kernels::cast(bw.gy(2), gates.dtype());
    Tensor d = detail::new_tensor({steps, batch, width}, gates.dtype());
    // The bias gradient, summed step by step while each step's rows of D are in cache.
    Tensor gb = zeros({width}, gates.dtype());
    detail::dispatch_floating(gates.dtype(), [&]<class T>() {
      T* dp = d.data<T>();
      for (std::int64_t s = steps - 1; s >= 0; --s) {
        const std::int64_t t = reverse ? steps - 1 - s : s, prev = reverse ? t + 1 : t - 1;
        const T* c_prev = s == 0 ? c0.data<T>() : cells.data<T>() + prev * state_step;
        kernels::lstm_gates_backward<T>(batch, hidden, gates.data<T>() + t * gate_step, c_prev,
                                        tanh_cells.data<T>() + t * state_step, gh.data<T>(),
                                        gy.data<T>() + t * state_step, gc.data<T>(), dp + t * gate_step);
        kernels::add_rows_into<T>(batch, width, dp + t * gate_step, gb.data<T>());
        if (s > 0 || bw.needs_grad(1))  // gh = D_t W_hh
          kernels::gemm(Trans::no, Trans::no, batch, hidden, width, T(1), dp + t * gate_step, width, wh.data<T>(),
                        hidden, T(0), gh.data<T>(), hidden);
      }
      const std::int64_t rows = steps * batch;
      if (bw.needs_grad(0)) {
        Tensor gx = detail::new_tensor({steps, batch, features}, gates.dtype());
        kernels::gemm(Trans::no, Trans::no, rows, features, width, T(1), dp, width, wi.data<T>(), features, T(0),
                      gx.data<T>(), features);
        bw.accumulate(0, gx);
      }
      if (bw.needs_grad(1)) bw.accumulate(1, gh);
      if (bw.needs_grad(2)) bw.accumulate(2, gc);
      if (bw.needs_grad(3)) {
        Tensor gw = detail::new_tensor({width, features}, gates.dtype());
        kernels::gemm(Trans::yes, Trans::no, width, features, rows, T(1), dp, width, x.data<T>(), features, T(0),
                      gw.data<T>(), features);
        bw.accumulate(3, gw);
      }
      if (bw.needs_grad(4)) {
        // The first step processed read h0; every other step read the output of its neighbour.
        Tensor gw = detail::new_tensor({width, hidden}, gates.dtype());
        const std::int64_t first = reverse ? steps - 1 : 0;
        kernels::gemm(Trans::yes, Trans::no, width, hidden, batch, T(1), dp + first * gate_step, width, h0.data<T>(),
                      hidden, T(0), gw.data<T>(), hidden);
        kernels::gemm(Trans::yes, Trans::no, width, hidden, rows - batch, T(1), dp + (reverse ? 0 : gate_step), width,
                      y.data<T>() + (reverse ? state_step : 0), hidden, T(1), gw.data<T>(), hidden);
        bw.accumulate(4, gw);
      }
      if (bw.needs_grad(5)) bw.accumulate(5, bw.needs_grad(6) ? kernels::cast(gb, gb.dtype()) : gb);
      if (bw.needs_grad(6)) bw.accumulate(6, gb);  // its own tensor: no two gradients share a buffer
    });
  };
  std::vector<Tensor> outputs = record(op, {input, h0, c0, w_ih, w_hh, b_ih, b_hh}, {y, h_last, c_last},
                                       {input, h0, c0, w_ih, w_hh, b_ih, b_hh, y}, std::move(backward), at);
  return {outputs[0], outputs[1], outputs[2]};
}

}  // namespace

LstmSequence lstm_sequence(const Tensor& input, const LstmState& state, const Tensor& w_ih, const Tensor& w_hh,
                           const Tensor& b_ih, const Tensor& b_hh, bool reverse, Here at) {
  detail::OpScope scope("lstm_sequence", at, input, state.h, state.c, w_ih, w_hh, b_ih, b_hh);
  const CellSizes sizes = check_weights("lstm_sequence", 4, input, w_ih, w_hh, b_ih, b_hh, at);
  if (input.dim() != 3)
    fail<ShapeError>("lstm_sequence", "the input must be [L, N, in]", "input " + to_string(input.shape()), at);
  if (input.shape()[0] < 1)
    fail<ShapeError>("lstm_sequence", "the sequence must have at least one step", "input " + to_string(input.shape()),
                     at);
  const Tensor step = select(input, 0, 0);
  check_state("lstm_sequence", "h", state.h, step, sizes.hidden, at);
  check_state("lstm_sequence", "c", state.c, step, sizes.hidden, at);
  LstmSequence result = run_lstm("lstm_sequence", input, state.h, state.c, w_ih, w_hh, b_ih, b_hh, reverse, at);
  scope.finish(std::vector<Tensor>{result.output, result.h, result.c});
  return result;
}

LstmState lstm_cell(const Tensor& x_in, const LstmState& state, const Tensor& w_ih, const Tensor& w_hh,
                    const Tensor& b_ih, const Tensor& b_hh, Here at) {
  detail::OpScope scope("lstm_cell", at, x_in, state.h, state.c, w_ih, w_hh, b_ih, b_hh);
  check_cell_input("lstm_cell", x_in, at);
  const CellSizes sizes = check_weights("lstm_cell", 4, x_in, w_ih, w_hh, b_ih, b_hh, at);
  check_state("lstm_cell", "h", state.h, x_in, sizes.hidden, at);
  check_state("lstm_cell", "c", state.c, x_in, sizes.hidden, at);
  const bool unbatched = x_in.dim() == 1;
  Tensor x = unsqueeze(batched(x_in, unbatched), 0);
  LstmSequence result = run_lstm("lstm_cell", x, batched(state.h, unbatched), batched(state.c, unbatched), w_ih, w_hh,
                                 b_ih, b_hh, false, at);
  LstmState next{result.h, result.c};
  if (unbatched) next = {squeeze(next.h, {0}), squeeze(next.c, {0})};
  scope.finish(std::vector<Tensor>{next.h, next.c});
  return next;
}

}  // namespace tapegrad
