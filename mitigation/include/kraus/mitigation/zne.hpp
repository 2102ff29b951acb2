// Zero-noise extrapolation of a circuit under a noise model: scale the noise at several factors,
// simulate each scaled circuit exactly (engine::simulate on one reused density matrix), extrapolate
// to zero noise. This is what `kraus simulate --zne-*` runs (docs/zne.md).
//
//   kraus::mitigation::ZneOptions options;            // scale factors 1,2,3; fold-global; richardson
//   options.extrapolator = kraus::mitigation::ExtrapolatorSpec::parse("exp");
//   std::string why;
//   if (!options.IsValid(&why)) throw std::invalid_argument(why);
//   auto result = kraus::mitigation::mitigate(circuit, &model, kraus::engine::PauliString::parse("Z0"), options);
//   std::cout << result.BriefReport() << "\n";
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kraus/engine/circuit.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/observables.hpp"
#include "kraus/mitigation/extrapolation.hpp"
#include "kraus/mitigation/noise_scaling.hpp"
#include "kraus/noise/noise_model.hpp"

namespace kraus::mitigation {

// How the noise is scaled. Strings: "fold-global", "fold-random", "fold-all", "fold-layer:L",
// "identity", "scale-noise".
enum class ScalingMethod {
  kFoldGlobal,   // fold_global
  kFoldRandom,   // fold_gates_at_random (uniform weights), seeded
  kFoldAll,      // fold_all
  kFoldLayer,    // fold_layer(ZneOptions::layer)
  kIdentity,     // insert_identity_layers, seeded
  kScaleNoise,   // the same circuit under NoiseModel::scaled(s): every channel strength times s
};

// std::invalid_argument listing the valid names for anything else. "fold-layer:L" also sets *layer.
ScalingMethod parse_scaling_method(std::string_view text, int* layer = nullptr);
std::string scaling_method_name(ScalingMethod method, int layer = 0);

// "1,2,3" -> {1, 2, 3} (spaces allowed); std::invalid_argument for an empty list, a non-number or
// a factor below 1.
std::vector<double> parse_scale_factors(std::string_view text);

struct ZneOptions {
  // Requested noise scale factors: at least two, distinct, each >= 1 and finite. Default {1, 2, 3}.
  // Unused by adaexp, which chooses its own. (With use_realized_factors, two requests may realise
  // the same factor, e.g. fold-all at 1 and 2; Richardson then refuses the repeated point.)
  std::vector<double> scale_factors = {1.0, 2.0, 3.0};
  // Default fold-global (deterministic; Mitiq's default is fold-random).
  ScalingMethod method = ScalingMethod::kFoldGlobal;
  // The layer for fold-layer. Default 0.
  int layer = 0;
  // Default richardson (Mitiq's default).
  ExtrapolatorSpec extrapolator{};
  // Seeds fold-random, identity insertion, shot sampling and the bootstrap. Default 1.
  std::uint64_t seed = 1;
  // Fit against the realised scale factors instead of the requested ones. Default false (Mitiq fits
  // the requested ones).
  bool use_realized_factors = false;
  // fold-random and identity: average the value over this many independent random scalings per
  // factor (seeds seed, seed + 1, ...; Mitiq's num_to_average). Default 1.
  int num_to_average = 1;
  // 0 (default): exact expectation values. Otherwise each term of the observable is estimated from
  // this many shots per scale factor (eigenvalue +-1 drawn from its exact distribution; no readout
  // error), and the standard error is a bootstrap over resampled counts.
  std::uint64_t shots = 0;
  // Bootstrap resamples when shots > 0. Default 1000.
  int bootstrap_samples = 1000;

  bool IsValid(std::string* error) const;
};

struct ZneResult {
  std::string observable;  // as given (PauliString::to_string or the sum's terms)
  double value = 0.0;      // the mitigated value
  // Bootstrap error when shots > 0, else the fit's (none for richardson or without degrees of freedom).
  std::optional<double> standard_error;
  std::optional<double> fit_standard_error;
  std::optional<BootstrapResult> bootstrap;
  std::vector<double> scale_factors;           // requested
  std::vector<double> realized_scale_factors;  // achieved by the scaled circuits
  std::vector<double> noisy_values;            // E at each scale factor (sampled when shots > 0)
  std::vector<double> exact_noisy_values;      // exact E at each scale factor
  std::vector<double> fit_parameters;          // ExtrapolationResult::parameters
  std::vector<double> weights;                 // linear extrapolators: value = sum weights_j noisy_values_j
  std::string extrapolator;                    // ExtrapolatorSpec::name()
  std::string method;                          // scaling_method_name()
  ExtrapolationResult fit;
  // Things the user should know, e.g. that noise rules on "s" do not apply to its inverse "sdg".
  std::vector<std::string> warnings;

  // One line, e.g. "Z0: 0.99797 (richardson, fold-global, s = 1, 3, 5 realised 1, 3, 5; noisy
  // 0.90438, 0.7397, 0.60501)".
  std::string BriefReport() const;
};

// Mitigated expectation values of several observables: every scaled circuit is simulated once into
// one density matrix (`workspace` when given, with the circuit's qubit count; else one allocated
// here) and all observables are read from it. `model` may be null (then the values are noiseless
// and scale-noise is refused). Throws std::invalid_argument for invalid options (IsValid's message)
// and for a circuit with classical control (only trajectories run it), UnfoldableCircuitError, noise::NoiseModelError / std::invalid_argument from scaling the model,
// ExtrapolationError from the fit.
std::vector<ZneResult> mitigate(const engine::Circuit& circuit, const noise::NoiseModel* model,
                                const std::vector<engine::PauliSum>& observables, const ZneOptions& options,
                                engine::DensityMatrix* workspace = nullptr);

ZneResult mitigate(const engine::Circuit& circuit, const noise::NoiseModel* model,
                   const engine::PauliString& observable, const ZneOptions& options,
                   engine::DensityMatrix* workspace = nullptr);
ZneResult mitigate(const engine::Circuit& circuit, const noise::NoiseModel* model,
                   const engine::PauliSum& observable, const ZneOptions& options,
                   engine::DensityMatrix* workspace = nullptr);

// The scaled circuit mitigate() runs for one factor (for experiments and tests). For scale-noise
// the circuit is returned unchanged with realised factor s.
ScaledCircuit scale_circuit(const engine::Circuit& circuit, double scale_factor, const ZneOptions& options,
                            std::uint64_t seed);

}  // namespace kraus::mitigation
