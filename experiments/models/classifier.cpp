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

std::vector<StudyOption> training_options() {
  return {
      {"method", StudyOption::Kind::kString, "M",
       "how the quantum model's readouts and gradients are computed: density-matrix (exact), trajectories "
       "(--trajectories per sample, trajectory SGD) or shots (--shots per circuit, parameter shift)",
       "density-matrix", "density-matrix", 0, 0},
      {"trajectories", StudyOption::Kind::kInt, "T", "trajectories per sample of --method trajectories", "1", "1", 1,
       1000000},
      {"shots", StudyOption::Kind::kInt, "M", "shots per circuit of --method shots", "1000", "1000", 1, 1 << 30},
      {"model", StudyOption::Kind::kString, "M",
       "quantum, classical (softmax regression and an MLP of at most the quantum model's parameter count) or both",
       "quantum", "quantum", 0, 0},
      {"qpu-latency", StudyOption::Kind::kDouble, "MS",
       "a simulated round trip in milliseconds charged per submitted batch of circuits (not slept)", "0", "0", 0, 1e7},
      {"batch-circuits", StudyOption::Kind::kInt, "K", "circuits per submission for --qpu-latency", "1", "1", 1,
       1 << 30},
  };
}

TrainingSetup training_setup(const Options& o) {
  TrainingSetup t;
  t.method = o.get_string("method");
  if (t.method != "density-matrix" && t.method != "trajectories" && t.method != "shots") {
    throw UsageError("--method: '" + t.method + "' is not one of density-matrix, trajectories, shots");
  }
  t.trajectories = t.method == "trajectories" ? static_cast<std::uint64_t>(o.get_int("trajectories")) : 0;
  t.shots = t.method == "shots" ? static_cast<std::uint64_t>(o.get_int("shots")) : 0;
  const std::string& which = o.get_string("model");
  if (which != "quantum" && which != "classical" && which != "both") {
    throw UsageError("--model: '" + which + "' is not one of quantum, classical, both");
  }
  t.quantum = which != "classical";
  t.classical = which != "quantum";
  t.qpu_latency_ms = o.get_double("qpu-latency");
  t.batch_circuits = static_cast<int>(o.get_int("batch-circuits"));
  return t;
}

void TrainingSetup::apply(optim::GradientOptions* gradient, std::uint64_t seed) const {
  gradient->trajectories = trajectories;
  gradient->shots = shots;
  gradient->seed = seed;
  if (shots > 0) gradient->method = optim::GradientMethod::kParameterShift;
}

}  // namespace kraus::experiments
