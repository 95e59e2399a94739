// Typed options <-> a group's Options (optim/optimizer.hpp). Each optimiser lists its options struct's
// fields once, in a `fields(options, f)` function beside it, calling f(name, member) for each member;
// these helpers convert both ways through that list.
#pragma once

#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

#include "internal.hpp"
#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim::detail {

template <class O>
Options to_options(O typed) {
  Options options;
  fields(typed, [&](const char* name, auto& value) { options.emplace_back(name, static_cast<double>(value)); });
  return options;
}

// The group's options hold the fields in the order fields() lists them (they were made by to_options,
// and loading writes by name into them).
template <class O>
O from_options(const Options& options) {
  O typed;
  std::size_t i = 0;
  fields(typed, [&](const char*, auto& value) {
    value = static_cast<std::remove_reference_t<decltype(value)>>(options[i++].second);
  });
  return typed;
}

}  // namespace tapegrad::optim::detail

namespace tapegrad::optim::detail {

inline std::string format_number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// ValueError unless low <= value (NaN fails), as PyTorch's "Invalid learning rate: -1".
inline void require_at_least(std::string_view op, std::string_view name, double value, double low, const Here& at) {
  if (!(value >= low))
    tapegrad::detail::fail<ValueError>(op, "option " + std::string(name) + " must be >= " + format_number(low),
                                       std::string(name) + "=" + format_number(value), at);
}
// ValueError unless 0 <= value < 1 (a beta, a momentum factor of OneCycleLR).
inline void require_unit(std::string_view op, std::string_view name, double value, const Here& at) {
  if (!(value >= 0.0 && value < 1.0))
    tapegrad::detail::fail<ValueError>(op, "option " + std::string(name) + " must be in [0, 1)",
                                       std::string(name) + "=" + format_number(value), at);
}

}  // namespace tapegrad::optim::detail

namespace tapegrad::optim::detail {

// Note [Branch-free update loops]: the compiler vectorises a loop only without control flow inside, so
// an update's options (weight decay on or off, amsgrad, a momentum buffer, ...) become compile-time
// flags: with_flags(f, a, b) calls f(std::bool_constant<a>{}, std::bool_constant<b>{}), and f's loop
// tests them with `if constexpr`. Each combination is a loop of its own.
template <class F>
decltype(auto) with_flags(F&& f) {
  return f();
}
template <class F, class... Rest>
decltype(auto) with_flags(F&& f, bool first, Rest... rest) {
  if (first) return with_flags([&](auto... flags) { return f(std::true_type{}, flags...); }, rest...);
  return with_flags([&](auto... flags) { return f(std::false_type{}, flags...); }, rest...);
}

}  // namespace tapegrad::optim::detail
