// Seeded float32 inputs for the benchmarks that run our ops.
#pragma once

#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdint>
#include <tapegrad/tapegrad.hpp>

namespace bench {

// U[low, high) of `shape`, the same numbers for the same seed.
inline tapegrad::Tensor input(tapegrad::Shape shape, double low, double high, std::uint64_t seed) {
  tapegrad::Generator gen(seed);
  return tapegrad::uniform(std::move(shape), low, high, tapegrad::float32, &gen);
}

// Runs the timed loop of `state` over step() and adds counters per step: page faults (getrusage
// ru_minflt), bytes handed out by the allocator, allocations that reached the system, peak resident MB.
template <class Step>
void timed_steps(benchmark::State& state, Step&& step) {
  rusage before_usage{}, after_usage{};
  getrusage(RUSAGE_SELF, &before_usage);
  const tapegrad::MemoryStats before = tapegrad::memory_stats();
  for (auto _ : state) step();
  getrusage(RUSAGE_SELF, &after_usage);
  const tapegrad::MemoryStats after = tapegrad::memory_stats();
  const auto steps = static_cast<double>(state.iterations());
  state.counters["faults_per_step"] = static_cast<double>(after_usage.ru_minflt - before_usage.ru_minflt) / steps;
  state.counters["bytes_per_step"] = static_cast<double>(after.bytes_allocated - before.bytes_allocated) / steps;
  state.counters["system_allocs_per_step"] = static_cast<double>(after.from_os - before.from_os) / steps;
  state.counters["peak_rss_mb"] = static_cast<double>(after_usage.ru_maxrss) / 1024.0;
}

}  // namespace bench
