// safetensors files, byte strings and checkpoints (include/tapegrad/io/safetensors.hpp). The format's
// rules live in safetensors_format.cpp; this file moves the bytes.
#include "tapegrad/io/safetensors.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <functional>

#include "internal.hpp"
#include "io/common.hpp"
#include "io/safetensors_format.hpp"

namespace tapegrad {

namespace {

namespace st = detail::safetensors;

// The data is little endian, like the machines tapegrad runs on: it is copied as it is.
static_assert(std::endian::native == std::endian::little, "safetensors data is little endian");

// Where the bytes come from: `count` bytes at `offset` of the file (or byte string) into `out`.
using ReadAt = std::function<void(std::uint64_t offset, void* out, std::size_t count)>;

st::Layout read_layout(std::uint64_t total_size, const ReadAt& read, const st::Source& source) {
  unsigned char prefix[8] = {};
  const auto available = static_cast<std::size_t>(std::min<std::uint64_t>(total_size, 8));
  read(0, prefix, available);
  const std::uint64_t n = st::header_length(prefix, available, total_size, source);
  std::string text(static_cast<std::size_t>(n), '\0');  // n <= the file's size and <= 100 MB
  read(8, text.data(), text.size());
  return st::parse_header(text, total_size, source);
}

DType dtype_read_as(const st::Entry& e, const st::Source& source) {
  // The format allows an empty shape such as [0, 2^62, 4]; a tensor's strides are products of its
  // sizes other than 0 (Note [Checked sizes]), which must fit in int64.
  std::int64_t span = 1;
  for (auto size : e.shape)
    if (__builtin_mul_overflow(span, std::max<std::int64_t>(size, 1), &span))
      source.fail("tapegrad holds shapes whose sizes other than 0 multiply within int64",
                  to_string(e.shape) + " for " + detail::in_quotes(e.name));
  const std::string_view name = e.format->name;
  if (name == "F32" || name == "BF16" || name == "F16") return float32;
  if (name == "F64") return float64;
  if (name == "I64") return int64;
  source.fail("tapegrad reads the dtypes F32, F64, I64, BF16 and F16 (BF16 and F16 as float32)",
              std::string(name) + " for " + detail::in_quotes(e.name));
}

// The tensors of a checked layout. Every dtype is checked before the first tensor is allocated.
StateDict read_tensors(const st::Layout& layout, const ReadAt& read, const st::Source& source) {
  std::vector<DType> dtypes;
  dtypes.reserve(layout.entries.size());
  for (const st::Entry& e : layout.entries) dtypes.push_back(dtype_read_as(e, source));
  detail::OpScope scope(source.op, source.at);
  StateDict tensors;
  for (std::size_t i = 0; i < layout.entries.size(); ++i) {
    const st::Entry& e = layout.entries[i];
    Tensor t = detail::new_tensor(e.shape, dtypes[i]);
    const std::uint64_t offset = layout.data_start + e.begin, bytes = e.end - e.begin;
    if (e.format->itemsize == 2) {
      // BF16 or F16, widened through a small buffer: nothing allocated beyond the float32 tensor.
      const bool brain = e.format->name == "BF16";
      float* out = t.data<float>();
      std::uint16_t halves[4096];
      for (std::uint64_t done = 0; done < bytes;) {
        const auto count = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof halves, bytes - done));
        read(offset + done, halves, count);
        for (std::size_t k = 0; k < count / 2; ++k)
          *out++ = brain ? st::bfloat16_to_float(halves[k]) : st::half_to_float(halves[k]);
        done += count;
      }
    } else if (bytes > 0) {
      void* out = detail::dispatch(dtypes[i], [&]<class T>() -> void* { return t.data<T>(); });
      read(offset, out, static_cast<std::size_t>(bytes));
    }
    tensors.insert(e.name, std::move(t), source.at);
  }
  return tensors;
}

st::Source file_source(std::string_view op, const std::filesystem::path& path, const Here& at) {
  return {op, "file '" + path.string() + "'", at};  // the whole path: the user's, not the file's text
}

template <class Result>
Result with_file(std::string_view op, const std::filesystem::path& path, const Here& at,
                 const std::function<Result(const st::Layout&, const ReadAt&, const st::Source&)>& use) {
  const detail::ReadFile file(op, path, at);
  const st::Source source = file_source(op, path, at);
  const ReadAt read = [&](std::uint64_t offset, void* out, std::size_t count) { file.read(offset, out, count); };
  return use(read_layout(file.size(), read, source), read, source);
}

// Writes the header and then each tensor's bytes in C order through `sink`.
void write_file(std::string_view op, const StateDict& tensors, const SafetensorsMetadata& metadata, const Here& at,
                const std::function<void(const char*, std::size_t)>& sink) {
  const std::string header = st::header_for(op, tensors, metadata, at);
  sink(header.data(), header.size());
  detail::OpScope scope(op, at);  // a view too large to copy is OutOfMemoryError naming op and the user's line
  for (const auto& [name, t] : tensors) {
    if (t.numel() == 0) continue;
    const Tensor x = t.is_contiguous() ? t : t.detach(at).contiguous(at);
    const char* data = detail::dispatch(
        x.dtype(), [&]<class T>() { return reinterpret_cast<const char*>(std::as_const(x).data<T>()); });
    sink(data, static_cast<std::size_t>(x.numel()) * itemsize(x.dtype()));
  }
}

void save_file(std::string_view op, const std::filesystem::path& path, const StateDict& tensors,
               const SafetensorsMetadata& metadata, const Here& at) {
  detail::require_file_path(op, path, at);
  st::header_for(op, tensors, metadata, at);  // refuses bad names before a file is made
  detail::write_atomically(
      op, path,
      [&](std::ostream& out) {
        write_file(op, tensors, metadata, at,
                   [&](const char* data, std::size_t count) { out.write(data, static_cast<std::streamsize>(count)); });
      },
      at);
}

}  // namespace

void save_safetensors(const std::filesystem::path& path, const StateDict& tensors, const SafetensorsMetadata& metadata,
                      Here at) {
  save_file("save_safetensors", path, tensors, metadata, at);
}

StateDict load_safetensors(const std::filesystem::path& path, Here at) {
  return with_file<StateDict>("load_safetensors", path, at, read_tensors);
}

SafetensorsMetadata load_safetensors_metadata(const std::filesystem::path& path, Here at) {
  return with_file<SafetensorsMetadata>(
      "load_safetensors_metadata", path, at,
      [](const st::Layout& layout, const ReadAt&, const st::Source&) { return layout.metadata; });
}

std::string safetensors_to_bytes(const StateDict& tensors, const SafetensorsMetadata& metadata, Here at) {
  std::string bytes;
  write_file("safetensors_to_bytes", tensors, metadata, at,
             [&](const char* data, std::size_t count) { bytes.append(data, count); });
  return bytes;
}

SafetensorsContents safetensors_from_bytes(std::string_view bytes, Here at) {
  const st::Source source{"safetensors_from_bytes", "the bytes given", at};
  const ReadAt read = [&](std::uint64_t offset, void* out, std::size_t count) {
    std::memcpy(out, bytes.data() + offset, count);  // in bounds: the layout was checked against bytes.size()
  };
  st::Layout layout = read_layout(bytes.size(), read, source);
  StateDict tensors = read_tensors(layout, read, source);
  return {std::move(tensors), std::move(layout.metadata)};
}

// ------------------------------------------------------------------ checkpoints

namespace {
constexpr std::string_view model_prefix = "model.", optimizer_prefix = "optimizer.";
}  // namespace

void save_checkpoint(const std::filesystem::path& path, const StateDict& model, const StateDict& optimizer,
                     std::int64_t step, Here at) {
  if (step < 0) detail::fail<ValueError>("save_checkpoint", "the step must be >= 0", std::to_string(step), at);
  StateDict tensors;
  for (const auto& [name, t] : model) tensors.insert(std::string(model_prefix) + name, t, at);
  for (const auto& [name, t] : optimizer) tensors.insert(std::string(optimizer_prefix) + name, t, at);
  const SafetensorsMetadata metadata{{"format", "tapegrad.checkpoint"}, {"step", std::to_string(step)}};
  save_file("save_checkpoint", path, tensors, metadata, at);
}

Checkpoint load_checkpoint(const std::filesystem::path& path, Here at) {
  return with_file<Checkpoint>(
      "load_checkpoint", path, at, [](const st::Layout& layout, const ReadAt& read, const st::Source& source) {
        Checkpoint checkpoint;
        const auto step = layout.metadata.find("step");
        const std::string text = step == layout.metadata.end() ? "" : step->second;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), checkpoint.step);
        if (step == layout.metadata.end() || text.empty() || error != std::errc() || end != text.data() + text.size() ||
            checkpoint.step < 0)
          source.fail("a checkpoint's metadata must give the step as an integer >= 0",
                      step == layout.metadata.end() ? "no 'step'" : "step " + detail::in_quotes(text));
        for (const st::Entry& e : layout.entries)
          if (!e.name.starts_with(model_prefix) && !e.name.starts_with(optimizer_prefix))
            source.fail("a checkpoint's tensors must be named 'model.*' or 'optimizer.*'", detail::in_quotes(e.name));
        for (const auto& [name, t] : read_tensors(layout, read, source)) {
          if (name.starts_with(model_prefix))
            checkpoint.model.insert(name.substr(model_prefix.size()), t, source.at);
          else
            checkpoint.optimizer.insert(name.substr(optimizer_prefix.size()), t, source.at);
        }
        return checkpoint;
      });
}

}  // namespace tapegrad
