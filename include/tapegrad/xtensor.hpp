// Opt-in interop with xtensor: copy to and from xt::xarray, and adapt a tensor's buffer as an
// xtensor expression without copying. Including this pulls in xtensor (slow to compile); tapegrad.hpp
// never does, and linking needs nothing more than libtapegrad (Note [xtensor's place] in
// src/io/npy.cpp: why xtensor serves here and not as the kernel layer).
#pragma once

#include <cstdint>
#include <source_location>
#include <string>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>

#include "tapegrad/error.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad {

// A tensor holding a copy of the array's values (dtype from T: float, double or std::int64_t).
template <class T>
Tensor from_xarray(const xt::xarray<T>& array) {
  Shape shape(array.shape().begin(), array.shape().end());
  std::vector<T> values(array.begin(), array.end());  // row-major iteration order
  return from_vector<T>(values, shape);
}

namespace detail {
// t defined (ValueError) and of T's dtype (DTypeError), errors naming op, the function the user called.
template <class T>
void require_element_type(const char* op, const Tensor& t, const std::source_location& at) {
  if (!t.defined())
    throw ValueError(op, "the tensor must be defined", "an undefined (default-constructed) tensor", at);
  if (t.dtype() != dtype_v<T>)
    throw DTypeError(op, "the element type must match the dtype " + std::string(dtype_name(t.dtype())),
                     std::string(dtype_name(dtype_v<T>)), at);
}
}  // namespace detail

// A copy of the tensor's values as an xarray (T must match the dtype).
template <class T>
xt::xarray<T> to_xarray(const Tensor& t, std::source_location at = std::source_location::current()) {
  detail::require_element_type<T>("to_xarray", t, at);
  std::vector<T> values = t.to_vector<T>(at);
  std::vector<std::size_t> shape(t.shape().begin(), t.shape().end());
  xt::xarray<T> out(shape);
  std::copy(values.begin(), values.end(), out.begin());
  return out;
}

// An xtensor view of the tensor's elements, sharing its storage (honours strides, so transposes and
// slices work). Writing through it changes the tensor without bumping its version counter: do not
// use it on tensors saved for backward.
template <class T>
auto as_xview(Tensor& t, std::source_location at = std::source_location::current()) {
  detail::require_element_type<T>("as_xview", t, at);
  T* base = t.data<T>(at);
  std::vector<std::size_t> shape(t.shape().begin(), t.shape().end());
  std::vector<std::ptrdiff_t> strides(t.strides().begin(), t.strides().end());
  std::size_t span = 1;
  for (std::size_t i = 0; i < shape.size(); ++i)
    if (shape[i] > 0) span += (shape[i] - 1) * static_cast<std::size_t>(strides[i] < 0 ? 0 : strides[i]);
  if (t.numel() == 0) span = 0;
  return xt::adapt(base, span, xt::no_ownership(), shape, strides);
}

}  // namespace tapegrad
