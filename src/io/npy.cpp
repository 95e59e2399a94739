// NumPy .npy files: load_npy and save_npy (include/tapegrad/io.hpp).
//
// Note [xtensor's place]: xtensor is not our kernel layer. Measured here on one thread, -O3 -mavx2
// -mfma, XTENSOR_USE_XSIMD (bench/bench_xtensor.cpp, figures in README.md), its single elementwise
// ops run at about our speed (both are bound by memory), its broadcasting adds and lazy reducers
// are slower than ours, and its one advantage is fusing a chain of elementwise ops into one pass.
// A tape needs every intermediate of a chain for backward anyway, so that advantage is small for
// us, and the kernels stay on xsimd directly (Note [Kernels per instruction set]). xtensor stays
// where it serves:
//   - this file: save_npy writes through xtensor's .npy writer (xt::detail::dump_npy_stream, the
//     body of xt::dump_npy, so that we own the stream and see write errors);
//   - include/tapegrad/xtensor.hpp: opt-in xt::xarray interop for users who have xtensor code;
//   - tests/test_broadcast_oracle.cpp: xtensor's broadcasting is the oracle our binary ops are
//     compared with on random shapes.
// The reading side is our own: xt::load_npy trusts its file. Probed here (xtensor 0.24), it loads
// a truncated file without a word, the missing elements left as whatever the allocator held; it
// refuses valid numpy files whose header is 128 bytes or longer (the header length is read through
// a signed char); a shape whose size overflows allocates the wrapped size; and there is no version
// 3.0. load_npy checks the header against the file's size before it allocates, and reads the data
// straight into the tensor. meson.build gives the xtensor dependency and XTENSOR_USE_XSIMD to this
// unit, the tests and bench_xtensor only.
#include <algorithm>
#include <cctype>
#include <limits>
#include <string>
#include <string_view>
#include <xtensor/xadapt.hpp>
#include <xtensor/xnpy.hpp>

#include "internal.hpp"
#include "io/common.hpp"
#include "tapegrad/io.hpp"

namespace tapegrad {

namespace {

using detail::in_quotes;

constexpr std::string_view magic = "\x93NUMPY";
// numpy.load refuses longer headers by default (max_header_size); 32 axes fit easily.
constexpr std::size_t max_header_bytes = 10000;
constexpr std::size_t max_rank = 32;  // numpy's NPY_MAXDIMS

// The header: a Python dict literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
struct Header {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
};

// A reader for exactly the literals numpy writes in a header: strings, True/False, tuples of ints.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::source_location& at) : text_(text), at_(at) {}

  Header parse() {
    Header header;
    bool seen[3] = {};
    expect('{');
    while (skip_space() != '}') {
      const std::string key = string();
      expect(':');
      if (key == "descr") {
        header.descr = string();
        seen[0] = true;
      } else if (key == "fortran_order") {
        header.fortran_order = boolean();
        seen[1] = true;
      } else if (key == "shape") {
        header.shape = tuple();
        seen[2] = true;
      } else {
        malformed("the header's keys must be 'descr', 'fortran_order' and 'shape'", in_quotes(key));
      }
      if (skip_space() == ',')
        ++pos_;
      else if (peek() != '}')
        malformed("the header's entries must be separated by ','", rest());
    }
    ++pos_;
    if (!seen[0] || !seen[1] || !seen[2])
      malformed("the header must give 'descr', 'fortran_order' and 'shape'", in_quotes(text_));
    if (text_.find_first_not_of(" \t\x0c\r\n\v", pos_) != std::string_view::npos)
      malformed("the header must end after its dict", rest());
    return header;
  }

 private:
  [[noreturn]] void malformed(std::string_view rule, const std::string& observed) const {
    detail::fail<IoError>("load_npy", rule, observed, at_);
  }
  std::string rest() const { return in_quotes(text_.substr(std::min(pos_, text_.size()))); }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  char skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    return peek();
  }
  void expect(char c) {
    if (skip_space() != c)
      malformed(std::string("the header must be a dict literal: '") + c + "' expected", rest());
    ++pos_;
  }
  std::string string() {
    const char quote = skip_space();
    if (quote != '\'' && quote != '"') malformed("the header's keys and 'descr' must be strings", rest());
    const std::size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) malformed("the header's strings must be closed", rest());
    std::string value(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return value;
  }
  bool boolean() {
    skip_space();
    for (auto [word, value] :
         {std::pair{std::string_view("True"), true}, std::pair{std::string_view("False"), false}})
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    malformed("'fortran_order' must be True or False", rest());
  }
  Shape tuple() {
    Shape shape;
    expect('(');
    while (skip_space() != ')') {
      if (!std::isdigit(static_cast<unsigned char>(peek())))
        malformed("'shape' must be a tuple of sizes (integers >= 0)", rest());
      std::int64_t size = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        const int digit = text_[pos_++] - '0';
        if (size > (std::numeric_limits<std::int64_t>::max() - digit) / 10)
          malformed("the sizes in 'shape' must fit in 64 bits", rest());
        size = size * 10 + digit;
      }
      if (skip_space() == 'L') ++pos_;  // Python 2's long literal, as old numpy wrote it
      shape.push_back(size);
      if (shape.size() > max_rank)
        malformed("'shape' must have at most " + std::to_string(max_rank) + " axes", "more");
      if (skip_space() == ',')
        ++pos_;
      else if (peek() != ')')
        malformed("'shape' must be a tuple of sizes separated by ','", rest());
    }
    ++pos_;
    return shape;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  const std::source_location& at_;
};

DType dtype_of_descr(const std::string& descr, const std::source_location& at) {
  if (descr == "<f4") return float32;
  if (descr == "<f8") return float64;
  if (descr == "<i8") return int64;
  const char* rule = "the dtype must be float32 ('<f4'), float64 ('<f8') or int64 ('<i8')";
  if (descr.size() > 1 && descr[0] == '>')
    detail::fail<IoError>("load_npy", rule,
                          in_quotes(descr) + " (big endian: save x.astype(x.dtype.newbyteorder('<')))", at);
  detail::fail<IoError>("load_npy", rule, in_quotes(descr), at);
}

std::uint32_t little_endian(const unsigned char* bytes, int count) {
  std::uint32_t value = 0;
  for (int i = count - 1; i >= 0; --i) value = value << 8 | bytes[i];
  return value;
}

}  // namespace

Tensor load_npy(const std::filesystem::path& path, Here at) {
  const detail::ReadFile file("load_npy", path, at);
  const std::string& name = file.name();
  const std::uint64_t file_size = file.size();

  // Fixed part: magic (6 bytes), version (2), header length (2 bytes in version 1, 4 in 2 and 3).
  unsigned char prefix[12] = {};
  const std::size_t fixed = static_cast<std::size_t>(std::min<std::uint64_t>(file_size, 8));
  file.read(0, prefix, fixed);
  if (fixed < 8 || std::string_view(reinterpret_cast<char*>(prefix), 6) != magic)
    detail::fail<IoError>("load_npy", "a .npy file must start with \\x93NUMPY",
                          in_quotes(std::string_view(reinterpret_cast<char*>(prefix), fixed)) + " in " + name, at);
  const int major = prefix[6], minor = prefix[7];
  if (major < 1 || major > 3 || minor != 0)
    detail::fail<IoError>("load_npy", "the format version must be 1.0, 2.0 or 3.0",
                          std::to_string(major) + "." + std::to_string(minor), at);
  const int length_bytes = major == 1 ? 2 : 4;
  if (file_size < 8 + static_cast<std::uint64_t>(length_bytes))
    detail::fail<IoError>("load_npy", "the file must hold a whole header",
                          "a file of " + std::to_string(file_size) + " bytes", at);
  file.read(8, prefix + 8, static_cast<std::size_t>(length_bytes));
  const std::size_t header_bytes = little_endian(prefix + 8, length_bytes);
  const std::uint64_t data_offset = 8 + static_cast<std::uint64_t>(length_bytes) + header_bytes;
  if (header_bytes > max_header_bytes)
    detail::fail<IoError>("load_npy",
                          "the header must be at most " + std::to_string(max_header_bytes) + " bytes",
                          std::to_string(header_bytes) + " bytes", at);
  if (data_offset > file_size)
    detail::fail<IoError>("load_npy", "the file must hold a whole header",
                          "a header of " + std::to_string(header_bytes) + " bytes in a file of " +
                              std::to_string(file_size) + " bytes",
                          at);
  std::string text(header_bytes, '\0');
  file.read(8 + static_cast<std::uint64_t>(length_bytes), text.data(), header_bytes);

  const Header header = HeaderParser(text, at).parse();
  const DType dtype = dtype_of_descr(header.descr, at);
  if (header.fortran_order && header.shape.size() > 1)
    detail::fail<IoError>("load_npy", "the data must be in C order (save np.ascontiguousarray(x))",
                          "fortran_order True", at);
  std::int64_t bytes = 0;
  const bool addressable = detail::byte_size(header.shape, dtype, bytes);
  const std::uint64_t data_bytes = file_size - data_offset;
  if (!addressable || static_cast<std::uint64_t>(bytes) != data_bytes) {
    const char* hint = !addressable ? " (the shape's size overflows int64)"
                       : static_cast<std::uint64_t>(bytes) > data_bytes ? " (a truncated file?)"
                                                                        : "";
    detail::fail<IoError>("load_npy",
                          "the data must be shape x itemsize bytes (" + to_string(header.shape) + " of " +
                              std::string(dtype_name(dtype)) + ")",
                          std::to_string(data_bytes) + " bytes after the header" + hint, at);
  }

  detail::OpScope scope("load_npy", at);
  Tensor t = detail::new_tensor(header.shape, dtype);
  if (bytes > 0) {
    char* data = detail::dispatch(dtype, [&]<class T>() { return reinterpret_cast<char*>(t.data<T>()); });
    file.read(data_offset, data, static_cast<std::size_t>(bytes));
  }
  return t;
}

void save_npy(const std::filesystem::path& path, const Tensor& t, Here at) {
  detail::require_defined("save_npy", t, at);
  detail::require_file_path("save_npy", path, at);
  const Tensor x = t.is_contiguous() ? t : t.detach().contiguous();
  detail::write_atomically("save_npy", path, [&](std::ostream& out) {
    detail::dispatch(x.dtype(), [&]<class T>() {
      std::vector<std::size_t> shape(x.shape().begin(), x.shape().end());
      const auto values = xt::adapt(x.data<T>(), static_cast<std::size_t>(x.numel()), xt::no_ownership(), shape);
      xt::detail::dump_npy_stream(out, values);
    });
  }, at);
}

}  // namespace tapegrad
