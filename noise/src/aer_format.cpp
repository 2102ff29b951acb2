// Qiskit Aer's NoiseModel.to_dict() JSON: export and import.
#include <algorithm>
#include <functional>

#include <nlohmann/json.hpp>

#include "kraus/noise/noise_model.hpp"
#include "json_matrix.hpp"

namespace kraus::noise {
namespace {

// All ordered k-tuples of distinct entries of `qubits`.
void tuples(const std::vector<int>& qubits, int k, std::vector<int>& prefix, json& out) {
  if (static_cast<int>(prefix.size()) == k) {
    out.push_back(prefix);
    return;
  }
  for (int q : qubits) {
    if (std::find(prefix.begin(), prefix.end(), q) != prefix.end()) continue;
    prefix.push_back(q);
    tuples(qubits, k, prefix, out);
    prefix.pop_back();
  }
}

struct AerReader {
  std::string source;
  [[noreturn]] void fail(const std::string& path, const std::string& msg) const {
    throw NoiseModelError(source + ": " + path + ": " + msg);
  }

  Matrix matrix(const json& j, const std::string& path) const {
    if (!j.is_array() || j.empty()) fail(path, "expected a matrix of [re, im] pairs");
    const int d = static_cast<int>(j.size());
    Matrix m(d, d);
    for (int r = 0; r < d; ++r) {
      if (!j[r].is_array() || static_cast<int>(j[r].size()) != d) fail(path, "matrix is not square");
      for (int c = 0; c < d; ++c) {
        const json& z = j[r][c];
        if (z.is_number()) {
          m(r, c) = z.get<double>();
        } else if (z.is_array() && z.size() == 2 && z[0].is_number() && z[1].is_number()) {
          m(r, c) = Complex(z[0].get<double>(), z[1].get<double>());
        } else {
          fail(path, "matrix entries must be numbers or [re, im] pairs");
        }
      }
    }
    return m;
  }

  // Embeds an operator on `targets` (bit j of its index = targets[j]) into k qubits.
  static Matrix embed(const Matrix& op, const std::vector<int>& targets, int k) {
    const int d = 1 << k, m = static_cast<int>(targets.size());
    Matrix out(d, d);
    for (int r = 0; r < d; ++r)
      for (int c = 0; c < d; ++c) {
        bool rest_equal = true;
        int a = 0, b = 0;
        int mask = 0;
        for (int j = 0; j < m; ++j) {
          a |= ((r >> targets[j]) & 1) << j;
          b |= ((c >> targets[j]) & 1) << j;
          mask |= 1 << targets[j];
        }
        rest_equal = (r & ~mask) == (c & ~mask);
        if (rest_equal) out(r, c) = op(a, b);
      }
    return out;
  }

  // Kraus operators of one instruction, embedded into k qubits.
  std::vector<Matrix> instruction(const json& ins, int k, const std::string& path) const {
    if (!ins.is_object() || !ins.contains("name") || !ins["name"].is_string()) fail(path, "expected an instruction object");
    const std::string name = ins["name"].get<std::string>();
    std::vector<int> qs;
    for (const json& q : ins.value("qubits", json::array())) qs.push_back(q.get<int>());
    const json params = ins.value("params", json::array());
    auto pauli = [&](char c) {
      switch (c) {
        case 'I': return pauli_matrix(0, 1);
        case 'X': return pauli_matrix(1, 1);
        case 'Y': return pauli_matrix(2, 1);
        case 'Z': return pauli_matrix(3, 1);
        default: fail(path, std::string("bad Pauli character '") + c + "'");
      }
    };
    std::vector<Matrix> ops;
    if (name == "pauli") {
      if (params.size() != 1 || !params[0].is_string()) fail(path, "pauli needs one label");
      const std::string label = params[0].get<std::string>();
      if (label.size() != qs.size()) fail(path, "pauli label length differs from its qubit count");
      Matrix op = Matrix::identity(1 << k);
      // Little-endian label: the rightmost character acts on the first listed qubit.
      for (std::size_t j = 0; j < qs.size(); ++j) op = embed(pauli(label[label.size() - 1 - j]), {qs[j]}, k) * op;
      ops.push_back(op);
    } else if (name == "kraus") {
      for (std::size_t i = 0; i < params.size(); ++i) ops.push_back(embed(matrix(params[i], path + ".params"), qs, k));
    } else if (name == "unitary") {
      if (params.empty()) fail(path, "unitary needs its matrix");
      ops.push_back(embed(matrix(params[0], path + ".params"), qs, k));
    } else if (name == "reset") {
      ops.push_back(embed(Matrix::rows_of({{1, 0}, {0, 0}}), qs, k));
      ops.push_back(embed(Matrix::rows_of({{0, 1}, {0, 0}}), qs, k));
    } else if (name == "id" || name == "x" || name == "y" || name == "z") {
      ops.push_back(embed(pauli(name == "id" ? 'I' : static_cast<char>(name[0] - 'a' + 'A')), qs, k));
    } else {
      fail(path, "instruction '" + name + "' is not supported (pauli, kraus, unitary, reset, id, x, y, z are)");
    }
    return ops;
  }
};

}  // namespace

std::string NoiseModel::to_aer_json(int num_qubits) const {
  if (idle_noise) throw NoiseModelError("idle noise has no Qiskit Aer form");
  json errors = json::array();
  for (std::size_t i = 0; i < gate_noise.size(); ++i) {
    const GateNoiseRule& r = gate_noise[i];
    const std::string path = "gate_noise[" + std::to_string(i) + "]";
    if (std::find(r.gates.begin(), r.gates.end(), "*") != r.gates.end()) {
      throw NoiseModelError(path + ": rules on \"*\" have no Qiskit Aer form (name the gates)");
    }
    const int k = r.channel.fixed_num_qubits();
    if (k == 0) throw NoiseModelError(path + ": give the depolarizing channel's num_qubits to export it");
    const Channel& channel = built(i, k);
    json e;
    e["type"] = "qerror";
    e["id"] = "kraus-" + std::to_string(i);
    e["operations"] = r.gates;
    if (!r.gate_qubits.empty()) {
      e["gate_qubits"] = r.gate_qubits;
    } else if (!r.qubits.empty()) {
      json t = json::array();
      std::vector<int> prefix;
      tuples(r.qubits, k, prefix, t);
      e["gate_qubits"] = t;
    }
    json ins;
    ins["name"] = "kraus";
    std::vector<int> qs(static_cast<std::size_t>(k));
    for (int j = 0; j < k; ++j) qs[static_cast<std::size_t>(j)] = j;
    ins["qubits"] = qs;
    ins["params"] = json::array();
    for (const Matrix& m : channel.kraus()) ins["params"].push_back(matrix_json(m));
    e["instructions"] = json::array({json::array({ins})});
    e["probabilities"] = {1.0};
    errors.push_back(e);
  }
  const ReadoutModel readout_errors = readout_model(num_qubits);
  for (const ReadoutError& ro : readout_errors.errors()) {
    const std::size_t d = std::size_t{1} << ro.qubits.size();
    json e;
    e["type"] = "roerror";
    e["operations"] = {"measure"};
    e["gate_qubits"] = json::array({ro.qubits});
    e["probabilities"] = json::array();
    for (std::size_t t = 0; t < d; ++t) {
      e["probabilities"].push_back(std::vector<double>(ro.confusion.begin() + static_cast<std::ptrdiff_t>(t * d),
                                                       ro.confusion.begin() + static_cast<std::ptrdiff_t>((t + 1) * d)));
    }
    errors.push_back(e);
  }
  json out;
  out["errors"] = errors;
  return out.dump(2);
}

NoiseModel NoiseModel::from_aer_json(std::string_view text, const std::string& source) {
  const AerReader reader{source};
  json j;
  try {
    j = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    throw NoiseModelError(source + ": invalid JSON (" + std::string(e.what()) + ")");
  }
  if (!j.is_object() || !j.contains("errors") || !j["errors"].is_array()) reader.fail("errors", "expected a list of errors");
  NoiseModel model;
  for (std::size_t i = 0; i < j["errors"].size(); ++i) {
    const std::string path = "errors[" + std::to_string(i) + "]";
    const json& e = j["errors"][i];
    if (!e.is_object() || !e.contains("type")) reader.fail(path, "expected an error object with a type");
    const std::string type = e["type"].get<std::string>();
    std::vector<std::vector<int>> gate_qubits;
    for (const json& t : e.value("gate_qubits", json::array())) gate_qubits.push_back(t.get<std::vector<int>>());
    if (type == "roerror") {
      const json& p = e["probabilities"];
      const std::size_t d = p.size();
      std::vector<double> m;
      for (const json& row : p) {
        for (const json& v : row) m.push_back(v.get<double>());
      }
      if (d == 2) {
        ReadoutSpec r{gate_qubits.empty(), {}, m.at(1), m.at(2), {}};
        if (gate_qubits.empty()) {
          model.readout.push_back(r);
        } else {
          for (const auto& t : gate_qubits) {
            r.qubits = t;
            model.readout.push_back(r);
          }
        }
      } else {
        if (gate_qubits.empty()) reader.fail(path, "a correlated readout error needs gate_qubits");
        for (const auto& t : gate_qubits) model.readout.push_back({false, t, 0, 0, m});
      }
      continue;
    }
    if (type != "qerror") reader.fail(path + ".type", "'" + type + "' is not supported (qerror and roerror are)");
    const json& circuits = e["instructions"];
    const json& probs = e["probabilities"];
    if (!circuits.is_array() || !probs.is_array() || circuits.size() != probs.size() || circuits.empty()) {
      reader.fail(path, "instructions and probabilities must be lists of one length");
    }
    int k = 1;
    for (const json& c : circuits)
      for (const json& ins : c)
        for (const json& q : ins.value("qubits", json::array())) k = std::max(k, q.get<int>() + 1);
    if (k > 2) reader.fail(path, "errors on more than 2 qubits are not supported");
    const int dd = 1 << (2 * k);
    Matrix total(dd, dd);
    for (std::size_t c = 0; c < circuits.size(); ++c) {
      Matrix s = Matrix::identity(dd);
      for (std::size_t n = 0; n < circuits[c].size(); ++n) {
        const std::vector<Matrix> ops =
            reader.instruction(circuits[c][n], k, path + ".instructions[" + std::to_string(c) + "][" + std::to_string(n) + "]");
        Matrix step(dd, dd);
        for (const Matrix& op : ops) step += kron(op.conj(), op);
        s = step * s;
      }
      total += Complex(probs[c].get<double>(), 0) * s;
    }
    ChannelSpec spec;
    spec.type = "kraus";
    try {
      spec.kraus_operators = Channel::from_superoperator(total, 1e-8).kraus();
    } catch (const std::invalid_argument& ex) {
      reader.fail(path, ex.what());
    }
    const std::vector<std::string> ops = e["operations"].get<std::vector<std::string>>();
    // Aer's gate_qubits are ordered tuples: the rule keeps them as such.
    model.gate_noise.push_back({ops, {}, spec, gate_qubits});
  }
  return model;
}

}  // namespace kraus::noise
