// Plain -O3 loops (Note [Reference loops] in loops.hpp).
#include "loops.hpp"

#include <algorithm>
#include <cmath>

namespace bench::loops {

bool supported() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

void add(const float* a, const float* b, float* y, std::int64_t begin, std::int64_t end) {
  for (std::int64_t i = begin; i < end; ++i) y[i] = a[i] + b[i];
}
void mul(const float* a, const float* b, float* y, std::int64_t begin, std::int64_t end) {
  for (std::int64_t i = begin; i < end; ++i) y[i] = a[i] * b[i];
}
void relu(const float* x, float* y, std::int64_t begin, std::int64_t end) {
  for (std::int64_t i = begin; i < end; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
void sigmoid(const float* x, float* y, std::int64_t begin, std::int64_t end) {
  for (std::int64_t i = begin; i < end; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
}
void tanh(const float* x, float* y, std::int64_t begin, std::int64_t end) {
  for (std::int64_t i = begin; i < end; ++i) y[i] = std::tanh(x[i]);
}
void exp(const float* x, float* y, std::int64_t begin, std::int64_t end) {
  for (std::int64_t i = begin; i < end; ++i) y[i] = std::exp(x[i]);
}

float sum(const float* x, std::int64_t begin, std::int64_t end) {
  // Without -ffast-math one accumulator would be a serial chain of adds; 16 lanes give the compiler
  // two AVX registers' worth of independent sums, the way a person writes a fast plain loop.
  constexpr int lanes = 16;
  float partial[lanes] = {};
  std::int64_t i = begin;
  for (; i + lanes <= end; i += lanes)
    for (int j = 0; j < lanes; ++j) partial[j] += x[i + j];
  float total = 0.0f;
  for (; i < end; ++i) total += x[i];
  for (float p : partial) total += p;
  return total;
}

void sum_rows(const float* x, std::int64_t columns, float* y, std::int64_t row_begin, std::int64_t row_end) {
  for (std::int64_t r = row_begin; r < row_end; ++r) y[r] = sum(x + r * columns, 0, columns);
}

void sum_columns(const float* x, std::int64_t columns, float* y, std::int64_t row_begin, std::int64_t row_end) {
  for (std::int64_t r = row_begin; r < row_end; ++r)
    for (std::int64_t c = 0; c < columns; ++c) y[c] += x[r * columns + c];
}

void softmax_rows(const float* x, std::int64_t columns, float* y, std::int64_t row_begin, std::int64_t row_end) {
  for (std::int64_t r = row_begin; r < row_end; ++r) {
    const float* xr = x + r * columns;
    float* yr = y + r * columns;
    float largest = xr[0];
    for (std::int64_t c = 1; c < columns; ++c) largest = std::max(largest, xr[c]);
    float total = 0.0f;
    for (std::int64_t c = 0; c < columns; ++c) {
      yr[c] = std::exp(xr[c] - largest);
      total += yr[c];
    }
    const float scale = 1.0f / total;
    for (std::int64_t c = 0; c < columns; ++c) yr[c] *= scale;
  }
}

}  // namespace bench::loops
