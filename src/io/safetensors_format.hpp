// The safetensors format (../shared/REFERENCE.md "File formats"), apart from where its bytes come
// from: the header's rules, checked, and the header the writer writes. src/io/safetensors.cpp reads
// files and byte strings through it.
#pragma once

#include <cstdint>
#include <map>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "tapegrad/state_dict.hpp"

namespace tapegrad::detail::safetensors {

// The reference's limit (MAX_HEADER_SIZE in safetensors/src/tensor.rs).
constexpr std::uint64_t max_header_bytes = 100'000'000;
// Not the format's rule but ours: a shape of more axes is refused (numpy's limit is 32, the tape's 255).
constexpr std::size_t max_rank = 64;

// Who is reading what: every refusal is "<op>: <rule>, got <observed> (in <source>) (at user.cpp:N)".
struct Source {
  std::string_view op;      // the public function the user called
  std::string description;  // "file '/path/x.safetensors'" or "the bytes given"
  const std::source_location& at;
  [[noreturn]] void fail(std::string_view rule, const std::string& observed) const;
};

// The element types of the format.
struct Format {
  std::string_view name;  // "F32"
  std::size_t itemsize;
};

struct Entry {
  std::string name;
  const Format* format;
  Shape shape;
  std::uint64_t begin, end;  // in the data section, end exclusive
};

struct Layout {
  std::vector<Entry> entries;  // in the order of their offsets
  std::map<std::string, std::string> metadata;
  std::uint64_t data_start;  // 8 + N
};

// The header length N from the file's first 8 bytes (`prefix`, of which `available` were there),
// checked against the limit and the size of the whole file.
std::uint64_t header_length(const unsigned char* prefix, std::size_t available, std::uint64_t total_size,
                            const Source& source);
// Every rule of the format, for the N header bytes `text` of a file of `total_size` bytes.
Layout parse_header(std::string_view text, std::uint64_t total_size, const Source& source);

// The 8-byte length and the JSON header for `tensors` laid out in their order, padded with spaces to a
// multiple of 8 as the reference writer pads it. ValueError for a name or metadata that is not UTF-8,
// or a tensor named "__metadata__".
std::string header_for(std::string_view op, const StateDict& tensors,
                       const std::map<std::string, std::string>& metadata, const std::source_location& at);

// IEEE half and bfloat16 bits to float, exactly (subnormals, infinities and NaN payloads kept).
float half_to_float(std::uint16_t bits);
float bfloat16_to_float(std::uint16_t bits);

}  // namespace tapegrad::detail::safetensors
