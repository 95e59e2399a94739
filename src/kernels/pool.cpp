// Pooling kernels (Note [Pool windows] in pool.hpp), parallel over planes through parallel.hpp.
#include "kernels/pool.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "internal.hpp"
#include "kernels/copy.hpp"
#include "parallel.hpp"

namespace tapegrad::kernels {

using detail::dispatch_floating;
using detail::new_tensor;

namespace {

Tensor contiguous(const Tensor& x) { return x.is_contiguous() ? x : cast(x, x.dtype()); }

std::int64_t in_plane_of(const PoolAxis& h, const PoolAxis& w) { return h.input * w.input; }
std::int64_t out_plane_of(const PoolAxis& h, const PoolAxis& w) { return h.output * w.output; }
std::int64_t planes_of(std::int64_t numel, std::int64_t plane) { return plane == 0 ? 0 : numel / plane; }

// Runs body(p) for every plane p in [0, planes), in chunks of planes worth a task each.
template <class Body>
void for_planes(std::int64_t planes, std::int64_t cost_per_plane, Body body) {
  cost_per_plane = std::max<std::int64_t>(cost_per_plane, 1);
  const std::int64_t grain = std::max<std::int64_t>(1, parallel::serial_threshold / 4 / cost_per_plane);
  parallel::for_chunks(
      planes, grain,
      [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t p = begin; p < end; ++p) body(p);
      },
      cost_per_plane);
}

// The taps of a whole window, for the cost of a plane.
std::int64_t taps(const PoolAxis& h, const PoolAxis& w) {
  std::int64_t th = 0, tw = 0;
  for (std::int64_t c : h.count) th += c;
  for (std::int64_t c : w.count) tw += c;
  return th * tw;
}

// condition ? a : b without a branch.
inline std::int64_t select(bool condition, std::int64_t a, std::int64_t b) {
  return b ^ ((a ^ b) & -static_cast<std::int64_t>(condition));
}

// The running max of one window (Note [Pool windows]). torch's rule: a larger value takes the place,
// and so does any NaN, which no number displaces (so NaN propagates, its index the last NaN's). The
// NaNs are kept apart here, so a tap is selects, not branches: on real data which tap wins is random,
// and a mispredicted branch per tap cost 8x.
template <class T>
struct RunningMax {
  T best = -std::numeric_limits<T>::infinity();
  std::int64_t best_at, nan_at = 0;
  bool any_nan = false;

  // Taps x[at], x[at + step], ... (count of them); Count > 0: the count, known at compile time.
  template <int Count, bool with_index>
  void scan(const T* x, std::int64_t at, std::int64_t count, std::int64_t step) {
    const std::int64_t n = Count > 0 ? Count : count;
    for (std::int64_t j = 0; j < n; ++j, at += step) {
      const T v = x[at];
      const bool greater = v > best, is_nan = v != v;
      best = greater ? v : best;
      any_nan |= is_nan;
      if constexpr (with_index) {
        best_at = select(greater, at, best_at);
        nan_at = select(is_nan, at, nan_at);
      }
    }
  }
};

// The common windows, all KH x KW and not dilated (a 2x2 or 3x3 kernel away from the edges, or
// everywhere without padding): the taps unrolled, no per-window counts.
template <class T, int KH, int KW, bool with_index>
void max_plane_fixed(const T* x, T* y, std::int64_t* index, const PoolAxis& h, const PoolAxis& w) {
  const std::int64_t width = w.input, out_h = h.output, out_w = w.output;
  const std::int64_t *h_first = h.first.data(), *w_first = w.first.data();
  for (std::int64_t oh = 0; oh < out_h; ++oh) {
    const std::int64_t row = h_first[oh] * width;
    for (std::int64_t ow = 0; ow < out_w; ++ow) {
      if constexpr (KH == 2 && KW == 2) {  // a tree of pairs, when no tap is NaN
        const std::int64_t at = row + w_first[ow];
        const T a = x[at], b = x[at + 1], c = x[at + width], d = x[at + width + 1];
        if (!((a != a) | (b != b) | (c != c) | (d != d))) [[likely]] {
          // Strict comparisons keep the first of equal values, as the sequential scan does.
          const bool right0 = b > a, right1 = d > c;
          const T m0 = right0 ? b : a, m1 = right1 ? d : c;
          const bool lower = m1 > m0;
          y[oh * out_w + ow] = lower ? m1 : m0;
          if constexpr (with_index) index[oh * out_w + ow] = at + select(lower, width + right1, right0);
          continue;
        }
      }
      const std::int64_t at = row + w_first[ow];
      RunningMax<T> m;
      m.best_at = at;
      for (int i = 0; i < KH; ++i) m.template scan<KW, with_index>(x, at + i * width, KW, 1);
      if (m.any_nan) {
        m.best = std::numeric_limits<T>::quiet_NaN();
        m.best_at = m.nan_at;
      }
      y[oh * out_w + ow] = m.best;
      if constexpr (with_index) index[oh * out_w + ow] = m.best_at;
    }
  }
}

// The count every window of the axis has, when they all have the same and are not dilated; else 0.
std::int64_t uniform_count(const PoolAxis& axis) {
  if (axis.step != 1 || axis.count.empty()) return 0;
  for (std::int64_t c : axis.count)
    if (c != axis.count[0]) return 0;
  return axis.count[0];
}

template <class T, bool with_index>
void max_plane(const T* x, T* y, std::int64_t* index, const PoolAxis& h, const PoolAxis& w) {
  const std::int64_t width = w.input, out_h = h.output, out_w = w.output, h_step = h.step, w_step = w.step;
  const std::int64_t *h_first = h.first.data(), *h_count = h.count.data();
  const std::int64_t *w_first = w.first.data(), *w_count = w.count.data();
  for (std::int64_t oh = 0; oh < out_h; ++oh) {
    const std::int64_t h0 = h_first[oh], hn = h_count[oh];
    for (std::int64_t ow = 0; ow < out_w; ++ow) {
      const std::int64_t w0 = w_first[ow], wn = w_count[ow];
      RunningMax<T> m;
      m.best_at = hn > 0 && wn > 0 ? h0 * width + w0 : -1;
      // The common windows, 2 or 3 taps wide and not dilated, with the row loop unrolled.
      const int fixed = w_step == 1 && (wn == 2 || wn == 3) ? static_cast<int>(wn) : 0;
      for (std::int64_t i = 0; i < hn; ++i) {
        const std::int64_t row = (h0 + i * h_step) * width + w0;
        if (fixed == 2)
          m.template scan<2, with_index>(x, row, 2, 1);
        else if (fixed == 3)
          m.template scan<3, with_index>(x, row, 3, 1);
        else
          m.template scan<0, with_index>(x, row, wn, w_step);
      }
      if (m.any_nan) {
        m.best = std::numeric_limits<T>::quiet_NaN();
        m.best_at = m.nan_at;
      }
      y[oh * out_w + ow] = m.best;
      if constexpr (with_index) index[oh * out_w + ow] = m.best_at;
    }
  }
}

}  // namespace

void max_pool(const Tensor& x_in, const PoolAxis& h, const PoolAxis& w, Tensor& y, Tensor* indices) {
  const Tensor x = contiguous(x_in);
  const std::int64_t in_plane = in_plane_of(h, w), out_plane = out_plane_of(h, w);
  if (y.numel() == 0) return;
  const std::int64_t planes = planes_of(x.numel(), in_plane);
  dispatch_floating(x.dtype(), [&]<class T>() {
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    std::int64_t* ip = indices ? indices->data<std::int64_t>() : nullptr;
    const std::int64_t kh = uniform_count(h), kw = uniform_count(w);
    auto plane = [&]<bool with_index>(std::int64_t p) {
      const T* from = xp + p * in_plane;
      T* to = yp + p * out_plane;
      std::int64_t* index = with_index ? ip + p * out_plane : nullptr;
      if (kh == 2 && kw == 2)
        max_plane_fixed<T, 2, 2, with_index>(from, to, index, h, w);
      else if (kh == 3 && kw == 3)
        max_plane_fixed<T, 3, 3, with_index>(from, to, index, h, w);
      else
        max_plane<T, with_index>(from, to, index, h, w);
    };
    for_planes(planes, taps(h, w), [&](std::int64_t p) {
      if (ip)
        plane.template operator()<true>(p);
      else
        plane.template operator()<false>(p);
    });
  });
}

Tensor max_pool_scatter(const Tensor& gy_in, const Tensor& indices, const PoolAxis& h, const PoolAxis& w,
                        const Shape& x_shape) {
  const Tensor gy = contiguous(gy_in);
  Tensor g = new_tensor(x_shape, gy.dtype());
  const std::int64_t in_plane = in_plane_of(h, w), out_plane = out_plane_of(h, w);
  const std::int64_t planes = planes_of(g.numel(), in_plane);
  const std::int64_t* ip = indices.data<std::int64_t>();
  dispatch_floating(g.dtype(), [&]<class T>() {
    const T* gyp = gy.data<T>();
    T* gp = g.data<T>();
    for_planes(planes, in_plane + out_plane, [&](std::int64_t p) {
      T* plane = gp + p * in_plane;
      std::fill(plane, plane + in_plane, T(0));
      const std::int64_t* index = ip + p * out_plane;
      const T* from = gyp + p * out_plane;
      for (std::int64_t o = 0; o < out_plane; ++o)
        if (index[o] >= 0) plane[index[o]] += from[o];
    });
  });
  return g;
}

Tensor max_pool_gather(const Tensor& g_in, const Tensor& indices, const PoolAxis& h, const PoolAxis& w) {
  const Tensor g = contiguous(g_in);
  Tensor y = new_tensor(indices.shape(), g.dtype());
  const std::int64_t in_plane = in_plane_of(h, w), out_plane = out_plane_of(h, w);
  const std::int64_t planes = planes_of(g.numel(), in_plane);
  if (y.numel() == 0) return y;
  const std::int64_t* ip = indices.data<std::int64_t>();
  dispatch_floating(g.dtype(), [&]<class T>() {
    const T* gp = g.data<T>();
    T* yp = y.data<T>();
    for_planes(planes, out_plane, [&](std::int64_t p) {
      const T* plane = gp + p * in_plane;
      const std::int64_t* index = ip + p * out_plane;
      T* to = yp + p * out_plane;
      for (std::int64_t o = 0; o < out_plane; ++o) to[o] = index[o] >= 0 ? plane[index[o]] : T(0);
    });
  });
  return y;
}

namespace {

// One plane of an average pool or of its backward (the transpose: each window's taps receive gy /
// divisor). KH, KW > 0: every window is KH x KW (the counts known at compile time); 0: read them.
template <class T, int KH, int KW, bool backward>
void avg_plane(const T* from, T* to, const PoolAxis& h, const PoolAxis& w) {
  const std::int64_t width = w.input, out_h = h.output, out_w = w.output;
  const std::int64_t *h_first = h.first.data(), *h_count = h.count.data();
  const std::int64_t *w_first = w.first.data(), *w_count = w.count.data();
  const double *h_divisor = h.divisor.data(), *w_divisor = w.divisor.data();
  for (std::int64_t oh = 0; oh < out_h; ++oh) {
    const std::int64_t rows = KH > 0 ? KH : h_count[oh], top = h_first[oh] * width;
    for (std::int64_t ow = 0; ow < out_w; ++ow) {
      const std::int64_t columns = KW > 0 ? KW : w_count[ow], at = top + w_first[ow];
      const auto divisor = static_cast<T>(h_divisor[oh] * w_divisor[ow]);
      if constexpr (backward) {
        const T share = from[oh * out_w + ow] / divisor;
        for (std::int64_t i = 0; i < rows; ++i)
          for (std::int64_t j = 0; j < columns; ++j) to[at + i * width + j] += share;
      } else {
        T sum = 0;
        for (std::int64_t i = 0; i < rows; ++i)
          for (std::int64_t j = 0; j < columns; ++j) sum += from[at + i * width + j];
        to[oh * out_w + ow] = sum / divisor;
      }
    }
  }
}

// avg_plane for the window shape of h and w: unrolled for the common 2x2 and 3x3.
template <class T, bool backward>
void avg_plane_of(const T* from, T* to, const PoolAxis& h, const PoolAxis& w, std::int64_t kh, std::int64_t kw) {
  if (kh == 2 && kw == 2)
    avg_plane<T, 2, 2, backward>(from, to, h, w);
  else if (kh == 3 && kw == 3)
    avg_plane<T, 3, 3, backward>(from, to, h, w);
  else
    avg_plane<T, 0, 0, backward>(from, to, h, w);
}

}  // namespace

void avg_pool(const Tensor& x_in, const PoolAxis& h, const PoolAxis& w, Tensor& y) {
  const Tensor x = contiguous(x_in);
  const std::int64_t in_plane = in_plane_of(h, w), out_plane = out_plane_of(h, w);
  if (y.numel() == 0) return;
  const std::int64_t planes = planes_of(x.numel(), in_plane);
  const std::int64_t kh = uniform_count(h), kw = uniform_count(w);
  dispatch_floating(x.dtype(), [&]<class T>() {
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    for_planes(planes, taps(h, w),
               [&](std::int64_t p) { avg_plane_of<T, false>(xp + p * in_plane, yp + p * out_plane, h, w, kh, kw); });
  });
}

Tensor avg_pool_backward(const Tensor& gy_in, const PoolAxis& h, const PoolAxis& w, const Shape& x_shape) {
  const Tensor gy = contiguous(gy_in);
  Tensor g = new_tensor(x_shape, gy.dtype());
  const std::int64_t in_plane = in_plane_of(h, w), out_plane = out_plane_of(h, w);
  const std::int64_t planes = planes_of(g.numel(), in_plane);
  const std::int64_t kh = uniform_count(h), kw = uniform_count(w);
  dispatch_floating(g.dtype(), [&]<class T>() {
    const T* gyp = gy.data<T>();
    T* gp = g.data<T>();
    for_planes(planes, in_plane + (out_plane == 0 ? 0 : taps(h, w)), [&](std::int64_t p) {
      T* plane = gp + p * in_plane;
      std::fill(plane, plane + in_plane, T(0));
      if (out_plane > 0) avg_plane_of<T, true>(gyp + p * out_plane, plane, h, w, kh, kw);  // else no tables
    });
  });
  return g;
}

}  // namespace tapegrad::kernels
