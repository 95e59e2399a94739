// Tensor: an N-d, row-major view (shape, strides, offset) of a shared, reference-counted buffer, plus
// what the tape needs to know about it (does it require grad, which tape entry made it).
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <source_location>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "tapegrad/dtype.hpp"
#include "tapegrad/here.hpp"

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

// An axis given as one integer (not a braced list of axes): max(x, 1) vs max(x, {1}).
template <class T>
concept axis_index = std::integral<T> && !std::same_as<T, bool>;

}  // namespace detail

class Tensor;
struct ValuesIndices;  // ops/reduce.hpp
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
  // PyTorch's zero_grad: set_to_none drops the gradient (grad() is undefined until the next
  // backward); false zeroes it, in place when no one else holds it (Note [Leaf gradients]).
  // grad, zero_grad and set_grad may run while a backward on another thread adds into this leaf.
  void zero_grad(bool set_to_none = true, std::source_location at = std::source_location::current());
  // Replaces the gradient (undefined clears it); g must have this tensor's shape and dtype.
  void set_grad(const Tensor& g, std::source_location at = std::source_location::current());
  // Reverse-mode pass from this tensor. A non-scalar needs `gradient` (same shape). create_graph
  // records the pass, for higher-order gradients (tapegrad::backward in tape.hpp).
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false, bool create_graph = false,
                std::source_location at = std::source_location::current()) const;

  // --- in-place (not differentiable; they bump the version counter, so a later backward that
  // needs the old values raises GraphError instead of computing a wrong gradient)
  Tensor& fill_(double value, std::source_location at = std::source_location::current());
  Tensor& zero_(std::source_location at = std::source_location::current());
  Tensor& copy_(const Tensor& source, std::source_location at = std::source_location::current());
  // add_: self += alpha * other (other broadcast to self's shape); mul_: self *= factor. As in PyTorch,
  // the result's dtype must fit self's: an int64 tensor takes no floating other, alpha or factor.
  Tensor& add_(const Tensor& other, double alpha = 1.0, std::source_location at = std::source_location::current());
  Tensor& mul_(double factor, std::source_location at = std::source_location::current());

  // --- method forms of common ops (src/ops/methods.cpp; the free functions in ops/*.hpp say what they do)
  Tensor sum(Axes axes = {}, bool keepdim = false, std::source_location at = std::source_location::current()) const;
  Tensor mean(Axes axes = {}, bool keepdim = false, std::source_location at = std::source_location::current()) const;
  Tensor reshape(Shape shape, std::source_location at = std::source_location::current()) const;
  Tensor view(Shape shape, std::source_location at = std::source_location::current()) const;
  Tensor transpose(std::int64_t axis0, std::int64_t axis1,
                   std::source_location at = std::source_location::current()) const;
  Tensor matmul(const Tensor& other, std::source_location at = std::source_location::current()) const;

  // --- more method forms, PyTorch's names (src/ops/methods.cpp; the free functions say what they do)
  Tensor add(const Tensor& other, Here at = Here::current()) const;
  Tensor sub(const Tensor& other, Here at = Here::current()) const;
  Tensor mul(const Tensor& other, Here at = Here::current()) const;
  Tensor div(const Tensor& other, Here at = Here::current()) const;
  Tensor neg(Here at = Here::current()) const;
  Tensor exp(Here at = Here::current()) const;
  Tensor log(Here at = Here::current()) const;
  Tensor sqrt(Here at = Here::current()) const;
  Tensor abs(Here at = Here::current()) const;
  Tensor relu(Here at = Here::current()) const;
  Tensor sigmoid(Here at = Here::current()) const;
  Tensor tanh(Here at = Here::current()) const;
  Tensor pow(double exponent, Here at = Here::current()) const;
  Tensor pow(const Tensor& exponent, Here at = Here::current()) const;
  Tensor clamp(double low, double high, Here at = Here::current()) const;
  Tensor clamp_min(double low, Here at = Here::current()) const;
  Tensor clamp_max(double high, Here at = Here::current()) const;
  Tensor eq(const Tensor& other, Here at = Here::current()) const;
  Tensor ne(const Tensor& other, Here at = Here::current()) const;
  Tensor lt(const Tensor& other, Here at = Here::current()) const;
  Tensor le(const Tensor& other, Here at = Here::current()) const;
  Tensor gt(const Tensor& other, Here at = Here::current()) const;
  Tensor ge(const Tensor& other, Here at = Here::current()) const;
  Tensor var(Axes axes = {}, std::int64_t correction = 1, bool keepdim = false, Here at = Here::current()) const;
  Tensor max(Axes axes = {}, bool keepdim = false, Here at = Here::current()) const;
  Tensor min(Axes axes = {}, bool keepdim = false, Here at = Here::current()) const;
  // x.max(1) like torch: values and indices along one axis (defined in ops/reduce.hpp).
  template <detail::axis_index Axis>
  ValuesIndices max(Axis axis, bool keepdim = false, Here at = Here::current()) const;
  template <detail::axis_index Axis>
  ValuesIndices min(Axis axis, bool keepdim = false, Here at = Here::current()) const;
  // One axis as a plain integer, as PyTorch users write it: x.sum(1), x.mean(-1, true), x.squeeze(0).
  template <detail::axis_index Axis>
  Tensor sum(Axis axis, bool keepdim = false, Here at = Here::current()) const {
    return sum(Axes{static_cast<std::int64_t>(axis)}, keepdim, at);
  }
  template <detail::axis_index Axis>
  Tensor mean(Axis axis, bool keepdim = false, Here at = Here::current()) const {
    return mean(Axes{static_cast<std::int64_t>(axis)}, keepdim, at);
  }
  template <detail::axis_index Axis>
  Tensor var(Axis axis, std::int64_t correction = 1, bool keepdim = false, Here at = Here::current()) const {
    return var(Axes{static_cast<std::int64_t>(axis)}, correction, keepdim, at);
  }
  template <detail::axis_index Axis>
  Tensor logsumexp(Axis axis, bool keepdim = false, Here at = Here::current()) const {
    return logsumexp(Axes{static_cast<std::int64_t>(axis)}, keepdim, at);
  }
  template <detail::axis_index Axis>
  Tensor squeeze(Axis axis, Here at = Here::current()) const {
    return squeeze(Axes{static_cast<std::int64_t>(axis)}, at);
  }
  Tensor argmax(std::optional<std::int64_t> axis = std::nullopt, bool keepdim = false, Here at = Here::current()) const;
  Tensor argmin(std::optional<std::int64_t> axis = std::nullopt, bool keepdim = false, Here at = Here::current()) const;
  Tensor logsumexp(Axes axes = {}, bool keepdim = false, Here at = Here::current()) const;
  Tensor softmax(std::int64_t axis = -1, Here at = Here::current()) const;
  Tensor log_softmax(std::int64_t axis = -1, Here at = Here::current()) const;
  Tensor unsqueeze(std::int64_t axis, Here at = Here::current()) const;
  Tensor squeeze(Axes axes = {}, Here at = Here::current()) const;
  Tensor flatten(std::int64_t start_axis = 0, std::int64_t end_axis = -1, Here at = Here::current()) const;
  Tensor permute(Axes order, Here at = Here::current()) const;
  // The transpose of a matrix; 0-d and 1-d tensors come back as they are, more axes are a ShapeError.
  Tensor t(Here at = Here::current()) const;
  Tensor expand(Shape shape, Here at = Here::current()) const;
  Tensor narrow(std::int64_t axis, std::int64_t start, std::int64_t length, Here at = Here::current()) const;
  Tensor slice(std::int64_t axis, std::int64_t start, std::int64_t end, std::int64_t step = 1,
               Here at = Here::current()) const;
  Tensor select(std::int64_t axis, std::int64_t index, Here at = Here::current()) const;
  Tensor index_select(std::int64_t axis, const Tensor& index, Here at = Here::current()) const;
  Tensor gather(std::int64_t axis, const Tensor& index, Here at = Here::current()) const;

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

// A number or a braced list of NestedLists, any depth. One recursive type (libtorch's
// TensorDataContainer) rather than an overload per depth, so a braced list always means a list:
// {{1.0}, {2.0}} is [2, 1] and {{1.0}} is [1, 1], where initializer_list<double> overloads would
// also take {1.0} for a number and be ambiguous. Each level flattens its items when it is built.
class NestedList {
 public:
  NestedList() : shape_{0} {}  // {}: an empty list
  template <class T>
    requires std::is_arithmetic_v<T>
  NestedList(T value) : values_{static_cast<double>(value)} {}
  NestedList(std::initializer_list<NestedList> items);

  const Shape& shape() const { return shape_; }
  const std::vector<double>& values() const { return values_; }
  // Why the items are not rectangular, or empty when they are.
  const std::string& ragged() const { return ragged_; }

 private:
  Shape shape_;
  std::vector<double> values_;
  std::string ragged_;
};

// From nested braced lists, like torch.tensor: tensor({1, 2}) is [2], tensor({{1.0}, {2.0}}, float64)
// is [2, 1], tensor(3.0) is 0-d. The lists must be rectangular (ShapeError).
Tensor tensor(const NestedList& values, DType dtype = float32,
              std::source_location at = std::source_location::current());
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
