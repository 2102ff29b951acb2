// Classical data into circuits: angle encoding, amplitude encoding, and PCA to k angles.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <armadillo>

#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/gates.hpp"
#include "kraus/engine/circuit.hpp"

namespace kraus::optim {

enum class EncodingKind {
  kNone,       // no data
  kAngle,      // R_axis(scale · x_q) on qubit q, for the first num_features qubits
  kAmplitude,  // the initial state is x[0..F) zero-padded to 2^n and normalised (exact, noiseless)
};

struct Encoding {
  EncodingKind kind = EncodingKind::kNone;
  // Angle encoding: the rotation (kRX or kRY; default kRY) and the scale (default π, so features
  // in [0, 1] map to angles in [0, π]).
  engine::Gate axis = engine::Gate::kRY;
  double scale = 3.14159265358979323846;
  // Features read: angle encoding needs num_features <= num_qubits; amplitude encoding
  // num_features <= 2^num_qubits.
  int num_features = 0;

  static Encoding none();
  static Encoding angle(int num_features, engine::Gate axis = engine::Gate::kRY,
                        double scale = 3.14159265358979323846);
  static Encoding amplitude(int num_features);

  bool IsValid(int num_qubits, std::string* error) const;
  // Adds the encoding to `circuit`: rotation gates with feature angles (tag -1), or the amplitude
  // initial state. Throws std::invalid_argument when !IsValid.
  void apply(engine::Circuit* circuit) const;
};

// The amplitude-encoded state vector: x zero-padded to 2^n and normalised. Throws
// std::invalid_argument for an all-zero x or more than 2^n features.
arma::cx_vec amplitude_state(const double* x, int num_features, int num_qubits);
// The same as a density matrix (engine::DensityMatrix::from_state_vector).
engine::DensityMatrix amplitude_density_matrix(const double* x, int num_features, int num_qubits);

// Principal component analysis, fitted on training rows and then applied to any row.
//
// fit() centres the rows, takes the eigenvectors of the sample covariance (divisor N - 1) with the
// k largest eigenvalues, in decreasing order, and signs each so that its entry of largest magnitude
// is positive: the same data give the same components (deterministic). transform() maps a row to
// its k projections scaled to [0, 1] by the training range of each component (values outside that
// range, from unseen rows, are clipped), ready for Encoding::angle (angles π·x in [0, π]).
class Pca {
 public:
  // rows: num_samples x num_features, row-major. Needs num_samples >= 2 and
  // 1 <= num_components <= num_features.
  static Pca fit(const double* rows, int num_samples, int num_features, int num_components);

  int num_features() const { return num_features_; }
  int num_components() const { return num_components_; }
  const std::vector<double>& mean() const { return mean_; }
  // Component j is components()[j * num_features ... (j + 1) * num_features).
  const std::vector<double>& components() const { return components_; }
  const std::vector<double>& explained_variance() const { return variance_; }

  // Raw projections (x - mean) · component_j.
  void project(const double* x, double* out) const;
  // Projections scaled to [0, 1] by the training range and clipped.
  void transform(const double* x, double* out) const;
  // transform() of every row: num_samples x num_components, row-major.
  std::vector<double> transform_rows(const double* rows, int num_samples) const;

 private:
  int num_features_ = 0, num_components_ = 0;
  std::vector<double> mean_, components_, variance_, low_, high_;
};

}  // namespace kraus::optim
