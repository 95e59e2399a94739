// .npy files (include/tapegrad/io.hpp): numpy's own files read, the bytes numpy writes written, round
// trips, and hostile files refused with IoError before anything is allocated. The fixtures in
// tests/fixtures/npy come from numpy.save (tests/fixtures/make_npy.py).
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>

#include "io_helpers.hpp"

using namespace tapegrad;
using io_test::bytes_of;
using io_test::Folder;
namespace fs = std::filesystem;

namespace {

fs::path fixture(const std::string& name) {
  return fs::path(TAPEGRAD_SOURCE_DIR) / "tests" / "fixtures" / "npy" / name;
}

// A version 1.0 file with the given header dict and data bytes (the header padded as numpy pads it).
std::string npy(std::string dict, const std::string& data, int major = 1) {
  dict += std::string(63 - (dict.size() + 10 + 1 + 63) % 64, ' ') + "\n";
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  const std::size_t n = dict.size();
  out += static_cast<char>(n & 0xff);
  out += static_cast<char>(n >> 8);
  if (major > 1) out += std::string(2, '\0');
  return out + dict + data;
}

std::string f32_dict(const std::string& shape) {
  return "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
}

// The message of the IoError that load_npy raises for `path` ("" if none).
std::string refusal(const fs::path& path) {
  try {
    load_npy(path);
  } catch (const IoError& e) {
    CHECK(std::string(e.what()).starts_with("load_npy: "));
    CHECK(e.where().starts_with("test_npy.cpp:"));
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("load_npy reads the files numpy.save writes") {
  {
    const Tensor t = load_npy(fixture("f32_2x3.npy"));
    CHECK(t.dtype() == float32);
    CHECK(t.shape() == Shape{2, 3});
    const std::vector<float> values = t.to_vector<float>();
    for (int i = 0; i < 6; ++i)
      CHECK(values[static_cast<std::size_t>(i)] == (static_cast<float>(i) - 2.5f) / 4);
  }
  {
    const Tensor t = load_npy(fixture("f64_4.npy"));
    CHECK(t.dtype() == float64);
    CHECK(t.to_vector<double>() ==
          std::vector<double>{0.1, -1e300, 5e-324, std::numeric_limits<double>::infinity()});
  }
  {
    const Tensor t = load_npy(fixture("i64_3x1x2.npy"));
    CHECK(t.dtype() == int64);
    CHECK(t.shape() == Shape{3, 1, 2});
    CHECK(t.to_vector<std::int64_t>() == std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min(),
                                                                   std::numeric_limits<std::int64_t>::max(),
                                                                   0, -1, 7, std::int64_t{1} << 40});
  }
  {
    const Tensor t = load_npy(fixture("f64_scalar.npy"));
    CHECK(t.shape().empty());
    CHECK(t.item() == 2.5);
  }
  CHECK(load_npy(fixture("f32_0x3.npy")).shape() == Shape{0, 3});
  // A header of 182 bytes: xt::load_npy reads its length through a signed char and refuses it.
  {
    const Tensor t = load_npy(fixture("f32_30_axes.npy"));
    CHECK(t.dim() == 30);
    CHECK(t.to_vector<float>() == std::vector<float>{1.5f, 1.5f});
  }
  // Format version 2.0 (a 4-byte header length); xt::load_npy reads 1.0 and 2.0 only, we read 3.0 too.
  CHECK(load_npy(fixture("f32_v2.npy")).to_vector<float>() == std::vector<float>{0.0f, 1.0f, 2.0f});
}

TEST_CASE("save_npy writes the bytes numpy.save writes, and round trips") {
  Folder folder;
  auto same_bytes = [&](const Tensor& t, const std::string& name) {
    save_npy(folder.path / name, t);
    CHECK_MESSAGE(bytes_of(folder.path / name) == bytes_of(fixture(name)), name);
  };
  std::vector<float> f32;
  for (int i = 0; i < 6; ++i) f32.push_back((static_cast<float>(i) - 2.5f) / 4);
  same_bytes(from_vector(f32, {2, 3}), "f32_2x3.npy");
  same_bytes(from_vector<double>({0.1, -1e300, 5e-324, std::numeric_limits<double>::infinity()}, {4}),
             "f64_4.npy");
  same_bytes(
      from_vector<std::int64_t>({std::numeric_limits<std::int64_t>::min(),
                                 std::numeric_limits<std::int64_t>::max(), 0, -1, 7, std::int64_t{1} << 40},
                                {3, 1, 2}),
      "i64_3x1x2.npy");
  same_bytes(full({}, 2.5, float64), "f64_scalar.npy");
  same_bytes(zeros({0, 3}), "f32_0x3.npy");
  Shape thirty(29, 1);
  thirty.push_back(2);
  same_bytes(full(thirty, 1.5), "f32_30_axes.npy");

  // Round trips of random values, every dtype, views included (written in C order).
  std::mt19937_64 random(7);
  for (DType dtype : {float32, float64, int64}) {
    for (const Shape& shape : {Shape{}, Shape{1}, Shape{5}, Shape{3, 0}, Shape{4, 7}, Shape{2, 3, 5}}) {
      std::vector<double> values;
      std::int64_t n = 1;
      for (auto size : shape) n *= size;
      for (std::int64_t i = 0; i < n; ++i)
        values.push_back(static_cast<double>(random() % 2001) - 1000.0 + (dtype == int64 ? 0.0 : 0.25));
      const Tensor t = from_vector(values, shape).to(dtype);
      save_npy(folder.path / "t.npy", t);
      const Tensor back = load_npy(folder.path / "t.npy");
      CHECK(back.dtype() == dtype);
      CHECK(back.shape() == shape);
      CHECK(back.to(float64).to_vector<double>() == values);
    }
  }
  const Tensor x = from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  save_npy(folder.path / "transposed.npy", transpose(x, 0, 1));
  const Tensor back = load_npy(folder.path / "transposed.npy");
  CHECK(back.shape() == Shape{3, 2});
  CHECK(back.to_vector<double>() == std::vector<double>{1, 4, 2, 5, 3, 6});
}

TEST_CASE("save_npy replaces a file whole and leaves nothing behind") {
  Folder folder;
  const fs::path target = folder.write("x.npy", "old contents");
  save_npy(target, ones({3}));
  CHECK(load_npy(target).to_vector<float>() == std::vector<float>{1, 1, 1});
  CHECK(std::distance(fs::directory_iterator(folder.path), fs::directory_iterator()) ==
        1);  // no temporary left
  // A folder that does not exist: IoError, and no file appears.
  CHECK_THROWS_AS(save_npy(folder.path / "missing" / "x.npy", ones({3})), IoError);
  CHECK(!fs::exists(folder.path / "missing"));
  CHECK_THROWS_AS(save_npy(folder.path / "y.npy", Tensor()), ValueError);
  CHECK(std::distance(fs::directory_iterator(folder.path), fs::directory_iterator()) == 1);
}

TEST_CASE("load_npy refuses what it cannot read as it is, naming the rule") {
  // numpy's own files in layouts or dtypes we do not take
  CHECK(refusal(fixture("fortran_2x3.npy")).find("C order") != std::string::npos);
  CHECK(refusal(fixture("big_endian.npy")).find("'>f4' (big endian") != std::string::npos);
  CHECK(refusal(fixture("int32.npy")).find("got '<i4'") != std::string::npos);
  CHECK(refusal(fixture("bool.npy")).find("got '|b1'") != std::string::npos);
  CHECK(refusal(fixture("structured.npy")).find("must be strings") != std::string::npos);
  // no file, or not a file
  CHECK(refusal("/nonexistent/x.npy").find("readable") != std::string::npos);
  CHECK(refusal(fs::temp_directory_path()).find("directory") != std::string::npos);
}

TEST_CASE("load_npy refuses hostile files before it allocates") {
  Folder folder;
  const std::string numpy_file = bytes_of(fixture("f32_2x3.npy"));
  const std::string four = std::string(16, '\0');  // four float32 zeros
  std::string many_axes = "(";
  for (int i = 0; i < 33; ++i) many_axes += "1, ";
  many_axes += ")";
  struct Case {
    std::string name, bytes, says;
  };
  const Case cases[] = {
      {"empty", "", "start with \\x93NUMPY"},
      {"text", "hello, world\n", "got 'hello, w'"},
      {"wrong magic", "\x93NUMPZ" + numpy_file.substr(6), "start with \\x93NUMPY"},
      {"version 9.0", numpy_file.substr(0, 6) + "\x09" + numpy_file.substr(7), "got 9.0"},
      {"no header length", numpy_file.substr(0, 9), "whole header"},
      {"header past the end", numpy_file.substr(0, 8) + std::string("\x40\x00", 2) + "{}", "whole header"},
      {"a 4 GB header", npy(f32_dict("(4,)"), four, 2).replace(8, 4, "\xff\xff\xff\xff"),
       "at most 10000 bytes"},
      {"truncated data", numpy_file.substr(0, numpy_file.size() - 8), "truncated"},
      {"extra data", numpy_file + "junk", "got 28 bytes"},
      {"huge shape", npy(f32_dict("(1000000000000, 1000000000000)"), four), "overflows int64"},
      {"overflowing shape", npy(f32_dict("(4611686018427387904, 4)"), four), "overflows int64"},
      {"size past int64", npy(f32_dict("(99999999999999999999,)"), four), "fit in 64 bits"},
      {"large shape, small file", npy(f32_dict("(1000000000,)"), four), "got 16 bytes"},
      {"negative size", npy(f32_dict("(-4,)"), four), "sizes (integers >= 0)"},
      {"33 axes", npy(f32_dict(many_axes), four), "at most 32 axes"},
      {"unclosed shape", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4, }", four),
       "tuple of sizes"},
      {"missing key", npy("{'descr': '<f4', 'shape': (4,), }", four), "must give"},
      {"unknown key", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'x': 1}", four),
       "got 'x'"},
      {"bad bool", npy("{'descr': '<f4', 'fortran_order': 0, 'shape': (4,), }", four), "True or False"},
      {"unclosed string", npy("{'descr': '<f4", four), "strings must be closed"},
      {"not a dict", npy("[1, 2, 3]", four), "dict literal"},
      {"after the dict", npy(f32_dict("(4,)") + " x", four), "end after its dict"},
  };
  for (const Case& c : cases) {
    const std::string message = refusal(folder.write("hostile.npy", c.bytes));
    CHECK_MESSAGE(message.find(c.says) != std::string::npos, c.name, ": ", message);
  }
  // Keys in any order and double quotes are Python literals numpy reads too.
  const fs::path reordered =
      folder.write("ok.npy", npy("{\"shape\": (4,), \"fortran_order\": False, \"descr\": \"<f4\"}", four));
  CHECK(load_npy(reordered).shape() == Shape{4});
}
