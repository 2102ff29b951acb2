// The variational classifier that exp_classifier and exp_adaptive train on a Task (data/datasets.hpp),
// so that both studies measure the same model.
//
//  * image tasks (16 features, 4x4 pixels in [0, 1]): amplitude encoding on 4 qubits (the normalised
//    pixels are the initial state, prepared exactly and without noise), then `depth` hardware-efficient
//    layers (RY and RZ on every qubit, CNOT chain);
//  * synthetic tasks (2 features in [0, 1]): data re-uploading on 2 qubits (`depth` layers, each
//    RY(theta + w * pi * x_f) and RZ(theta') on every qubit, CNOT chain), Perez-Salinas et al. 2020;
//  * readouts <Z_q> on every qubit, then the "dressed" classical head (optim::ClassifierObjective):
//    one logit and the logistic loss for 2 classes, K logits and softmax cross-entropy otherwise;
//    L2 penalty 1e-4 on the head's weights.
// The noise model acts after every gate of the layers (not on the amplitude-encoded initial state).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/datasets.hpp"
#include "harness/options.hpp"
#include "kraus/optim/ansatz.hpp"
#include "kraus/optim/encoding.hpp"
#include "kraus/optim/objectives.hpp"

namespace kraus::experiments {

struct ClassifierModel {
  optim::AnsatzOptions ansatz;  // num_layers = depth
  optim::Encoding encoding;
  optim::ClassifierOptions options;  // batch_size 0 (set by the study); adjoint gradients, samples
                                     // evaluated in parallel on engine::num_threads() (--threads)
  // The data enter only through the first steps (engine::data_prefix), so that batches run as data
  // mixtures (optim::GradientOptions::data_mixtures): the image tasks' amplitude encoding.
  bool data_mixtures = false;
  std::string description;           // one line, for the study's JSON record
};

// The model of the description above for `task` at `depth` layers (>= 0).
ClassifierModel classifier_model(const Task& task, int depth);

// Its initial parameters: layer angles uniform in [0, 2 pi) (re-uploading weights 1) from `seed`,
// then the head (W uniform in [-1, 1] from seed + 1, b = 0).
std::vector<double> initial_parameters(const optim::Ansatz& ansatz, const optim::ClassifierObjective& objective,
                                       std::uint64_t seed);

// What the training studies (exp_classifier, exp_adaptive) share on the command line:
//   --method M          density-matrix (exact), trajectories (--trajectories T per sample) or shots
//                       (--shots M per circuit, parameter shift): optim::GradientOptions
//   --model M           quantum, classical (the baselines of models/classical.hpp) or both
//   --qpu-latency MS    a simulated round trip per submission of --batch-circuits K circuits
std::vector<StudyOption> training_options();

struct TrainingSetup {
  std::string method = "density-matrix";
  std::uint64_t trajectories = 0, shots = 0;  // with --method trajectories, shots
  bool quantum = true, classical = false;     // --model
  double qpu_latency_ms = 0.0;
  int batch_circuits = 1;
  // Estimated losses (trajectories or shots).
  bool stochastic() const { return trajectories > 0 || shots > 0; }
  // Sets the method's trajectories or shots (with parameter shift) and the seed of their draws.
  void apply(optim::GradientOptions* gradient, std::uint64_t seed) const;
};

// The parsed options of training_options(); throws UsageError for an unknown method or model.
TrainingSetup training_setup(const Options& o);

}  // namespace kraus::experiments
