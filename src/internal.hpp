// Helpers shared by the library's sources (not installed).
#pragma once

#include <cmath>
#include <cstdint>
#include <exception>
#include <source_location>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tapegrad/error.hpp"
#include "tapegrad/hooks.hpp"
#include "tapegrad/tensor.hpp"

// Note [Thread-local model]: the per-thread state touched by every op (grad mode, the tape, the block
// pool) uses the initial-exec TLS model: a plain offset from the thread pointer instead of a call to
// __tls_get_addr (which cost ~4% of a tiny op). It needs the library loaded at program start or
// dlopen'ed while glibc's static TLS surplus lasts, which a few dozen bytes do.
#define TAPEGRAD_FAST_TLS __attribute__((tls_model("initial-exec")))

namespace tapegrad::detail {

// Note [Per-thread objects]: the block pool and the buffer cache keep one object per thread, built on
// first use and destroyed at thread exit. Tensors can die after it during thread exit (the tape, another
// thread_local, may outlive it), so each keeps a trivially destructible state, valid all thread long,
// that says whether the object is not built yet, alive, or gone. Derived's constructor sets alive and
// its destructor dead (befriend PerThread<Derived>).
template <class Derived>
struct PerThread {
  enum State : unsigned char { unborn, alive, dead };
  static State& state() {
    TAPEGRAD_FAST_TLS thread_local State s = unborn;
    return s;
  }
  static Derived& local() {
    TAPEGRAD_FAST_TLS thread_local Derived object;  // Note [Thread-local model]
    return object;
  }
};

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
// numel_of and contiguous_strides without the checks, for shapes already checked (a tensor's own).
std::int64_t numel_unchecked(const Shape& shape);
Strides strides_of(const Shape& shape);
// checked_numel, and numel * itemsize(dtype) fits in int64 too.
std::int64_t require_sizes(std::string_view op, const Shape& shape, DType dtype,
                           const std::source_location& at);
// ValueError when `value` cannot be converted to dtype (an int64 tensor and a value outside int64,
// NaN or an infinity: the conversion would be undefined).
void require_representable(std::string_view op, double value, DType dtype, const std::source_location& at);
// The shape a and b broadcast to; ShapeError naming `op` (the public function called) when they do not.
Shape broadcast_shapes(std::string_view op, const Shape& a, const Shape& b, const std::source_location& at);
// a + b for sizes, ValueError on overflow.
std::int64_t checked_add(std::string_view op, std::int64_t a, std::int64_t b, const std::source_location& at);

// The public op being run on this thread, for errors raised where it is not known (Note
// [Allocation failures] in shape_check.cpp).
struct CallSite {
  std::string_view op;
  const std::source_location* at = nullptr;
};
extern TAPEGRAD_FAST_TLS thread_local CallSite current_call;
// current_module() (hooks.hpp): an interned name, "" outside modules.
extern TAPEGRAD_FAST_TLS thread_local std::string_view current_module_name;

struct Entry;
// The op boundary's machinery (Note [Op boundary] in hooks.cpp). Only reached when a listener is
// registered on the thread: `listeners` is the one thread-local an op checks otherwise.
extern TAPEGRAD_FAST_TLS thread_local ListenGuard* listeners;
struct Boundary {
  // Opens an event (not begun yet): on top of this thread's stack of open events.
  static OpEvent& push(std::string_view op, const std::source_location& at, Phase phase, bool custom);
  static void add_input(OpEvent& e, const Tensor& x) { e.inputs.push_back(x); }
  static void add_input(OpEvent& e, const std::vector<Tensor>& xs) {
    e.inputs.insert(e.inputs.end(), xs.begin(), xs.end());
  }
  // Calls the listeners' begin(); pops the event if one throws.
  static void begin(OpEvent& e);
  // Sets the outputs and calls end() (once; what a listener throws propagates).
  static void end(OpEvent& e, std::span<const Tensor> outputs);
  // Ends the event if it was not (as failed when an exception is in flight), then pops it.
  static void close(OpEvent& e, int exceptions) noexcept;
  // The backward of entry e, its inputs the gradients of e's outputs.
  static OpEvent& open_backward(const Entry& e);
  // A gradient a backward function accumulates (tape_backward.cpp).
  static void gradient(std::size_t input, const Tensor& g);
  // record(): hands the outputs to the built-in op recording them (the innermost open event of that
  // name), or passes a custom op recorded outside one through the boundary.
  static void recorded(std::string_view op, std::span<const Tensor> inputs, std::span<const Tensor> outputs,
                       std::uint64_t serial, const std::source_location& at);
  static void dispatch(OpEvent& e, bool begin);
};

// Every public op opens one of these at its entry, with its name, the user's line and its tensor
// inputs, and returns through finish() or through record(), which finishes it (Note [Op boundary] in
// hooks.cpp). It also names the op for allocation failures (the outermost scope wins, so stack -> concat reports
// "stack").
class OpScope {
 public:
  template <class... Inputs>
  OpScope(std::string_view op, const std::source_location& at, const Inputs&... inputs) {
    if (listeners) [[unlikely]] {
      OpEvent& e = Boundary::push(op, at, Phase::forward, false);
      (Boundary::add_input(e, inputs), ...);
      Boundary::begin(e);
      event_ = &e;
      exceptions_ = std::uncaught_exceptions();
    }
    outer_ = current_call.at == nullptr;
    if (outer_) current_call = {op, &at};
  }
  // The backward of a tape entry (BackwardRun::run).
  explicit OpScope(const Entry& entry) : outer_(false) {
    if (listeners) [[unlikely]] {
      event_ = &Boundary::open_backward(entry);
      exceptions_ = std::uncaught_exceptions();
    }
  }
  ~OpScope() {
    if (event_) [[unlikely]] Boundary::close(*event_, exceptions_);
    if (outer_) current_call = {};
  }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

  // At a return point: reports the op's result and ends the event; returns the result.
  Tensor finish(Tensor&& y) {
    if (event_) [[unlikely]] Boundary::end(*event_, {&y, 1});
    return std::move(y);
  }
  Tensor finish(const Tensor& y) {
    if (event_) [[unlikely]] Boundary::end(*event_, {&y, 1});
    return y;
  }
  std::vector<Tensor> finish(std::vector<Tensor>&& ys) {
    if (event_) [[unlikely]] Boundary::end(*event_, ys);
    return std::move(ys);
  }
  // A backward: ends the event with the gradients the backward function accumulated.
  void finish() {
    if (event_) [[unlikely]] Boundary::end(*event_, event_->outputs);
  }

 private:
  OpEvent* event_ = nullptr;
  int exceptions_ = 0;
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

// Note [Type promotion]: PyTorch's rules (torch.result_type), written once; every binary op, where,
// pow and the scalar operators take their dtype from result_type, matmul from promote.
// 1. Two operands of the same kind promote by this table (promote):
//                float32  float64  int64
//      float32   float32  float64  float32
//      float64   float64  float64  float64
//      int64     float32  float64  int64
// 2. Kinds rank tensor (dim >= 1) > 0-d tensor > scalar. A C++ double stands for a Python number: an
//    int (int64) when its value is integral and fits int64, else a float (float32, the default
//    dtype). The operand of the higher kind decides, unless it is integral and the other is
//    floating: then the other's dtype. So scalars and 0-d tensors never widen a float tensor; they
//    only turn an integer one into a float.
// 3. div is true division: an int64 result becomes float32, like torch.div.
// Examples (each checked against torch by tests/fixtures/make_promotion.py):
//      int64 tensor * 2.5 -> float32             int64 tensor * 2.0 -> int64
//      float32 tensor + 0.5 -> float32           float32 tensor + float64 tensor -> float64
//      int64 tensor + float32 tensor -> float32  int64 tensor / int64 tensor -> float32
//      int64 tensor + 0-d float64 -> float64     float32 tensor + 0-d float64 -> float32
//      0-d int64 + 2.5 -> float32                0-d float32 + 0-d float64 -> float64
inline constexpr DType promotion_table[3][3] = {
    // float32         float64         int64
    {DType::float32, DType::float64, DType::float32},  // float32
    {DType::float64, DType::float64, DType::float64},  // float64
    {DType::float32, DType::float64, DType::int64},    // int64
};
constexpr DType promote(DType a, DType b) {
  return promotion_table[static_cast<int>(a)][static_cast<int>(b)];
}

enum class Kind : std::uint8_t { tensor, zero_dim, scalar };  // highest rank first
struct Operand {
  DType dtype;
  Kind kind;
};
inline Operand operand(const Tensor& t) { return {t.dtype(), t.dim() == 0 ? Kind::zero_dim : Kind::tensor}; }
// A C++ double as a Python number: an int when it has no fractional part and fits int64.
inline Operand operand(double v) {
  const bool integral = v >= -0x1p63 && v < 0x1p63 && v == std::trunc(v);  // false for NaN and inf
  return {integral ? DType::int64 : DType::float32, Kind::scalar};
}
constexpr DType result_type(Operand a, Operand b) {
  if (a.kind == b.kind) return promote(a.dtype, b.dtype);
  const Operand& high = a.kind < b.kind ? a : b;
  const Operand& low = a.kind < b.kind ? b : a;
  return !is_floating(high.dtype) && is_floating(low.dtype) ? low.dtype : high.dtype;
}
// How a dtype error names an operand: "int64 tensor", "0-d float32 tensor".
inline std::string describe(const Tensor& t) {
  return (t.dim() == 0 ? "0-d " : "") + std::string(dtype_name(t.dtype())) + " tensor";
}

// Adds g into leaf.grad (Note [Leaf gradients] in leaf_grad.cpp).
// may_adopt: the caller gives g up (drops its own handle right after), so a g nothing else holds
// becomes .grad() without a copy.
void accumulate_leaf_grad(TensorImpl& leaf, const Tensor& g, bool may_adopt = false);
// leaf.grad read, replaced or zeroed under the leaf's lock (Note [Leaf gradients], rule 1).
std::shared_ptr<TensorImpl> load_leaf_grad(const TensorImpl& leaf);
void store_leaf_grad(TensorImpl& leaf, std::shared_ptr<TensorImpl> g);
void zero_leaf_grad(TensorImpl& leaf, bool set_to_none);

// Bumps the version counter of x's storage (an in-place write happened).
void bump_version(const Tensor& x);

}  // namespace tapegrad::detail

namespace tapegrad::detail {
// A stride-0 view of t (whose shape broadcasts to `shape`) with that shape: no copy.
Tensor broadcast_view(const Tensor& t, const Shape& shape);
}  // namespace tapegrad::detail
