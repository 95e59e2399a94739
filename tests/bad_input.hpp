// The bad-input catalogue (Note [Bad-input catalogue] in test_bad_input.cpp): every public entry point,
// called with bad input, must raise its typed error naming the op and the caller's line, or give a
// defined result. The rows live in test_bad_input.cpp (tensor, creation, random, tape, function),
// test_bad_input_ops.cpp (the ops) and test_bad_input_api.cpp (method forms, comparisons, select, losses);
// a public function without a row fails the suite.
#pragma once

#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "helpers.hpp"

namespace bad_input {

using namespace tapegrad;

// The error a row expects (`oom`: OutOfMemoryError, a request too large to allocate).
enum class Expect { shape, dtype, graph, value, io, oom };

// One call with bad input. The call must be written on the same line as the row (the line the message
// must give).
struct Row {
  std::string entry;  // the public function, as the header parser names it ("zeros", "Tensor::sum")
  std::function<void()> call;
  Expect expect;
  std::string op;  // the op the message must start with
  std::string site;  // "test_bad_input.cpp:42", the caller's line every message must give
};

// A bad input that must not throw but give a defined result; `check` runs doctest CHECKs.
struct Outcome {
  std::string entry;
  std::string what;
  std::function<void()> check;
};

class Catalogue {
 public:
  void operator()(std::string_view entry, std::function<void()> call, Expect expect, std::string_view op,
                  std::source_location at = std::source_location::current()) {
    rows.push_back({std::string(entry), std::move(call), expect, std::string(op), format_location(at)});
  }
  void outcome(std::string_view entry, std::string_view what, std::function<void()> check) {
    outcomes.push_back({std::string(entry), std::string(what), std::move(check)});
  }
  // An entry point without a row, with the reason it cannot be given bad input.
  void exempt(std::string_view entry, std::string_view reason) {
    exemptions.emplace(std::string(entry), std::string(reason));
  }
  // A class whose members are not entry points (plain option structs, exceptions).
  void unwalked(std::string_view type) { unwalked_types.insert(std::string(type)); }
  std::vector<Row> rows;
  std::vector<Outcome> outcomes;
  std::map<std::string, std::string> exemptions;
  std::set<std::string> unwalked_types;
};

// Each area's rows live in its own file (test_bad_input_<area>.cpp), which registers its function at
// static initialisation:  static bad_input::Rows rows(&nn_rows);
// so adding an area touches no shared list.
struct Rows {
  explicit Rows(void (*add)(Catalogue&));
};

// Fixtures, small enough to keep each row on one line.
inline Tensor undef() { return Tensor(); }
inline Tensor f23() { return zeros({2, 3}); }                          // float32 [2, 3]
inline Tensor ints() { return arange(0.0, 4.0, 1.0, int64); }          // int64 [4]: 0 1 2 3
inline Tensor leaf() { return test::sample({3}); }                     // float64 [3], requires grad
inline Tensor huge_view() { return expand(zeros({1}), {1LL << 60}); }  // 2^60 float32 (2^62 bytes), no storage
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr std::int64_t big = 1LL << 62;  // big * big overflows int64
// 4 PiB of float32: more than any address space, so the allocation fails whatever the overcommit policy.
constexpr std::int64_t too_many_floats = 1LL << 50;

void tensor_rows(Catalogue& row);
void ops_rows(Catalogue& row);
void api_rows(Catalogue& row);  // test_bad_input_api.cpp

// The public functions declared in a header's text: free functions in namespace tapegrad (not detail),
// operators, and the public methods and constructors of its classes except those in `unwalked`, named
// "zeros", "operator+", "Tensor::sum" (overloads share a name).
// X-macro lists of functions (`#define LIST(X) X(name, ...) ...`, Note [Plain unary ops]): name -> entries.
using ListMacros = std::map<std::string, std::vector<std::string>>;
ListMacros list_macros(const std::string& text);
// `lists` expands each use of a list macro outside a #define into one declaration per entry.
std::vector<std::string> public_entry_points(const std::string& text, const std::set<std::string>& unwalked,
                                             const ListMacros& lists = {});
// Same, over every .hpp under dir, sorted and deduplicated.
std::vector<std::string> public_entry_points_in(const std::filesystem::path& dir,
                                                const std::set<std::string>& unwalked);

}  // namespace bad_input
