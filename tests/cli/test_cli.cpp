// `kraus simulate` run as a program: its JSON contract (keys, bit order, readout, shots, density
// matrix), noisy runs of random circuits under every channel family against the dense reference of
// noisy_reference.hpp, and every error path (exit status 2, one message on stderr, nothing on stdout).
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.hpp"
#include "cli/noisy_reference.hpp"
#include "reference/test_support.hpp"

#ifndef KRAUS_CLI_DATA_DIR
#error "KRAUS_CLI_DATA_DIR must name tests/data/cli"
#endif

namespace {

namespace fs = std::filesystem;
namespace ref = kraus::test;
namespace noisy = kraus::test::noisy;
using json = nlohmann::json;
using kraus::test::cli::kraus_cli;
using kraus::test::cli::quote;
using kraus::test::cli::read_all;
using kraus::test::cli::Result;
using kraus::test::cli::scratch;
using kraus::test::cli::show;
using kraus::test::cli::write_scratch;
using kraus::noise::ChannelSpec;
using kraus::noise::NoiseModel;

const std::string kData = std::string(KRAUS_CLI_DATA_DIR) + "/";
constexpr double kTol = 1e-10;

// ---- running the program -------------------------------------------------------------------------

// A successful run: status 0, one JSON object on stdout, and on stderr exactly its "warnings", one
// "kraus: warning: " line each, besides the progress lines of runs longer than a second
// ("kraus: trajectories 1872/6000 (1 s)"), which depend on the machine's speed.
json ok_json(const std::vector<std::string>& args) {
  const Result r = kraus_cli(args);
  INFO(show(r));
  REQUIRE(r.status == 0);
  json j;
  REQUIRE_NOTHROW(j = json::parse(r.out));
  REQUIRE(j.is_object());
  std::string expected_err;
  if (j.contains("warnings")) {
    for (const auto& w : j.at("warnings")) expected_err += "kraus: warning: " + w.get<std::string>() + "\n";
  }
  CHECK(kraus::test::cli::without_progress(r.err) == expected_err);
  return j;
}

// The error contract: status 2, nothing on stdout, one line on stderr that contains every `needle`.
void check_error(const std::vector<std::string>& args, const std::vector<std::string>& needles) {
  const Result r = kraus_cli(args);
  std::string cmd = "kraus";
  for (const std::string& a : args) cmd += " " + a;
  INFO(cmd << "\n" << show(r));
  CHECK(r.status == 2);
  CHECK(r.out.empty());
  CHECK(!r.err.empty());
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK((!r.err.empty() && r.err.back() == '\n'));
  for (const std::string& n : needles) {
    INFO("expected in the message: " << n);
    CHECK(r.err.find(n) != std::string::npos);
  }
}

// ---- the model's JSON, written here from the documented format -------------------------------------

json channel_json(const ChannelSpec& s) {
  json j;
  j["type"] = s.type;
  if (s.type == "depolarizing" && s.num_qubits > 0) j["num_qubits"] = s.num_qubits;
  for (const auto& [k, v] : s.params) j[k] = v;
  if (!s.axis.empty()) j["axis"] = s.axis;
  if (!s.pauli_probabilities.empty()) {
    j["probabilities"] = json::object();
    for (const auto& [k, v] : s.pauli_probabilities) j["probabilities"][k] = v;
  }
  if (!s.kraus_operators.empty()) {
    j["operators"] = json::array();
    for (const kraus::noise::Matrix& m : s.kraus_operators) {
      json rows = json::array();
      for (int r = 0; r < m.rows(); ++r) {
        json row = json::array();
        for (int c = 0; c < m.cols(); ++c) row.push_back({m(r, c).real(), m(r, c).imag()});
        rows.push_back(row);
      }
      j["operators"].push_back(rows);
    }
  }
  return j;
}

std::string model_json(const NoiseModel& m) {
  json j = json::object();
  if (!m.gate_noise.empty()) {
    j["gate_noise"] = json::array();
    for (const kraus::noise::GateNoiseRule& r : m.gate_noise) {
      json jr;
      jr["gates"] = r.gates;
      if (!r.qubits.empty()) jr["qubits"] = r.qubits;
      jr["channel"] = channel_json(r.channel);
      j["gate_noise"].push_back(jr);
    }
  }
  if (m.idle_noise) j["idle_noise"] = channel_json(*m.idle_noise);
  if (!m.readout.empty()) {
    j["readout"] = json::array();
    for (const kraus::noise::ReadoutSpec& r : m.readout) {
      json jr;
      if (r.all_qubits) {
        jr["qubits"] = "all";
      } else {
        jr["qubits"] = r.qubits;
      }
      if (r.matrix.empty()) {
        jr["p1_given_0"] = r.p1_given_0;
        jr["p0_given_1"] = r.p0_given_1;
      } else {
        const std::size_t d = std::size_t{1} << r.qubits.size();
        jr["matrix"] = json::array();
        for (std::size_t t = 0; t < d; ++t) {
          jr["matrix"].push_back(std::vector<double>(r.matrix.begin() + static_cast<std::ptrdiff_t>(t * d),
                                                     r.matrix.begin() + static_cast<std::ptrdiff_t>((t + 1) * d)));
        }
      }
      j["readout"].push_back(jr);
    }
  }
  return j.dump(2);
}

// ---- reading the output --------------------------------------------------------------------------

arma::cx_mat density_matrix_of(const json& out) {
  const json& dm = out.at("density_matrix");
  const json& re = dm.at("real");
  const json& im = dm.at("imag");
  const arma::uword d = re.size();
  arma::cx_mat m(d, d);
  for (arma::uword r = 0; r < d; ++r) {
    REQUIRE(re[r].size() == d);
    REQUIRE(im[r].size() == d);
    for (arma::uword c = 0; c < d; ++c) m(r, c) = ref::Complex(re[r][c].get<double>(), im[r][c].get<double>());
  }
  REQUIRE(im.size() == d);
  return m;
}

std::vector<double> probabilities_of(const json& out) { return out.at("probabilities").get<std::vector<double>>(); }

std::map<std::string, long long> counts_of(const json& out) {
  std::map<std::string, long long> counts;
  for (auto it = out.at("counts").begin(); it != out.at("counts").end(); ++it) counts[it.key()] = it->get<long long>();
  return counts;
}

// Basis index of a bitstring printed with qubit n-1 leftmost.
std::size_t index_of(const std::string& bits) {
  std::size_t i = 0;
  for (char c : bits) i = 2 * i + (c == '1' ? 1 : 0);
  return i;
}

// Every count within 5 standard deviations of shots * p; outcomes of probability 0 never drawn.
void check_counts_match(const std::map<std::string, long long>& counts, const std::vector<double>& p, int n,
                        long long shots) {
  long long total = 0;
  std::vector<long long> by_index(p.size(), 0);
  for (const auto& [bits, count] : counts) {
    INFO("outcome " << bits);
    REQUIRE(static_cast<int>(bits.size()) == n);
    REQUIRE(bits.find_first_not_of("01") == std::string::npos);
    by_index[index_of(bits)] = count;
    total += count;
  }
  CHECK(total == shots);
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double mean = static_cast<double>(shots) * p[i];
    const double sigma = std::sqrt(static_cast<double>(shots) * p[i] * (1 - p[i]));
    INFO("index " << i << ": p = " << p[i] << ", count " << by_index[i]);
    CHECK(std::abs(static_cast<double>(by_index[i]) - mean) <= 5 * sigma + 1e-9);
  }
}

// CPUs this process may run on.
int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(sched_getaffinity(0, sizeof set, &set) == 0);
  return CPU_COUNT(&set);
}

// Tr(P rho) for a Pauli string such as "X0 Z2" on n qubits, from dense matrices.
double dense_expectation(const arma::cx_mat& rho, const std::string& text, int n) {
  std::string labels(static_cast<std::size_t>(n), 'I');
  std::istringstream in(text);
  std::string factor;
  while (in >> factor) {
    if (factor == "I") continue;
    labels[static_cast<std::size_t>(std::stoi(factor.substr(1)))] = factor[0];
  }
  return arma::trace(ref::pauli_string_operator(labels) * rho).real();
}

}  // namespace

// ---- help --------------------------------------------------------------------------------------------

TEST_CASE("kraus simulate help exits 0 and lists every option", "[cli]") {
  for (const std::string flag : {"--help", "-h"}) {
    const Result r = kraus_cli({"simulate", flag});
    INFO(show(r));
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    for (const char* option : {"--noise", "--observable", "--shots", "--seed", "--density-matrix", "--threads"}) {
      INFO("option " << option);
      CHECK(r.out.find(option) != std::string::npos);
    }
  }
}

TEST_CASE("kraus help exits 0 and names the commands", "[cli]") {
  const Result r = kraus_cli({"--help"});
  INFO(show(r));
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  CHECK(r.out.find("simulate") != std::string::npos);
  CHECK(r.out.find("demo") != std::string::npos);
}

TEST_CASE("kraus help mentions every option of simulate", "[cli]") {
  const Result r = kraus_cli({"--help"});
  INFO(show(r));
  CHECK(r.status == 0);
  for (const char* option : {"--noise", "--observable", "--shots", "--seed", "--density-matrix", "--threads"}) {
    INFO("option " << option);
    CHECK(r.out.find(option) != std::string::npos);
  }
}

// ---- the JSON contract -----------------------------------------------------------------------------

TEST_CASE("noiseless run with its keys and expectations keyed as given", "[cli]") {
  // h 0; cx 0,1; x 2: (|0> + |3>)/sqrt2 with qubit 2 set, i.e. basis states 4 and 7.
  const std::vector<std::string> observables = {"Z0 Z1", "X0 X1", "Y0 Y1", "Z2", "X0 Z2", "I", "Z1  Z0"};
  std::vector<std::string> args = {"simulate", kData + "bell_x.qasm"};
  for (const std::string& o : observables) {
    args.push_back("--observable");
    args.push_back(o);
  }
  const json out = ok_json(args);
  std::set<std::string> keys;
  for (auto it = out.begin(); it != out.end(); ++it) keys.insert(it.key());
  CHECK(keys == std::set<std::string>{"num_qubits", "method", "trace", "purity", "probabilities", "expectations",
                                      "warnings", "provenance"});
  CHECK(out.at("method").at("name") == "statevector");
  CHECK(out.at("num_qubits") == 3);
  CHECK_THAT(out.at("trace").get<double>(), Catch::Matchers::WithinAbs(1.0, 1e-12));
  CHECK_THAT(out.at("purity").get<double>(), Catch::Matchers::WithinAbs(1.0, 1e-12));
  const std::vector<double> p = probabilities_of(out);
  REQUIRE(p.size() == 8);
  for (std::size_t i = 0; i < 8; ++i) {
    INFO("index " << i);
    CHECK_THAT(p[i], Catch::Matchers::WithinAbs(i == 4 || i == 7 ? 0.5 : 0.0, 1e-12));
  }
  const json& e = out.at("expectations");
  REQUIRE(e.size() == observables.size());
  const std::map<std::string, double> expected = {{"Z0 Z1", 1.0}, {"X0 X1", 1.0}, {"Y0 Y1", -1.0},
                                                  {"Z2", -1.0},   {"X0 Z2", 0.0}, {"I", 1.0},
                                                  {"Z1  Z0", 1.0}};  // kept as given, two spaces and all
  for (const auto& [key, value] : expected) {
    INFO("observable " << key);
    REQUIRE(e.contains(key));
    CHECK_THAT(e.at(key).get<double>(), Catch::Matchers::WithinAbs(value, 1e-12));
  }
}

TEST_CASE("probabilities and counts put qubit 0 in bit 0 and print qubit n-1 leftmost", "[cli]") {
  for (int target : {0, 2}) {
    const std::string qasm = write_scratch("x" + std::to_string(target) + ".qasm",
                                           "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[3];\ncreg c[3];\nx q[" +
                                               std::to_string(target) + "];\nmeasure q -> c;\n");
    const json out = ok_json({"simulate", qasm, "--shots", "7"});
    const std::vector<double> p = probabilities_of(out);
    REQUIRE(p.size() == 8);
    CHECK_THAT(p[std::size_t{1} << target], Catch::Matchers::WithinAbs(1.0, 1e-12));
    const std::map<std::string, long long> counts = counts_of(out);
    CHECK(counts == std::map<std::string, long long>{{target == 0 ? "001" : "100", 7}});
  }
}

TEST_CASE("option density-matrix prints rows of columns with real and imaginary parts", "[cli]") {
  // h; s: |psi> = (|0> + i|1>)/sqrt2, rho(0, 1) = -i/2, rho(1, 0) = +i/2.
  const std::string qasm =
      write_scratch("hs.qasm", "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[1];\nh q[0];\ns q[0];\n");
  const json plain = ok_json({"simulate", qasm});
  CHECK(!plain.contains("density_matrix"));
  CHECK(!plain.contains("counts"));
  const json out = ok_json({"simulate", qasm, "--density-matrix"});
  const arma::cx_mat rho = density_matrix_of(out);
  REQUIRE(rho.n_rows == 2);
  CHECK_THAT(rho(0, 0).real(), Catch::Matchers::WithinAbs(0.5, 1e-12));
  CHECK_THAT(rho(0, 1).imag(), Catch::Matchers::WithinAbs(-0.5, 1e-12));
  CHECK_THAT(rho(1, 0).imag(), Catch::Matchers::WithinAbs(0.5, 1e-12));
  CHECK_THAT(rho(0, 1).real(), Catch::Matchers::WithinAbs(0.0, 1e-12));
  CHECK_THAT(rho(1, 1).real(), Catch::Matchers::WithinAbs(0.5, 1e-12));
  CHECK_THAT(rho(1, 1).imag(), Catch::Matchers::WithinAbs(0.0, 1e-12));

  // Two qubits, x on qubit 0: the weight sits at row and column 1.
  const std::string x0 = write_scratch("x0_2.qasm", "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\nx q[0];\n");
  const arma::cx_mat m = density_matrix_of(ok_json({"simulate", x0, "--density-matrix"}));
  REQUIRE(m.n_rows == 4);
  CHECK_THAT(m(1, 1).real(), Catch::Matchers::WithinAbs(1.0, 1e-12));
}

TEST_CASE("shots sum to N and are reproducible per seed and follow the probabilities", "[cli]") {
  const std::string qasm = write_scratch(
      "skewed.qasm",
      "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[3];\ncreg c[3];\nry(1.1) q[0];\nh q[1];\ncx q[1],q[2];\n"
      "ry(0.4) q[2];\nmeasure q -> c;\n");
  const long long shots = 100000;
  const Result a = kraus_cli({"simulate", qasm, "--shots", std::to_string(shots), "--seed", "11"});
  const Result b = kraus_cli({"simulate", qasm, "--shots", std::to_string(shots), "--seed", "11"});
  const Result c = kraus_cli({"simulate", qasm, "--shots", std::to_string(shots), "--seed", "12"});
  INFO(show(a));
  REQUIRE(a.status == 0);
  REQUIRE(c.status == 0);
  CHECK(a.out == b.out);
  const json ja = json::parse(a.out), jc = json::parse(c.out);
  CHECK(counts_of(ja) != counts_of(jc));
  CHECK(probabilities_of(ja) == probabilities_of(jc));
  check_counts_match(counts_of(ja), probabilities_of(ja), 3, shots);
  check_counts_match(counts_of(jc), probabilities_of(jc), 3, shots);
  // The default seed is fixed too.
  CHECK(kraus_cli({"simulate", qasm, "--shots", "1000"}).out == kraus_cli({"simulate", qasm, "--shots", "1000"}).out);
  // Zero shots: an empty histogram.
  const json none = ok_json({"simulate", qasm, "--shots", "0"});
  CHECK(none.at("counts").empty());
}

TEST_CASE("readout errors reach probabilities and counts but not expectations", "[cli]") {
  // |000> read with P(1|0) = 0.2 on every qubit: P(r) = 0.8^(3-|r|) 0.2^|r|.
  const std::string qasm = write_scratch("zero3.qasm", "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[3];\ncreg c[3];\nid q[0];\n"
                                                  "measure q -> c;\n");
  const long long shots = 50000;
  const json out = ok_json({"simulate", qasm, "--noise", kData + "readout_all.json", "--observable", "Z0", "--shots",
                            std::to_string(shots), "--seed", "3"});
  const std::vector<double> p = probabilities_of(out);
  REQUIRE(p.size() == 8);
  for (std::size_t r = 0; r < 8; ++r) {
    const int ones = static_cast<int>((r & 1) + ((r >> 1) & 1) + ((r >> 2) & 1));
    CHECK_THAT(p[r], Catch::Matchers::WithinAbs(std::pow(0.8, 3 - ones) * std::pow(0.2, ones), 1e-12));
  }
  CHECK_THAT(out.at("expectations").at("Z0").get<double>(), Catch::Matchers::WithinAbs(1.0, 1e-12));
  CHECK_THAT(out.at("purity").get<double>(), Catch::Matchers::WithinAbs(1.0, 1e-12));
  check_counts_match(counts_of(out), p, 3, shots);
}

TEST_CASE("option threads does not change the result", "[cli]") {
  // Seven qubits: the size from which the kernels use several threads.
  ref::Rng rng(77);
  noisy::CircuitOptions opt;
  opt.num_ops = 30;
  opt.max_unitary_qubits = 0;
  const noisy::RefCircuit c = noisy::random_circuit(7, rng, opt);
  const NoiseModel model = noisy::random_model("amplitude_damping", 7, true, rng);
  const std::string qasm = write_scratch("threads.qasm", noisy::to_qasm(c));
  const std::string noise = write_scratch("threads.json", model_json(model));
  const json one = ok_json({"simulate", qasm, "--noise", noise, "--threads", "1", "--density-matrix"});
  // As many threads as this process may use, up to 4 (more would be capped, with a note on stderr).
  const json four = ok_json({"simulate", qasm, "--noise", noise, "--threads", std::to_string(std::min(4, available_cores())),
                             "--density-matrix"});
  CHECK(ref::max_abs_diff(density_matrix_of(one), density_matrix_of(four)) <= 1e-12);
  CHECK(ref::max_abs_diff(density_matrix_of(one), noisy::reference_simulate(c, &model)) <= kTol);
}

TEST_CASE("option parameters binds a circuit's inputs; without it a parametrised circuit is refused", "[cli]") {
  const std::string symbolic = write_scratch("inputs.qasm", "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
                                             "input float[64] theta;\ninput float[64] phi;\nqreg q[2];\n"
                                             "h q[0];\nry(2*theta - 0.5) q[1];\ncx q[0], q[1];\nrzz(phi) q[0], q[1];\n");
  const std::string numeric = write_scratch("numbers.qasm", "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\n"
                                            "h q[0];\nry(0.9) q[1];\ncx q[0], q[1];\nrzz(-1.25) q[0], q[1];\n");
  const std::string values = write_scratch("values.json", R"({"phi": -1.25, "theta": 0.7})");
  const json a = ok_json({"simulate", symbolic, "--parameters", values, "--density-matrix", "--observable", "X0 X1"});
  const json b = ok_json({"simulate", numeric, "--density-matrix", "--observable", "X0 X1"});
  CHECK(ref::max_abs_diff(density_matrix_of(a), density_matrix_of(b)) <= 1e-14);
  check_error({"simulate", symbolic}, {"missing --parameters FILE", "theta, phi"});
  check_error({"simulate", symbolic, "--parameters", write_scratch("partial.json", R"({"theta": 1})")},
              {"partial.json", "missing parameter \"phi\""});
}

TEST_CASE("option no-fusion runs call by call with the same result", "[cli]") {
  // Nine qubits: beyond the default block size, so the default run is fused and cache-blocked.
  ref::Rng rng(78);
  noisy::CircuitOptions opt;
  opt.num_ops = 60;
  opt.max_unitary_qubits = 0;
  const noisy::RefCircuit c = noisy::random_circuit(9, rng, opt);
  const NoiseModel model = noisy::random_model("thermal_relaxation", 9, true, rng);
  const std::string qasm = write_scratch("fusion.qasm", noisy::to_qasm(c));
  const std::string noise = write_scratch("fusion.json", model_json(model));
  const json fused = ok_json({"simulate", qasm, "--noise", noise, "--density-matrix"});
  const json plain = ok_json({"simulate", qasm, "--noise", noise, "--density-matrix", "--no-fusion"});
  CHECK(ref::max_abs_diff(density_matrix_of(fused), density_matrix_of(plain)) <= 1e-12);
  CHECK(ref::max_abs_diff(density_matrix_of(plain), noisy::reference_simulate(c, &model)) <= kTol);
}

// ---- noisy runs against the dense reference ---------------------------------------------------------

TEST_CASE("random noisy circuits under each channel type match the dense reference", "[cli]") {
  const std::string family = GENERATE(from_range(noisy::channel_cases()));
  ref::Rng rng(0xc1u + std::hash<std::string>{}(family));
  std::uniform_real_distribution<double> u(0.0, 0.15);
  for (int trial = 0; trial < 2; ++trial) {
    const bool three = noisy::case_arity(family) == 3;
    const int n = three ? 3 + trial : 2 + (trial + static_cast<int>(family.size())) % 3;
    noisy::CircuitOptions opt;
    opt.num_ops = 14;
    opt.max_unitary_qubits = 0;  // OpenQASM 2 has no arbitrary unitaries
    opt.three_qubit_share = three || noisy::case_arity(family) == 0 ? 0.2 : 0.0;
    opt.final_measure = trial == 0;
    const noisy::RefCircuit c = noisy::random_circuit(n, rng, opt);
    NoiseModel model = noisy::random_model(family, n, trial == 1, rng);
    if (trial == 1) {
      model.readout.push_back({false, {0}, u(rng), u(rng), {}});
      if (n >= 3) model.readout.push_back({false, {2, 1}, 0, 0, {0.7, 0.1, 0.1, 0.1, 0.05, 0.9, 0.05, 0.0,
                                                                 0.0, 0.0, 1.0, 0.0, 0.2, 0.2, 0.2, 0.4}});
    }
    const std::string tag = family + "_" + std::to_string(trial);
    const std::string qasm_text = noisy::to_qasm(c), model_text = model_json(model);
    const std::string qasm = write_scratch(tag + ".qasm", qasm_text);
    const std::string noise = write_scratch(tag + ".json", model_text);
    INFO("circuit:\n" << qasm_text << "model:\n" << model_text);

    const std::vector<std::string> observables = {"Z0", "X0 Y1", "I", "Z" + std::to_string(n - 1) + " X0"};
    std::vector<std::string> args = {"simulate", qasm, "--noise", noise, "--density-matrix"};
    for (const std::string& o : observables) {
      args.push_back("--observable");
      args.push_back(o);
    }
    const json out = ok_json(args);
    const arma::cx_mat expected = noisy::reference_simulate(c, &model);
    CHECK(out.at("num_qubits") == n);
    const arma::cx_mat rho = density_matrix_of(out);
    CHECK(ref::max_abs_diff(rho, expected) <= kTol);
    CHECK_THAT(out.at("trace").get<double>(), Catch::Matchers::WithinAbs(arma::trace(expected).real(), kTol));
    CHECK_THAT(out.at("purity").get<double>(),
               Catch::Matchers::WithinAbs(arma::accu(arma::square(arma::abs(expected))), kTol));
    std::vector<double> diag(expected.n_rows);
    for (arma::uword i = 0; i < expected.n_rows; ++i) diag[i] = expected(i, i).real();
    const std::vector<double> want = noisy::reference_readout(diag, model.readout, n);
    const std::vector<double> p = probabilities_of(out);
    REQUIRE(p.size() == want.size());
    for (std::size_t i = 0; i < p.size(); ++i) CHECK_THAT(p[i], Catch::Matchers::WithinAbs(want[i], kTol));
    for (const std::string& o : observables) {
      INFO("observable " << o);
      CHECK_THAT(out.at("expectations").at(o).get<double>(),
                 Catch::Matchers::WithinAbs(dense_expectation(expected, o, n), kTol));
    }
  }
}

// ---- errors: status 2, one message on stderr, nothing on stdout --------------------------------------

TEST_CASE("an unreadable circuit file", "[cli]") {
  const std::string missing = (scratch() / "no_such_circuit.qasm").string();
  check_error({"simulate", missing}, {"no_such_circuit.qasm"});
  check_error({"simulate", scratch().string()}, {});  // a directory
}

TEST_CASE("a QASM error names file line and column", "[cli]") {
  for (const std::string name : {"bad_syntax.qasm", "unknown_gate.qasm"}) {
    const Result r = kraus_cli({"simulate", kData + name});
    INFO(show(r));
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    // bad_syntax.qasm misses the ';' of line 4 (reported there or where line 5 starts); unknown_gate.qasm
    // calls 'foo' on line 4.
    const std::regex where(std::regex_replace(name, std::regex("\\."), "\\.") +
                           (name == "bad_syntax.qasm" ? ":[45]:[0-9]+: " : ":4:1: "));
    CHECK(std::regex_search(r.err, where));
  }
  check_error({"simulate", kData + "unknown_gate.qasm"}, {"foo"});
}

TEST_CASE("a bad noise model names the JSON path", "[cli]") {
  const std::string circuit = kData + "bell_x.qasm";
  check_error({"simulate", circuit, "--noise", kData + "bad_probability.json"},
              {"bad_probability.json", "gate_noise[0].channel.p", "1.5"});
  check_error({"simulate", circuit, "--noise", kData + "unknown_channel.json"},
              {"unknown_channel.json", "gate_noise[0].channel.type", "depolarising"});
  check_error({"simulate", circuit, "--noise", kData + "invalid_json.json"}, {"invalid_json.json"});
  check_error({"simulate", circuit, "--noise", (scratch() / "no_such_model.json").string()}, {"no_such_model.json"});
  // Models that parse but do not fit the circuit.
  check_error({"simulate", circuit, "--noise", kData + "two_qubit_after_h.json"}, {"gate_noise[1]", "'h'"});
  check_error({"simulate", circuit, "--noise", kData + "readout_beyond.json"}, {"readout[0]", "qubit 7"});
}

// noise_model.hpp: "Bad model files: the message names the source and the JSON path" -- also when
// the file parses but does not fit the circuit (validate_noise), which is still a bad model file.
TEST_CASE("a noise model that does not fit the circuit names the model file", "[cli]") {
  const std::string circuit = kData + "bell_x.qasm";
  check_error({"simulate", circuit, "--noise", kData + "two_qubit_after_h.json"}, {"two_qubit_after_h.json", "gate_noise[1]"});
  check_error({"simulate", circuit, "--noise", kData + "readout_beyond.json"}, {"readout_beyond.json", "readout[0]"});
}

TEST_CASE("a bad observable", "[cli]") {
  const std::string circuit = kData + "bell_x.qasm";
  check_error({"simulate", circuit, "--observable", "Q0"}, {"Q0"});
  check_error({"simulate", circuit, "--observable", "Z0 Z5"}, {"Z0 Z5"});
  check_error({"simulate", circuit, "--observable", "X3"}, {"X3"});
  check_error({"simulate", circuit, "--observable", "Z0 Z0"}, {"Z0 Z0"});
}

TEST_CASE("too many qubits for the memory fails before allocating", "[cli]") {
  check_error({"simulate", kData + "twenty_qubits.qasm", "--method", "density-matrix"}, {"qubits need"});
  // The state vector of 30 qubits (16 GiB, one per thread and one more) does not fit either.
  const std::string thirty = write_scratch("thirty.qasm", "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[30];\nh q[0];\n");
  check_error({"simulate", thirty}, {"thirty.qasm:3:", "30 qubits need", "the state vectors and the output"});
}

TEST_CASE("usage errors", "[cli]") {
  const std::string circuit = kData + "bell_x.qasm";
  check_error({"simulate", circuit, "--bogus"}, {"--bogus"});
  check_error({"simulate", circuit, "--bogus", "1"}, {"--bogus"});
  check_error({"simulat", circuit}, {"simulat"});
  check_error({"simulate", circuit, "--shots"}, {"--shots"});
  check_error({"simulate", circuit, "--noise"}, {"--noise"});
  check_error({"simulate", circuit, "--observable"}, {"--observable"});
  check_error({"simulate"}, {"circuit"});
  check_error({"simulate", circuit, circuit}, {});
  check_error({"simulate", circuit, "--shots", "-5"}, {"--shots"});
  check_error({"simulate", circuit, "--shots", "ten"}, {"--shots"});
  check_error({"simulate", circuit, "--seed", "x"}, {"--seed"});
  check_error({"simulate", circuit, "--threads", "0"}, {"--threads"});
  // No command at all: status 2, nothing on stdout.
  const Result r = kraus_cli({});
  CHECK(r.status == 2);
  CHECK(r.out.empty());
  CHECK(!r.err.empty());
}

// ---- methods: density matrix, state vector, trajectories ---------------------------------------------

TEST_CASE("method auto: the state vector for noiseless circuits, the density matrix for small noisy ones", "[cli][method]") {
  ref::Rng rng(91);
  noisy::CircuitOptions opt;
  opt.num_ops = 30;
  opt.mid_circuit = false;
  opt.max_unitary_qubits = 0;
  const noisy::RefCircuit c = noisy::random_circuit(5, rng, opt);
  const std::string qasm = write_scratch("method_auto.qasm", noisy::to_qasm(c));
  const json sv = ok_json({"simulate", qasm, "--observable", "X0 Z3"});
  CHECK(sv["method"]["name"] == "statevector");
  const json dm = ok_json({"simulate", qasm, "--observable", "X0 Z3", "--method", "density-matrix"});
  CHECK(dm["method"]["name"] == "density-matrix");
  const arma::cx_mat exact = noisy::reference_simulate(c, nullptr);
  for (std::size_t i = 0; i < 32; ++i) {
    CHECK(std::abs(sv["probabilities"][i].get<double>() - exact(i, i).real()) <= kTol);
  }
  CHECK(std::abs(sv["expectations"]["X0 Z3"].get<double>() - dense_expectation(exact, "X0 Z3", 5)) <= kTol);
  CHECK(std::abs(sv["purity"].get<double>() - 1.0) <= kTol);
  // --density-matrix needs the density matrix: auto takes it.
  CHECK(ok_json({"simulate", qasm, "--density-matrix"})["method"]["name"] == "density-matrix");
  const NoiseModel model = noisy::random_model("amplitude_damping", 5, true, rng);
  const std::string noise = write_scratch("method_auto.json", model_json(model));
  const json noisy_auto = ok_json({"simulate", qasm, "--noise", noise});
  CHECK(noisy_auto["method"]["name"] == "density-matrix");
  CHECK(noisy_auto["method"]["reason"].get<std::string>().find("5 qubits") != std::string::npos);
}

TEST_CASE("method trajectories: estimates within 5 standard errors of the density matrix, the same for any thread count",
          "[cli][method][statistical]") {
  ref::Rng rng(92);
  noisy::CircuitOptions opt;
  opt.num_ops = 20;
  opt.max_unitary_qubits = 0;
  const noisy::RefCircuit c = noisy::random_circuit(4, rng, opt);
  NoiseModel model = noisy::random_model("thermal_relaxation", 4, true, rng);
  model.readout.push_back({false, {2}, 0.05, 0.1, {}});
  const std::string qasm = write_scratch("method_traj.qasm", noisy::to_qasm(c));
  const std::string noise = write_scratch("method_traj.json", model_json(model));
  const std::vector<std::string> args = {"simulate", qasm, "--noise", noise, "--method", "trajectories",
                                         "--trajectories", "6000", "--observable", "Z0 Z1 - 0.5*X2", "--seed", "5"};
  const json dm = ok_json({"simulate", qasm, "--noise", noise, "--observable", "Z0 Z1 - 0.5*X2"});
  std::vector<std::string> one = args, two = args;
  one.insert(one.end(), {"--threads", "1"});
  two.insert(two.end(), {"--threads", std::to_string(std::min(2, available_cores()))});
  const json t1 = ok_json(one), t2 = ok_json(two);
  CHECK(t1["method"]["name"] == "trajectories");
  CHECK(t1["trajectories"]["count"] == 6000);
  CHECK(t1["trajectories"]["seed"] == 5);
  CHECK_FALSE(t1.contains("purity"));
  CHECK(t1["expectations"] == t2["expectations"]);
  CHECK(t1["probabilities"] == t2["probabilities"]);
  const double mean = t1["expectations"]["Z0 Z1 - 0.5*X2"].get<double>();
  const double se = t1["expectation_stderr"]["Z0 Z1 - 0.5*X2"].get<double>();
  const double exact = dm["expectations"]["Z0 Z1 - 0.5*X2"].get<double>();
  INFO("trajectories " << mean << " +- " << se << ", density matrix " << exact);
  CHECK(se > 0.0);
  CHECK(std::abs(mean - exact) <= 5.0 * se);
  for (std::size_t i = 0; i < 16; ++i) {
    const double p = t1["probabilities"][i].get<double>(), e = t1["probability_stderr"][i].get<double>();
    const double x = dm["probabilities"][i].get<double>();
    INFO("p(" << i << ") " << p << " +- " << e << ", exact " << x);
    CHECK(std::abs(p - x) <= 5.0 * e + 1e-12);
  }
}

TEST_CASE("method option errors", "[cli][method]") {
  const std::string circuit = kData + "bell_x.qasm";
  const std::string noise = write_scratch("method_err.json", R"({"gate_noise": [{"gates": ["*"], "channel": {"type": "depolarizing", "p": 0.1}}]})");
  check_error({"simulate", circuit, "--method", "exact"}, {"--method", "'exact'"});
  check_error({"simulate", circuit, "--method", "trajectories", "--trajectories", "1"}, {"--trajectories"});
  check_error({"simulate", circuit, "--method", "density-matrix", "--trajectories", "10"}, {"--trajectories needs --method trajectories"});
  check_error({"simulate", circuit, "--noise", noise, "--method", "statevector"}, {"--method statevector", "noise"});
  check_error({"simulate", circuit, "--method", "trajectories", "--density-matrix"}, {"--density-matrix"});
  check_error({"simulate", circuit, "--method", "trajectories", "--noise", noise, "--observable", "Z0", "--zne-scales", "1,3"},
              {"zero-noise extrapolation"});
  check_error({"simulate", circuit, "--method", "trajectories", "--shots", "10", "--memory"}, {"--memory"});
  check_error({"simulate", circuit, "--method", "statevector", "--readout-in-expectations"}, {"--readout-in-expectations"});
  check_error({"simulate", circuit, "--method", "trajectories", "--readout-in-expectations"}, {"--readout-in-expectations"});
}

// ---- zero-noise extrapolation through the command ----------------------------------------------------

// The Mitiq paper's example (LaRose et al., Quantum 6, 774, 2022): 50 X gates, 1-qubit depolarising
// p = 0.01 after each, observable |0><0| = (1 + <Z>)/2; Richardson on [1, 2, 3] with global folding
// gives 0.9415779221792384, linear 0.8397782841085306, the unmitigated value 0.7555599657756668.
TEST_CASE("zne flags add the mitigated block with Mitiq's published numbers", "[cli][zne]") {
  std::string program = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[1];\n";
  for (int i = 0; i < 50; ++i) program += "x q[0];\n";
  const std::string circuit = write_scratch("x50.qasm", program);
  const std::string model =
      write_scratch("x50_noise.json", R"({"gate_noise": [{"gates": ["x"], "channel": {"type": "depolarizing", "p": 0.01}}]})");
  const auto projector = [](double z) { return (1.0 + z) / 2.0; };

  json out = ok_json({"simulate", circuit, "--noise", model, "--observable", "Z0", "--zne-scales", "1,2,3",
                      "--zne-method", "fold-global", "--zne-extrapolator", "richardson"});
  const json& m = out.at("mitigated").at("Z0");
  CHECK_THAT(projector(out.at("expectations").at("Z0").get<double>()), Catch::Matchers::WithinAbs(0.7555599657756668, 1e-12));
  CHECK_THAT(projector(m.at("value").get<double>()), Catch::Matchers::WithinAbs(0.9415779221792384, 1e-12));
  CHECK(m.at("stderr").is_null());
  CHECK(m.at("scale_factors") == json({1.0, 2.0, 3.0}));
  CHECK(m.at("realized_scale_factors") == json({1.0, 2.0, 3.0}));
  CHECK(m.at("noisy_values").size() == 3);
  CHECK(m.at("extrapolator") == "richardson");

  out = ok_json({"simulate", circuit, "--noise", model, "--observable", "Z0", "--zne-extrapolator", "linear"});
  CHECK_THAT(projector(out.at("mitigated").at("Z0").at("value").get<double>()), Catch::Matchers::WithinAbs(0.8397782841085306, 1e-12));
  CHECK(out.at("mitigated").at("Z0").at("stderr").is_number());
}

TEST_CASE("zne option errors", "[cli][zne]") {
  const std::string circuit = write_scratch("zne_bell.qasm",
                                            "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\nh q[0];\ncx q[0], q[1];\n");
  check_error({"simulate", circuit, "--observable", "Z0", "--zne-extrapolator", "cubic"}, {"--zne-extrapolator"});
  check_error({"simulate", circuit, "--observable", "Z0", "--zne-method", "fold-sideways"}, {"--zne-method"});
  check_error({"simulate", circuit, "--observable", "Z0", "--zne-scales", "1,0.5"}, {"--zne-scales"});
  check_error({"simulate", circuit, "--zne-scales", "1,2,3"}, {"--observable"});
  check_error({"simulate", circuit, "--observable", "Z0", "--zne-method", "scale-noise"}, {"--noise"});
  const std::string midcircuit = write_scratch(
      "zne_mid.qasm", "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[1];\ncreg c[1];\nh q[0];\nmeasure q[0] -> c[0];\nh q[0];\n");
  check_error({"simulate", midcircuit, "--observable", "Z0", "--zne-scales", "1,3"}, {"measure"});
}

// ---- hardening (issue 11): write errors, memory, resource bounds, option names -----------------------

namespace {

const std::string kHardening = kData + "hardening/";

// A failed write: status 1 and one line on stderr naming the error.
void check_write_error(const std::vector<std::string>& args, const std::string& stdout_to, const std::string& error) {
  const Result r = kraus_cli(args, "", stdout_to);
  std::string cmd = "kraus";
  for (const std::string& a : args) cmd += " " + a;
  INFO(cmd << " " << stdout_to << "\n" << show(r));
  CHECK(r.status == 1);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find("cannot write the output") != std::string::npos);
  CHECK(r.err.find(error) != std::string::npos);
}

}  // namespace

TEST_CASE("a failed write to stdout exits 1 with the system's error", "[cli][hardening]") {
  const std::string bell = kHardening + "bell.qasm";
  const std::vector<std::vector<std::string>> runs = {
      {"simulate", bell},          {"simulate", bell, "--density-matrix"}, {"demo"}, {"simulate", "--help"},
      {"demo", "--help"},          {"--help"}};
  for (const auto& args : runs) {
    check_write_error(args, ">/dev/full", std::strerror(ENOSPC));
    check_write_error(args, ">&-", std::strerror(EBADF));
  }
}

TEST_CASE("the density matrix is streamed exactly as one JSON document would print", "[cli][hardening]") {
  // The old output was ordered_json::dump(2) of the whole object: re-serialising what was read gives
  // the same bytes (doubles print shortest round-trip), with and without the blocks around it.
  const std::string bell = kHardening + "bell.qasm";
  const std::string noise = write_scratch(
      "stream_noise.json", R"({"gate_noise": [{"gates": ["*"], "channel": {"type": "amplitude_damping", "gamma": 0.1}}]})");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"simulate", bell, "--density-matrix"},
           {"simulate", bell, "--noise", noise, "--density-matrix", "--shots", "100", "--observable", "Z0 Z1"},
           {"simulate", bell, "--noise", noise, "--density-matrix", "--observable", "Z0", "--zne-scales", "1,3"}}) {
    const Result r = kraus_cli(args);
    INFO(show(r));
    REQUIRE(r.status == 0);
    const nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(r.out);
    CHECK(parsed.contains("density_matrix"));
    CHECK(parsed.dump(2) + "\n" == r.out);
  }
  // The streamed matrix is the state: (|00> + |11>)/sqrt2 without noise.
  const arma::cx_mat rho = density_matrix_of(ok_json({"simulate", bell, "--density-matrix"}));
  arma::cx_mat expected(4, 4, arma::fill::zeros);
  for (const arma::uword r : {0, 3})
    for (const arma::uword c : {0, 3}) expected(r, c) = 0.5;
  CHECK(ref::max_abs_diff(rho, expected) <= 1e-12);
}

TEST_CASE("a register too large for the memory is refused at its qreg line at once", "[cli][hardening]") {
  // After the qreg come 5 million barriers in nested gates: the check must not wait for them.
  const auto start = std::chrono::steady_clock::now();
  check_error({"simulate", kHardening + "twenty_qubits_then_expansion.qasm", "--method", "density-matrix"},
              {"twenty_qubits_then_expansion.qasm:3:", "20 qubits need", "the density matrix and the output"});
  // Hang detection only: before the check moved to the qreg line this took 35 s.
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 10.0);
}

// AddressSanitizer reserves terabytes of address space: no ulimit -v under it.
#if !defined(__SANITIZE_ADDRESS__)
TEST_CASE("an address-space limit is respected before allocating", "[cli][hardening]") {
  // 14 qubits need 4 GiB; under ulimit -v 3000000 (2.9 GiB) the check refuses them at the qreg
  // whatever the machine has available, instead of a bare std::bad_alloc. (Much lower limits make
  // OpenBLAS's thread start-up spin before main runs, so the limit stays at the issue's 3 GB.)
  const Result r =
      kraus_cli({"simulate", kHardening + "fourteen_qubits.qasm", "--method", "density-matrix"}, "ulimit -v 3000000;");
  INFO(show(r));
  CHECK(r.status == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find("fourteen_qubits.qasm:3:") != std::string::npos);
  CHECK(r.err.find("14 qubits need 4.0 GiB") != std::string::npos);
  CHECK(r.err.find("bad_alloc") == std::string::npos);
}
#endif

TEST_CASE("2^40 shots are drawn at once and follow the probabilities", "[cli][hardening]") {
  const long long shots = 1LL << 40;
  const json out = ok_json({"simulate", kData + "bell_x.qasm", "--shots", std::to_string(shots), "--seed", "5"});
  check_counts_match(counts_of(out), probabilities_of(out), out.at("num_qubits").get<int>(), shots);
}

TEST_CASE("threads beyond the cores are capped with a note", "[cli][hardening]") {
  const std::string bell = kHardening + "bell.qasm";
  const std::string note = "using the " + std::to_string(available_cores()) + " cores available";
  json plain = ok_json({"simulate", bell, "--density-matrix"});
  plain.erase("provenance");  // the arguments differ
  for (const auto& [prefix, args] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"", {"simulate", bell, "--density-matrix", "--threads", "1024"}},
           {"OMP_NUM_THREADS=5000", {"simulate", bell, "--density-matrix"}},
           {"", {"demo", "--threads", "1024"}}}) {
    const Result r = kraus_cli(args, prefix);
    INFO(prefix << "\n" << show(r));
    CHECK(r.status == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find(note) != std::string::npos);
    if (args[0] == "simulate") {
      json out = json::parse(r.out);
      out.erase("provenance");
      CHECK(out == plain);
    }
  }
}

TEST_CASE("scale factors whose folded circuit is too large are refused before folding", "[cli][hardening]") {
  const std::string bell = kHardening + "bell.qasm";
  check_error({"simulate", bell, "--observable", "Z0", "--zne-scales", "1,1e6"}, {"1000000", "fold-global", "limit"});
  check_error({"simulate", bell, "--observable", "Z0", "--zne-scales", "1,1e9"}, {"1000000000", "2000000000 operations", "limit is 1000000"});
  for (const std::string method : {"fold-random", "fold-all", "fold-layer:0", "identity"}) {
    check_error({"simulate", bell, "--observable", "Z0", "--zne-method", method, "--zne-scales", "1,1e9"}, {"1000000000", "limit"});
  }
}

TEST_CASE("an unknown option is named as such and control bytes are escaped", "[cli][hardening]") {
  const std::string bell = kHardening + "bell.qasm";
  check_error({"simulate", bell, "--foo"}, {"unknown option '--foo'"});
  check_error({"simulate", "--foo", bell}, {"unknown option '--foo'"});
  check_error({"demo", "--foo"}, {"unknown option '--foo'"});
  check_error({"demo", "--foo", "1"}, {"unknown option '--foo'"});
  check_error({"demo", "stray"}, {"unexpected argument 'stray'"});
  check_error({"simulate", bell, "--shots"}, {"'--shots' needs a value"});
  check_error({"demo", "--seed"}, {"'--seed' needs a value"});
  // check_error also requires a single line: a raw newline or ESC must not reach the terminal.
  check_error({"simulate", bell, "--fo\no\x1b"}, {"'--fo\\x0ao\\x1b'"});
  check_error({"simulate", bell, "--shots", "1\x7f"}, {"'1\\x7f'"});
  check_error({"simulate", bell, "--observable", "Z0\tZ1\x01"}, {"\\x01"});
  check_error({"bad\x02"}, {"'bad\\x02'"});
}

// ---- issue 12: classical bits, strict rules, devices, translation, routing, observables -------------

namespace {

const std::string kSource = std::string(KRAUS_CLI_DATA_DIR) + "/../../../";

std::string qasm_file(const std::string& name, const std::string& body) {
  return write_scratch(name, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n" + body);
}

const std::string kIbm = kSource + "tests/data/noise/ibm/";

// The kraus model of an IBM device's props and conf files, as `kraus noise convert` prints it.
std::string ibm_model(const std::string& device) {
  const Result r = kraus_cli({"noise", "convert", kIbm + "props_" + device + ".json", "--from", "ibm", "--conf",
                              kIbm + "conf_" + device + ".json"});
  INFO(show(r));
  REQUIRE(r.status == 0);
  return r.out;
}

}  // namespace

TEST_CASE("counts are keyed by classical bits as Aer keys them", "[cli][clbits]") {
  // measure q[1] -> c[0] on two qubits: one-bit keys.
  const std::string one = qasm_file("clbit_one.qasm", "qreg q[2];\ncreg c[1];\nry(1.2) q[1];\nmeasure q[1] -> c[0];\n");
  const json a = ok_json({"simulate", one, "--shots", "1000", "--seed", "4"});
  long long total = 0;
  for (const auto& [key, count] : counts_of(a)) {
    CHECK((key == "0" || key == "1"));
    total += count;
  }
  CHECK(total == 1000);
  // Two registers: the later one leftmost, separated by a space, bit 0 of each rightmost.
  const std::string two = qasm_file("clbit_two.qasm",
                                    "qreg q[3];\ncreg a[2];\ncreg b[1];\nx q[0];\nx q[2];\n"
                                    "measure q[0] -> a[1];\nmeasure q[2] -> b[0];\nmeasure q[1] -> a[0];\n");
  CHECK(counts_of(ok_json({"simulate", two, "--shots", "5"})) == std::map<std::string, long long>{{"1 10", 5}});
  // Memory lists every shot in order; it tallies to the counts.
  const json m = ok_json({"simulate", one, "--shots", "200", "--seed", "9", "--memory"});
  REQUIRE(m.at("memory").size() == 200);
  std::map<std::string, long long> tally;
  for (const auto& k : m.at("memory")) ++tally[k.get<std::string>()];
  CHECK(tally == counts_of(m));
  check_error({"simulate", one, "--memory"}, {"--memory needs --shots"});
  check_error({"simulate", one, "--memory", "--shots", "1000001"}, {"--memory"});
}

TEST_CASE("classical control runs on trajectories, with counts from each trajectory's bits", "[cli][if]") {
  // d[0] copies the mid-circuit outcome c[0] through the conditional x (keys "d0 c0"); q0 is
  // rotated afterwards, so c[0] is the trajectory's recorded outcome, not a read of the final state.
  const std::string body = "qreg q[2];\ncreg c[1];\ncreg d[1];\nh q[0];\nmeasure q[0] -> c[0];\n"
                           "if(c==1) x q[1];\nh q[0];\nmeasure q[1] -> d[0];\n";
  const std::string qasm = qasm_file("if_copy.qasm", body);
  const json clean = ok_json({"simulate", qasm, "--shots", "2000", "--trajectories", "2000", "--seed", "3"});
  CHECK(clean.at("method").at("name") == "trajectories");
  CHECK(clean.at("method").at("reason").get<std::string>().find("classical control (if)") != std::string::npos);
  const auto copied = counts_of(clean);
  REQUIRE(copied.size() == 2);
  CHECK(copied.at("0 0") + copied.at("1 1") == 2000);
  CHECK(std::abs(static_cast<double>(copied.at("1 1")) - 1000.0) <= 5 * std::sqrt(2000 * 0.25));
  // Depolarising p = 0.3 after the conditional x only: P(1 1) = 0.5 (1 - 2p/3) = 0.4, P(0 1) = 0.1,
  // P(0 0) = 0.5, and never "1 0".
  const std::string noise = write_scratch("if_noise.json",
                                          R"({"gate_noise": [{"gates": ["x"], "channel": {"type": "depolarizing", "p": 0.3}}]})");
  const json noisy = ok_json({"simulate", qasm, "--noise", noise, "--shots", "4000", "--trajectories", "4000"});
  CHECK(noisy.at("method").at("name") == "trajectories");
  const auto counts = counts_of(noisy);
  CHECK(counts.count("1 0") == 0);
  const std::map<std::string, double> exact = {{"0 0", 0.5}, {"0 1", 0.1}, {"1 1", 0.4}};
  for (const auto& [key, p] : exact) {
    INFO(key);
    REQUIRE(counts.count(key) == 1);
    CHECK(std::abs(static_cast<double>(counts.at(key)) / 4000.0 - p) <= 5 * std::sqrt(p * (1 - p) / 4000.0));
  }
  CHECK(noisy.at("probabilities").size() == 4);
  // Only trajectories run it.
  check_error({"simulate", qasm, "--method", "density-matrix"}, {"--method density-matrix", "classical control (if)"});
  check_error({"simulate", qasm, "--method", "statevector"}, {"--method statevector", "classical control (if)"});
  check_error({"simulate", qasm, "--density-matrix"}, {"--density-matrix needs the density matrix", "classical control"});
  check_error({"simulate", qasm, "--noise", noise, "--observable", "Z1", "--zne-scales", "1,3"},
              {"zero-noise extrapolation needs the density matrix", "classical control"});
  check_error({"simulate", qasm, "--basis", "cx,rz,sx,x"}, {qasm, "classical control (if) is not supported"});
  // A condition in a gate body, and a value too large for its register, name the file, line and column.
  check_error({"simulate", qasm_file("if_body.qasm", "qreg q[1];\ncreg c[1];\ngate g a { if(c==1) x a; }\n")},
              {"if_body.qasm:5:12: classical control (if) is not allowed in a gate body"});
  check_error({"simulate", qasm_file("if_value.qasm", "qreg q[1];\ncreg c[1];\nif(c==2) x q[0];\n")},
              {"if_value.qasm:5:7: value 2 does not fit in register 'c' of 1 bit"});
}

TEST_CASE("a circuit without measurement has no counts and says so", "[cli][clbits]") {
  const std::string qasm = qasm_file("nomeasure.qasm", "qreg q[2];\nh q[0];\n");
  const json out = ok_json({"simulate", qasm, "--shots", "10"});
  CHECK(!out.contains("counts"));
  REQUIRE(out.at("warnings").size() == 1);
  CHECK(out.at("warnings")[0].get<std::string>().find("measures no qubit") != std::string::npos);
  // A bit whose last write is a mid-circuit measurement cannot be read from the final state.
  const std::string mid = qasm_file("midmeasure.qasm", "qreg q[1];\ncreg c[1];\nh q[0];\nmeasure q[0] -> c[0];\nh q[0];\n");
  check_error({"simulate", mid, "--shots", "10"}, {mid, "c[0]"});
  CHECK(kraus_cli({"simulate", mid}).status == 0);  // without shots nothing reads the bit
}

TEST_CASE("noise rules resolve aliases and refuse names and qubits that cannot match", "[cli][noise-rules]") {
  const std::string qpe = kData + "qpe_n9.qasm";
  const auto rule = [](const std::string& gate, const std::string& qubits = "") {
    return "{\"gate_noise\": [{\"gates\": [\"" + gate + "\"]" + qubits +
           ", \"channel\": {\"type\": \"depolarizing\", \"p\": 0.05}}]}";
  };
  const json cu1 = ok_json({"simulate", qpe, "--noise", write_scratch("cu1.json", rule("cu1"))});
  const json cp = ok_json({"simulate", qpe, "--noise", write_scratch("cp.json", rule("cp"))});
  CHECK(cu1.at("purity").get<double>() < 0.5);
  CHECK(cu1.at("purity").get<double>() == cp.at("purity").get<double>());
  CHECK(cu1.at("noise_coverage").at("cp").at("with_noise") == cu1.at("noise_coverage").at("cp").at("instances"));
  const std::string cnot = write_scratch("cnot.json", rule("CNOT"));
  check_error({"simulate", qpe, "--noise", cnot}, {cnot, "gate_noise[0].gates[0]", "did you mean 'cx'"});
  const std::string four = qasm_file("four.qasm", "qreg q[4];\nh q[0];\ncx q[0],q[3];\n");
  const std::string seven = write_scratch("q7.json", rule("h", ", \"qubits\": [7]"));
  check_error({"simulate", four, "--noise", seven}, {seven, "gate_noise[0].qubits", "qubit 7"});
}

TEST_CASE("a calibration model fitted to a small circuit, with and without translation to its basis", "[cli][basis]") {
  const std::string device_like = kSource + "experiments/noise_models/device_like.json";
  const std::string ghz3 = qasm_file("ghz3.qasm", "qreg q[3];\ncreg c[3];\nh q[0];\ncx q[0],q[1];\ncx q[1],q[2];\nmeasure q -> c;\n");
  const json fitted = ok_json({"simulate", ghz3, "--noise", device_like, "--shots", "100"});
  CHECK(fitted.at("purity").get<double>() < 1.0);

  // sat_n7 uses ccx, h and x; an IBM-style calibration on id rz sx x cx misses h and ccx.
  const std::string sat = kData + "sat_n7.qasm";
  const std::string lagos_text = ibm_model("lagos");
  const std::string lagos = write_scratch("lagos.json", lagos_text);
  // Without the coupling map (so that ccx may run untranslated), the calibration misses h and ccx.
  json uncoupled = json::parse(lagos_text);
  uncoupled.at("device").erase("coupling_map");
  const json raw = ok_json({"simulate", sat, "--noise", write_scratch("lagos_uncoupled.json", uncoupled.dump())});
  bool warned_h = false;
  for (const auto& w : raw.at("warnings")) warned_h = warned_h || w.get<std::string>().find("'h'") != std::string::npos;
  CHECK(warned_h);
  CHECK(raw.at("noise_coverage").at("h").at("with_noise") == 0);

  const json translated = ok_json({"simulate", sat, "--noise", lagos, "--basis", "device", "--route"});
  CHECK(translated.at("gate_counts").at("before").contains("ccx"));
  for (const auto& [name, n] : translated.at("gate_counts").at("after").items()) {
    INFO(name);
    CHECK((name == "rz" || name == "sx" || name == "x" || name == "cx" || name == "measure" || name == "id"));
  }
  for (const auto& [name, c] : translated.at("noise_coverage").items()) {
    INFO(name);
    if (name != "rz") CHECK(c.at("with_noise") == c.at("instances"));  // rz is virtual: no error, no length
  }
  // Noiseless, the translated and routed circuit gives the program's probabilities.
  const json plain = ok_json({"simulate", sat});
  const std::vector<double> p0 = probabilities_of(plain);
  const std::string device_only = write_scratch(
      "lagos_device.json", "{\"device\": {\"num_qubits\": 7, \"coupling_map\": [[0,1],[1,2],[1,3],[3,5],[4,5],[5,6]]}}");
  const json routed = ok_json({"simulate", sat, "--noise", device_only, "--basis", "rz,sx,x,cx", "--route"});
  const std::vector<double> p1 = probabilities_of(routed);
  REQUIRE(p1.size() == p0.size());
  for (std::size_t i = 0; i < p0.size(); ++i) CHECK_THAT(p1[i], Catch::Matchers::WithinAbs(p0[i], 1e-10));
  CHECK(routed.at("layout").at("swaps").get<int>() > 0);
}

TEST_CASE("routing: uncoupled gates are refused without --route; a GHZ chain on a line needs no SWAP", "[cli][route]") {
  const std::string line = write_scratch(
      "line5.json", "{\"device\": {\"num_qubits\": 5, \"coupling_map\": [[0,1],[1,2],[2,3],[3,4]]}}");
  // A triangle of cx (0, 1, 4) cannot be laid out on a line without a SWAP.
  const std::string far = qasm_file(
      "far.qasm", "qreg q[5];\nh q[0];\ncx q[0],q[4];\nry(0.3) q[4];\ncx q[4],q[1];\nrx(0.2) q[1];\ncx q[1],q[0];\n"
                  "cx q[4],q[2];\nh q[3];\ncx q[3],q[0];\n");
  check_error({"simulate", far, "--noise", line}, {"not coupled", "--route"});
  const json plain = ok_json({"simulate", far, "--observable", "Z4", "--observable", "X0 Z2"});
  for (const std::string seed : {"1", "2"}) {
    const json routed = ok_json({"simulate", far, "--noise", line, "--route", "--route-seed", seed,
                                 "--observable", "Z4", "--observable", "X0 Z2", "--density-matrix"});
    const std::vector<double> p0 = probabilities_of(plain), p1 = probabilities_of(routed);
    for (std::size_t i = 0; i < p0.size(); ++i) CHECK_THAT(p1[i], Catch::Matchers::WithinAbs(p0[i], 1e-10));
    for (const std::string obs : {"Z4", "X0 Z2"}) {
      CHECK_THAT(routed.at("expectations").at(obs).get<double>(),
                 Catch::Matchers::WithinAbs(plain.at("expectations").at(obs).get<double>(), 1e-10));
    }
    CHECK(routed.at("layout").at("swaps").get<int>() >= 1);
    // The density matrix is printed in program order: its diagonal is the probabilities.
    const arma::cx_mat rho = density_matrix_of(routed);
    for (std::size_t i = 0; i < p0.size(); ++i) CHECK_THAT(rho(i, i).real(), Catch::Matchers::WithinAbs(p0[i], 1e-10));
  }
  const json ghz = ok_json({"simulate", kSource + "tests/data/qasm/ghz5.qasm", "--noise", line, "--route"});
  CHECK(ghz.at("layout").at("swaps") == 0);
  check_error({"simulate", far, "--route"}, {"--route needs a coupling map"});
}

TEST_CASE("GHZ-5 on IBM manila, translated and routed, matches an independent computation", "[cli][ibm]") {
  const std::string manila = write_scratch("manila.json", ibm_model("manila"));
  const json out = ok_json({"simulate", kSource + "tests/data/qasm/ghz5.qasm", "--noise", manila, "--basis", "device",
                            "--route"});
  CHECK(out.at("layout").at("swaps") == 0);
  const fs::path ref_out = scratch() / "ghz5_manila_reference.json";
  const std::string command = "/usr/bin/python3 " + quote(kSource + "tests/cli/ghz5_manila_reference.py") + " " +
                              quote(kIbm + "props_manila.json") + " > " + quote(ref_out.string());
  REQUIRE(std::system(command.c_str()) == 0);
  const std::vector<double> expected = json::parse(read_all(ref_out)).at("probabilities").get<std::vector<double>>();
  const std::vector<double> p = probabilities_of(out);
  REQUIRE(p.size() == expected.size());
  for (std::size_t i = 0; i < p.size(); ++i) CHECK_THAT(p[i], Catch::Matchers::WithinAbs(expected[i], 1e-10));

  // The same model through Aer's format gives the same probabilities.
  const Result aer = kraus_cli({"noise", "convert", manila, "--to", "aer"});
  REQUIRE(aer.status == 0);
  const json via_aer = ok_json({"simulate", kSource + "tests/data/qasm/ghz5.qasm", "--noise",
                                write_scratch("manila_aer.json", aer.out), "--basis", "id,rz,sx,x,cx"});
  const std::vector<double> pa = probabilities_of(via_aer);
  for (std::size_t i = 0; i < p.size(); ++i) CHECK_THAT(pa[i], Catch::Matchers::WithinAbs(p[i], 1e-10));
}

TEST_CASE("weighted Pauli sums, Hamiltonian files and shot estimates", "[cli][observables]") {
  const std::string qasm = qasm_file("obs2.qasm", "qreg q[2];\nry(0.7) q[0];\ncx q[0],q[1];\nrx(0.4) q[1];\n");
  const json parts = ok_json({"simulate", qasm, "--observable", "Z0 Z1", "--observable", "X0"});
  const double zz = parts.at("expectations").at("Z0 Z1").get<double>(), x0 = parts.at("expectations").at("X0").get<double>();
  const std::string sum = "0.5*Z0 Z1 - 0.2*X0";
  const std::string ham = write_scratch(
      "h.json", "{\"terms\": [{\"coefficient\": 0.5, \"pauli\": \"Z0 Z1\"}, {\"coefficient\": -0.2, \"pauli\": \"X0\"}]}");
  const long long shots = 40000;
  const json out = ok_json({"simulate", qasm, "--observable", sum, "--hamiltonian", ham, "--shots",
                            std::to_string(shots), "--seed", "21"});
  const double exact = 0.5 * zz - 0.2 * x0;
  CHECK_THAT(out.at("expectations").at(sum).get<double>(), Catch::Matchers::WithinAbs(exact, 1e-12));
  CHECK_THAT(out.at("expectations").at(ham).get<double>(), Catch::Matchers::WithinAbs(exact, 1e-12));
  const json& e = out.at("shot_estimates").at(sum);
  const double sigma = std::sqrt((0.25 * (1 - zz * zz) + 0.04 * (1 - x0 * x0)) / static_cast<double>(shots));
  CHECK(e.at("shots") == shots);
  CHECK(std::abs(e.at("value").get<double>() - exact) < 5 * sigma);
  CHECK_THAT(e.at("stderr").get<double>(), Catch::Matchers::WithinRel(sigma, 0.1));
  check_error({"simulate", qasm, "--observable", "0.5*Z0 +"}, {"--observable"});
  // Fewer than 2 shots: exact expectations, no shot estimates, a warning.
  for (const std::string few_shots : {"0", "1"}) {
    const json few = ok_json({"simulate", qasm, "--observable", sum, "--shots", few_shots});
    CHECK(!few.contains("shot_estimates"));
    CHECK_THAT(few.at("expectations").at(sum).get<double>(), Catch::Matchers::WithinAbs(exact, 1e-12));
    REQUIRE(few.at("warnings").size() == 2);  // no measurement, no shot estimates
    CHECK(few.at("warnings")[1] ==
          "--shots " + few_shots + ": no shot estimates (their standard errors need at least 2 shots)");
  }
}

TEST_CASE("readout errors in expectations, and readout mitigation undoing them", "[cli][readout]") {
  // |000> read with P(1|0) = 0.2 on every qubit: <Z0> measured = 0.6; mitigation gives back 1.
  const std::string qasm = qasm_file("zero3m.qasm", "qreg q[3];\ncreg c[3];\nid q[0];\nmeasure q -> c;\n");
  const json out = ok_json({"simulate", qasm, "--noise", kData + "readout_all.json", "--observable", "Z0",
                            "--observable", "Z0 Z1", "--readout-in-expectations", "--mitigate-readout", "--shots",
                            "20000"});
  CHECK_THAT(out.at("expectations").at("Z0").get<double>(), Catch::Matchers::WithinAbs(0.6, 1e-12));
  CHECK_THAT(out.at("expectations").at("Z0 Z1").get<double>(), Catch::Matchers::WithinAbs(0.36, 1e-12));
  const json& m = out.at("readout_mitigated");
  CHECK(m.at("method") == "tensored-inverse");
  const std::vector<double> p = m.at("probabilities").get<std::vector<double>>();
  for (std::size_t i = 0; i < p.size(); ++i) CHECK_THAT(p[i], Catch::Matchers::WithinAbs(i == 0 ? 1.0 : 0.0, 1e-12));
  CHECK_THAT(m.at("expectations").at("Z0").get<double>(), Catch::Matchers::WithinAbs(1.0, 1e-12));
  // From counts: within sampling error of |000>.
  CHECK(m.at("counts").at("000").get<double>() > 0.95);
  check_error({"simulate", qasm, "--mitigate-readout"}, {"--mitigate-readout needs a noise model with readout errors"});
}

TEST_CASE("kraus --version names the version and the git revision; simulate records them", "[cli]") {
  const Result r = kraus_cli({"--version"});
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex("^kraus ([0-9]+\\.[0-9]+\\.[0-9]+) \\(git ([0-9a-f]{40}|unknown)")));
  const json out = ok_json({"simulate", kData + "bell_x.qasm", "--seed", "3"});
  const json& p = out.at("provenance");
  CHECK(p.at("version") == m[1].str());
  CHECK(p.at("git_revision") == m[2].str());
  CHECK(p.at("arguments") == json::array({"simulate", kData + "bell_x.qasm", "--seed", "3"}));
}

TEST_CASE("every supported basis keeps the probabilities and uses only its gates", "[cli][basis]") {
  const std::string qasm = kData + "sat_n7.qasm";
  const json plain = ok_json({"simulate", qasm});
  const std::vector<double> p0 = probabilities_of(plain);
  const std::vector<std::pair<std::string, std::set<std::string>>> bases = {
      {"id,rz,sx,x,cx", {"id", "rz", "sx", "x", "cx"}},
      {"u1,u2,u3,cx", {"p", "u2", "u3", "cx"}},  // u1 is the table's p
      {"rz,sx,x,ecr", {"rz", "sx", "x", "ecr"}},
      {"rz,sx,cz", {"rz", "sx", "cz"}}};
  for (const auto& [basis, names] : bases) {
    INFO("--basis " << basis);
    const json out = ok_json({"simulate", qasm, "--basis", basis});
    const std::vector<double> p = probabilities_of(out);
    REQUIRE(p.size() == p0.size());
    for (std::size_t i = 0; i < p.size(); ++i) CHECK_THAT(p[i], Catch::Matchers::WithinAbs(p0[i], 1e-10));
    CHECK(out.at("gate_counts").at("before").at("ccx") == 9);
    for (const auto& [name, count] : out.at("gate_counts").at("after").items()) {
      INFO(name);
      CHECK((names.count(name) == 1 || name == "measure"));
    }
    CHECK(!out.contains("layout"));  // no coupling map
  }
  check_error({"simulate", qasm, "--basis", "rz,cx"}, {"--basis"});
  check_error({"simulate", qasm, "--basis", "rz,,cx"}, {"empty gate name"});
  check_error({"simulate", qasm, "--basis", "device"}, {"--basis device"});
}

TEST_CASE("correlated readout errors are mitigated by constrained least squares", "[cli][readout]") {
  // x on qubit 0 of two; a correlated confusion matrix on (0, 1): mitigation recovers |01> exactly.
  const std::string qasm = qasm_file("x0m.qasm", "qreg q[2];\ncreg c[2];\nx q[0];\nmeasure q -> c;\n");
  const std::string model = write_scratch("corr.json", R"({"readout": [{"qubits": [0, 1], "matrix": [
      [0.90, 0.05, 0.03, 0.02], [0.04, 0.88, 0.02, 0.06], [0.05, 0.01, 0.92, 0.02], [0.01, 0.04, 0.05, 0.90]]}]})");
  const json out = ok_json({"simulate", qasm, "--noise", model, "--observable", "Z0", "--mitigate-readout",
                            "--readout-in-expectations"});
  // Measured: row 1 of the matrix (true outcome 01 = index 1).
  const std::vector<double> measured = probabilities_of(out);
  const std::vector<double> row1 = {0.04, 0.88, 0.02, 0.06};
  for (std::size_t i = 0; i < 4; ++i) CHECK_THAT(measured[i], Catch::Matchers::WithinAbs(row1[i], 1e-12));
  CHECK_THAT(out.at("expectations").at("Z0").get<double>(), Catch::Matchers::WithinAbs(0.04 - 0.88 + 0.02 - 0.06, 1e-12));
  const json& m = out.at("readout_mitigated");
  CHECK(m.at("method") == "constrained-least-squares");
  const std::vector<double> p = m.at("probabilities").get<std::vector<double>>();
  for (std::size_t i = 0; i < 4; ++i) CHECK_THAT(p[i], Catch::Matchers::WithinAbs(i == 1 ? 1.0 : 0.0, 1e-9));
  CHECK_THAT(m.at("expectations").at("Z0").get<double>(), Catch::Matchers::WithinAbs(-1.0, 1e-9));
}

TEST_CASE("kraus noise convert: errors and Aer round trip", "[cli][devices]") {
  check_error({"noise", "convert", kIbm + "props_manila.json", "--from", "ibm"}, {"--conf"});
  check_error({"noise", "convert", kIbm + "props_manila.json", "--from", "qiskit"}, {"--from"});
  check_error({"noise", "convert"}, {"missing the input file"});
  check_error({"noise", "frobnicate"}, {"unknown subcommand"});
  // A model without a device size needs --num-qubits for Aer's format.
  const std::string plain = write_scratch(
      "plain.json", R"({"gate_noise": [{"gates": ["h"], "qubits": [0, 1], "channel": {"type": "bit_flip", "p": 0.1}}]})");
  check_error({"noise", "convert", plain, "--to", "aer"}, {"--num-qubits"});
  const Result aer = kraus_cli({"noise", "convert", plain, "--to", "aer", "--num-qubits", "2"});
  REQUIRE(aer.status == 0);
  CHECK(json::parse(aer.out).contains("errors"));
  // kraus -> aer -> kraus: the same probabilities on a circuit.
  const std::string qasm = qasm_file("hh.qasm", "qreg q[2];\nh q[0];\nh q[1];\nh q[0];\n");
  const json a = ok_json({"simulate", qasm, "--noise", plain});
  const json b = ok_json({"simulate", qasm, "--noise", write_scratch("plain_aer.json", aer.out)});
  const std::vector<double> pa = probabilities_of(a), pb = probabilities_of(b);
  for (std::size_t i = 0; i < pa.size(); ++i) CHECK_THAT(pb[i], Catch::Matchers::WithinAbs(pa[i], 1e-12));
}
