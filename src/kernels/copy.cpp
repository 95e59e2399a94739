#include "kernels/copy.hpp"

#include <cstring>
#include <utility>

#include "internal.hpp"
#include "kernels/loop.hpp"

namespace tapegrad::kernels {

using detail::dispatch;

namespace {

// The lowest and highest element offsets a non-empty tensor touches in its storage.
std::pair<std::int64_t, std::int64_t> element_range(const Tensor& x) {
  std::int64_t low = x.offset(), high = x.offset();
  for (std::size_t i = 0; i < x.shape().size(); ++i) {
    const std::int64_t reach = (x.shape()[i] - 1) * x.strides()[i];
    (reach < 0 ? low : high) += reach;
  }
  return {low, high};
}

// Note [Overlapping copies]
// x.copy_(transpose(x, 0, 1)) would overwrite elements it has still to read. When the source shares
// storage with the destination, their element ranges intersect, and an element would read another
// element's address (any layout but the identical one), the source is first copied whole into a
// temporary. The range test is conservative (interleaved views count as overlapping): an extra copy,
// never a wrong value.
bool needs_temporary(const Tensor& dst, const Tensor& src, const Strides& src_strides) {
  if (src.impl().storage != dst.impl().storage || src.numel() == 0 || dst.numel() == 0) return false;
  if (src.offset() == dst.offset() && src_strides == dst.strides()) return false;  // each reads itself
  auto [src_low, src_high] = element_range(src);
  auto [dst_low, dst_high] = element_range(dst);
  return src_low <= dst_high && dst_low <= src_high;
}

// What a write into dst reads: source, or a copy of it when dst would overwrite elements it has
// still to read (Note [Overlapping copies]); with its strides broadcast to dst's shape.
std::pair<Tensor, Strides> readable_source(const Tensor& dst, const Tensor& source) {
  Strides ss = broadcast_strides(source.shape(), source.strides(), dst.shape());
  if (!needs_temporary(dst, source, ss)) return {source, std::move(ss)};
  Tensor copy = cast(source, source.dtype());
  return {copy, broadcast_strides(copy.shape(), copy.strides(), dst.shape())};
}

}  // namespace

void copy_into(const Tensor& dst, const Tensor& source) {
  const auto [src, ss] = readable_source(dst, source);
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

void add_into(const Tensor& dst, const Tensor& source, double alpha, DType compute) {
  const auto [src, ss] = readable_source(dst, source);
  dispatch(compute, [&]<class C>() {
    dispatch(src.dtype(), [&]<class S>() {
      dispatch(dst.dtype(), [&]<class D>() {
        const S* sp = src.data<S>();
        D* dp = const_cast<Tensor&>(dst).data<D>();
        const C a = static_cast<C>(alpha);
        parallel_for_each_strided<2>(dst.shape(), {&ss, &dst.strides()}, [&](auto offsets, std::int64_t n, auto steps) {
          const S* s = sp + offsets[0];
          D* d = dp + offsets[1];
          if (steps[0] == 1 && steps[1] == 1) {  // the loop the compiler vectorises
            for (std::int64_t i = 0; i < n; ++i) d[i] = static_cast<D>(static_cast<C>(d[i]) + a * static_cast<C>(s[i]));
            return;
          }
          for (std::int64_t i = 0; i < n; ++i) {
            D& out = d[i * steps[1]];
            out = static_cast<D>(static_cast<C>(out) + a * static_cast<C>(s[i * steps[0]]));
          }
        });
      });
    });
  });
}

void scale(const Tensor& dst, double factor) {
  dispatch(dst.dtype(), [&]<class D>() {
    D* dp = const_cast<Tensor&>(dst).data<D>();
    const D f = static_cast<D>(factor);
    parallel_for_each_strided<1>(dst.shape(), {&dst.strides()}, [&](auto offsets, std::int64_t n, auto steps) {
      D* d = dp + offsets[0];
      if (steps[0] == 1) {
        for (std::int64_t i = 0; i < n; ++i) d[i] *= f;
        return;
      }
      for (std::int64_t i = 0; i < n; ++i) d[i * steps[0]] *= f;
    });
  });
}

}  // namespace tapegrad::kernels
