// Parametrised circuits: gates whose angles are affine functions of trainable parameters θ and of
// data features x, explicit channels, and the initial state (|0...0> or an amplitude-encoded x).
//
// Conventions (those of kraus, README.md): qubit 0 is the least significant bit; R_P(a) =
// exp(-i a P / 2); multi-qubit gates list their least significant qubit first.
//
// A gate angle is
//     a(θ, x) = offset + Σ_t coeff_t · θ[param_t] · x[feature_t]
// where a term without a parameter (param = -1) or without a feature (feature = -1) drops that
// factor. So `RY(θ_3)`, `RY(π x_0)` (angle encoding) and `RY(θ_5 + θ_6 · π x_2)` (data re-uploading
// with a trainable weight) are all one rotation. Parameters may be shared by several gates; the
// gradient methods apply the chain rule through every angle.
//
// Only Pauli rotations exp(-i a P / 2) may carry an angle: rx, ry, rz, rxx, ryy, rzz, rzx (their
// generator P is a Pauli string, which the exact gradient methods need). Other gates are fixed.
//
// Noise: explicit channels placed in the circuit (add_channel, add_global_depolarizing,
// add_angle_dependent_channel) act where they stand; a noise::NoiseModel given to CircuitFunction
// (gradients.hpp) adds its channels after every gate and idle noise per as-soon-as-possible layer,
// exactly as engine::simulate does. No model rule matches an explicit channel.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kraus/engine/circuit.hpp"
#include "kraus/engine/gates.hpp"
#include "kraus/noise/channel.hpp"
#include "kraus/noise/matrix.hpp"

namespace kraus::optim {

// One term coeff · θ[param] · x[feature] of an angle (a negative index drops that factor).
struct AngleTerm {
  int param = -1;
  int feature = -1;
  double coeff = 1.0;
};

// An angle affine in each parameter: offset + Σ terms.
struct Angle {
  double offset = 0.0;
  std::vector<AngleTerm> terms;

  static Angle constant(double value);
  // coeff · θ[index] (+ offset)
  static Angle parameter(int index, double coeff = 1.0, double offset = 0.0);
  // coeff · x[index] (+ offset)
  static Angle feature(int index, double coeff = 1.0, double offset = 0.0);
  // Adds coeff · θ[param] · x[feature] (either index may be -1) and returns *this.
  Angle& add(int param, int feature, double coeff);

  double value(const double* theta, const double* x) const;
  // ∂a/∂θ[term.param] for one term (coeff · x[feature], or coeff).
  static double term_derivative(const AngleTerm& term, const double* x);
  bool depends_on_parameters() const;
  int max_parameter() const;  // largest parameter index used, -1 if none
  int max_feature() const;    // largest feature index used, -1 if none
};

// A channel on 1 or 2 qubits whose superoperator depends on an angle a(θ, x): θ-dependent noise
// (e.g. damping that grows with the rotation angle). `superoperator(a)` returns the 4^k x 4^k
// column-stacking superoperator (row-major noise::Matrix, S = Σ conj(K) ⊗ K) of a CPTP map;
// `derivative(a)` returns dS/da. When `derivative` is empty, dS/da is taken by a fourth-order central
// difference with step 1e-3 (error ~1e-12 · |S^(5)|).
//
// Parameter shift is NOT valid for circuits containing such a channel whose angle depends on θ (see
// GradientOptions::strict_parameter_shift); the adjoint method and finite differences are.
struct AngleDependentChannel {
  int num_qubits = 1;
  std::function<noise::Matrix(double)> superoperator;
  std::function<noise::Matrix(double)> derivative;  // optional
  std::string name = "angle_dependent_channel";
};

// Amplitude damping with γ(a) = gamma_max · sin²(a/2), 0 <= gamma_max < 1 (smooth in a; the
// derivative is analytic).
AngleDependentChannel angle_dependent_amplitude_damping(double gamma_max);

// The initial state of a circuit: |0...0>, or the amplitude encoding of the features: the vector
// x[0..F) zero-padded to 2^n and normalised (F <= 2^n; an all-zero x is an error). Amplitude
// loading is exact and noiseless.
enum class InitialState { kZero, kAmplitude };

enum class OpType {
  kGate,                // a table gate: fixed (params) or a Pauli rotation with an Angle
  kChannel,             // an explicit θ-independent channel (1 to 3 qubits)
  kAngleChannel,        // an AngleDependentChannel with an Angle
  kGlobalDepolarizing,  // ρ -> (1 - p) ρ + p Tr(ρ) I / 2^n on all qubits
  kBarrier,             // aligns its qubits in the as-soon-as-possible layering; no effect on ρ
};

struct CircuitOp {
  OpType type = OpType::kGate;
  engine::Gate gate = engine::Gate::kI;
  std::vector<int> qubits;
  std::vector<double> fixed_params;  // fixed gates
  bool has_angle = false;            // rotation gates and angle-dependent channels
  Angle angle;
  std::shared_ptr<const noise::Channel> channel;                // kChannel
  std::shared_ptr<const AngleDependentChannel> angle_channel;   // kAngleChannel
  double probability = 0.0;                                     // kGlobalDepolarizing
  int tag = -1;  // the ansatz layer that emitted the op (-1: encoding, preamble or user ops)
};

// True for the gates that may carry an Angle (Pauli rotations exp(-i a P / 2)).
bool is_pauli_rotation(engine::Gate gate);

class ParametrizedCircuit {
 public:
  explicit ParametrizedCircuit(int num_qubits);

  int num_qubits() const { return num_qubits_; }
  // max(parameter index used + 1, set_num_parameters); likewise for features (and, for the
  // amplitude initial state, the amplitude features).
  int num_parameters() const { return num_parameters_; }
  int num_features() const { return num_features_; }
  void set_num_parameters(int n);
  void set_num_features(int n);

  InitialState initial_state() const { return initial_state_; }
  // Features loaded by the amplitude initial state (0 for |0...0>).
  int amplitude_features() const { return amplitude_features_; }
  // Amplitude encoding of the first `num_features` features (1 <= num_features <= 2^n).
  void set_amplitude_initial_state(int num_features);

  // Ops added after this call carry `tag` (CircuitOp::tag).
  void set_tag(int tag) { tag_ = tag; }

  // Each adder validates its operands and throws std::invalid_argument naming the problem.
  void add_gate(engine::Gate gate, std::vector<int> qubits, std::vector<double> params = {});
  void add_rotation(engine::Gate gate, std::vector<int> qubits, Angle angle);
  void add_channel(std::vector<int> qubits, noise::Channel channel);
  void add_angle_dependent_channel(std::vector<int> qubits, AngleDependentChannel channel, Angle angle);
  void add_global_depolarizing(double p);
  void add_barrier(std::vector<int> qubits);
  // Appends every op of `other` (same number of qubits); parameter and feature counts become the
  // larger of the two. The initial state stays this circuit's.
  void append(const ParametrizedCircuit& other);

  const std::vector<CircuitOp>& operations() const { return ops_; }
  bool has_explicit_channels() const;
  bool has_parameter_dependent_channels() const;

  // The engine circuit with every angle evaluated at (θ, x), for engine::simulate. Throws
  // std::invalid_argument when the circuit has explicit channels or an amplitude initial state
  // (neither has an engine::Circuit form).
  engine::Circuit bind(const double* theta, const double* x) const;

 private:
  void note_angle(const Angle& angle);

  int num_qubits_;
  int num_parameters_ = 0;
  int num_features_ = 0;
  int tag_ = -1;
  InitialState initial_state_ = InitialState::kZero;
  int amplitude_features_ = 0;
  std::vector<CircuitOp> ops_;
};

}  // namespace kraus::optim
