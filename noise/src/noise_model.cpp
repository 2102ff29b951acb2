#include "kraus/noise/noise_model.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include "json_matrix.hpp"
#include "kraus/noise/text.hpp"

namespace kraus::noise {
namespace {

}  // namespace

// ---- bounded JSON parsing and checked reads (json_matrix.hpp) ------------------------------------

namespace detail {
namespace {

// Refuses, before nlohmann parses anything, documents nested deeper than kMaxJsonDepth and numbers
// beyond double's range (strtod's overflow; underflow gives 0 or a denormal, accepted). Brackets and
// digits inside strings do not count. Up to the first syntax error this sees the same structure as
// the parser, so the parser never goes deeper than this allows.
void prescan(std::string_view text, const std::string& source) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        throw NoiseModelError(source + ":" + line_col(text, i) + ": JSON nested deeper than " +
                              std::to_string(kMaxJsonDepth) + " levels");
      }
    } else if (c == ']' || c == '}') {
      depth = std::max(depth - 1, 0);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      std::size_t end = i;
      while (end < text.size() && std::string_view("0123456789+-.eE").find(text[end]) != std::string_view::npos) ++end;
      const std::string token(text.substr(i, end - i));
      if (std::isinf(std::strtod(token.c_str(), nullptr))) {
        throw NoiseModelError(source + ":" + line_col(text, i) + ": number " + printable(token, kMaxQuotedBytes) +
                              " is out of range (beyond +-1.8e308)");
      }
      i = end - 1;
    }
  }
}

// nlohmann's message without its "[json.exception...] parse error at line L, column C: " prefix.
std::string parse_error_text(const std::string& what) {
  std::size_t start = what.find("column ");
  start = what.find(": ", start == std::string::npos ? 0 : start);
  return printable(start == std::string::npos ? what : what.substr(start + 2));
}

}  // namespace


json parse_json(std::string_view text, const std::string& source) {
  if (text.size() > kMaxNoiseModelBytes) {
    throw NoiseModelError(source + ": the noise model is larger than " + std::to_string(kMaxNoiseModelBytes >> 20) +
                          " MiB");
  }
  prescan(text, source);
  // The callback tracks the JSON path to name a duplicate key (nlohmann would keep the last one).
  struct Frame {
    bool object;
    std::string key;
    std::size_t count = 0;
    std::set<std::string> keys;
  };
  std::vector<Frame> frames;
  auto path = [&] {
    std::string p;
    for (const Frame& f : frames) p = f.object ? JsonReader::member(p, f.key) : JsonReader::element(p, f.count - 1);
    return p;
  };
  const json::parser_callback_t track = [&](int, json::parse_event_t event, json& parsed) {
    using E = json::parse_event_t;
    if ((event == E::value || event == E::object_start || event == E::array_start) && !frames.empty() &&
        !frames.back().object) {
      ++frames.back().count;
    }
    if (event == E::object_start || event == E::array_start) frames.push_back({event == E::object_start, "", 0, {}});
    if (event == E::object_end || event == E::array_end) frames.pop_back();
    if (event == E::key) {
      frames.back().key = parsed.get<std::string>();
      if (!frames.back().keys.insert(frames.back().key).second) {
        throw NoiseModelError(source + ": " + path() + ": duplicate key");
      }
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), track);
  } catch (const json::parse_error& e) {
    throw NoiseModelError(source + ":" + line_col(text, e.byte == 0 ? 0 : e.byte - 1) + ": invalid JSON (" +
                          parse_error_text(e.what()) + ")");
  }
}

void JsonReader::fail(const std::string& path, const std::string& message) const {
  throw NoiseModelError(source + ": " + (path.empty() ? "" : path + ": ") + message);
}

std::string JsonReader::member(const std::string& path, const std::string& key) {
  return path.empty() ? printable(key, kMaxQuotedBytes) : path + "." + printable(key, kMaxQuotedBytes);
}

std::string JsonReader::element(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

void JsonReader::only_keys(const json& j, const std::string& path, std::initializer_list<const char*> keys) const {
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (std::none_of(keys.begin(), keys.end(), [&](const char* k) { return it.key() == k; })) {
      std::string allowed;
      for (const char* k : keys) allowed += std::string(allowed.empty() ? "" : ", ") + k;
      fail(member(path, it.key()), "unknown key (expected one of: " + allowed + ")");
    }
  }
}

const json& JsonReader::object(const json& j, const std::string& path) const {
  if (!j.is_object()) fail(path, "expected an object");
  return j;
}

const json& JsonReader::required(const json& j, const std::string& path, const char* key, const std::string& what) const {
  const auto it = j.find(key);
  if (it == j.end()) fail(member(path, key), "missing: " + what);
  return *it;
}

const json& JsonReader::array(const json& j, const std::string& path, const std::string& what) const {
  if (!j.is_array()) fail(path, "expected " + what);
  return j;
}

std::string JsonReader::string(const json& j, const std::string& path, const std::string& what) const {
  if (!j.is_string()) fail(path, "expected " + what + " (a string)");
  return j.get<std::string>();
}

std::string JsonReader::gate_name(const json& j, const std::string& path, bool wildcard) const {
  const std::string name = string(j, path, "a gate name");
  const bool ok = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
                  std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
  if (!ok && !(wildcard && name == "*")) {
    fail(path, "'" + printable(name, kMaxQuotedBytes) + "' is not a gate name (letters, digits and _" + (wildcard ? ", or \"*\")" : ")"));
  }
  return name;
}

double JsonReader::number(const json& j, const std::string& path) const {
  if (!j.is_number()) fail(path, "expected a number");
  const double v = j.get<double>();
  if (!std::isfinite(v)) fail(path, "expected a finite number");
  return v;
}

long long JsonReader::integer(const json& j, const std::string& path, long long lo, long long hi) const {
  const std::string range = "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  if (!j.is_number_integer()) fail(path, "expected " + range);
  if (j.is_number_unsigned()) {
    const auto u = j.get<unsigned long long>();
    if (u > static_cast<unsigned long long>(hi) || static_cast<long long>(u) < lo) fail(path, std::to_string(u) + " is not " + range);
    return static_cast<long long>(u);
  }
  const auto v = j.get<long long>();
  if (v < lo || v > hi) fail(path, std::to_string(v) + " is not " + range);
  return v;
}

int JsonReader::index(const json& j, const std::string& path) const {
  return static_cast<int>(integer(j, path, 0, kMaxQubitIndex));
}

std::vector<int> JsonReader::qubit_list(const json& j, const std::string& path) const {
  if (!j.is_array() || j.empty()) fail(path, "expected a non-empty list of qubit indices");
  std::vector<int> out;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const int q = index(j[i], element(path, i));
    if (std::find(out.begin(), out.end(), q) != out.end()) fail(path, "qubit " + std::to_string(q) + " is listed twice");
    out.push_back(q);
  }
  return out;
}

Matrix JsonReader::complex_matrix(const json& j, const std::string& path, std::initializer_list<int> dims) const {
  std::string allowed;
  for (int d : dims) allowed += (allowed.empty() ? "" : " or ") + std::to_string(d) + "x" + std::to_string(d);
  if (!j.is_array() || std::find(dims.begin(), dims.end(), static_cast<long long>(j.size())) == dims.end()) {
    fail(path, "expected a " + allowed + " matrix: a list of rows of [re, im] pairs" +
                   (j.is_array() ? " (got " + std::to_string(j.size()) + " rows)" : ""));
  }
  const int d = static_cast<int>(j.size());
  for (int r = 0; r < d; ++r) {
    if (!j[r].is_array() || static_cast<int>(j[r].size()) != d) {
      fail(element(path, r), "expected a row of " + std::to_string(d) + " [re, im] pairs (the matrix must be square)");
    }
  }
  Matrix m(d, d);
  for (int r = 0; r < d; ++r) {
    for (int c = 0; c < d; ++c) {
      const std::string cp = element(element(path, r), c);
      const json& z = j[r][c];
      if (z.is_number()) {
        m(r, c) = number(z, cp);
      } else if (z.is_array() && z.size() == 2) {
        m(r, c) = Complex(number(z[0], element(cp, 0)), number(z[1], element(cp, 1)));
      } else {
        fail(cp, "expected a complex number [re, im]");
      }
    }
  }
  return m;
}

std::vector<double> JsonReader::probability_matrix(const json& j, const std::string& path, std::size_t d) const {
  if (!j.is_array() || j.size() != d) fail(path, "expected " + std::to_string(d) + " rows of probabilities");
  for (std::size_t t = 0; t < d; ++t) {
    if (!j[t].is_array() || j[t].size() != d) fail(element(path, t), "expected a row of " + std::to_string(d) + " probabilities");
  }
  std::vector<double> m;
  m.reserve(d * d);
  for (std::size_t t = 0; t < d; ++t) {
    for (std::size_t c = 0; c < d; ++c) {
      const std::string cp = element(element(path, t), c);
      const double v = number(j[t][c], cp);
      if (!(v >= 0 && v <= 1)) fail(cp, short_number(v) + " is outside [0, 1]");
      m.push_back(v);
    }
  }
  return m;
}

}  // namespace detail

namespace {

using detail::JsonReader;

// The noise-model reader: the checked reads plus the model's own structure.
struct Parser : JsonReader {
  ChannelSpec channel(const json& j, const std::string& path, int tensor_depth = 0) const {
    object(j, path);
    ChannelSpec spec;
    spec.type = string(required(j, path, "type", "the channel type"), member(path, "type"), "the channel type");
    const ChannelType* type = find_channel_type(spec.type);
    if (type == nullptr) {
      std::string known;
      for (const ChannelType& t : channel_types()) known += std::string(known.empty() ? "" : ", ") + std::string(t.name);
      fail(member(path, "type"), "unknown channel type '" + printable(spec.type, kMaxQuotedBytes) + "' (known: " + known + ")");
    }
    if (spec.type == "tensor" && tensor_depth >= kMaxTensorNesting) {
      fail(path, "tensor channels nest at most " + std::to_string(kMaxTensorNesting) + " levels deep");
    }
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& key = it.key();
      const std::string kp = member(path, key);
      if (key == "type") continue;
      if (key == "num_qubits" && spec.type == "depolarizing") {
        spec.num_qubits = static_cast<int>(integer(*it, kp, 1, 3));
      } else if (key == "probabilities" && spec.type == "pauli") {
        if (!it->is_object() || it->empty()) fail(kp, "expected an object mapping Pauli strings to probabilities");
        for (auto p = it->begin(); p != it->end(); ++p) {
          const std::string& label = p.key();
          if (label.empty() || label.size() > 3 || label.find_first_not_of("IXYZ") != std::string::npos) {
            fail(member(kp, label), "expected a Pauli string of 1 to 3 characters I, X, Y, Z");
          }
          spec.pauli_probabilities[label] = number(*p, member(kp, label));
        }
      } else if (key == "operators" && spec.type == "kraus") {
        if (!it->is_array() || it->empty()) fail(kp, "expected a non-empty list of Kraus matrices");
        for (std::size_t i = 0; i < it->size(); ++i) {
          const std::string op = element(kp, i);
          spec.kraus_operators.push_back(complex_matrix((*it)[i], op, {2, 4}));
          const int d = spec.kraus_operators.back().rows(), d0 = spec.kraus_operators.front().rows();
          if (d != d0) {
            fail(op, "is " + std::to_string(d) + "x" + std::to_string(d) + ", unlike operator 0 (" + std::to_string(d0) +
                         "x" + std::to_string(d0) + ")");
          }
        }
      } else if (key == "channels" && spec.type == "tensor") {
        if (!it->is_array() || it->empty()) fail(kp, "expected a non-empty list of channels");
        for (std::size_t i = 0; i < it->size(); ++i) {
          spec.factors.push_back(channel((*it)[i], element(kp, i), tensor_depth + 1));
          if (spec.factors.back().fixed_num_qubits() == 0) fail(element(kp, i), "a tensor factor must fix its number of qubits");
        }
      } else if (key == "axis" && spec.type == "coherent_overrotation") {
        spec.axis = string(*it, kp, "\"x\", \"y\" or \"z\"");
        if (spec.axis != "x" && spec.axis != "y" && spec.axis != "z") fail(kp, "expected \"x\", \"y\" or \"z\"");
      } else {
        const auto param = std::find_if(type->params.begin(), type->params.end(),
                                        [&](const ChannelParameter& p) { return p.name == key; });
        if (param == type->params.end()) fail(kp, "a " + spec.type + " channel has no parameter '" + printable(key, kMaxQuotedBytes) + "'");
        const double v = number(*it, kp);
        if (!(v >= param->min && v <= param->max)) {
          fail(kp, short_number(v) + " is outside [" + short_number(param->min) + ", " + short_number(param->max) + "] for a " + spec.type +
                       " channel");
        }
        spec.params[key] = v;
      }
    }
    auto need = [&](bool ok, const char* key, const char* what) {
      if (!ok) fail(member(path, key), std::string("missing: ") + what);
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
    const json& qubits = required(j, path, "qubits", "\"all\" or a list of qubits");
    if (qubits.is_string()) {
      if (qubits.get<std::string>() != "all") fail(member(path, "qubits"), "expected \"all\" or a list of qubits");
      r.all_qubits = true;
    } else {
      r.qubits = qubit_list(qubits, member(path, "qubits"));
    }
    if (j.contains("matrix")) {
      if (r.all_qubits) fail(member(path, "qubits"), "a correlated readout matrix needs an explicit qubit list");
      if (j.contains("p1_given_0") || j.contains("p0_given_1")) fail(path, "give either a matrix or p1_given_0/p0_given_1");
      if (r.qubits.size() > static_cast<std::size_t>(kMaxReadoutGroupQubits)) {
        fail(member(path, "qubits"), "a correlated readout matrix acts on at most " +
                                         std::to_string(kMaxReadoutGroupQubits) + " qubits");
      }
      r.matrix = probability_matrix(j["matrix"], member(path, "matrix"), std::size_t{1} << r.qubits.size());
      try {
        ReadoutError{r.qubits, r.matrix}.validate();
      } catch (const std::invalid_argument& e) {
        fail(member(path, "matrix"), e.what());
      }
    } else {
      for (const char* key : {"p1_given_0", "p0_given_1"}) {
        const double v = number(required(j, path, key, "a probability (or give a correlated \"matrix\")"), member(path, key));
        if (!(v >= 0 && v <= 1)) fail(member(path, key), short_number(v) + " is outside [0, 1]");
        (std::string(key) == "p1_given_0" ? r.p1_given_0 : r.p0_given_1) = v;
      }
    }
    return r;
  }

  DeviceInfo device(const json& j, const std::string& path) const {
    object(j, path);
    only_keys(j, path, {"name", "num_qubits", "basis_gates", "coupling_map"});
    DeviceInfo d;
    if (j.contains("name")) d.name = string(j["name"], member(path, "name"), "the device name");
    d.num_qubits = static_cast<int>(integer(required(j, path, "num_qubits", "the device's number of qubits"),
                                            member(path, "num_qubits"), 1, kMaxQubitIndex + 1));
    if (j.contains("basis_gates")) {
      const std::string bp = member(path, "basis_gates");
      const json& b = array(j["basis_gates"], bp, "a list of gate names");
      for (std::size_t i = 0; i < b.size(); ++i) d.basis_gates.push_back(gate_name(b[i], element(bp, i)));
    }
    if (j.contains("coupling_map")) {
      const std::string cp = member(path, "coupling_map");
      const json& c = array(j["coupling_map"], cp, "a list of qubit pairs");
      for (std::size_t i = 0; i < c.size(); ++i) {
        const std::string ep = element(cp, i);
        if (!c[i].is_array() || c[i].size() != 2) fail(ep, "expected a pair of qubits [a, b]");
        const int a = index(c[i][0], element(ep, 0)), b = index(c[i][1], element(ep, 1));
        for (int e : {0, 1}) {
          const int q = e == 0 ? a : b;
          if (q >= d.num_qubits) fail(element(ep, e), "qubit " + std::to_string(q) + " is not on the device (" +
                                                          member(path, "num_qubits") + " is " + std::to_string(d.num_qubits) + ")");
        }
        if (a == b) fail(ep, "an edge joins two different qubits");
        d.coupling_map.emplace_back(a, b);
      }
    }
    return d;
  }

  void calibration(const json& j, const std::string& path, NoiseModel& model) const {
    object(j, path);
    only_keys(j, path, {"qubits", "gates"});
    std::vector<QubitCalibration> qubits;
    std::vector<GateCalibration> gates;
    const std::string qsp = member(path, "qubits");
    const json& qs = array(required(j, path, "qubits", "a list of per-qubit figures"), qsp, "a list of per-qubit figures");
    if (qs.size() > static_cast<std::size_t>(kMaxQubitIndex) + 1) {
      fail(qsp, "at most " + std::to_string(kMaxQubitIndex + 1) + " qubits (indices 0 to " +
                    std::to_string(kMaxQubitIndex) + ")");
    }
    if (model.device && qs.size() > static_cast<std::size_t>(model.device->num_qubits)) {
      fail(qsp, std::to_string(qs.size()) + " qubits, but device.num_qubits is " + std::to_string(model.device->num_qubits));
    }
    for (std::size_t i = 0; i < qs.size(); ++i) {
      const std::string qp = element(qsp, i);
      const json& q = object(qs[i], qp);
      only_keys(q, qp, {"t1", "t2", "excited_population", "p1_given_0", "p0_given_1"});
      QubitCalibration c;
      for (const char* key : {"t1", "t2"}) {
        const double v = number(required(q, qp, key, "a time > 0"), member(qp, key));
        if (!(v > 0)) fail(member(qp, key), short_number(v) + " must be > 0");
        (std::string(key) == "t1" ? c.t1 : c.t2) = v;
      }
      auto optional_probability = [&](const char* key, double& out) {
        if (!q.contains(key)) return;
        out = number(q[key], member(qp, key));
        if (!(out >= 0 && out <= 1)) fail(member(qp, key), short_number(out) + " is outside [0, 1]");
      };
      optional_probability("excited_population", c.excited_population);
      optional_probability("p1_given_0", c.p1_given_0);
      optional_probability("p0_given_1", c.p0_given_1);
      qubits.push_back(c);
    }
    if (j.contains("gates")) {
      const std::string gsp = member(path, "gates");
      const json& gs = array(j["gates"], gsp, "a list of gate figures");
      for (std::size_t i = 0; i < gs.size(); ++i) {
        const std::string gp = element(gsp, i);
        const json& g = object(gs[i], gp);
        only_keys(g, gp, {"gate", "qubits", "error", "time"});
        GateCalibration c;
        c.gate = gate_name(required(g, gp, "gate", "the gate name"), member(gp, "gate"));
        c.path = member(gp, "gate");
        c.qubits = qubit_list(required(g, gp, "qubits", "the gate's qubits"), member(gp, "qubits"));
        if (c.qubits.size() > 3) fail(member(gp, "qubits"), "calibrated gates act on 1 to 3 qubits");
        for (int q : c.qubits) {
          if (q >= static_cast<int>(qubits.size())) {
            fail(member(gp, "qubits"), "qubit " + std::to_string(q) + " has no calibration entry");
          }
        }
        c.error = g.contains("error") ? number(g["error"], member(gp, "error")) : 0.0;
        c.time = g.contains("time") ? number(g["time"], member(gp, "time")) : 0.0;
        if (!(c.error >= 0 && c.error <= 1)) fail(member(gp, "error"), short_number(c.error) + " is outside [0, 1]");
        if (!(c.time >= 0)) fail(member(gp, "time"), short_number(c.time) + " must be >= 0");
        gates.push_back(c);
      }
    }
    NoiseModel cal = NoiseModel::from_calibration(qubits, gates);
    model.gate_noise.insert(model.gate_noise.end(), cal.gate_noise.begin(), cal.gate_noise.end());
    model.readout.insert(model.readout.end(), cal.readout.begin(), cal.readout.end());
    if (!model.device && !qubits.empty()) model.device = DeviceInfo{"", static_cast<int>(qubits.size()), {}, {}};
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

}  // namespace

namespace detail {

std::string read_bounded_file(const std::string& path, const std::string& what) {
  try {
    return read_text_file(path, kMaxNoiseModelBytes, what);
  } catch (const TextFileError& e) {
    throw NoiseModelError(e.what());
  }
}

}  // namespace detail

namespace {

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

NoiseModel NoiseModel::from_json(std::string_view text, const std::string& source) {
  const Parser p{{source}};
  const json j = detail::parse_json(text, source);
  if (!j.is_object()) p.fail("", "a noise model is a JSON object");
  const bool kraus_keys = j.contains("device") || j.contains("gate_noise") || j.contains("idle_noise") ||
                          j.contains("readout") || j.contains("calibration");
  if (j.contains("errors") && !kraus_keys) return from_aer_json(text, source);
  p.only_keys(j, "", {"device", "gate_noise", "idle_noise", "readout", "calibration"});
  NoiseModel model;
  if (j.contains("device")) model.device = p.device(j["device"], "device");
  // With a device block, every qubit the file names is on the device.
  auto on_device = [&](const std::vector<int>& qubits, const std::string& path) {
    for (std::size_t i = 0; i < qubits.size(); ++i) {
      if (model.device && qubits[i] >= model.device->num_qubits) {
        p.fail(JsonReader::element(path, i), "qubit " + std::to_string(qubits[i]) + " is not on the device (device.num_qubits is " +
                                                 std::to_string(model.device->num_qubits) + ")");
      }
    }
  };
  if (j.contains("gate_noise")) {
    const json& rules = p.array(j["gate_noise"], "gate_noise", "a list of rules");
    for (std::size_t i = 0; i < rules.size(); ++i) {
      const std::string path = JsonReader::element("gate_noise", i);
      const json& r = p.object(rules[i], path);
      p.only_keys(r, path, {"gates", "qubits", "gate_qubits", "channel"});
      GateNoiseRule rule;
      const std::string gp = JsonReader::member(path, "gates");
      const auto gates = r.find("gates");
      if (gates == r.end() || !gates->is_array() || gates->empty()) {
        p.fail(gp, "expected a non-empty list of gate names (or [\"*\"])");
      }
      for (std::size_t g = 0; g < gates->size(); ++g) {
        rule.gates.push_back(p.gate_name((*gates)[g], JsonReader::element(gp, g), true));
        rule.gate_paths.push_back(JsonReader::element(gp, g));
      }
      if (r.contains("qubits")) {
        rule.qubits = p.qubit_list(r["qubits"], JsonReader::member(path, "qubits"));
        on_device(rule.qubits, JsonReader::member(path, "qubits"));
      }
      if (r.contains("gate_qubits")) {
        const std::string tp = JsonReader::member(path, "gate_qubits");
        if (r.contains("qubits")) p.fail(tp, "give either qubits or gate_qubits, not both");
        const json& t = r["gate_qubits"];
        if (!t.is_array() || t.empty()) p.fail(tp, "expected a list of qubit tuples, e.g. [[0, 1]]");
        for (std::size_t k = 0; k < t.size(); ++k) {
          rule.gate_qubits.push_back(p.qubit_list(t[k], JsonReader::element(tp, k)));
          on_device(rule.gate_qubits.back(), JsonReader::element(tp, k));
        }
      }
      const std::string cp = JsonReader::member(path, "channel");
      rule.channel = p.channel(p.required(r, path, "channel", "the channel object"), cp);
      model.gate_noise.push_back(std::move(rule));
    }
  }
  if (j.contains("idle_noise")) {
    ChannelSpec idle = p.channel(j["idle_noise"], "idle_noise");
    if (idle.fixed_num_qubits() > 1) p.fail("idle_noise", "idle noise must be a 1-qubit channel");
    model.idle_noise = std::move(idle);
  }
  if (j.contains("readout")) {
    const json& readout = p.array(j["readout"], "readout", "a list of readout errors");
    for (std::size_t i = 0; i < readout.size(); ++i) {
      model.readout.push_back(p.readout(readout[i], JsonReader::element("readout", i)));
      on_device(model.readout.back().qubits, JsonReader::member(JsonReader::element("readout", i), "qubits"));
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

NoiseModel NoiseModel::from_json_file(const std::string& path) { return from_json(detail::read_bounded_file(path, "noise model file"), path); }

std::string NoiseModel::to_json() const {
  json j = json::object();
  if (device) {
    json d = json::object();
    if (!device->name.empty()) d["name"] = device->name;
    d["num_qubits"] = device->num_qubits;
    if (!device->basis_gates.empty()) d["basis_gates"] = device->basis_gates;
    if (!device->coupling_map.empty()) {
      d["coupling_map"] = json::array();
      for (const auto& [a, b] : device->coupling_map) d["coupling_map"].push_back({a, b});
    }
    j["device"] = d;
  }
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
    const std::vector<std::string> paths = g.path.empty() ? std::vector<std::string>{} : std::vector<std::string>{g.path};
    // Thermal relaxation of each of the gate's qubits, as one tensor channel on its ordered tuple.
    ChannelSpec relax{"tensor", {}, {}, {}, "", 0, {}};
    for (int q : g.qubits) {
      const QubitCalibration& c = qubits.at(static_cast<std::size_t>(q));
      relax.factors.push_back({"thermal_relaxation",
                               {{"t1", c.t1}, {"t2", std::min(c.t2, 2.0 * c.t1)}, {"time", g.time},
                                {"excited_population", c.excited_population}}, {}, {}, "", 0, {}});
    }
    // Qiskit Aer's _device_depolarizing_error: the composed channel's average infidelity is the
    // error, clipped to its maximum d / (d + 1); the process fidelity of depolarising then relaxing
    // is linear in lambda, so lambda = d (e - r) / (d F_relax - 1) with r = 1 - F_relax.
    const int d = 1 << k;
    const double f_relax = g.time > 0 ? average_fidelity(relax.build(k).superoperator(), d) : 1.0;
    if (g.error > 1.0 - f_relax) {
      const double e = std::min(g.error, d / (d + 1.0));
      const double lambda_max = static_cast<double>(d * d) / (d * d - 1.0);
      const double denominator = d * f_relax - 1.0;
      const double lambda = denominator > 0 ? std::min(d * (e - (1.0 - f_relax)) / denominator, lambda_max) : lambda_max;
      ChannelSpec dep{"depolarizing", {{"p", std::min(depolarizing_p_from_lambda(k, lambda), 1.0)}}, {}, {}, "", k, {}};
      model.gate_noise.push_back({{g.gate}, {}, dep, {g.qubits}, paths});
    }
    if (g.time > 0) model.gate_noise.push_back({{g.gate}, {}, k == 1 ? relax.factors[0] : relax, {g.qubits}, paths});
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
  out.device = device;
  return out;
}

int NoiseModel::device_qubits() const { return device ? device->num_qubits : 0; }

NoiseModel NoiseModel::fitted(const std::vector<int>& physical, std::vector<std::string>* dropped) const {
  const std::string what = "fitting the noise model to a register";
  if (physical.empty()) throw NoiseModelError(what + ": the register has no qubits");
  const int limit = device_qubits() > 0 ? device_qubits() : kMaxQubitIndex + 1;
  std::map<int, int> where;  // device qubit -> register qubit
  for (std::size_t s = 0; s < physical.size(); ++s) {
    const int q = physical[s];
    if (q < 0 || q >= limit) {
      throw NoiseModelError(what + ": register qubit " + std::to_string(s) + " is device qubit " + std::to_string(q) +
                            (device_qubits() > 0 ? ", but the device has qubits 0 to " + std::to_string(limit - 1)
                                                 : ", outside 0 to " + std::to_string(kMaxQubitIndex)));
    }
    if (!where.emplace(q, static_cast<int>(s)).second) {
      throw NoiseModelError(what + ": device qubit " + std::to_string(q) + " is listed twice");
    }
  }
  // The register qubit of device qubit q, or -1.
  auto moved = [&](int q) {
    const auto it = where.find(q);
    return it == where.end() ? -1 : it->second;
  };
  // The register qubits of `qubits` when all are in the register, else empty.
  auto all_moved = [&](const std::vector<int>& qubits) {
    std::vector<int> out;
    for (int q : qubits) {
      if (moved(q) < 0) return std::vector<int>{};
      out.push_back(moved(q));
    }
    return out;
  };
  auto some_moved = [&](const std::vector<int>& qubits) {
    std::vector<int> out;
    for (int q : qubits) {
      if (moved(q) >= 0) out.push_back(moved(q));
    }
    return out;
  };
  NoiseModel out;
  out.idle_noise = idle_noise;
  for (const GateNoiseRule& r : gate_noise) {
    GateNoiseRule f = r;
    f.qubits = some_moved(r.qubits);
    if (!r.qubits.empty() && f.qubits.empty()) continue;
    f.gate_qubits.clear();
    for (const std::vector<int>& t : r.gate_qubits) {
      std::vector<int> m = all_moved(t);
      if (!m.empty()) f.gate_qubits.push_back(std::move(m));
    }
    if (!r.gate_qubits.empty() && f.gate_qubits.empty()) continue;
    out.gate_noise.push_back(std::move(f));
  }
  for (std::size_t i = 0; i < readout.size(); ++i) {
    ReadoutSpec f = readout[i];
    if (f.all_qubits) {
      out.readout.push_back(std::move(f));
    } else if (f.matrix.empty()) {
      f.qubits = some_moved(readout[i].qubits);
      if (!f.qubits.empty()) out.readout.push_back(std::move(f));
    } else {
      f.qubits = all_moved(readout[i].qubits);
      if (!f.qubits.empty()) {
        out.readout.push_back(std::move(f));
      } else if (dropped != nullptr) {
        std::string qubits;
        for (int q : readout[i].qubits) qubits += (qubits.empty() ? "" : ", ") + std::to_string(q);
        dropped->push_back("readout[" + std::to_string(i) + "]: the correlated readout error on device qubits " + qubits +
                           " is dropped (not all of them are in the register)");
      }
    }
  }
  if (device) {
    out.device = device;
    out.device->num_qubits = static_cast<int>(physical.size());
    out.device->coupling_map.clear();
    for (const auto& [a, b] : device->coupling_map) {
      if (moved(a) >= 0 && moved(b) >= 0) out.device->coupling_map.emplace_back(moved(a), moved(b));
    }
  }
  return out;
}

namespace {

// The channel of `spec` on `arity` qubits; build errors are reported at `path`.
std::shared_ptr<const Channel> build_at(const ChannelSpec& spec, int arity, const std::string& path) {
  try {
    return std::make_shared<const Channel>(spec.build(arity));
  } catch (const NoiseModelError&) {
    throw;
  } catch (const std::invalid_argument& e) {
    throw NoiseModelError(path + ": " + e.what());
  }
}

}  // namespace

std::vector<PlacedChannel> NoiseModel::channels_after(std::string_view gate, const std::vector<int>& gate_qubits) const {
  std::vector<PlacedChannel> out;
  const int k = static_cast<int>(gate_qubits.size());
  for (std::size_t i = 0; i < gate_noise.size(); ++i) {
    const GateNoiseRule& rule = gate_noise[i];
    if (!rule.matches(gate, gate_qubits)) continue;
    const std::string path = "gate_noise[" + std::to_string(i) + "].channel";
    const int fixed = rule.channel.fixed_num_qubits();
    if (rule.channel.type == "tensor" && fixed == k) {
      // A product channel acts as its factors, each on its own qubits (they commute): k small
      // channels instead of one 2^k-dimensional superoperator, exactly the same map.
      std::size_t offset = 0;
      for (std::size_t j = 0; j < rule.channel.factors.size(); ++j) {
        const ChannelSpec& f = rule.channel.factors[j];
        const int m = f.fixed_num_qubits();
        out.push_back({build_at(f, m, path + ".channels[" + std::to_string(j) + "]"),
                       std::vector<int>(gate_qubits.begin() + static_cast<std::ptrdiff_t>(offset),
                                        gate_qubits.begin() + static_cast<std::ptrdiff_t>(offset) + m),
                       f.kernel(m)});
        offset += static_cast<std::size_t>(m);
      }
    } else if (fixed == 0 || fixed == k) {
      out.push_back({build_at(rule.channel, k, path), gate_qubits, rule.channel.kernel(k)});
    } else if (fixed == 1) {
      std::shared_ptr<const Channel> c = build_at(rule.channel, 1, path);
      for (int q : gate_qubits) out.push_back({c, {q}, rule.channel.kernel(1)});
    } else {
      throw NoiseModelError("gate_noise[" + std::to_string(i) + "]: a " + std::to_string(fixed) + "-qubit " +
                            rule.channel.type + " channel cannot follow '" + std::string(gate) + "', a " +
                            std::to_string(k) + "-qubit gate");
    }
  }
  return out;
}

std::shared_ptr<const Channel> NoiseModel::idle_channel() const {
  if (!idle_noise) return nullptr;
  return build_at(*idle_noise, 1, "idle_noise");
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
