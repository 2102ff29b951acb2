// exp_barren_plateau run as a program: the --quick CSV (columns, rows, values in range, the 2-design
// column, trajectory rows against the density matrix's on the same circuits), the physics (McClean's noiseless ensemble reaches d/(3(d^2-1)) at n = 4, depth 50), and
// resuming after kill -9 (no duplicate, no missing row, the same values as an uninterrupted run).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "study_process.hpp"

using Catch::Matchers::Contains;

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::vector<std::string> kBpColumns = {
    "study",       "noise_model", "method",     "noise_scale",  "qubits",              "depth",   "cost",
    "observable",  "variance",    "variance_stderr", "mean",    "mean_stderr",         "circuits", "two_design",
    "trajectories", "trajectory_variance", "seconds", "seed"};

using kraus::test::study::num;
using kraus::test::study::read_csv;
using kraus::test::study::Result;
using kraus::test::study::slurp;
using kraus::test::study::Table;

struct TempDir : kraus::test::study::TempDir {
  TempDir() : kraus::test::study::TempDir("kraus_exp_bp") {}
};

Result run(const std::vector<std::string>& args, const fs::path& scratch) {
  return kraus::test::study::run(KRAUS_EXP_BARREN_PLATEAU_BINARY, args, scratch);
}

std::string bp_key(const std::map<std::string, std::string>& row) {
  return row.at("method") + " " + row.at("noise_model") + " " + row.at("noise_scale") + " " + row.at("qubits") + " " + row.at("depth") + " " +
         row.at("cost");
}

double two_design(int n) {
  const double d = std::ldexp(1.0, n);
  return d / (3.0 * (d * d - 1.0));
}

}  // namespace

TEST_CASE("exp_barren_plateau --quick: columns, one row per point and cost, values in range",
          "[experiments][exp_barren_plateau]") {
  TempDir dir;
  const fs::path out = dir.path / "results";
  const Table t = kraus::test::study::run_quick(KRAUS_EXP_BARREN_PLATEAU_BINARY, "barren_plateau", 36, kBpColumns, out, dir.path);
  // qubits {2,3,4} x depth {2,5,10} x {ideal, depolarizing} x both methods x {local, global}
  REQUIRE(t.rows.size() == 72);
  std::set<std::string> keys;
  std::map<std::string, double> variance;
  std::map<std::string, const std::map<std::string, std::string>*> by_key;
  for (const auto& row : t.rows) {
    CAPTURE(bp_key(row));
    keys.insert(bp_key(row));
    const int n = std::stoi(row.at("qubits"));
    const int depth = std::stoi(row.at("depth"));
    CHECK(row.at("study") == "barren_plateau");
    CHECK((row.at("noise_model") == "ideal" || row.at("noise_model") == "depolarizing"));
    CHECK((n >= 2 && n <= 4));
    CHECK((depth == 2 || depth == 5 || depth == 10));
    CHECK((row.at("cost") == "local" || row.at("cost") == "global"));
    CHECK(row.at("observable") == (row.at("cost") == "local" ? "Z0 Z1" : (n == 2 ? "Z0 Z1" : n == 3 ? "Z0 Z1 Z2"
                                                                                                     : "Z0 Z1 Z2 Z3")));
    CHECK(row.at("circuits") == "50");
    const bool dense = row.at("method") == "density-matrix";
    CHECK((dense || row.at("method") == "trajectories"));
    // The trajectories' variance is corrected for their noise: unbiased, so it may dip below 0.
    if (dense) CHECK(num(row, "variance") >= 0);
    CHECK(num(row, "variance") <= 0.25);  // |dC/dtheta| <= 1/2 for a Pauli cost
    CHECK(row.at("trajectories") == (dense ? "" : "100"));
    if (!dense) CHECK(num(row, "trajectory_variance") >= 0);
    CHECK(num(row, "variance_stderr") >= 0);
    CHECK(num(row, "mean_stderr") >= 0);
    CHECK(std::fabs(num(row, "mean")) <= 0.5);
    CHECK(std::fabs(num(row, "two_design") - two_design(n)) < 1e-12 * two_design(n));
    CHECK(num(row, "seconds") >= 0);
    variance[bp_key(row)] = num(row, "variance");
    by_key[bp_key(row)] = &row;
  }
  CHECK(keys.size() == 72);
  // Trajectories on the same circuits: noiseless, every trajectory gives the exact gradient (standard
  // error 0, the density matrix's numbers); noisy, the mean over circuits within 5 of its standard
  // errors, sqrt(trajectory_variance / circuits), of the exact one.
  for (const auto& [key, row] : by_key) {
    if (row->at("method") != "trajectories") continue;
    CAPTURE(key);
    const auto& exact = *by_key.at("density-matrix" + key.substr(std::string("trajectories").size()));
    const double se = std::sqrt(num(*row, "trajectory_variance") / 50.0);
    CHECK(std::fabs(num(*row, "mean") - num(exact, "mean")) <= 5.0 * se + 1e-12);
    if (row->at("noise_model") == "ideal") {
      CHECK(num(*row, "trajectory_variance") < 1e-20);
      CHECK(std::fabs(num(*row, "variance") - num(exact, "variance")) <= 1e-9 * num(exact, "variance") + 1e-15);
    } else {
      CHECK(se > 0.0);
    }
  }
  // n = 2: the global cost is the local one, the same circuits, the same gradients.
  for (const char* model : {"ideal", "depolarizing"}) {
    for (const char* depth : {"2", "5", "10"}) {
      const std::string k = std::string("density-matrix ") + model + " 1 2 " + depth + " ";
      CHECK(variance.at(k + "local") == variance.at(k + "global"));
    }
  }
  // Noise only shrinks the gradients of the same circuits (a few per cent here, at depth 10 clearly).
  for (const char* n : {"3", "4"}) {
    CHECK(variance.at(std::string("density-matrix depolarizing 1 ") + n + " 10 local") <
          variance.at(std::string("density-matrix ideal 1 ") + n + " 10 local"));
  }
  const json j = json::parse(slurp(out / "barren_plateau.json"));
  CHECK(j["status"] == "complete");
  CHECK(j["output"]["columns"] == kBpColumns);
  CHECK(j["output"]["rows"] == 72);
  CHECK(j["options"]["circuits"] == 50);
}

TEST_CASE("exp_barren_plateau: McClean's noiseless ensemble reaches d/(3(d^2-1)) at n = 4, depth 50",
          "[experiments][exp_barren_plateau]") {
  // McClean et al. 2018: deep McClean circuits approximate a 2-design, Var[dC/dtheta_1] = d/(3(d^2-1)) =
  // 0.02092 for n = 4 (Z0 Z1; the same for Z0 Z1 Z2 Z3). 400 circuits: a relative standard error of
  // about 7 %; the tolerance is 20 %.
  TempDir dir;
  const Result r = run({"--noise", "ideal", "--qubits", "4", "--depth", "50", "--circuits", "400", "--threads",
                             "1", "--out", (dir.path / "r").string()},
                            dir.path);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const Table t = read_csv(dir.path / "r" / "barren_plateau.csv");
  REQUIRE(t.rows.size() == 2);
  for (const auto& row : t.rows) {
    const double v = num(row, "variance"), ref = two_design(4);
    INFO(row.at("cost") << ": variance " << v << " +- " << num(row, "variance_stderr") << " vs 2-design " << ref
                        << ", mean " << num(row, "mean") << ", " << num(row, "seconds") << " s");
    CHECK(std::fabs(v / ref - 1.0) < 0.2);
    CHECK(std::fabs(num(row, "mean")) < 4 * num(row, "mean_stderr") + 1e-12);
    WARN(row.at("cost") << ": variance " << v << " vs 2-design " << ref << " (" << num(row, "seconds") << " s)");
  }
}

TEST_CASE("exp_barren_plateau killed with SIGKILL and run again: no duplicate, no missing row", "[experiments][exp_barren_plateau]") {
  TempDir dir;
  kraus::test::study::ResumeCheck c;
  c.binary = KRAUS_EXP_BARREN_PLATEAU_BINARY;
  c.study = "barren_plateau";
  c.args = {"--noise", "ideal", "--noise", "depolarizing", "--qubits", "2:4", "--depth", "1:8", "--circuits", "100", "--threads", "1"};
  c.points = 3 * 2 * 8;
  c.kill_after = 5;
  c.varying = {"seconds"};
  kraus::test::study::check_kill_and_resume(c, dir.path);
}

TEST_CASE("docs/experiments.md documents every exp_barren_plateau column", "[experiments][exp_barren_plateau]") {
  const std::string docs = slurp(fs::path(KRAUS_DOCS_DIR) / "experiments.md");
  const auto at = docs.find("## exp_barren_plateau");
  REQUIRE(at != std::string::npos);
  const std::string section = docs.substr(at);
  for (const std::string& c : kBpColumns) {
    CAPTURE(c);
    CHECK_THAT(section, Contains("`" + c + "`"));
  }
  CHECK_THAT(section, Contains("d/(3(d²−1))"));
}
