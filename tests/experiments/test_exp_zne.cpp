// exp_zne run as a program: the --quick CSV (columns, rows, values in range, the mirror circuits'
// ideal value 1), the physics (one qubit under depolarising noise, where E(s) is known in closed
// form and Richardson / linear / exp:0 can be worked out by hand; on 3 qubits Richardson beats the
// unmitigated value on every row and the unmitigated error grows with depth and noise), failed fits
// as rows, resuming after kill -9 (the same CSV as an uninterrupted run but for `seconds`), and bad
// options refused with exit status 2 and no file written.
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

const std::vector<std::string> kZneColumns = {
    "study",        "noise_model",           "noise_scale",           "qubits",
    "depth",        "seed",                  "method",                "extrapolator",
    "observable",   "realized_scale_factors", "ideal",                "unmitigated",
    "mitigated",    "abs_error_unmitigated", "abs_error_mitigated",   "error_reduction",
    "standard_error", "status",              "seconds"};

using kraus::test::study::num;
using kraus::test::study::read_csv;
using kraus::test::study::Result;
using kraus::test::study::slurp;
using kraus::test::study::Table;
using CsvRow = std::map<std::string, std::string>;

struct TempDir : kraus::test::study::TempDir {
  TempDir() : kraus::test::study::TempDir("kraus_exp_zne") {}
};

Result run(const std::vector<std::string>& args, const fs::path& scratch) {
  return kraus::test::study::run(KRAUS_EXP_ZNE_BINARY, args, scratch);
}

std::string zne_key(const CsvRow& row) {
  std::string k;
  for (const char* c : {"noise_model", "noise_scale", "qubits", "depth", "seed", "method", "extrapolator", "observable"}) {
    k += row.at(c) + "|";
  }
  return k;
}

// The row of a method, extrapolator and depth (one qubit: observable Z0 only).
const CsvRow& find(const Table& t, const std::string& method, const std::string& extrapolator, int depth) {
  for (const CsvRow& row : t.rows) {
    if (row.at("method") == method && row.at("extrapolator") == extrapolator && std::stoi(row.at("depth")) == depth) {
      return row;
    }
  }
  FAIL("no row for " << method << ", " << extrapolator << ", depth " << depth);
  return t.rows.front();
}

}  // namespace

TEST_CASE("exp_zne --quick: columns, one row per point, method, extrapolator and observable, values in range",
          "[experiments][exp_zne]") {
  TempDir dir;
  const fs::path out = dir.path / "results";
  const Table t = kraus::test::study::run_quick(KRAUS_EXP_ZNE_BINARY, "zne", 8, kZneColumns, out, dir.path);
  // {depolarizing, amplitude_damping} x scale {0.5, 1} x depth {2, 6} x seed 1, 3 qubits;
  // 3 methods x 3 extrapolators x 2 observables per point.
  REQUIRE(t.rows.size() == 144);
  std::set<std::string> keys;
  std::map<std::string, int> per_method, per_extrapolator, per_observable;
  for (const CsvRow& row : t.rows) {
    CAPTURE(zne_key(row), row.at("status"));
    keys.insert(zne_key(row));
    ++per_method[row.at("method")];
    ++per_extrapolator[row.at("extrapolator")];
    ++per_observable[row.at("observable")];
    CHECK(row.at("study") == "zne");
    CHECK((row.at("noise_model") == "depolarizing" || row.at("noise_model") == "amplitude_damping"));
    CHECK((row.at("noise_scale") == "0.5" || row.at("noise_scale") == "1"));
    CHECK(row.at("qubits") == "3");
    CHECK((row.at("depth") == "2" || row.at("depth") == "6"));
    CHECK(row.at("seed") == "1");
    CHECK(row.at("realized_scale_factors") == "1 3 5");  // odd factors fold exactly
    const double ideal = num(row, "ideal"), unmitigated = num(row, "unmitigated");
    CHECK(std::fabs(ideal - 1.0) < 1e-12);  // a mirror circuit is the identity
    CHECK(std::fabs(unmitigated) <= 1.0);
    CHECK(unmitigated < ideal - 1e-3);  // the noise is visible
    CHECK(num(row, "abs_error_unmitigated") == Approx(std::fabs(unmitigated - ideal)).margin(1e-15));
    CHECK(num(row, "seconds") >= 0);
    const std::string& e = row.at("extrapolator");
    if (e == "linear" || e == "richardson") CHECK(row.at("status") == "ok");
    if (row.at("status") == "ok") {
      const double mitigated = num(row, "mitigated"), error = num(row, "abs_error_mitigated");
      CHECK(std::fabs(mitigated) <= 1.01);  // an extrapolation may overshoot 1 a little
      CHECK(error == Approx(std::fabs(mitigated - ideal)).margin(1e-15));
      CHECK(error >= 0);
      // Every extrapolator improves on the raw value of these weakly noisy circuits.
      CHECK(error < num(row, "abs_error_unmitigated"));
      CHECK(num(row, "error_reduction") == Approx(num(row, "abs_error_unmitigated") / error).epsilon(1e-12));
      // Richardson and exp on 3 points have no degrees of freedom left: no standard error.
      if (e == "linear") CHECK(num(row, "standard_error") >= 0);
      else CHECK(row.at("standard_error").empty());
    } else {
      CHECK_THAT(row.at("status"), Contains("fit_failed: "));
      CHECK(row.at("mitigated").empty());
      CHECK(row.at("abs_error_mitigated").empty());
      CHECK(row.at("error_reduction").empty());
    }
  }
  CHECK(keys.size() == 144);
  CHECK(per_method == std::map<std::string, int>{{"fold-global", 48}, {"fold-all", 48}, {"scale-noise", 48}});
  CHECK(per_extrapolator == std::map<std::string, int>{{"linear", 48}, {"richardson", 48}, {"exp", 48}});
  CHECK(per_observable == std::map<std::string, int>{{"Z0", 72}, {"Z0 Z1", 72}});

  const json j = json::parse(slurp(out / "zne.json"));
  CHECK(j["status"] == "complete");
  CHECK(j["output"]["columns"] == kZneColumns);
  CHECK(j["output"]["rows"] == 144);
  CHECK(j["options"]["methods"] == "fold-global,fold-all,scale-noise");
  CHECK(j["method"]["methods"] == json::array({"fold-global", "fold-all", "scale-noise"}));
  CHECK(j["method"]["extrapolators"] == json::array({"linear", "richardson", "exp"}));
  CHECK(j["method"]["scale_factors"] == json::array({1, 3, 5}));
}

TEST_CASE("exp_zne: one qubit under depolarising noise matches E(s) = (1 - 4sp/3)^g extrapolated by hand",
          "[experiments][exp_zne]") {
  // One qubit, depth d: the mirror circuit has g = 4d gates (RX, RY per layer, twice) and the
  // depolarizing model puts p = 0.001 x noise_scale after each. Depolarising commutes with every
  // unitary and shrinks the Bloch vector by 1 - 4p/3, so <Z0> = (1 - 4p/3)^g: scale-noise gives
  // E(s) = (1 - 4sp/3)^g, fold-global at s = 1, 2, 3 (g even, so every factor is realised exactly)
  // gives (1 - 4p/3)^(g s), an exact exponential with asymptote 0.
  TempDir dir;
  const double noise_scale = 10;
  const Result r = run({"--noise", "depolarizing", "--qubits", "1", "--depth", "1,3,8", "--seeds", "7",
                        "--noise-scale", "10", "--methods", "scale-noise,fold-global", "--extrapolators",
                        "richardson,linear,exp:0", "--scale-factors", "1,2,3", "--threads", "1", "--out",
                        (dir.path / "r").string()},
                       dir.path);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const Table t = read_csv(dir.path / "r" / "zne.csv");
  REQUIRE(t.rows.size() == 3 * 2 * 3);
  const double p = 0.001 * noise_scale;
  for (int depth : {1, 3, 8}) {
    CAPTURE(depth);
    const double g = 4.0 * depth;
    const double unmitigated = std::pow(1 - 4 * p / 3, g);
    std::map<std::string, std::vector<double>> e;  // E(1), E(2), E(3) per method
    for (double s : {1.0, 2.0, 3.0}) {
      e["scale-noise"].push_back(std::pow(1 - 4 * s * p / 3, g));
      e["fold-global"].push_back(std::pow(1 - 4 * p / 3, g * s));
    }
    for (const std::string method : {"scale-noise", "fold-global"}) {
      CAPTURE(method);
      const std::vector<double>& v = e[method];
      // Lagrange at 0 through s = 1, 2, 3: weights 3, -3, 1.
      const double richardson = 3 * v[0] - 3 * v[1] + v[2];
      // Least-squares line through (1, v0), (2, v1), (3, v2): slope (v2 - v0)/2, intercept mean - 2 slope.
      const double linear = (v[0] + v[1] + v[2]) / 3 - (v[2] - v[0]);
      const std::map<std::string, double> expected = {{"richardson", richardson}, {"linear", linear}};
      for (const auto& [extrapolator, value] : expected) {
        const CsvRow& row = find(t, method, extrapolator, depth);
        CHECK(row.at("status") == "ok");
        CHECK(row.at("realized_scale_factors") == "1 2 3");
        CHECK(num(row, "ideal") == Approx(1.0).margin(1e-14));
        CHECK(num(row, "unmitigated") == Approx(unmitigated).margin(1e-12));
        CHECK(num(row, "mitigated") == Approx(value).margin(1e-12));
        CHECK(num(row, "abs_error_mitigated") == Approx(std::fabs(value - 1.0)).margin(1e-12));
      }
    }
    // fold-global's values are exactly exponential in s with asymptote 0: exp:0 recovers 1.
    const CsvRow& exp_row = find(t, "fold-global", "exp:0", depth);
    CHECK(exp_row.at("status") == "ok");
    CHECK(num(exp_row, "mitigated") == Approx(1.0).margin(1e-9));
  }
}

TEST_CASE("exp_zne: on 3 qubits Richardson beats the raw value everywhere; the raw error grows with depth and noise",
          "[experiments][exp_zne]") {
  TempDir dir;
  const Result r = run({"--noise", "depolarizing", "--noise", "amplitude_damping", "--qubits", "3", "--depth",
                        "2,6,10", "--noise-scale", "0.5,1,2", "--seeds", "1,2", "--methods",
                        "fold-global,fold-all,scale-noise", "--extrapolators", "richardson", "--threads", "1",
                        "--out", (dir.path / "r").string()},
                       dir.path);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const Table t = read_csv(dir.path / "r" / "zne.csv");
  REQUIRE(t.rows.size() == 2 * 3 * 3 * 2 * 3 * 2);
  // Unmitigated error per (model, seed, observable) -> (noise scale, depth).
  std::map<std::string, std::map<std::pair<double, int>, double>> raw;
  for (const CsvRow& row : t.rows) {
    CAPTURE(zne_key(row));
    REQUIRE(row.at("status") == "ok");
    CHECK(num(row, "abs_error_mitigated") < num(row, "abs_error_unmitigated"));
    CHECK(num(row, "error_reduction") > 1);
    raw[row.at("noise_model") + " " + row.at("seed") + " " + row.at("observable")]
       [{num(row, "noise_scale"), std::stoi(row.at("depth"))}] = num(row, "abs_error_unmitigated");
  }
  REQUIRE(raw.size() == 2 * 2 * 2);
  for (const auto& [series, errors] : raw) {
    CAPTURE(series);
    REQUIRE(errors.size() == 9);
    for (const auto& [at, error] : errors) {
      CAPTURE(at.first, at.second);
      CHECK(error > 0);
      for (const auto& [other, other_error] : errors) {
        if (other.first == at.first && other.second > at.second) CHECK(other_error > error);
        if (other.second == at.second && other.first > at.first) CHECK(other_error > error);
      }
    }
  }
}

TEST_CASE("exp_zne: a failed exponential fit is a row with status fit_failed and blank mitigated columns",
          "[experiments][exp_zne]") {
  // At 1% of the depolarizing model's strength, E(s) = (1 - 4sp/3)^4 is a straight line to 1e-10:
  // an unbounded exponential fit degenerates; the run must go on and report it.
  TempDir dir;
  const Result r = run({"--noise", "depolarizing", "--qubits", "1", "--depth", "1", "--seeds", "1", "--noise-scale",
                        "0.01", "--methods", "scale-noise", "--extrapolators", "exp,richardson", "--threads", "1",
                        "--out", (dir.path / "r").string()},
                       dir.path);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const Table t = read_csv(dir.path / "r" / "zne.csv");
  REQUIRE(t.rows.size() == 2);
  const CsvRow& failed = find(t, "scale-noise", "exp", 1);
  CHECK_THAT(failed.at("status"), Contains("fit_failed: exponential fit"));
  CHECK(failed.at("status").find(',') == std::string::npos);
  for (const char* c : {"mitigated", "abs_error_mitigated", "error_reduction", "standard_error"}) {
    CAPTURE(c);
    CHECK(failed.at(c).empty());
  }
  CHECK(num(failed, "abs_error_unmitigated") > 0);
  const CsvRow& ok = find(t, "scale-noise", "richardson", 1);
  CHECK(ok.at("status") == "ok");
  CHECK(num(ok, "abs_error_mitigated") < 1e-9);
  const json j = json::parse(slurp(dir.path / "r" / "zne.json"));
  CHECK(j["status"] == "complete");
}

TEST_CASE("exp_zne killed with SIGKILL and run again: the CSV of an uninterrupted run but for seconds", "[experiments][exp_zne]") {
  TempDir dir;
  kraus::test::study::ResumeCheck c;
  c.binary = KRAUS_EXP_ZNE_BINARY;
  c.study = "zne";
  c.args = {"--noise", "depolarizing", "--noise", "device_like", "--qubits", "4", "--depth", "1:10", "--noise-scale", "0.5,1", "--seeds", "1:10", "--methods", "fold-global,fold-random,scale-noise", "--scale-factors", "1,2,3", "--extrapolators", "linear,richardson,exp", "--threads", "1"};
  c.points = 2 * 10 * 2 * 10;
  c.kill_after = 20;
  c.varying = {"seconds"};
  kraus::test::study::check_kill_and_resume(c, dir.path);
}

TEST_CASE("exp_zne: bad options exit with status 2, one message naming the problem, no file written",
          "[experiments][exp_zne]") {
  TempDir dir;
  const fs::path out = dir.path / "never";
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> cases = {
      {{"--methods", "fold-global,fold-sideways"}, {"--methods", "fold-sideways"}},
      {{"--methods", "fold-all,fold-all"}, {"--methods", "listed twice"}},
      {{"--extrapolators", "linear,cubic"}, {"--extrapolators", "cubic"}},
      {{"--extrapolators", "poly:3"}, {"--extrapolators", "poly:3", "4 scale factors"}},
      {{"--extrapolators", "adaexp:4"}, {"--extrapolators", "adaexp"}},
      {{"--scale-factors", "1,0.5"}, {"--scale-factors", "below 1"}},
      {{"--scale-factors", "1,3,3"}, {"--scale-factors", "distinct"}},
      {{"--methods", "scale-noise", "--noise", "readout_only"}, {"scale-noise", "readout_only"}},
      {{"--methods", "fold-layer:999", "--qubits", "2", "--depth", "1"}, {"fold-layer:999"}},
      {{"--num-to-average", "0"}, {"--num-to-average"}},
  };
  for (const auto& [args, words] : cases) {
    std::vector<std::string> a = args;
    a.insert(a.end(), {"--quick", "--out", out.string()});
    const Result r = run(a, dir.path);
    CAPTURE(args, r.err);
    CHECK(r.status == 2);
    for (const std::string& w : words) CHECK_THAT(r.err, Contains(w));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.out.empty());
    CHECK_FALSE(fs::exists(out));
  }
}

TEST_CASE("docs/experiments.md documents every exp_zne column", "[experiments][exp_zne]") {
  const std::string docs = slurp(fs::path(KRAUS_DOCS_DIR) / "experiments.md");
  const auto at = docs.find("## exp_zne");
  REQUIRE(at != std::string::npos);
  const std::string section = docs.substr(at, docs.find("\n## ", at + 1) - at);
  for (const std::string& c : kZneColumns) {
    CAPTURE(c);
    CHECK_THAT(section, Contains("`" + c + "`"));
  }
  CHECK_THAT(section, Contains("fit_failed"));
}
