// Classical baselines for the classifier studies (issue 16): models trained on the same features,
// splits, mini-batches, optimiser, epochs and seeds as the variational classifier of
// models/classifier.hpp, so that its accuracy can be read against a classical model of the same
// size.
//
//  * softmax regression: logits z = W x + b on the raw features x (K logits, softmax
//    cross-entropy; binary: one logit and the logistic loss, exactly as ClassifierObjective's head);
//  * one-hidden-layer MLP: h = tanh(W1 x + b1) with H units, then z = W2 h + b2 (the same losses).
//    H is chosen by mlp_hidden_units so that its parameter count matches a budget (the quantum
//    model's ClassifierObjective::num_parameters()) as closely as possible without exceeding it.
//
// Both are optim::Objective, so optim::adam trains them with the same options as the quantum model;
// the loss is the mean over the batch of the cross-entropy plus ½ λ Σ‖W‖² over the weight matrices
// (not the biases), λ = the quantum head's 1e-4 in the studies. circuit_evaluations() is 0.
//
// Mini-batches: next_batch draws them from an optim::ClassifierObjective over an empty one-qubit
// circuit with the same data, batch size and seed, so that the batches are those of the quantum
// model's next_batch by construction (the same code, not a copy of its shuffle).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kraus/optim/datasets.hpp"
#include "kraus/optim/objectives.hpp"

namespace kraus::experiments {

enum class ClassicalKind { kSoftmax, kMlp };

// "softmax" or "mlp" (the `model` column of exp_classifier).
const char* to_string(ClassicalKind kind);

struct ClassicalOptions {
  ClassicalKind kind = ClassicalKind::kSoftmax;
  // MLP: hidden tanh units, >= 1 (must be 0 for softmax regression). Default 0.
  int hidden_units = 0;
  // One logit and the logistic loss; labels must be 0/1 (2 classes). Default false (K logits,
  // softmax cross-entropy, K = the data set's num_classes), as ClassifierOptions::binary.
  bool binary = false;
  // Mini-batch size (0 = full batch) and the seed of the per-epoch shuffles of next_batch, as
  // ClassifierOptions::batch_size and batch_seed. Defaults 0 and 0.
  int batch_size = 0;
  std::uint64_t batch_seed = 0;
  // L2 penalty ½ λ ‖W‖² on every weight matrix (not the biases). Default 0.
  double l2 = 0.0;
};

// Parameters of a model with F features and K logits (binary: K = 1):
//   softmax [W (K x F, row-major) | b (K)]                       K F + K
//   mlp     [W1 (H x F) | b1 (H) | W2 (K x H) | b2 (K)]          H (F + 1 + K) + K
int classical_parameter_count(ClassicalKind kind, int num_features, int num_logits, int hidden_units = 0);

// The largest H whose MLP has at most `budget` parameters; 0 when not even one hidden unit fits.
int mlp_hidden_units(int budget, int num_features, int num_logits);

// The classical baselines of a quantum model with `budget` parameters on `train`: softmax
// regression, then the MLP with the most hidden units within the budget (left out when not even one
// unit fits), with the quantum model's loss variant (binary: one logit), L2 penalty, batch size and
// batch seed.
std::vector<ClassicalOptions> classical_baselines(const optim::Dataset& train, const optim::ClassifierOptions& quantum,
                                                  int budget);

class ClassicalClassifier : public optim::Objective {
 public:
  // Throws std::invalid_argument for an empty or malformed data set, labels out of range, binary
  // without 2 classes, hidden_units < 1 for the MLP (or != 0 for softmax), a negative batch size or
  // L2 penalty.
  ClassicalClassifier(optim::Dataset data, ClassicalOptions options);
  ~ClassicalClassifier() override;

  const ClassicalOptions& options() const { return options_; }
  int num_features() const { return num_features_; }
  int num_logits() const { return num_logits_; }
  int num_parameters() const override;
  // The loss of the current batch; the gradient (when non-null) by backpropagation.
  double evaluate(const double* params, double* gradient) const override;
  std::int64_t circuit_evaluations() const override { return 0; }

  // Weights uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)] (fan_in: F for W and W1, H for W2), in
  // the order of the parameter vector, from std::mt19937_64(seed) (53-bit uniforms, so the same on
  // every platform); biases 0.
  std::vector<double> initial_parameters(std::uint64_t seed) const;

  // ---- batches (as ClassifierObjective's) ----
  const std::vector<int>& batch() const;
  void set_batch(std::vector<int> indices);
  // The next mini-batch of the seeded per-epoch permutation (full batch when batch_size is 0).
  void next_batch();
  void use_full_batch();

  // ---- predictions (on any data set with the same number of features) ----
  // Class probabilities, size() x K (binary: P(label 1), size() x 1).
  std::vector<double> probabilities(const double* params, const optim::Dataset& data) const;
  std::vector<int> predict(const double* params, const optim::Dataset& data) const;
  double accuracy(const double* params, const optim::Dataset& data) const;
  // Mean cross-entropy on `data` (without the L2 term, as ClassifierObjective::loss).
  double loss(const double* params, const optim::Dataset& data) const;

 private:
  // Loss summed over `rows` of `data` (labels from data), optionally accumulating the gradient of
  // the summed loss (without the penalty) and writing the probabilities.
  double forward_backward(const double* params, const optim::Dataset& data, const std::vector<int>& rows,
                          double* gradient, double* probs) const;

  optim::Dataset data_;
  ClassicalOptions options_;
  int num_features_ = 0, num_logits_ = 0;
  // The batch schedule: a ClassifierObjective over an empty circuit (see the header comment).
  std::unique_ptr<optim::ClassifierObjective> schedule_;
};

}  // namespace kraus::experiments
