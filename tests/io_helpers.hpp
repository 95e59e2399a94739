// Shared by the file tests (test_npy.cpp, test_safetensors*.cpp): temporary folders, file contents,
// and hand-built safetensors files.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "helpers.hpp"

#ifndef TAPEGRAD_SOURCE_DIR
#error "tests/meson.build passes TAPEGRAD_SOURCE_DIR, the source tree, to find the fixtures"
#endif

namespace io_test {

namespace fs = std::filesystem;

// tests/data/safetensors/<name>, written by make_safetensors.py there.
inline fs::path safetensors_fixture(const std::string& name) {
  return fs::path(TAPEGRAD_SOURCE_DIR) / "tests" / "data" / "safetensors" / name;
}

inline std::string bytes_of(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A fresh folder per test case, removed with its contents at the end.
struct Folder {
  fs::path path;
  Folder() {
    static int count = 0;
    path = fs::temp_directory_path() / ("tapegrad-io-" + std::to_string(::getpid()) + "-" + std::to_string(count++));
    fs::create_directories(path);
  }
  ~Folder() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  fs::path write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path / name, std::ios::binary | std::ios::trunc) << bytes;
    return path / name;
  }
  std::size_t files() const { return static_cast<std::size_t>(std::distance(fs::directory_iterator(path), {})); }
};

// The 8-byte little-endian header length.
inline std::string length_bytes(std::uint64_t n) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>(n >> (8 * i) & 0xff);
  return out;
}

// A file with this header text (padded with spaces to a multiple of 8 unless told not to) and data.
inline std::string file_of(std::string header, const std::string& data, bool pad = true) {
  if (pad) header.append((8 - header.size() % 8) % 8, ' ');
  return length_bytes(header.size()) + header + data;
}

// One entry of a header: "name": {"dtype": ..., "shape": [...], "data_offsets": [...]}.
inline std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                         const std::string& offsets) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
}

}  // namespace io_test
