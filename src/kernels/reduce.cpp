#include "kernels/reduce.hpp"

#include <limits>

#include "internal.hpp"
#include "kernels/copy.hpp"
#include "kernels/loop.hpp"

namespace tapegrad::kernels {

using detail::dispatch;

Tensor reduce(Reduce kind, const Tensor& x, const std::vector<bool>& mask, bool keepdim) {
  Shape kept = detail::reduced_shape(x.shape(), mask, true);
  Tensor y = detail::new_tensor(kept, x.dtype());
  dispatch(x.dtype(), [&]<class T>() {
    T start = kind == Reduce::sum   ? T(0)
              : kind == Reduce::max ? std::numeric_limits<T>::lowest()
                                    : std::numeric_limits<T>::max();
    if constexpr (std::numeric_limits<T>::has_infinity) {
      if (kind == Reduce::max) start = -std::numeric_limits<T>::infinity();
      if (kind == Reduce::min) start = std::numeric_limits<T>::infinity();
    }
    fill(y, static_cast<double>(start));
    // The output, seen with stride 0 along the reduced axes, walks beside x.
    Strides ys = y.strides();
    for (std::size_t i = 0; i < mask.size(); ++i)
      if (mask[i]) ys[i] = 0;
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    for_each_strided<2>(x.shape(), {&x.strides(), &ys}, [&](auto offsets, std::int64_t n, auto steps) {
      const T* xi = xp + offsets[0];
      T* yi = yp + offsets[1];
      if (steps[1] == 0) {  // reducing along the inner axis: accumulate in a register
        T acc = *yi;
        for (std::int64_t i = 0; i < n; ++i) {
          T v = xi[i * steps[0]];
          if (kind == Reduce::sum) acc += v;
          else if (kind == Reduce::max) acc = (v > acc || v != v) ? v : acc;  // NaN propagates
          else acc = (v < acc || v != v) ? v : acc;
        }
        *yi = acc;
        return;
      }
      for (std::int64_t i = 0; i < n; ++i) {
        T v = xi[i * steps[0]];
        T& out = yi[i * steps[1]];
        if (kind == Reduce::sum) out += v;
        else if (kind == Reduce::max) out = (v > out || v != v) ? v : out;
        else out = (v < out || v != v) ? v : out;
      }
    });
  });
  if (!keepdim) y = detail::make_view(y, detail::reduced_shape(x.shape(), mask, false),
                                      contiguous_strides(detail::reduced_shape(x.shape(), mask, false)), 0);
  return y;
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const std::size_t lead = g.shape().size() - shape.size();
  std::vector<bool> mask(g.shape().size(), false);
  for (std::size_t i = 0; i < g.shape().size(); ++i)
    mask[i] = i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1);
  Tensor kept = reduce(Reduce::sum, g, mask, true);
  return detail::make_view(kept, shape, contiguous_strides(shape), 0);
}

Tensor arg_reduce(bool is_max, const Tensor& x, std::int64_t axis, bool keepdim) {
  Tensor src = x;
  std::int64_t ax = axis;
  if (axis < 0) {  // flattened
    src = cast(x, x.dtype());
    src = detail::make_view(src, {x.numel()}, {1}, 0);
    ax = 0;
  }
  const Shape& shape = src.shape();
  Shape out_shape = shape;
  out_shape[static_cast<std::size_t>(ax)] = 1;
  Tensor y = detail::new_tensor(out_shape, DType::int64);
  const std::int64_t length = shape[static_cast<std::size_t>(ax)];
  const std::int64_t step = src.strides()[static_cast<std::size_t>(ax)];
  Strides ys = y.strides();
  dispatch(src.dtype(), [&]<class T>() {
    const T* xp = src.data<T>();
    std::int64_t* yp = y.data<std::int64_t>();
    // iterate over the output positions; scan `length` elements along the axis for each
    for_each_strided<2>(out_shape, {&src.strides(), &ys}, [&](auto offsets, std::int64_t n, auto steps) {
      for (std::int64_t i = 0; i < n; ++i) {
        const T* row = xp + offsets[0] + i * steps[0];
        std::int64_t best = 0;
        T best_value = row[0];
        for (std::int64_t j = 1; j < length; ++j) {
          T v = row[j * step];
          if (best_value != best_value) break;  // NaN wins, first one
          if (v != v || (is_max ? v > best_value : v < best_value)) {
            best = j;
            best_value = v;
          }
        }
        yp[offsets[1] + i * steps[1]] = best;
      }
    });
  });
  if (axis < 0) return keepdim ? detail::make_view(y, Shape(x.dim(), 1), Strides(x.dim(), 1), 0)
                               : detail::make_view(y, {}, {}, 0);
  if (!keepdim) {
    Shape squeezed = x.shape();
    squeezed.erase(squeezed.begin() + ax);
    return detail::make_view(y, squeezed, contiguous_strides(squeezed), 0);
  }
  return y;
}

}  // namespace tapegrad::kernels
