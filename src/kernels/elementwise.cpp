// Elementwise kernels. Shapes, strides, broadcasting and threads are walked here; contiguous inner
// loops (and inner loops where one operand is a single broadcast value) run the SIMD bodies of the
// active instruction set (Note [Kernels per instruction set]); anything else, and int64, takes the
// scalar formula.
#include "kernels/elementwise.hpp"

#include "internal.hpp"
#include "kernels/loop.hpp"
#include "kernels/simd_table.hpp"

namespace tapegrad::kernels {

using detail::dispatch;
using detail::dispatch_floating;
using detail::new_tensor;

namespace {
template <class T>
constexpr int dtype_slot() {
  return std::is_same_v<T, double> ? 1 : 0;
}

// The Broadcast mode of an inner loop with operand steps sa, sb, or -1 when it has no SIMD body.
int broadcast_mode(std::int64_t sa, std::int64_t sb) {
  if (sa == 1 && sb == 1) return both_vectors;
  if (sa == 1 && sb == 0) return b_scalar;
  if (sa == 0 && sb == 1) return a_scalar;
  return -1;
}
}  // namespace

Tensor unary(int op, const Tensor& x, const Params& params) {
  Tensor y = new_tensor(x.shape(), x.dtype());
  with_op<unary_ops>(op, [&]<class Op>() {
    dispatch_floating(x.dtype(), [&]<class T>() {
      const T* xs = x.data<T>();
      T* ys = y.data<T>();
      const UnaryFn simd = simd_table().unary[op][dtype_slot<T>()];
      parallel_for_each_strided<2>(x.shape(), {&x.strides(), &y.strides()}, [&](auto offsets, std::int64_t n, auto steps) {
        const T* xp = xs + offsets[0];
        T* yp = ys + offsets[1];
        if (steps[0] == 1 && steps[1] == 1) return simd(n, xp, yp, params);
        for (std::int64_t i = 0; i < n; ++i) yp[i * steps[1]] = Op::forward(xp[i * steps[0]], params);
      });
    });
  });
  return y;
}

Tensor unary_backward(int op, const Tensor& x, const Tensor& y, const Tensor& gy, const Params& params) {
  Tensor gx = new_tensor(gy.shape(), gy.dtype());
  with_op<unary_ops>(op, [&]<class Op>() {
    dispatch_floating(gy.dtype(), [&]<class T>() {
      // An operand the op does not read is replaced by gy (read, then ignored by the formula).
      const Tensor& xr = (Op::saves & saves_x) ? x : gy;
      const Tensor& yr = (Op::saves & saves_y) ? y : gy;
      const T* xs = xr.data<T>();
      const T* ys = yr.data<T>();
      const T* gys = gy.data<T>();
      T* gxs = gx.data<T>();
      const UnaryBackwardFn simd = simd_table().unary_backward[op][dtype_slot<T>()];
      parallel_for_each_strided<4>(
          gy.shape(), {&xr.strides(), &yr.strides(), &gy.strides(), &gx.strides()},
          [&](auto offsets, std::int64_t n, auto steps) {
            if (steps[0] == 1 && steps[1] == 1 && steps[2] == 1 && steps[3] == 1)
              return simd(n, xs + offsets[0], ys + offsets[1], gys + offsets[2], gxs + offsets[3], params);
            for (std::int64_t i = 0; i < n; ++i)
              gxs[offsets[3] + i * steps[3]] = Op::backward(xs[offsets[0] + i * steps[0]], ys[offsets[1] + i * steps[1]],
                                                            gys[offsets[2] + i * steps[2]], params);
          });
    });
  });
  return gx;
}

Tensor binary(int op, const Tensor& a, const Tensor& b, const Shape& out_shape, DType out_dtype) {
  Tensor y = new_tensor(out_shape, out_dtype);
  Strides as = broadcast_strides(a.shape(), a.strides(), out_shape);
  Strides bs = broadcast_strides(b.shape(), b.strides(), out_shape);
  with_op<binary_ops>(op, [&]<class Op>() {
    dispatch(a.dtype(), [&]<class T>() {
      dispatch(out_dtype, [&]<class U>() {
        const T* ap = a.data<T>();
        const T* bp = b.data<T>();
        U* yp = y.data<U>();
        BinaryFn const* simd = nullptr;
        if constexpr (std::is_same_v<T, U> && !std::is_same_v<T, std::int64_t>)
          simd = simd_table().binary[op][dtype_slot<T>()];
        parallel_for_each_strided<3>(out_shape, {&as, &bs, &y.strides()}, [&](auto offsets, std::int64_t n, auto steps) {
          const int mode = broadcast_mode(steps[0], steps[1]);
          if (simd && mode >= 0 && steps[2] == 1 && simd[mode])
            return simd[mode](n, ap + offsets[0], bp + offsets[1], yp + offsets[2]);
          for (std::int64_t i = 0; i < n; ++i)
            yp[offsets[2] + i * steps[2]] =
                static_cast<U>(Op::forward(ap[offsets[0] + i * steps[0]], bp[offsets[1] + i * steps[1]]));
        });
      });
    });
  });
  return y;
}

Tensor binary_backward(int op, int which, const Tensor& a, const Tensor& b, const Tensor& y, const Tensor& gy) {
  const Shape& shape = gy.shape();
  Tensor g = new_tensor(shape, gy.dtype());
  Strides as = broadcast_strides(a.shape(), a.strides(), shape);
  Strides bs = broadcast_strides(b.shape(), b.strides(), shape);
  const Tensor& yr = y.defined() ? y : gy;
  with_op<binary_ops>(op, [&]<class Op>() {
    dispatch_floating(gy.dtype(), [&]<class T>() {
      const T* ap = a.data<T>();
      const T* bp = b.data<T>();
      const T* yp = yr.data<T>();
      const T* gyp = gy.data<T>();
      T* gp = g.data<T>();
      BinaryBackwardFn const* simd = simd_table().binary_backward[op][dtype_slot<T>()][which];
      parallel_for_each_strided<5>(
          shape, {&as, &bs, &yr.strides(), &gy.strides(), &g.strides()}, [&](auto offsets, std::int64_t n, auto steps) {
            const int mode = broadcast_mode(steps[0], steps[1]);
            if (mode >= 0 && steps[2] == 1 && steps[3] == 1 && steps[4] == 1 && simd[mode])
              return simd[mode](n, ap + offsets[0], bp + offsets[1], yp + offsets[2], gyp + offsets[3], gp + offsets[4]);
            for (std::int64_t i = 0; i < n; ++i) {
              T av = ap[offsets[0] + i * steps[0]];
              T bv = bp[offsets[1] + i * steps[1]];
              T yv = yp[offsets[2] + i * steps[2]];
              T gv = gyp[offsets[3] + i * steps[3]];
              gp[offsets[4] + i * steps[4]] = which == 0 ? Op::grad_a(av, bv, yv, gv) : Op::grad_b(av, bv, yv, gv);
            }
          });
    });
  });
  return g;
}

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b, const Shape& out_shape) {
  Tensor y = new_tensor(out_shape, a.dtype());
  Strides cs = broadcast_strides(condition.shape(), condition.strides(), out_shape);
  Strides as = broadcast_strides(a.shape(), a.strides(), out_shape);
  Strides bs = broadcast_strides(b.shape(), b.strides(), out_shape);
  dispatch(condition.dtype(), [&]<class C>() {
    dispatch(a.dtype(), [&]<class T>() {
      const C* cp = condition.data<C>();
      const T* ap = a.data<T>();
      const T* bp = b.data<T>();
      T* yp = y.data<T>();
      parallel_for_each_strided<4>(out_shape, {&cs, &as, &bs, &y.strides()}, [&](auto offsets, std::int64_t n, auto steps) {
        for (std::int64_t i = 0; i < n; ++i)
          yp[offsets[3] + i * steps[3]] = cp[offsets[0] + i * steps[0]] != C(0) ? ap[offsets[1] + i * steps[1]]
                                                                                 : bp[offsets[2] + i * steps[2]];
      });
    });
  });
  return y;
}

}  // namespace tapegrad::kernels
