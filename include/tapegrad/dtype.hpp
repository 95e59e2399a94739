// Element types and shapes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "tapegrad/small_vector.hpp"

namespace tapegrad {

enum class DType : std::uint8_t { float32, float64, int64 };

inline constexpr DType float32 = DType::float32;
inline constexpr DType float64 = DType::float64;
inline constexpr DType int64 = DType::int64;

constexpr std::size_t itemsize(DType d) { return d == DType::float32 ? 4 : 8; }
constexpr bool is_floating(DType d) { return d != DType::int64; }
constexpr std::string_view dtype_name(DType d) {
  switch (d) {
    case DType::float32: return "float32";
    case DType::float64: return "float64";
    case DType::int64: return "int64";
  }
  return "?";
}

// The C++ type of each dtype, and back.
template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::float64; };
template <> struct dtype_of<std::int64_t> { static constexpr DType value = DType::int64; };
template <class T> inline constexpr DType dtype_v = dtype_of<T>::value;

// Sizes of each axis, outermost first (row-major).
using Shape = SmallVector<std::int64_t, 6>;
// Element (not byte) steps between neighbours along each axis.
using Strides = SmallVector<std::int64_t, 6>;
// A set of axes; negative values count from the end. Empty means "all axes" for reductions.
using Axes = std::vector<std::int64_t>;

// "[2, 3]"
std::string to_string(const Shape& shape);
// The number of elements of a shape, and its row-major strides. ValueError when a size is negative or
// the count does not fit in int64.
std::int64_t numel_of(const Shape& shape, std::source_location at = std::source_location::current());
Strides contiguous_strides(const Shape& shape, std::source_location at = std::source_location::current());

}  // namespace tapegrad
