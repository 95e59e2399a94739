// Normalisation kernels: one channel at a time, channels in parallel (each writes only its own
// values, so the result does not depend on the thread count).
//
// Note [Normalisation sums]: the statistics are two passes over the channel's values, each summing
// small terms: pass 1 the deviations from the channel's first value (its mean m1), pass 2 d = x - m1
// and d², whose means correct it: mean = m1 + mean(d), var = mean(d²) - mean(d)². Terms are summed in
// the data's dtype over short runs (16 a lane) and the runs in float64, so a float32 channel of 1e4 +
// small noise keeps its variance (its terms are the noise, not 1e4), and a constant channel has
// variance 0 exactly. Elementwise steps run in the data's dtype on x - mean = (x - hi) - lo, the mean
// split into its value rounded to the dtype (hi) and the rest (lo): x - hi is exact for x within a
// factor 2 of hi (Sterbenz), so the deviations keep their digits. tests/test_norm.cpp checks float32
// at 1e4 against float64.
#include "kernels/norm.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <new>
#include <stdexcept>
#include <type_traits>

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

// Σ first(i) and Σ second(i) for i in [0, n) in a fixed order, terms of type T. float64 terms go into
// four float64 accumulators per sum; float32 terms into eight float32 lanes over runs of 16 terms a
// lane, each run's total then added in float64 (Note [Normalisation sums]): the lanes vectorise, and
// the error stays that of a 16-term float32 sum, not one growing with the channel.
template <class T, class First, class Second>
std::array<double, 2> sums_of(std::int64_t n, First first, Second second) {
  constexpr std::int64_t lanes = std::is_same_v<T, float> ? 8 : 4, run = 16 * lanes;
  std::array<double, 2> total{};
  std::int64_t i = 0;
  for (; i + run <= n; i += run) {
    T a[lanes] = {}, b[lanes] = {};
    for (std::int64_t j = i; j < i + run; j += lanes)
      for (std::int64_t k = 0; k < lanes; ++k) {
        a[k] += first(j + k);
        b[k] += second(j + k);
      }
    double run_a = 0.0, run_b = 0.0;
    for (std::int64_t k = 0; k < lanes; ++k) {
      run_a += static_cast<double>(a[k]);
      run_b += static_cast<double>(b[k]);
    }
    total[0] += run_a;
    total[1] += run_b;
  }
  for (; i < n; ++i) {
    total[0] += static_cast<double>(first(i));
    total[1] += static_cast<double>(second(i));
  }
  return total;
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
  // More than 2^40 bytes of statistics is more than any machine here holds: refused before asking,
  // since a sanitizer's allocator aborts on such a request where the plain one throws bad_alloc.
  if (channels > (std::size_t{1} << 40) / (3 * sizeof(double))) detail::throw_out_of_memory({layout.channels, 3}, float64);
  try {  // many empty channels ([0, 2^40]) ask for more than memory holds: a typed error, as for tensors
    stats.mean.assign(channels, 0.0);
    stats.var.assign(channels, 0.0);
    stats.invstd.assign(channels, 0.0);
  } catch (const std::bad_alloc&) {
    detail::throw_out_of_memory({layout.channels, 3}, float64);
  } catch (const std::length_error&) {
    detail::throw_out_of_memory({layout.channels, 3}, float64);
  }
  Tensor y = detail::new_tensor(x.shape(), x.dtype());
  const std::int64_t inner = layout.inner, row_stride = layout.channels * layout.inner;
  const double count = static_cast<double>(layout.count());
  detail::dispatch_floating(x.dtype(), [&]<class T>() {
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    for_channels(layout, [&](std::int64_t c) {
      // Pass 1: the mean of the deviations from the channel's first value (a shift that keeps float32
      // terms small when the data sits far from 0). Pass 2: x - that mean, whose own mean corrects it.
      const T origin = layout.count() > 0 ? xp[c * inner] : T(0);
      double deviations = 0.0;
      for (std::int64_t o = 0; o < layout.outer; ++o) {
        const T* row = xp + o * row_stride + c * inner;
        deviations += sums_of<T>(
            inner, [row, origin](std::int64_t i) { return row[i] - origin; }, [](std::int64_t) { return T(0); })[0];
      }
      const double first_mean = static_cast<double>(origin) + deviations / count;
      const Centre<T> first_centre(first_mean);
      double residual = 0.0, squares = 0.0;
      for (std::int64_t o = 0; o < layout.outer; ++o) {
        const T* row = xp + o * row_stride + c * inner;
        const auto [d, d2] = sums_of<T>(
            inner, [row, first_centre](std::int64_t i) { return first_centre(row[i]); },
            [row, first_centre](std::int64_t i) { return first_centre(row[i]) * first_centre(row[i]); });
        residual += d;
        squares += d2;
      }
      const double correction = residual / count, mean = first_mean + correction;
      const Centre<T> centre(mean);
      const double difference = squares / count - correction * correction;  // >= 0 but for rounding
      const double var = difference < 0 ? 0.0 : difference, invstd = 1.0 / std::sqrt(var + eps);
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
        const auto [a, b] = sums_of<T>(
            inner, [g](std::int64_t i) { return g[i]; },
            [row, g, centre](std::int64_t i) { return g[i] * centre(row[i]); });
        sum_gy += a;
        sum_gy_centred += b;
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
