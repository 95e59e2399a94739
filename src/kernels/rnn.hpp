// The elementwise half of a fused LSTM step (the GEMMs are kernels::gemm). Contiguous row-major
// buffers; T is float or double.
#pragma once

#include <cstdint>

namespace tapegrad::kernels {

// One step over n rows of hidden size h. gates [n, 4h] holds the pre-activations i f g o and is
// overwritten with their activations σ(i) σ(f) tanh(g) σ(o); then c = f c_prev + i g,
// tanh_c = tanh(c), h_out = o tanh_c. Each row's outputs are h apart.
template <class T>
void lstm_gates_forward(std::int64_t n, std::int64_t h, T* gates, const T* c_prev, T* c, T* tanh_c, T* h_out);

// The backward of that step. gh (the gradient reaching h_out, without the step's own output gradient)
// and gy_out (that output gradient) add up; gc holds the gradient reaching c and is replaced by the
// gradient of c_prev. Writes the gradient of the pre-activations into d_gates [n, 4h].
template <class T>
void lstm_gates_backward(std::int64_t n, std::int64_t h, const T* gates, const T* c_prev, const T* tanh_c, const T* gh,
                         const T* gy_out, T* gc, T* d_gates);

// y[j] += x[0, j] + ... + x[rows - 1, j] for x [rows, cols], rows in order.
template <class T>
void add_rows_into(std::int64_t rows, std::int64_t cols, const T* x, T* y);

}  // namespace tapegrad::kernels
