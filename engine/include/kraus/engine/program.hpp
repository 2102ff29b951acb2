// A compiled program: a circuit and a noise model turned, once, into the flat list of kernel calls
// that every executor runs (kraus simulate, gradients, zero-noise extrapolation, training).
//
// compile() is the one place that places noise:
//  * after every gate (kGate and kUnitary), the channels of every matching noise rule, in file order
//    (noise_model.hpp; rule names are matched as written, so a loaded model's names go through
//    resolve_gate_names first);
//  * idle noise: the circuit is layered as soon as possible (an operation goes into the layer after
//    the last one that used any of its qubits; barriers and explicit channels align their qubits
//    without occupying a layer); in every layer up to the last, the idle channel acts on each qubit
//    that no operation of that layer uses, except after the qubit's first measurement that no other
//    operation (but measure or barrier) follows: it has been read out there;
//  * a measurement followed by no other operation on its qubit does not change the state (read-outs
//    come from the final state); a mid-circuit measurement is the non-selective measurement channel.
//    Reset is the reset channel. No noise rule applies to measure, reset, barrier or explicit channels;
//  * readout errors act on probabilities and counts (probabilities_with_readout), never on ρ;
//  * classical control (Operation::condition): a conditional operation's steps, and the noise the
//    rules place after a conditional gate (it belongs to the gate), carry the condition; idle noise
//    does not (the qubits idle or not). Layering takes a conditional operation as using its qubits
//    and the bits of its condition, and a measurement as using its bit when a condition reads it,
//    so a condition comes after the measurements that write its bits. Every recorded measurement
//    (recorded_measurements, measurement.hpp) is a step with its classical bit (Step::clbit), also
//    a final one. Only trajectories run conditions: every other executor refuses a program with
//    any (require_unconditional), and fusion leaves conditional steps alone.
// Each step holds its kernel call with its matrices in the kernels' layout (kraus/noise/kernel_call.hpp)
// and the call of its adjoint map (for the adjoint gradient); a channel's kernel comes from the channel
// table (ChannelSpec::kernel), an explicit channel's from its data (noise::detect_kernel), both decided
// here once. Parametrised rotations and angle-dependent channels keep their angle (an index into
// Program::angles); their matrices are made when the program runs, from the angle's value.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kraus/engine/circuit.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/noise/kernel_call.hpp"
#include "kraus/noise/noise_model.hpp"
#include "kraus/noise/sweep.hpp"

namespace kraus::engine {

// How run() executes a program (the steps, and hence the gradients, do not depend on these).
struct CompileOptions {
  // Operator fusion: fixed steps (gates and channels, not parametrised rotations) are merged into
  // one kernel call when that is strictly cheaper by the cost model below, also past steps on other
  // qubits (they commute): unitaries into one unitary, anything with a channel into one
  // superoperator, on at most fusion_max_qubits qubits; runs of diagonal gates (CZ, phase gates) on
  // up to 3. Default true.
  bool fusion = true;
  // 1 or 2 (a fused 3-qubit superoperator costs 64 multiply-adds per element). Default 2.
  int fusion_max_qubits = 2;
  // The cost model is noise::kernel_cost (kraus/noise/kernel_call.hpp), in complex multiply-adds
  // per density-matrix element of one call (a dense 1-qubit unitary 4, or 2 when real; a 1-qubit
  // superoperator 4, or 2 when real; a grouped real 2-qubit superoperator 2 or less; depolarising
  // and real block channels 1), plus pass_cost for every call (its trip through the
  // state, or through a cache-resident tile when blocked). Merging wins when the merged call costs
  // less than the calls it replaces. Default 0, by measurement with cache blocking on
  // (docs/PERFORMANCE.md): a call's trip through a tile costs little against its arithmetic. So a
  // gate and the 1-qubit channels after it become one 1-qubit superoperator (RY and depolarising: 2
  // against 2 + 1), a CNOT with the depolarising and relaxation after it one grouped real 2-qubit
  // superoperator (2 against 0.5 + 3), while two 1-qubit gates stay apart (a 2-qubit unitary costs
  // as much as they do).
  double pass_cost = 0.0;
  // Cache blocking (kraus/noise/sweep.hpp): calls on at most block_qubits qubits between them are
  // applied tile by tile in one sweep over memory; 0 turns it off (every call one pass). At least 3.
  // Default noise::kDefaultBlockQubits.
  int block_qubits = noise::kDefaultBlockQubits;

  bool IsValid(std::string* error) const;
};

enum class StepKind {
  kFixed,         // `call` as compiled
  kRotation,      // exp(-i a P / 2) with a = angles[angle]: `call` gets its matrix when run
  kAngleChannel,  // angle_channel->superoperator(angles[angle]) as a kSuperoperator call
};

struct Step {
  StepKind kind = StepKind::kFixed;
  noise::KernelCall call;     // kFixed; for the others the qubits (and k) only
  // kRotation: the local generator P (row-major 2^k x 2^k, a Pauli string up to sign), so that
  // U(a) = cos(a/2) I - i sin(a/2) P; and P on the register as sign · X^x_mask Z^z_mask (times
  // i^|x&z|), for the gradient Im Tr(ρ O P).
  std::vector<noise::Complex> generator;
  std::uint64_t x_mask = 0, z_mask = 0;
  double sign = 1.0;
  int angle = -1;  // kRotation, kAngleChannel: index into Program::angles
  std::shared_ptr<const AngleDependentChannel> angle_channel;  // kAngleChannel
  // The channel of a kFixed channel step (noise rules, idle noise, explicit channels, mid-circuit
  // measurements and resets as their Kraus operators), null for gates: the state-vector executors
  // sample its Kraus operators (trajectories.hpp).
  std::shared_ptr<const noise::Channel> channel;
  // A measurement step: the classical bit its outcome (the index of the Kraus operator |0><0|,
  // |1><1| a trajectory picks) is written to; -1 for every other step.
  int clbit = -1;
  // Classical control: the step acts only when the condition holds (Operation::condition).
  Condition condition;
};

struct Program {
  int num_qubits = 0;
  int num_parameters = 0;
  int num_features = 0;
  int amplitude_features = 0;  // 0: start from |0...0> (Circuit::set_amplitude_initial_state)
  int num_clbits = 0;          // the circuit's classical bits (Step::clbit, Step::condition)
  std::vector<Angle> angles;
  std::vector<Step> steps;
  // What run() executes: the steps' calls with fixed runs fused (CompileOptions::fusion), in order;
  // forward_source[j] is the step whose angle gives call j its matrix at run time (a rotation or an
  // angle-dependent channel), -1 for a fixed call. forward_adjoint[j]: the adjoint map of fixed call
  // j (for the others, noise::adjoint_call of the bound call), so that the adjoint gradient runs the
  // same fused schedule backwards. sweeps: the cache-blocked plan of `forward` (empty when blocking
  // is off or the state is small).
  std::vector<noise::KernelCall> forward;
  std::vector<int> forward_source;
  std::vector<noise::KernelCall> forward_adjoint;
  std::vector<noise::Sweep> sweeps;

  // The rotation matrix of step `s` (kRotation) at angle a, row-major into u (2^k x 2^k).
  static void rotation_matrix(const Step& s, double a, noise::Complex* u);
  // Values of every angle at (θ, x) into out (angles.size()).
  void angle_values(const double* theta, const double* x, double* out) const;
  // Writes the angles' matrices into `bound`, the caller's copy of `forward` (made when its size
  // differs; then only the calls of rotations and angle-dependent channels are refilled, so a caller
  // that keeps it allocates nothing per run).
  void bind(const double* angle_values, std::vector<noise::KernelCall>& bound) const;
  // Sets rho (2^n x 2^n) to the initial state: |0...0>, or the amplitude encoding of x.
  void initial_state(const double* x, noise::Complex* rho) const;
  // Sets psi (2^n amplitudes) to the initial state: |0...0>, or x / |x| zero-padded.
  void initial_state_vector(const double* x, noise::Complex* psi) const;
  // Runs the forward schedule (fused, cache-blocked) on rho with the angles' values at hand. rho must
  // be Hermitian (a density matrix): a blocked sweep computes one tile of each mirrored pair and
  // writes the other as its conjugate transpose (noise::run_sweeps). `bound` is the caller's buffer
  // for bind.
  void run_forward(const double* angle_values, std::vector<noise::KernelCall>& bound, noise::Complex* rho) const;

  // True when a step is under classical control (only trajectories run such a program).
  bool has_conditions() const;

 private:
  double amplitude_norm2(const double* x) const;  // |x|^2 of the amplitude features, checked
};

// Throws std::invalid_argument("classical control (if) needs the trajectory method: <executor> cannot
// run it") when the program has conditions: every executor but trajectories calls it.
void require_unconditional(const Program& program, const std::string& executor);

// Compiles `circuit` under `model` (null: noiseless). The model is read here and not kept. Throws
// noise::NoiseModelError for a rule whose channel does not fit its gate or cannot be built, and
// std::invalid_argument for bad options.
Program compile(const Circuit& circuit, const noise::NoiseModel* model, const CompileOptions& options = {});

// Where the data (features) enter a program, for executors that treat many samples at once
// (optim's data mixtures, docs/optim.md). Returns k >= 0 when the first k steps hold every step
// that reads a feature and the state after them is a product or pure state whatever the features:
//  * the program starts from |0...0> and each of the k steps acts on one qubit and reads no
//    parameter (an angle encoding and the noise after it): the state after them is a product of
//    one-qubit states;
//  * or the program is amplitude-encoded and no step reads a feature (k = 0): a pure state.
// Returns -1 otherwise (a feature read after a parameter or a multi-qubit step, re-uploading).
int data_prefix(const Program& program);

// The program of program.steps[first...] (the same angles, parameters and features), scheduled
// (fused and cache-blocked) as compile() does under `options`; its initial state is the caller's.
// Throws std::invalid_argument for bad options or first past the last step.
Program program_rest(const Program& program, std::size_t first, const CompileOptions& options = {});

// Runs the program's forward schedule from its initial state on rho (which must have
// program.num_qubits qubits); refuses a program with conditions (require_unconditional). `theta`
// and `x` may be null when the program reads no parameters or features.
void run(const Program& program, const double* theta, const double* x, DensityMatrix& rho);

}  // namespace kraus::engine
