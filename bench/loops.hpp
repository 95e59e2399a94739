// The plain-loop references the benchmarks compare our ops against: what a user gets from an -O3
// loop over raw floats, no library. Each function handles one part [begin, end) of the work, so the
// caller can split it over threads (StaticSplit in split.hpp).
//
// Note [Reference loops]: loops.cpp is its own translation unit, compiled -O3 -mavx2 -mfma (like the
// library's AVX2 kernels) so the compiler may vectorise what it can; no -ffast-math, so std::exp and
// std::tanh stay scalar libm calls and float sums keep their order (hence the explicit lanes in
// sum). Outputs are preallocated by the caller: the loops are a lower bound that allocates nothing.
#pragma once

#include <cstdint>

namespace bench::loops {

// True when this CPU runs the instructions loops.cpp was compiled for.
bool supported();

void add(const float* a, const float* b, float* y, std::int64_t begin, std::int64_t end);
void mul(const float* a, const float* b, float* y, std::int64_t begin, std::int64_t end);
void relu(const float* x, float* y, std::int64_t begin, std::int64_t end);
void sigmoid(const float* x, float* y, std::int64_t begin, std::int64_t end);  // 1 / (1 + std::exp(-x))
void tanh(const float* x, float* y, std::int64_t begin, std::int64_t end);     // std::tanh
void exp(const float* x, float* y, std::int64_t begin, std::int64_t end);      // std::exp

// Σ x[begin, end), accumulated in float over 16 lanes.
float sum(const float* x, std::int64_t begin, std::int64_t end);
// Rows [row_begin, row_end) of a row-major [rows, columns] matrix: y[r] = Σ_c x[r, c].
void sum_rows(const float* x, std::int64_t columns, float* y, std::int64_t row_begin, std::int64_t row_end);
// Rows [row_begin, row_end) of a row-major [rows, columns] matrix added into y: y[c] += Σ_r x[r, c],
// in float, a row at a time (each thread keeps its own y and the caller adds them up).
void sum_columns(const float* x, std::int64_t columns, float* y, std::int64_t row_begin, std::int64_t row_end);
// y[r, :] = e^(x[r, :] - max) / Σ e^(x[r, :] - max), three passes per row.
void softmax_rows(const float* x, std::int64_t columns, float* y, std::int64_t row_begin, std::int64_t row_end);

}  // namespace bench::loops
