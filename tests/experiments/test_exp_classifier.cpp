// exp_classifier run as a program: the --quick CSV (columns, rows, values in range), learning (the
// digits 0 vs 1 and moons reach a test accuracy the model is known to reach), ZNE-mitigated readouts
// (the mitigated initial loss is nearer the noiseless one than the noisy one is; three times the
// circuit evaluations), the classical baselines of --model (their rows, parameter counts and JSON
// record; the quantum rows unchanged), refusals with exit status 2, and resuming after kill -9.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "study_process.hpp"

using Catch::Matchers::Contains;

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using kraus::test::study::num;
using kraus::test::study::read_csv;
using kraus::test::study::Result;
using kraus::test::study::slurp;
using kraus::test::study::Table;
using Row = std::map<std::string, std::string>;

const std::vector<std::string> kColumns = {
    "study",         "noise_model",   "dataset",       "noise_scale",   "depth",         "seed",          "model",
    "epoch",         "train_loss",    "train_accuracy", "test_loss",    "test_accuracy",
    "seconds_epoch", "circuit_evaluations", "parameters", "model_qubits", "train_samples",
    "test_samples",  "classes",       "zne",           "peak_rss_bytes", "circuit_executions", "latency_seconds",
    "latency_share", "seconds_forward", "seconds_backward", "seconds_head", "seconds_data", "seconds_optimiser",
    "step_circuits"};

// The columns that differ between runs: timings and memory.
const std::vector<std::string> kTimingColumns = {"seconds_epoch",     "peak_rss_bytes", "latency_share",
                                                 "seconds_forward",   "seconds_backward", "seconds_head",
                                                 "seconds_data",      "seconds_optimiser"};

struct TempDir : kraus::test::study::TempDir {
  TempDir() : kraus::test::study::TempDir("kraus_exp_classifier") {}
};

Result run(const std::vector<std::string>& args, const fs::path& scratch) {
  return kraus::test::study::run(KRAUS_EXP_CLASSIFIER_BINARY, args, scratch);
}

std::string key(const Row& r) {
  return r.at("noise_model") + " " + r.at("dataset") + " " + r.at("depth") + " " + r.at("seed") + " " + r.at("epoch");
}

// The kill -9 and resume check (study_process.hpp) of a grid of `points` points.
void check_resume(std::vector<std::string> args, std::size_t points, std::size_t kill_after) {
  TempDir dir;
  kraus::test::study::ResumeCheck c;
  c.binary = KRAUS_EXP_CLASSIFIER_BINARY;
  c.study = "classifier";
  c.args = std::move(args);
  c.points = points;
  c.kill_after = kill_after;
  c.varying = {kTimingColumns.begin(), kTimingColumns.end()};
  kraus::test::study::check_kill_and_resume(c, dir.path);
}

// The row without its timing and memory columns (which differ between runs).
Row without_timing(Row r) {
  for (const std::string& c : kTimingColumns) r.erase(c);
  return r;
}

}  // namespace

TEST_CASE("exp_classifier --quick: columns, one row per epoch, values in range, learning",
          "[experiments][exp_classifier]") {
  TempDir dir;
  const fs::path out = dir.path / "results";
  const Table t = kraus::test::study::run_quick(KRAUS_EXP_CLASSIFIER_BINARY, "classifier", 12, kColumns, out, dir.path);
  // {digits01, moons} x {ideal, depolarizing} x depth {2, 6, 10} x seed 1 x epochs 0..15
  REQUIRE(t.rows.size() == 12 * 16);
  std::set<std::string> keys;
  std::map<std::string, Row> by_key;
  for (const Row& row : t.rows) {
    CAPTURE(key(row));
    CHECK(keys.insert(key(row)).second);
    by_key[key(row)] = row;
    CHECK(row.at("model") == "quantum");
    const bool digits = row.at("dataset") == "digits01";
    CHECK((digits || row.at("dataset") == "moons"));
    CHECK((row.at("noise_model") == "ideal" || row.at("noise_model") == "depolarizing"));
    const int depth = std::stoi(row.at("depth")), epoch = std::stoi(row.at("epoch"));
    CHECK((depth == 2 || depth == 6 || depth == 10));
    CHECK((epoch >= 0 && epoch <= 15));
    for (const char* c : {"train_accuracy", "test_accuracy"}) {
      CHECK(num(row, c) >= 0.0);
      CHECK(num(row, c) <= 1.0);
    }
    CHECK(num(row, "train_loss") > 0.0);
    CHECK(num(row, "test_loss") > 0.0);
    CHECK(num(row, "seconds_epoch") >= 0.0);
    CHECK((epoch > 0 || num(row, "seconds_epoch") == 0.0));
    CHECK(row.at("model_qubits") == (digits ? "4" : "2"));
    // digits: 4 qubits x 2 angles per layer + head (4 weights, 1 bias); moons: 2 qubits x 3 per layer + 3.
    CHECK(std::stoi(row.at("parameters")) == (digits ? 8 * depth + 5 : 6 * depth + 3));
    // --samples-per-class 40 under --quick: 80 training and 2 x ceil(120/7) = 36 test samples.
    CHECK(row.at("train_samples") == "80");
    CHECK(row.at("test_samples") == "36");
    CHECK(row.at("classes") == "2");
    CHECK(row.at("zne") == "none");
    CHECK(num(row, "peak_rss_bytes") > 1e6);
  }
  for (const std::string model : {"ideal", "depolarizing"}) {
    for (const std::string data : {"digits01", "moons"}) {
      for (const std::string depth : {"2", "6", "10"}) {
        const std::string prefix = model + " " + data + " " + depth + " 1 ";
        CAPTURE(prefix);
        // Training evaluations grow by the same amount every epoch: 3 steps of 32 samples.
        const double per_epoch = num(by_key.at(prefix + "1"), "circuit_evaluations");
        CHECK(num(by_key.at(prefix + "0"), "circuit_evaluations") == 0);
        CHECK(per_epoch > 0);
        CHECK(num(by_key.at(prefix + "15"), "circuit_evaluations") == 15 * per_epoch);
        // Training lowers the training loss.
        CHECK(num(by_key.at(prefix + "15"), "train_loss") < num(by_key.at(prefix + "0"), "train_loss") - 0.1);
      }
      // The same initial parameters and data under noise: a different (higher-entropy) readout.
      CHECK(by_key.at("ideal " + data + " 6 1 0").at("train_loss") !=
            by_key.at("depolarizing " + data + " 6 1 0").at("train_loss"));
    }
  }
  // Depth 6 learns both tasks (measured: test accuracy 0.97 and 1.0 with seed 1).
  for (const std::string model : {"ideal", "depolarizing"}) {
    CHECK(num(by_key.at(model + " digits01 6 1 15"), "test_accuracy") >= 0.9);
    CHECK(num(by_key.at(model + " moons 6 1 15"), "test_accuracy") >= 0.9);
  }
  const json j = json::parse(slurp(out / "classifier.json"));
  CHECK(j["status"] == "complete");
  CHECK(j["output"]["columns"] == kColumns);
  CHECK(j["options"]["dataset"] == json::array({"digits01", "moons"}));
  CHECK(j["method"]["datasets"]["digits01"]["train_samples"] == 80);
  CHECK(j["method"]["models"] == "quantum");
  CHECK_FALSE(j["method"]["datasets"]["digits01"].contains("classical"));
}

TEST_CASE("exp_classifier --quick --model both: the classical baselines' rows next to the unchanged quantum rows",
          "[experiments][exp_classifier]") {
  TempDir dir;
  const fs::path quantum_out = dir.path / "quantum", both_out = dir.path / "both";
  const Table quantum = kraus::test::study::run_quick(KRAUS_EXP_CLASSIFIER_BINARY, "classifier", 12, kColumns,
                                                     quantum_out, dir.path);
  const Result r = run({"--quick", "--model", "both", "--threads", "1", "--out", both_out.string()}, dir.path);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const Table t = read_csv(both_out / "classifier.csv");
  CHECK(t.header == kColumns);
  // 12 points x 3 models x 16 epochs: every point has an MLP (digits01 at depth 2: a budget of 21 fits one unit).
  REQUIRE(t.rows.size() == 12 * 3 * 16);
  std::map<std::string, std::vector<Row>> by_model;
  std::map<std::string, Row> classical;  // by model and key without the noise model
  for (const Row& row : t.rows) by_model[row.at("model")].push_back(row);
  REQUIRE(by_model.size() == 3);
  // The quantum rows are those of --model quantum (the same batches, seeds and order).
  REQUIRE(by_model["quantum"].size() == quantum.rows.size());
  for (std::size_t i = 0; i < quantum.rows.size(); ++i) {
    CAPTURE(i);
    CHECK(without_timing(by_model["quantum"][i]) == without_timing(quantum.rows[i]));
  }
  for (const std::string model : {"softmax", "mlp"}) {
    REQUIRE(by_model[model].size() == 12 * 16);
    std::map<std::string, Row> last, first;
    for (const Row& row : by_model[model]) {
      CAPTURE(model, key(row));
      const bool digits = row.at("dataset") == "digits01";
      const int depth = std::stoi(row.at("depth")), epoch = std::stoi(row.at("epoch"));
      const int quantum_parameters = digits ? 8 * depth + 5 : 6 * depth + 3;
      const int features = digits ? 16 : 2;
      const int parameters = std::stoi(row.at("parameters"));
      if (model == "softmax") {
        CHECK(parameters == features + 1);
      } else {
        // H (F + 2) + 1 parameters with the largest H that keeps within the quantum model's count.
        const int h = (quantum_parameters - 1) / (features + 2);
        CHECK(parameters == h * (features + 2) + 1);
        CHECK(parameters <= quantum_parameters);
        CHECK(parameters + features + 2 > quantum_parameters);
      }
      CHECK(row.at("circuit_evaluations") == "0");
      CHECK(row.at("model_qubits") == "0");
      CHECK(row.at("zne") == "none");
      CHECK(row.at("train_samples") == "80");
      CHECK(row.at("classes") == "2");
      for (const char* c : {"train_accuracy", "test_accuracy"}) {
        CHECK(num(row, c) >= 0.0);
        CHECK(num(row, c) <= 1.0);
      }
      CHECK(num(row, "train_loss") > 0.0);
      CHECK(num(row, "seconds_epoch") >= 0.0);
      // The classical rows do not depend on the noise model.
      Row same = without_timing(row);
      same.erase("noise_model");
      const std::string k = model + " " + row.at("dataset") + " " + row.at("depth") + " " + row.at("epoch");
      const auto [at, inserted] = classical.emplace(k, same);
      if (!inserted) CHECK(at->second == same);
      const std::string point = row.at("noise_model") + " " + row.at("dataset") + " " + row.at("depth");
      if (epoch == 0) first[point] = row;
      if (epoch == 15) last[point] = row;
    }
    for (const auto& [point, row] : last) {
      CAPTURE(model, point);
      CHECK(num(row, "train_loss") < num(first.at(point), "train_loss") - 0.05);
      // digits 0 vs 1 are linearly separable enough for either model.
      if (row.at("dataset") == "digits01") CHECK(num(row, "test_accuracy") >= 0.9);
    }
  }
  const json j = json::parse(slurp(both_out / "classifier.json"));
  CHECK(j["status"] == "complete");
  CHECK(j["options"]["model"] == "both");
  CHECK(j["method"]["models"] == "both");
  CHECK(j["method"].contains("classical"));
  const json& c = j["method"]["datasets"]["digits01"]["classical"];
  CHECK(c["softmax"]["parameters"] == 17);
  CHECK(c["mlp"]["2"]["quantum_parameters"] == 21);
  CHECK(c["mlp"]["2"]["hidden_units"] == 1);
  CHECK(c["mlp"]["2"]["parameters"] == 19);
  CHECK(c["mlp"]["10"]["hidden_units"] == 4);
  CHECK(j["method"]["datasets"]["moons"]["classical"]["mlp"]["6"]["parameters"] == 37);
}

TEST_CASE("exp_classifier --model classical: only the baselines, and no MLP where one unit exceeds the budget",
          "[experiments][exp_classifier]") {
  TempDir dir;
  const fs::path out = dir.path / "classical";
  const Result r = run({"--model", "classical", "--dataset", "digits01,moons", "--noise", "ideal", "--depth", "1",
                        "--seeds", "2", "--epochs", "2", "--samples-per-class", "20", "--out", out.string()},
                       dir.path);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const Table t = read_csv(out / "classifier.csv");
  std::map<std::string, int> rows;  // by dataset and model
  for (const Row& row : t.rows) ++rows[row.at("dataset") + " " + row.at("model")];
  // digits01 at depth 1: 13 quantum parameters, one hidden unit takes 19: softmax only. moons: 9,
  // an MLP of 2 units has exactly 9.
  const std::map<std::string, int> expected = {{"digits01 softmax", 3}, {"moons softmax", 3}, {"moons mlp", 3}};
  CHECK(rows == expected);
  for (const Row& row : t.rows) {
    if (row.at("dataset") == "moons" && row.at("model") == "mlp") CHECK(row.at("parameters") == "9");
  }
  const json j = json::parse(slurp(out / "classifier.json"));
  CHECK(j["method"]["datasets"]["digits01"]["classical"]["mlp"]["1"]["hidden_units"] == 0);
}

TEST_CASE("exp_classifier --zne-scales: mitigated readouts bring the loss back towards the noiseless one",
          "[experiments][exp_classifier]") {
  // Depolarising noise 5x the shipped model's, so that the effect is large; the same data, seed and initial
  // parameters in all three runs. At epoch 0 the loss depends only on the readouts, so the
  // Richardson estimate (scales 1, 2, 3) must land nearer the noiseless loss than the noisy one.
  TempDir dir;
  const std::vector<std::string> common = {"--dataset", "moons", "--depth", "4",        "--seeds",  "1",
                                           "--epochs",  "2",     "--threads", "1",      "--samples-per-class", "20"};
  auto run_with = [&](const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> a = common;
    a.insert(a.end(), extra.begin(), extra.end());
    a.insert(a.end(), {"--out", (dir.path / name).string()});
    const Result r = run(a, dir.path);
    INFO(r.err);
    REQUIRE(r.status == 0);
    const Table t = read_csv(dir.path / name / "classifier.csv");
    REQUIRE(t.rows.size() == 3);
    return t;
  };
  // The noise scale is not an axis of exp_classifier: a model file with 5x the shipped strength.
  const std::string model = (dir.path / "strong.json").string();
  std::ofstream(model) << R"({"gate_noise": [
    {"gates": ["ry", "rz"], "channel": {"type": "depolarizing", "p": 0.005}},
    {"gates": ["cx"], "channel": {"type": "depolarizing", "p": 0.05}}]})";
  const Table ideal = run_with("ideal", {"--noise", "ideal"});
  const Table noisy = run_with("noisy", {"--noise", model});
  const Table mitigated = run_with("zne", {"--noise", model, "--zne-scales", "1,2,3"});
  CHECK(mitigated.rows[0].at("zne") == "richardson 1,2,3");
  const double l_ideal = num(ideal.rows[0], "train_loss"), l_noisy = num(noisy.rows[0], "train_loss"),
               l_zne = num(mitigated.rows[0], "train_loss");
  CAPTURE(l_ideal, l_noisy, l_zne);
  CHECK(std::fabs(l_noisy - l_ideal) > 1e-3);
  CHECK(std::fabs(l_zne - l_ideal) < 0.2 * std::fabs(l_noisy - l_ideal));
  // A gradient costs 2 passes per sample (forward, adjoint backward); mitigated, each of the 3 scaled
  // circuits first runs forward for the mitigated values the loss needs, then forward and backward.
  CHECK(num(mitigated.rows[2], "circuit_evaluations") == 4.5 * num(noisy.rows[2], "circuit_evaluations"));
}

TEST_CASE("exp_classifier --method trajectories and shots: training from estimates, at their circuit costs",
          "[experiments][exp_classifier]") {
  TempDir dir;
  const std::vector<std::string> common = {"--dataset", "digits01", "--noise", "depolarizing", "--depth", "2",
                                           "--seeds", "1", "--epochs", "6", "--samples-per-class", "40",
                                           "--learning-rate", "0.1", "--batch-size", "20"};
  for (const std::vector<std::string>& method :
       {std::vector<std::string>{"--method", "trajectories", "--trajectories", "1"},
        std::vector<std::string>{"--method", "shots", "--shots", "200"}}) {
    std::vector<std::string> a = common;
    a.insert(a.end(), method.begin(), method.end());
    const fs::path out = dir.path / method[1];
    a.insert(a.end(), {"--out", out.string()});
    const Result r = run(a, dir.path);
    CAPTURE(method, r.err);
    REQUIRE(r.status == 0);
    const Table t = read_csv(out / "classifier.csv");
    REQUIRE(t.rows.size() == 7);
    // Training on estimates still learns the task.
    CHECK(num(t.rows[6], "train_loss") < num(t.rows[0], "train_loss") - 0.05);
    CHECK(num(t.rows[6], "test_accuracy") > 0.7);
    // Per epoch every training sample (80, in 4 batches of 20) enters one gradient: one trajectory walk
    // and one backward pass,
    // or parameter shift's 1 + 2 x 16 rotations (RY and RZ on 4 qubits, 2 layers) circuits.
    const double samples = num(t.rows[0], "train_samples");
    const double per_sample = method[1] == "trajectories" ? 2.0 : 33.0;
    CHECK(num(t.rows[1], "circuit_evaluations") == per_sample * samples);
    const json j = json::parse(slurp(out / "classifier.json"));
    CHECK(j["method"]["method"] == method[1]);
    if (method[1] == "shots") {
      CHECK(j["method"]["shots"] == 200);
      CHECK_THAT(j["method"]["readout_errors"].get<std::string>(), Contains("applied"));
    } else {
      CHECK(j["method"]["trajectories"] == 1);
    }
  }
}

TEST_CASE("exp_classifier --qpu-latency: hardware circuit counts and simulated round trips per submission",
          "[experiments][exp_classifier]") {
  TempDir dir;
  auto run_with = [&](const std::string& k) {
    const fs::path out = dir.path / ("k" + k);
    const Result r = run({"--dataset", "digits01", "--noise", "ideal", "--depth", "2", "--seeds", "1", "--epochs", "2",
                          "--samples-per-class", "40", "--batch-size", "20", "--model", "both", "--qpu-latency", "50",
                          "--batch-circuits", k, "--out", out.string()},
                         dir.path);
    INFO(r.err);
    REQUIRE(r.status == 0);
    return read_csv(out / "classifier.csv");
  };
  // 80 training samples in 4 steps of 20; per sample 1 + 2 x 16 rotations = 33 circuits: 660 a step.
  for (const auto& [k, submissions] : std::vector<std::pair<std::string, int>>{{"1", 660}, {"100", 7}, {"660", 1}}) {
    const Table t = run_with(k);
    for (const Row& row : t.rows) {
      CAPTURE(k, row.at("model"), row.at("epoch"));
      const int epoch = std::stoi(row.at("epoch"));
      if (row.at("model") != "quantum") {
        CHECK(num(row, "circuit_executions") == 0);
        CHECK(num(row, "latency_seconds") == 0);
        CHECK(num(row, "step_circuits") == 0);
        continue;
      }
      CHECK(num(row, "circuit_executions") == 4 * 660 * epoch);
      CHECK(num(row, "step_circuits") == 660);
      CHECK(std::fabs(num(row, "latency_seconds") - (epoch > 0 ? 4 * submissions * 0.05 : 0.0)) < 1e-9);
      if (epoch > 0) {
        const double l = num(row, "latency_seconds"), c = num(row, "seconds_epoch");
        CHECK(std::fabs(num(row, "latency_share") - l / (l + c)) < 1e-9);
        // The epoch's time split: circuit passes (data mixtures: values, then gradients), the head,
        // the batches, the rest; together the epoch's time (the rest is never negative).
        const double parts = num(row, "seconds_forward") + num(row, "seconds_backward") + num(row, "seconds_head") +
                             num(row, "seconds_data") + num(row, "seconds_optimiser");
        CHECK(num(row, "seconds_forward") > 0);
        CHECK(num(row, "seconds_backward") > 0);
        CHECK(num(row, "seconds_optimiser") >= 0);
        CHECK(std::fabs(parts - c) < 1e-6 + 1e-3 * c);
      }
    }
  }
}

TEST_CASE("exp_classifier refuses bad options with exit status 2 and writes nothing", "[experiments][exp_classifier]") {
  TempDir dir;
  const fs::path out = dir.path / "never";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--dataset", "digits01,nope"}, "--dataset: 'nope' is not one of digits01, digits38"},
      {{"--dataset", "moons,moons"}, "'moons' is listed twice"},
      {{"--zne-scales", "0.5,1"}, "--zne-scales"},
      {{"--zne-scales", "1,2", "--zne-extrapolator", "exp"}, "linear"},
      {{"--epochs", "0"}, "--epochs"},
      {{"--qubits", "4"}, "no qubits axis"},
      {{"--model", "hybrid"}, "--model: 'hybrid' is not one of quantum, classical, both"},
      {{"--method", "exact"}, "--method: 'exact' is not one of density-matrix, trajectories, shots"},
      {{"--method", "shots", "--shots", "0"}, "--shots"},
      {{"--batch-circuits", "0"}, "--batch-circuits"},
      {{"--qpu-latency", "-1"}, "--qpu-latency"},
      {{"--data-parallel"}, "--data-parallel splits batches of trajectories across the MPI ranks: it needs --method "
                            "trajectories"},
      {{"--data-parallel=yes", "--method", "trajectories"}, "--data-parallel: takes no value"},
  };
  for (const auto& [args, message] : cases) {
    std::vector<std::string> a = {"--quick", "--out", out.string()};
    a.insert(a.end(), args.begin(), args.end());
    const Result r = run(a, dir.path);
    CAPTURE(args, r.err);
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Contains(message));
    CHECK(r.out.empty());
    CHECK_FALSE(fs::exists(out));
  }
}

TEST_CASE("exp_classifier killed with SIGKILL and run again: no duplicate, no missing row", "[experiments][exp_classifier]") {
  check_resume({"--dataset", "moons,xor", "--noise", "ideal", "--noise", "depolarizing", "--depth", "1:4", "--seeds",
                "1,2", "--epochs", "3", "--samples-per-class", "20", "--threads", "1"},
               2 * 2 * 4 * 2, 4);
}

TEST_CASE("exp_classifier --model both killed with SIGKILL and run again: no duplicate, no missing row",
          "[experiments][exp_classifier]") {
  // A point's rows are those of three models; a kill between them must not leave a partial point.
  check_resume({"--model", "both", "--dataset", "moons", "--noise", "ideal", "--noise", "depolarizing", "--depth",
                "1:3", "--seeds", "1,2", "--epochs", "3", "--samples-per-class", "20", "--threads", "1"},
               2 * 3 * 2, 3);
}

TEST_CASE("docs/experiments.md documents every exp_classifier column", "[experiments][exp_classifier]") {
  const std::string docs = slurp(fs::path(KRAUS_DOCS_DIR) / "experiments.md");
  const auto at = docs.find("## exp_classifier");
  REQUIRE(at != std::string::npos);
  const std::string section = docs.substr(at, docs.find("\n## ", at + 1) - at);
  for (const std::string& c : kColumns) {
    CAPTURE(c);
    CHECK_THAT(section, Contains("`" + c + "`"));
  }
}
