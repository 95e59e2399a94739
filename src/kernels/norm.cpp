// Normalisation kernels: one channel at a time, channels in parallel (each writes only its own
// values, so the result does not depend on the thread count).
//
// Note [Normalisation sums]: the statistics are two passes in float64 over the channel's values
// (the mean, then the squares of x - mean), however long the channel and whatever the dtype, so a
// float32 channel of 1e4 + small noise keeps its variance, and a constant channel has variance 0
// exactly (x - mean is then 0 exactly). Elementwise steps run in the data's dtype on
// x - mean = (x - hi) - lo, the mean split into its value rounded to the dtype (hi) and the rest (lo):
// x - hi is exact for x within a factor 2 of hi (Sterbenz), so the deviations keep their digits.
#include "kernels/norm.hpp"

#include <algorithm>
#include <cmath>

#include "internal.hpp"
#include "kernels/copy.hpp"
#include "parallel.hpp"

namespace tapegrad::kernels {

namespace {

template <class T>
struct Centre {
  T hi, lo;
  explicit Centre(double mean)
      : hi(static_cast<T>(mean)), lo(static_cast<T>(mean - static_cast<double>(static_cast<T>(mean)))) {}
  T operator()(T x) const { return (x - hi) - lo; }
};

// Σ term(i) for i in [0, n), in float64 with four accumulators (independent chains, a fixed order).
template <class Term>
double sum_of(std::int64_t n, Term term) {
  double acc[4] = {0.0, 0.0, 0.0, 0.0};
  std::int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; ++k) acc[k] += term(i + k);
  for (; i < n; ++i) acc[0] += term(i);
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

// Runs body(c) for every channel, in parallel chunks of whole channels.
template <class Body>
void for_channels(const ChannelLayout& layout, Body body) {
  const std::int64_t count = std::max<std::int64_t>(layout.count(), 1);
  const std::int64_t grain = std::max<std::int64_t>(1, 8192 / count);
  parallel::for_chunks(
      layout.channels, grain,
      [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t c = begin; c < end; ++c) body(c);
      },
      4 * count);
}

template <class T>
T value_or(const Tensor& t, std::int64_t c, T otherwise) {
  return t.defined() ? t.data<T>()[c] : otherwise;
}

}  // namespace

Tensor normalize_channels(const Tensor& x, const ChannelLayout& layout, const Tensor& weight, const Tensor& bias,
                          double eps, ChannelStats& stats) {
  const std::size_t channels = static_cast<std::size_t>(layout.channels);
  stats.mean.assign(channels, 0.0);
  stats.var.assign(channels, 0.0);
  stats.invstd.assign(channels, 0.0);
  Tensor y = detail::new_tensor(x.shape(), x.dtype());
  const std::int64_t inner = layout.inner, row_stride = layout.channels * layout.inner;
  const double count = static_cast<double>(layout.count());
  detail::dispatch_floating(x.dtype(), [&]<class T>() {
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    for_channels(layout, [&](std::int64_t c) {
      double total = 0.0;
      for (std::int64_t o = 0; o < layout.outer; ++o) {
        const T* row = xp + o * row_stride + c * inner;
        total += sum_of(inner, [row](std::int64_t i) { return static_cast<double>(row[i]); });
      }
      const double mean = total / count;
      const Centre<T> centre(mean);
      double squares = 0.0;
      for (std::int64_t o = 0; o < layout.outer; ++o) {
        const T* row = xp + o * row_stride + c * inner;
        squares += sum_of(inner, [row, centre](std::int64_t i) {
          const double d = centre(row[i]);
          return d * d;
        });
      }
      const double var = squares / count, invstd = 1.0 / std::sqrt(var + eps);
      stats.mean[static_cast<std::size_t>(c)] = mean;
      stats.var[static_cast<std::size_t>(c)] = var;
      stats.invstd[static_cast<std::size_t>(c)] = invstd;
      const T scale = static_cast<T>(invstd * static_cast<double>(value_or<T>(weight, c, T(1))));
      const T shift = value_or<T>(bias, c, T(0));
      for (std::int64_t o = 0; o < layout.outer; ++o) {
        const T* row = xp + o * row_stride + c * inner;
        T* out = yp + o * row_stride + c * inner;
        for (std::int64_t i = 0; i < inner; ++i) out[i] = centre(row[i]) * scale + shift;
      }
    });
  });
  return y;
}

ChannelGrads normalize_channels_backward(const Tensor& gy_in, const Tensor& x, const ChannelLayout& layout,
                                         const Tensor& weight, const ChannelStats& stats, bool need_gx,
                                         bool need_gweight, bool need_gbias) {
  const Tensor gy = gy_in.is_contiguous() ? gy_in : cast(gy_in, gy_in.dtype());
  ChannelGrads grads;
  const Shape per_channel{layout.channels};
  if (need_gx) grads.gx = detail::new_tensor(x.shape(), x.dtype());
  if (need_gweight) grads.gweight = detail::new_tensor(per_channel, x.dtype());
  if (need_gbias) grads.gbias = detail::new_tensor(per_channel, x.dtype());
  const std::int64_t inner = layout.inner, row_stride = layout.channels * layout.inner;
  const double count = static_cast<double>(layout.count());
  detail::dispatch_floating(x.dtype(), [&]<class T>() {
    const T* xp = x.data<T>();
    const T* gyp = gy.data<T>();
    for_channels(layout, [&](std::int64_t c) {
      const std::size_t k = static_cast<std::size_t>(c);
      const Centre<T> centre(stats.mean[k]);
      double sum_gy = 0.0, sum_gy_centred = 0.0;  // Σ gy and Σ gy (x - mean)
      for (std::int64_t o = 0; o < layout.outer; ++o) {
        const T* row = xp + o * row_stride + c * inner;
        const T* g = gyp + o * row_stride + c * inner;
        sum_gy += sum_of(inner, [g](std::int64_t i) { return static_cast<double>(g[i]); });
        sum_gy_centred += sum_of(inner, [row, g, centre](std::int64_t i) {
          return static_cast<double>(g[i]) * static_cast<double>(centre(row[i]));
        });
      }
      const double invstd = stats.invstd[k];
      // An empty channel has no gradient (its statistics are NaN).
      if (need_gweight) grads.gweight.data<T>()[c] = static_cast<T>(count == 0 ? 0.0 : sum_gy_centred * invstd);
      if (need_gbias) grads.gbias.data<T>()[c] = static_cast<T>(sum_gy);
      if (!need_gx || count == 0) return;
      // gx = w invstd (gy - mean(gy) - x̂ mean(gy x̂)), x̂ = (x - mean) invstd
      const double a = static_cast<double>(value_or<T>(weight, c, T(1))) * invstd;
      const T scale_gy = static_cast<T>(a);
      const T scale_x = static_cast<T>(-a * invstd * invstd * sum_gy_centred / count);
      const T shift = static_cast<T>(-a * sum_gy / count);
      T* gxp = grads.gx.data<T>();
      for (std::int64_t o = 0; o < layout.outer; ++o) {
        const T* row = xp + o * row_stride + c * inner;
        const T* g = gyp + o * row_stride + c * inner;
        T* out = gxp + o * row_stride + c * inner;
        for (std::int64_t i = 0; i < inner; ++i) out[i] = scale_gy * g[i] + scale_x * centre(row[i]) + shift;
      }
    });
  });
  return grads;
}

}  // namespace tapegrad::kernels
