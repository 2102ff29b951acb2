// What the commands of `kraus` share: error kinds, checked output, option parsing.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace kraus::cli {

// A bad command line: exit status 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A failed write to stdout: exit status 1.
struct WriteError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What the program is doing, for the message of an allocation that fails anyway.
extern const char* g_stage;

// Everything on stdout goes through write_out: a failed write throws WriteError at once.
void write_out(const std::string& text);
// Flushes stdout; WriteError when that or any earlier write failed.
void finish_output();
// A warning on stderr: "kraus: warning: <text>".
void warn(const std::string& text);
// "kraus: TEXT" on stderr: progress of a long run (not a warning; the JSON does not list it).
void progress_note(const std::string& text);
// The progress callback of a trajectory run (TrajectoryOptions::progress): "trajectories N/M (S s)"
// through progress_note at most once a second, and only for runs longer than a second.
std::function<void(std::uint64_t, std::uint64_t)> trajectory_progress();

// Option values; UsageError naming the flag on bad text or a value outside [lo, hi].
double parse_number(const std::string& flag, const char* text);
long long parse_integer(const std::string& flag, const char* text, long long lo, long long hi);
// The value of option argv[i] (which takes one), advancing i; UsageError when it is missing.
const char* option_value(int argc, char** argv, int& i, const char* command);

// "kraus 0.1.0 (git 0123abcd..., with uncommitted changes)": the version and the revision CMake
// configured from ("unknown" outside a git checkout).
std::string version_line();
// What a run records about itself: {"version", "git_revision", "git_modified", "ranks" (MPI ranks,
// 1 without), "arguments"}: the
// command and its arguments argv[0..argc), quoted through printable.
nlohmann::ordered_json provenance(const std::string& command, int argc, char** argv);

// The commands (argv starts after the command name).
int run_simulate(int argc, char** argv);
int run_gradient(int argc, char** argv);
int run_demo(int argc, char** argv);
int run_noise(int argc, char** argv);
extern const char* const kSimulateUsage;
extern const char* const kGradientUsage;
extern const char* const kDemoUsage;
extern const char* const kNoiseUsage;

}  // namespace kraus::cli
