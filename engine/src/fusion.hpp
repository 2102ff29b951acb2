// Operator fusion of a compiled program's fixed steps (internal to engine; see program.hpp).
#pragma once

#include <vector>

#include "kraus/engine/program.hpp"

namespace kraus::engine::detail {

// The forward schedule of `steps`: fixed steps merged into one call when the cost model of
// program.hpp (CompileOptions) says the merged call is cheaper, also across steps on other qubits
// (with which they commute); the result equals the steps applied in order. `sources[j]` receives the
// step index of a call that is not fixed (a rotation or angle-dependent channel, never merged), -1
// for fixed calls.
std::vector<noise::KernelCall> fuse(const std::vector<Step>& steps, const CompileOptions& options,
                                    std::vector<int>* sources);

}  // namespace kraus::engine::detail
