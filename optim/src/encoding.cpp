#include "kraus/optim/encoding.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace kraus::optim {

Encoding Encoding::none() { return Encoding{}; }

Encoding Encoding::angle(int num_features, engine::Gate axis, double scale) {
  Encoding e;
  e.kind = EncodingKind::kAngle;
  e.num_features = num_features;
  e.axis = axis;
  e.scale = scale;
  return e;
}

Encoding Encoding::amplitude(int num_features) {
  Encoding e;
  e.kind = EncodingKind::kAmplitude;
  e.num_features = num_features;
  return e;
}

bool Encoding::IsValid(int num_qubits, std::string* error) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  switch (kind) {
    case EncodingKind::kNone: return true;
    case EncodingKind::kAngle:
      if (axis != engine::Gate::kRX && axis != engine::Gate::kRY) {
        return fail("angle encoding uses RX or RY");
      }
      if (num_features < 1 || num_features > num_qubits) {
        return fail("angle encoding of " + std::to_string(num_features) + " features needs 1 <= features <= " +
                    std::to_string(num_qubits) + " (one qubit per feature; reduce them with Pca)");
      }
      if (!std::isfinite(scale)) return fail("angle encoding scale must be finite");
      return true;
    case EncodingKind::kAmplitude:
      if (num_features < 1 || num_qubits > 30 || static_cast<double>(num_features) > std::ldexp(1.0, num_qubits)) {
        return fail("amplitude encoding of " + std::to_string(num_features) + " features needs 1 <= features <= 2^" +
                    std::to_string(num_qubits));
      }
      return true;
  }
  return fail("unknown encoding");
}

void Encoding::apply(engine::Circuit* circuit) const {
  std::string why;
  if (!IsValid(circuit->num_qubits(), &why)) throw std::invalid_argument(why);
  switch (kind) {
    case EncodingKind::kNone: break;
    case EncodingKind::kAngle:
      for (int q = 0; q < num_features; ++q) circuit->add_rotation(axis, {q}, engine::Angle::feature(q, scale));
      break;
    case EncodingKind::kAmplitude: circuit->set_amplitude_initial_state(num_features); break;
  }
}

arma::cx_vec amplitude_state(const double* x, int num_features, int num_qubits) {
  if (num_qubits < 1 || num_qubits > 30 || num_features < 1 ||
      static_cast<double>(num_features) > std::ldexp(1.0, num_qubits)) {
    throw std::invalid_argument("amplitude encoding of " + std::to_string(num_features) + " features on " +
                                std::to_string(num_qubits) + " qubits needs 1 <= features <= 2^n");
  }
  double norm2 = 0.0;
  for (int i = 0; i < num_features; ++i) norm2 += x[i] * x[i];
  if (!(norm2 > 0.0) || !std::isfinite(norm2)) {
    throw std::invalid_argument("amplitude encoding of an all-zero (or non-finite) feature vector");
  }
  const double inv = 1.0 / std::sqrt(norm2);
  arma::cx_vec psi(arma::uword{1} << num_qubits, arma::fill::zeros);
  for (int i = 0; i < num_features; ++i) psi(static_cast<arma::uword>(i)) = x[i] * inv;
  return psi;
}

engine::DensityMatrix amplitude_density_matrix(const double* x, int num_features, int num_qubits) {
  return engine::DensityMatrix::from_state_vector(amplitude_state(x, num_features, num_qubits));
}

Pca Pca::fit(const double* rows, int num_samples, int num_features, int num_components) {
  if (num_samples < 2) throw std::invalid_argument("PCA needs at least 2 samples");
  if (num_features < 1 || num_components < 1 || num_components > num_features) {
    throw std::invalid_argument("PCA of " + std::to_string(num_features) + " features to " +
                                std::to_string(num_components) + " components needs 1 <= k <= features");
  }
  const arma::uword N = static_cast<arma::uword>(num_samples), F = static_cast<arma::uword>(num_features);
  arma::mat X(N, F);
  for (arma::uword i = 0; i < N; ++i)
    for (arma::uword j = 0; j < F; ++j) X(i, j) = rows[i * F + j];
  const arma::rowvec mu = arma::mean(X, 0);
  X.each_row() -= mu;
  const arma::mat cov = (X.t() * X) / static_cast<double>(N - 1);
  arma::vec eigval;
  arma::mat eigvec;
  if (!arma::eig_sym(eigval, eigvec, arma::symmatu(cov))) throw std::runtime_error("PCA: eigen-decomposition failed");
  Pca p;
  p.num_features_ = num_features;
  p.num_components_ = num_components;
  p.mean_.assign(mu.begin(), mu.end());
  p.components_.resize(static_cast<std::size_t>(num_components) * F);
  p.variance_.resize(static_cast<std::size_t>(num_components));
  for (int j = 0; j < num_components; ++j) {
    const arma::uword col = F - 1 - static_cast<arma::uword>(j);  // eig_sym: ascending
    arma::vec v = eigvec.col(col);
    const arma::uword imax = arma::index_max(arma::abs(v));
    if (v(imax) < 0) v = -v;
    std::copy(v.begin(), v.end(), p.components_.begin() + static_cast<std::ptrdiff_t>(static_cast<arma::uword>(j) * F));
    p.variance_[static_cast<std::size_t>(j)] = std::max(0.0, eigval(col));
  }
  p.low_.assign(static_cast<std::size_t>(num_components), INFINITY);
  p.high_.assign(static_cast<std::size_t>(num_components), -INFINITY);
  std::vector<double> proj(static_cast<std::size_t>(num_components));
  for (int i = 0; i < num_samples; ++i) {
    p.project(rows + static_cast<std::size_t>(i) * F, proj.data());
    for (int j = 0; j < num_components; ++j) {
      p.low_[static_cast<std::size_t>(j)] = std::min(p.low_[static_cast<std::size_t>(j)], proj[static_cast<std::size_t>(j)]);
      p.high_[static_cast<std::size_t>(j)] = std::max(p.high_[static_cast<std::size_t>(j)], proj[static_cast<std::size_t>(j)]);
    }
  }
  return p;
}

void Pca::project(const double* x, double* out) const {
  const std::size_t F = static_cast<std::size_t>(num_features_);
  for (int j = 0; j < num_components_; ++j) {
    const double* v = components_.data() + static_cast<std::size_t>(j) * F;
    double s = 0.0;
    for (std::size_t f = 0; f < F; ++f) s += (x[f] - mean_[f]) * v[f];
    out[j] = s;
  }
}

void Pca::transform(const double* x, double* out) const {
  project(x, out);
  for (int j = 0; j < num_components_; ++j) {
    const std::size_t k = static_cast<std::size_t>(j);
    const double range = high_[k] - low_[k];
    const double t = range > 0 ? (out[j] - low_[k]) / range : 0.5;
    out[j] = std::clamp(t, 0.0, 1.0);
  }
}

std::vector<double> Pca::transform_rows(const double* rows, int num_samples) const {
  std::vector<double> out(static_cast<std::size_t>(num_samples) * num_components_);
  for (int i = 0; i < num_samples; ++i) {
    transform(rows + static_cast<std::size_t>(i) * num_features_, out.data() + static_cast<std::size_t>(i) * num_components_);
  }
  return out;
}

}  // namespace kraus::optim
