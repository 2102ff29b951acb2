#include "kraus/mitigation/noise_scaling.hpp"

#include <algorithm>
#include <limits>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <sstream>
#include <string>

#include "kraus/engine/simulator.hpp"

namespace kraus::mitigation {
namespace {

using engine::Circuit;
using engine::Operation;
using engine::OpKind;

bool is_gate(const Operation& op) { return op.kind == OpKind::kGate || op.kind == OpKind::kUnitary; }

std::string describe(const Operation& op, std::size_t index) {
  std::ostringstream out;
  out << "operation " << index << " (" << op.name();
  if (!op.qubits.empty()) {
    out << " on qubit" << (op.qubits.size() > 1 ? "s " : " ");
    for (std::size_t k = 0; k < op.qubits.size(); ++k) out << (k ? "," : "") << op.qubits[k];
  }
  out << ")";
  return out.str();
}

std::string fmt(double x) {
  std::ostringstream out;
  out.precision(12);
  out << x;
  return out.str();
}

// The circuit split into what folding keeps in place: leading resets, the body (gates and
// barriers), terminal measurements.
struct Split {
  std::vector<Operation> leading_resets;
  std::vector<Operation> body;
  std::vector<Operation> terminal_measurements;
  int num_gates = 0;
};

Split split(const Circuit& circuit) {
  const auto& ops = circuit.operations();
  const std::size_t n = static_cast<std::size_t>(circuit.num_qubits());
  Split out;
  // Forward: has a gate or measurement touched the qubit yet?
  std::vector<bool> touched(n, false);
  // Backward: is there a later gate or reset on the qubit?
  std::vector<bool> later_gate_or_reset(ops.size(), false);
  {
    std::vector<bool> used(n, false);
    for (std::size_t i = ops.size(); i-- > 0;) {
      bool later = false;
      for (int q : ops[i].qubits) later = later || used[static_cast<std::size_t>(q)];
      later_gate_or_reset[i] = later;
      if (is_gate(ops[i]) || ops[i].kind == OpKind::kReset) {
        for (int q : ops[i].qubits) used[static_cast<std::size_t>(q)] = true;
      }
    }
  }
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Operation& op = ops[i];
    switch (op.kind) {
      case OpKind::kMeasure:
        if (later_gate_or_reset[i]) {
          throw UnfoldableCircuitError("cannot fold the circuit: " + describe(op, i) +
                                       " is followed by a gate or reset on that qubit (mid-circuit measurement)");
        }
        out.terminal_measurements.push_back(op);
        touched[static_cast<std::size_t>(op.qubits[0])] = true;
        break;
      case OpKind::kReset:
        if (touched[static_cast<std::size_t>(op.qubits[0])]) {
          throw UnfoldableCircuitError("cannot fold the circuit: " + describe(op, i) +
                                       " comes after other operations on its qubit (a reset is not unitary)");
        }
        out.leading_resets.push_back(op);
        break;
      case OpKind::kBarrier:
        out.body.push_back(op);
        break;
      case OpKind::kChannel:
        throw UnfoldableCircuitError("cannot fold the circuit: " + describe(op, i) +
                                     " is an explicit channel, which has no inverse (use scale-noise)");
      case OpKind::kGate:
      case OpKind::kUnitary:
        out.body.push_back(op);
        ++out.num_gates;
        for (int q : op.qubits) touched[static_cast<std::size_t>(q)] = true;
        break;
    }
  }
  return out;
}

// An empty circuit with the registers, parameter and feature counts and initial state of `original`.
Circuit like(const Circuit& original) {
  Circuit out(original.num_qubits(), original.num_clbits());
  out.set_classical_registers(original.classical_registers());
  out.set_parameter_names(original.parameter_names());
  out.set_num_parameters(original.num_parameters());
  out.set_num_features(original.num_features());
  if (original.amplitude_features() > 0) out.set_amplitude_initial_state(original.amplitude_features());
  return out;
}

Circuit assemble(const Circuit& original, const Split& parts, const std::vector<Operation>& body) {
  Circuit out = like(original);
  for (const Operation& op : parts.leading_resets) out.add(op);
  for (const Operation& op : body) out.add(op);
  for (const Operation& op : parts.terminal_measurements) out.add(op);
  return out;
}

Circuit body_circuit(const Circuit& original, const std::vector<Operation>& body) {
  Circuit out = like(original);
  for (const Operation& op : body) out.add(op);
  return out;
}

void require_scale_factor(double s) {
  if (!(std::isfinite(s) && s >= 1.0)) {
    throw std::invalid_argument("noise scale factor " + fmt(s) + " must be a finite number >= 1");
  }
}

// Refuses a scaled circuit of at least `operations` operations beyond kMaxScaledOperations.
void require_scaled_size(double scale_factor, double operations, const char* method, const Split& parts) {
  if (operations > kMaxScaledOperations) {
    char count[32];
    std::snprintf(count, sizeof count, "%.0f", operations);
    throw std::invalid_argument("noise scale factor " + fmt(scale_factor) + " would give a circuit of at least " +
                                count + " operations (" + method + " on " + std::to_string(parts.num_gates) +
                                " gates); the limit is " + fmt(kMaxScaledOperations));
  }
}

Split split_with_gates(const Circuit& circuit) {
  Split parts = split(circuit);
  if (parts.num_gates == 0) throw UnfoldableCircuitError("cannot fold the circuit: it has no gates");
  return parts;
}

// numpy.isclose(a, b) with its default tolerances.
bool is_close(double a, double b) { return std::fabs(a - b) <= 1e-8 + 1e-5 * std::fabs(b); }

// Uniform integer in [0, bound) without modulo bias.
std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t bound) {
  const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % bound;
  std::uint64_t r;
  do {
    r = rng();
  } while (r >= limit);
  return r % bound;
}

// Fisher-Yates with our own uniform integers, so the order does not depend on the standard library.
template <typename T>
void shuffle(std::vector<T>& v, std::mt19937_64& rng) {
  for (std::size_t i = v.size(); i > 1; --i) {
    const std::size_t j = static_cast<std::size_t>(uniform_below(rng, i));
    std::swap(v[i - 1], v[j]);
  }
}

// Gates (not barriers) of the body grouped by ASAP layer, and the layer of each body operation.
struct Layering {
  std::vector<int> layer_of;  // per body operation
  int num_layers = 0;
};

Layering layering(const Circuit& original, const std::vector<Operation>& body) {
  Layering out;
  out.layer_of = engine::asap_layers(body_circuit(original, body), &out.num_layers);
  return out;
}

// Body operations in layer order (stable), and where each layer's group ends.
std::vector<std::size_t> layer_order(const Layering& lay) {
  std::vector<std::size_t> order(lay.layer_of.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return lay.layer_of[a] < lay.layer_of[b]; });
  return order;
}

}  // namespace

double round_half_to_even(double x) {
  const double r = std::round(x);  // half away from zero
  if (std::fabs(x - std::trunc(x)) == 0.5) return 2.0 * std::round(x / 2.0);
  return r;
}

int num_gates(const Circuit& circuit) {
  int n = 0;
  for (const Operation& op : circuit.operations()) n += is_gate(op) ? 1 : 0;
  return n;
}

void check_foldable(const Circuit& circuit) { (void)split(circuit); }

ScaledCircuit fold_global(const Circuit& circuit, double scale_factor) {
  require_scale_factor(scale_factor);
  const Split parts = split_with_gates(circuit);
  const int n = parts.num_gates;
  const double f = std::fmod(scale_factor - 1.0, 2.0);
  const double folds = std::round((scale_factor - 1.0 - f) / 2.0);
  const int k = static_cast<int>(round_half_to_even(f * n / 2.0));
  require_scaled_size(scale_factor, static_cast<double>(parts.body.size()) * (2 * folds + 1) + 2.0 * k,
                      "fold-global", parts);
  const int g = static_cast<int>(folds);

  std::vector<Operation> inverse_body;
  inverse_body.reserve(parts.body.size());
  for (std::size_t i = parts.body.size(); i-- > 0;) inverse_body.push_back(engine::inverse(parts.body[i]));

  std::vector<Operation> body = parts.body;
  body.reserve(parts.body.size() * static_cast<std::size_t>(2 * g + 1) + static_cast<std::size_t>(2 * k));
  for (int r = 0; r < g; ++r) {
    body.insert(body.end(), inverse_body.begin(), inverse_body.end());
    body.insert(body.end(), parts.body.begin(), parts.body.end());
  }
  if (k > 0) {
    // The last k gates: layers from last to first, operations within a layer from last to first.
    const Layering lay = layering(circuit, parts.body);
    std::vector<std::size_t> gates;
    for (std::size_t i = 0; i < parts.body.size(); ++i) {
      if (is_gate(parts.body[i])) gates.push_back(i);
    }
    std::stable_sort(gates.begin(), gates.end(), [&](std::size_t a, std::size_t b) {
      if (lay.layer_of[a] != lay.layer_of[b]) return lay.layer_of[a] > lay.layer_of[b];
      return a > b;
    });
    gates.resize(static_cast<std::size_t>(k));
    for (std::size_t i : gates) body.push_back(engine::inverse(parts.body[i]));
    for (std::size_t j = gates.size(); j-- > 0;) body.push_back(parts.body[gates[j]]);
  }
  ScaledCircuit out{assemble(circuit, parts, body), scale_factor, 0.0};
  out.realized_scale_factor = (static_cast<double>(n) * (2 * g + 1) + 2.0 * k) / n;
  return out;
}

ScaledCircuit fold_gates_at_random(const Circuit& circuit, double scale_factor, std::uint64_t seed,
                                   const std::vector<double>& weights) {
  require_scale_factor(scale_factor);
  const Split parts = split_with_gates(circuit);
  const std::size_t n = static_cast<std::size_t>(parts.num_gates);
  std::vector<double> w = weights;
  if (w.empty()) w.assign(n, 1.0);
  if (w.size() != n) {
    throw std::invalid_argument("fold_gates_at_random: " + std::to_string(w.size()) + " weights for " +
                                std::to_string(n) + " gates");
  }
  double w_in = 0.0;
  for (double x : w) {
    if (!(std::isfinite(x) && x >= 0)) throw std::invalid_argument("fold_gates_at_random: weights must be finite and >= 0");
    w_in += x;
  }
  if (!(w_in > 0)) throw UnfoldableCircuitError("cannot fold the circuit: every gate has weight 0");

  const double uniform_folds = std::floor((scale_factor - 1.0) / 2.0);
  std::size_t foldable = 0;
  for (double x : w) foldable += is_close(x, 0.0) ? 0 : 1;
  require_scaled_size(scale_factor, static_cast<double>(parts.body.size()) + 2.0 * uniform_folds * static_cast<double>(foldable),
                      "fold-random", parts);
  const int uniform = static_cast<int>(uniform_folds);
  std::vector<int> folds(n, 0);
  for (std::size_t j = 0; j < n; ++j) folds[j] = is_close(w[j], 0.0) ? 0 : uniform;
  if (!is_close(2.0 * uniform + 1.0, scale_factor)) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(seed);
    shuffle(order, rng);
    double w_out = (2.0 * uniform + 1.0) * w_in;
    double error = std::fabs(w_out - scale_factor * w_in);
    for (std::size_t j : order) {
      if (is_close(w[j], 0.0)) continue;
      const double next = w_out + 2.0 * w[j];
      const double next_error = std::fabs(next - scale_factor * w_in);
      if (next_error >= error) break;
      error = next_error;
      w_out = next;
      ++folds[j];
    }
  }
  std::vector<Operation> body;
  std::size_t gate = 0;
  double w_out = 0.0;
  for (const Operation& op : parts.body) {
    body.push_back(op);
    if (!is_gate(op)) continue;
    if (folds[gate] > 0) {
      const Operation inv = engine::inverse(op);
      for (int r = 0; r < folds[gate]; ++r) {
        body.push_back(inv);
        body.push_back(op);
      }
    }
    w_out += w[gate] * (2.0 * folds[gate] + 1.0);
    ++gate;
  }
  return {assemble(circuit, parts, body), scale_factor, w_out / w_in};
}

ScaledCircuit fold_all(const Circuit& circuit, double scale_factor) {
  require_scale_factor(scale_factor);
  const Split parts = split_with_gates(circuit);
  const double folds = round_half_to_even((scale_factor - 1.0) / 2.0);
  require_scaled_size(scale_factor, static_cast<double>(parts.body.size()) + 2.0 * folds * parts.num_gates, "fold-all",
                      parts);
  const int k = static_cast<int>(folds);
  std::vector<Operation> body;
  for (const Operation& op : parts.body) {
    body.push_back(op);
    if (!is_gate(op) || k == 0) continue;
    const Operation inv = engine::inverse(op);
    for (int r = 0; r < k; ++r) {
      body.push_back(inv);
      body.push_back(op);
    }
  }
  return {assemble(circuit, parts, body), scale_factor, 1.0 + 2.0 * k};
}

ScaledCircuit fold_layers(const Circuit& circuit, const std::vector<int>& folds_per_layer) {
  const Split parts = split_with_gates(circuit);
  const Layering lay = layering(circuit, parts.body);
  if (static_cast<int>(folds_per_layer.size()) != lay.num_layers) {
    throw std::invalid_argument("fold_layers: " + std::to_string(folds_per_layer.size()) +
                                " fold counts for a circuit of " + std::to_string(lay.num_layers) + " layers");
  }
  std::vector<double> gates_per_layer(static_cast<std::size_t>(lay.num_layers), 0.0);
  for (std::size_t i = 0; i < parts.body.size(); ++i) {
    if (is_gate(parts.body[i])) gates_per_layer[static_cast<std::size_t>(lay.layer_of[i])] += 1;
  }
  double size = static_cast<double>(parts.body.size());
  for (std::size_t l = 0; l < folds_per_layer.size(); ++l) {
    if (folds_per_layer[l] < 0) throw std::invalid_argument("fold_layers: fold counts must be >= 0");
    size += 2.0 * folds_per_layer[l] * gates_per_layer[l];
  }
  require_scaled_size(size / parts.num_gates, size, "layer folding", parts);
  const std::vector<std::size_t> order = layer_order(lay);
  std::vector<Operation> body;
  std::size_t added = 0;
  std::size_t next = 0;
  for (int l = 0; l < lay.num_layers; ++l) {
    std::vector<std::size_t> layer_gates;
    for (; next < order.size() && lay.layer_of[order[next]] == l; ++next) {
      body.push_back(parts.body[order[next]]);
      if (is_gate(parts.body[order[next]])) layer_gates.push_back(order[next]);
    }
    for (int r = 0; r < folds_per_layer[static_cast<std::size_t>(l)]; ++r) {
      for (std::size_t j = layer_gates.size(); j-- > 0;) body.push_back(engine::inverse(parts.body[layer_gates[j]]));
      for (std::size_t i : layer_gates) body.push_back(parts.body[i]);
      added += 2 * layer_gates.size();
    }
  }
  for (; next < order.size(); ++next) body.push_back(parts.body[order[next]]);  // trailing barriers
  const double realized = (parts.num_gates + static_cast<double>(added)) / parts.num_gates;
  return {assemble(circuit, parts, body), realized, realized};
}

ScaledCircuit fold_layer(const Circuit& circuit, int layer, double scale_factor) {
  require_scale_factor(scale_factor);
  const Split parts = split_with_gates(circuit);
  int num_layers = 0;
  (void)engine::asap_layers(body_circuit(circuit, parts.body), &num_layers);
  if (layer < 0 || layer >= num_layers) {
    throw std::invalid_argument("layer " + std::to_string(layer) + " is out of range: the circuit has " +
                                std::to_string(num_layers) + " layers (0 to " + std::to_string(num_layers - 1) + ")");
  }
  const double layer_folds = std::floor((scale_factor - 1.0) / 2.0);
  require_scaled_size(scale_factor, static_cast<double>(parts.body.size()) + 2.0 * layer_folds, "fold-layer", parts);
  std::vector<int> folds(static_cast<std::size_t>(num_layers), 0);
  folds[static_cast<std::size_t>(layer)] = static_cast<int>(layer_folds);
  ScaledCircuit out = fold_layers(circuit, folds);
  out.requested_scale_factor = scale_factor;
  return out;
}

ScaledCircuit insert_identity_layers(const Circuit& circuit, double scale_factor, std::uint64_t seed) {
  require_scale_factor(scale_factor);
  const Split parts = split_with_gates(circuit);
  const Layering lay = layering(circuit, parts.body);
  const int d = lay.num_layers;
  const double layers_per_layer = std::floor(scale_factor - 1.0);
  require_scaled_size(scale_factor,
                      static_cast<double>(parts.body.size()) + layers_per_layer * d * (circuit.num_qubits() + 1.0),
                      "identity insertion", parts);
  const int u = static_cast<int>(layers_per_layer);
  std::vector<int> extra(static_cast<std::size_t>(d), u);
  if (!is_close(u + 1.0, scale_factor)) {
    const int more = static_cast<int>(std::floor(d * (scale_factor - 1.0 - u)));
    std::vector<int> layers(static_cast<std::size_t>(d));
    std::iota(layers.begin(), layers.end(), 0);
    std::mt19937_64 rng(seed);
    shuffle(layers, rng);
    for (int i = 0; i < more && i < d; ++i) ++extra[static_cast<std::size_t>(layers[static_cast<std::size_t>(i)])];
  }
  const std::vector<std::size_t> order = layer_order(lay);
  Operation id;
  id.kind = OpKind::kGate;
  id.gate = engine::Gate::kI;
  // A barrier on every qubit before each identity layer makes it a layer of its own.
  Operation align;
  align.kind = OpKind::kBarrier;
  for (int q = 0; q < circuit.num_qubits(); ++q) align.qubits.push_back(q);
  std::vector<Operation> body;
  std::size_t next = 0;
  int total = d;
  for (int l = 0; l < d; ++l) {
    for (; next < order.size() && lay.layer_of[order[next]] == l; ++next) body.push_back(parts.body[order[next]]);
    for (int r = 0; r < extra[static_cast<std::size_t>(l)]; ++r) {
      body.push_back(align);
      for (int q = 0; q < circuit.num_qubits(); ++q) {
        id.qubits = {q};
        body.push_back(id);
      }
      ++total;
    }
  }
  for (; next < order.size(); ++next) body.push_back(parts.body[order[next]]);
  return {assemble(circuit, parts, body), scale_factor, static_cast<double>(total) / d};
}

}  // namespace kraus::mitigation
