#include "common.hpp"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "kraus/dist/dist.hpp"
#include "kraus/noise/text.hpp"

// KRAUS_VERSION, KRAUS_GIT_REVISION and KRAUS_GIT_MODIFIED come from cli/CMakeLists.txt.

namespace kraus::cli {

using kraus::noise::printable;

const char* g_stage = "starting";

void write_out(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) {
    throw WriteError(std::string("cannot write the output: ") + std::strerror(errno));
  }
}

void finish_output() {
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    throw WriteError(std::string("cannot write the output: ") + std::strerror(errno));
  }
}

void warn(const std::string& text) { std::cerr << "kraus: warning: " << printable(text) << "\n"; }

void progress_note(const std::string& text) { std::cerr << "kraus: " << printable(text) << "\n"; }

std::function<void(std::uint64_t, std::uint64_t)> trajectory_progress() {
  const auto started = std::chrono::steady_clock::now();
  return [started, last = started](std::uint64_t done, std::uint64_t total) mutable {
    const auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::seconds(1) && done < total) return;
    if (done == total && now - started < std::chrono::seconds(1)) return;
    last = now;
    progress_note("trajectories " + std::to_string(done) + "/" + std::to_string(total) + " (" +
                  std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - started).count()) + " s)");
  };
}

double parse_number(const std::string& flag, const char* text) {
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !std::isfinite(v)) {
    throw UsageError(flag + ": '" + printable(text) + "' is not a number");
  }
  return v;
}

long long parse_integer(const std::string& flag, const char* text, long long lo, long long hi) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || errno == ERANGE || v < lo || v > hi) {
    throw UsageError(flag + ": '" + printable(text) + "' is not an integer in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "]");
  }
  return v;
}

std::string version_line() {
  std::string line = std::string("kraus ") + KRAUS_VERSION + " (git " + KRAUS_GIT_REVISION;
  if (std::string(KRAUS_GIT_MODIFIED) == "yes") line += ", with uncommitted changes";
  return line + ")";
}

nlohmann::ordered_json provenance(const std::string& command, int argc, char** argv) {
  nlohmann::ordered_json p;
  p["version"] = KRAUS_VERSION;
  p["git_revision"] = KRAUS_GIT_REVISION;
  p["git_modified"] = KRAUS_GIT_MODIFIED;
  p["ranks"] = kraus::dist::size();
  p["arguments"] = nlohmann::ordered_json::array({command});
  for (int i = 0; i < argc; ++i) p["arguments"].push_back(printable(argv[i]));
  return p;
}

const char* option_value(int argc, char** argv, int& i, const char* command) {
  if (i + 1 >= argc) {
    throw UsageError("option '" + std::string(argv[i]) + "' needs a value (see kraus " + command + " --help)");
  }
  return argv[++i];
}

}  // namespace kraus::cli
