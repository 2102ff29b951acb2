// Running the `kraus` program from the CLI tests: a scratch directory per process, and kraus_cli,
// which runs the binary through /bin/sh and captures its exit status, stdout and stderr.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#ifndef KRAUS_CLI_BINARY
#error "KRAUS_CLI_BINARY must name the kraus program"
#endif

namespace kraus::test::cli {

namespace fs = std::filesystem;

// A scratch directory for this process, removed at exit.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    path = fs::temp_directory_path() / ("kraus_cli_test_" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

inline const fs::path& scratch() {
  static ScratchDir dir;
  return dir.path;
}

inline std::string write_scratch(const std::string& name, const std::string& contents) {
  const fs::path p = scratch() / name;
  std::ofstream(p, std::ios::binary) << contents;
  return p.string();
}

inline std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Single-quoted for /bin/sh.
inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct Result {
  int status = -1;  // exit status, -1 when the program did not exit normally
  std::string out, err;
};

// Runs kraus with `args`; `prefix` goes before the command in the shell (e.g. "ulimit -v 3000000;"
// or "OMP_NUM_THREADS=5000"), `stdout_to` replaces the redirection of stdout to a file (e.g.
// ">/dev/full" or ">&-"; then Result::out stays empty).
inline Result kraus_cli(const std::vector<std::string>& args, const std::string& prefix = "",
                 const std::string& stdout_to = "") {
  static int counter = 0;
  const fs::path out = scratch() / ("stdout_" + std::to_string(counter) + ".txt");
  const fs::path err = scratch() / ("stderr_" + std::to_string(counter) + ".txt");
  ++counter;
  std::string command = prefix + " " + quote(KRAUS_CLI_BINARY);
  for (const std::string& a : args) command += " " + quote(a);
  command += " </dev/null " + (stdout_to.empty() ? ">" + quote(out.string()) : stdout_to) + " 2>" + quote(err.string());
  const int rc = std::system(command.c_str());
  Result r;
  r.status = rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = read_all(out);
  r.err = read_all(err);
  return r;
}

inline std::string show(const Result& r) {
  return "exit status " + std::to_string(r.status) + "\n--- stdout ---\n" + r.out + "--- stderr ---\n" + r.err;
}

// stderr without the progress lines of runs longer than a second ("kraus: trajectories 1872/6000
// (1 s)"), which depend on the machine's speed.
inline std::string without_progress(const std::string& err) {
  std::string out;
  std::istringstream lines(err);
  for (std::string line; std::getline(lines, line);) {
    const bool progress = line.rfind("kraus: trajectories ", 0) == 0 && line.size() > 3 &&
                          line.compare(line.size() - 3, 3, " s)") == 0;
    if (!progress) out += line + "\n";
  }
  return out;
}

}  // namespace kraus::test::cli
