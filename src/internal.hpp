// Helpers shared by the library's sources (not installed).
#pragma once

#include <cstdint>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "tapegrad/error.hpp"
#include "tapegrad/tensor.hpp"

// Note [Thread-local model]: the per-thread state touched by every op (grad mode, the tape, the block
// pool) uses the initial-exec TLS model: a plain offset from the thread pointer instead of a call to
// __tls_get_addr (which cost ~4% of a tiny op). It needs the library loaded at program start or
// dlopen'ed while glibc's static TLS surplus lasts, which a few dozen bytes do.
#define TAPEGRAD_FAST_TLS __attribute__((tls_model("initial-exec")))

namespace tapegrad::detail {

template <class E>
[[noreturn]] void fail(std::string_view op, std::string_view rule, const std::string& observed,
                       const std::source_location& at) {
  throw E(op, rule, observed, at);
}

// A new, empty TensorImpl (from the small-object pool, Note [Small-object pool]).
std::shared_ptr<TensorImpl> new_impl();
// A new contiguous tensor (values uninitialised).
Tensor new_tensor(const Shape& shape, DType dtype);
// A tensor sharing base's storage with another shape, strides and offset.
Tensor make_view(const Tensor& base, Shape shape, Strides strides, std::int64_t offset);

// axis in [-rank, rank) -> [0, rank); ShapeError otherwise.
std::int64_t normalize_axis(std::string_view op, std::int64_t axis, std::int64_t rank, const std::source_location& at);
// Which axes a reduction reduces (empty list: all), checked and deduplicated.
std::vector<bool> reduction_mask(std::string_view op, const Axes& axes, std::int64_t rank,
                                 const std::source_location& at);
// The shape a reduction produces.
Shape reduced_shape(const Shape& shape, const std::vector<bool>& mask, bool keepdim);

void require_floating(std::string_view op, const Tensor& x, const std::source_location& at);
// Note [Checked sizes] (shape_check.cpp). ValueError unless every size is non-negative and numel fits
// in int64; returns numel.
std::int64_t checked_numel(std::string_view op, const Shape& shape, const std::source_location& at);
// checked_numel, and numel * itemsize(dtype) fits in int64 too.
std::int64_t require_sizes(std::string_view op, const Shape& shape, DType dtype,
                           const std::source_location& at);
// ValueError when `value` cannot be converted to dtype (an int64 tensor and a value outside int64,
// NaN or an infinity: the conversion would be undefined).
void require_representable(std::string_view op, double value, DType dtype, const std::source_location& at);
// a + b for sizes, ValueError on overflow.
std::int64_t checked_add(std::string_view op, std::int64_t a, std::int64_t b, const std::source_location& at);

// The public op being run on this thread, for errors raised where it is not known (Note
// [Allocation failures] in shape_check.cpp).
struct CallSite {
  std::string_view op;
  const std::source_location* at = nullptr;
};
extern TAPEGRAD_FAST_TLS thread_local CallSite current_call;
class OpScope {
 public:
  OpScope(std::string_view op, const std::source_location& at) : outer_(current_call.at == nullptr) {
    if (outer_) current_call = {op, &at};
  }
  ~OpScope() {
    if (outer_) current_call = {};
  }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

 private:
  bool outer_;
};
// numel * itemsize of a shape, or false when a size is negative or the product overflows int64.
bool byte_size(const Shape& shape, DType dtype, std::int64_t& bytes);
// OutOfMemoryError naming the current OpScope's op and line.
[[noreturn]] void throw_out_of_memory(const Shape& shape, DType dtype);
void require_defined(std::string_view op, const Tensor& x, const std::source_location& at);

// Calls f.template operator()<T>() with T the C++ type of dtype.
template <class F>
decltype(auto) dispatch(DType dtype, F&& f) {
  switch (dtype) {
    case DType::float32: return f.template operator()<float>();
    case DType::float64: return f.template operator()<double>();
    case DType::int64: break;
  }
  return f.template operator()<std::int64_t>();
}

// Floating dtypes only (callers check first).
template <class F>
decltype(auto) dispatch_floating(DType dtype, F&& f) {
  if (dtype == DType::float64) return f.template operator()<double>();
  return f.template operator()<float>();
}

DType promote(DType a, DType b);

// Bumps the version counter of x's storage (an in-place write happened).
void bump_version(const Tensor& x);

}  // namespace tapegrad::detail

namespace tapegrad::detail {
// A stride-0 view of t (whose shape broadcasts to `shape`) with that shape: no copy.
Tensor broadcast_view(const Tensor& t, const Shape& shape);
}  // namespace tapegrad::detail
