// An independent, deliberately plain noisy-circuit simulator for the tests of engine::simulate and
// of `kraus simulate`, plus the random circuits and noise models both suites feed it.
//
// Everything here is dense: each gate's matrix is embedded with Kronecker products
// (reference/dense_reference.hpp) and every channel is applied as sum_i K_i rho K_i^dagger on the
// full 2^n x 2^n matrix. The semantics are re-implemented from the documentation
// (kraus/engine/simulator.hpp, kraus/noise/noise_model.hpp), not taken from the engine:
//  * rules: gate name or "*", optional qubit list (all of the gate's qubits must be in it), file
//    order; a channel of the gate's arity acts jointly on the gate's qubits in order, a 1-qubit
//    channel on each of them;
//  * idle noise: as-soon-as-possible layering computed here; the idle channel is inserted per qubit
//    between its operations (and after its last one up to the last layer), which is equivalent to
//    "after every layer, on the idle qubits" because channels on different qubits commute;
//  * measure: non-selective (dephasing) when a later operation other than measure/barrier uses the
//    qubit, otherwise nothing; reset: the reset channel; no rule applies to measure/reset/barrier;
//  * readout: the full 2^n x 2^n confusion product.
// Kraus operators of the standard channels are written out from their formulas, except thermal
// relaxation (taken from ChannelSpec::build, which the noise tests check against its formula).
#pragma once

// The generators below (and the tests that include this file) build channel specs and rules with
// partial aggregate initialisers; the members left out take their defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <limits>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <armadillo>

#include "kraus/engine/circuit.hpp"
#include "kraus/engine/gates.hpp"
#include "kraus/noise/channel_table.hpp"
#include "kraus/noise/noise_model.hpp"
#include "reference/dense_reference.hpp"
#include "reference/noise_support.hpp"

namespace kraus::test::noisy {

inline const double kPi = std::acos(-1.0);

// ---- conversions ---------------------------------------------------------------------------------

inline noise::Matrix to_noise(const arma::cx_mat& m) {
  noise::Matrix out(static_cast<int>(m.n_rows), static_cast<int>(m.n_cols));
  for (arma::uword r = 0; r < m.n_rows; ++r)
    for (arma::uword c = 0; c < m.n_cols; ++c) out(static_cast<int>(r), static_cast<int>(c)) = m(r, c);
  return out;
}

// ---- circuits ------------------------------------------------------------------------------------

enum class RefKind { kGate, kUnitary, kMeasure, kReset, kBarrier };

struct RefOp {
  RefKind kind = RefKind::kGate;
  engine::Gate gate = engine::Gate::kI;
  std::string name;  // the name rules match: the gate's OpenQASM name or "unitary"
  std::vector<int> qubits;
  std::vector<double> params;
  arma::cx_mat u;  // the gate's (or unitary's) matrix, first listed qubit = least significant bit
};

struct RefCircuit {
  int num_qubits = 1;
  std::vector<RefOp> ops;
};

inline bool is_gate(const RefOp& op) { return op.kind == RefKind::kGate || op.kind == RefKind::kUnitary; }

// The layer of every operation (barriers get the layer they align their qubits to) and the number
// of layers that some non-barrier operation occupies.
inline std::vector<int> reference_layers(const RefCircuit& c, int* num_layers) {
  std::vector<int> first_free(static_cast<std::size_t>(c.num_qubits), 0), layer;
  int count = 0;
  for (const RefOp& op : c.ops) {
    int l = 0;
    for (int q : op.qubits) l = std::max(l, first_free[static_cast<std::size_t>(q)]);
    layer.push_back(l);
    for (int q : op.qubits) first_free[static_cast<std::size_t>(q)] = op.kind == RefKind::kBarrier ? l : l + 1;
    if (op.kind != RefKind::kBarrier) count = std::max(count, l + 1);
  }
  *num_layers = count;
  return layer;
}

// ---- channels ------------------------------------------------------------------------------------

// The arity a channel spec fixes (0: that of the gate), from the spec's data.
inline int spec_arity(const noise::ChannelSpec& s) {
  if (s.type == "depolarizing") return s.num_qubits;
  if (s.type == "pauli") return static_cast<int>(s.pauli_probabilities.begin()->first.size());
  if (s.type == "kraus") return s.kraus_operators.front().rows() == 2 ? 1 : s.kraus_operators.front().rows() == 4 ? 2 : 3;
  return 1;
}

// kron over a Pauli string whose character j acts on qubit j (the least significant first).
inline arma::cx_mat pauli_word(const std::string& word) {
  arma::cx_mat m(1, 1, arma::fill::ones);
  for (char ch : word) m = arma::kron(pauli(ch), m);
  return m;
}

// Every Pauli word on k qubits (I...I first).
inline std::vector<std::string> pauli_words(int k) {
  std::vector<std::string> words = {""};
  for (int j = 0; j < k; ++j) {
    std::vector<std::string> next;
    for (const std::string& w : words)
      for (char ch : {'I', 'X', 'Y', 'Z'}) next.push_back(w + ch);
    words = next;
  }
  return words;
}

inline double param(const noise::ChannelSpec& s, const std::string& key, double fallback = 0.0) {
  const auto it = s.params.find(key);
  return it == s.params.end() ? fallback : it->second;
}

inline arma::cx_mat mat2(Complex a, Complex b, Complex c, Complex d) {
  arma::cx_mat m(2, 2);
  m(0, 0) = a;
  m(0, 1) = b;
  m(1, 0) = c;
  m(1, 1) = d;
  return m;
}

// The Kraus operators of `s` on `k` qubits, written out from the documented formulas.
inline std::vector<arma::cx_mat> spec_kraus(const noise::ChannelSpec& s, int k) {
  const Complex i1(0.0, 1.0);
  std::vector<arma::cx_mat> ops;
  if (s.type == "depolarizing") {
    const double dk = std::pow(4.0, k);
    const double p = s.params.count("p") ? param(s, "p") : param(s, "lambda") * (dk - 1.0) / dk;
    for (const std::string& w : pauli_words(k)) {
      const bool identity = w.find_first_not_of('I') == std::string::npos;
      ops.push_back(std::sqrt(identity ? 1.0 - p : p / (dk - 1.0)) * pauli_word(w));
    }
  } else if (s.type == "amplitude_damping") {
    ops = amplitude_damping_kraus(param(s, "gamma"));
  } else if (s.type == "generalized_amplitude_damping") {
    const double g = param(s, "gamma"), e = param(s, "excited_population");
    const double a = std::sqrt(1 - e), b = std::sqrt(e);
    ops = {a * mat2(1, 0, 0, std::sqrt(1 - g)), a * mat2(0, std::sqrt(g), 0, 0), b * mat2(std::sqrt(1 - g), 0, 0, 1),
           b * mat2(0, 0, std::sqrt(g), 0)};
  } else if (s.type == "phase_damping") {
    ops = phase_damping_kraus(param(s, "lambda"));
  } else if (s.type == "bit_flip" || s.type == "phase_flip" || s.type == "bit_phase_flip") {
    const double p = param(s, "p");
    const char which = s.type == "bit_flip" ? 'X' : s.type == "phase_flip" ? 'Z' : 'Y';
    ops = {std::sqrt(1 - p) * pauli('I'), std::sqrt(p) * pauli(which)};
  } else if (s.type == "pauli") {
    double total = 0.0;
    for (const auto& [word, p] : s.pauli_probabilities) {
      ops.push_back(std::sqrt(p) * pauli_word(word));
      total += p;
    }
    ops.push_back(std::sqrt(std::max(0.0, 1.0 - total)) * pauli_word(std::string(static_cast<std::size_t>(k), 'I')));
  } else if (s.type == "reset") {
    const double p0 = param(s, "p0"), p1 = param(s, "p1");
    ops = {std::sqrt(1 - p0 - p1) * pauli('I'), std::sqrt(p0) * mat2(1, 0, 0, 0), std::sqrt(p0) * mat2(0, 1, 0, 0),
           std::sqrt(p1) * mat2(0, 0, 1, 0), std::sqrt(p1) * mat2(0, 0, 0, 1)};
  } else if (s.type == "coherent_overrotation") {
    const double t = param(s, "angle");
    const char axis = static_cast<char>(std::toupper(static_cast<unsigned char>(s.axis.at(0))));
    // exp(-i t P / 2) = cos(t/2) I - i sin(t/2) P for a Pauli P.
    ops = {std::cos(t / 2) * pauli('I') - i1 * std::sin(t / 2) * pauli(axis)};
  } else if (s.type == "kraus") {
    for (const noise::Matrix& m : s.kraus_operators) ops.push_back(to_arma(m));
  } else if (s.type == "thermal_relaxation") {
    const noise::Channel channel = s.build(1);  // kept alive: kraus() refers into it
    for (const noise::Matrix& m : channel.kraus()) ops.push_back(to_arma(m));
  } else {
    throw std::logic_error("spec_kraus: no reference for channel type " + s.type);
  }
  return ops;
}

// ---- the reference simulation --------------------------------------------------------------------

inline bool rule_matches(const noise::GateNoiseRule& rule, const RefOp& op) {
  const bool named = std::any_of(rule.gates.begin(), rule.gates.end(),
                                 [&](const std::string& g) { return g == "*" || g == op.name; });
  if (!named) return false;
  for (int q : op.qubits)
    if (!rule.qubits.empty() && std::find(rule.qubits.begin(), rule.qubits.end(), q) == rule.qubits.end()) return false;
  return true;
}

// The final density matrix of `c` from |0...0> under `model` (nullptr: noiseless).
inline arma::cx_mat reference_simulate(const RefCircuit& c, const noise::NoiseModel* model) {
  const int n = c.num_qubits;
  const arma::uword dim = arma::uword{1} << n;
  arma::cx_mat rho(dim, dim, arma::fill::zeros);
  rho(0, 0) = 1.0;

  std::optional<std::vector<arma::cx_mat>> idle;
  if (model && model->idle_noise) idle = spec_kraus(*model->idle_noise, 1);
  int num_layers = 0;
  const std::vector<int> layer = reference_layers(c, &num_layers);
  std::vector<int> next_layer(static_cast<std::size_t>(n), 0);  // first layer not yet accounted for, per qubit
  auto idle_until = [&](int q, int end) {
    for (int l = next_layer[static_cast<std::size_t>(q)]; l < end; ++l) {
      if (idle) rho = apply_kraus(rho, *idle, {q}, n);
    }
    next_layer[static_cast<std::size_t>(q)] = std::max(next_layer[static_cast<std::size_t>(q)], end);
  };

  for (std::size_t i = 0; i < c.ops.size(); ++i) {
    const RefOp& op = c.ops[i];
    if (op.kind == RefKind::kBarrier) continue;
    for (int q : op.qubits) idle_until(q, layer[i]);
    for (int q : op.qubits) next_layer[static_cast<std::size_t>(q)] = layer[i] + 1;
    switch (op.kind) {
      case RefKind::kGate:
      case RefKind::kUnitary: {
        rho = apply_unitary(rho, op.u, op.qubits, n);
        if (!model) break;
        const int k = static_cast<int>(op.qubits.size());
        for (const noise::GateNoiseRule& rule : model->gate_noise) {
          if (!rule_matches(rule, op)) continue;
          const int arity = spec_arity(rule.channel);
          if (arity == 0 || arity == k) {
            rho = apply_kraus(rho, spec_kraus(rule.channel, k), op.qubits, n);
          } else if (arity == 1) {
            const std::vector<arma::cx_mat> ks = spec_kraus(rule.channel, 1);
            for (int q : op.qubits) rho = apply_kraus(rho, ks, {q}, n);
          } else {
            throw std::logic_error("reference: a " + std::to_string(arity) + "-qubit channel after " + op.name);
          }
        }
        break;
      }
      case RefKind::kMeasure: {
        bool followed = false;
        for (std::size_t j = i + 1; j < c.ops.size(); ++j) {
          const RefOp& later = c.ops[j];
          if (later.kind == RefKind::kMeasure || later.kind == RefKind::kBarrier) continue;
          followed = followed || std::find(later.qubits.begin(), later.qubits.end(), op.qubits[0]) != later.qubits.end();
        }
        if (followed) {
          rho = apply_kraus(rho, measurement_kraus(), op.qubits, n);
        } else {
          // A final measurement reads the qubit out: no idle noise on it afterwards.
          next_layer[static_cast<std::size_t>(op.qubits[0])] = std::numeric_limits<int>::max();
        }
        break;
      }
      case RefKind::kReset: rho = apply_kraus(rho, reset_kraus(), op.qubits, n); break;
      case RefKind::kBarrier: break;
    }
  }
  for (int q = 0; q < n; ++q) idle_until(q, num_layers);
  return rho;
}

// What a noisy readout reports: p_read(r) = sum_t p(t) prod_groups C_g(t_g, r_g), with r = t on
// qubits without a readout error.
inline std::vector<double> reference_readout(const std::vector<double>& p, const std::vector<noise::ReadoutSpec>& specs,
                                             int n) {
  struct Group {
    std::vector<int> qubits;
    arma::mat c;  // C(t, r) = P(read r | true t)
  };
  std::vector<Group> groups;
  for (const noise::ReadoutSpec& s : specs) {
    if (!s.matrix.empty()) {
      const arma::uword d = arma::uword{1} << s.qubits.size();
      arma::mat c(d, d);
      for (arma::uword t = 0; t < d; ++t)
        for (arma::uword r = 0; r < d; ++r) c(t, r) = s.matrix[t * d + r];
      groups.push_back({s.qubits, c});
      continue;
    }
    std::vector<int> qs = s.qubits;
    if (s.all_qubits)
      for (int q = 0; q < n; ++q) qs.push_back(q);
    for (int q : qs) groups.push_back({{q}, arma::mat{{1 - s.p1_given_0, s.p1_given_0}, {s.p0_given_1, 1 - s.p0_given_1}}});
  }
  std::vector<bool> covered(static_cast<std::size_t>(n), false);
  for (const Group& g : groups)
    for (int q : g.qubits) covered[static_cast<std::size_t>(q)] = true;
  const std::size_t dim = p.size();
  std::vector<double> out(dim, 0.0);
  for (std::size_t t = 0; t < dim; ++t) {
    for (std::size_t r = 0; r < dim; ++r) {
      double w = 1.0;
      for (int q = 0; q < n; ++q)
        if (!covered[static_cast<std::size_t>(q)] && ((t >> q) & 1) != ((r >> q) & 1)) w = 0.0;
      for (const Group& g : groups) {
        arma::uword tg = 0, rg = 0;
        for (std::size_t j = 0; j < g.qubits.size(); ++j) {
          tg |= static_cast<arma::uword>((t >> g.qubits[j]) & 1) << j;
          rg |= static_cast<arma::uword>((r >> g.qubits[j]) & 1) << j;
        }
        w *= g.c(tg, rg);
      }
      out[r] += p[t] * w;
    }
  }
  return out;
}

// ---- random circuits -----------------------------------------------------------------------------

struct CircuitOptions {
  int num_ops = 14;
  int max_gate_qubits = 3;      // gates of the table with at most this many qubits
  int max_unitary_qubits = 2;   // 0: no kUnitary operations
  bool mid_circuit = true;      // measure, reset and barrier among the gates
  bool final_measure = true;    // measure every qubit at the end
  double three_qubit_share = 0.0;  // extra chance of a ccx or cswap (n >= 3)
};

inline std::vector<int> random_qubits(int n, int k, Rng& rng) {
  std::vector<int> all(static_cast<std::size_t>(n));
  for (int q = 0; q < n; ++q) all[static_cast<std::size_t>(q)] = q;
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(static_cast<std::size_t>(k));
  return all;
}

inline RefCircuit random_circuit(int n, Rng& rng, const CircuitOptions& opt) {
  RefCircuit c;
  c.num_qubits = n;
  std::vector<engine::GateInfo> gates;
  for (const engine::GateInfo& g : engine::gate_table())
    if (g.num_qubits <= std::min(n, opt.max_gate_qubits)) gates.push_back(g);
  std::uniform_real_distribution<double> angle(-kPi, kPi), unit(0.0, 1.0);
  for (int i = 0; i < opt.num_ops; ++i) {
    RefOp op;
    const double u = unit(rng);
    if (opt.mid_circuit && u < 0.08) {
      op.kind = RefKind::kMeasure;
      op.qubits = random_qubits(n, 1, rng);
    } else if (opt.mid_circuit && u < 0.14) {
      op.kind = RefKind::kReset;
      op.qubits = random_qubits(n, 1, rng);
    } else if (opt.mid_circuit && u < 0.20) {
      op.kind = RefKind::kBarrier;
      op.qubits = random_qubits(n, 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(n)), rng);
    } else if (n >= 3 && opt.max_gate_qubits >= 3 && u < 0.20 + opt.three_qubit_share) {
      const engine::Gate g = rng() % 2 ? engine::Gate::kCCX : engine::Gate::kCSwap;
      op.kind = RefKind::kGate;
      op.gate = g;
      op.name = std::string(engine::gate_info(g).name);
      op.qubits = random_qubits(n, 3, rng);
      op.u = engine::gate_matrix(g, {});
    } else if (opt.max_unitary_qubits > 0 && u < 0.30 + opt.three_qubit_share) {
      const int k = 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(std::min(n, opt.max_unitary_qubits)));
      op.kind = RefKind::kUnitary;
      op.name = "unitary";
      op.qubits = random_qubits(n, k, rng);
      op.u = random_unitary(arma::uword{1} << k, rng);
    } else {
      const engine::GateInfo& g = gates[rng() % gates.size()];
      op.kind = RefKind::kGate;
      op.gate = g.gate;
      op.name = std::string(g.name);
      op.qubits = random_qubits(n, g.num_qubits, rng);
      for (int p = 0; p < g.num_params; ++p) op.params.push_back(angle(rng));
      op.u = engine::gate_matrix(g.gate, op.params);
    }
    c.ops.push_back(std::move(op));
  }
  if (opt.final_measure) {
    for (int q = 0; q < n; ++q) {
      RefOp m;
      m.kind = RefKind::kMeasure;
      m.qubits = {q};
      c.ops.push_back(m);
    }
  }
  return c;
}

inline engine::Circuit to_circuit(const RefCircuit& c) {
  engine::Circuit out(c.num_qubits, c.num_qubits);
  for (const RefOp& op : c.ops) {
    switch (op.kind) {
      case RefKind::kGate: out.add_gate(op.gate, op.qubits, op.params); break;
      case RefKind::kUnitary: out.add_unitary(op.qubits, op.u); break;
      case RefKind::kMeasure: out.add_measure(op.qubits[0], op.qubits[0]); break;
      case RefKind::kReset: out.add_reset(op.qubits[0]); break;
      case RefKind::kBarrier: out.add_barrier(op.qubits); break;
    }
  }
  return out;
}

// OpenQASM 2 text of a circuit of gates, measure, reset and barrier (no kUnitary).
inline std::string to_qasm(const RefCircuit& c) {
  auto list = [](const std::vector<int>& qs) {
    std::string s;
    for (std::size_t j = 0; j < qs.size(); ++j) s += (j ? "," : "") + std::string("q[") + std::to_string(qs[j]) + "]";
    return s;
  };
  std::string text = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[" + std::to_string(c.num_qubits) + "];\ncreg c[" +
                     std::to_string(c.num_qubits) + "];\n";
  for (const RefOp& op : c.ops) {
    switch (op.kind) {
      case RefKind::kGate: {
        text += op.name;
        if (!op.params.empty()) {
          text += "(";
          for (std::size_t j = 0; j < op.params.size(); ++j) {
            char buf[40];
            std::snprintf(buf, sizeof buf, "%.17g", op.params[j]);
            text += (j ? "," : "") + std::string(buf);
          }
          text += ")";
        }
        text += " " + list(op.qubits) + ";\n";
        break;
      }
      case RefKind::kUnitary: throw std::logic_error("to_qasm: a unitary has no OpenQASM 2 form");
      case RefKind::kMeasure:
        text += "measure q[" + std::to_string(op.qubits[0]) + "] -> c[" + std::to_string(op.qubits[0]) + "];\n";
        break;
      case RefKind::kReset: text += "reset q[" + std::to_string(op.qubits[0]) + "];\n"; break;
      case RefKind::kBarrier: text += "barrier " + list(op.qubits) + ";\n"; break;
    }
  }
  return text;
}

// ---- random noise models -------------------------------------------------------------------------

// The channel families the suites go through, one at a time.
inline const std::vector<std::string>& channel_cases() {
  static const std::vector<std::string> cases = {
      "depolarizing_1q",  "depolarizing_2q",    "depolarizing_lambda", "amplitude_damping",
      "generalized_amplitude_damping",           "phase_damping",       "bit_flip",
      "phase_flip",       "bit_phase_flip",     "pauli_1q",            "pauli_2q",
      "thermal_relaxation", "reset",            "coherent_overrotation", "kraus_1q",
      "kraus_2q",         "depolarizing_3q",    "pauli_3q"};
  return cases;
}

// The gates that channels of a fixed arity of 2 or 3 follow.
inline std::vector<std::string> two_qubit_gate_names() {
  return {"cx", "cz", "cy", "ch", "swap", "iswap", "crx", "cry", "crz", "cp", "cu3", "cu", "rxx", "ryy", "rzz", "rzx"};
}
inline std::vector<std::string> three_qubit_gate_names() { return {"ccx", "cswap"}; }

inline std::vector<noise::Matrix> random_kraus_spec(int k, Rng& rng) {
  std::vector<noise::Matrix> out;
  for (const arma::cx_mat& m : random_kraus_operators(arma::uword{1} << k, 3, rng)) out.push_back(to_noise(m));
  return out;
}

// A random channel of the family `name` (see channel_cases); its arity is that of the name's
// suffix (1 without one), and depolarizing_lambda leaves it to the gate.
inline noise::ChannelSpec random_spec(const std::string& name, Rng& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  noise::ChannelSpec s;
  if (name == "depolarizing_1q") {
    s = {"depolarizing", {{"p", 0.3 * u(rng)}}, {}, {}, "", 1};
  } else if (name == "depolarizing_2q") {
    s = {"depolarizing", {{"p", 0.3 * u(rng)}}, {}, {}, "", 2};
  } else if (name == "depolarizing_lambda") {
    s = {"depolarizing", {{"lambda", 0.3 * u(rng)}}, {}, {}, "", 0};
  } else if (name == "amplitude_damping") {
    s = {"amplitude_damping", {{"gamma", 0.3 * u(rng)}}, {}, {}, "", 0};
  } else if (name == "generalized_amplitude_damping") {
    s = {"generalized_amplitude_damping", {{"gamma", 0.3 * u(rng)}, {"excited_population", 0.4 * u(rng)}}, {}, {}, "", 0};
  } else if (name == "phase_damping") {
    s = {"phase_damping", {{"lambda", 0.3 * u(rng)}}, {}, {}, "", 0};
  } else if (name == "bit_flip" || name == "phase_flip" || name == "bit_phase_flip") {
    s = {name, {{"p", 0.3 * u(rng)}}, {}, {}, "", 0};
  } else if (name == "depolarizing_3q") {
    s = {"depolarizing", {{"p", 0.3 * u(rng)}}, {}, {}, "", 3};
  } else if (name == "pauli_3q") {
    s = {"pauli", {}, {{"XIZ", 0.1 * u(rng)}, {"IYI", 0.1 * u(rng)}, {"ZZX", 0.1 * u(rng)}, {"IIX", 0.05 * u(rng)}}, {}, "", 0};
  } else if (name == "pauli_1q") {
    s = {"pauli", {}, {{"X", 0.1 * u(rng)}, {"Y", 0.1 * u(rng)}, {"Z", 0.1 * u(rng)}}, {}, "", 0};
  } else if (name == "pauli_2q") {
    // Non-symmetric words: character j acts on the gate's j-th qubit.
    s = {"pauli", {}, {{"XI", 0.1 * u(rng)}, {"IZ", 0.1 * u(rng)}, {"XY", 0.1 * u(rng)}, {"ZX", 0.05 * u(rng)}}, {}, "", 0};
  } else if (name == "thermal_relaxation") {
    const double t1 = 50.0 + 50.0 * u(rng);
    s = {"thermal_relaxation",
         {{"t1", t1}, {"t2", t1 * (0.2 + 1.8 * u(rng))}, {"time", 2.0 + 20.0 * u(rng)}, {"excited_population", 0.3 * u(rng)}},
         {}, {}, "", 0};
  } else if (name == "reset") {
    s = {"reset", {{"p0", 0.2 * u(rng)}, {"p1", 0.1 * u(rng)}}, {}, {}, "", 0};
  } else if (name == "coherent_overrotation") {
    s = {"coherent_overrotation", {{"angle", 0.5 * (u(rng) - 0.5)}}, {}, {}, std::string(1, "xyz"[rng() % 3]), 0};
  } else if (name == "kraus_1q") {
    s = {"kraus", {}, {}, random_kraus_spec(1, rng), "", 0};
  } else if (name == "kraus_2q") {
    s = {"kraus", {}, {}, random_kraus_spec(2, rng), "", 0};
  } else {
    throw std::logic_error("random_spec: unknown case " + name);
  }
  return s;
}

// The arity of a family's channels: 1, 2 or 3, or 0 when the gate sets it (depolarizing_lambda).
inline int case_arity(const std::string& name) {
  if (name == "depolarizing_lambda") return 0;
  if (name.size() > 3 && name.compare(name.size() - 3, 3, "_2q") == 0) return 2;
  if (name.size() > 3 && name.compare(name.size() - 3, 3, "_3q") == 0) return 3;
  return 1;
}

// The gates a family's channel may follow: all ("*") for 1-qubit and open arities.
inline std::vector<std::string> case_gates(const std::string& name) {
  switch (case_arity(name)) {
    case 2: return two_qubit_gate_names();
    case 3: return three_qubit_gate_names();
    default: return {"*"};
  }
}

// A model built around the channel family `name`:
//  rule 0: the channel after every gate it fits (case_gates);
//  rule 1: a random coherent over-rotation (which does not commute with most channels) after some
//          named gates, restricted to a random subset of the qubits;
//  rule 2: a second channel of the family after the gates it fits, restricted to a random subset
//          of the qubits;
//  idle noise (when `idle`): the family's channel, or amplitude damping for a multi-qubit family.
inline noise::NoiseModel random_model(const std::string& name, int n, bool idle, Rng& rng) {
  noise::NoiseModel m;
  m.gate_noise.push_back({case_gates(name), {}, random_spec(name, rng)});
  std::vector<std::string> some = {"h", "rx", "u3", "cx", "unitary", "ccx", "rzz", "x", "sx"};
  std::shuffle(some.begin(), some.end(), rng);
  some.resize(4);
  m.gate_noise.push_back({some, random_qubits(n, 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(n)), rng),
                          random_spec("coherent_overrotation", rng)});
  m.gate_noise.push_back(
      {case_gates(name), random_qubits(n, std::min(n, 2 + static_cast<int>(rng() % 2)), rng), random_spec(name, rng)});
  if (idle) m.idle_noise = case_arity(name) == 1 ? random_spec(name, rng) : random_spec("amplitude_damping", rng);
  return m;
}

}  // namespace kraus::test::noisy
