#include "models/classifier.hpp"

#include <stdexcept>

#include "kraus/engine/program.hpp"

namespace kraus::experiments {

ClassifierModel classifier_model(const Task& task, int depth) {
  if (depth < 0) throw std::invalid_argument("classifier_model: depth must be >= 0");
  ClassifierModel m;
  const int features = task.train.num_features;
  m.ansatz.num_layers = depth;
  m.ansatz.rotations = optim::RotationSet::kRYRZ;
  m.ansatz.entangler = optim::Entangler::kCnotChain;
  if (task.image_side > 0) {
    m.ansatz.family = optim::AnsatzFamily::kHardwareEfficient;
    m.ansatz.num_qubits = 4;
    m.encoding = optim::Encoding::amplitude(features);
    m.description = "amplitude encoding of the 16 pixels on 4 qubits (exact, noiseless initial state), then " +
                    std::to_string(depth) + " hardware-efficient layers (RY, RZ on every qubit; CNOT chain)";
  } else {
    m.ansatz.family = optim::AnsatzFamily::kDataReuploading;
    m.ansatz.num_qubits = 2;
    m.ansatz.num_features = features;
    m.encoding = optim::Encoding::none();
    m.description = std::to_string(depth) +
                    " data re-uploading layers on 2 qubits (RY(theta + w pi x_f), RZ(theta') on every qubit; "
                    "CNOT chain)";
  }
  const int classes = task.train.num_classes;
  m.options.binary = classes == 2;
  for (int q = 0; q < m.ansatz.num_qubits; ++q) m.options.readout_qubits.push_back(q);
  m.options.l2 = 1e-4;
  m.options.gradient.num_threads = 0;  // samples in parallel on engine::num_threads() (--threads)
  m.description += "; readouts <Z_q> on every qubit -> " +
                   (m.options.binary ? std::string("one logit, logistic loss")
                                     : std::to_string(classes) + " logits, softmax cross-entropy") +
                   "; L2 1e-4 on the head's weights";
  // Noise rules place channels that fit their gates, so whether the data enter only through the
  // first steps does not depend on the model.
  m.data_mixtures =
      engine::data_prefix(engine::compile(optim::Ansatz(m.ansatz).circuit(m.encoding), nullptr)) >= 0;
  m.description += m.data_mixtures ? "; batches of at least twice as many samples as readouts run as data mixtures "
                                     "(optim::GradientOptions::data_mixtures)"
                                   : "; batches run sample by sample (the data enter every layer: no data mixtures)";
  return m;
}

std::vector<double> initial_parameters(const optim::Ansatz& ansatz, const optim::ClassifierObjective& objective,
                                       std::uint64_t seed) {
  return objective.initial_parameters(ansatz.random_parameters(seed), seed + 1);
}

}  // namespace kraus::experiments
