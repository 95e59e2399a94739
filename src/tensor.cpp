// The floor: storage, views, accessors and creation. It includes no op header; the recorded copies
// and the in-place ops are in src/ops/, errors and shape checks in error.cpp and shape_check.cpp.
#include "tapegrad/tensor.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <sstream>

#include "allocator.hpp"
#include "internal.hpp"
#include "pool.hpp"
#include "kernels/copy.hpp"
#include "tapegrad/tape.hpp"  // tapegrad::backward, for Tensor::backward

namespace tapegrad {

namespace detail {

Storage::Storage(std::size_t size) : bytes(size) {
  // 64-byte alignment: whole cache lines, and aligned SIMD loads of any width.
  if (size <= inline_bytes) {
    auto address = reinterpret_cast<std::uintptr_t>(small);
    data = small + ((64 - address % 64) % 64);
    is_inline = true;
  } else {
    data = allocator::allocate(size);  // Note [Caching allocator] in allocator.hpp
    if (!data) throw std::bad_alloc();
  }
}
Storage::~Storage() {
  if (!is_inline) allocator::release(data, bytes);
}

std::shared_ptr<TensorImpl> new_impl() { return std::allocate_shared<TensorImpl>(PoolAllocator<TensorImpl>()); }

Tensor new_tensor(const Shape& shape, DType dtype) {
  auto impl = new_impl();
  // The public ops check their shapes (Note [Checked sizes]); here, as a last guard, a size that
  // cannot be addressed, like one that cannot be had, is OutOfMemoryError.
  std::int64_t bytes = 0;
  if (!byte_size(shape, dtype, bytes)) throw_out_of_memory(shape, dtype);
  try {
    impl->storage = std::allocate_shared<Storage>(PoolAllocator<Storage>(), static_cast<std::size_t>(bytes));
  } catch (const std::bad_alloc&) {
    throw_out_of_memory(shape, dtype);
  }
  impl->shape = shape;
  impl->strides = strides_of(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor make_view(const Tensor& base, Shape shape, Strides strides, std::int64_t offset) {
  auto impl = new_impl();
  impl->storage = base.impl().storage;
  impl->offset = base.impl().offset + offset;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

void bump_version(const Tensor& x) { ++x.impl().storage->version; }

}  // namespace detail

using detail::fail;

// ------------------------------------------------------------------ Tensor

void Tensor::throw_undefined(const char* op, const std::source_location& at) {
  fail<ValueError>(op, "the tensor must be defined", "an undefined (default-constructed) tensor", at);
}
std::int64_t Tensor::numel(std::source_location at) const {
  return detail::numel_unchecked(checked_impl("numel", at).shape);
}
std::int64_t Tensor::offset(std::source_location at) const { return checked_impl("offset", at).offset; }

std::int64_t Tensor::size(std::int64_t axis, std::source_location at) const {
  detail::require_defined("size", *this, at);
  auto a = detail::normalize_axis("size", axis, dim(), at);
  return dim() == 0 ? 1 : shape()[static_cast<std::size_t>(a)];
}

bool Tensor::is_contiguous(std::source_location at) const {
  checked_impl("is_contiguous", at);
  std::int64_t expected = 1;
  for (std::size_t i = shape().size(); i-- > 0;) {
    if (shape()[i] == 1) continue;
    if (strides()[i] != expected) return false;
    expected *= shape()[i];
  }
  return true;
}

template <class T>
T* Tensor::data(std::source_location at) {
  if (checked_impl("data", at).dtype != dtype_v<T>)
    fail<DTypeError>("data", "the element type must match the dtype " + std::string(dtype_name(dtype())),
                     std::string(dtype_name(dtype_v<T>)), at);
  return static_cast<T*>(impl().storage->data) + impl().offset;
}
template <class T>
const T* Tensor::data(std::source_location at) const {
  return const_cast<Tensor*>(this)->data<T>(at);
}

template <class T>
std::vector<T> Tensor::to_vector(std::source_location at) const {
  detail::require_defined("to_vector", *this, at);
  detail::OpScope scope("to_vector", at);
  if (dtype() != dtype_v<T>)
    fail<DTypeError>("to_vector", "the element type must match the dtype " + std::string(dtype_name(dtype())),
                     std::string(dtype_name(dtype_v<T>)), at);
  Tensor c = is_contiguous() ? *this : kernels::cast(*this, dtype());
  const T* p = c.data<T>();
  return std::vector<T>(p, p + numel());
}

double Tensor::item(std::source_location at) const {
  detail::require_defined("item", *this, at);
  if (numel() != 1)
    fail<ShapeError>("item", "the tensor must have exactly one element", "shape " + tapegrad::to_string(shape()), at);
  return detail::dispatch(dtype(), [&]<class T>() { return static_cast<double>(*data<T>()); });
}
template <class T>
T Tensor::item(std::source_location at) const {
  return static_cast<T>(item(at));
}

#define TAPEGRAD_INSTANTIATE(T)                                                  \
  template T Tensor::item<T>(std::source_location) const;                        \
  template std::vector<T> Tensor::to_vector<T>(std::source_location) const;      \
  template T* Tensor::data<T>(std::source_location);                             \
  template const T* Tensor::data<T>(std::source_location) const;                 \
  template Tensor from_vector<T>(const std::vector<T>&, Shape, std::source_location);

template <class T>
Tensor from_vector(const std::vector<T>& values, Shape shape, std::source_location at) {
  const std::int64_t n = detail::require_sizes("from_vector", shape, dtype_v<T>, at);
  detail::OpScope scope("from_vector", at);
  if (n != static_cast<std::int64_t>(values.size()))
    fail<ShapeError>("from_vector", "the number of values must equal the shape's numel",
                     std::to_string(values.size()) + " values for shape " + to_string(shape), at);
  Tensor t = detail::new_tensor(shape, dtype_v<T>);
  std::copy(values.begin(), values.end(), t.data<T>());
  return t;
}

TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
TAPEGRAD_INSTANTIATE(std::int64_t)
#undef TAPEGRAD_INSTANTIATE

Tensor Tensor::detach(std::source_location at) const {
  checked_impl("detach", at);
  auto impl = detail::new_impl();
  impl->storage = this->impl().storage;
  impl->offset = this->impl().offset;
  impl->shape = shape();
  impl->strides = strides();
  impl->dtype = dtype();
  return Tensor(std::move(impl));
}

bool Tensor::is_leaf(std::source_location at) const { return checked_impl("is_leaf", at).tape_id == 0; }

Tensor& Tensor::requires_grad_(bool on, std::source_location at) {
  detail::require_defined("requires_grad_", *this, at);
  if (on && !is_floating(dtype()))
    fail<DTypeError>("requires_grad_", "only floating tensors can require gradients",
                     std::string(dtype_name(dtype())), at);
  if (!is_leaf())
    fail<GraphError>("requires_grad_", "only leaves can change requires_grad (use detach() first)",
                     "a tensor made by an op", at);
  impl().requires_grad = on;
  return *this;
}

Tensor Tensor::grad(std::source_location at) const {
  auto g = detail::load_leaf_grad(checked_impl("grad", at));
  return g ? Tensor(std::move(g)) : Tensor();
}
void Tensor::zero_grad(bool set_to_none, std::source_location at) {
  detail::zero_leaf_grad(checked_impl("zero_grad", at), set_to_none);
}
void Tensor::set_grad(const Tensor& g, std::source_location at) {
  auto& self = checked_impl("set_grad", at);
  if (g.defined() && g.shape() != self.shape)
    fail<ShapeError>(
        "set_grad", "the gradient must have the tensor's shape",
        tapegrad::to_string(g.shape()) + " for a tensor of shape " + tapegrad::to_string(self.shape), at);
  if (g.defined() && g.dtype() != self.dtype)
    fail<DTypeError>(
        "set_grad", "the gradient must have the tensor's dtype",
        std::string(dtype_name(g.dtype())) + " for a tensor of dtype " + std::string(dtype_name(self.dtype)),
        at);
  detail::store_leaf_grad(self, g.defined() ? g.impl_ptr() : nullptr);
}

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph, std::source_location at) const {
  detail::require_defined("backward", *this, at);
  tapegrad::backward({*this}, gradient.defined() ? std::vector<Tensor>{gradient} : std::vector<Tensor>{},
                     retain_graph, create_graph, at);
}

// ------------------------------------------------------------------ creation

namespace {
// The creation functions share one body, each naming itself (zeros reports "zeros", not "full").
Tensor filled(std::string_view op, const Shape& shape, double value, DType dtype, const std::source_location& at) {
  detail::require_sizes(op, shape, dtype, at);
  detail::require_representable(op, value, dtype, at);
  detail::OpScope scope(op, at);
  Tensor t = detail::new_tensor(shape, dtype);
  kernels::fill(t, value);
  return scope.finish(std::move(t));
}
}  // namespace

Tensor empty(Shape shape, DType dtype, std::source_location at) {
  detail::require_sizes("empty", shape, dtype, at);
  detail::OpScope scope("empty", at);
  return scope.finish(detail::new_tensor(shape, dtype));
}
Tensor full(Shape shape, double value, DType dtype, std::source_location at) {
  return filled("full", shape, value, dtype, at);
}
Tensor zeros(Shape shape, DType dtype, std::source_location at) { return filled("zeros", shape, 0.0, dtype, at); }
Tensor ones(Shape shape, DType dtype, std::source_location at) { return filled("ones", shape, 1.0, dtype, at); }
Tensor zeros_like(const Tensor& t, std::source_location at) {
  detail::require_defined("zeros_like", t, at);
  return filled("zeros_like", t.shape(), 0.0, t.dtype(), at);
}
Tensor ones_like(const Tensor& t, std::source_location at) {
  detail::require_defined("ones_like", t, at);
  return filled("ones_like", t.shape(), 1.0, t.dtype(), at);
}
Tensor full_like(const Tensor& t, double value, std::source_location at) {
  detail::require_defined("full_like", t, at);
  return filled("full_like", t.shape(), value, t.dtype(), at);
}
Tensor scalar(double value, DType dtype, std::source_location at) { return filled("scalar", {}, value, dtype, at); }

Tensor arange(double start, double end, double step, DType dtype, std::source_location at) {
  auto observed = [&] {
    std::ostringstream text;  // shortest form: 1e+30, not 31 digits
    text << "start " << start << ", end " << end << ", step " << step;
    return text.str();
  };
  if (step == 0.0 || !std::isfinite(start) || !std::isfinite(end) || !std::isfinite(step))
    fail<ValueError>("arange", "start, end and step must be finite and step non-zero", observed(), at);
  // The count is range-checked as a double, before the cast to int64 (which would be undefined).
  const double count = std::max(0.0, std::ceil((end - start) / step));
  if (!(count < 0x1p62)) fail<ValueError>("arange", "the number of elements must fit in int64", observed(), at);
  const auto n = static_cast<std::int64_t>(count);
  detail::require_sizes("arange", {n}, dtype, at);
  detail::require_representable("arange", start, dtype, at);
  if (n > 0) detail::require_representable("arange", start + static_cast<double>(n - 1) * step, dtype, at);
  detail::OpScope scope("arange", at);
  Tensor t = detail::new_tensor({n}, dtype);
  detail::dispatch(dtype, [&]<class T>() {
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + static_cast<double>(i) * step);
  });
  return scope.finish(std::move(t));
}
Tensor arange(double end, DType dtype, std::source_location at) { return arange(0.0, end, 1.0, dtype, at); }

Tensor linspace(double start, double end, std::int64_t steps, DType dtype, std::source_location at) {
  if (steps < 0) fail<ValueError>("linspace", "steps must be non-negative", std::to_string(steps), at);
  detail::require_sizes("linspace", {steps}, dtype, at);
  detail::require_representable("linspace", start, dtype, at);
  detail::require_representable("linspace", end, dtype, at);
  detail::OpScope scope("linspace", at);
  Tensor t = detail::new_tensor({steps}, dtype);
  detail::dispatch(dtype, [&]<class T>() {
    T* p = t.data<T>();
    const double delta = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
    // Symmetric evaluation (from both ends) so the last value is exactly `end`, like torch; one step
    // gives `start`, as in NumPy and torch.
    for (std::int64_t i = 0; i < steps; ++i)
      p[i] = static_cast<T>(i < steps / 2 || steps == 1 ? start + delta * static_cast<double>(i)
                                                        : end - delta * static_cast<double>(steps - 1 - i));
  });
  return scope.finish(std::move(t));
}

Tensor eye(std::int64_t n, std::int64_t m, DType dtype, std::source_location at) {
  if (n < 0 || m < -1)
    fail<ValueError>("eye", "n must be non-negative and m non-negative or -1 (same as n)",
                     "n " + std::to_string(n) + ", m " + std::to_string(m), at);
  if (m == -1) m = n;
  Tensor t = filled("eye", {n, m}, 0.0, dtype, at);
  detail::dispatch(dtype, [&]<class T>() {
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < std::min(n, m); ++i) p[i * m + i] = T(1);
  });
  return t;
}

namespace {
Tensor from_doubles(const std::vector<double>& values, const Shape& shape, DType dtype, const std::source_location& at) {
  for (double v : values) detail::require_representable("tensor", v, dtype, at);
  detail::OpScope scope("tensor", at);
  Tensor t = detail::new_tensor(shape, dtype);
  detail::dispatch(dtype, [&]<class T>() { std::copy(values.begin(), values.end(), t.data<T>()); });
  return scope.finish(std::move(t));
}
}  // namespace

NestedList::NestedList(std::initializer_list<NestedList> items) {
  shape_.push_back(static_cast<std::int64_t>(items.size()));
  if (items.size() == 0) return;
  const NestedList& first = *items.begin();
  shape_.insert(shape_.end(), first.shape_.begin(), first.shape_.end());
  values_.reserve(items.size() * first.values_.size());
  for (const NestedList& item : items) {
    if (ragged_.empty() && !item.ragged_.empty()) ragged_ = item.ragged_;  // the first reason found
    if (ragged_.empty() && item.shape_ != first.shape_)
      ragged_ = "items of shape " + to_string(first.shape_) + " and " + to_string(item.shape_) + " in a list";
    values_.insert(values_.end(), item.values_.begin(), item.values_.end());
  }
}

Tensor tensor(const NestedList& values, DType dtype, std::source_location at) {
  if (!values.ragged().empty())
    fail<ShapeError>("tensor", "nested lists must be rectangular", values.ragged(), at);
  return from_doubles(values.values(), values.shape(), dtype, at);
}

}  // namespace tapegrad
