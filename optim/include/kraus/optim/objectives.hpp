// Objectives: scalar losses with gradients (for ceres::GradientProblem, Adam, the adaptive
// controller) and, where natural, a least-squares form with residuals and their Jacobian (for
// Levenberg-Marquardt).
//
//  * EnergyObjective: E(θ) = Tr(H ρ(θ)) for a Pauli sum H (VQE).
//  * RegressionObjective: residuals r_k = <O>(θ, x_k) - y_k; loss ½ Σ r_k².
//  * ClassifierObjective: the "dressed" quantum circuit (Mari et al. 2020): readouts e_i = <Z_{q_i}>
//    -> logits z = W e + b -> softmax cross-entropy, trained jointly (gradients for θ, W and b);
//    the binary variant has one logit z = w·e + b with the logistic loss; mini-batches.
//
// ZNE: every objective can be evaluated mitigated (ZneSettings): the circuit runs under
// model.scaled(s_j) for each scale factor s_j (noise strength scaled, Mitiq's "scale-noise" method)
// and the values are combined by a linear extrapolator (linear, richardson, poly:K of
// kraus::mitigation): E_0 = Σ_j γ_j E(s_j), so ∇E_0 = Σ_j γ_j ∇E(s_j) and gradients of any loss of
// the mitigated values follow by the chain rule. Exponential extrapolators are not linear in the
// E(s_j) and are refused here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kraus/engine/circuit.hpp"
#include "kraus/engine/observables.hpp"
#include "kraus/mitigation/extrapolation.hpp"
#include "kraus/mitigation/zne.hpp"
#include "kraus/noise/noise_model.hpp"
#include "kraus/optim/datasets.hpp"
#include "kraus/optim/gradients.hpp"

namespace kraus::optim {

// A loss over a parameter vector.
class Objective {
 public:
  virtual ~Objective() = default;
  virtual int num_parameters() const = 0;
  // The loss at params; fills gradient[0..num_parameters) when non-null. Throws on bad input.
  virtual double evaluate(const double* params, double* gradient) const = 0;
  // Least-squares form (for least_squares in solver.hpp): num_residuals() > 0 when available;
  // residuals() fills r[0..num_residuals) and, when non-null, the Jacobian ∂r_k/∂params_p
  // (row-major num_residuals x num_parameters). Default: not available (throws std::logic_error).
  virtual int num_residuals() const { return 0; }
  virtual void residuals(const double* params, double* residuals, double* jacobian) const;
  // Circuit evaluations so far (CircuitFunction::circuit_evaluations summed over every circuit).
  virtual std::int64_t circuit_evaluations() const = 0;
};

struct ZneSettings {
  // Noise scale factors s_j (>= 1, distinct, at least two). Default {1, 2, 3}.
  std::vector<double> scale_factors = {1.0, 2.0, 3.0};
  // How the noise is scaled: any mitigation::ScalingMethod. Folding methods and identity insertion
  // differentiate the scaled circuits (parametrised rotations fold into rotations with negated
  // angles); scale-noise multiplies every channel strength of the model. Default kScaleNoise.
  mitigation::ScalingMethod method = mitigation::ScalingMethod::kScaleNoise;
  int layer = 0;           // for kFoldLayer
  std::uint64_t seed = 1;  // for kFoldRandom and kIdentity (as mitigation::ZneOptions::seed)
  // A linear extrapolator (linear, richardson or poly:K). Default richardson.
  mitigation::ExtrapolatorSpec extrapolator{};
  // Extrapolate at the realised scale factors instead of the requested ones (folding may not reach
  // them exactly), as mitigation::ZneOptions::use_realized_factors. Default false (Mitiq's choice).
  bool use_realized_factors = false;
  bool IsValid(std::string* error) const;
};

// F(θ, x) of CircuitFunction, optionally ZNE-mitigated: Σ_j γ_j F_j(θ, x) with F_j the scaled
// circuit (or the circuit under the scaled model) for factor s_j.
class MitigatedFunction {
 public:
  // Without `zne`: one CircuitFunction under `model` (γ = 1). With `zne`: `model` must be non-null,
  // scalable (NoiseModel::scaled) for scale-noise, and the circuit foldable for the folding methods
  // (mitigation::check_foldable: no explicit channels); throws std::invalid_argument otherwise.
  MitigatedFunction(const engine::Circuit& circuit, std::vector<engine::PauliSum> observables,
                    const noise::NoiseModel* model, GradientOptions gradient = {},
                    std::optional<ZneSettings> zne = std::nullopt);

  int num_parameters() const { return functions_.front().num_parameters(); }
  int num_features() const { return functions_.front().num_features(); }
  int num_outputs() const { return functions_.front().num_outputs(); }
  bool mitigated() const { return functions_.size() > 1 || zne_.has_value(); }
  const std::vector<double>& scale_factors() const { return scales_; }
  // The realised scale factors, and γ_j (a single 1 without ZNE).
  const std::vector<double>& weights() const { return gammas_; }
  const CircuitFunction& function(int j) const { return functions_[static_cast<std::size_t>(j)]; }
  int num_functions() const { return static_cast<int>(functions_.size()); }

  void evaluate_batch(const double* theta, const double* xs, int num_samples, double* values) const;
  // The cotangent sees the mitigated values of each sample; gradient = Σ_samples Σ_j γ_j w·∂F_j.
  void vjp_batch(const double* theta, const double* xs, int num_samples, const CircuitFunction::BatchCotangent& cotangent,
                 double* values, double* gradient) const;
  void jacobian_batch(const double* theta, const double* xs, int num_samples, double* values, double* jacobian) const;
  std::int64_t circuit_evaluations() const;
  CircuitTiming timing() const;  // summed over the scaled circuits

 private:
  std::vector<CircuitFunction> functions_;
  std::vector<double> scales_, gammas_;
  std::optional<ZneSettings> zne_;
};

class EnergyObjective : public Objective {
 public:
  // The circuit must use no data features.
  EnergyObjective(const engine::Circuit& circuit, engine::PauliSum hamiltonian,
                  const noise::NoiseModel* model = nullptr, GradientOptions gradient = {},
                  std::optional<ZneSettings> zne = std::nullopt);
  int num_parameters() const override { return function_.num_parameters(); }
  double evaluate(const double* params, double* gradient) const override;
  std::int64_t circuit_evaluations() const override { return function_.circuit_evaluations(); }
  const MitigatedFunction& function() const { return function_; }

 private:
  MitigatedFunction function_;
};

class RegressionObjective : public Objective {
 public:
  // xs: targets.size() rows of circuit.num_features() features (may be empty when the circuit has
  // no features: then every residual uses the same circuit).
  RegressionObjective(const engine::Circuit& circuit, engine::PauliSum observable, std::vector<double> xs,
                      std::vector<double> targets, const noise::NoiseModel* model = nullptr,
                      GradientOptions gradient = {}, std::optional<ZneSettings> zne = std::nullopt);
  int num_parameters() const override { return function_.num_parameters(); }
  // ½ Σ_k (<O>(θ, x_k) - y_k)², the cost Ceres' least squares minimises.
  double evaluate(const double* params, double* gradient) const override;
  int num_residuals() const override { return static_cast<int>(targets_.size()); }
  void residuals(const double* params, double* residuals, double* jacobian) const override;
  std::int64_t circuit_evaluations() const override { return function_.circuit_evaluations(); }

 private:
  const double* row(int k) const;
  MitigatedFunction function_;
  std::vector<double> xs_, targets_;
};

struct ClassifierOptions {
  // Binary variant: one logit z = w·e + b and the logistic loss; labels must be 0/1. Default false
  // (K logits, softmax cross-entropy, K = the data set's num_classes).
  bool binary = false;
  // Qubits whose <Z> are the readouts e. Default empty: every qubit (multi-class) or qubit 0
  // (binary).
  std::vector<int> readout_qubits;
  // Mini-batch size; 0 = full batch. Default 0. The batch changes only through set_batch /
  // next_batch, so each loss is deterministic (line searches need that).
  int batch_size = 0;
  // Seed of the per-epoch shuffles of next_batch. Default 0.
  std::uint64_t batch_seed = 0;
  // L2 penalty ½ λ ‖W‖² on the classical weights (not the biases). Default 0.
  double l2 = 0.0;
  GradientOptions gradient{};
  std::optional<ZneSettings> zne;

  bool IsValid(std::string* error) const;
};

// Parameters: [θ (circuit.num_parameters()) | W (K x R, row-major) | b (K)]; binary: K = 1.
// loss = mean over the batch of CE (+ ½ λ ‖W‖²). Least-squares form: Brier residuals
// (p_{k,c} - [y_k = c]) / sqrt(N_batch) for every sample k and class c (binary: one per sample).
class ClassifierObjective : public Objective {
 public:
  // The circuit's features are the data set's (circuit.num_features() <= data.num_features).
  ClassifierObjective(const engine::Circuit& circuit, Dataset data, ClassifierOptions options = {},
                      const noise::NoiseModel* model = nullptr);

  int num_parameters() const override;
  int num_quantum_parameters() const { return function_.num_parameters(); }
  const MitigatedFunction& function() const { return function_; }
  int num_classical_parameters() const;
  int num_readouts() const { return static_cast<int>(readouts_.size()); }
  int num_logits() const { return num_logits_; }

  double evaluate(const double* params, double* gradient) const override;
  int num_residuals() const override;
  void residuals(const double* params, double* residuals, double* jacobian) const override;
  std::int64_t circuit_evaluations() const override { return function_.circuit_evaluations(); }

  // The full parameter vector from θ, with W uniform in [-1, 1] (seeded) and b = 0.
  std::vector<double> initial_parameters(const std::vector<double>& theta, std::uint64_t seed) const;

  // ---- batches ----
  const std::vector<int>& batch() const { return batch_; }
  void set_batch(std::vector<int> indices);
  // The next mini-batch of a seeded per-epoch permutation (full batch when batch_size is 0).
  void next_batch();
  void use_full_batch();

  // ---- predictions (on any data set with the same features) ----
  // Class probabilities, size() x K (binary: P(label 1), size() x 1).
  std::vector<double> probabilities(const double* params, const Dataset& data) const;
  std::vector<int> predict(const double* params, const Dataset& data) const;
  double accuracy(const double* params, const Dataset& data) const;
  double loss(const double* params, const Dataset& data) const;

 private:
  void gather_batch();
  // Logits, probabilities and per-sample loss from the readouts.
  double sample_loss(const double* classical, const double* e, int label, double* probs, double* dlogits) const;

  MitigatedFunction function_;
  Dataset data_;
  ClassifierOptions options_;
  std::vector<int> readouts_;
  int num_logits_ = 0;
  std::vector<int> batch_;
  std::vector<double> batch_x_;
  std::vector<int> batch_y_;
  std::vector<int> epoch_order_;
  std::size_t epoch_pos_ = 0;
  std::uint64_t epoch_ = 0;
};

}  // namespace kraus::optim
