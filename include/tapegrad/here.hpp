// Here: the caller's line. Every public function takes `Here at = Here::current()` as its last
// parameter, so an error names the user's file:line (error.hpp), not the library's.
#pragma once

#include <source_location>

namespace tapegrad {

using Here = std::source_location;

}  // namespace tapegrad
