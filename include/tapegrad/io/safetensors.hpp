// safetensors files: named tensors as PyTorch's ecosystem saves them (safetensors.torch.save_file /
// load_file), and checkpoints (model + optimiser + step) in one such file. Standard library only:
// the format is implemented in src/io/safetensors*.cpp.
//
// The format (../shared/REFERENCE.md "File formats"): an 8-byte little-endian length N, N bytes of
// JSON naming each tensor's dtype, shape and byte range, then the data. Loading checks every rule of
// the format before it allocates a tensor; a truncated, corrupt or hostile file is an IoError naming
// the rule broken and the file, never a crash, a hang or an allocation larger than the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "tapegrad/here.hpp"
#include "tapegrad/state_dict.hpp"

namespace tapegrad {

// A file's free-form metadata ("__metadata__": string to string; torch writes {"format": "pt"}).
using SafetensorsMetadata = std::map<std::string, std::string>;

// Writes `tensors` (float32, float64 or int64, any layout: written in C order) in their order, and
// `metadata` if not empty. The header is padded with spaces to a multiple of 8 bytes, as the
// reference writer pads it. The file appears whole or not at all (Note [Atomic save]): a failed save
// leaves the previous file at `path` as it was. IoError when the folder cannot be written; ValueError
// for a name or metadata that is not UTF-8, or a tensor named "__metadata__".
void save_safetensors(const std::filesystem::path& path, const StateDict& tensors,
                      const SafetensorsMetadata& metadata = {}, Here at = Here::current());

// The tensors of a safetensors file, in the order of their data in the file. F32, F64 and I64 are
// read as float32, float64 and int64; BF16 and F16 as float32 (exactly: subnormals, infinities and
// NaN kept). Another dtype (I32, U8, BOOL, ...) is an IoError naming it. The tensors do not require
// grad.
StateDict load_safetensors(const std::filesystem::path& path, Here at = Here::current());

// The file's "__metadata__" (empty when it has none). Reads and checks the header only.
SafetensorsMetadata load_safetensors_metadata(const std::filesystem::path& path, Here at = Here::current());

// The same format in memory: the bytes save_safetensors would write, and the tensors and metadata of
// such bytes (every rule checked as for a file; the target of the loader's fuzzing).
std::string safetensors_to_bytes(const StateDict& tensors, const SafetensorsMetadata& metadata = {},
                                 Here at = Here::current());
struct SafetensorsContents {
  StateDict tensors;
  SafetensorsMetadata metadata;
};
SafetensorsContents safetensors_from_bytes(std::string_view bytes, Here at = Here::current());

// A training checkpoint: a model's and an optimiser's state dicts and the step count, as ONE
// safetensors file (written atomically) whose tensors are named "model.<name>" and
// "optimizer.<name>" and whose metadata holds "step" (and "format": "tapegrad.checkpoint").
struct Checkpoint {
  StateDict model;
  StateDict optimizer;
  std::int64_t step = 0;
};
void save_checkpoint(const std::filesystem::path& path, const StateDict& model, const StateDict& optimizer,
                     std::int64_t step, Here at = Here::current());
// IoError (beyond the format's rules) when a tensor's name has neither prefix or "step" is missing or
// not an integer.
Checkpoint load_checkpoint(const std::filesystem::path& path, Here at = Here::current());

}  // namespace tapegrad
