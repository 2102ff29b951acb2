// Qiskit Aer's NoiseModel.to_dict() JSON: export and import.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <numeric>

#include <nlohmann/json.hpp>

#include "kraus/noise/noise_model.hpp"
#include "json_matrix.hpp"
#include "kraus/noise/text.hpp"

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

struct AerReader : detail::JsonReader {
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

  // Kraus operators of one instruction, embedded into k qubits (its qubits are < k, checked by the caller).
  std::vector<Matrix> instruction(const json& ins, const std::vector<int>& qs, int k, const std::string& path) const {
    const std::string name = string(required(ins, path, "name", "the instruction name"), member(path, "name"), "a name");
    const std::string pp = member(path, "params");
    const json no_params = json::array();
    const json& params = ins.contains("params") ? array(ins["params"], pp, "a list of parameters") : no_params;
    // An operator on all of the instruction's qubits: 2^m x 2^m.
    const int d = 1 << qs.size();
    auto pauli = [&](char c) {
      switch (c) {
        case 'I': return pauli_matrix(0, 1);
        case 'X': return pauli_matrix(1, 1);
        case 'Y': return pauli_matrix(2, 1);
        case 'Z': return pauli_matrix(3, 1);
        default: fail(element(pp, 0), "'" + printable(std::string(1, c), kMaxQuotedBytes) + "' is not a Pauli character (I, X, Y, Z)");
      }
    };
    auto one_qubit = [&] {
      if (qs.size() != 1) fail(member(path, "qubits"), "'" + name + "' acts on exactly one qubit");
    };
    std::vector<Matrix> ops;
    if (name == "pauli") {
      if (params.size() != 1) fail(pp, "pauli needs one label");
      const std::string label = string(params[0], element(pp, 0), "a Pauli label");
      if (label.size() != qs.size()) fail(element(pp, 0), "pauli label length differs from its qubit count");
      Matrix op = Matrix::identity(1 << k);
      // Little-endian label: the rightmost character acts on the first listed qubit.
      for (std::size_t j = 0; j < qs.size(); ++j) op = embed(pauli(label[label.size() - 1 - j]), {qs[j]}, k) * op;
      ops.push_back(op);
    } else if (name == "kraus") {
      if (params.empty()) fail(pp, "kraus needs its matrices");
      for (std::size_t i = 0; i < params.size(); ++i) ops.push_back(embed(complex_matrix(params[i], element(pp, i), {d}), qs, k));
    } else if (name == "unitary") {
      if (params.size() != 1) fail(pp, "unitary needs its matrix");
      ops.push_back(embed(complex_matrix(params[0], element(pp, 0), {d}), qs, k));
    } else if (name == "reset") {
      one_qubit();
      ops.push_back(embed(Matrix::rows_of({{1, 0}, {0, 0}}), qs, k));
      ops.push_back(embed(Matrix::rows_of({{0, 1}, {0, 0}}), qs, k));
    } else if (name == "id" || name == "x" || name == "y" || name == "z") {
      one_qubit();
      ops.push_back(embed(pauli(name == "id" ? 'I' : static_cast<char>(name[0] - 'a' + 'A')), qs, k));
    } else {
      fail(path, "instruction '" + printable(name, kMaxQuotedBytes) + "' is not supported (pauli, kraus, unitary, reset, id, x, y, z are)");
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
    const Channel channel = [&] {
      try {
        return r.channel.build(k);
      } catch (const std::invalid_argument& e) {
        throw NoiseModelError(path + ".channel: " + e.what());
      }
    }();
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
  const AerReader reader{{source}};
  const json j = detail::parse_json(text, source);
  if (!j.is_object() || !j.contains("errors") || !j["errors"].is_array()) reader.fail("errors", "expected a list of errors");
  const json& errors = j["errors"];
  NoiseModel model;
  for (std::size_t i = 0; i < errors.size(); ++i) {
    const std::string path = AerReader::element("errors", i);
    const json& e = reader.object(errors[i], path);
    const std::string type = reader.string(reader.required(e, path, "type", "qerror or roerror"), AerReader::member(path, "type"),
                                           "qerror or roerror");
    if (type != "qerror" && type != "roerror") {
      reader.fail(AerReader::member(path, "type"), "'" + printable(type, kMaxQuotedBytes) + "' is not supported (qerror and roerror are)");
    }
    std::vector<std::vector<int>> gate_qubits;
    if (e.contains("gate_qubits")) {
      const std::string tp = AerReader::member(path, "gate_qubits");
      const json& t = reader.array(e["gate_qubits"], tp, "a list of qubit tuples");
      for (std::size_t k = 0; k < t.size(); ++k) gate_qubits.push_back(reader.qubit_list(t[k], AerReader::element(tp, k)));
    }
    const std::string pp = AerReader::member(path, "probabilities");
    const json& probs = reader.array(reader.required(e, path, "probabilities", "a list of probabilities"), pp, "a list");
    if (type == "roerror") {
      // A d x d confusion matrix on log2(d) qubits, the same for every tuple.
      std::size_t m = 0;
      while (m < static_cast<std::size_t>(kMaxReadoutGroupQubits) && (std::size_t{1} << m) < probs.size()) ++m;
      if (probs.size() < 2 || (std::size_t{1} << m) != probs.size()) {
        reader.fail(pp, "expected 2^m rows for a readout error on m = 1 to " + std::to_string(kMaxReadoutGroupQubits) +
                            " qubits");
      }
      const std::vector<double> c = reader.probability_matrix(probs, pp, probs.size());
      try {
        std::vector<int> group(m);
        std::iota(group.begin(), group.end(), 0);
        ReadoutError{group, c}.validate();
      } catch (const std::invalid_argument& ex) {
        reader.fail(pp, ex.what());
      }
      for (const auto& t : gate_qubits) {
        if (t.size() != m) reader.fail(AerReader::member(path, "gate_qubits"), "each tuple needs " + std::to_string(m) + " qubit(s)");
      }
      if (m == 1) {
        ReadoutSpec r{gate_qubits.empty(), {}, c[1], c[2], {}};
        if (gate_qubits.empty()) model.readout.push_back(r);
        for (const auto& t : gate_qubits) {
          r.qubits = t;
          model.readout.push_back(r);
        }
      } else {
        if (gate_qubits.empty()) reader.fail(path, "a correlated readout error needs gate_qubits");
        for (const auto& t : gate_qubits) model.readout.push_back({false, t, 0, 0, c});
      }
      continue;
    }
    const std::string ip = AerReader::member(path, "instructions");
    const json& circuits = reader.array(reader.required(e, path, "instructions", "a list of instruction lists"), ip, "a list");
    if (circuits.empty() || circuits.size() != probs.size()) reader.fail(path, "instructions and probabilities must be lists of one length");
    // The instructions' qubits (each < 2), then the error's size k.
    std::vector<std::vector<std::vector<int>>> qubits(circuits.size());
    int k = 1;
    for (std::size_t c = 0; c < circuits.size(); ++c) {
      const json& circuit = reader.array(circuits[c], AerReader::element(ip, c), "a list of instructions");
      for (std::size_t n = 0; n < circuit.size(); ++n) {
        const std::string np = AerReader::element(AerReader::element(ip, c), n);
        const json& ins = reader.object(circuit[n], np);
        const std::vector<int> qs = reader.qubit_list(reader.required(ins, np, "qubits", "the instruction's qubits"),
                                                      AerReader::member(np, "qubits"));
        for (int q : qs) {
          if (q > 1) reader.fail(AerReader::member(np, "qubits"), "errors on more than 2 qubits are not supported");
          k = std::max(k, q + 1);
        }
        qubits[c].push_back(qs);
      }
    }
    const int dd = 1 << (2 * k);
    Matrix total(dd, dd);
    for (std::size_t c = 0; c < circuits.size(); ++c) {
      const double pc = reader.number(probs[c], AerReader::element(pp, c));
      if (!(pc >= 0 && pc <= 1)) reader.fail(AerReader::element(pp, c), short_number(pc) + " is outside [0, 1]");
      Matrix s = Matrix::identity(dd);
      for (std::size_t n = 0; n < circuits[c].size(); ++n) {
        const std::vector<Matrix> ops = reader.instruction(circuits[c][n], qubits[c][n], k,
                                                           AerReader::element(AerReader::element(ip, c), n));
        Matrix step(dd, dd);
        for (const Matrix& op : ops) step += kron(op.conj(), op);
        s = step * s;
      }
      total += Complex(pc, 0) * s;
    }
    ChannelSpec spec;
    spec.type = "kraus";
    try {
      spec.kraus_operators = Channel::from_superoperator(total, 1e-8).kraus();
    } catch (const std::invalid_argument& ex) {
      reader.fail(path, ex.what());
    }
    std::vector<std::string> ops, op_paths;
    const std::string op = AerReader::member(path, "operations");
    const json& names = reader.array(reader.required(e, path, "operations", "the gate names"), op, "a list of gate names");
    for (std::size_t n = 0; n < names.size(); ++n) {
      ops.push_back(reader.gate_name(names[n], AerReader::element(op, n)));
      op_paths.push_back(AerReader::element(op, n));
    }
    if (ops.empty()) reader.fail(op, "expected a non-empty list of gate names");
    // Aer's gate_qubits are ordered tuples: the rule keeps them as such.
    model.gate_noise.push_back({ops, {}, spec, gate_qubits, op_paths});
  }
  return model;
}

}  // namespace kraus::noise
