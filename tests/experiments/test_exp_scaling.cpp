// exp_scaling run as a program: its CSV and JSON, resuming after kill -9 (no duplicate, no missing
// row, the same rows as an uninterrupted run), and every refusal (exit status 2, nothing written).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "study_process.hpp"

using Catch::Matchers::Contains;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const std::vector<std::string> kColumns = {
    "study",       "noise_model",           "method",                "noise_scale",      "qubits",           "depth",
    "seed",        "threads",               "seconds_per_evaluation", "seconds_min",     "seconds_max",
    "repetitions", "evaluations_per_sample", "gates",                "gate_noise_channels", "state_bytes",
    "peak_rss_bytes", "peak_rss_increase_bytes", "rss_before_bytes", "peak_rss_reset", "trace",
    "purity", "trajectories", "z0", "z0_stderr", "epoch_samples", "seconds_per_epoch", "epoch_circuit_evaluations", "epoch_peak_rss_increase_bytes"};

using kraus::test::study::count_lines;
using kraus::test::study::num;
using kraus::test::study::read_csv;
using kraus::test::study::Result;
using kraus::test::study::slurp;
using kraus::test::study::Table;

struct TempDir : kraus::test::study::TempDir {
  TempDir() : kraus::test::study::TempDir("kraus_exp_scaling") {}
};

Result run(const std::vector<std::string>& args, const fs::path& scratch) {
  return kraus::test::study::run(KRAUS_EXP_SCALING_BINARY, args, scratch);
}

std::string key(const std::map<std::string, std::string>& row) {
  return row.at("noise_model") + " " + row.at("method") + " " + row.at("noise_scale") + " " + row.at("qubits") + " " + row.at("depth") + " " +
         row.at("seed");
}

}  // namespace

TEST_CASE("exp_scaling: epoch columns are empty above --epoch-max-qubits and with --epoch-samples 0",
          "[experiments][exp_scaling]") {
  TempDir dir;
  for (const auto& [extra, timed] : std::vector<std::pair<std::vector<std::string>, int>>{
           {{"--epoch-max-qubits", "3"}, 3}, {{"--epoch-samples", "0"}, 0}}) {
    std::vector<std::string> args = {"--noise", "ideal", "--qubits", "2:4", "--depth", "1", "--repetitions", "1",
                                     "--threads", "1", "--fresh", "--out", (dir.path / "r").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    const Result r = run(args, dir.path);
    INFO(r.err);
    REQUIRE(r.status == 0);
    const Table t = read_csv(dir.path / "r" / "scaling.csv");
    REQUIRE(t.rows.size() == 3);
    for (const auto& row : t.rows) {
      CAPTURE(extra, key(row));
      const bool measured = std::stoi(row.at("qubits")) <= timed;
      for (const char* c : {"epoch_samples", "seconds_per_epoch", "epoch_circuit_evaluations",
                            "epoch_peak_rss_increase_bytes"}) {
        CHECK(row.at(c).empty() == !measured);
      }
      // 8 samples (default): from n = 4 on, fewer than twice as many as the n readouts, so a forward and
      // a backward pass each; at 2 and 3 qubits data mixtures, n backward passes for the readouts and one
      // adjoint gradient for the logit (2 passes).
      const int n = std::stoi(row.at("qubits"));
      if (measured) CHECK(std::stoi(row.at("epoch_circuit_evaluations")) == (8 >= 2 * n ? n + 2 : 16));
    }
  }
}

TEST_CASE("exp_scaling --quick: documented columns, one row per grid point, values in range",
          "[experiments][exp_scaling]") {
  TempDir dir;
  const fs::path out = dir.path / "results";
  const Table t = kraus::test::study::run_quick(KRAUS_EXP_SCALING_BINARY, "scaling", 56, kColumns, out, dir.path);
  REQUIRE(t.rows.size() == 56);  // qubits 2..8 x depth {2, 4} x {ideal, depolarizing} x both methods
  // <Z_0> of each (noise model, qubits, depth) by the density matrix, to compare the trajectories' with.
  std::map<std::string, double> exact_z0;
  for (const auto& row : t.rows) {
    if (row.at("method") == "density-matrix") {
      exact_z0[row.at("noise_model") + " " + row.at("qubits") + " " + row.at("depth")] = num(row, "z0");
    }
  }
  REQUIRE(exact_z0.size() == 28);
  std::set<std::string> keys;
  bool allocated_8 = false;  // rows come in grid order: the density matrix first at each qubit count
  for (const auto& row : t.rows) {
    CAPTURE(key(row));
    keys.insert(key(row));
    const int n = std::stoi(row.at("qubits"));
    const int depth = std::stoi(row.at("depth"));
    CHECK(row.at("study") == "scaling");
    CHECK((row.at("noise_model") == "ideal" || row.at("noise_model") == "depolarizing"));
    CHECK((n >= 2 && n <= 8));
    CHECK((depth == 2 || depth == 4));
    CHECK(row.at("seed") == "1");
    CHECK(row.at("noise_scale") == "1");
    CHECK(row.at("threads") == "1");
    CHECK(row.at("repetitions") == "3");
    CHECK(num(row, "seconds_per_evaluation") > 0);
    CHECK(num(row, "seconds_per_evaluation") < 10);
    CHECK(num(row, "seconds_min") <= num(row, "seconds_per_evaluation"));
    CHECK(num(row, "seconds_per_evaluation") <= num(row, "seconds_max"));
    CHECK(num(row, "evaluations_per_sample") >= 1);
    CHECK(row.at("gates") == std::to_string(depth * (2 * n - 1)));
    CHECK(row.at("gate_noise_channels") == (row.at("noise_model") == "ideal" ? "0" : row.at("gates")));
    CHECK(num(row, "rss_before_bytes") > 0);
    CHECK((row.at("peak_rss_reset") == "0" || row.at("peak_rss_reset") == "1"));
    const double exact = exact_z0.at(row.at("noise_model") + " " + row.at("qubits") + " " + row.at("depth"));
    if (row.at("method") == "trajectories") {
      // 200 trajectories (--quick) of one state vector per thread; <Z_0> within 5 standard errors, or
      // 5 / sqrt(N) where rare errors leave the sample's own standard error unreliable (the engine's
      // tests check the statistics).
      CHECK(row.at("trajectories") == "200");
      CHECK(row.at("state_bytes") == std::to_string(16ULL << n));
      CHECK(row.at("trace").empty());
      CHECK(row.at("purity").empty());
      CHECK(std::fabs(num(row, "z0") - exact) <= 5.0 * std::max(num(row, "z0_stderr"), 1.0 / std::sqrt(200.0)));
      if (row.at("noise_model") == "ideal") CHECK(num(row, "z0_stderr") == 0.0);
      // The epoch by trajectory SGD: 4 samples (--quick), one walk and one backward pass each.
      CHECK(row.at("epoch_samples") == "4");
      CHECK(row.at("epoch_circuit_evaluations") == "8");
      CHECK(num(row, "seconds_per_epoch") > 0);
      continue;
    }
    CHECK(row.at("method") == "density-matrix");
    CHECK(row.at("trajectories").empty());
    CHECK(num(row, "z0_stderr") == 0.0);
    CHECK(row.at("state_bytes") == std::to_string(16ULL << (2 * n)));
    CHECK(num(row, "peak_rss_bytes") >= num(row, "state_bytes"));
    CHECK(num(row, "peak_rss_bytes") >= num(row, "peak_rss_increase_bytes"));
    // The first density-matrix row of 8 qubits allocated the state (1 MiB): its peak shows it. Later
    // rows of that size reuse it, and their RSS may have fallen below the baseline since (the epoch's
    // buffers are trimmed; a sanitizer's allocator returns memory on its own schedule).
    if (n == 8 && !allocated_8 && row.at("peak_rss_reset") == "1") {
      CHECK(num(row, "peak_rss_increase_bytes") >= 0.5 * num(row, "state_bytes"));
    }
    if (n == 8) allocated_8 = true;
    CHECK(std::fabs(num(row, "trace") - 1.0) < 1e-12);
    // The epoch: 4 samples (--quick), one forward and one adjoint backward pass each, or at 2 qubits
    // data mixtures (2 backward passes for the readouts, 2 for the logit's adjoint gradient).
    CHECK(row.at("epoch_samples") == "4");
    CHECK(std::stoi(row.at("epoch_circuit_evaluations")) == (n == 2 ? 4 : 8));
    CHECK(num(row, "seconds_per_epoch") > 0);
    if (n == 8 && row.at("peak_rss_reset") == "1") {
      // The adjoint pass stores a state per parametrised step: at least a few 1 MiB states.
      CHECK(num(row, "epoch_peak_rss_increase_bytes") >= 2 * num(row, "state_bytes"));
    }
    const double purity = num(row, "purity");
    if (row.at("noise_model") == "ideal") {
      CHECK(std::fabs(purity - 1.0) < 1e-12);
    } else {
      CHECK(purity < 1.0);
      CHECK(purity > std::ldexp(1.0, -n));
    }
  }
  CHECK(keys.size() == 56);
  CHECK(count_lines(out / "scaling.progress") == 56);

  const json j = json::parse(slurp(out / "scaling.json"));
  CHECK(j["study"] == "scaling");
  CHECK(j["status"] == "complete");
  CHECK(j["quick"] == true);
  CHECK(j["options"]["qubits"] == json::array({2, 3, 4, 5, 6, 7, 8}));
  CHECK(j["options"]["depth"] == json::array({2, 4}));
  CHECK(j["options"]["seeds"] == json::array({1}));
  CHECK(j["options"]["noise"] == json::array({"ideal", "depolarizing"}));
  CHECK(j["options"]["threads"] == 1);
  CHECK(j["options"]["repetitions"] == 3);
  CHECK(j["noise_models"]["ideal"]["model"] == json::object());
  CHECK(j["noise_models"]["depolarizing"]["model"]["gate_noise"].size() == 3);
  CHECK(j["git_revision"].get<std::string>().size() > 0);
  CHECK(j["versions"]["kraus"].get<std::string>().size() > 0);
  CHECK(j["versions"]["armadillo"].get<std::string>().size() > 0);
  CHECK(j["versions"]["compiler"].get<std::string>().size() > 0);
  CHECK(j["machine"]["hostname"].get<std::string>().size() > 0);
  CHECK(j["machine"]["cores"].get<int>() >= 1);
  CHECK(j["machine"]["memory_bytes"].get<double>() > 0);
  CHECK(j["output"]["columns"] == kColumns);
  CHECK(j["output"]["rows"] == 56);
  CHECK(j["method"]["circuit"].get<std::string>().size() > 0);
  REQUIRE(j["runs"].size() == 1);
  CHECK(j["runs"][0]["status"] == "complete");
  CHECK(j["runs"][0]["points_measured"] == 56);
}

TEST_CASE("exp_scaling killed with SIGKILL and run again: no duplicate, no missing row", "[experiments][exp_scaling]") {
  TempDir dir;
  kraus::test::study::ResumeCheck c;
  c.binary = KRAUS_EXP_SCALING_BINARY;
  c.study = "scaling";
  c.args = {"--noise", "ideal", "--noise", "depolarizing", "--qubits", "2:6", "--depth", "1:10", "--repetitions", "1", "--min-sample-seconds", "0.001", "--epoch-samples", "2", "--threads", "1"};
  c.points = 2 * 5 * 10;
  c.kill_after = 10;
  c.varying = {"seconds_per_evaluation", "seconds_min", "seconds_max", "evaluations_per_sample", "peak_rss_bytes", "peak_rss_increase_bytes", "rss_before_bytes", "peak_rss_reset", "seconds_per_epoch", "epoch_peak_rss_increase_bytes"};
  kraus::test::study::check_kill_and_resume(c, dir.path);
}

TEST_CASE("exp_scaling: a failed write gives exit status 1, and the same command then completes",
          "[experiments][exp_scaling]") {
  TempDir dir;
  kraus::test::study::ResumeCheck c;
  c.binary = KRAUS_EXP_SCALING_BINARY;
  c.study = "scaling";
  c.args = {"--noise", "ideal", "--noise", "depolarizing", "--qubits", "2:4", "--depth", "1:10", "--repetitions", "1",
            "--min-sample-seconds", "0.001", "--epoch-samples", "2", "--threads", "1"};
  c.points = 2 * 3 * 10;
  c.varying = {"seconds_per_evaluation", "seconds_min", "seconds_max", "evaluations_per_sample", "peak_rss_bytes",
               "peak_rss_increase_bytes", "rss_before_bytes", "peak_rss_reset", "seconds_per_epoch",
               "epoch_peak_rss_increase_bytes"};
  kraus::test::study::check_write_failures(c, dir.path);
}

TEST_CASE("exp_scaling: --threads above the cores runs on the cores, and the JSON records that",
          "[experiments][exp_scaling]") {
  TempDir dir;
  const fs::path out = dir.path / "r";
  const Result r = run({"--noise", "ideal", "--qubits", "2", "--depth", "1", "--repetitions", "1", "--threads", "1024",
                        "--out", out.string()},
                       dir.path);
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.err, Contains("1024 threads requested; using the"));
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  const json j = json::parse(slurp(out / "scaling.json"));
  CHECK(j["options"]["threads"].get<long>() >= 1);
  CHECK(j["options"]["threads"].get<long>() <= cores);
  CHECK(j["options"]["threads"].get<long>() <= j["machine"]["cores"].get<long>());
  CHECK(read_csv(out / "scaling.csv").rows.at(0).at("threads") == j["options"]["threads"].dump());
}

TEST_CASE("exp_scaling refuses bad options and input before writing anything (exit status 2)",
          "[experiments][exp_scaling]") {
  TempDir dir;
  const fs::path out = dir.path / "never";
  const fs::path bad_model = dir.path / "bad.json";
  std::ofstream(bad_model) << R"({"gate_noise": [{"gates": ["ry"], "channel": {"type": "depolarizing", "p": 1.5}}]})";
  const fs::path unfit_model = dir.path / "unfit.json";
  std::ofstream(unfit_model)
      << R"({"gate_noise": [{"gates": ["ry"], "channel": {"type": "pauli", "probabilities": {"XX": 0.1}}}]})";

  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> cases = {
      {{"--qubits", "2:x"}, {"--qubits: '2:x' is not a range"}},
      {{"--qubits", "0:3"}, {"--qubits: 0 is outside 1..30"}},
      {{"--depth", "4:2"}, {"--depth", "empty"}},
      {{"--seeds", "-3"}, {"--seeds: '-3' is not a seed"}},
      {{"--bogus"}, {"unknown option '--bogus'"}},
      {{"--threads", "--bogus"}, {"--threads: missing value (the next argument, '--bogus', is an option"}},
      {{"--bo\x1b[2Jgus"}, {"unknown option '--bo\\x1b[2Jgus'"}},  // control bytes escaped
      {{"--qubits", "2\r\x7f"}, {"--qubits: '2\\x0d\\x7f' is not an integer"}},
      {{"--threads", "-1"}, {"--threads"}},
      {{"--repetitions", "0"}, {"--repetitions: 0 is outside 1..1000"}},
      {{"--noise", "/nonexistent/model.json"}, {"/nonexistent/model.json: no such file"}},
      {{"--noise", "no_such_model"}, {"not a shipped model", "device_like"}},
      {{"--noise", bad_model.string()}, {"bad.json", "gate_noise[0].channel.p"}},
      {{"--noise", unfit_model.string()}, {"noise model 'unfit'", "on 2 qubits", "cannot follow 'ry'"}},
      {{"--noise-scale", "500"}, {"--noise-scale 500: cannot scale noise model 'depolarizing'"}},
      {{"--qubits", "29"}, {"--qubits:", "29 qubits need"}},
  };
  for (const auto& [args, expected] : cases) {
    std::vector<std::string> a = {"--quick", "--out", out.string()};
    a.insert(a.end(), args.begin(), args.end());
    const Result r = run(a, dir.path);
    CAPTURE(a, r.err);
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(r.err.rfind("exp_scaling: ", 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);  // one message
    CHECK(std::none_of(r.err.begin(), r.err.end() - 1, [](char ch) { return ch >= 0 && ch < 0x20; }));
    for (const std::string& e : expected) CHECK_THAT(r.err, Contains(e));
    CHECK_FALSE(fs::exists(out));
  }
  const Result help = run({"--help", "--out", out.string()}, dir.path);
  CHECK(help.status == 0);
  CHECK_THAT(help.out, Contains("usage: exp_scaling") && Contains("--noise-scale LIST"));
  CHECK_FALSE(fs::exists(out));
  const Result unwritable = run({"--quick", "--out", "/proc/kraus-cannot-create"}, dir.path);
  CHECK(unwritable.status == 2);
  CHECK_THAT(unwritable.err, Contains("--out /proc/kraus-cannot-create: cannot create the folder"));
}

TEST_CASE("exp_scaling: other options into the same folder are refused, --fresh starts over, done is done",
          "[experiments][exp_scaling]") {
  TempDir dir;
  const fs::path out = dir.path / "results";
  const fs::path model = dir.path / "mine.json";
  std::ofstream(model) << R"({"gate_noise": [{"gates": ["cx"], "channel": {"type": "phase_flip", "p": 0.01}}]})";
  // The common options, with the qubit list and any others.
  auto args = [&](const std::string& qubits, std::vector<std::string> extra) {
    std::vector<std::string> a = {"--noise", "ideal", "--noise", model.string(), "--qubits", qubits, "--depth", "1",
                                  "--repetitions", "1", "--min-sample-seconds", "0", "--threads", "1",
                                  "--out", out.string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  const std::vector<std::string> small = args("2:3", {});
  REQUIRE(run(small, dir.path).status == 0);
  const std::string csv = slurp(out / "scaling.csv");
  CHECK(read_csv(out / "scaling.csv").rows.size() == 4);

  const Result again = run(small, dir.path);
  CHECK(again.status == 0);
  CHECK_THAT(again.err, Contains("nothing to do: all points were done earlier"));
  CHECK(slurp(out / "scaling.csv") == csv);
  const std::string record = slurp(out / "scaling.json");
  CHECK(json::parse(record)["runs"].size() == 2);

  auto refused = [&](const std::vector<std::string>& command, const std::vector<std::string>& expected) {
    const Result r = run(command, dir.path);
    CAPTURE(command, r.err);
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Contains("scaling.json records a run with different options") && Contains("--fresh"));
    for (const std::string& e : expected) CHECK_THAT(r.err, Contains(e));
    CHECK(slurp(out / "scaling.csv") == csv);
    CHECK(slurp(out / "scaling.json") == record);
  };
  refused(args("2:4", {}), {"qubits [2,3] then, [2,3,4] now"});
  refused(args("2:3", {"--seeds", "2"}), {"seeds [1] then, [2] now"});
  refused({"--noise", "ideal", "--qubits", "2:3", "--depth", "1", "--repetitions", "1", "--min-sample-seconds", "0",
           "--threads", "1", "--out", out.string()},
          {"noise [\"ideal\",\"mine\"] then"});
  std::ofstream(model) << R"({"gate_noise": [{"gates": ["cx"], "channel": {"type": "phase_flip", "p": 0.02}}]})";
  refused(small, {"noise model 'mine'", "has changed since"});

  const Result fresh = run(args("4", {"--fresh"}), dir.path);
  INFO(fresh.err);
  REQUIRE(fresh.status == 0);
  const Table t = read_csv(out / "scaling.csv");
  CHECK(t.rows.size() == 2);
  for (const auto& row : t.rows) CHECK(row.at("qubits") == "4");
  CHECK(json::parse(slurp(out / "scaling.json"))["runs"].size() == 1);

  fs::remove(out / "scaling.json");
  const Result orphan = run(args("4", {}), dir.path);
  CHECK(orphan.status == 2);
  CHECK_THAT(orphan.err, Contains("scaling.csv exists but") && Contains("--fresh"));
}

TEST_CASE("docs/experiments.md documents every exp_scaling column and every shipped noise model",
          "[experiments][docs]") {
  const std::string doc = slurp(fs::path(KRAUS_DOCS_DIR) / "experiments.md");
  REQUIRE_FALSE(doc.empty());
  for (const std::string& c : kColumns) {
    CAPTURE(c);
    CHECK_THAT(doc, Contains("`" + c + "`"));
  }
  for (const char* m : {"ideal", "depolarizing", "amplitude_damping", "readout_only", "device_like"}) {
    CAPTURE(m);
    CHECK_THAT(doc, Contains(std::string("| `") + m + "` |"));
  }
  for (const char* option : {"--noise MODEL", "--qubits LIST", "--depth LIST", "--noise-scale LIST", "--seeds LIST",
                             "--threads T", "--out DIR", "--quick", "--fresh", "--help", "--repetitions",
                             "--min-sample-seconds"}) {
    CAPTURE(option);
    CHECK_THAT(doc, Contains(std::string("`") + option));
  }
}
