#include "harness/provenance.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <ctime>
#include <fstream>

#include <armadillo>

#include "data/datasets.hpp"
#include "harness/resources.hpp"

// Set by experiments/CMakeLists.txt on this file only (configure time).
#ifndef KRAUS_GIT_REVISION
#define KRAUS_GIT_REVISION "unknown"
#endif
#ifndef KRAUS_GIT_MODIFIED
#define KRAUS_GIT_MODIFIED "unknown"
#endif
#ifndef KRAUS_VERSION
#define KRAUS_VERSION "unknown"
#endif
#ifndef KRAUS_BUILD_TYPE
#define KRAUS_BUILD_TYPE "unknown"
#endif

namespace kraus::experiments {

std::string git_revision() { return KRAUS_GIT_REVISION; }
std::string git_worktree_modified() { return KRAUS_GIT_MODIFIED; }

nlohmann::ordered_json library_versions() {
  nlohmann::ordered_json v;
  v["kraus"] = KRAUS_VERSION;
  v["armadillo"] = arma::arma_version::as_string();
  v["nlohmann_json"] = std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." + std::to_string(NLOHMANN_JSON_VERSION_MINOR) +
                       "." + std::to_string(NLOHMANN_JSON_VERSION_PATCH);
#if defined(__clang__)
  v["compiler"] = std::string("Clang ") + __clang_version__;
#elif defined(__GNUC__)
  v["compiler"] = "GCC " + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
                  std::to_string(__GNUC_PATCHLEVEL__);
#else
  v["compiler"] = "unknown";
#endif
  v["cplusplus"] = static_cast<long>(__cplusplus);
  v["build_type"] = KRAUS_BUILD_TYPE;
#ifdef KRAUS_EXPERIMENTS_OPENMP
  v["openmp"] = true;
#else
  v["openmp"] = false;
#endif
#if defined(__SANITIZE_ADDRESS__)
  v["sanitizers"] = "address";
#endif
  v["zlib"] = zlib_library_version();
  return v;
}

nlohmann::ordered_json machine_info() {
  nlohmann::ordered_json m;
  char host[256] = {};
  m["hostname"] = gethostname(host, sizeof host - 1) == 0 ? std::string(host) : std::string("unknown");
  std::string cpu = "unknown";
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) cpu = line.substr(line.find_first_not_of(" \t", colon + 1));
      break;
    }
  }
  m["cpu"] = cpu;
  m["cores"] = static_cast<long>(sysconf(_SC_NPROCESSORS_ONLN));
  m["memory_bytes"] = total_memory_bytes();
  struct utsname u {};
  if (uname(&u) == 0) m["os"] = std::string(u.sysname) + " " + u.release + " " + u.machine;
  return m;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace kraus::experiments
