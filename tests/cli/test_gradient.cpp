// `kraus gradient` run as a program: values against the dense noisy reference of noisy_reference.hpp
// (the circuit written out here with its angles), derivatives against central differences of that
// reference and of the program's own values at shifted parameter files, the three methods against
// each other, and the error contract (exit status 2, one line on stderr, nothing on stdout).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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
namespace noisy = kraus::test::noisy;
using json = nlohmann::ordered_json;
using kraus::test::cli::kraus_cli;
using kraus::test::cli::read_all;
using kraus::test::cli::Result;
using kraus::test::cli::scratch;
using kraus::test::cli::show;
using kraus::test::cli::write_scratch;

const std::string kData = std::string(KRAUS_CLI_DATA_DIR) + "/";
const std::string kCircuit = kData + "gradient_circuit.qasm";
const std::string kParameters = kData + "gradient_parameters.json";  // theta 0.7, phi -0.4
const std::string kNoise = kData + "gradient_noise.json";
const std::string kHamiltonian = kData + "gradient_hamiltonian.json";
constexpr double kTheta = 0.7, kPhi = -0.4;

// ---- running the program -------------------------------------------------------------------------

Result kraus_gradient(std::vector<std::string> args) {
  args.insert(args.begin(), "gradient");
  return kraus_cli(args);
}

// A successful run: status 0, one JSON object on stdout, its warnings (only) on stderr besides the
// progress lines of long trajectory runs.
json ok_json(const std::vector<std::string>& args) {
  const Result r = kraus_gradient(args);
  INFO(show(r));
  REQUIRE(r.status == 0);
  json j;
  REQUIRE_NOTHROW(j = json::parse(r.out));
  std::string expected_err;
  for (const auto& w : j.at("warnings")) expected_err += "kraus: warning: " + w.get<std::string>() + "\n";
  CHECK(kraus::test::cli::without_progress(r.err) == expected_err);
  return j;
}

void check_error(const std::vector<std::string>& args, const std::vector<std::string>& needles) {
  const Result r = kraus_gradient(args);
  INFO(show(r));
  CHECK(r.status == 2);
  CHECK(r.out.empty());
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  for (const std::string& n : needles) {
    INFO("expected in the message: " << n);
    CHECK(r.err.find(n) != std::string::npos);
  }
}

std::string parameter_file(double theta, double phi) {
  static int counter = 0;
  return write_scratch("parameters_" + std::to_string(counter++) + ".json",
                       json{{"theta", theta}, {"phi", phi}}.dump());
}

// ---- the dense reference -------------------------------------------------------------------------

// exp(-i a P / 2) = cos(a/2) I - i sin(a/2) P for the Pauli word P (character j on qubit j).
noisy::RefOp rotation(const std::string& name, const std::string& word, std::vector<int> qubits, double a) {
  noisy::RefOp op;
  op.name = name;
  op.qubits = std::move(qubits);
  const arma::cx_mat p = noisy::pauli_word(word);
  op.u = std::cos(a / 2) * arma::eye<arma::cx_mat>(p.n_rows, p.n_cols) - kraus::test::Complex(0.0, std::sin(a / 2)) * p;
  return op;
}

// gradient_circuit.qasm at (theta, phi).
noisy::RefCircuit reference_circuit(double theta, double phi) {
  noisy::RefCircuit c;
  c.num_qubits = 2;
  noisy::RefOp h;
  h.name = "h";
  h.qubits = {0};
  h.u = arma::cx_mat(arma::mat{{1, 1}, {1, -1}} / std::sqrt(2.0), arma::zeros<arma::mat>(2, 2));
  noisy::RefOp cx;
  cx.name = "cx";
  cx.qubits = {0, 1};  // control: the first listed qubit, the least significant bit
  cx.u = arma::cx_mat(arma::mat{{1, 0, 0, 0}, {0, 0, 0, 1}, {0, 0, 1, 0}, {0, 1, 0, 0}}, arma::zeros<arma::mat>(4, 4));
  c.ops = {h,
           rotation("ry", "Y", {0}, theta),
           rotation("rx", "X", {1}, 2 * phi - 0.3),
           cx,
           rotation("rzz", "ZZ", {0, 1}, theta - phi),
           rotation("ry", "Y", {1}, 0.5 * phi + 0.2)};
  for (int q = 0; q < 2; ++q) {
    noisy::RefOp m;
    m.kind = noisy::RefKind::kMeasure;
    m.qubits = {q};
    c.ops.push_back(m);
  }
  return c;
}

// The observables given to the program: --observable "Z0 Z1", then gradient_hamiltonian.json.
std::vector<arma::cx_mat> observable_matrices() {
  return {noisy::pauli_word("ZZ"),
          0.5 * noisy::pauli_word("XX") - 0.25 * noisy::pauli_word("IY") + 0.1 * noisy::pauli_word("ZI")};
}

double reference_value(double theta, double phi, const kraus::noise::NoiseModel* model, const arma::cx_mat& o) {
  const arma::cx_mat rho = noisy::reference_simulate(reference_circuit(theta, phi), model);
  return std::real(arma::trace(o * rho));
}

const std::vector<std::string> kMethods = {"adjoint", "parameter-shift", "finite-difference"};

// ---- tests ---------------------------------------------------------------------------------------

TEST_CASE("kraus gradient: values and derivatives against the dense reference, every method", "[cli]") {
  const kraus::noise::NoiseModel noise_model = kraus::noise::NoiseModel::from_json_file(kNoise);
  for (const bool noisy_run : {false, true}) {
    const kraus::noise::NoiseModel* model = noisy_run ? &noise_model : nullptr;
    std::vector<json> runs;
    for (const std::string& method : kMethods) {
      INFO("method " << method << (noisy_run ? ", noisy" : ", noiseless"));
      std::vector<std::string> args = {kCircuit,      "--parameters", kParameters, "--observable", "Z0 Z1",
                                       "--hamiltonian", kHamiltonian, "--method",  method};
      if (noisy_run) args.insert(args.end(), {"--noise", kNoise});
      const json j = ok_json(args);
      CHECK(j.at("num_qubits") == 2);
      CHECK(j.at("method") == method);
      CHECK(j.at("parameters").dump() == R"({"theta":0.7,"phi":-0.4})");
      CHECK(j.contains("noise_coverage") == noisy_run);
      CHECK(j.at("provenance").at("arguments").at(0) == "gradient");
      REQUIRE(j.at("observables").size() == 2);
      CHECK(j.at("observables")[0].at("observable") == "Z0 Z1");
      CHECK(j.at("observables")[1].at("observable") == kHamiltonian);
      // Evaluations as documented: parameter shift 1 + 2 per parametrised rotation (4 here), central
      // differences 1 + 2 per parameter.
      if (method == "parameter-shift") CHECK(j.at("circuit_evaluations") == 9);
      if (method == "finite-difference") CHECK(j.at("circuit_evaluations") == 5);
      const std::vector<arma::cx_mat> observables = observable_matrices();
      for (std::size_t i = 0; i < observables.size(); ++i) {
        const json& entry = j.at("observables")[i];
        INFO("observable " << entry.at("observable"));
        const double value = reference_value(kTheta, kPhi, model, observables[i]);
        CHECK(std::abs(entry.at("value").get<double>() - value) < 1e-10);
        const json& gradient = entry.at("gradient");
        REQUIRE(gradient.size() == 2);
        CHECK(gradient.begin().key() == "theta");  // declaration order
        // Central differences of the reference, h = 1e-5: error about 1e-10.
        const double h = 1e-5;
        const double d_theta = (reference_value(kTheta + h, kPhi, model, observables[i]) -
                                reference_value(kTheta - h, kPhi, model, observables[i])) / (2 * h);
        const double d_phi = (reference_value(kTheta, kPhi + h, model, observables[i]) -
                              reference_value(kTheta, kPhi - h, model, observables[i])) / (2 * h);
        CHECK(std::abs(gradient.at("theta").get<double>() - d_theta) < 1e-8);
        CHECK(std::abs(gradient.at("phi").get<double>() - d_phi) < 1e-8);
        CHECK(std::abs(d_theta) + std::abs(d_phi) > 1e-2);  // the derivatives are not trivially zero
      }
      runs.push_back(j);
    }
    for (std::size_t m = 1; m < runs.size(); ++m) {
      INFO(kMethods[m] << " against adjoint" << (noisy_run ? ", noisy" : ", noiseless"));
      for (std::size_t i = 0; i < 2; ++i) {
        const json& a = runs[0].at("observables")[i];
        const json& b = runs[m].at("observables")[i];
        CHECK(std::abs(a.at("value").get<double>() - b.at("value").get<double>()) < 1e-12);
        for (const char* name : {"theta", "phi"}) {
          CHECK(std::abs(a.at("gradient").at(name).get<double>() - b.at("gradient").at(name).get<double>()) < 1e-8);
        }
      }
    }
  }
}

TEST_CASE("kraus gradient: derivatives against its own values at shifted parameters", "[cli]") {
  const json j = ok_json({kCircuit, "--parameters", kParameters, "--noise", kNoise, "--observable", "Z0 Z1",
                          "--hamiltonian", kHamiltonian});
  // Values as printed (17 significant digits), h = 1e-4: truncation h^2/6 |f'''| about 2e-9.
  const double h = 1e-4;
  const auto values_at = [&](double theta, double phi) {
    return ok_json({kCircuit, "--parameters", parameter_file(theta, phi), "--noise", kNoise, "--observable", "Z0 Z1",
                    "--hamiltonian", kHamiltonian})
        .at("observables");
  };
  const json theta_plus = values_at(kTheta + h, kPhi), theta_minus = values_at(kTheta - h, kPhi);
  const json phi_plus = values_at(kTheta, kPhi + h), phi_minus = values_at(kTheta, kPhi - h);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto difference = [&](const json& plus, const json& minus) {
      return (plus[i].at("value").get<double>() - minus[i].at("value").get<double>()) / (2 * h);
    };
    const json& gradient = j.at("observables")[i].at("gradient");
    CHECK(std::abs(gradient.at("theta").get<double>() - difference(theta_plus, theta_minus)) < 1e-8);
    CHECK(std::abs(gradient.at("phi").get<double>() - difference(phi_plus, phi_minus)) < 1e-8);
  }
}

TEST_CASE("kraus gradient --trajectories: within 5 standard errors of the exact values and derivatives",
          "[cli][trajectories]") {
  const std::vector<std::string> args = {kCircuit, "--parameters", kParameters, "--noise", kNoise,
                                         "--observable", "Z0 Z1", "--hamiltonian", kHamiltonian};
  const json exact = ok_json(args);
  std::vector<std::string> sampled = args;
  for (const char* a : {"--trajectories", "3000", "--seed", "11"}) sampled.push_back(a);
  const json j = ok_json(sampled);
  CHECK(j.at("trajectories").at("count") == 3000);
  CHECK(j.at("trajectories").at("seed") == 11);
  CHECK(j.at("trajectories").at("channel_decisions").get<long long>() > 3000);
  CHECK_FALSE(j.contains("circuit_evaluations"));
  for (std::size_t i = 0; i < 2; ++i) {
    const json& e = exact.at("observables")[i];
    const json& t = j.at("observables")[i];
    const auto within = [](double mean, double se, double reference) {
      INFO("mean " << mean << " +- " << se << ", exact " << reference);
      CHECK(se > 0.0);
      CHECK(std::abs(mean - reference) <= 5.0 * se);
    };
    within(t.at("value").get<double>(), t.at("value_stderr").get<double>(), e.at("value").get<double>());
    for (const char* name : {"theta", "phi"}) {
      INFO("d/d" << name << " of observable " << i);
      within(t.at("gradient").at(name).get<double>(), t.at("gradient_stderr").at(name).get<double>(),
             e.at("gradient").at(name).get<double>());
    }
  }
  // The same seed, the same numbers, with any thread count.
  std::vector<std::string> one_thread = sampled;
  for (const char* a : {"--threads", "1"}) one_thread.push_back(a);
  CHECK(ok_json(one_thread).at("observables") == j.at("observables"));
}

TEST_CASE("kraus gradient: the noise model's coverage warnings", "[cli]") {
  // gradient_noise.json has no rule for h.
  const json j = ok_json({kCircuit, "--parameters", kParameters, "--noise", kNoise, "--observable", "Z0"});
  REQUIRE(j.at("warnings").size() == 1);
  CHECK(j.at("warnings")[0].get<std::string>().find("'h'") != std::string::npos);
  CHECK(j.at("noise_coverage").at("h").at("with_noise") == 0);
  CHECK(j.at("noise_coverage").at("ry").at("instances") == 2);
  CHECK(j.at("noise_coverage").at("ry").at("with_noise") == 2);
}

TEST_CASE("kraus gradient: a circuit without parameters gives the values only", "[cli]") {
  // bell_x.qasm: (|0> + |3>)/sqrt2 on qubits 0, 1 and qubit 2 set.
  for (const bool with_file : {false, true}) {
    std::vector<std::string> args = {kData + "bell_x.qasm", "--observable", "X0 X1", "--observable", "Z2"};
    if (with_file) args.insert(args.end(), {"--parameters", write_scratch("empty.json", "{}")});
    const json j = ok_json(args);
    CHECK(j.at("parameters").empty());
    REQUIRE(j.at("observables").size() == 2);
    CHECK(std::abs(j.at("observables")[0].at("value").get<double>() - 1.0) < 1e-12);
    CHECK(std::abs(j.at("observables")[1].at("value").get<double>() + 1.0) < 1e-12);
    CHECK(!j.at("observables")[0].contains("gradient"));
    CHECK(j.at("circuit_evaluations") == 1);
  }
}

TEST_CASE("kraus gradient --out writes the JSON to the file and nothing on stdout", "[cli]") {
  const std::string out = (scratch() / "out.json").string();
  const std::vector<std::string> args = {kCircuit, "--parameters", kParameters, "--observable", "Z0 Z1"};
  const json expected = ok_json(args);
  std::vector<std::string> with_out = args;
  with_out.insert(with_out.end(), {"--out", out});
  const Result r = kraus_gradient(with_out);
  CHECK(r.status == 0);
  CHECK(r.out.empty());
  json written;
  REQUIRE_NOTHROW(written = json::parse(read_all(out)));
  CHECK(written.at("observables") == expected.at("observables"));
  check_error({kCircuit, "--parameters", kParameters, "--observable", "Z0", "--out",
               (scratch() / "no_such_directory" / "out.json").string()},
              {"--out", "no_such_directory"});
  // A failed write: status 1 (as for stdout), a message naming --out, the device left alone.
  const Result full =
      kraus_gradient({kCircuit, "--parameters", kParameters, "--observable", "Z0", "--out", "/dev/full"});
  CHECK(full.status == 1);
  CHECK(full.out.empty());
  CHECK(full.err.find("--out /dev/full") != std::string::npos);
  CHECK(fs::exists("/dev/full"));
}

TEST_CASE("kraus gradient errors: exit status 2, a message naming the file or flag, no output", "[cli]") {
  const std::vector<std::string> base = {kCircuit, "--observable", "Z0"};
  const auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  const std::string missing = write_scratch("missing.json", R"({"theta": 0.1})");
  check_error(with({"--parameters", missing}), {missing, "missing parameter \"phi\"", "theta, phi"});
  const std::string controlled = write_scratch("if.qasm", "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\ncreg c[1];\n"
                                                         "measure q[0] -> c[0];\nif(c==1) x q[1];\n");
  check_error({controlled, "--observable", "Z1"}, {controlled, "classical control (if) needs the trajectory method"});
  const std::string unknown = write_scratch("unknown.json", R"({"theta": 0.1, "phi": 0.2, "psi": 0.3})");
  check_error(with({"--parameters", unknown}), {unknown, "\"psi\"", "unknown parameter"});
  check_error(with({"--parameters", kData + "gradient_bad_json.json"}),
              {"gradient_bad_json.json:3:15", "invalid JSON"});
  const std::string text = write_scratch("text.json", R"({"theta": "0.1", "phi": 0.2})");
  check_error(with({"--parameters", text}), {text, "\"theta\"", "expected a number"});
  const std::string huge = write_scratch("huge.json", R"({"theta": 0.1, "phi": 1e400})");
  check_error(with({"--parameters", huge}), {huge, "\"phi\"", "not a finite number"});
  const std::string nested = write_scratch("nested.json", R"({"theta": [0.1], "phi": 0.2})");
  check_error(with({"--parameters", nested}), {nested, "\"theta\"", "expected a number"});
  const std::string twice = write_scratch("twice.json", R"({"theta": 0.1, "phi": 0.2, "theta": 0.3})");
  check_error(with({"--parameters", twice}), {twice, "\"theta\"", "twice"});
  const std::string list = write_scratch("list.json", "[0.1, 0.2]");
  check_error(with({"--parameters", list}), {list, "object"});
  check_error(with({"--parameters", (scratch() / "absent.json").string()}), {"absent.json"});
  check_error(base, {"--parameters", "theta, phi", "gradient_circuit.qasm"});
  check_error(with({"--parameters", kParameters, "--method", "backprop"}), {"--method", "backprop"});
  check_error(with({"--parameters", kParameters, "--step", "1e-4"}), {"--step", "finite-difference"});
  check_error(with({"--parameters", kParameters, "--method", "finite-difference", "--step", "0"}), {"--step"});
  check_error(with({"--parameters", kParameters, "--method", "parameter-shift", "--trajectories", "10"}),
              {"--trajectories", "parameter-shift"});
  check_error(with({"--parameters", kParameters, "--seed", "3"}), {"--seed", "--trajectories"});
  check_error(with({"--parameters", kParameters, "--trajectories", "1"}), {"--trajectories"});
  check_error({kCircuit, "--parameters", kParameters}, {"--observable"});
  check_error(with({"--parameters", kParameters, "--observable", "Z5"}), {"Z5", "qubit 5"});
  check_error(with({"--parameters", kParameters, "--basis", "rz,sx,x,cx"}), {"--basis"});
  check_error({}, {"circuit"});
}

}  // namespace
