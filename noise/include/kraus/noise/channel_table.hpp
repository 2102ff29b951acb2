// The standard channels: one table that is the single source of truth for the noise-model parser
// (names, parameters and their ranges), the documentation (docs/noise-model.md is checked against
// it by the tests) and the tests (which loop over it).
//
// Every entry documents its formula and Kraus operators. Parameters are probabilities or rates as
// named; all Kraus operators are on the qubits the channel acts on, first qubit = least
// significant bit.
//
//  depolarizing (k qubits; p, or Qiskit's lambda):
//      rho -> (1 - p) rho + p / (4^k - 1) sum_{P != I} P rho P,  0 <= p <= 1.
//      Kraus sqrt(1 - p) I, sqrt(p / (4^k - 1)) P.  lambda form rho -> (1 - lambda) rho + lambda I / 2^k
//      is p = lambda (4^k - 1) / 4^k, 0 <= lambda <= 4^k / (4^k - 1). 1 qubit: Bloch vector x (1 - 4p/3).
//  amplitude_damping (gamma in [0, 1]): K0 = diag(1, sqrt(1 - gamma)), K1 = sqrt(gamma) |0><1|.
//  generalized_amplitude_damping (gamma, excited_population e, both in [0, 1]), Qiskit Aer's form:
//      sqrt(1-e) diag(1, sqrt(1-gamma)), sqrt(1-e) sqrt(gamma) |0><1|, sqrt(e) diag(sqrt(1-gamma), 1),
//      sqrt(e) sqrt(gamma) |1><0|; fixed point diag(1 - e, e).
//  phase_damping (lambda in [0, 1]): K0 = diag(1, sqrt(1 - lambda)), K1 = diag(0, sqrt(lambda)); the
//      same map as a phase flip with p = (1 - sqrt(1 - lambda)) / 2.
//  bit_flip, phase_flip, bit_phase_flip (p in [0, 1]): sqrt(1 - p) I, sqrt(p) X (resp. Z, Y).
//  pauli (k qubits): {"X": px, ...} or {"XZ": p, ...}, one probability per Pauli string (character j
//      acts on the j-th qubit), probabilities >= 0 summing to at most 1; the identity takes the rest.
//  thermal_relaxation (t1 > 0, t2 in (0, 2 t1], time >= 0, excited_population e in [0, 1], default 0):
//      with p_reset = 1 - exp(-time/t1) the populations relax towards diag(1 - e, e)
//      (E(|0><0|) = (1 - e p_reset) |0><0| + e p_reset |1><1|, E(|1><1|) = (1 - e) p_reset |0><0| +
//      (1 - (1 - e) p_reset) |1><1|) and coherences shrink by exp(-time/t2). Kraus operators from the
//      eigenvectors of the Choi matrix.
//  reset (p0, p1 >= 0, p0 + p1 <= 1): rho -> (1 - p0 - p1) rho + p0 Tr(rho) |0><0| + p1 Tr(rho) |1><1|.
//      Kraus sqrt(1-p0-p1) I, sqrt(p0) |0><0|, sqrt(p0) |0><1|, sqrt(p1) |1><0|, sqrt(p1) |1><1|.
//  coherent_overrotation (axis "x", "y" or "z", angle in radians): the unitary exp(-i angle P / 2).
//  kraus (k qubits): general Kraus operators, validated CPTP (sum K^dagger K = I to 1e-10).
//  tensor: independent channels side by side, `channels` = [c0, c1, ...] with c0 on the gate's first
//      qubit(s) (the least significant), each any fixed-arity spec above; at most 3 qubits in all.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "kraus/noise/channel.hpp"
#include "kraus/noise/kernel_call.hpp"

namespace kraus::noise {

// A channel as it is written in a noise model: its type, numeric parameters, and for `pauli` and
// `kraus` the probabilities or operators. num_qubits = 0 means "as many as the gate it follows"
// (only depolarizing leaves it open; pauli and kraus take it from their data).
struct ChannelSpec {
  std::string type;
  std::map<std::string, double> params;
  std::map<std::string, double> pauli_probabilities;  // pauli only
  std::vector<Matrix> kraus_operators;                // kraus only
  std::string axis;                                   // coherent_overrotation only
  int num_qubits = 0;
  std::vector<ChannelSpec> factors;                   // tensor only, first factor on the first qubits

  // Builds the channel on `num_qubits` qubits (used when the spec leaves it open). Throws
  // std::invalid_argument for parameters outside their ranges, naming the parameter.
  Channel build(int num_qubits) const;
  // The arity the spec fixes, or 0 when it takes the gate's.
  int fixed_num_qubits() const;
  // Every error strength multiplied by s >= 0: probabilities of Pauli-type channels exactly
  // (p -> s p, an error if that exceeds the range), damping by rate (gamma -> 1 - (1 - gamma)^s, so
  // that gamma = 1 - exp(-rate t) has its rate scaled), thermal relaxation's time by s, reset's
  // total probability by rate, over-rotation angles by s. A general `kraus` channel cannot be
  // scaled: std::invalid_argument.
  ChannelSpec scaled(double s) const;
  // The kernel that applies the built channel on `num_qubits` qubits: the table's `kernel` for the
  // type, except kRealBlock1q on more than one qubit (a Pauli channel on 2 or 3 qubits) and general
  // `kraus` channels of several operators, which take kSuperoperator, and a `kraus` channel of one
  // operator, which is a unitary.
  KernelKind kernel(int num_qubits) const;
};

struct ChannelParameter {
  std::string_view name;
  double min, max;        // inclusive range (per qubit count where noted in `doc`)
  bool required;
  double default_value;   // when not required
  std::string_view doc;
};

struct ChannelType {
  std::string_view name;   // the JSON "type"
  int num_qubits;          // 1, or 0 when set by the gate (depolarizing) or by the data (pauli, kraus)
  std::vector<ChannelParameter> params;
  std::string_view formula;
  std::string_view kraus;  // Kraus operators or equivalence
  KernelKind kernel;       // how the built channel is applied (kernel_call.hpp; see ChannelSpec::kernel)
};

// Every standard channel type, in documentation order.
const std::vector<ChannelType>& channel_types();
// nullptr when unknown.
const ChannelType* find_channel_type(std::string_view name);

// Direct builders (the table's entries call these).
Channel depolarizing(int num_qubits, double p);
double depolarizing_p_from_lambda(int num_qubits, double lambda);
Channel amplitude_damping(double gamma);
Channel generalized_amplitude_damping(double gamma, double excited_population);
Channel phase_damping(double lambda);
Channel bit_flip(double p);
Channel phase_flip(double p);
Channel bit_phase_flip(double p);
Channel pauli_channel(const std::map<std::string, double>& probabilities);
Channel thermal_relaxation(double t1, double t2, double time, double excited_population = 0.0);
Channel reset_channel(double p0, double p1);
Channel coherent_overrotation(char axis, double angle);

}  // namespace kraus::noise
