// Error messages ("<op>: <rule>, got <observed> (at file:line)") and the argument checks every op
// shares: a defined tensor, a floating dtype.
#include "tapegrad/error.hpp"

#include <string>

#include "internal.hpp"

namespace tapegrad {

Error::Error(std::string_view op, std::string_view rule, std::string_view observed, const std::source_location& at)
    : std::runtime_error([&] {
        std::string text = std::string(op) + ": " + std::string(rule);
        if (!observed.empty()) text += ", got " + std::string(observed);
        std::string where = format_location(at);
        if (!where.empty()) text += " (at " + where + ")";
        return text;
      }()),
      op_(op),
      rule_(rule),
      observed_(observed),
      where_(format_location(at)) {}

std::string format_location(const std::source_location& at) {
  std::string_view file = at.file_name();
  if (file.empty() || at.line() == 0) return "";
  if (auto slash = file.find_last_of('/'); slash != std::string_view::npos) file.remove_prefix(slash + 1);
  return std::string(file) + ":" + std::to_string(at.line());
}

namespace detail {

void require_defined(std::string_view op, const Tensor& x, const std::source_location& at) {
  if (!x.defined()) fail<ValueError>(op, "the tensor must be defined", "an undefined (default-constructed) tensor", at);
}

void require_floating(std::string_view op, const Tensor& x, const std::source_location& at) {
  require_defined(op, x, at);
  if (!is_floating(x.dtype()))
    fail<DTypeError>(op, "input must have a floating dtype (float32 or float64)", std::string(dtype_name(x.dtype())), at);
}

}  // namespace detail

}  // namespace tapegrad
