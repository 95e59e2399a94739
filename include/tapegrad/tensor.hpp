// Tensor: an N-d, row-major view (shape, strides, offset) of a shared, reference-counted buffer, plus
// what the tape needs to know about it (does it require grad, which tape entry made it).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <source_location>
#include <span>
#include <string>
#include <vector>

#include "tapegrad/dtype.hpp"

namespace tapegrad {

namespace detail {

// A 64-byte-aligned buffer; small ones live inline, saving an allocation for tiny tensors.
// `version` counts in-place writes (Note [Version counter] in tape.cpp).
struct Storage {
  static constexpr std::size_t inline_bytes = 64;
  explicit Storage(std::size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data = nullptr;
  std::size_t bytes = 0;
  std::uint64_t version = 0;
  bool is_inline = false;
  unsigned char small[inline_bytes + 64];  // aligned to 64 inside (no over-aligned allocation)
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  std::int64_t offset = 0;  // in elements
  Shape shape;
  Strides strides;
  DType dtype = DType::float32;

  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // leaves only: the accumulated gradient
  // Where on a tape this tensor was made (tape_id == 0: a leaf or a constant).
  std::uint64_t tape_id = 0;
  std::uint64_t serial = 0;
  std::uint32_t output_index = 0;
};

}  // namespace detail

class Tensor;
std::ostream& operator<<(std::ostream& out, const Tensor& t);

class Tensor {
 public:
  Tensor() = default;  // undefined: holds no data
  explicit Tensor(std::shared_ptr<detail::TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  // The accessors of an undefined tensor raise ValueError naming themselves and the caller's line.
  const Shape& shape(std::source_location at = std::source_location::current()) const {
    return checked_impl("shape", at).shape;
  }
  const Strides& strides(std::source_location at = std::source_location::current()) const {
    return checked_impl("strides", at).strides;
  }
  DType dtype(std::source_location at = std::source_location::current()) const {
    return checked_impl("dtype", at).dtype;
  }
  std::int64_t dim(std::source_location at = std::source_location::current()) const {
    return static_cast<std::int64_t>(checked_impl("dim", at).shape.size());
  }
  // Size of one axis (negative counts from the end).
  std::int64_t size(std::int64_t axis, std::source_location at = std::source_location::current()) const;
  std::int64_t numel(std::source_location at = std::source_location::current()) const;
  std::int64_t offset(std::source_location at = std::source_location::current()) const;
  bool is_contiguous(std::source_location at = std::source_location::current()) const;

  // The value of a one-element tensor, converted to double (or T).
  double item(std::source_location at = std::source_location::current()) const;
  template <class T>
  T item(std::source_location at = std::source_location::current()) const;
  // A copy of all elements in row-major order; T must match dtype().
  template <class T>
  std::vector<T> to_vector(std::source_location at = std::source_location::current()) const;
  // Pointer to the first element (offset applied); T must match dtype(). Elements follow strides().
  template <class T>
  T* data(std::source_location at = std::source_location::current());
  template <class T>
  const T* data(std::source_location at = std::source_location::current()) const;

  // Copies (recorded on the tape: gradients flow through them).
  Tensor to(DType dtype, std::source_location at = std::source_location::current()) const;
  Tensor contiguous(std::source_location at = std::source_location::current()) const;
  Tensor clone(std::source_location at = std::source_location::current()) const;
  // Same data, no history, requires_grad false.
  Tensor detach(std::source_location at = std::source_location::current()) const;

  // --- autograd
  bool requires_grad(std::source_location at = std::source_location::current()) const {
    return checked_impl("requires_grad", at).requires_grad;
  }
  // Marks a leaf as one that receives gradients (floating dtypes only).
  Tensor& requires_grad_(bool on = true, std::source_location at = std::source_location::current());
  bool is_leaf(std::source_location at = std::source_location::current()) const;
  // The accumulated gradient of a leaf (undefined until a backward reaches it).
  Tensor grad(std::source_location at = std::source_location::current()) const;
  void zero_grad(std::source_location at = std::source_location::current());
  void set_grad(const Tensor& g);
  // Reverse-mode pass from this tensor. A non-scalar needs `gradient` (same shape).
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false,
                std::source_location at = std::source_location::current()) const;

  // --- in-place (not differentiable; they bump the version counter, so a later backward that
  // needs the old values raises GraphError instead of computing a wrong gradient)
  Tensor& fill_(double value, std::source_location at = std::source_location::current());
  Tensor& zero_(std::source_location at = std::source_location::current());
  Tensor& copy_(const Tensor& source, std::source_location at = std::source_location::current());
  Tensor& add_(const Tensor& other, double alpha = 1.0, std::source_location at = std::source_location::current());
  Tensor& mul_(double factor, std::source_location at = std::source_location::current());

  // --- method forms of common ops (see ops.hpp)
  Tensor sum(Axes axes = {}, bool keepdim = false, std::source_location at = std::source_location::current()) const;
  Tensor mean(Axes axes = {}, bool keepdim = false, std::source_location at = std::source_location::current()) const;
  Tensor reshape(Shape shape, std::source_location at = std::source_location::current()) const;
  Tensor view(Shape shape, std::source_location at = std::source_location::current()) const;
  Tensor transpose(std::int64_t axis0, std::int64_t axis1,
                   std::source_location at = std::source_location::current()) const;
  Tensor matmul(const Tensor& other, std::source_location at = std::source_location::current()) const;

  std::string to_string() const;

  // The implementation, for the kernels and the tape (not part of the stable API).
  detail::TensorImpl& impl() const {
    if (!impl_) throw_undefined("Tensor", {});
    return *impl_;
  }
  const std::shared_ptr<detail::TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  detail::TensorImpl& checked_impl(const char* op, const std::source_location& at) const {
    if (!impl_) throw_undefined(op, at);
    return *impl_;
  }
  [[noreturn]] static void throw_undefined(const char* op, const std::source_location& at);
  std::shared_ptr<detail::TensorImpl> impl_;
};

// --- creation (dtype defaults to float32)
Tensor empty(Shape shape, DType dtype = float32, std::source_location at = std::source_location::current());
Tensor zeros(Shape shape, DType dtype = float32, std::source_location at = std::source_location::current());
Tensor ones(Shape shape, DType dtype = float32, std::source_location at = std::source_location::current());
Tensor full(Shape shape, double value, DType dtype = float32,
            std::source_location at = std::source_location::current());
Tensor zeros_like(const Tensor& t, std::source_location at = std::source_location::current());
Tensor ones_like(const Tensor& t, std::source_location at = std::source_location::current());
Tensor full_like(const Tensor& t, double value, std::source_location at = std::source_location::current());
// 0-d tensor holding one value.
Tensor scalar(double value, DType dtype = float32, std::source_location at = std::source_location::current());
// [start, end) in steps of `step`, like torch.arange.
Tensor arange(double start, double end, double step = 1.0, DType dtype = float32,
              std::source_location at = std::source_location::current());
Tensor arange(double end, DType dtype = float32, std::source_location at = std::source_location::current());
Tensor linspace(double start, double end, std::int64_t steps, DType dtype = float32,
                std::source_location at = std::source_location::current());
// n x m identity; m = -1 means m = n.
Tensor eye(std::int64_t n, std::int64_t m = -1, DType dtype = float32,
           std::source_location at = std::source_location::current());

// From nested initializer lists: tensor({1, 2}), tensor({{1, 2}, {3, 4}}, float64).
using List1 = std::initializer_list<double>;
using List2 = std::initializer_list<List1>;
using List3 = std::initializer_list<List2>;
Tensor tensor(List1 values, DType dtype = float32, std::source_location at = std::source_location::current());
Tensor tensor(List2 values, DType dtype = float32, std::source_location at = std::source_location::current());
Tensor tensor(List3 values, DType dtype = float32, std::source_location at = std::source_location::current());
// From a flat vector and a shape (copied).
template <class T>
Tensor from_vector(const std::vector<T>& values, Shape shape,
                   std::source_location at = std::source_location::current());

// --- explicit instantiations live in tensor.cpp for float, double, std::int64_t
extern template float Tensor::item<float>(std::source_location) const;
extern template double Tensor::item<double>(std::source_location) const;
extern template std::int64_t Tensor::item<std::int64_t>(std::source_location) const;
extern template std::vector<float> Tensor::to_vector<float>(std::source_location) const;
extern template std::vector<double> Tensor::to_vector<double>(std::source_location) const;
extern template std::vector<std::int64_t> Tensor::to_vector<std::int64_t>(std::source_location) const;
extern template float* Tensor::data<float>(std::source_location);
extern template double* Tensor::data<double>(std::source_location);
extern template std::int64_t* Tensor::data<std::int64_t>(std::source_location);
extern template const float* Tensor::data<float>(std::source_location) const;
extern template const double* Tensor::data<double>(std::source_location) const;
extern template const std::int64_t* Tensor::data<std::int64_t>(std::source_location) const;
extern template Tensor from_vector<float>(const std::vector<float>&, Shape, std::source_location);
extern template Tensor from_vector<double>(const std::vector<double>&, Shape, std::source_location);
extern template Tensor from_vector<std::int64_t>(const std::vector<std::int64_t>&, Shape, std::source_location);

}  // namespace tapegrad
