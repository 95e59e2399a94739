// What the file formats share (src/io/npy.cpp, src/io/safetensors*.cpp): checked paths, reading a
// regular file at offsets, writing a file atomically, and quoting untrusted text in error messages.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <ostream>
#include <source_location>
#include <string>
#include <string_view>

namespace tapegrad::detail {

// Up to 60 characters of s, non-printable bytes as \xNN, for an error message.
std::string excerpt(std::string_view s);
// excerpt(s) in single quotes.
std::string in_quotes(std::string_view s);

// IoError unless path could name a file: not empty, not a directory.
void require_file_path(std::string_view op, const std::filesystem::path& path, const std::source_location& at);

// A regular file opened for reading. The path is checked first (require_file_path), and a FIFO or a
// device is refused before anything waits on it: opening a FIFO for reading would block until a
// writer comes.
class ReadFile {
 public:
  ReadFile(std::string_view op, const std::filesystem::path& path, const std::source_location& at);
  ~ReadFile();
  ReadFile(const ReadFile&) = delete;
  ReadFile& operator=(const ReadFile&) = delete;

  // The size when it was opened.
  std::uint64_t size() const { return size_; }
  // Exactly `count` bytes from `offset` into `out`; IoError when the file ends first (it shrank) or
  // the read fails.
  void read(std::uint64_t offset, void* out, std::size_t count) const;
  const std::string& name() const { return name_; }

 private:
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::string op_, name_;
  const std::source_location& at_;
};

// Note [Atomic save]: the file at `path` appears whole or not at all. `write` fills a temporary file
// in the same folder (so the rename cannot cross file systems); it is flushed to disk, renamed over
// `path`, and the folder is flushed so the new name survives a crash too. On any failure the
// temporary file is removed and `path` keeps its previous contents: IoError for the file system's
// failures, while what `write` throws propagates as it is.
void write_atomically(std::string_view op, const std::filesystem::path& path,
                      const std::function<void(std::ostream&)>& write, const std::source_location& at);

}  // namespace tapegrad::detail
