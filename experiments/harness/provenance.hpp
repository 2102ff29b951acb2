// Where a result came from: the build (git revision, library versions) and the machine.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace kraus::experiments {

// `git rev-parse HEAD` of the source tree when CMake configured the build ("unknown" outside a
// git checkout). Reconfigure after committing to update it.
std::string git_revision();
// Whether `git status --porcelain` listed changes at configure time: "yes", "no" or "unknown".
std::string git_worktree_modified();

// {"kraus": "0.1.0", "armadillo": "11.4.2 (Ship of Theseus)", "nlohmann_json": "3.11.2",
//  "compiler": "GCC 12.2.0", "build_type": "Release", "openmp": true, "zlib": "1.2.13"}.
nlohmann::ordered_json library_versions();

// {"hostname", "cpu", "cores" (logical, online), "memory_bytes" (MemTotal), "os" (uname)}.
nlohmann::ordered_json machine_info();

// The current UTC time as ISO 8601, e.g. "2025-01-31T12:00:00Z".
std::string utc_now();

}  // namespace kraus::experiments
