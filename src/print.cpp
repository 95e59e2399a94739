// Printing like PyTorch: nested brackets, a shared number format, "..." past 1,000 elements (three
// items at each edge), then the shape, dtype and requires_grad.
#include <cmath>
#include <cstdio>
#include <ostream>
#include <sstream>

#include "internal.hpp"
#include "kernels/copy.hpp"

namespace tapegrad {
namespace {

constexpr std::int64_t summarize_above = 1000;
constexpr std::int64_t edge_items = 3;

struct Format {
  bool integers = true;   // every value integral: print "1."
  bool scientific = false;
  int width = 1;
};

std::string format_value(double v, const Format& f, bool is_int64) {
  char buffer[64];
  if (is_int64) std::snprintf(buffer, sizeof buffer, "%lld", static_cast<long long>(v));
  else if (std::isnan(v)) std::snprintf(buffer, sizeof buffer, "nan");
  else if (std::isinf(v)) std::snprintf(buffer, sizeof buffer, v > 0 ? "inf" : "-inf");
  else if (f.scientific) std::snprintf(buffer, sizeof buffer, "%.4e", v);
  else if (f.integers) std::snprintf(buffer, sizeof buffer, "%.0f.", v);
  else std::snprintf(buffer, sizeof buffer, "%.4f", v);
  return buffer;
}

struct Printer {
  const std::vector<double>& values;
  const Shape& shape;
  Strides strides;
  Format format;
  bool is_int64;
  bool summarize;
  std::ostringstream out;

  void element(std::int64_t flat) {
    std::string text = format_value(values[static_cast<std::size_t>(flat)], format, is_int64);
    out << std::string(static_cast<std::size_t>(std::max<int>(0, format.width - static_cast<int>(text.size()))), ' ')
        << text;
  }

  void print(std::size_t axis, std::int64_t base, int indent) {
    if (axis == shape.size()) return element(base);
    const std::int64_t n = shape[axis];
    out << '[';
    bool last_axis = axis + 1 == shape.size();
    for (std::int64_t i = 0; i < n; ++i) {
      if (summarize && n > 2 * edge_items && i == edge_items) {
        out << (last_axis ? "..., " : "...,\n" + std::string(static_cast<std::size_t>(indent + 1), ' '));
        i = n - edge_items - 1;
        continue;
      }
      print(axis + 1, base + i * strides[axis], indent + 1);
      if (i + 1 < n) {
        if (last_axis) out << ", ";
        else out << ',' << std::string(shape.size() - axis - 1, '\n') << std::string(static_cast<std::size_t>(indent + 1), ' ');
      }
    }
    out << ']';
  }
};

}  // namespace

std::string Tensor::to_string() const {
  if (!defined()) return "tensor(undefined)";
  Tensor as_double = kernels::cast(*this, float64);
  std::vector<double> values = as_double.to_vector<double>();
  Printer p{values, shape(), contiguous_strides(shape()), {}, dtype() == int64, numel() > summarize_above, {}};
  double largest = 0, smallest = INFINITY;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    if (v != std::floor(v)) p.format.integers = false;
    largest = std::max(largest, std::abs(v));
    if (v != 0) smallest = std::min(smallest, std::abs(v));
  }
  p.format.scientific = !p.format.integers && (largest >= 1e8 || smallest < 1e-4);
  p.format.width = 1;
  for (double v : values) p.format.width = std::max<int>(p.format.width, static_cast<int>(format_value(v, p.format, p.is_int64).size()));
  p.out << "tensor(";
  if (dim() == 0) p.element(0);
  else p.print(0, 0, 7);
  p.out << ", shape=" << tapegrad::to_string(shape()) << ", dtype=" << dtype_name(dtype());
  if (requires_grad()) p.out << ", requires_grad=true";
  p.out << ')';
  return p.out.str();
}

std::ostream& operator<<(std::ostream& out, const Tensor& t) { return out << t.to_string(); }

}  // namespace tapegrad
