#include "kraus/engine/simulator.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "kraus/noise/channel.hpp"
#include "kraus/noise/kernels.hpp"

namespace kraus::engine {
namespace {

bool is_gate(const Operation& op) { return op.kind == OpKind::kGate || op.kind == OpKind::kUnitary; }

// For each operation: does a later operation (other than a barrier or measure) use one of its qubits?
std::vector<bool> followed_by_operation(const Circuit& circuit) {
  const auto& ops = circuit.operations();
  std::vector<bool> used_later(static_cast<std::size_t>(circuit.num_qubits()), false);
  std::vector<bool> out(ops.size(), false);
  for (std::size_t i = ops.size(); i-- > 0;) {
    const Operation& op = ops[i];
    for (int q : op.qubits) out[i] = out[i] || used_later[static_cast<std::size_t>(q)];
    if (op.kind != OpKind::kBarrier && op.kind != OpKind::kMeasure) {
      for (int q : op.qubits) used_later[static_cast<std::size_t>(q)] = true;
    }
  }
  return out;
}

void apply_operation(const Operation& op, bool followed, DensityMatrix& rho) {
  switch (op.kind) {
    case OpKind::kGate: rho.apply(op.gate, op.qubits, op.params); break;
    case OpKind::kUnitary: rho.apply_unitary(op.qubits, op.matrix); break;
    case OpKind::kMeasure:
      if (followed) rho.measure(op.qubits[0]);
      break;
    case OpKind::kReset: rho.reset(op.qubits[0]); break;
    case OpKind::kBarrier: break;
  }
}

}  // namespace

std::vector<int> asap_layers(const Circuit& circuit, int* num_layers) {
  const auto& ops = circuit.operations();
  std::vector<int> next_free(static_cast<std::size_t>(circuit.num_qubits()), 0);
  std::vector<int> layer(ops.size(), 0);
  int layers = 0;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    int l = 0;
    for (int q : ops[i].qubits) l = std::max(l, next_free[static_cast<std::size_t>(q)]);
    layer[i] = l;
    if (ops[i].kind == OpKind::kBarrier) {
      for (int q : ops[i].qubits) next_free[static_cast<std::size_t>(q)] = l;
    } else {
      for (int q : ops[i].qubits) next_free[static_cast<std::size_t>(q)] = l + 1;
      layers = std::max(layers, l + 1);
    }
  }
  if (num_layers) *num_layers = layers;
  return layer;
}

void validate_noise(const Circuit& circuit, const noise::NoiseModel& model) {
  for (const Operation& op : circuit.operations()) {
    if (is_gate(op)) model.channels_after(op.name(), op.qubits);  // throws on an arity mismatch
  }
  model.idle_channel();
  model.readout_model(circuit.num_qubits());
}

void simulate(const Circuit& circuit, const noise::NoiseModel* model, DensityMatrix& rho) {
  if (rho.num_qubits() != circuit.num_qubits()) {
    throw std::invalid_argument("the state has " + std::to_string(rho.num_qubits()) + " qubits, the circuit " +
                                std::to_string(circuit.num_qubits()));
  }
  rho.reset_to_zero_state();
  const auto& ops = circuit.operations();
  const std::vector<bool> followed = followed_by_operation(circuit);
  const noise::Channel* idle = model ? model->idle_channel() : nullptr;

  auto run_one = [&](std::size_t i) {
    const Operation& op = ops[i];
    apply_operation(op, followed[i], rho);
    if (model && is_gate(op)) {
      for (const noise::PlacedChannel& pc : model->channels_after(op.name(), op.qubits)) {
        noise::apply_channel(rho.data(), rho.num_qubits(), pc.qubits.data(), *pc.channel);
      }
    }
  };
  if (idle == nullptr) {
    for (std::size_t i = 0; i < ops.size(); ++i) run_one(i);
    return;
  }
  // Layer by layer (a stable reordering that keeps every qubit's operations in order), then the
  // idle channel on the qubits the layer left alone.
  int num_layers = 0;
  const std::vector<int> layer = asap_layers(circuit, &num_layers);
  std::vector<std::size_t> order(ops.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return layer[a] < layer[b]; });
  // A qubit whose last operation is a measurement is read out there: no idle noise afterwards.
  std::vector<int> idle_until(static_cast<std::size_t>(circuit.num_qubits()), num_layers);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].kind == OpKind::kMeasure && !followed[i]) idle_until[static_cast<std::size_t>(ops[i].qubits[0])] = layer[i];
  }
  std::size_t next = 0;
  for (int l = 0; l < num_layers; ++l) {
    std::vector<bool> busy(static_cast<std::size_t>(circuit.num_qubits()), false);
    for (; next < order.size() && layer[order[next]] == l; ++next) {
      const Operation& op = ops[order[next]];
      if (op.kind != OpKind::kBarrier) {
        for (int q : op.qubits) busy[static_cast<std::size_t>(q)] = true;
      }
      run_one(order[next]);
    }
    for (int q = 0; q < circuit.num_qubits(); ++q) {
      if (!busy[static_cast<std::size_t>(q)] && l < idle_until[static_cast<std::size_t>(q)]) {
        noise::apply_channel(rho.data(), rho.num_qubits(), &q, *idle);
      }
    }
  }
  for (; next < order.size(); ++next) run_one(order[next]);  // barriers after the last layer
}

std::vector<double> probabilities_with_readout(const DensityMatrix& rho, const noise::NoiseModel* model) {
  std::vector<double> p = rho.probabilities();
  if (model) model->readout_model(rho.num_qubits()).apply(p, rho.num_qubits());
  return p;
}

}  // namespace kraus::engine
