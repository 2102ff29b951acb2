#include "models/classical.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>
#include <stdexcept>

#include <armadillo>

#include "kraus/engine/circuit.hpp"

namespace kraus::experiments {

namespace {

// Uniform in [0, 1) from the top 53 bits (the same numbers on every platform, unlike
// std::uniform_real_distribution).
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Rows `rows` of `data` as an N x F matrix.
arma::mat gather(const optim::Dataset& data, const std::vector<int>& rows) {
  const arma::uword F = static_cast<arma::uword>(data.num_features);
  arma::mat x(rows.size(), F);
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const double* r = data.row(rows[k]);
    for (arma::uword j = 0; j < F; ++j) x(k, j) = r[j];
  }
  return x;
}

std::vector<int> all_rows(int n) {
  std::vector<int> rows(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) rows[static_cast<std::size_t>(i)] = i;
  return rows;
}

}  // namespace

const char* to_string(ClassicalKind kind) { return kind == ClassicalKind::kSoftmax ? "softmax" : "mlp"; }

int classical_parameter_count(ClassicalKind kind, int num_features, int num_logits, int hidden_units) {
  if (kind == ClassicalKind::kSoftmax) return num_logits * num_features + num_logits;
  return hidden_units * (num_features + 1 + num_logits) + num_logits;
}

int mlp_hidden_units(int budget, int num_features, int num_logits) {
  const int per_unit = num_features + 1 + num_logits;
  return budget < num_logits ? 0 : (budget - num_logits) / per_unit;
}

std::vector<ClassicalOptions> classical_baselines(const optim::Dataset& train, const optim::ClassifierOptions& quantum,
                                                  int budget) {
  ClassicalOptions o;
  o.binary = quantum.binary;
  o.batch_size = quantum.batch_size;
  o.batch_seed = quantum.batch_seed;
  o.l2 = quantum.l2;
  std::vector<ClassicalOptions> models = {o};
  o.kind = ClassicalKind::kMlp;
  o.hidden_units = mlp_hidden_units(budget, train.num_features, o.binary ? 1 : train.num_classes);
  if (o.hidden_units > 0) models.push_back(o);
  return models;
}

ClassicalClassifier::ClassicalClassifier(optim::Dataset data, ClassicalOptions options)
    : data_(std::move(data)), options_(options) {
  const std::string who = "ClassicalClassifier: ";
  if (data_.size() == 0) throw std::invalid_argument(who + "empty data set");
  if (data_.num_features < 1 ||
      data_.features.size() != static_cast<std::size_t>(data_.size()) * static_cast<std::size_t>(data_.num_features)) {
    throw std::invalid_argument(who + "the data set's feature array has the wrong size");
  }
  if (data_.num_classes < 2) throw std::invalid_argument(who + "needs at least 2 classes");
  if (options_.binary && data_.num_classes != 2) throw std::invalid_argument(who + "the binary variant needs 2 classes");
  for (int y : data_.labels) {
    if (y < 0 || y >= data_.num_classes) throw std::invalid_argument(who + "label out of range");
  }
  if (options_.kind == ClassicalKind::kMlp && options_.hidden_units < 1) {
    throw std::invalid_argument(who + "the MLP needs at least one hidden unit");
  }
  if (options_.kind == ClassicalKind::kSoftmax && options_.hidden_units != 0) {
    throw std::invalid_argument(who + "softmax regression has no hidden units");
  }
  if (options_.batch_size < 0) throw std::invalid_argument(who + "negative batch size");
  if (!(options_.l2 >= 0.0)) throw std::invalid_argument(who + "the L2 penalty must be >= 0");
  num_features_ = data_.num_features;
  num_logits_ = options_.binary ? 1 : data_.num_classes;
  // The schedule reads no features (the circuit has none) and evaluates nothing: only its batches
  // are used.
  optim::ClassifierOptions schedule;
  schedule.batch_size = options_.batch_size;
  schedule.batch_seed = options_.batch_seed;
  schedule_ = std::make_unique<optim::ClassifierObjective>(engine::Circuit(1), data_, schedule);
}

ClassicalClassifier::~ClassicalClassifier() = default;

int ClassicalClassifier::num_parameters() const {
  return classical_parameter_count(options_.kind, num_features_, num_logits_, options_.hidden_units);
}

const std::vector<int>& ClassicalClassifier::batch() const { return schedule_->batch(); }
void ClassicalClassifier::set_batch(std::vector<int> indices) { schedule_->set_batch(std::move(indices)); }
void ClassicalClassifier::next_batch() { schedule_->next_batch(); }
void ClassicalClassifier::use_full_batch() { schedule_->use_full_batch(); }

std::vector<double> ClassicalClassifier::initial_parameters(std::uint64_t seed) const {
  std::vector<double> p;
  p.reserve(static_cast<std::size_t>(num_parameters()));
  std::mt19937_64 rng(seed);
  auto weights = [&](int count, int fan_in) {
    const double a = 1.0 / std::sqrt(static_cast<double>(fan_in));
    for (int i = 0; i < count; ++i) p.push_back(a * (2.0 * uniform01(rng) - 1.0));
  };
  auto biases = [&](int count) { p.insert(p.end(), static_cast<std::size_t>(count), 0.0); };
  const int F = num_features_, K = num_logits_, H = options_.hidden_units;
  if (options_.kind == ClassicalKind::kSoftmax) {
    weights(K * F, F);
    biases(K);
  } else {
    weights(H * F, F);
    biases(H);
    weights(K * H, H);
    biases(K);
  }
  return p;
}

double ClassicalClassifier::forward_backward(const double* params, const optim::Dataset& data,
                                             const std::vector<int>& rows, double* gradient, double* probs) const {
  if (data.num_features != num_features_) {
    throw std::invalid_argument("ClassicalClassifier: the data set has " + std::to_string(data.num_features) +
                                " features, the model " + std::to_string(num_features_));
  }
  const arma::uword F = static_cast<arma::uword>(num_features_), K = static_cast<arma::uword>(num_logits_);
  const arma::uword H = static_cast<arma::uword>(options_.hidden_units);
  const bool mlp = options_.kind == ClassicalKind::kMlp;
  // Row-major weight matrices (out x in) are column-major (in x out): the transposes, without copies.
  double* p = const_cast<double*>(params);  // read only: Armadillo's aux-memory views are non-const
  const arma::uword in = mlp ? H : F;
  const arma::mat w1t = mlp ? arma::mat(p, F, H, false, true) : arma::mat();
  const arma::rowvec b1 = mlp ? arma::rowvec(p + F * H, H, false, true) : arma::rowvec();
  double* head = mlp ? p + F * H + H : p;
  const arma::mat wt(head, in, K, false, true);
  const arma::rowvec b(head + in * K, K, false, true);

  const arma::mat x = gather(data, rows);
  arma::mat h;  // the head's input: x, or the hidden activations
  if (mlp) {
    h = arma::tanh(x * w1t + arma::repmat(b1, x.n_rows, 1));
  }
  const arma::mat& u = mlp ? h : x;
  const arma::mat z = u * wt + arma::repmat(b, x.n_rows, 1);

  // Per-sample losses and ∂loss/∂z.
  arma::mat dz(z.n_rows, K);
  double loss = 0.0;
  for (arma::uword k = 0; k < z.n_rows; ++k) {
    const int label = data.labels[static_cast<std::size_t>(rows[k])];
    if (options_.binary) {
      const double zk = z(k, 0), y = label == 1 ? 1.0 : 0.0;
      const double pk = zk >= 0 ? 1.0 / (1.0 + std::exp(-zk)) : std::exp(zk) / (1.0 + std::exp(zk));
      const double softplus = zk > 0 ? zk + std::log1p(std::exp(-zk)) : std::log1p(std::exp(zk));
      loss += softplus - y * zk;
      dz(k, 0) = pk - y;
      if (probs) probs[k] = pk;
      continue;
    }
    const double zmax = z.row(k).max();
    const double lse = zmax + std::log(arma::accu(arma::exp(z.row(k) - zmax)));
    loss += lse - z(k, static_cast<arma::uword>(label));
    for (arma::uword c = 0; c < K; ++c) {
      const double pc = std::exp(z(k, c) - lse);
      dz(k, c) = pc - (static_cast<int>(c) == label ? 1.0 : 0.0);
      if (probs) probs[k * K + c] = pc;
    }
  }
  if (gradient == nullptr) return loss;

  // Backpropagation of the summed loss into the same layout as the parameters.
  double* g_head = mlp ? gradient + F * H + H : gradient;
  arma::mat(g_head, in, K, false, true) = u.t() * dz;
  arma::rowvec(g_head + in * K, K, false, true) = arma::sum(dz, 0);
  if (mlp) {
    const arma::mat da = (dz * wt.t()) % (1.0 - h % h);  // tanh' = 1 - tanh²
    arma::mat(gradient, F, H, false, true) = x.t() * da;
    arma::rowvec(gradient + F * H, H, false, true) = arma::sum(da, 0);
  }
  return loss;
}

double ClassicalClassifier::evaluate(const double* params, double* gradient) const {
  const std::vector<int>& rows = batch();
  const double inv_n = 1.0 / static_cast<double>(rows.size());
  const double loss = forward_backward(params, data_, rows, gradient, nullptr) * inv_n;
  const int F = num_features_, K = num_logits_, H = options_.hidden_units;
  // The weight matrices' ranges in the parameter vector (the biases follow each).
  std::vector<std::pair<int, int>> weights;
  if (options_.kind == ClassicalKind::kSoftmax) {
    weights = {{0, K * F}};
  } else {
    weights = {{0, H * F}, {H * F + H, K * H}};
  }
  double penalty = 0.0;
  for (const auto& [begin, count] : weights)
    for (int i = begin; i < begin + count; ++i) penalty += 0.5 * options_.l2 * params[i] * params[i];
  if (gradient) {
    for (int i = 0; i < num_parameters(); ++i) gradient[i] *= inv_n;
    for (const auto& [begin, count] : weights)
      for (int i = begin; i < begin + count; ++i) gradient[i] += options_.l2 * params[i];
  }
  return loss + penalty;
}

std::vector<double> ClassicalClassifier::probabilities(const double* params, const optim::Dataset& data) const {
  std::vector<double> out(static_cast<std::size_t>(data.size()) * static_cast<std::size_t>(num_logits_));
  if (data.size() > 0) forward_backward(params, data, all_rows(data.size()), nullptr, out.data());
  return out;
}

std::vector<int> ClassicalClassifier::predict(const double* params, const optim::Dataset& data) const {
  const std::vector<double> p = probabilities(params, data);
  // Column k: sample k's probabilities.
  const arma::mat probs(const_cast<double*>(p.data()), static_cast<arma::uword>(num_logits_),
                        static_cast<arma::uword>(data.size()), false, true);
  const arma::urowvec best =
      options_.binary ? arma::conv_to<arma::urowvec>::from(probs.row(0) >= 0.5) : arma::index_max(probs, 0);
  return arma::conv_to<std::vector<int>>::from(best);
}

double ClassicalClassifier::accuracy(const double* params, const optim::Dataset& data) const {
  if (data.size() == 0) return 0.0;
  const std::vector<int> predicted = predict(params, data);
  const auto hits = std::inner_product(predicted.begin(), predicted.end(), data.labels.begin(), 0L, std::plus<>(),
                                       [](int a, int b) { return a == b ? 1L : 0L; });
  return static_cast<double>(hits) / data.size();
}

double ClassicalClassifier::loss(const double* params, const optim::Dataset& data) const {
  if (data.size() == 0) return 0.0;
  return forward_backward(params, data, all_rows(data.size()), nullptr, nullptr) / data.size();
}

}  // namespace kraus::experiments
