// Note [Convolution as GEMM] (conv.hpp): im2col, col2im and the three products over kernels::gemm.
#include "kernels/conv.hpp"

#include <algorithm>
#include <cstring>

#include "internal.hpp"
#include "kernels/gemm.hpp"
#include "parallel.hpp"

namespace tapegrad::kernels {
namespace {

std::int64_t ceil_div(std::int64_t x, std::int64_t y) { return (x + y - 1) / y; }

// The columns ow whose tap kj lands inside the image: iw = ow·stride + offset in [0, width).
struct Span {
  std::int64_t begin, end;
};
Span inside(std::int64_t offset, std::int64_t stride, std::int64_t width, std::int64_t count) {
  const std::int64_t begin = offset >= 0 ? 0 : ceil_div(-offset, stride);
  const std::int64_t end = width - offset <= 0 ? 0 : ceil_div(width - offset, stride);
  const std::int64_t b = std::min(begin, count), e = std::clamp(end, b, count);
  return {b, e};
}

// Calls row(c, ki, kj, row_index) for every row of one image's columns, and for each of its output
// rows line(oh, ih, span, offset): ih the image row read (may lie outside), the span of ow inside.
template <class Line>
void for_each_tap(const ConvShape& s, Line&& line) {
  const std::int64_t positions = s.positions();
  std::int64_t row = 0;
  for (std::int64_t c = 0; c < s.image_channels; ++c)
    for (std::int64_t ki = 0; ki < s.kernel_h; ++ki)
      for (std::int64_t kj = 0; kj < s.kernel_w; ++kj, ++row) {
        const std::int64_t offset = kj * s.dilation_w - s.pad_left;
        const Span span = inside(offset, s.stride_w, s.image_w, s.column_w);
        for (std::int64_t oh = 0; oh < s.column_h; ++oh) {
          const std::int64_t ih = oh * s.stride_h - s.pad_top + ki * s.dilation_h;
          line(c, ih, row * positions + oh * s.column_w, span, offset);
        }
      }
}

// One image [image_channels, image_h, image_w] -> its columns [rows, positions].
template <class T>
void im2col_one(const ConvShape& s, const T* image, T* columns) {
  const std::int64_t plane = s.image_h * s.image_w;
  for_each_tap(s, [&](std::int64_t c, std::int64_t ih, std::int64_t at, Span span, std::int64_t offset) {
    T* out = columns + at;
    if (ih < 0 || ih >= s.image_h) {
      std::fill(out, out + s.column_w, T(0));
      return;
    }
    const T* in = image + c * plane + ih * s.image_w + offset;
    std::fill(out, out + span.begin, T(0));
    if (s.stride_w == 1) {
      // A loop, not std::copy: rows are short (a 14-wide image), and memmove's call costs more than the copy.
      for (std::int64_t ow = span.begin; ow < span.end; ++ow) out[ow] = in[ow];
    } else {
      for (std::int64_t ow = span.begin; ow < span.end; ++ow) out[ow] = in[ow * s.stride_w];
    }
    std::fill(out + span.end, out + s.column_w, T(0));
  });
}

// image += col2im(columns), one image.
template <class T>
void col2im_one(const ConvShape& s, const T* columns, T* image) {
  const std::int64_t plane = s.image_h * s.image_w;
  for_each_tap(s, [&](std::int64_t c, std::int64_t ih, std::int64_t at, Span span, std::int64_t offset) {
    if (ih < 0 || ih >= s.image_h) return;
    const T* in = columns + at;
    T* out = image + c * plane + ih * s.image_w + offset;
    if (s.stride_w == 1) {
      for (std::int64_t ow = span.begin; ow < span.end; ++ow) out[ow] += in[ow];
    } else {
      for (std::int64_t ow = span.begin; ow < span.end; ++ow) out[ow * s.stride_w] += in[ow];
    }
  });
}

// Each of `planes` planes of `size` elements set to its channel's bias, or zero.
template <class T>
void fill_planes(T* out, std::int64_t planes, std::int64_t size, const T* bias) {
  for (std::int64_t p = 0; p < planes; ++p) std::fill(out + p * size, out + (p + 1) * size, bias ? bias[p] : T(0));
}

template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// A scratch buffer for one image's columns (none when im2col is the identity).
Tensor columns_buffer(const ConvShape& s, DType dtype) {
  if (s.pointwise()) return {};
  return detail::new_tensor({s.groups * s.rows_per_group(), s.positions()}, dtype);
}

// The sizes every product works with: per image, per group, and the GEMMs' leading dimensions (at least 1).
struct Sizes {
  explicit Sizes(const ConvShape& s)
      : rows(s.rows_per_group()),
        positions(s.positions()),
        per_group(s.column_channels / s.groups),
        image(s.image_channels * s.image_h * s.image_w),
        columns(s.column_channels * positions),
        weight(s.column_channels * rows),
        ld_rows(std::max<std::int64_t>(rows, 1)),
        ld_positions(std::max<std::int64_t>(positions, 1)),
        flops(2 * weight * positions + 1) {}
  std::int64_t rows, positions, per_group, image, columns, weight, ld_rows, ld_positions, flops;
};

template <class T>
void columns_product(const ConvShape& s, const T* image, const T* weight, const T* bias, T* out) {
  const Sizes z(s);
  parallel::for_chunks(
      s.batch, 1,
      [&](std::int64_t begin, std::int64_t end) {
        Tensor buffer = columns_buffer(s, dtype_v<T>);
        for (std::int64_t n = begin; n < end; ++n) {
          const T* columns = image + n * z.image;
          if (buffer.defined()) {
            im2col_one(s, columns, buffer.data<T>());
            columns = buffer.data<T>();
          }
          T* y = out + n * z.columns;
          if (bias) fill_planes(y, s.column_channels, z.positions, bias);
          for (std::int64_t g = 0; g < s.groups; ++g)
            gemm(Trans::no, Trans::no, z.per_group, z.positions, z.rows, T(1), weight + g * z.per_group * z.rows,
                 z.ld_rows, columns + g * z.rows * z.positions, z.ld_positions, bias ? T(1) : T(0),
                 y + g * z.per_group * z.positions, z.ld_positions);
        }
      },
      z.flops);
}

template <class T>
void image_product(const ConvShape& s, const T* columns, const T* weight, const T* bias, T* out) {
  const Sizes z(s);
  parallel::for_chunks(
      s.batch, 1,
      [&](std::int64_t begin, std::int64_t end) {
        Tensor buffer = columns_buffer(s, dtype_v<T>);
        for (std::int64_t n = begin; n < end; ++n) {
          T* image = out + n * z.image;
          fill_planes(image, s.image_channels, s.image_h * s.image_w, bias);
          // Pointwise: col2im is the identity, the product adds straight into the image.
          T* product = buffer.defined() ? buffer.data<T>() : image;
          const T beta = buffer.defined() ? T(0) : T(1);
          for (std::int64_t g = 0; g < s.groups; ++g)
            gemm(Trans::yes, Trans::no, z.rows, z.positions, z.per_group, T(1), weight + g * z.per_group * z.rows,
                 z.ld_rows, columns + n * z.columns + g * z.per_group * z.positions, z.ld_positions, beta,
                 product + g * z.rows * z.positions, z.ld_positions);
          if (buffer.defined()) col2im_one(s, product, image);
        }
      },
      z.flops);
}

// Images per chunk of the weight product: fixed by the batch size alone, at most 16 chunks.
std::int64_t weight_chunk(std::int64_t batch) { return std::max<std::int64_t>(1, ceil_div(batch, 16)); }

template <class T>
void weight_product(const ConvShape& s, const T* columns, const T* image, T* out) {
  const Sizes z(s);
  const std::int64_t weight_size = z.weight;
  const std::int64_t grain = weight_chunk(s.batch), chunks = ceil_div(s.batch, grain);
  if (chunks == 0) {
    std::fill(out, out + weight_size, T(0));
    return;
  }
  // Chunk 0 writes the result itself; the others their own partial sums, added in chunk order.
  Tensor partials = chunks > 1 ? detail::new_tensor({chunks - 1, weight_size}, dtype_v<T>) : Tensor();
  parallel::for_chunks(
      s.batch, grain,
      [&](std::int64_t begin, std::int64_t end) {
        const std::int64_t chunk = begin / grain;
        T* gw = chunk == 0 ? out : partials.data<T>() + (chunk - 1) * weight_size;
        Tensor buffer = columns_buffer(s, dtype_v<T>);
        for (std::int64_t n = begin; n < end; ++n) {
          const T* taps = image + n * z.image;
          if (buffer.defined()) {
            im2col_one(s, taps, buffer.data<T>());
            taps = buffer.data<T>();
          }
          for (std::int64_t g = 0; g < s.groups; ++g)
            gemm(Trans::no, Trans::yes, z.per_group, z.rows, z.positions, T(1),
                 columns + n * z.columns + g * z.per_group * z.positions, z.ld_positions,
                 taps + g * z.rows * z.positions, z.ld_positions, n == begin ? T(0) : T(1),
                 gw + g * z.per_group * z.rows, z.ld_rows);
        }
      },
      z.flops);
  for (std::int64_t c = 1; c < chunks; ++c) {
    const T* partial = partials.data<T>() + (c - 1) * weight_size;
    for (std::int64_t i = 0; i < weight_size; ++i) out[i] += partial[i];
  }
}

}  // namespace

Tensor columns_product(const ConvShape& s, const Tensor& image, const Tensor& weight, const Tensor& bias) {
  Tensor y = detail::new_tensor({s.batch, s.column_channels, s.column_h, s.column_w}, image.dtype());
  detail::dispatch_floating(image.dtype(), [&]<class T>() {
    columns_product<T>(s, image.data<T>(), weight.data<T>(), data_or_null<T>(bias), y.data<T>());
  });
  return y;
}

Tensor image_product(const ConvShape& s, const Tensor& columns, const Tensor& weight, const Tensor& bias) {
  Tensor y = detail::new_tensor({s.batch, s.image_channels, s.image_h, s.image_w}, columns.dtype());
  detail::dispatch_floating(columns.dtype(), [&]<class T>() {
    image_product<T>(s, columns.data<T>(), weight.data<T>(), data_or_null<T>(bias), y.data<T>());
  });
  return y;
}

Tensor weight_product(const ConvShape& s, const Tensor& columns, const Tensor& image) {
  Tensor gw =
      detail::new_tensor({s.column_channels, s.image_channels / s.groups, s.kernel_h, s.kernel_w}, columns.dtype());
  detail::dispatch_floating(columns.dtype(),
                            [&]<class T>() { weight_product<T>(s, columns.data<T>(), image.data<T>(), gw.data<T>()); });
  return gw;
}

Tensor channel_sum(const Tensor& g) {
  const Shape& shape = g.shape();
  const std::int64_t batch = shape[0], channels = shape[1], positions = shape[2] * shape[3];
  Tensor sums = detail::new_tensor({channels}, g.dtype());
  detail::dispatch_floating(g.dtype(), [&]<class T>() {
    const T* in = g.data<T>();
    T* out = sums.data<T>();
    parallel::for_chunks(
        channels, 1,
        [&](std::int64_t begin, std::int64_t end) {
          for (std::int64_t c = begin; c < end; ++c) {
            double total = 0.0;
            for (std::int64_t n = 0; n < batch; ++n) {
              // Eight independent sums, so the loop vectorises without reassociating a single sum.
              const T* row = in + (n * channels + c) * positions;
              T lanes[8] = {};
              std::int64_t p = 0;
              for (; p + 8 <= positions; p += 8)
                for (int k = 0; k < 8; ++k) lanes[k] += row[p + k];
              for (; p < positions; ++p) lanes[0] += row[p];
              for (T lane : lanes) total += static_cast<double>(lane);
            }
            out[c] = static_cast<T>(total);
          }
        },
        batch * positions);
  });
  return sums;
}

Tensor im2col(const ConvShape& s, const Tensor& image) {
  const std::int64_t rows = s.image_channels * s.kernel_h * s.kernel_w, positions = s.positions();
  Tensor columns = detail::new_tensor({s.batch, rows, positions}, image.dtype());
  const std::int64_t image_size = s.image_channels * s.image_h * s.image_w;
  detail::dispatch_floating(image.dtype(), [&]<class T>() {
    const T* in = image.data<T>();
    T* out = columns.data<T>();
    parallel::for_chunks(
        s.batch, 1,
        [&](std::int64_t begin, std::int64_t end) {
          for (std::int64_t n = begin; n < end; ++n) im2col_one(s, in + n * image_size, out + n * rows * positions);
        },
        rows * positions + 1);
  });
  return columns;
}

Tensor col2im(const ConvShape& s, const Tensor& columns) {
  const std::int64_t rows = s.image_channels * s.kernel_h * s.kernel_w, positions = s.positions();
  Tensor image = detail::new_tensor({s.batch, s.image_channels, s.image_h, s.image_w}, columns.dtype());
  const std::int64_t image_size = s.image_channels * s.image_h * s.image_w;
  detail::dispatch_floating(columns.dtype(), [&]<class T>() {
    const T* in = columns.data<T>();
    T* out = image.data<T>();
    parallel::for_chunks(
        s.batch, 1,
        [&](std::int64_t begin, std::int64_t end) {
          for (std::int64_t n = begin; n < end; ++n) {
            std::fill(out + n * image_size, out + (n + 1) * image_size, T(0));
            col2im_one(s, in + n * rows * positions, out + n * image_size);
          }
        },
        rows * positions + 1);
  });
  return image;
}

}  // namespace tapegrad::kernels
