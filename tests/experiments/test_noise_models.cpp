// The noise models shipped in experiments/noise_models load with NoiseModel::from_json_file and
// mean what docs/experiments.md says; --noise arguments resolve to files, folders or shipped names.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "harness/noise.hpp"
#include "harness/options.hpp"
#include "kraus/engine/circuit.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/simulator.hpp"
#include "kraus/noise/noise_model.hpp"

using namespace kraus::experiments;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "kraus_noise_XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

const std::vector<std::string> kShipped = {"amplitude_damping", "depolarizing", "device_like", "ideal",
                                           "readout_only"};

std::string shipped(const std::string& name) { return shipped_noise_model_dir() + "/" + name + ".json"; }

}  // namespace

TEST_CASE("every shipped noise model loads with NoiseModel::from_json_file", "[experiments][noise]") {
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(shipped_noise_model_dir())) {
    if (e.path().extension() == ".json") found.push_back(e.path().stem().string());
  }
  std::sort(found.begin(), found.end());
  CHECK(found == kShipped);
  for (const std::string& name : kShipped) {
    CAPTURE(name);
    const kraus::noise::NoiseModel m = kraus::noise::NoiseModel::from_json_file(shipped(name));
    // Every model survives its own JSON round trip.
    CHECK_NOTHROW(kraus::noise::NoiseModel::from_json(m.to_json()));
  }
}

TEST_CASE("the shipped models have the documented content", "[experiments][noise]") {
  using kraus::noise::NoiseModel;
  const NoiseModel ideal = NoiseModel::from_json_file(shipped("ideal"));
  CHECK(ideal.gate_noise.empty());
  CHECK(ideal.readout.empty());
  CHECK_FALSE(ideal.idle_noise.has_value());

  const NoiseModel dep = NoiseModel::from_json_file(shipped("depolarizing"));
  REQUIRE(dep.channels_after("ry", {0}).size() == 1);
  CHECK(dep.channels_after("ry", {0})[0].channel->num_qubits() == 1);
  REQUIRE(dep.channels_after("cx", {0, 1}).size() == 1);
  CHECK(dep.channels_after("cx", {0, 1})[0].channel->num_qubits() == 2);
  CHECK(dep.readout.empty());

  const NoiseModel ad = NoiseModel::from_json_file(shipped("amplitude_damping"));
  CHECK(ad.channels_after("ry", {3}).size() == 1);
  CHECK(ad.channels_after("cx", {0, 1}).size() == 2);  // the 1-qubit channel on each qubit

  const NoiseModel ro = NoiseModel::from_json_file(shipped("readout_only"));
  CHECK(ro.gate_noise.empty());
  CHECK(ro.readout_model(5).errors().size() == 5);

  // device_like: a 16-qubit linear chain from calibration figures.
  const NoiseModel dev = NoiseModel::from_json_file(shipped("device_like"));
  for (int q = 0; q < 16; ++q) {
    CAPTURE(q);
    CHECK(dev.channels_after("ry", {q}).size() == 2);  // depolarising, then thermal relaxation
    CHECK(dev.channels_after("sx", {q}).size() >= 1);
  }
  for (int q = 0; q + 1 < 16; ++q) {
    CAPTURE(q);
    // Coupled neighbours, calibrated in both directions: depolarising, then relaxation on both qubits.
    for (const char* gate : {"cx", "cz"}) {
      CHECK(dev.channels_after(gate, {q, q + 1}).size() >= 2);
      CHECK(dev.channels_after(gate, {q + 1, q}).size() >= 2);
    }
  }
  CHECK(dev.channels_after("cx", {0, 2}).empty());  // not coupled on the chain
  CHECK(dev.channels_after("ry", {16}).empty());
  CHECK(dev.readout_model(16).errors().size() == 16);
}

TEST_CASE("device_like gives plausible gate infidelities on a small circuit", "[experiments][noise]") {
  // One ry(pi) on qubit 0 of the device: the excited population is 1 - O(1e-3).
  using namespace kraus::engine;
  const kraus::noise::NoiseModel dev = fit_to_register(kraus::noise::NoiseModel::from_json_file(shipped("device_like")), 2);
  Circuit c(2);
  c.add_gate(Gate::kRY, {0}, {3.141592653589793});
  c.add_gate(Gate::kCX, {0, 1});
  validate_noise(c, dev);
  DensityMatrix rho(2);
  simulate(c, &dev, rho);
  const std::vector<double> p = rho.probabilities();
  CHECK(p[3] > 0.98);  // |11>
  CHECK(p[3] < 0.999);
  CHECK(rho.purity() < 1.0);
}

TEST_CASE("fit_to_register keeps the rules and readout errors of the register's qubits", "[experiments][noise]") {
  const kraus::noise::NoiseModel dev = kraus::noise::NoiseModel::from_json_file(shipped("device_like"));
  CHECK_THROWS(dev.readout_model(4));  // readout on qubits 4..15 does not fit a 4-qubit register
  const kraus::noise::NoiseModel fitted = fit_to_register(dev, 4);
  CHECK(fitted.readout_model(4).errors().size() == 4);
  CHECK(fitted.device_qubits() == 4);
  // device_like on 3 qubits: exactly the rules whose gate tuples lie on qubits 0..2, with the same channels.
  const kraus::noise::NoiseModel three = fit_to_register(dev, 3);
  std::size_t inside = 0;
  for (const kraus::noise::GateNoiseRule& r : dev.gate_noise) {
    REQUIRE(r.gate_qubits.size() == 1);
    inside += std::all_of(r.gate_qubits[0].begin(), r.gate_qubits[0].end(), [](int q) { return q < 3; }) ? 1 : 0;
  }
  CHECK(inside > 0);
  CHECK(three.gate_noise.size() == inside);
  for (const kraus::noise::GateNoiseRule& r : three.gate_noise) {
    for (int q : r.gate_qubits[0]) CHECK(q < 3);
  }
  CHECK(three.channels_after("cx", {1, 2}).size() == dev.channels_after("cx", {1, 2}).size());
  CHECK(three.channels_after("cx", {2, 3}).empty());
  // A register larger than the device keeps the whole device model (the further qubits are noiseless).
  const kraus::noise::NoiseModel larger = fit_to_register(dev, 20);
  CHECK(larger.gate_noise.size() == dev.gate_noise.size());
  CHECK(larger.device_qubits() == 16);
  CHECK(larger.readout_model(20).errors().size() == 16);

  kraus::noise::NoiseModel m = kraus::noise::NoiseModel::from_json(
      R"({"readout": [{"qubits": [0, 5], "p1_given_0": 0.1, "p0_given_1": 0.2},
                      {"qubits": [1, 6], "matrix": [[0.9,0.1,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]},
                      {"qubits": [2, 3], "matrix": [[0.9,0.1,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]}]})");
  const kraus::noise::NoiseModel f = fit_to_register(m, 4);
  REQUIRE(f.readout.size() == 2);
  CHECK(f.readout[0].qubits == std::vector<int>{0});
  CHECK(f.readout[1].qubits == std::vector<int>{2, 3});
  const kraus::noise::NoiseModel all = fit_to_register(kraus::noise::NoiseModel::from_json_file(shipped("readout_only")), 3);
  CHECK(all.readout_model(3).errors().size() == 3);
}

TEST_CASE("noise model arguments (--noise): files, folders, shipped names, errors", "[experiments][noise]") {
  TempDir dir;
  const fs::path a = dir.path / "mine.json";
  std::ofstream(a) << R"({"gate_noise": [{"gates": ["h"], "channel": {"type": "bit_flip", "p": 0.1}}]})";

  auto error = [&](const std::vector<std::string>& args) {
    try {
      load_noise_models(args);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };

  SECTION("a file and a shipped name") {
    const std::vector<NamedNoiseModel> models = load_noise_models({a.string(), "depolarizing", "ideal.json"});
    REQUIRE(models.size() == 3);
    CHECK(models[0].name == "mine");
    CHECK(models[0].path == a.string());
    CHECK(models[0].document["gate_noise"][0]["channel"]["p"] == 0.1);
    CHECK(models[0].model.channels_after("h", {0}).size() == 1);
    CHECK(models[1].name == "depolarizing");
    CHECK(models[1].path == shipped("depolarizing"));
    CHECK(models[2].name == "ideal");
  }
  SECTION("a Qiskit Aer NoiseModel.to_dict() file") {
    const std::vector<NamedNoiseModel> models = load_noise_models({std::string(KRAUS_TEST_DATA_DIR) + "/noise/aer_channels_md.json"});
    REQUIRE(models.size() == 1);
    CHECK(models[0].name == "aer_channels_md");
    CHECK(models[0].model.channels_after("cx", {0, 1}).size() == 1);
    CHECK(models[0].model.channels_after("cx", {1, 0}).empty());
    CHECK(models[0].document.contains("errors"));
  }
  SECTION("a folder: every *.json, sorted by name") {
    const std::vector<NamedNoiseModel> models = load_noise_models({shipped_noise_model_dir()});
    std::vector<std::string> names;
    for (const auto& m : models) names.push_back(m.name);
    CHECK(names == kShipped);
  }
  SECTION("errors") {
    CHECK_THAT(error({"ideal", shipped_noise_model_dir()}), Contains("two models are named 'ideal'"));
    CHECK_THAT(error({"nonexistent"}),
               Contains("--noise nonexistent: no such file, and not a shipped model") && Contains("device_like"));
    CHECK_THAT(error({(dir.path / "none.json").string()}), Contains("none.json: no such file or folder"));
    fs::create_directory(dir.path / "empty");
    CHECK_THAT(error({(dir.path / "empty").string()}), Contains("has no *.json noise models"));
    const fs::path bad = dir.path / "bad.json";
    std::ofstream(bad) << R"({"gate_noise": [{"gates": ["h"], "channel": {"type": "depolarizing", "p": 1.5}}]})";
    CHECK_THAT(error({bad.string()}), Contains("bad.json") && Contains("gate_noise[0].channel.p"));
    const fs::path broken = dir.path / "broken.json";
    std::ofstream(broken) << "{\"gate_noise\": [";
    CHECK_THAT(error({broken.string()}), Contains("broken.json") && Contains("JSON"));
    const fs::path spaced = dir.path / "my model.json";
    std::ofstream(spaced) << "{}";
    CHECK_THAT(error({spaced.string()}), Contains("'my model'") && Contains("letters, digits"));
    // Gate names resolve through the gate table: an alias works, a misspelt name is refused.
    const fs::path cnot = dir.path / "cnot.json";
    std::ofstream(cnot) << R"({"gate_noise": [{"gates": ["CNOT"], "channel": {"type": "bit_flip", "p": 0.1}}]})";
    CHECK_THAT(error({cnot.string()}),
               Contains("--noise " + cnot.string() + ": " + cnot.string() + ": gate_noise[0].gates[0]") &&
                   Contains("did you mean 'cx'"));
  }
  SECTION("aliases become gate-table names") {
    const fs::path u1 = dir.path / "u1.json";
    std::ofstream(u1) << R"({"gate_noise": [{"gates": ["u1", "cnot"], "channel": {"type": "bit_flip", "p": 0.1}}]})";
    const std::vector<NamedNoiseModel> models = load_noise_models({u1.string()});
    CHECK(models.at(0).model.gate_noise.at(0).gates == std::vector<std::string>{"p", "cx"});
  }
}
