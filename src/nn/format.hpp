// Printing module options as PyTorch's extra_repr does (private to src/nn).
#pragma once

#include <charconv>
#include <string>

namespace tapegrad::nn::text {

// A double as Python's repr prints it: the shortest text that reads back the same, with ".0" on
// integral values ("0.01", "1.0", "1e-05", "inf").
inline std::string python_float(double value) {
  char buffer[32];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  std::string text(buffer, error == std::errc() ? end : buffer);
  if (text.find_first_of(".en") == std::string::npos) text += ".0";  // not 1e-05, inf, nan
  return text;
}

}  // namespace tapegrad::nn::text
