// Hostile safetensors files: every rule of the format broken once (a row each), truncation at every
// byte, corrupted bytes, nesting bombs. Each must be an IoError naming the rule, the file and the
// caller's line: never a crash, a hang or an allocation beyond the file (the lead runs this under ASan).
#include <sys/stat.h>

#include <chrono>
#include <limits>

#include "io_helpers.hpp"

using namespace tapegrad;
using namespace io_test;

namespace {

// "a" F32 [2] at [0, 8), "b" I64 [] at [8, 16).
const std::string two = entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "I64", "[]", "[8,16]");
const std::string sixteen(16, '\x01');
const std::string valid = file_of("{" + two + "}", sixteen);

// The IoError message of loading `bytes` from a file (checked to name the op, the file and this file's
// line) and from memory (the same rule); "" when the bytes load.
std::string refusal(const Folder& folder, const std::string& bytes) {
  const fs::path path = folder.write("hostile.safetensors", bytes);
  std::string message;
  try {
    load_safetensors(path);
  } catch (const IoError& e) {
    message = e.what();
    CHECK_MESSAGE(message.starts_with("load_safetensors: "), message);
    CHECK_MESSAGE(message.find(path.string()) != std::string::npos, message);
    CHECK(e.where().starts_with("test_safetensors_hostile.cpp:"));
  }
  try {
    safetensors_from_bytes(bytes);
    CHECK_MESSAGE(message.empty(), "the bytes load, the file does not: ", message);
  } catch (const IoError& e) {
    CHECK(std::string(e.what()).starts_with("safetensors_from_bytes: "));
    CHECK_MESSAGE(e.rule() == message.substr(18, e.rule().size()), e.what(), " vs ", message);
  }
  return message;
}

struct Case {
  std::string name, bytes, says;
};

std::vector<Case> cases() {
  const std::string eight(8, '\0');
  std::string many_axes = "[";
  for (int i = 0; i < 65; ++i) many_axes += "1,";
  many_axes.back() = ']';
  const std::string brackets(1'000'000, '[');
  return {
      // the length and the header's bytes
      {"empty file", "", "start with its 8-byte header length"},
      {"7 bytes", std::string(7, '\0'), "start with its 8-byte header length"},
      {"a 2^63-byte header", length_bytes(std::uint64_t{1} << 63) + "{}",
       "at most 100000000 bytes, got 9223372036854775808"},
      {"a 2^64-1-byte header", length_bytes(~std::uint64_t{0}) + "{}", "at most 100000000 bytes"},
      {"a header just over 100 MB", length_bytes(100'000'001) + "{}", "at most 100000000 bytes"},
      {"header length past the file", length_bytes(64) + "{}      ",
       "lie within the file, got a header of 64 bytes in 16"},
      {"not UTF-8", file_of("{\"\xff\":{}}", ""), "must be UTF-8, got a byte '\\xff' at byte 2"},
      {"overlong UTF-8", file_of("{\"\xc0\xaf\":{}}", ""), "must be UTF-8"},
      {"UTF-8 surrogate", file_of("{\"\xed\xa0\x80\":{}}", ""), "must be UTF-8"},
      {"UTF-8 cut short", file_of("{\"\xe4\xb8", "", false), "must be UTF-8"},
      {"an escaped lone surrogate", file_of("{\"\\ud800\":{}}", ""), "unpaired surrogate"},
      {"a NUL byte", file_of(std::string("{}\0", 3), ""), "end after its object"},
      // the JSON
      {"an array", file_of("[1,2]", ""), "a JSON object starting with '{'"},
      {"a leading space", file_of(" {}", ""), "a JSON object starting with '{'"},
      {"empty header", file_of("", "", false), "a JSON object starting with '{'"},
      {"garbage after the object", file_of("{} x", ""), "end after its object"},
      {"padded with NUL", length_bytes(8) + "{}" + std::string(6, '\0'), "end after its object"},
      {"unclosed object", file_of("{" + entry("a", "F32", "[2]", "[0,8]"), "", false), "',' or '}' after each entry"},
      {"unclosed string", file_of("{\"abc", "", false), "closing '\"'"},
      {"a raw newline in a name", file_of("{\"a\nb\":{}}", ""), "escape for each control character"},
      {"a bad escape", file_of("{\"a\\x\":{}}", ""), "a valid escape"},
      {"a short \\u escape", file_of("{\"\\u12\":{}}", ""), "four hex digits"},
      {"no colon", file_of("{\"a\" {}}", ""), "':' after each name"},
      {"a number as a name", file_of("{1:{}}", ""), "keys (the tensors' names) must be strings"},
      {"a tensor that is not an object", file_of("{\"a\":[1]}", ""), "must be an object {dtype, shape, data_offsets}"},
      {"a nesting bomb", file_of("{\"a\":" + brackets, ""), "must be an object"},
      {"a nesting bomb in a shape", file_of("{\"a\":{\"shape\":" + brackets, ""), "shape entries must be integers"},
      {"a nesting bomb in a dtype", file_of("{\"a\":{\"dtype\":" + std::string(1'000'000, '{'), ""),
       "dtype must be a string"},
      // the entries
      {"duplicate names", file_of("{" + two + "," + entry("a", "F32", "[0]", "[16,16]") + "}", sixteen),
       "names must be unique, got 'a' twice"},
      {"duplicate __metadata__", file_of("{\"__metadata__\":{},\"__metadata__\":{}}", ""), "names must be unique"},
      {"metadata of numbers", file_of("{\"__metadata__\":{\"k\":1}}", ""),
       "__metadata__ must be an object of strings to strings"},
      {"nested metadata", file_of("{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}", ""), "strings to strings"},
      {"metadata not an object", file_of("{\"__metadata__\":\"pt\"}", ""), "strings to strings"},
      {"duplicate metadata keys", file_of("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", ""),
       "keys must be unique, got 'k' twice"},
      {"an unknown key",
       file_of("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4],\"x\":1}}", eight.substr(4)),
       "keys dtype, shape and data_offsets only, got 'x'"},
      {"a key twice", file_of("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\"}}", ""),
       "keys must be unique, got 'dtype' twice"},
      {"no data_offsets", file_of("{\"a\":{\"dtype\":\"F32\",\"shape\":[]}}", ""),
       "must give dtype, shape and data_offsets, got no data_offsets for 'a'"},
      {"an empty entry", file_of("{\"a\":{}}", ""), "got no dtype"},
      {"an unknown dtype", file_of("{" + entry("a", "F33", "[2]", "[0,8]") + "}", eight),
       "dtype must be one of BOOL, U8"},
      {"a lower-case dtype", file_of("{" + entry("a", "f32", "[2]", "[0,8]") + "}", eight), "got 'f32' for 'a'"},
      {"a dtype tapegrad does not read", file_of("{" + entry("a", "I32", "[2]", "[0,8]") + "}", eight),
       "reads the dtypes F32, F64, I64, BF16 and F16 (BF16 and F16 as float32), got I32 for 'a'"},
      {"a U8 tensor", file_of("{" + entry("a", "U8", "[8]", "[0,8]") + "}", eight), "got U8 for 'a'"},
      {"a negative size", file_of("{" + entry("a", "F32", "[-2]", "[0,8]") + "}", eight),
       "shape entries must be integers >= 0"},
      {"a fractional size", file_of("{" + entry("a", "F32", "[2.0]", "[0,8]") + "}", eight),
       "shape entries must be integers"},
      {"an exponent size", file_of("{" + entry("a", "F32", "[2e0]", "[0,8]") + "}", eight),
       "shape entries must be integers"},
      {"a leading zero", file_of("{" + entry("a", "F32", "[02]", "[0,8]") + "}", eight), "no leading zeros"},
      {"a size past int64", file_of("{" + entry("a", "F32", "[9223372036854775808]", "[0,8]") + "}", eight),
       "at most 9223372036854775807"},
      {"numel x itemsize overflows", file_of("{" + entry("a", "F32", "[4611686018427387904,4]", "[0,8]") + "}", eight),
       "fit in 64 bits"},
      {"itemsize overflows", file_of("{" + entry("a", "F64", "[2305843009213693952]", "[0,8]") + "}", eight),
       "fit in 64 bits"},
      {"an empty shape tapegrad cannot stride", file_of("{" + entry("a", "F32", "[0,4611686018427387904,4]", "[0,0]") + "}", ""),
       "sizes other than 0 multiply within int64, got [0, 4611686018427387904, 4] for 'a'"},
      {"65 axes", file_of("{" + entry("a", "F32", many_axes, "[0,4]") + "}", eight.substr(4)), "at most 64 axes"},
      {"a shape that is not a list", file_of("{" + entry("a", "F32", "2", "[0,8]") + "}", eight),
       "shape must be a list"},
      // the offsets
      {"three offsets", file_of("{" + entry("a", "F32", "[2]", "[0,8,8]") + "}", eight), "must be [begin, end]"},
      {"one offset", file_of("{" + entry("a", "F32", "[2]", "[0]") + "}", eight), "must be [begin, end]"},
      {"an offset past uint64", file_of("{" + entry("a", "F32", "[2]", "[0,18446744073709551616]") + "}", eight),
       "at most 18446744073709551615"},
      {"negative offsets", file_of("{" + entry("a", "F32", "[2]", "[-8,0]") + "}", eight),
       "data_offsets must be integers >= 0"},
      {"begin after end", file_of("{" + entry("a", "F32", "[2]", "[8,0]") + "}", eight),
       "begin <= end, got [8, 0] for 'a'"},
      {"too few bytes for the shape", file_of("{" + entry("a", "F32", "[3]", "[0,8]") + "}", eight),
       "end - begin must be numel x itemsize, got 8 bytes for [3] of F32 (12 bytes)"},
      {"out of bounds", file_of("{" + entry("a", "F32", "[4]", "[0,16]") + "}", eight),
       "lie in the data section, got [0, 16] for 'a' in a data section of 8 bytes"},
      {"far out of bounds",
       file_of("{" + entry("a", "F32", "[2]", "[18446744073709551607,18446744073709551615]") + "}", eight),
       "lie in the data section"},
      {"overlapping",
       file_of("{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "F32", "[2]", "[4,12]") + "}",
               std::string(12, '\0')),
       "must not overlap, got 'b' at [4, 12] overlaps 'a' at [0, 8]"},
      {"the same range twice",
       file_of("{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "F32", "[2]", "[0,8]") + "}",
               std::string(16, '\0')),
       "must not overlap"},
      {"a hole",
       file_of("{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "F32", "[2]", "[12,20]") + "}",
               std::string(20, '\0')),
       "no holes, got bytes [8, 12) unused before 'b'"},
      {"a hole at the start", file_of("{" + entry("a", "F32", "[1]", "[4,8]") + "}", eight),
       "no holes, got bytes [0, 4)"},
      {"trailing bytes", valid + "x", "8 + N + the last tensor's end must be the file's size, got 1 bytes after"},
      {"data but no tensors", file_of("{}", eight), "got 8 bytes after"},
      {"truncated data", valid.substr(0, valid.size() - 1), "lie in the data section"},
  };
}

}  // namespace

TEST_CASE("load_safetensors refuses each broken rule of the format, naming it and the file") {
  Folder folder;
  for (const Case& c : cases()) {
    const std::string message = refusal(folder, c.bytes);
    CHECK_MESSAGE(message.find(c.says) != std::string::npos, c.name, ": ", message);
  }
}

TEST_CASE("load_safetensors takes what the format allows beyond what we write") {
  Folder folder;
  // The entries in any order (sorted by their offsets), JSON whitespace and escapes, zero-size
  // tensors anywhere, a header padded with any JSON whitespace.
  const std::string header = "{ \"b\" : {\"data_offsets\": [8, 16], \"shape\": [], \"dtype\": \"I64\"},\n\t" +
                             entry("z\\u00e9ro", "F64", "[0, 5]", "[8, 8]") + ",\r\n" +
                             entry("\\\"a\\\"\\/", "F32", "[2]", "[0,8]") + "}\n\n\t\r";
  const std::string data = std::string(8, '\0') + std::string("\x07\0\0\0\0\0\0\0", 8);
  const fs::path path = folder.write("ok.safetensors", file_of(header, data, false));
  const StateDict d = load_safetensors(path);
  CHECK(d.keys() == std::vector<std::string>{"\"a\"/", "z\u00e9ro", "b"});
  CHECK(d.at("z\u00e9ro").shape() == Shape{0, 5});
  CHECK(d.at("b").item<std::int64_t>() == 7);
  // A surrogate pair escape is one code point.
  CHECK(safetensors_from_bytes(file_of("{" + entry("\\ud83d\\ude00", "F32", "[]", "[0,4]") + "}", std::string(4, '\0')))
            .tensors.contains("\U0001F600"));
}

TEST_CASE("load_safetensors refuses a file truncated at any byte, and survives corrupted bytes") {
  Folder folder;
  REQUIRE(safetensors_from_bytes(valid).tensors.size() == 2);
  for (std::size_t size = 0; size < valid.size(); ++size)
    CHECK_MESSAGE(!refusal(folder, valid.substr(0, size)).empty(), size, " bytes");
  // Every byte replaced by bytes that matter to the reader: loads or IoError, nothing else.
  int refused = 0;
  for (std::size_t i = 0; i < valid.size(); ++i)
    for (char c : {'\0', '"', '{', '}', '[', ']', ',', ':', '\\', '9', '-', '\x80', '\xff'}) {
      std::string bytes = valid;
      bytes[i] = c;
      try {
        safetensors_from_bytes(bytes);
      } catch (const IoError&) {
        ++refused;
      }
    }
  CHECK(refused > 0);
}

TEST_CASE("load_safetensors refuses paths that are not regular files, before it waits or reads") {
  Folder folder;
  auto message = [](const fs::path& path) { return test::message_of<IoError>([&] { load_safetensors(path); }); };
  CHECK(message(folder.path).find("the path must name a file, got a directory") != std::string::npos);
  CHECK(message(folder.path / "missing.safetensors").find("No such file") != std::string::npos);
  CHECK(message("/dev/null").find("must name a regular file") != std::string::npos);
  // A FIFO without a writer: opening it for reading would wait forever.
  const fs::path fifo = folder.path / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(message(fifo).find("not a regular file") != std::string::npos);
  CHECK(test::message_of<IoError>([&] { load_npy(fifo); }).find("not a regular file") != std::string::npos);
}

TEST_CASE("load_safetensors reads many tensors in a time linear in their number") {
  // 100k zero-size tensors (a 6 MB header): a loader (or a StateDict) that looks names up one by one
  // takes minutes here; the suite's time shows it.
  std::string header = "{";
  for (int i = 0; i < 100'000; ++i) header += (i ? "," : "") + entry("t" + std::to_string(i), "F32", "[0]", "[0,0]");
  header += "}";
  const StateDict d = safetensors_from_bytes(file_of(header, "")).tensors;
  CHECK(d.size() == 100'000);
  CHECK(d.items().back().first == "t99999");
}
