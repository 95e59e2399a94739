// How many threads tapegrad's kernels may use.
#pragma once

#include <source_location>

namespace tapegrad {

// Sets the number of threads for all later kernels (process-wide). The environment variable
// TAPEGRAD_NUM_THREADS sets the starting value; by default all hardware threads are used.
// Results do not depend on the thread count (Note [Deterministic chunking] in src/parallel.hpp).
void set_num_threads(int n, std::source_location at = std::source_location::current());
int get_num_threads();

}  // namespace tapegrad
