// Seeded random tensors from a counter-based generator (Philox4x32-10): element i of a draw depends
// only on (seed, position of the draw, i), so a seed gives the same numbers whatever the thread count.
#pragma once

#include <cstdint>
#include <source_location>

#include "tapegrad/tensor.hpp"

namespace tapegrad {

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0) : seed_(seed) {}
  void manual_seed(std::uint64_t seed) { seed_ = seed; offset_ = 0; }
  std::uint64_t seed() const { return seed_; }
  // Reserves `count` counters and returns the first: each draw uses fresh counters.
  std::uint64_t advance(std::uint64_t count) { auto first = offset_; offset_ += count; return first; }

 private:
  std::uint64_t seed_;
  std::uint64_t offset_ = 0;
};

// The process's default generator (used when none is passed). Not thread-safe: seed it, then draw
// from one thread or give each thread its own Generator.
Generator& default_generator();
void manual_seed(std::uint64_t seed);

// Draws take a floating dtype (DTypeError otherwise), except randint, which makes int64.
// U[low, high)
Tensor uniform(Shape shape, double low = 0.0, double high = 1.0, DType dtype = float32, Generator* gen = nullptr,
               std::source_location at = std::source_location::current());
Tensor rand(Shape shape, DType dtype = float32, Generator* gen = nullptr,
            std::source_location at = std::source_location::current());
// N(mean, std²)
Tensor normal(Shape shape, double mean = 0.0, double std = 1.0, DType dtype = float32, Generator* gen = nullptr,
              std::source_location at = std::source_location::current());
Tensor randn(Shape shape, DType dtype = float32, Generator* gen = nullptr,
             std::source_location at = std::source_location::current());
// 1 with probability p, else 0.
Tensor bernoulli(Shape shape, double p, DType dtype = float32, Generator* gen = nullptr,
                 std::source_location at = std::source_location::current());
// Element-wise probabilities from a tensor; result has its shape and dtype.
Tensor bernoulli(const Tensor& probabilities, Generator* gen = nullptr,
                 std::source_location at = std::source_location::current());
// Uniform integers in [low, high) as int64, exact over any int64 range.
Tensor randint(std::int64_t low, std::int64_t high, Shape shape, Generator* gen = nullptr,
               std::source_location at = std::source_location::current());

}  // namespace tapegrad
