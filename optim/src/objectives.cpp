#include "kraus/optim/objectives.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include "random_detail.hpp"

namespace kraus::optim {

void Objective::residuals(const double*, double*, double*) const {
  throw std::logic_error("this objective has no least-squares form");
}

bool ZneSettings::IsValid(std::string* error) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (scale_factors.size() < 2) return fail("ZneSettings::scale_factors needs at least two factors");
  for (std::size_t i = 0; i < scale_factors.size(); ++i) {
    const double s = scale_factors[i];
    if (!std::isfinite(s) || s < 1.0) return fail("ZneSettings::scale_factors must be finite and >= 1");
    for (std::size_t j = 0; j < i; ++j)
      if (scale_factors[j] == s) return fail("ZneSettings::scale_factors must be distinct");
  }
  if (layer < 0) return fail("ZneSettings::layer must be >= 0");
  std::string why;
  if (!extrapolator.IsValid(&why)) return fail("ZneSettings::extrapolator: " + why);
  if (!extrapolator.is_linear()) {
    return fail("ZneSettings::extrapolator must be linear (linear, richardson or poly:K) for gradients through the "
                "extrapolation; got " + extrapolator.name());
  }
  return true;
}

// ---- MitigatedFunction ----------------------------------------------------------------------------

MitigatedFunction::MitigatedFunction(const engine::Circuit& circuit, std::vector<engine::PauliSum> observables,
                                     const noise::NoiseModel* model, GradientOptions gradient,
                                     std::optional<ZneSettings> zne)
    : zne_(std::move(zne)) {
  if (!zne_) {
    functions_.emplace_back(circuit, std::move(observables), model, gradient);
    scales_ = {1.0};
    gammas_ = {1.0};
    return;
  }
  std::string why;
  if (!zne_->IsValid(&why)) throw std::invalid_argument(why);
  if (model == nullptr) throw std::invalid_argument("ZNE needs a noise model to scale");
  mitigation::ZneOptions scaling;
  scaling.method = zne_->method;
  scaling.layer = zne_->layer;
  for (double s : zne_->scale_factors) {
    mitigation::ScaledCircuit scaled = mitigation::scale_circuit(circuit, s, scaling, zne_->seed);
    scales_.push_back(zne_->use_realized_factors ? scaled.realized_scale_factor : s);
    if (zne_->method == mitigation::ScalingMethod::kScaleNoise) {
      const noise::NoiseModel scaled_model = model->scaled(s);
      functions_.emplace_back(circuit, observables, &scaled_model, gradient);
    } else {
      functions_.emplace_back(scaled.circuit, observables, model, gradient);
    }
  }
  gammas_ = mitigation::extrapolation_weights(zne_->extrapolator, scales_);
}

void MitigatedFunction::evaluate_batch(const double* theta, const double* xs, int num_samples, double* values) const {
  if (functions_.size() == 1 && gammas_[0] == 1.0) {
    functions_[0].evaluate_batch(theta, xs, num_samples, values);
    return;
  }
  const std::size_t total = static_cast<std::size_t>(num_samples) * num_outputs();
  std::fill(values, values + total, 0.0);
  std::vector<double> tmp(total);
  for (std::size_t j = 0; j < functions_.size(); ++j) {
    functions_[j].evaluate_batch(theta, xs, num_samples, tmp.data());
    for (std::size_t i = 0; i < total; ++i) values[i] += gammas_[j] * tmp[i];
  }
}

void MitigatedFunction::vjp_batch(const double* theta, const double* xs, int num_samples,
                                  const CircuitFunction::BatchCotangent& cotangent, double* values,
                                  double* gradient) const {
  const int P = num_parameters(), m = num_outputs();
  if (functions_.size() == 1 && gammas_[0] == 1.0) {
    functions_[0].vjp_batch(theta, xs, num_samples, cotangent, values, gradient);
    return;
  }
  evaluate_batch(theta, xs, num_samples, values);
  std::vector<double> weights(static_cast<std::size_t>(num_samples) * m);
  for (int k = 0; k < num_samples; ++k) {
    cotangent(k, values + static_cast<std::size_t>(k) * m, weights.data() + static_cast<std::size_t>(k) * m);
  }
  std::fill(gradient, gradient + P, 0.0);
  std::vector<double> g(static_cast<std::size_t>(P)), v(static_cast<std::size_t>(num_samples) * m);
  for (std::size_t j = 0; j < functions_.size(); ++j) {
    const double gamma = gammas_[j];
    functions_[j].vjp_batch(
        theta, xs, num_samples,
        [&](int k, const double*, double* w) {
          for (int i = 0; i < m; ++i) w[i] = gamma * weights[static_cast<std::size_t>(k) * m + i];
        },
        v.data(), g.data());
    for (int p = 0; p < P; ++p) gradient[p] += g[static_cast<std::size_t>(p)];
  }
}

void MitigatedFunction::jacobian_batch(const double* theta, const double* xs, int num_samples, double* values,
                                       double* jacobian) const {
  if (functions_.size() == 1 && gammas_[0] == 1.0) {
    functions_[0].jacobian_batch(theta, xs, num_samples, values, jacobian);
    return;
  }
  const std::size_t nv = static_cast<std::size_t>(num_samples) * num_outputs();
  const std::size_t nj = nv * num_parameters();
  std::fill(values, values + nv, 0.0);
  std::fill(jacobian, jacobian + nj, 0.0);
  std::vector<double> v(nv), jac(nj);
  for (std::size_t j = 0; j < functions_.size(); ++j) {
    functions_[j].jacobian_batch(theta, xs, num_samples, v.data(), jac.data());
    for (std::size_t i = 0; i < nv; ++i) values[i] += gammas_[j] * v[i];
    for (std::size_t i = 0; i < nj; ++i) jacobian[i] += gammas_[j] * jac[i];
  }
}

std::int64_t MitigatedFunction::circuit_evaluations() const {
  std::int64_t s = 0;
  for (const CircuitFunction& f : functions_) s += f.circuit_evaluations();
  return s;
}

CircuitTiming MitigatedFunction::timing() const {
  CircuitTiming t;
  for (const CircuitFunction& f : functions_) t += f.timing();
  return t;
}

// ---- EnergyObjective ------------------------------------------------------------------------------

EnergyObjective::EnergyObjective(const engine::Circuit& circuit, engine::PauliSum hamiltonian,
                                 const noise::NoiseModel* model, GradientOptions gradient,
                                 std::optional<ZneSettings> zne)
    : function_(circuit, {std::move(hamiltonian)}, model, gradient, std::move(zne)) {
  if (circuit.num_features() != 0) {
    throw std::invalid_argument("EnergyObjective: the circuit reads " + std::to_string(circuit.num_features()) +
                                " data features; an energy has none");
  }
}

double EnergyObjective::evaluate(const double* params, double* gradient) const {
  double value = 0.0;
  if (gradient == nullptr) {
    function_.evaluate_batch(params, nullptr, 1, &value);
  } else {
    function_.vjp_batch(params, nullptr, 1, [](int, const double*, double* w) { w[0] = 1.0; }, &value, gradient);
  }
  return value;
}

// ---- RegressionObjective --------------------------------------------------------------------------

RegressionObjective::RegressionObjective(const engine::Circuit& circuit, engine::PauliSum observable,
                                         std::vector<double> xs, std::vector<double> targets,
                                         const noise::NoiseModel* model, GradientOptions gradient,
                                         std::optional<ZneSettings> zne)
    : function_(circuit, {std::move(observable)}, model, gradient, std::move(zne)),
      xs_(std::move(xs)),
      targets_(std::move(targets)) {
  if (targets_.empty()) throw std::invalid_argument("RegressionObjective: no targets");
  const std::size_t F = static_cast<std::size_t>(function_.num_features());
  if (xs_.size() != F * targets_.size()) {
    throw std::invalid_argument("RegressionObjective: " + std::to_string(xs_.size()) + " feature values for " +
                                std::to_string(targets_.size()) + " targets of " + std::to_string(F) + " features");
  }
}

const double* RegressionObjective::row(int) const { return xs_.empty() ? nullptr : xs_.data(); }

double RegressionObjective::evaluate(const double* params, double* gradient) const {
  const int N = num_residuals();
  std::vector<double> values(static_cast<std::size_t>(N));
  if (gradient == nullptr) {
    function_.evaluate_batch(params, row(0), N, values.data());
  } else {
    function_.vjp_batch(
        params, row(0), N,
        [&](int k, const double* v, double* w) { w[0] = v[0] - targets_[static_cast<std::size_t>(k)]; },
        values.data(), gradient);
  }
  double loss = 0.0;
  for (int k = 0; k < N; ++k) {
    const double r = values[static_cast<std::size_t>(k)] - targets_[static_cast<std::size_t>(k)];
    loss += 0.5 * r * r;
  }
  return loss;
}

void RegressionObjective::residuals(const double* params, double* residuals, double* jacobian) const {
  const int N = num_residuals();
  if (jacobian == nullptr) {
    function_.evaluate_batch(params, row(0), N, residuals);
  } else {
    function_.jacobian_batch(params, row(0), N, residuals, jacobian);
  }
  for (int k = 0; k < N; ++k) residuals[k] -= targets_[static_cast<std::size_t>(k)];
}

// ---- ClassifierObjective --------------------------------------------------------------------------

bool ClassifierOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (batch_size < 0) return fail("ClassifierOptions::batch_size must be >= 0 (0 = full batch)");
  if (!(l2 >= 0.0) || !std::isfinite(l2)) return fail("ClassifierOptions::l2 must be finite and >= 0");
  std::string why;
  if (!gradient.IsValid(&why)) return fail(why);
  if (zne && !zne->IsValid(&why)) return fail(why);
  for (std::size_t i = 0; i < readout_qubits.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (readout_qubits[i] == readout_qubits[j]) return fail("ClassifierOptions::readout_qubits lists a qubit twice");
  return true;
}

namespace {

std::vector<int> default_readouts(const engine::Circuit& circuit, const ClassifierOptions& options) {
  if (!options.readout_qubits.empty()) return options.readout_qubits;
  if (options.binary) return {0};
  std::vector<int> all(static_cast<std::size_t>(circuit.num_qubits()));
  for (int q = 0; q < circuit.num_qubits(); ++q) all[static_cast<std::size_t>(q)] = q;
  return all;
}

std::vector<engine::PauliSum> z_observables(const std::vector<int>& qubits, int num_qubits) {
  std::vector<engine::PauliSum> obs;
  for (int q : qubits) {
    if (q < 0 || q >= num_qubits) {
      throw std::invalid_argument("readout qubit " + std::to_string(q) + " is outside the " +
                                  std::to_string(num_qubits) + "-qubit register");
    }
    engine::PauliSum s;
    engine::PauliString z;
    z.z_mask = std::uint64_t{1} << q;
    s.terms.emplace_back(1.0, z);
    obs.push_back(s);
  }
  return obs;
}

ClassifierOptions checked(ClassifierOptions options) {
  std::string why;
  if (!options.IsValid(&why)) throw std::invalid_argument(why);
  return options;
}

}  // namespace

ClassifierObjective::ClassifierObjective(const engine::Circuit& circuit, Dataset data, ClassifierOptions options,
                                         const noise::NoiseModel* model)
    : function_(circuit, z_observables(default_readouts(circuit, checked(options)), circuit.num_qubits()), model,
                options.gradient, options.zne),
      data_(std::move(data)),
      options_(std::move(options)) {
  readouts_ = default_readouts(circuit, options_);
  if (data_.size() == 0) throw std::invalid_argument("ClassifierObjective: empty data set");
  if (data_.features.size() != static_cast<std::size_t>(data_.size()) * data_.num_features) {
    throw std::invalid_argument("ClassifierObjective: the data set's feature array has the wrong size");
  }
  if (function_.num_features() > data_.num_features) {
    throw std::invalid_argument("ClassifierObjective: the circuit reads " + std::to_string(function_.num_features()) +
                                " features, the data set has " + std::to_string(data_.num_features));
  }
  if (options_.binary) {
    if (data_.num_classes != 2) throw std::invalid_argument("ClassifierObjective: the binary variant needs 2 classes");
    num_logits_ = 1;
  } else {
    if (data_.num_classes < 2) throw std::invalid_argument("ClassifierObjective: needs at least 2 classes");
    num_logits_ = data_.num_classes;
  }
  for (int y : data_.labels) {
    if (y < 0 || y >= data_.num_classes) throw std::invalid_argument("ClassifierObjective: label out of range");
  }
  if (options_.batch_size == 0 || options_.batch_size >= data_.size()) {
    use_full_batch();
  } else {
    next_batch();
  }
}

int ClassifierObjective::num_classical_parameters() const { return num_logits_ * num_readouts() + num_logits_; }
int ClassifierObjective::num_parameters() const { return num_quantum_parameters() + num_classical_parameters(); }

int ClassifierObjective::num_residuals() const { return static_cast<int>(batch_.size()) * num_logits_; }

std::vector<double> ClassifierObjective::initial_parameters(const std::vector<double>& theta, std::uint64_t seed) const {
  if (static_cast<int>(theta.size()) != num_quantum_parameters()) {
    throw std::invalid_argument("initial_parameters: θ has " + std::to_string(theta.size()) + " entries, the circuit " +
                                std::to_string(num_quantum_parameters()));
  }
  std::vector<double> p = theta;
  std::mt19937_64 rng(seed);
  for (int i = 0; i < num_logits_ * num_readouts(); ++i) p.push_back(2.0 * detail::uniform01(rng) - 1.0);
  for (int i = 0; i < num_logits_; ++i) p.push_back(0.0);
  return p;
}

void ClassifierObjective::set_batch(std::vector<int> indices) {
  if (indices.empty()) throw std::invalid_argument("set_batch: empty batch");
  for (int i : indices)
    if (i < 0 || i >= data_.size()) throw std::out_of_range("set_batch: sample index out of range");
  batch_ = std::move(indices);
  gather_batch();
}

void ClassifierObjective::use_full_batch() {
  std::vector<int> all(static_cast<std::size_t>(data_.size()));
  for (int i = 0; i < data_.size(); ++i) all[static_cast<std::size_t>(i)] = i;
  set_batch(std::move(all));
}

void ClassifierObjective::next_batch() {
  const int bs = options_.batch_size;
  if (bs == 0 || bs >= data_.size()) {
    use_full_batch();
    return;
  }
  if (epoch_order_.empty() || epoch_pos_ + static_cast<std::size_t>(bs) > epoch_order_.size()) {
    epoch_order_ = shuffled_indices(data_.size(), detail::mix_seed(options_.batch_seed, epoch_++));
    epoch_pos_ = 0;
  }
  std::vector<int> b(epoch_order_.begin() + static_cast<std::ptrdiff_t>(epoch_pos_),
                     epoch_order_.begin() + static_cast<std::ptrdiff_t>(epoch_pos_ + static_cast<std::size_t>(bs)));
  epoch_pos_ += static_cast<std::size_t>(bs);
  set_batch(std::move(b));
}

void ClassifierObjective::gather_batch() {
  const std::size_t F = static_cast<std::size_t>(function_.num_features());
  batch_x_.assign(batch_.size() * F, 0.0);
  batch_y_.resize(batch_.size());
  for (std::size_t k = 0; k < batch_.size(); ++k) {
    const double* r = data_.row(batch_[k]);
    std::copy(r, r + F, batch_x_.begin() + static_cast<std::ptrdiff_t>(k * F));
    batch_y_[k] = data_.labels[static_cast<std::size_t>(batch_[k])];
  }
}

double ClassifierObjective::sample_loss(const double* classical, const double* e, int label, double* probs,
                                        double* dlogits) const {
  const int R = num_readouts(), K = num_logits_;
  const double* W = classical;
  const double* b = classical + K * R;
  if (options_.binary) {
    double z = b[0];
    for (int i = 0; i < R; ++i) z += W[i] * e[i];
    const double y = label == 1 ? 1.0 : 0.0;
    const double p = z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z));
    const double softplus = z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
    if (probs) probs[0] = p;
    if (dlogits) dlogits[0] = p - y;
    return softplus - y * z;
  }
  double zmax = -INFINITY;
  std::vector<double> z(static_cast<std::size_t>(K));
  for (int c = 0; c < K; ++c) {
    double v = b[c];
    for (int i = 0; i < R; ++i) v += W[c * R + i] * e[i];
    z[static_cast<std::size_t>(c)] = v;
    zmax = std::max(zmax, v);
  }
  double sum = 0.0;
  for (int c = 0; c < K; ++c) sum += std::exp(z[static_cast<std::size_t>(c)] - zmax);
  const double lse = zmax + std::log(sum);
  for (int c = 0; c < K; ++c) {
    const double p = std::exp(z[static_cast<std::size_t>(c)] - lse);
    if (probs) probs[c] = p;
    if (dlogits) dlogits[c] = p - (c == label ? 1.0 : 0.0);
  }
  return lse - z[static_cast<std::size_t>(label)];
}

double ClassifierObjective::evaluate(const double* params, double* gradient) const {
  const int N = static_cast<int>(batch_.size()), R = num_readouts(), K = num_logits_;
  const int P = num_quantum_parameters();
  const double* classical = params + P;
  const double* W = classical;
  const double* xs = batch_x_.empty() ? nullptr : batch_x_.data();
  std::vector<double> values(static_cast<std::size_t>(N) * R), losses(static_cast<std::size_t>(N));
  const double inv_n = 1.0 / static_cast<double>(N);
  double penalty = 0.0;
  for (int i = 0; i < K * R; ++i) penalty += 0.5 * options_.l2 * W[i] * W[i];
  if (gradient == nullptr) {
    function_.evaluate_batch(params, xs, N, values.data());
    double loss = 0.0;
    for (int k = 0; k < N; ++k) {
      loss += sample_loss(classical, values.data() + static_cast<std::size_t>(k) * R, batch_y_[static_cast<std::size_t>(k)],
                          nullptr, nullptr);
    }
    return loss * inv_n + penalty;
  }
  std::vector<double> dlogits(static_cast<std::size_t>(N) * K);
  function_.vjp_batch(
      params, xs, N,
      [&](int k, const double* e, double* w) {
        double* dz = dlogits.data() + static_cast<std::size_t>(k) * K;
        losses[static_cast<std::size_t>(k)] = sample_loss(classical, e, batch_y_[static_cast<std::size_t>(k)], nullptr, dz);
        for (int i = 0; i < R; ++i) {
          double s = 0.0;
          for (int c = 0; c < K; ++c) s += dz[c] * W[c * R + i];
          w[i] = s * inv_n;
        }
      },
      values.data(), gradient);
  double* gW = gradient + P;
  double* gb = gW + K * R;
  std::fill(gW, gW + K * R + K, 0.0);
  double loss = 0.0;
  for (int k = 0; k < N; ++k) {
    const double* dz = dlogits.data() + static_cast<std::size_t>(k) * K;
    const double* e = values.data() + static_cast<std::size_t>(k) * R;
    loss += losses[static_cast<std::size_t>(k)];
    for (int c = 0; c < K; ++c) {
      for (int i = 0; i < R; ++i) gW[c * R + i] += dz[c] * e[i] * inv_n;
      gb[c] += dz[c] * inv_n;
    }
  }
  for (int i = 0; i < K * R; ++i) gW[i] += options_.l2 * W[i];
  return loss * inv_n + penalty;
}

void ClassifierObjective::residuals(const double* params, double* residuals, double* jacobian) const {
  const int N = static_cast<int>(batch_.size()), R = num_readouts(), K = num_logits_;
  const int P = num_quantum_parameters(), total = num_parameters();
  const double* classical = params + P;
  const double* W = classical;
  const double* xs = batch_x_.empty() ? nullptr : batch_x_.data();
  const double scale = 1.0 / std::sqrt(static_cast<double>(N));
  std::vector<double> values(static_cast<std::size_t>(N) * R), jq;
  if (jacobian) {
    jq.resize(static_cast<std::size_t>(N) * R * P);
    function_.jacobian_batch(params, xs, N, values.data(), jq.data());
  } else {
    function_.evaluate_batch(params, xs, N, values.data());
  }
  std::vector<double> probs(static_cast<std::size_t>(K)), dpdz(static_cast<std::size_t>(K) * K),
      dpde(static_cast<std::size_t>(K) * R);
  for (int k = 0; k < N; ++k) {
    const double* e = values.data() + static_cast<std::size_t>(k) * R;
    const int y = batch_y_[static_cast<std::size_t>(k)];
    sample_loss(classical, e, y, probs.data(), nullptr);
    for (int c = 0; c < K; ++c) {
      const double target = options_.binary ? (y == 1 ? 1.0 : 0.0) : (c == y ? 1.0 : 0.0);
      residuals[k * K + c] = (probs[static_cast<std::size_t>(c)] - target) * scale;
    }
    if (!jacobian) continue;
    // ∂p_c/∂z_j
    for (int c = 0; c < K; ++c)
      for (int j = 0; j < K; ++j) {
        const double pc = probs[static_cast<std::size_t>(c)], pj = probs[static_cast<std::size_t>(j)];
        dpdz[static_cast<std::size_t>(c * K + j)] = options_.binary ? pc * (1.0 - pc) : pc * ((c == j ? 1.0 : 0.0) - pj);
      }
    for (int c = 0; c < K; ++c)
      for (int i = 0; i < R; ++i) {
        double s = 0.0;
        for (int j = 0; j < K; ++j) s += dpdz[static_cast<std::size_t>(c * K + j)] * W[j * R + i];
        dpde[static_cast<std::size_t>(c * R + i)] = s;
      }
    for (int c = 0; c < K; ++c) {
      double* row = jacobian + static_cast<std::size_t>(k * K + c) * total;
      std::fill(row, row + total, 0.0);
      for (int i = 0; i < R; ++i) {
        const double f = dpde[static_cast<std::size_t>(c * R + i)] * scale;
        const double* jr = jq.data() + (static_cast<std::size_t>(k) * R + i) * P;
        for (int p = 0; p < P; ++p) row[p] += f * jr[p];
      }
      for (int j = 0; j < K; ++j) {
        const double g = dpdz[static_cast<std::size_t>(c * K + j)] * scale;
        for (int i = 0; i < R; ++i) row[P + j * R + i] = g * e[i];
        row[P + K * R + j] = g;
      }
    }
  }
}

std::vector<double> ClassifierObjective::probabilities(const double* params, const Dataset& data) const {
  const int N = data.size(), R = num_readouts(), K = num_logits_;
  const int F = function_.num_features();
  if (F > data.num_features) throw std::invalid_argument("probabilities: the data set has too few features");
  std::vector<double> xs;
  if (F > 0) {
    xs.resize(static_cast<std::size_t>(N) * F);
    for (int k = 0; k < N; ++k) std::copy(data.row(k), data.row(k) + F, xs.begin() + static_cast<std::ptrdiff_t>(k) * F);
  }
  std::vector<double> values(static_cast<std::size_t>(N) * R), out(static_cast<std::size_t>(N) * K);
  function_.evaluate_batch(params, xs.empty() ? nullptr : xs.data(), N, values.data());
  const double* classical = params + num_quantum_parameters();
  for (int k = 0; k < N; ++k) {
    sample_loss(classical, values.data() + static_cast<std::size_t>(k) * R, 0, out.data() + static_cast<std::size_t>(k) * K,
                nullptr);
  }
  return out;
}

std::vector<int> ClassifierObjective::predict(const double* params, const Dataset& data) const {
  const std::vector<double> p = probabilities(params, data);
  const int K = num_logits_;
  std::vector<int> out(static_cast<std::size_t>(data.size()));
  for (int k = 0; k < data.size(); ++k) {
    const double* pk = p.data() + static_cast<std::size_t>(k) * K;
    out[static_cast<std::size_t>(k)] =
        options_.binary ? (pk[0] >= 0.5 ? 1 : 0) : static_cast<int>(std::max_element(pk, pk + K) - pk);
  }
  return out;
}

double ClassifierObjective::accuracy(const double* params, const Dataset& data) const {
  if (data.size() == 0) return 0.0;
  const std::vector<int> pred = predict(params, data);
  int hits = 0;
  for (int k = 0; k < data.size(); ++k) hits += pred[static_cast<std::size_t>(k)] == data.labels[static_cast<std::size_t>(k)];
  return static_cast<double>(hits) / data.size();
}

double ClassifierObjective::loss(const double* params, const Dataset& data) const {
  const std::vector<double> p = probabilities(params, data);
  const int K = num_logits_;
  double l = 0.0;
  for (int k = 0; k < data.size(); ++k) {
    const int y = data.labels[static_cast<std::size_t>(k)];
    const double py = options_.binary ? (y == 1 ? p[static_cast<std::size_t>(k)] : 1.0 - p[static_cast<std::size_t>(k)])
                                      : p[static_cast<std::size_t>(k) * K + y];
    l -= std::log(std::max(py, 1e-300));
  }
  return l / std::max(1, data.size());
}

}  // namespace kraus::optim
