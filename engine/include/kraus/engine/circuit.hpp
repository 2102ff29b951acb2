// A quantum circuit: a list of operations on numbered qubits (and classical bits for measure),
// whose rotation angles may depend on trainable parameters and data features.
//
// Parameters: a Pauli rotation (rx, ry, rz, rxx, ryy, rzz, rzx: exp(-i a P / 2) with P a Pauli
// string, which the exact gradient methods need) may carry an Angle instead of a number,
//     a(θ, x) = offset + Σ_t coeff_t · θ[param_t] · x[feature_t]
// where a term without a parameter (param = -1) or without a feature (feature = -1) drops that
// factor. So RY(θ_3), RY(π x_0) (angle encoding) and RY(θ_5 + θ_6 · π x_2) (data re-uploading with
// a trainable weight) are all one rotation; parameters may be shared by several gates. A compiled
// program (program.hpp) evaluates the angles at each run; bind() gives the circuit at fixed (θ, x).
//
// Explicit channels (kChannel) act where they stand, in addition to any noise model; an
// angle-dependent channel's superoperator is a function of an Angle (θ-dependent noise).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <armadillo>

#include "kraus/engine/gates.hpp"
#include "kraus/noise/channel.hpp"

namespace kraus::engine {

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

  // `theta` and `x` may be null when no term reads them.
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
// difference with step 1e-3 (error ~1e-12 · |S^(5)|). Parameter shift is not valid for circuits with
// such a channel whose angle depends on θ; the adjoint method and finite differences are.
struct AngleDependentChannel {
  int num_qubits = 1;
  std::function<noise::Matrix(double)> superoperator;
  std::function<noise::Matrix(double)> derivative;  // optional
  std::string name = "angle_dependent_channel";
};

// Amplitude damping with γ(a) = gamma_max · sin²(a/2), 0 <= gamma_max < 1 (smooth in a; the
// derivative is analytic).
AngleDependentChannel angle_dependent_amplitude_damping(double gamma_max);

// True for the gates that may carry an Angle (Pauli rotations exp(-i a P / 2)).
bool is_pauli_rotation(Gate gate);

enum class OpKind {
  kGate,     // a gate of the table (gates.hpp) with its parameters, or a Pauli rotation with an Angle
  kUnitary,  // an arbitrary 1-3 qubit unitary (first listed qubit = least significant bit)
  kMeasure,  // computational-basis measurement of `qubits[0]` into classical bit `clbit`
  kReset,    // reset of `qubits[0]` to |0>
  kBarrier,  // no effect on the state; separates layers
  kChannel,  // an explicit channel (1-3 qubits), or an angle-dependent one (1-2 qubits) with an Angle
};

// Classical control, OpenQASM 2's `if (creg == value) op;`: the operation acts only when the `size`
// classical bits clbit, clbit + 1, ... (a register; bit clbit is the least significant) hold `value`
// (bits from the 64th on must be 0). size == 0: unconditional. Only trajectories run conditions
// (each trajectory samples its mid-circuit measurements and keeps its classical bits,
// docs/trajectories.md); every other executor refuses them.
struct Condition {
  int clbit = -1;
  int size = 0;
  std::uint64_t value = 0;

  bool active() const { return size > 0; }
};

struct Operation {
  OpKind kind = OpKind::kGate;
  Gate gate = Gate::kI;
  std::vector<int> qubits;
  std::vector<double> params;  // kGate: the fixed parameters; empty for a parametrised rotation
  arma::cx_mat matrix;  // kUnitary only
  int clbit = -1;       // kMeasure only
  bool has_angle = false;  // a parametrised rotation or an angle-dependent channel
  Angle angle;             // when has_angle
  std::shared_ptr<const noise::Channel> channel;                // kChannel without an angle
  std::shared_ptr<const AngleDependentChannel> angle_channel;   // kChannel with an angle
  Condition condition;  // unconditional unless condition.active()

  // The name noise rules match: the gate's OpenQASM name, "unitary", "measure", "reset", "barrier";
  // "channel" for explicit channels (which no rule matches).
  std::string name() const;
};

// A classical register: `size` consecutive classical bits named name[0] .. name[size - 1].
struct ClassicalRegister {
  std::string name;
  int size = 0;
};

class Circuit {
 public:
  // A circuit with num_clbits > 0 has one classical register "c" of that size.
  explicit Circuit(int num_qubits, int num_clbits = 0);

  int num_qubits() const { return num_qubits_; }
  int num_clbits() const { return num_clbits_; }
  const std::vector<Operation>& operations() const { return ops_; }
  // Classical registers in declaration order; classical bits are numbered consecutively across
  // them (the first register's bit 0 is classical bit 0). OpenQASM circuits carry their cregs.
  const std::vector<ClassicalRegister>& classical_registers() const { return registers_; }
  // Replaces the registers; each needs a non-empty name and size >= 1, and the sizes must sum to
  // num_clbits() (std::invalid_argument otherwise).
  void set_classical_registers(std::vector<ClassicalRegister> registers);
  // Room for `count` operations (Operation is large and copied when the list grows).
  void reserve(std::size_t count) { ops_.reserve(count); }

  // Each adder validates its operands (qubit range, distinct qubits, arity, parameter count,
  // unitarity) and throws std::invalid_argument with a clear message.
  void add_gate(Gate gate, std::vector<int> qubits, std::vector<double> params = {});
  // A Pauli rotation (is_pauli_rotation) whose angle depends on parameters and features.
  void add_rotation(Gate gate, std::vector<int> qubits, Angle angle);
  void add_unitary(std::vector<int> qubits, arma::cx_mat u);
  void add_measure(int qubit, int clbit);
  void add_reset(int qubit);
  void add_barrier(std::vector<int> qubits);
  void add_channel(std::vector<int> qubits, noise::Channel channel);
  void add_angle_dependent_channel(std::vector<int> qubits, AngleDependentChannel channel, Angle angle);
  // Puts the last operation under `condition` (classical control). Throws std::invalid_argument for
  // no operation, a barrier, bits outside the circuit's, size < 1 or value >= 2^size.
  void condition_last(const Condition& condition);
  // Any operation, validated as by the adder of its kind (and condition_last for its condition).
  void add(const Operation& op);
  // Appends every operation of `other` (same number of qubits and classical bits); parameter and
  // feature counts become the larger of the two. The initial state stays this circuit's.
  void append(const Circuit& other);

  // ---- parameters and features ----
  // max(largest parameter index used + 1, set_num_parameters); likewise for features (and the
  // amplitude initial state's features).
  int num_parameters() const { return num_parameters_; }
  int num_features() const { return num_features_; }
  void set_num_parameters(int n);
  void set_num_features(int n);
  // Names of the parameters θ[0], θ[1], ... (an OpenQASM file's `input` symbols); empty for circuits
  // built in code. set_parameter_names needs distinct non-empty names and raises num_parameters() to
  // their number.
  const std::vector<std::string>& parameter_names() const { return parameter_names_; }
  void set_parameter_names(std::vector<std::string> names);
  // True when an angle depends on parameters or features, or the initial state on features.
  bool is_parametrized() const;
  bool has_channels() const;  // kChannel operations
  bool has_conditions() const;  // operations under classical control
  bool has_parameter_dependent_channels() const;
  // The initial state: |0...0> (amplitude_features() == 0) or the amplitude encoding of the first
  // `num_features` features: x[0..F) zero-padded to 2^n and normalised (1 <= F <= 2^n; an all-zero
  // x is an error when the program runs). Amplitude loading is exact and noiseless.
  void set_amplitude_initial_state(int num_features);
  int amplitude_features() const { return amplitude_features_; }
  // The circuit with every angle evaluated at (θ, x): rotations become fixed gates, angle-dependent
  // channels fixed channels. `theta`/`x` may be null when nothing reads them. Throws
  // std::invalid_argument for an amplitude initial state (no gate form).
  Circuit bind(const double* theta, const double* x) const;

 private:
  void note_angle(const Angle& angle);

  int num_qubits_;
  int num_clbits_;
  int num_parameters_ = 0;
  int num_features_ = 0;
  int amplitude_features_ = 0;
  std::vector<std::string> parameter_names_;
  std::vector<ClassicalRegister> registers_;
  std::vector<Operation> ops_;
};

// The exact inverse of a gate, unitary or barrier (a parametrised rotation negates its Angle) (global phases included, so op followed by
// inverse(op) is the identity matrix): self-inverse gates (id x y z h cx cy cz ch swap ecr ccx cswap)
// are returned unchanged; s <-> sdg, t <-> tdg, sx <-> sxdg; rx ry rz p crx cry crz cp rxx ryy rzz
// rzx negate their angle; u2(phi, lambda) -> u3(-pi/2, -lambda, -phi); u3(theta, phi, lambda) ->
// u3(-theta, -lambda, -phi), cu3 likewise; cu(theta, phi, lambda, gamma) -> cu(-theta, -lambda,
// -phi, -gamma); iswap and kUnitary -> a kUnitary with the adjoint matrix (so noise rules on "iswap"
// do not match the inverse, which is named "unitary"); a barrier is its own inverse. Measure and
// reset, and channels, have no inverse, nor has a conditional operation: std::invalid_argument.
Operation inverse(const Operation& op);

// The inverse circuit: the inverses of the operations in reverse order (same registers, classical
// registers included). Throws
// std::invalid_argument for a circuit with a measurement, reset or condition.
Circuit inverse(const Circuit& circuit);

}  // namespace kraus::engine
