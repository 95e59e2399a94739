// The one include for users. Standard library only underneath: no xtensor, xsimd or TBB headers
// (those stay in src/), so a user's file compiles fast. For xt::xarray interop see xtensor.hpp.
#pragma once

#include "tapegrad/dtype.hpp"
#include "tapegrad/error.hpp"
#include "tapegrad/function.hpp"
#include "tapegrad/functional.hpp"
#include "tapegrad/grad_shards.hpp"
#include "tapegrad/gradcheck.hpp"
#include "tapegrad/io.hpp"
#include "tapegrad/hooks.hpp"
#include "tapegrad/memory.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/index.hpp"
#include "tapegrad/ops/linalg.hpp"
#include "tapegrad/ops/loss.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shape.hpp"
#include "tapegrad/random.hpp"
#include "tapegrad/state_dict.hpp"
#include "tapegrad/tape.hpp"
#include "tapegrad/tensor.hpp"
#include "tapegrad/threads.hpp"
