// The safetensors header: read and checked against every rule of the format, and written.
//
// Note [A header reader of our own]: the header is read by the small reader below, not by a JSON
// library. The format's header has a fixed shape (an object of objects of strings and integer
// lists, nothing deeper), so the reader follows that shape and refuses anything else where it
// stands: no recursion, no document tree, nothing allocated but the names, shapes and metadata it
// returns, each bounded by the header's own bytes (a nesting bomb is refused at its first '[', a
// 2^63-byte header length before anything is read). It is as strict as the reference loader
// (safetensors/src/tensor.rs: UTF-8, the 100 MB limit, integers that fit, offsets that tile the
// data section) and stricter where that one is lenient by accident: duplicate names and keys,
// unknown keys in a tensor's entry, and a header not starting with '{' are refused.
#include "io/safetensors_format.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "internal.hpp"
#include "io/common.hpp"

namespace tapegrad::detail::safetensors {

namespace {

// The reference's dtypes and their sizes. (Newer writers have sub-byte dtypes such as F4: unknown here.)
constexpr Format formats[] = {{"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
                              {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
                              {"U32", 4},  {"F32", 4}, {"F64", 8}, {"I64", 8},     {"U64", 8}};

std::string dtype_list() {
  std::string names;
  for (const Format& f : formats) names += (names.empty() ? "" : ", ") + std::string(f.name);
  return names;
}

// The offset of the first byte that breaks UTF-8 (overlong forms, surrogates and code points past
// U+10FFFF included), or npos.
std::size_t invalid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto byte = static_cast<unsigned char>(s[i]);
    if (byte < 0x80) {
      ++i;
      continue;
    }
    int length = 0;
    std::uint32_t code = 0, least = 0;
    if ((byte & 0xe0) == 0xc0) {
      length = 2, code = byte & 0x1f, least = 0x80;
    } else if ((byte & 0xf0) == 0xe0) {
      length = 3, code = byte & 0x0f, least = 0x800;
    } else if ((byte & 0xf8) == 0xf0) {
      length = 4, code = byte & 0x07, least = 0x10000;
    } else {
      return i;
    }
    if (s.size() - i < static_cast<std::size_t>(length)) return i;
    for (int k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((next & 0xc0) != 0x80) return i;
      code = code << 6 | (next & 0x3f);
    }
    if (code < least || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return i;
    i += static_cast<std::size_t>(length);
  }
  return std::string_view::npos;
}

void append_utf8(std::string& out, std::uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xc0 | code >> 6);
    out += static_cast<char>(0x80 | (code & 0x3f));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xe0 | code >> 12);
    out += static_cast<char>(0x80 | (code >> 6 & 0x3f));
    out += static_cast<char>(0x80 | (code & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | code >> 18);
    out += static_cast<char>(0x80 | (code >> 12 & 0x3f));
    out += static_cast<char>(0x80 | (code >> 6 & 0x3f));
    out += static_cast<char>(0x80 | (code & 0x3f));
  }
}

std::string offsets_text(std::uint64_t begin, std::uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

// Reads the header's JSON in the one shape the format allows (Note [A header reader of our own]).
class HeaderReader {
 public:
  HeaderReader(std::string_view text, const Source& source) : text_(text), source_(source) {}

  Layout read() {
    Layout layout;
    if (text_.empty() || text_[0] != '{') source_.fail("the header must be a JSON object starting with '{'", rest());
    ++pos_;
    bool seen_metadata = false;
    if (skip_space() == '}') {
      ++pos_;
    } else {
      while (true) {
        std::string name = string("the header's keys (the tensors' names) must be strings");
        expect(':', "a ':' after each name");
        if (name == "__metadata__") {
          if (seen_metadata) source_.fail("tensor names must be unique", "'__metadata__' twice");
          seen_metadata = true;
          layout.metadata = metadata();
        } else {
          layout.entries.push_back(entry(std::move(name)));
        }
        const char c = skip_space();
        ++pos_;
        if (c == '}') break;
        if (c != ',') malformed("a ',' or '}' after each entry", pos_ - 1);
      }
    }
    skip_space();
    if (pos_ < text_.size()) source_.fail("the header must end after its object (spaces may pad it)", rest());
    return layout;
  }

 private:
  [[noreturn]] void malformed(std::string_view expected, std::size_t at) const {
    source_.fail("the header must be valid JSON: " + std::string(expected), where(at));
  }
  std::string where(std::size_t at) const {
    at = std::min(at, text_.size());
    return in_quotes(text_.substr(at)) + " at byte " + std::to_string(at) + " of the header";
  }
  std::string rest() const { return where(pos_); }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  char skip_space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
    return peek();
  }
  void expect(char c, std::string_view what) {
    if (skip_space() != c) malformed(what, pos_);
    ++pos_;
  }

  // A JSON string, unescaped. The header was checked to be UTF-8 as a whole.
  std::string string(std::string_view rule) {
    if (skip_space() != '"') source_.fail(rule, rest());
    const std::size_t start = pos_++;
    std::string out;
    while (true) {
      const std::size_t stop = text_.find_first_of("\"\\", pos_);
      if (stop == std::string_view::npos) malformed("a closing '\"'", start);
      for (std::size_t i = pos_; i < stop; ++i)
        if (static_cast<unsigned char>(text_[i]) < 0x20) malformed("an escape for each control character", i);
      out.append(text_.substr(pos_, stop - pos_));
      pos_ = stop + 1;
      if (text_[stop] == '"') return out;
      escape(out);
    }
  }
  void escape(std::string& out) {
    const char c = peek();
    ++pos_;
    switch (c) {
      case '"':
        out += '"';
        return;
      case '\\':
        out += '\\';
        return;
      case '/':
        out += '/';
        return;
      case 'b':
        out += '\b';
        return;
      case 'f':
        out += '\f';
        return;
      case 'n':
        out += '\n';
        return;
      case 'r':
        out += '\r';
        return;
      case 't':
        out += '\t';
        return;
      case 'u':
        break;
      default:
        malformed("a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)", pos_ - 2);
    }
    std::uint32_t code = hex4();
    if (code >= 0xdc00 && code <= 0xdfff) malformed("no unpaired surrogate in \\u escapes", pos_ - 6);
    if (code >= 0xd800 && code <= 0xdbff) {
      if (text_.substr(pos_, 2) != "\\u") malformed("no unpaired surrogate in \\u escapes", pos_ - 6);
      pos_ += 2;
      const std::uint32_t low = hex4();
      if (low < 0xdc00 || low > 0xdfff) malformed("no unpaired surrogate in \\u escapes", pos_ - 12);
      code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
    }
    append_utf8(out, code);
  }
  std::uint32_t hex4() {
    std::uint32_t code = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = peek();
      const int digit = h >= '0' && h <= '9'   ? h - '0'
                        : h >= 'a' && h <= 'f' ? h - 'a' + 10
                        : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                               : -1;
      if (digit < 0) malformed("four hex digits after \\u", pos_);
      code = code << 4 | static_cast<std::uint32_t>(digit);
      ++pos_;
    }
    return code;
  }

  // A JSON integer >= 0 that fits in `limit`; `what` names it in the rule.
  std::uint64_t integer(const std::string& what, std::uint64_t limit) {
    const char first = skip_space();
    if (first == '-') source_.fail(what + " must be integers >= 0", rest());
    if (first < '0' || first > '9') source_.fail(what + " must be integers", rest());
    const std::size_t start = pos_;
    std::uint64_t value = 0;
    bool fits = true;
    while (peek() >= '0' && peek() <= '9') {
      const auto digit = static_cast<std::uint64_t>(text_[pos_++] - '0');
      fits = fits && value <= (limit - digit) / 10;
      if (fits) value = value * 10 + digit;
    }
    if (first == '0' && pos_ - start > 1) malformed("no leading zeros in numbers", start);
    if (peek() == '.' || peek() == 'e' || peek() == 'E') source_.fail(what + " must be integers", where(start));
    if (!fits) source_.fail(what + " must be at most " + std::to_string(limit), where(start));
    return value;
  }

  std::map<std::string, std::string> metadata() {
    const char* rule = "__metadata__ must be an object of strings to strings";
    std::map<std::string, std::string> out;
    if (skip_space() != '{') source_.fail(rule, rest());
    ++pos_;
    if (skip_space() == '}') {
      ++pos_;
      return out;
    }
    while (true) {
      std::string key = string(rule);
      expect(':', "a ':' after each key");
      std::string value = string(rule);
      const auto [it, inserted] = out.emplace(std::move(key), std::move(value));
      if (!inserted) source_.fail("__metadata__'s keys must be unique", in_quotes(it->first) + " twice");
      const char c = skip_space();
      ++pos_;
      if (c == '}') return out;
      if (c != ',') malformed("a ',' or '}' after each key and value", pos_ - 1);
    }
  }

  Entry entry(std::string name) {
    const std::string of = " for " + in_quotes(name);
    if (skip_space() != '{')
      source_.fail("each entry but __metadata__ must be an object {dtype, shape, data_offsets}", rest() + of);
    ++pos_;
    Entry e{std::move(name), nullptr, {}, 0, 0};
    bool seen[3] = {};
    if (skip_space() != '}') {
      while (true) {
        const std::string key = string("a tensor's keys must be strings");
        expect(':', "a ':' after each key");
        const int which = key == "dtype" ? 0 : key == "shape" ? 1 : key == "data_offsets" ? 2 : -1;
        if (which < 0)
          source_.fail("a tensor's entry must have the keys dtype, shape and data_offsets only", in_quotes(key) + of);
        if (seen[which]) source_.fail("a tensor's keys must be unique", in_quotes(key) + " twice" + of);
        seen[which] = true;
        if (which == 0) e.format = dtype(of);
        if (which == 1) e.shape = shape(of);
        if (which == 2) offsets(e, of);
        const char c = skip_space();
        if (c == '}') break;
        if (c != ',') malformed("a ',' or '}' after each key and value", pos_);
        ++pos_;
      }
    }
    ++pos_;
    for (int k = 0; k < 3; ++k)
      if (!seen[k])
        source_.fail("a tensor's entry must give dtype, shape and data_offsets", std::string("no ") +
                                                                                     (k == 0   ? "dtype"
                                                                                      : k == 1 ? "shape"
                                                                                               : "data_offsets") +
                                                                                     of);
    return e;
  }
  const Format* dtype(const std::string& of) {
    const std::string name = string("dtype must be a string");
    for (const Format& f : formats)
      if (f.name == name) return &f;
    source_.fail("dtype must be one of " + dtype_list(), in_quotes(name) + of);
  }
  Shape shape(const std::string& of) {
    Shape shape;
    if (skip_space() != '[') source_.fail("shape must be a list of sizes", rest() + of);
    ++pos_;
    if (skip_space() == ']') {
      ++pos_;
      return shape;
    }
    while (true) {
      shape.push_back(static_cast<std::int64_t>(
          integer("shape entries", static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))));
      if (shape.size() > max_rank)
        source_.fail("a shape must have at most " + std::to_string(max_rank) + " axes", "more" + of);
      const char c = skip_space();
      ++pos_;
      if (c == ']') return shape;
      if (c != ',') malformed("a ',' or ']' in shape", pos_ - 1);
    }
  }
  void offsets(Entry& e, const std::string& of) {
    const char* rule = "data_offsets must be [begin, end]";
    if (skip_space() != '[') source_.fail(rule, rest() + of);
    ++pos_;
    e.begin = integer("data_offsets", std::numeric_limits<std::uint64_t>::max());
    if (skip_space() != ',') source_.fail(rule, rest() + of);
    ++pos_;
    e.end = integer("data_offsets", std::numeric_limits<std::uint64_t>::max());
    if (skip_space() != ']') source_.fail(rule, rest() + of);
    ++pos_;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  const Source& source_;
};

// The rules between the entries and the data section: offsets in bounds, sorted, tiling it.
void check_offsets(Layout& layout, std::uint64_t data_bytes, const Source& source) {
  auto& entries = layout.entries;
  {
    std::vector<const std::string*> names;
    names.reserve(entries.size());
    for (const Entry& e : entries) names.push_back(&e.name);
    std::sort(names.begin(), names.end(), [](auto* a, auto* b) { return *a < *b; });
    auto twice = std::adjacent_find(names.begin(), names.end(), [](auto* a, auto* b) { return *a == *b; });
    if (twice != names.end()) source.fail("tensor names must be unique", in_quotes(**twice) + " twice");
  }
  for (const Entry& e : entries) {
    const std::string of = " for " + in_quotes(e.name);
    if (e.begin > e.end)
      source.fail("data_offsets must be [begin, end] with begin <= end", offsets_text(e.begin, e.end) + of);
    std::uint64_t numel = 1, bytes = 0;
    bool overflow = false;
    for (auto size : e.shape)
      overflow = overflow || __builtin_mul_overflow(numel, static_cast<std::uint64_t>(size), &numel);
    if (overflow || __builtin_mul_overflow(numel, e.format->itemsize, &bytes))
      source.fail("a shape's element count times the itemsize must fit in 64 bits",
                  to_string(e.shape) + " of " + std::string(e.format->name) + of);
    if (e.end - e.begin != bytes)
      source.fail("a tensor's end - begin must be numel x itemsize",
                  std::to_string(e.end - e.begin) + " bytes for " + to_string(e.shape) + " of " +
                      std::string(e.format->name) + " (" + std::to_string(bytes) + " bytes)" + of);
    if (e.end > data_bytes)
      source.fail("data_offsets must lie in the data section",
                  offsets_text(e.begin, e.end) + of + " in a data section of " + std::to_string(data_bytes) + " bytes");
  }
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    if (e.begin > covered)
      source.fail("the tensors' data must leave no holes", "bytes [" + std::to_string(covered) + ", " +
                                                               std::to_string(e.begin) + ") unused before " +
                                                               in_quotes(e.name));
    if (e.begin < covered)
      source.fail("the tensors' data must not overlap", in_quotes(e.name) + " at " + offsets_text(e.begin, e.end) +
                                                            " overlaps " + in_quotes(previous->name) + " at " +
                                                            offsets_text(previous->begin, previous->end));
    covered = e.end;
    previous = &e;
  }
  if (covered != data_bytes)
    source.fail("8 + N + the last tensor's end must be the file's size",
                std::to_string(data_bytes - covered) + " bytes after the last tensor's data");
}

void append_quoted(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (char c : s) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (byte < 0x20) {
          out += "\\u00";
          out += hex[byte >> 4];
          out += hex[byte & 15];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace

void Source::fail(std::string_view rule, const std::string& observed) const {
  detail::fail<IoError>(op, rule, observed + " in " + description, at);
}

std::uint64_t header_length(const unsigned char* prefix, std::size_t available, std::uint64_t total_size,
                            const Source& source) {
  if (available < 8)
    source.fail("a safetensors file must start with its 8-byte header length", std::to_string(total_size) + " bytes");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | prefix[i];
  if (n > max_header_bytes)
    source.fail("the header must be at most " + std::to_string(max_header_bytes) + " bytes",
                std::to_string(n) + " bytes");
  if (n > total_size - 8)
    source.fail("the header must lie within the file",
                "a header of " + std::to_string(n) + " bytes in " + std::to_string(total_size) + " bytes");
  return n;
}

Layout parse_header(std::string_view text, std::uint64_t total_size, const Source& source) {
  if (const std::size_t bad = invalid_utf8(text); bad != std::string_view::npos)
    source.fail("the header must be UTF-8",
                "a byte " + in_quotes(text.substr(bad, 1)) + " at byte " + std::to_string(bad) + " of the header");
  Layout layout = HeaderReader(text, source).read();
  layout.data_start = 8 + text.size();
  check_offsets(layout, total_size - layout.data_start, source);
  return layout;
}

std::string header_for(std::string_view op, const StateDict& tensors,
                       const std::map<std::string, std::string>& metadata, const std::source_location& at) {
  auto require_utf8 = [&](const std::string& s, const char* what) {
    if (invalid_utf8(s) != std::string_view::npos)
      detail::fail<ValueError>(op, std::string(what) + " must be UTF-8 (the header is JSON)", in_quotes(s), at);
  };
  std::string json = "{";
  if (!metadata.empty()) {
    json += "\"__metadata__\":{";
    for (const auto& [key, value] : metadata) {
      require_utf8(key, "metadata keys");
      require_utf8(value, "metadata values");
      if (json.back() != '{') json += ',';
      append_quoted(json, key);
      json += ':';
      append_quoted(json, value);
    }
    json += '}';
  }
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    require_utf8(name, "tensor names");
    if (name == "__metadata__")
      detail::fail<ValueError>(op, "no tensor may be named __metadata__ (the format's key for metadata)",
                               "'__metadata__'", at);
    if (json.size() > 1) json += ',';
    append_quoted(json, name);
    json += t.dtype() == float32   ? R"(:{"dtype":"F32","shape":[)"
            : t.dtype() == float64 ? R"(:{"dtype":"F64","shape":[)"
                                   : R"(:{"dtype":"I64","shape":[)";
    for (std::size_t k = 0; k < t.shape().size(); ++k) json += (k ? "," : "") + std::to_string(t.shape()[k]);
    const auto bytes = static_cast<std::uint64_t>(t.numel()) * itemsize(t.dtype());
    json += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  json += '}';
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>(json.size() >> (8 * i) & 0xff);
  return out + json;
}

float half_to_float(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000) << 16;
  const std::uint32_t exponent = bits >> 10 & 0x1f, mantissa = bits & 0x3ff;
  if (exponent == 0) {  // zero or subnormal: mantissa x 2^-24, exact in float
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000u | mantissa << 13);  // inf, NaN (payload kept)
  return std::bit_cast<float>(sign | (exponent + 112) << 23 | mantissa << 13);
}

float bfloat16_to_float(std::uint16_t bits) { return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16); }

}  // namespace tapegrad::detail::safetensors
