// Running a study binary from a test: a scratch folder, spawning with stdout and stderr to files
// (and optionally a file-size limit), waiting, reading the tidy CSV back, the kill -9 and resume
// check and the damaged-results check (shared by the exp_* program tests).
#pragma once

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
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

// Starts `binary` with `args`, stdout and stderr to the given files. With `max_file_bytes`, no file
// it writes may grow beyond that (RLIMIT_FSIZE, SIGXFSZ ignored: the write fails with EFBIG, as on
// a full disk).
inline pid_t start(const std::string& binary, const std::vector<std::string>& args, const fs::path& out,
                   const fs::path& err, rlim_t max_file_bytes = RLIM_INFINITY) {
  std::vector<std::string> all = {binary};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string out_path = out.string(), err_path = err.string();
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {  // only async-signal-safe calls until exec
    const int o = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0) _exit(127);
    if (max_file_bytes != RLIM_INFINITY) {
      const struct rlimit limit = {max_file_bytes, max_file_bytes};
      if (signal(SIGXFSZ, SIG_IGN) == SIG_ERR || setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(127);
    }
    execve(argv[0], argv.data(), environ);
    _exit(127);
  }
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

inline Result run(const std::string& binary, const std::vector<std::string>& args, const fs::path& scratch,
                  rlim_t max_file_bytes = RLIM_INFINITY) {
  const fs::path out = scratch / "stdout.txt", err = scratch / "stderr.txt";
  return finish(start(binary, args, out, err, max_file_bytes), out, err);
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
// record the three runs. Then the finished results are damaged (a row deleted, a row doubled, a
// value changed, the last line cut short): each time the same command must refuse (exit status 2,
// naming the CSV, the point and --fresh) and change nothing; once repaired it has nothing to do.
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

  const std::string intact = slurp(csv), progress_text = slurp(progress);
  const std::size_t second_row = intact.find('\n') + 1, third_row = intact.find('\n', second_row) + 1;
  const std::string row = intact.substr(second_row, third_row - second_row);
  std::string changed_value = intact;  // the last digit of the first row, in a measured column
  const std::size_t digit = intact.find_last_of("0123456789", third_row - 1);
  REQUIRE(digit > second_row);
  changed_value[digit] = intact[digit] == '7' ? '8' : '7';
  for (const auto& [damage, text] : std::vector<std::pair<std::string, std::string>>{
           {"a row deleted", intact.substr(0, second_row) + intact.substr(third_row)},
           {"a row doubled", intact.substr(0, third_row) + row + intact.substr(third_row)},
           {"a value changed", changed_value},
           {"the last line cut short", intact.substr(0, intact.size() - 2)}}) {
    CAPTURE(damage);
    std::ofstream(csv, std::ios::binary | std::ios::trunc) << text;
    const Result refused = run(c.binary, with_out(resumed), scratch);
    CHECK(refused.status == 2);
    CHECK_THAT(refused.err, Catch::Matchers::Contains(csv.string() + ": ") &&
                                Catch::Matchers::Contains("point 'noise_model=") &&
                                Catch::Matchers::Contains("--fresh"));
    CHECK(slurp(csv) == text);
    CHECK(slurp(progress) == progress_text);
  }
  std::ofstream(csv, std::ios::binary | std::ios::trunc) << intact;
  const Result again = run(c.binary, with_out(resumed), scratch);
  CHECK(again.status == 0);
  CHECK_THAT(again.err, Catch::Matchers::Contains("nothing to do"));
  CHECK(slurp(csv) == intact);
}

// A write that fails (RLIMIT_FSIZE: EFBIG, as ENOSPC on a full disk) must give exit status 1 and a
// message naming the file, record nothing that was not written, and leave files from which the
// same command, run again without the limit, completes the study with the rows of an
// uninterrupted run. Two failures: the very first write (the JSON: nothing else may have been
// written, and the rerun is a first run), and a CSV append after some points (the JSON must then
// say "failed" with the reason, not "running").
inline void check_write_failures(const ResumeCheck& c, const fs::path& scratch) {
  const fs::path reference = scratch / "reference";
  auto with_out = [&](const fs::path& d) {
    std::vector<std::string> a = c.args;
    a.insert(a.end(), {"--out", d.string()});
    return a;
  };
  const Result ref = run(c.binary, with_out(reference), scratch);
  INFO(ref.err);
  REQUIRE(ref.status == 0);
  const std::size_t json_bytes = fs::file_size(reference / (c.study + ".json"));
  const std::size_t csv_bytes = fs::file_size(reference / (c.study + ".csv"));
  auto same_rows = [&](const fs::path& dir) {
    const Table want = read_csv(reference / (c.study + ".csv")), got = read_csv(dir / (c.study + ".csv"));
    REQUIRE(got.rows.size() == want.rows.size());
    for (std::size_t i = 0; i < got.rows.size(); ++i) {
      for (const std::string& column : want.header) {
        if (!c.varying.count(column)) CHECK(got.rows[i].at(column) == want.rows[i].at(column));
      }
    }
  };

  {
    const fs::path dir = scratch / "first_write";
    const Result failed = run(c.binary, with_out(dir), scratch, json_bytes / 2);
    INFO(failed.err);
    CHECK(failed.status == 1);
    CHECK_THAT(failed.err, Catch::Matchers::Contains((dir / (c.study + ".json")).string() + ": cannot write"));
    CHECK_FALSE(fs::exists(dir / (c.study + ".json")));
    CHECK(slurp(dir / (c.study + ".csv")).empty());
    CHECK(slurp(dir / (c.study + ".progress")).empty());
    const Result rerun = run(c.binary, with_out(dir), scratch);
    INFO(rerun.err);
    REQUIRE(rerun.status == 0);
    same_rows(dir);
    const nlohmann::json j = nlohmann::json::parse(slurp(dir / (c.study + ".json")));
    CHECK(j["runs"].size() == 1);
  }
  {
    // Room for the JSON (the reference's plus an error message), not for all the rows.
    const std::size_t limit = json_bytes + 1024;
    REQUIRE(csv_bytes > limit + 256);
    const fs::path dir = scratch / "csv_write";
    const Result failed = run(c.binary, with_out(dir), scratch, limit);
    INFO(failed.err);
    CHECK(failed.status == 1);
    const std::string csv_path = (dir / (c.study + ".csv")).string();
    CHECK_THAT(failed.err, Catch::Matchers::Contains(csv_path + ": cannot write"));
    const nlohmann::json j = nlohmann::json::parse(slurp(dir / (c.study + ".json")));
    CHECK(j["status"] == "failed");
    REQUIRE(j["runs"].size() == 1);
    CHECK(j["runs"][0]["status"] == "failed");
    CHECK_THAT(j["runs"][0]["error"].get<std::string>(), Catch::Matchers::Contains(csv_path + ": cannot write"));
    const std::size_t recorded = count_lines(dir / (c.study + ".progress"));
    CHECK(recorded > 0);
    CHECK(recorded < c.points);
    CHECK(j["output"]["points_done"] == recorded);
    const Result rerun = run(c.binary, with_out(dir), scratch);
    INFO(rerun.err);
    REQUIRE(rerun.status == 0);
    CHECK_THAT(rerun.err, Catch::Matchers::Contains(std::to_string(recorded) + " done earlier (resuming)"));
    same_rows(dir);
    CHECK(count_lines(dir / (c.study + ".progress")) == c.points);
  }
}

}  // namespace kraus::test::study
