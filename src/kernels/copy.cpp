#include "kernels/copy.hpp"

#include <cstring>

#include "internal.hpp"
#include "kernels/loop.hpp"

namespace tapegrad::kernels {

using detail::dispatch;

void copy_into(const Tensor& dst, const Tensor& src) {
  Strides ss = broadcast_strides(src.shape(), src.strides(), dst.shape());
  dispatch(src.dtype(), [&]<class S>() {
    dispatch(dst.dtype(), [&]<class D>() {
      const S* sp = src.data<S>();
      D* dp = const_cast<Tensor&>(dst).data<D>();
      for_each_strided<2>(dst.shape(), {&ss, &dst.strides()}, [&](auto offsets, std::int64_t n, auto steps) {
        if constexpr (std::is_same_v<S, D>) {
          if (steps[0] == 1 && steps[1] == 1) {
            std::memcpy(dp + offsets[1], sp + offsets[0], static_cast<std::size_t>(n) * sizeof(D));
            return;
          }
        }
        for (std::int64_t i = 0; i < n; ++i)
          dp[offsets[1] + i * steps[1]] = static_cast<D>(sp[offsets[0] + i * steps[0]]);
      });
    });
  });
}

Tensor cast(const Tensor& x, DType dtype) {
  Tensor y = detail::new_tensor(x.shape(), dtype);
  copy_into(y, x);
  return y;
}

void fill(const Tensor& dst, double value) {
  dispatch(dst.dtype(), [&]<class D>() {
    D* dp = const_cast<Tensor&>(dst).data<D>();
    const D v = static_cast<D>(value);
    for_each_strided<1>(dst.shape(), {&dst.strides()}, [&](auto offsets, std::int64_t n, auto steps) {
      for (std::int64_t i = 0; i < n; ++i) dp[offsets[0] + i * steps[0]] = v;
    });
  });
}

}  // namespace tapegrad::kernels
