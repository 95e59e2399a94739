// Typed errors. Every message reads "<op>: <rule>, got <observed> (at file:line)", where the line is
// the user's call of the op.
#pragma once

#include <cstdint>
#include <source_location>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tapegrad {

class Error : public std::runtime_error {
 public:
  Error(std::string_view op, std::string_view rule, std::string_view observed, const std::source_location& at);

  const std::string& op() const noexcept { return op_; }
  const std::string& rule() const noexcept { return rule_; }
  const std::string& observed() const noexcept { return observed_; }
  // The user's call site, as "file:line" ("" when unknown).
  const std::string& where() const noexcept { return where_; }

 private:
  std::string op_, rule_, observed_, where_;
};

// Shapes that do not fit the op: broadcasting, matmul dimensions, axes, reshape sizes.
class ShapeError : public Error {
  using Error::Error;
};
// A dtype the op cannot take (an int64 tensor where a floating one is required, ...).
class DTypeError : public Error {
  using Error::Error;
};
// Misuse of the tape: backward through a released tape, a non-scalar backward without a gradient,
// a tensor saved for backward modified in place.
class GraphError : public Error {
  using Error::Error;
};
// Values out of their allowed range (negative sizes, indices out of bounds, bad options).
class ValueError : public Error {
  using Error::Error;
};
// A tensor too large to allocate: the message names the op, the bytes asked for and the user's line.
class OutOfMemoryError : public Error {
  using Error::Error;
};
// Anomaly mode (DetectAnomalyGuard in hooks.hpp) found NaN or infinity: in an op's forward output, or in
// a gradient its backward produced. op() and where() name the op and the user's line that called it.
class AnomalyError : public Error {
 public:
  AnomalyError(std::string_view op, std::string_view rule, std::string_view observed,
               const std::source_location& at, bool in_backward, std::uint64_t serial)
      : Error(op, rule, observed, at), in_backward_(in_backward), serial_(serial) {}
  bool in_backward() const noexcept { return in_backward_; }
  // The op's tape entry (0: the op was not recorded).
  std::uint64_t serial() const noexcept { return serial_; }

 private:
  bool in_backward_;
  std::uint64_t serial_;
};
// Reading or writing files.
class IoError : public Error {
  using Error::Error;
};

// "file.cpp:42" for a source location, "" when it is empty.
std::string format_location(const std::source_location& at);

}  // namespace tapegrad
