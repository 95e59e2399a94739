// What the file formats share (src/io/common.hpp).
#include "io/common.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "internal.hpp"

namespace tapegrad::detail {

namespace fs = std::filesystem;

namespace {

std::string system_error() { return std::strerror(errno); }

}  // namespace

std::string excerpt(std::string_view s) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (char c : s.substr(0, 60)) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isprint(byte)) {
      out += c;
    } else {
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 15];
    }
  }
  return s.size() > 60 ? out + "..." : out;
}

std::string in_quotes(std::string_view s) {
  std::string out(1, '\'');  // (built up, not "'" + ...: GCC 12 warns falsely of an overlap there)
  out += excerpt(s);
  return out += '\'';
}

void require_file_path(std::string_view op, const fs::path& path, const std::source_location& at) {
  std::error_code error;
  if (path.empty()) fail<IoError>(op, "the path must name a file", "an empty path", at);
  if (fs::is_directory(path, error))
    fail<IoError>(op, "the path must name a file", "a directory: " + path.string(), at);
}

ReadFile::ReadFile(std::string_view op, const fs::path& path, const std::source_location& at)
    : op_(op), name_(path.string()), at_(at) {
  require_file_path(op, path, at);
  // O_NONBLOCK: a FIFO opens at once (and is refused below) instead of waiting for a writer.
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd_ < 0) fail<IoError>(op, "the file must be readable", name_ + ": " + system_error(), at);
  struct stat status {};
  if (::fstat(fd_, &status) != 0 || !S_ISREG(status.st_mode)) {
    const std::string reason = S_ISREG(status.st_mode) ? system_error() : "not a regular file";
    ::close(fd_);
    fail<IoError>(op, "the path must name a regular file", name_ + ": " + reason, at);
  }
  size_ = static_cast<std::uint64_t>(status.st_size);
}

ReadFile::~ReadFile() { ::close(fd_); }

void ReadFile::read(std::uint64_t offset, void* out, std::size_t count) const {
  auto* bytes = static_cast<char*>(out);
  while (count > 0) {
    const ssize_t got = ::pread(fd_, bytes, count, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0)
      fail<IoError>(op_, "the file must be readable",
                    name_ + ": " + (got < 0 ? system_error() : "it ended early (it changed while being read)"), at_);
    bytes += got;
    offset += static_cast<std::uint64_t>(got);
    count -= static_cast<std::size_t>(got);
  }
}

void write_atomically(std::string_view op, const fs::path& path, const std::function<void(std::ostream&)>& write,
                      const std::source_location& at) {
  require_file_path(op, path, at);
  // A name no other writer (thread or process) picks, in the target's folder, so rename is atomic.
  static std::atomic<unsigned> counter{0};
  fs::path temporary = path;
  temporary += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
  const std::string name = path.string();
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) fail<IoError>(op, "the folder must be writable", name + ": " + system_error(), at);
    std::string reason;
    try {
      write(out);
      out.close();
      if (!out) reason = system_error();
    } catch (...) {
      out.close();
      std::error_code ignored;
      fs::remove(temporary, ignored);
      throw;
    }
    if (!reason.empty()) {
      std::error_code ignored;
      fs::remove(temporary, ignored);
      fail<IoError>(op, "the file must be written whole", name + ": " + reason, at);
    }
  }
  // On disk before it takes the name: a crash leaves the old file or the new one, never half of one.
  const int fd = ::open(temporary.c_str(), O_RDONLY | O_CLOEXEC);
  const bool synced = fd >= 0 && ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  std::error_code error;
  if (synced) fs::rename(temporary, path, error);
  if (!synced || error) {
    const std::string reason = synced ? error.message() : system_error();
    fs::remove(temporary, error);
    fail<IoError>(op, "the file must be written whole", name + ": " + reason, at);
  }
  // The rename itself lives in the folder: flush it too (file systems that cannot sync a folder say
  // EINVAL, and have nothing to flush).
  const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const int folder_fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (folder_fd >= 0) {
    const bool folder_synced = ::fsync(folder_fd) == 0 || errno == EINVAL;
    const std::string reason = folder_synced ? "" : system_error();
    ::close(folder_fd);
    if (!folder_synced)
      fail<IoError>(op, "the file must be written whole", name + ": flushing its folder: " + reason, at);
  }
}

}  // namespace tapegrad::detail
