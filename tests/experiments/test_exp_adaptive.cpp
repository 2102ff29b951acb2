// exp_adaptive run as a program: the --quick CSV (columns, one final row per strategy and point,
// values in range, budgets, the depth trajectory), the learning (digits 0 vs 1 noiselessly: every
// strategy reaches >= 90 % test accuracy; the adaptive run starts at --start-depth), resuming after
// kill -9 (the same rows as an uninterrupted run but for the seconds column), and refusals (exit
// status 2, nothing written).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "study_process.hpp"

using Catch::Matchers::Contains;

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::vector<std::string> kColumns = {
    "study",           "noise_model",        "dataset",         "seed",          "strategy",
    "fixed_depth",     "round",              "depth",           "parameters",    "circuit_evaluations",
    "budget",          "loss",               "train_accuracy",  "test_accuracy", "action",
    "final",           "seconds",            "reason",          "circuit_executions", "latency_seconds",
    "latency_share",   "seconds_forward",    "seconds_backward", "seconds_head",  "seconds_optimiser"};
// The columns that time: they differ between any two runs.
const std::vector<std::string> kTimingColumns = {"seconds",        "latency_share", "seconds_forward",
                                                 "seconds_backward", "seconds_head", "seconds_optimiser"};

using kraus::test::study::num;
using kraus::test::study::read_csv;
using kraus::test::study::Result;
using kraus::test::study::slurp;
using kraus::test::study::Table;
using Row = std::map<std::string, std::string>;

struct TempDir : kraus::test::study::TempDir {
  TempDir() : kraus::test::study::TempDir("kraus_exp_adaptive") {}
};

Result run(const std::vector<std::string>& args, const fs::path& scratch) {
  return kraus::test::study::run(KRAUS_EXP_ADAPTIVE_BINARY, args, scratch);
}

std::string point(const Row& row) { return row.at("noise_model") + " " + row.at("dataset") + " " + row.at("seed"); }

std::string row_key(const Row& row) {
  return point(row) + " " + row.at("strategy") + " " + row.at("fixed_depth") + " " + row.at("round");
}

// Trainable parameters of the classifier model at `depth` (models/classifier.hpp): 4-qubit
// hardware-efficient layers (RY, RZ per qubit: 8) + 4 head weights + 1 bias for the binary image
// tasks; 2-qubit re-uploading layers (w, RY angle, RZ angle per qubit: 6) + 2 + 1 for the synthetic
// ones.
long long expected_parameters(const std::string& dataset, long long depth) {
  return dataset == "moons" ? 6 * depth + 3 : 8 * depth + 5;
}

}  // namespace

TEST_CASE("exp_adaptive --quick: columns, one final row per strategy and point, values in range",
          "[experiments][exp_adaptive]") {
  TempDir dir;
  const fs::path out = dir.path / "results";
  const Table t = kraus::test::study::run_quick(KRAUS_EXP_ADAPTIVE_BINARY, "adaptive", 4, kColumns, out, dir.path);
  // Quick: budget 20000, max depth 4, fixed depths 2 and 4, 20 training samples per class (40 in
  // all, both tasks binary). A solve stops after the first iteration that reaches the budget, and the
  // controller adds one loss+gradient after its last round: slack for one iteration's line search (up
  // to 2 loss+gradient evaluations, as Ceres' Wolfe search takes here) plus that closing one, each at
  // most 2 circuit evaluations per training sample (re-uploading circuits have two segments).
  const long long budget = 20000, slack = 3 * 2 * 40;
  std::set<std::string> keys;
  std::map<std::string, std::vector<Row>> adaptive;  // per point, in order
  std::map<std::string, std::set<std::string>> finals;  // per point: strategies with a final row
  for (const Row& row : t.rows) {
    CAPTURE(row_key(row));
    CHECK(keys.insert(row_key(row)).second);
    CHECK(row.at("study") == "adaptive");
    CHECK((row.at("noise_model") == "ideal" || row.at("noise_model") == "depolarizing"));
    CHECK((row.at("dataset") == "digits01" || row.at("dataset") == "moons"));
    CHECK(row.at("seed") == "1");
    const long long depth = std::stoll(row.at("depth"));
    CHECK((depth >= 1 && depth <= 4));
    CHECK(std::stoll(row.at("parameters")) == expected_parameters(row.at("dataset"), depth));
    const long long evaluations = std::stoll(row.at("circuit_evaluations"));
    CHECK(evaluations > 0);
    CHECK(evaluations <= budget + slack);
    CHECK(std::stoll(row.at("budget")) == budget);
    CHECK(num(row, "loss") > 0);
    for (const char* c : {"train_accuracy", "test_accuracy"}) {
      CHECK(num(row, c) >= 0);
      CHECK(num(row, c) <= 1);
    }
    CHECK(num(row, "seconds") >= 0);
    CHECK((row.at("final") == "0" || row.at("final") == "1"));
    CHECK_FALSE(row.at("reason").empty());
    if (row.at("final") == "1") CHECK(finals[point(row)].insert(row.at("strategy") + row.at("fixed_depth")).second);
    if (row.at("strategy") == "fixed") {
      CHECK((row.at("fixed_depth") == "2" || row.at("fixed_depth") == "4"));
      CHECK(row.at("depth") == row.at("fixed_depth"));
      CHECK(row.at("round") == "0");
      CHECK(row.at("action") == "final");
      CHECK(row.at("final") == "1");
    } else {
      REQUIRE(row.at("strategy") == "adaptive");
      CHECK(row.at("fixed_depth") == "0");
      adaptive[point(row)].push_back(row);
    }
  }
  CHECK(finals.size() == 4);
  for (const auto& [p, strategies] : finals) {
    CAPTURE(p);
    CHECK(strategies == std::set<std::string>{"adaptive0", "fixed2", "fixed4"});
  }
  REQUIRE(adaptive.size() == 4);
  bool grew = false;
  for (const auto& [p, rows] : adaptive) {
    CAPTURE(p);
    CHECK(rows.front().at("depth") == "1");  // --start-depth 1
    for (std::size_t i = 0; i < rows.size(); ++i) {
      CAPTURE(i);
      const Row& row = rows[i];
      const bool last = i + 1 == rows.size();
      CHECK(std::stoul(row.at("round")) == i);
      CHECK(row.at("final") == (last ? "1" : "0"));
      if (last) {
        CHECK(row.at("action") == "stop");
        break;
      }
      const std::string action = row.at("action");
      CHECK((action == "continue" || action == "grow" || action == "shrink"));
      const long long d0 = std::stoll(row.at("depth")), d1 = std::stoll(rows[i + 1].at("depth"));
      CHECK(d1 - d0 == (action == "grow" ? 1 : action == "shrink" ? -1 : 0));  // +-1 per round at most
      grew = grew || action == "grow";
      CHECK(std::stoll(rows[i + 1].at("circuit_evaluations")) > std::stoll(row.at("circuit_evaluations")));
      CHECK(num(rows[i + 1], "seconds") >= num(row, "seconds"));
    }
    // The adaptive run stops on its budget or at the depth limit when it would grow past it.
    const Row& stop = rows.back();
    CHECK((std::stoll(stop.at("circuit_evaluations")) >= budget || stop.at("depth") == "4"));
  }
  CHECK(grew);  // moons' loss plateaus within the budget: the controller grows there

  const json j = json::parse(slurp(out / "adaptive.json"));
  CHECK(j["status"] == "complete");
  CHECK(j["output"]["columns"] == kColumns);
  CHECK(j["output"]["rows"] == t.rows.size());
  CHECK(j["options"]["budget"] == 20000);
  CHECK(j["options"]["fixed-depths"] == "2,4");
}

TEST_CASE("exp_adaptive: digits 0 vs 1, noiseless: every strategy learns, the adaptive run starts at --start-depth",
          "[experiments][exp_adaptive]") {
  // 60 training samples per class (120), 52 test samples; 30000 circuit evaluations per strategy;
  // the adaptive run from 2 layers (limit 4) against fixed depths 2 and 3, seeds 1..3. Digits 0 and 1
  // are well separated after 4x4 pooling: a trained 4-qubit classifier reaches >= 96 % here, while
  // the initial parameters (random angles and head) are near chance.
  TempDir dir;
  const fs::path out = dir.path / "r";
  const Result r = run({"--dataset", "digits01", "--noise", "ideal", "--seeds", "1:3", "--samples-per-class", "60",
                        "--budget", "30000", "--fixed-depths", "2,3", "--start-depth", "2", "--max-depth", "4",
                        "--threads", "1", "--out", out.string()},
                       dir.path);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const Table t = read_csv(out / "adaptive.csv");
  std::map<std::string, const Row*> first_round;
  int finals = 0;
  for (const Row& row : t.rows) {
    CAPTURE(row_key(row));
    if (row.at("strategy") == "adaptive" && row.at("round") == "0") {
      first_round[row.at("seed")] = &row;
      CHECK(row.at("depth") == "2");
    }
    if (row.at("final") != "1") continue;
    ++finals;
    const Row& begin = *first_round.at(row.at("seed"));
    INFO("train accuracy " << row.at("train_accuracy") << ", test accuracy " << row.at("test_accuracy") << ", loss "
                           << row.at("loss") << " (adaptive round 0: " << begin.at("loss") << ")");
    CHECK(num(row, "test_accuracy") >= 0.9);
    CHECK(num(row, "train_accuracy") >= 0.95);
    CHECK(num(row, "loss") < 0.5 * num(begin, "loss"));  // round 0 ran only 10 iterations
  }
  CHECK(finals == 3 * 3);
  CHECK(first_round.size() == 3);
}

TEST_CASE("exp_adaptive --method trajectories and shots: Adam within the budget; the hardware account and latency",
          "[experiments][exp_adaptive]") {
  TempDir dir;
  for (const std::string method : {"density-matrix", "trajectories", "shots"}) {
    const fs::path out = dir.path / method;
    const Result r = run({"--dataset", "moons", "--noise", "depolarizing", "--seeds", "1,2", "--samples-per-class", "10", "--budget",
                          "3000", "--fixed-depths", "2", "--max-depth", "3", "--round-iterations", "5", "--method",
                          method, "--qpu-latency", "10", "--batch-circuits", "7", "--threads", "1", "--out",
                          out.string()},
                         dir.path);
    INFO(method << ": " << r.err);
    REQUIRE(r.status == 0);
    const Table t = read_csv(out / "adaptive.csv");
    // 20 samples, 2-qubit re-uploading layers: per sample a circuit, and for a gradient its two
    // shifted copies per parametrised rotation (6 per layer).
    long long previous = 0;
    for (const Row& row : t.rows) {
      CAPTURE(row_key(row));
      const long long executions = std::stoll(row.at("circuit_executions"));
      const double latency = num(row, "latency_seconds"), seconds = num(row, "seconds");
      // Each evaluation submits 20 or 20 (1 + 12 depth) circuits, in batches of 7 charged 10 ms.
      const double e = static_cast<double>(executions);
      CHECK(latency >= 0.01 * e / 7.0 - 1e-9);
      CHECK(latency <= 0.01 * (e / 7.0 + e / 20.0) + 1e-9);
      CHECK(num(row, "latency_share") == Approx(latency / (latency + seconds)).epsilon(1e-9));
      CHECK(num(row, "seconds_forward") + num(row, "seconds_backward") + num(row, "seconds_head") +
                num(row, "seconds_optimiser") ==
            Approx(seconds).epsilon(1e-6).margin(1e-9));
      if (row.at("strategy") == "adaptive") {
        if (row.at("round") == "0") previous = 0;
        CHECK(executions >= previous);  // cumulative over the rounds
        previous = executions;
      }
      if (row.at("final") == "1") {
        CHECK(num(row, "circuit_evaluations") >= 3000);
        CHECK(num(row, "circuit_evaluations") < 4000);
        CHECK(executions > 0);
        CHECK(num(row, "train_accuracy") > 0.5);
        // Shots simulate what hardware runs: parameter shift, circuit for circuit.
        if (method == "shots") CHECK(executions == std::stoll(row.at("circuit_evaluations")));
      }
    }
    const json j = json::parse(slurp(out / "adaptive.json"));
    CHECK(j["method"]["method"] == method);
    CHECK(j["method"]["adaptive"]["round_solver"].get<std::string>().rfind(method == "density-matrix" ? "L-BFGS" : "Adam",
                                                                           0) == 0);
  }
}

TEST_CASE("exp_adaptive --model both: softmax and MLP rows within the quantum model's parameters",
          "[experiments][exp_adaptive]") {
  TempDir dir;
  const fs::path out = dir.path / "r";
  const Result r = run({"--dataset", "digits01", "--noise", "ideal", "--seeds", "1", "--samples-per-class", "30", "--budget", "3000",
                        "--fixed-depths", "2", "--max-depth", "3", "--model", "both", "--threads", "1", "--out",
                        out.string()},
                       dir.path);
  INFO(r.err);
  REQUIRE(r.status == 0);
  std::map<std::string, const Row*> by_strategy;
  const Table t = read_csv(out / "adaptive.csv");
  for (const Row& row : t.rows) by_strategy[row.at("strategy")] = &row;
  REQUIRE(by_strategy.size() == 4);
  const Row& softmax = *by_strategy.at("softmax");
  const Row& mlp = *by_strategy.at("mlp");
  // 16 pixels, one logit: softmax 17 parameters; the MLP at most the quantum model's at depth 3 (29):
  // H (16 + 1 + 1) + 1 <= 29, H = 1.
  CHECK(softmax.at("parameters") == "17");
  CHECK(mlp.at("parameters") == "19");
  for (const Row* row : {&softmax, &mlp}) {
    CHECK(row->at("circuit_executions") == "0");
    CHECK(row->at("final") == "1");
    CHECK(num(*row, "test_accuracy") >= 0.9);  // digits 0 and 1 separate linearly
  }
  // --model classical: the classical rows alone, the same.
  const fs::path only = dir.path / "classical";
  const Result c = run({"--dataset", "digits01", "--noise", "ideal", "--seeds", "1", "--samples-per-class", "30", "--budget", "3000",
                        "--fixed-depths", "2", "--max-depth", "3", "--model", "classical", "--threads", "1", "--out",
                        only.string()},
                       dir.path);
  REQUIRE(c.status == 0);
  const Table tc = read_csv(only / "adaptive.csv");
  REQUIRE(tc.rows.size() == 2);
  CHECK(tc.rows[0].at("loss") == softmax.at("loss"));
  CHECK(tc.rows[1].at("loss") == mlp.at("loss"));
}

TEST_CASE("exp_adaptive killed with SIGKILL and run again: the rows of an uninterrupted run", "[experiments][exp_adaptive]") {
  TempDir dir;
  kraus::test::study::ResumeCheck c;
  c.binary = KRAUS_EXP_ADAPTIVE_BINARY;
  c.study = "adaptive";
  c.args = {"--dataset", "moons", "--noise", "ideal", "--noise", "depolarizing", "--seeds", "1:3", "--budget", "8000", "--samples-per-class", "20", "--fixed-depths", "2,3", "--max-depth", "5", "--threads", "1"};
  c.points = 2 * 3;
  c.kill_after = 1;
  c.varying = {kTimingColumns.begin(), kTimingColumns.end()};
  kraus::test::study::check_kill_and_resume(c, dir.path);
}

TEST_CASE("exp_adaptive refuses bad options before writing anything (exit status 2)", "[experiments][exp_adaptive]") {
  TempDir dir;
  const fs::path out = dir.path / "never";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--fixed-depths", "0"}, "--fixed-depths"},
      {{"--fixed-depths", "2,11"}, "--fixed-depths"},
      {{"--fixed-depths", "2,3", "--max-depth", "2"}, "--fixed-depths"},
      {{"--dataset", "nope"}, "--dataset"},
      {{"--start-depth", "5", "--max-depth", "4", "--fixed-depths", "2"}, "--start-depth"},
      {{"--budget", "0"}, "--budget"},
      {{"--depth", "3"}, "--depth"},
      {{"--method", "exact"}, "--method: 'exact' is not one of density-matrix, trajectories, shots"},
      {{"--model", "hybrid"}, "--model: 'hybrid' is not one of quantum, classical, both"},
      {{"--batch-circuits", "0"}, "--batch-circuits"},
      {{"--qpu-latency", "-1"}, "--qpu-latency"},
  };
  for (const auto& [args, name] : cases) {
    std::vector<std::string> a = args;
    a.insert(a.end(), {"--out", out.string()});
    CAPTURE(args);
    const Result r = run(a, dir.path);
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Contains(name));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_FALSE(fs::exists(out));
  }
}

TEST_CASE("docs/experiments.md documents every exp_adaptive column", "[experiments][exp_adaptive]") {
  const std::string docs = slurp(std::filesystem::path(KRAUS_DOCS_DIR) / "experiments.md");
  const auto at = docs.find("## exp_adaptive");
  REQUIRE(at != std::string::npos);
  const std::string section = docs.substr(at, docs.find("\n## ", at + 1) - at);
  for (const std::string& c : kColumns) {
    CAPTURE(c);
    CHECK_THAT(section, Contains("`" + c + "`"));
  }
}
