// Running a study binary from a test: a scratch folder, spawning with stdout and stderr to files,
// waiting, reading the tidy CSV back, and the kill -9 and resume check (shared by the exp_* program
// tests).
#pragma once

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/store.hpp"

extern char** environ;

namespace kraus::test::study {

namespace fs = std::filesystem;

// A fresh folder under the system's temporary directory, removed with everything in it.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& prefix) {
    std::string tmpl = (fs::temp_directory_path() / (prefix + "_XXXXXX")).string();
    path = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void append_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::app);
  out << text;
}

// Starts `binary` with `args`, stdout and stderr to the given files.
inline pid_t start(const std::string& binary, const std::vector<std::string>& args, const fs::path& out,
                   const fs::path& err) {
  std::vector<std::string> all = {binary};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  return pid;
}

struct Result {
  int status = -1;  // exit status, or 128 + signal
  std::string out, err;
};

inline Result finish(pid_t pid, const fs::path& out, const fs::path& err) {
  int wstatus = 0;
  REQUIRE(waitpid(pid, &wstatus, 0) == pid);
  Result r;
  r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

inline Result run(const std::string& binary, const std::vector<std::string>& args, const fs::path& scratch) {
  const fs::path out = scratch / "stdout.txt", err = scratch / "stderr.txt";
  return finish(start(binary, args, out, err), out, err);
}

inline std::size_t count_lines(const fs::path& p) {
  const std::string s = slurp(p);
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

struct Table {
  std::vector<std::string> header;
  std::vector<std::map<std::string, std::string>> rows;
};

// Every row must have as many fields as the header.
inline Table read_csv(const fs::path& p) {
  std::ifstream in(p);
  Table t;
  std::string line;
  REQUIRE(std::getline(in, line));
  t.header = kraus::experiments::csv_split(line);
  while (std::getline(in, line)) {
    const std::vector<std::string> fields = kraus::experiments::csv_split(line);
    REQUIRE(fields.size() == t.header.size());
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < fields.size(); ++i) row[t.header[i]] = fields[i];
    t.rows.push_back(row);
  }
  return t;
}

inline double num(const std::map<std::string, std::string>& row, const std::string& column) {
  return std::stod(row.at(column));
}

// Runs `binary --quick --threads 1 --out OUT` and checks what every study's quick run must do: exit
// status 0, nothing on stdout, `points` grid points announced and measured, the CSV header
// `columns`. Returns the CSV.
inline Table run_quick(const std::string& binary, const std::string& study, std::size_t points,
                       const std::vector<std::string>& columns, const fs::path& out, const fs::path& scratch) {
  const Result r = run(binary, {"--quick", "--threads", "1", "--out", out.string()}, scratch);
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.empty());
  const std::string n = std::to_string(points);
  CHECK_THAT(r.err, Catch::Matchers::Contains(n + " grid points") &&
                        Catch::Matchers::Contains("[" + n + "/" + n + "]"));
  const Table t = read_csv(out / (study + ".csv"));
  CHECK(t.header == columns);
  return t;
}

// A study run killed with SIGKILL and started again must end with exactly the CSV of an
// uninterrupted run: no row lost, none twice, every value but the timings equal.
struct ResumeCheck {
  std::string binary;               // the exp_* program
  std::string study;                // its StudySpec::name: DIR/<study>.csv
  std::vector<std::string> args;    // the grid, without --out
  std::size_t points = 0;           // grid points
  std::size_t kill_after = 4;       // points each interrupted run completes (at least) before the kill
  std::set<std::string> varying;    // columns that may differ between runs (wall clock, memory)
};

// Runs the grid to completion into scratch/reference. Then into scratch/resumed: starts it and
// kills it (SIGKILL) once kill_after points are recorded; appends what a kill while writing rows
// leaves (the complete rows of the next point, not yet recorded, and a torn line); runs and kills
// it again; appends what a kill while writing a key leaves (a torn progress line); runs it to the
// end. The resumed CSV must equal the reference line for line (points are recorded in grid order)
// but for the `varying` columns, the progress file must list every point once, and the JSON must
// record the three runs.
inline void check_kill_and_resume(const ResumeCheck& c, const fs::path& scratch) {
  const fs::path reference = scratch / "reference", resumed = scratch / "resumed";
  auto with_out = [&](const fs::path& d) {
    std::vector<std::string> a = c.args;
    a.insert(a.end(), {"--out", d.string()});
    return a;
  };
  const fs::path csv = resumed / (c.study + ".csv"), progress = resumed / (c.study + ".progress");
  const Result ref = run(c.binary, with_out(reference), scratch);
  INFO(ref.err);
  REQUIRE(ref.status == 0);
  const Table expected = read_csv(reference / (c.study + ".csv"));
  const std::vector<std::string> keys =
      nlohmann::json::parse(slurp(reference / (c.study + ".json")))["output"]["key_columns"];
  auto point_of = [&](const std::map<std::string, std::string>& row) {
    std::string k;
    for (const std::string& column : keys) k += row.at(column) + "|";
    return k;
  };

  auto run_and_kill = [&](std::size_t points_done) {
    const fs::path out = scratch / "kill.out", err = scratch / "kill.err";
    const pid_t pid = start(c.binary, with_out(resumed), out, err);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
    while (count_lines(progress) < points_done && std::chrono::steady_clock::now() < deadline) {
      int wstatus = 0;
      if (waitpid(pid, &wstatus, WNOHANG) == pid) FAIL(c.binary << " ended before it was killed: " << slurp(err));
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    REQUIRE(kill(pid, SIGKILL) == 0);
    const Result r = finish(pid, out, err);
    REQUIRE(r.status == 128 + SIGKILL);
    return r;
  };
  run_and_kill(c.kill_after);
  const std::size_t done_first = count_lines(progress);
  REQUIRE(done_first + c.kill_after < c.points);
  {
    // The rows of the first point not recorded, complete, then a torn line.
    const std::size_t rows_done = read_csv(csv).rows.size();
    REQUIRE(rows_done < expected.rows.size());
    std::string orphan;
    const std::string point = point_of(expected.rows[rows_done]);
    for (std::size_t i = rows_done; i < expected.rows.size() && point_of(expected.rows[i]) == point; ++i) {
      std::vector<std::string> fields;
      for (const std::string& column : expected.header) fields.push_back(expected.rows[i].at(column));
      orphan += kraus::experiments::csv_line(fields);
    }
    append_text(csv, orphan + c.study + ",torn");
  }
  const Result second = run_and_kill(done_first + c.kill_after);
  CHECK_THAT(second.err, Catch::Matchers::Contains("resuming") &&
                             Catch::Matchers::Contains("dropped the unfinished point"));
  append_text(progress, "noise_model=torn");

  const Result last = run(c.binary, with_out(resumed), scratch);
  INFO(last.err);
  REQUIRE(last.status == 0);
  CHECK_THAT(last.err, Catch::Matchers::Contains("done earlier (resuming)"));
  const Table got = read_csv(csv);
  CHECK(got.header == expected.header);
  REQUIRE(got.rows.size() == expected.rows.size());
  for (std::size_t i = 0; i < got.rows.size(); ++i) {
    CAPTURE(i, point_of(expected.rows[i]));
    for (const std::string& column : expected.header) {
      if (c.varying.count(column)) continue;
      CAPTURE(column);
      CHECK(got.rows[i].at(column) == expected.rows[i].at(column));  // the same seeds give the same digits
    }
  }
  CHECK(count_lines(progress) == c.points);
  const nlohmann::json j = nlohmann::json::parse(slurp(resumed / (c.study + ".json")));
  CHECK(j["status"] == "complete");
  CHECK(j["output"]["points_done"] == c.points);
  REQUIRE(j["runs"].size() == 3);
  CHECK(j["runs"][0]["status"] == "running");  // killed
  CHECK(j["runs"][1]["points_done_before"] == done_first);
  CHECK(j["runs"][2]["status"] == "complete");
}

}  // namespace kraus::test::study
