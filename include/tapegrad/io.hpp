// Reading and writing tensors as files. Standard library only: the .npy format is implemented in
// src/io/npy.cpp (Note [xtensor's place]).
#pragma once

#include <filesystem>

#include "tapegrad/tensor.hpp"

namespace tapegrad {

// A tensor read from a NumPy .npy file (format versions 1.0, 2.0 and 3.0), as numpy.save writes
// it: dtype float32 ('<f4'), float64 ('<f8') or int64 ('<i8'), C order, little endian. Anything
// else (another dtype, a big-endian or Fortran-order array, a truncated or malformed file) raises
// IoError naming the rule the file breaks; nothing is allocated before the header has been checked
// against the file's size.
Tensor load_npy(const std::filesystem::path& path, Here at = Here::current());

// Writes t (any layout, copied in C order; float32, float64 or int64) as a .npy file that
// numpy.load reads. The file appears whole or not at all: it is written to a temporary file in the
// same folder, flushed to disk, then renamed over `path`. IoError when the folder cannot be written.
void save_npy(const std::filesystem::path& path, const Tensor& t, Here at = Here::current());

}  // namespace tapegrad
