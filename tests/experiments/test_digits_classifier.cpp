// kraus::optim's classifier on the real digits read by the experiments' loader (the optim tests
// use synthetic data only; the data loaders live in kraus::experiments).
#include <chrono>

#include "catch_compat.hpp"
#include "data/datasets.hpp"
#include "kraus/optim/ansatz.hpp"
#include "kraus/optim/encoding.hpp"
#include "kraus/optim/solver.hpp"

using namespace kraus;

namespace {

// Digits 0 and 1, 8x8 -> 4x4 mean pooling, pixel values scaled to [0, 1].
optim::Dataset digits_0_1() {
  return experiments::select_classes(experiments::scale_features(experiments::mean_pool(experiments::load_digits(), 2),
                                                                 1.0 / 16.0),
                                     {0, 1});
}

}  // namespace

TEST_CASE("experiments: a 4-qubit amplitude-encoded classifier separates digits 0 and 1", "[experiments][classifier]") {
  // Digits 8x8 -> 2x2 mean pooling -> 16 features in [0, 1], amplitude-encoded on 4 qubits; two
  // hardware-efficient layers (RY, RZ, CNOT chain); <Z_0..3> -> Linear(4 -> 2) -> softmax
  // cross-entropy; noiseless; stratified 70/30 split and initial parameters from seed 7; L-BFGS.
  const auto start = std::chrono::steady_clock::now();
  const std::uint64_t seed = 7;
  const optim::Dataset digits = digits_0_1();
  optim::Dataset train, test;
  optim::train_test_split(digits, 0.3, seed, &train, &test);
  REQUIRE(train.num_features == 16);
  REQUIRE(train.size() == 252);
  REQUIRE(test.size() == 108);

  optim::AnsatzOptions ao;
  ao.num_qubits = 4;
  ao.num_layers = 2;
  ao.rotations = optim::RotationSet::kRYRZ;
  ao.entangler = optim::Entangler::kCnotChain;
  const optim::Ansatz ansatz(ao);
  optim::ClassifierOptions co;
  co.l2 = 1e-4;
  const optim::ClassifierObjective f(ansatz.circuit(optim::Encoding::amplitude(16)), train, co);
  std::vector<double> params = f.initial_parameters(ansatz.random_parameters(seed), seed);
  optim::MinimizerOptions mo;
  mo.max_iterations = 100;
  mo.gradient_tolerance = 1e-6;
  const optim::SolveSummary s = optim::minimize(f, &params, mo);
  const double train_accuracy = f.accuracy(params.data(), train);
  const double test_accuracy = f.accuracy(params.data(), test);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO(s.BriefReport());
  WARN("digits 0 vs 1 (4 qubits, amplitude encoding, 2 HEA layers): train accuracy " << train_accuracy
       << ", test accuracy " << test_accuracy << " on " << test.size() << " samples; " << s.iterations
       << " L-BFGS iterations, " << seconds << " s");
  REQUIRE(s.usable());
  REQUIRE(test_accuracy >= 0.97);
  REQUIRE(train_accuracy >= 0.97);
}

TEST_CASE("experiments: PCA to 4 angles with the binary classifier on digits 0 and 1", "[experiments][classifier]") {
  // PCA fitted on the training rows only (4 components scaled to [0, 1]), RY(π x_q) on 4 qubits,
  // two HEA layers, binary logit w·<Z_0..3> + b with the logistic loss.
  const std::uint64_t seed = 7;
  const optim::Dataset digits = digits_0_1();
  optim::Dataset train, test;
  optim::train_test_split(digits, 0.3, seed, &train, &test);
  const optim::Pca pca = optim::Pca::fit(train.features.data(), train.size(), train.num_features, 4);
  auto reduce = [&](const optim::Dataset& d) {
    optim::Dataset out = d;
    out.num_features = 4;
    out.features = pca.transform_rows(d.features.data(), d.size());
    return out;
  };
  const optim::Dataset train4 = reduce(train), test4 = reduce(test);
  optim::AnsatzOptions ao;
  ao.num_qubits = 4;
  ao.num_layers = 2;
  ao.entangler = optim::Entangler::kCnotChain;
  const optim::Ansatz ansatz(ao);
  optim::ClassifierOptions co;
  co.binary = true;
  co.readout_qubits = {0, 1, 2, 3};
  const optim::ClassifierObjective f(ansatz.circuit(optim::Encoding::angle(4)), train4, co);
  REQUIRE(f.num_classical_parameters() == 5);
  std::vector<double> params = f.initial_parameters(ansatz.random_parameters(seed), seed);
  optim::MinimizerOptions mo;
  mo.max_iterations = 60;
  const optim::SolveSummary s = optim::minimize(f, &params, mo);
  const double test_accuracy = f.accuracy(params.data(), test4);
  WARN("digits 0 vs 1 (PCA-4 angle encoding, binary logit): test accuracy " << test_accuracy << "; "
       << s.BriefReport());
  REQUIRE(s.usable());
  REQUIRE(test_accuracy >= 0.95);
}
