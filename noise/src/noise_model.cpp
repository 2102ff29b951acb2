#include "kraus/noise/noise_model.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "json_matrix.hpp"

namespace kraus::noise {
namespace {

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// Parser state: the source name for messages.
struct Parser {
  std::string source;

  [[noreturn]] void fail(const std::string& path, const std::string& message) const {
    throw NoiseModelError(source + ": " + (path.empty() ? "" : path + ": ") + message);
  }

  void only_keys(const json& j, const std::string& path, std::initializer_list<const char*> keys) const {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (std::none_of(keys.begin(), keys.end(), [&](const char* k) { return it.key() == k; })) {
        std::string allowed;
        for (const char* k : keys) allowed += std::string(allowed.empty() ? "" : ", ") + k;
        fail(path.empty() ? it.key() : path + "." + it.key(), "unknown key (expected one of: " + allowed + ")");
      }
    }
  }

  const json& object(const json& j, const std::string& path) const {
    if (!j.is_object()) fail(path, "expected an object");
    return j;
  }

  double number(const json& j, const std::string& path) const {
    if (!j.is_number()) fail(path, "expected a number");
    const double v = j.get<double>();
    if (!std::isfinite(v)) fail(path, "expected a finite number");
    return v;
  }

  int index(const json& j, const std::string& path) const {
    if (!j.is_number_integer() || j.get<long long>() < 0 || j.get<long long>() > 62) {
      fail(path, "expected a qubit index (an integer in [0, 62])");
    }
    return static_cast<int>(j.get<long long>());
  }

  std::vector<int> qubit_list(const json& j, const std::string& path) const {
    if (!j.is_array() || j.empty()) fail(path, "expected a non-empty list of qubit indices");
    std::vector<int> out;
    for (std::size_t i = 0; i < j.size(); ++i) {
      const int q = index(j[i], path + "[" + std::to_string(i) + "]");
      if (std::find(out.begin(), out.end(), q) != out.end()) fail(path, "qubit " + std::to_string(q) + " is listed twice");
      out.push_back(q);
    }
    return out;
  }

  Matrix complex_matrix(const json& j, const std::string& path) const {
    if (!j.is_array() || j.empty()) fail(path, "expected a square matrix: a list of rows of [re, im] pairs");
    const int d = static_cast<int>(j.size());
    Matrix m(d, d);
    for (int r = 0; r < d; ++r) {
      const std::string rp = path + "[" + std::to_string(r) + "]";
      if (!j[r].is_array() || static_cast<int>(j[r].size()) != d) {
        fail(rp, "expected a row of " + std::to_string(d) + " [re, im] pairs (the matrix must be square)");
      }
      for (int c = 0; c < d; ++c) {
        const std::string cp = rp + "[" + std::to_string(c) + "]";
        const json& z = j[r][c];
        if (z.is_number()) {
          m(r, c) = number(z, cp);
        } else if (z.is_array() && z.size() == 2) {
          m(r, c) = Complex(number(z[0], cp + "[0]"), number(z[1], cp + "[1]"));
        } else {
          fail(cp, "expected a complex number [re, im]");
        }
      }
    }
    return m;
  }

  ChannelSpec channel(const json& j, const std::string& path) const {
    object(j, path);
    if (!j.contains("type") || !j["type"].is_string()) fail(path + ".type", "missing channel type (a string)");
    ChannelSpec spec;
    spec.type = j["type"].get<std::string>();
    const ChannelType* type = find_channel_type(spec.type);
    if (type == nullptr) {
      std::string known;
      for (const ChannelType& t : channel_types()) known += std::string(known.empty() ? "" : ", ") + std::string(t.name);
      fail(path + ".type", "unknown channel type '" + spec.type + "' (known: " + known + ")");
    }
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& key = it.key();
      const std::string kp = path + "." + key;
      if (key == "type") continue;
      if (key == "num_qubits" && spec.type == "depolarizing") {
        if (!it->is_number_integer() || it->get<int>() < 1 || it->get<int>() > 3) fail(kp, "expected 1, 2 or 3");
        spec.num_qubits = it->get<int>();
      } else if (key == "probabilities" && spec.type == "pauli") {
        if (!it->is_object() || it->empty()) fail(kp, "expected an object mapping Pauli strings to probabilities");
        for (auto p = it->begin(); p != it->end(); ++p) spec.pauli_probabilities[p.key()] = number(*p, kp + "." + p.key());
      } else if (key == "operators" && spec.type == "kraus") {
        if (!it->is_array() || it->empty()) fail(kp, "expected a non-empty list of Kraus matrices");
        for (std::size_t i = 0; i < it->size(); ++i) {
          spec.kraus_operators.push_back(complex_matrix((*it)[i], kp + "[" + std::to_string(i) + "]"));
          const Matrix& k = spec.kraus_operators.back();
          if (k.rows() != spec.kraus_operators.front().rows()) {
            fail(kp + "[" + std::to_string(i) + "]", "is " + std::to_string(k.rows()) + "x" + std::to_string(k.rows()) +
                                                         ", unlike operator 0 (" +
                                                         std::to_string(spec.kraus_operators.front().rows()) + "x" +
                                                         std::to_string(spec.kraus_operators.front().rows()) + ")");
          }
          if (k.rows() != 2 && k.rows() != 4) fail(kp + "[" + std::to_string(i) + "]", "must be 2x2 or 4x4 (1 or 2 qubits)");
        }
      } else if (key == "channels" && spec.type == "tensor") {
        if (!it->is_array() || it->empty()) fail(kp, "expected a non-empty list of channels");
        for (std::size_t i = 0; i < it->size(); ++i) {
          spec.factors.push_back(channel((*it)[i], kp + "[" + std::to_string(i) + "]"));
          if (spec.factors.back().fixed_num_qubits() == 0) {
            fail(kp + "[" + std::to_string(i) + "]", "a tensor factor must fix its number of qubits");
          }
        }
      } else if (key == "axis" && spec.type == "coherent_overrotation") {
        if (!it->is_string() || (it->get<std::string>() != "x" && it->get<std::string>() != "y" &&
                                 it->get<std::string>() != "z")) {
          fail(kp, "expected \"x\", \"y\" or \"z\"");
        }
        spec.axis = it->get<std::string>();
      } else {
        const auto param = std::find_if(type->params.begin(), type->params.end(),
                                        [&](const ChannelParameter& p) { return p.name == key; });
        if (param == type->params.end()) fail(kp, "a " + spec.type + " channel has no parameter '" + key + "'");
        const double v = number(*it, kp);
        if (!(v >= param->min && v <= param->max)) {
          fail(kp, fmt(v) + " is outside [" + fmt(param->min) + ", " + fmt(param->max) + "] for a " + spec.type +
                       " channel");
        }
        spec.params[key] = v;
      }
    }
    auto need = [&](bool ok, const char* key, const char* what) {
      if (!ok) fail(path + "." + key, std::string("missing: ") + what);
    };
    if (spec.type == "pauli") need(!spec.pauli_probabilities.empty(), "probabilities", "Pauli probabilities");
    if (spec.type == "kraus") need(!spec.kraus_operators.empty(), "operators", "Kraus operators");
    if (spec.type == "tensor") need(!spec.factors.empty(), "channels", "the factor channels");
    if (spec.type == "coherent_overrotation") need(!spec.axis.empty(), "axis", "rotation axis");
    for (const ChannelParameter& p : type->params) {
      if (p.required && !spec.params.count(std::string(p.name))) need(false, std::string(p.name).c_str(), "required parameter");
    }
    try {
      spec.build(spec.fixed_num_qubits() > 0 ? spec.fixed_num_qubits() : 1);
    } catch (const std::invalid_argument& e) {
      fail(path, e.what());
    }
    return spec;
  }

  ReadoutSpec readout(const json& j, const std::string& path) const {
    object(j, path);
    only_keys(j, path, {"qubits", "p1_given_0", "p0_given_1", "matrix"});
    ReadoutSpec r;
    if (!j.contains("qubits")) fail(path + ".qubits", "missing: \"all\" or a list of qubits");
    if (j["qubits"].is_string()) {
      if (j["qubits"].get<std::string>() != "all") fail(path + ".qubits", "expected \"all\" or a list of qubits");
      r.all_qubits = true;
    } else {
      r.qubits = qubit_list(j["qubits"], path + ".qubits");
    }
    if (j.contains("matrix")) {
      if (r.all_qubits) fail(path + ".qubits", "a correlated readout matrix needs an explicit qubit list");
      if (j.contains("p1_given_0") || j.contains("p0_given_1")) fail(path, "give either a matrix or p1_given_0/p0_given_1");
      const json& m = j["matrix"];
      const std::size_t d = std::size_t{1} << r.qubits.size();
      if (!m.is_array() || m.size() != d) fail(path + ".matrix", "expected " + std::to_string(d) + " rows for " +
                                                                      std::to_string(r.qubits.size()) + " qubit(s)");
      for (std::size_t t = 0; t < d; ++t) {
        const std::string rp = path + ".matrix[" + std::to_string(t) + "]";
        if (!m[t].is_array() || m[t].size() != d) fail(rp, "expected a row of " + std::to_string(d) + " probabilities");
        for (std::size_t c = 0; c < d; ++c) r.matrix.push_back(number(m[t][c], rp + "[" + std::to_string(c) + "]"));
      }
      try {
        ReadoutError{r.qubits, r.matrix}.validate();
      } catch (const std::invalid_argument& e) {
        fail(path + ".matrix", e.what());
      }
    } else {
      for (const char* key : {"p1_given_0", "p0_given_1"}) {
        if (!j.contains(key)) fail(path + "." + key, "missing (or give a correlated \"matrix\")");
        const double v = number(j[key], path + "." + key);
        if (!(v >= 0 && v <= 1)) fail(path + "." + key, fmt(v) + " is outside [0, 1]");
        (std::string(key) == "p1_given_0" ? r.p1_given_0 : r.p0_given_1) = v;
      }
    }
    return r;
  }

  void calibration(const json& j, const std::string& path, NoiseModel& model) const {
    object(j, path);
    only_keys(j, path, {"qubits", "gates"});
    std::vector<QubitCalibration> qubits;
    std::vector<GateCalibration> gates;
    if (!j.contains("qubits") || !j["qubits"].is_array()) fail(path + ".qubits", "expected a list of per-qubit figures");
    for (std::size_t i = 0; i < j["qubits"].size(); ++i) {
      const std::string qp = path + ".qubits[" + std::to_string(i) + "]";
      const json& q = object(j["qubits"][i], qp);
      only_keys(q, qp, {"t1", "t2", "excited_population", "p1_given_0", "p0_given_1"});
      QubitCalibration c;
      for (const char* key : {"t1", "t2"}) {
        if (!q.contains(key)) fail(qp + "." + key, "missing");
        const double v = number(q[key], qp + "." + key);
        if (!(v > 0)) fail(qp + "." + key, fmt(v) + " must be > 0");
        (std::string(key) == "t1" ? c.t1 : c.t2) = v;
      }
      auto optional_probability = [&](const char* key, double& out) {
        if (!q.contains(key)) return;
        out = number(q[key], qp + "." + key);
        if (!(out >= 0 && out <= 1)) fail(qp + "." + key, fmt(out) + " is outside [0, 1]");
      };
      optional_probability("excited_population", c.excited_population);
      optional_probability("p1_given_0", c.p1_given_0);
      optional_probability("p0_given_1", c.p0_given_1);
      qubits.push_back(c);
    }
    if (j.contains("gates")) {
      if (!j["gates"].is_array()) fail(path + ".gates", "expected a list of gate figures");
      for (std::size_t i = 0; i < j["gates"].size(); ++i) {
        const std::string gp = path + ".gates[" + std::to_string(i) + "]";
        const json& g = object(j["gates"][i], gp);
        only_keys(g, gp, {"gate", "qubits", "error", "time"});
        GateCalibration c;
        if (!g.contains("gate") || !g["gate"].is_string()) fail(gp + ".gate", "missing gate name");
        c.gate = g["gate"].get<std::string>();
        if (!g.contains("qubits")) fail(gp + ".qubits", "missing");
        c.qubits = qubit_list(g["qubits"], gp + ".qubits");
        for (int q : c.qubits) {
          if (q >= static_cast<int>(qubits.size())) fail(gp + ".qubits", "qubit " + std::to_string(q) + " has no calibration entry");
        }
        if (c.qubits.size() > 3) fail(gp + ".qubits", "calibrated gates act on 1 to 3 qubits");
        c.error = g.contains("error") ? number(g["error"], gp + ".error") : 0.0;
        c.time = g.contains("time") ? number(g["time"], gp + ".time") : 0.0;
        if (!(c.error >= 0 && c.error <= 1)) fail(gp + ".error", fmt(c.error) + " is outside [0, 1]");
        if (!(c.time >= 0)) fail(gp + ".time", fmt(c.time) + " must be >= 0");
        gates.push_back(c);
      }
    }
    NoiseModel cal = NoiseModel::from_calibration(qubits, gates);
    model.gate_noise.insert(model.gate_noise.end(), cal.gate_noise.begin(), cal.gate_noise.end());
    model.readout.insert(model.readout.end(), cal.readout.begin(), cal.readout.end());
  }
};

json channel_json(const ChannelSpec& spec) {
  json j;
  j["type"] = spec.type;
  if (spec.num_qubits > 0 && spec.type == "depolarizing") j["num_qubits"] = spec.num_qubits;
  for (const auto& [k, v] : spec.params) j[k] = v;
  if (!spec.axis.empty()) j["axis"] = spec.axis;
  if (!spec.pauli_probabilities.empty()) {
    for (const auto& [k, v] : spec.pauli_probabilities) j["probabilities"][k] = v;
  }
  if (!spec.factors.empty()) {
    j["channels"] = json::array();
    for (const ChannelSpec& f : spec.factors) j["channels"].push_back(channel_json(f));
  }
  if (!spec.kraus_operators.empty()) {
    j["operators"] = json::array();
    for (const Matrix& m : spec.kraus_operators) j["operators"].push_back(matrix_json(m));
  }
  return j;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw NoiseModelError(path + ": cannot open the noise model file");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

json parse_text(std::string_view text, const std::string& source) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    // Turn the byte offset into a line and column.
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    std::string what = e.what();
    const std::size_t colon = what.rfind(": ");
    throw NoiseModelError(source + ":" + std::to_string(line) + ":" + std::to_string(col) + ": invalid JSON (" +
                          (colon == std::string::npos ? what : what.substr(colon + 2)) + ")");
  }
}

// Average gate fidelity of a channel against the identity: (d F_pro + 1) / (d + 1), F_pro = Tr S / d^2.
double average_fidelity(const Matrix& superop, int dim) {
  const double f_pro = superop.trace().real() / (static_cast<double>(dim) * dim);
  return (dim * f_pro + 1.0) / (dim + 1.0);
}

}  // namespace

bool GateNoiseRule::matches(std::string_view gate, const std::vector<int>& gate_qubits_in) const {
  const bool name_ok = std::any_of(gates.begin(), gates.end(), [&](const std::string& g) { return g == "*" || g == gate; });
  if (!name_ok) return false;
  if (!gate_qubits.empty()) {
    return std::find(gate_qubits.begin(), gate_qubits.end(), gate_qubits_in) != gate_qubits.end();
  }
  if (qubits.empty()) return true;
  return std::all_of(gate_qubits_in.begin(), gate_qubits_in.end(),
                     [&](int q) { return std::find(qubits.begin(), qubits.end(), q) != qubits.end(); });
}

NoiseModel::NoiseModel(const NoiseModel& other)
    : gate_noise(other.gate_noise), idle_noise(other.idle_noise), readout(other.readout) {}

NoiseModel& NoiseModel::operator=(const NoiseModel& other) {
  if (this != &other) {
    gate_noise = other.gate_noise;
    idle_noise = other.idle_noise;
    readout = other.readout;
    std::lock_guard<std::mutex> lock(cache_mutex_);
    cache_.clear();
    factor_cache_.clear();
    idle_cache_.reset();
  }
  return *this;
}

NoiseModel NoiseModel::from_json(std::string_view text, const std::string& source) {
  const Parser p{source};
  const json j = parse_text(text, source);
  if (!j.is_object()) p.fail("", "a noise model is a JSON object");
  p.only_keys(j, "", {"gate_noise", "idle_noise", "readout", "calibration"});
  NoiseModel model;
  if (j.contains("gate_noise")) {
    const json& rules = j["gate_noise"];
    if (!rules.is_array()) p.fail("gate_noise", "expected a list of rules");
    for (std::size_t i = 0; i < rules.size(); ++i) {
      const std::string path = "gate_noise[" + std::to_string(i) + "]";
      const json& r = p.object(rules[i], path);
      p.only_keys(r, path, {"gates", "qubits", "gate_qubits", "channel"});
      GateNoiseRule rule;
      if (!r.contains("gates") || !r["gates"].is_array() || r["gates"].empty()) {
        p.fail(path + ".gates", "expected a non-empty list of gate names (or [\"*\"])");
      }
      for (std::size_t g = 0; g < r["gates"].size(); ++g) {
        if (!r["gates"][g].is_string() || r["gates"][g].get<std::string>().empty()) {
          p.fail(path + ".gates[" + std::to_string(g) + "]", "expected a gate name");
        }
        rule.gates.push_back(r["gates"][g].get<std::string>());
      }
      if (r.contains("qubits")) rule.qubits = p.qubit_list(r["qubits"], path + ".qubits");
      if (r.contains("gate_qubits")) {
        if (r.contains("qubits")) p.fail(path + ".gate_qubits", "give either qubits or gate_qubits, not both");
        const json& t = r["gate_qubits"];
        if (!t.is_array() || t.empty()) p.fail(path + ".gate_qubits", "expected a list of qubit tuples, e.g. [[0, 1]]");
        for (std::size_t k = 0; k < t.size(); ++k) {
          rule.gate_qubits.push_back(p.qubit_list(t[k], path + ".gate_qubits[" + std::to_string(k) + "]"));
        }
      }
      if (!r.contains("channel")) p.fail(path + ".channel", "missing");
      rule.channel = p.channel(r["channel"], path + ".channel");
      model.gate_noise.push_back(std::move(rule));
    }
  }
  if (j.contains("idle_noise")) {
    ChannelSpec idle = p.channel(j["idle_noise"], "idle_noise");
    if (idle.fixed_num_qubits() > 1) p.fail("idle_noise", "idle noise must be a 1-qubit channel");
    model.idle_noise = std::move(idle);
  }
  if (j.contains("readout")) {
    if (!j["readout"].is_array()) p.fail("readout", "expected a list of readout errors");
    for (std::size_t i = 0; i < j["readout"].size(); ++i) {
      model.readout.push_back(p.readout(j["readout"][i], "readout[" + std::to_string(i) + "]"));
    }
  }
  if (j.contains("calibration")) p.calibration(j["calibration"], "calibration", model);
  // Overlapping readout groups are an error of the file, found here rather than when simulating.
  std::vector<int> seen;
  bool all = false;
  for (std::size_t i = 0; i < model.readout.size(); ++i) {
    const ReadoutSpec& r = model.readout[i];
    if ((all && !r.qubits.empty()) || (r.all_qubits && (!seen.empty() || all))) {
      p.fail("readout[" + std::to_string(i) + "].qubits", "overlaps an earlier readout error");
    }
    all = all || r.all_qubits;
    for (int q : r.qubits) {
      if (std::find(seen.begin(), seen.end(), q) != seen.end()) {
        p.fail("readout[" + std::to_string(i) + "].qubits", "qubit " + std::to_string(q) + " already has a readout error");
      }
      seen.push_back(q);
    }
  }
  return model;
}

NoiseModel NoiseModel::from_json_file(const std::string& path) { return from_json(read_file(path), path); }

std::string NoiseModel::to_json() const {
  json j = json::object();
  if (!gate_noise.empty()) {
    j["gate_noise"] = json::array();
    for (const GateNoiseRule& r : gate_noise) {
      json jr;
      jr["gates"] = r.gates;
      if (!r.qubits.empty()) jr["qubits"] = r.qubits;
      if (!r.gate_qubits.empty()) jr["gate_qubits"] = r.gate_qubits;
      jr["channel"] = channel_json(r.channel);
      j["gate_noise"].push_back(jr);
    }
  }
  if (idle_noise) j["idle_noise"] = channel_json(*idle_noise);
  if (!readout.empty()) {
    j["readout"] = json::array();
    for (const ReadoutSpec& r : readout) {
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

NoiseModel NoiseModel::from_calibration(const std::vector<QubitCalibration>& qubits,
                                        const std::vector<GateCalibration>& gates) {
  NoiseModel model;
  for (const GateCalibration& g : gates) {
    const int k = static_cast<int>(g.qubits.size());
    // Thermal relaxation on each of the gate's qubits, as one tensor channel on its ordered tuple.
    ChannelSpec relax{"tensor", {}, {}, {}, "", 0, {}};
    for (int q : g.qubits) {
      const QubitCalibration& c = qubits.at(static_cast<std::size_t>(q));
      relax.factors.push_back({"thermal_relaxation",
                               {{"t1", c.t1}, {"t2", std::min(c.t2, 2.0 * c.t1)}, {"time", g.time},
                                {"excited_population", c.excited_population}}, {}, {}, "", 0, {}});
    }
    const Matrix relax_superop = relax.build(k).superoperator();
    if (g.time > 0) model.gate_noise.push_back({{g.gate}, {}, k == 1 ? relax.factors[0] : relax, {g.qubits}});
    // Depolarising lambda as in Aer: lambda = d (F_relax - F) / (d F_relax - 1), F = 1 - error.
    const int d = 1 << k;
    const double f_relax = average_fidelity(relax_superop, d), f = 1.0 - g.error;
    double lambda = (d * f_relax - 1.0) != 0.0 ? d * (f_relax - f) / (d * f_relax - 1.0) : 0.0;
    const double lambda_max = static_cast<double>(d * d) / (d * d - 1.0);
    lambda = std::clamp(lambda, 0.0, lambda_max);
    if (lambda > 0.0) {
      ChannelSpec dep{"depolarizing", {{"p", depolarizing_p_from_lambda(k, lambda)}}, {}, {}, "", k, {}};
      model.gate_noise.push_back({{g.gate}, {}, dep, {g.qubits}});
    }
  }
  for (std::size_t q = 0; q < qubits.size(); ++q) {
    if (qubits[q].p1_given_0 > 0 || qubits[q].p0_given_1 > 0) {
      model.readout.push_back({false, {static_cast<int>(q)}, qubits[q].p1_given_0, qubits[q].p0_given_1, {}});
    }
  }
  return model;
}

NoiseModel NoiseModel::scaled(double s) const {
  NoiseModel out;
  for (std::size_t i = 0; i < gate_noise.size(); ++i) {
    GateNoiseRule r = gate_noise[i];
    try {
      r.channel = r.channel.scaled(s);
    } catch (const std::invalid_argument& e) {
      throw NoiseModelError("gate_noise[" + std::to_string(i) + "].channel: " + e.what());
    }
    out.gate_noise.push_back(std::move(r));
  }
  if (idle_noise) {
    try {
      out.idle_noise = idle_noise->scaled(s);
    } catch (const std::invalid_argument& e) {
      throw NoiseModelError(std::string("idle_noise: ") + e.what());
    }
  }
  out.readout = readout;
  return out;
}

const Channel& NoiseModel::built(std::size_t rule, int arity) const {
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() != gate_noise.size()) {
    cache_.clear();
    cache_.resize(gate_noise.size());
  }
  auto& slots = cache_[rule];
  if (slots.size() <= static_cast<std::size_t>(arity)) slots.resize(static_cast<std::size_t>(arity) + 1);
  if (!slots[static_cast<std::size_t>(arity)]) {
    try {
      slots[static_cast<std::size_t>(arity)] = std::make_unique<Channel>(gate_noise[rule].channel.build(arity));
    } catch (const std::invalid_argument& e) {
      throw NoiseModelError("gate_noise[" + std::to_string(rule) + "].channel: " + e.what());
    }
  }
  return *slots[static_cast<std::size_t>(arity)];
}

const Channel& NoiseModel::built_factor(std::size_t rule, std::size_t factor) const {
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (factor_cache_.size() != gate_noise.size()) {
    factor_cache_.clear();
    factor_cache_.resize(gate_noise.size());
  }
  auto& slots = factor_cache_[rule];
  if (slots.size() <= factor) slots.resize(factor + 1);
  if (!slots[factor]) {
    const ChannelSpec& f = gate_noise[rule].channel.factors[factor];
    try {
      slots[factor] = std::make_unique<Channel>(f.build(f.fixed_num_qubits()));
    } catch (const std::invalid_argument& e) {
      throw NoiseModelError("gate_noise[" + std::to_string(rule) + "].channel.channels[" + std::to_string(factor) +
                            "]: " + e.what());
    }
  }
  return *slots[factor];
}

std::vector<PlacedChannel> NoiseModel::channels_after(std::string_view gate, const std::vector<int>& gate_qubits) const {
  std::vector<PlacedChannel> out;
  const int k = static_cast<int>(gate_qubits.size());
  for (std::size_t i = 0; i < gate_noise.size(); ++i) {
    const GateNoiseRule& rule = gate_noise[i];
    if (!rule.matches(gate, gate_qubits)) continue;
    const int fixed = rule.channel.fixed_num_qubits();
    if (rule.channel.type == "tensor" && fixed == k) {
      // A product channel acts as its factors, each on its own qubits (they commute): k small
      // channels instead of one 2^k-dimensional superoperator, exactly the same map.
      std::size_t offset = 0;
      for (std::size_t j = 0; j < rule.channel.factors.size(); ++j) {
        const std::size_t m = static_cast<std::size_t>(rule.channel.factors[j].fixed_num_qubits());
        out.push_back({&built_factor(i, j),
                       std::vector<int>(gate_qubits.begin() + static_cast<std::ptrdiff_t>(offset),
                                        gate_qubits.begin() + static_cast<std::ptrdiff_t>(offset + m))});
        offset += m;
      }
    } else if (fixed == 0 || fixed == k) {
      out.push_back({&built(i, k), gate_qubits});
    } else if (fixed == 1) {
      const Channel* c = &built(i, 1);
      for (int q : gate_qubits) out.push_back({c, {q}});
    } else {
      throw NoiseModelError("gate_noise[" + std::to_string(i) + "]: a " + std::to_string(fixed) + "-qubit " +
                            rule.channel.type + " channel cannot follow '" + std::string(gate) + "', a " +
                            std::to_string(k) + "-qubit gate");
    }
  }
  return out;
}

const Channel* NoiseModel::idle_channel() const {
  if (!idle_noise) return nullptr;
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (!idle_cache_) {
    try {
      idle_cache_ = std::make_unique<Channel>(idle_noise->build(1));
    } catch (const std::invalid_argument& e) {
      throw NoiseModelError(std::string("idle_noise: ") + e.what());
    }
  }
  return idle_cache_.get();
}

ReadoutModel NoiseModel::readout_model(int num_qubits) const {
  std::vector<ReadoutError> errors;
  for (std::size_t i = 0; i < readout.size(); ++i) {
    const ReadoutSpec& r = readout[i];
    std::vector<int> qs = r.qubits;
    if (r.all_qubits) {
      for (int q = 0; q < num_qubits; ++q) qs.push_back(q);
    }
    for (int q : qs) {
      if (q >= num_qubits) {
        throw NoiseModelError("readout[" + std::to_string(i) + "].qubits: qubit " + std::to_string(q) + " does not exist in a " +
                              std::to_string(num_qubits) + "-qubit circuit");
      }
    }
    if (!r.matrix.empty()) {
      errors.push_back({qs, r.matrix});
    } else {
      for (int q : qs) errors.push_back(ReadoutError::single(q, r.p1_given_0, r.p0_given_1));
    }
  }
  return ReadoutModel(std::move(errors));
}

}  // namespace kraus::noise
