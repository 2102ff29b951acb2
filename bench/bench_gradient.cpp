// The adjoint gradient against forward evaluations of the same noisy circuit, in one run.
//
//   build/release/bench/kraus_bench_gradient --benchmark_min_time=0.5
//
// Circuit: the hardware-efficient ansatz (RY, RZ on every qubit, CZ chain) on n qubits with L
// layers, 2nL parameters, under depolarising noise after every gate (p = 0.001 after 1-qubit gates,
// 0.01 after cz) and phase-damping idle noise (lambda = 0.001); observable Z0 Z1 + X2.
//  * BM_Forward: one value by CircuitFunction::evaluate (the program step by step).
//  * BM_AdjointGradient: the value and all 2nL derivatives by the adjoint method.
//  * BM_ProgramRun: the same circuit bound and run as engine::run does (fused, cache-blocked), the
//    fastest forward evaluation.
//  * BM_ClassifierEpoch: one full-batch loss and gradient of a binary classifier on `samples` samples
//    (RY(pi x_q) angle encoding of n features, then the same layers and noise; <Z_q> on every qubit,
//    one logit, logistic loss; optim::ClassifierObjective), with data mixtures on (1) or off (0):
//    the cost of an epoch against the number of samples.
//  * BM_TrajectoryEpoch: the same epoch at 16 qubits by trajectory SGD (GradientOptions::trajectories
//    = 1): RY, RZ and the CNOT chain, depolarising and amplitude damping after every gate.
// The issue's target: the adjoint gradient of a noisy 10-qubit, depth-10 circuit costs at most 3
// forward evaluations.
#include <benchmark/benchmark.h>

#include <vector>

#include "kraus/engine/program.hpp"
#include "kraus/noise/noise_model.hpp"
#include "kraus/optim/ansatz.hpp"
#include "kraus/optim/gradients.hpp"
#include "kraus/optim/objectives.hpp"

namespace {

namespace engine = kraus::engine;
namespace optim = kraus::optim;

struct Problem {
  optim::Ansatz ansatz;
  kraus::noise::NoiseModel model;
  std::vector<double> theta;
};

Problem problem(int n, int layers) {
  optim::AnsatzOptions o;
  o.num_qubits = n;
  o.num_layers = layers;
  Problem p{optim::Ansatz(o), kraus::noise::NoiseModel::from_json(R"({"gate_noise": [
      {"gates": ["ry", "rz"], "channel": {"type": "depolarizing", "p": 0.001}},
      {"gates": ["cz"], "channel": {"type": "depolarizing", "p": 0.01}}],
      "idle_noise": {"type": "phase_damping", "lambda": 0.001}})"), {}};
  p.theta = p.ansatz.random_parameters(7);
  return p;
}

std::vector<engine::PauliSum> observable() {
  engine::PauliSum h;
  h.terms = {{1.0, engine::PauliString::parse("Z0 Z1")}, {0.5, engine::PauliString::parse("X2")}};
  return {h};
}

void BM_Forward(benchmark::State& st) {
  engine::set_num_threads(2);
  const Problem p = problem(static_cast<int>(st.range(0)), static_cast<int>(st.range(1)));
  const optim::CircuitFunction f(p.ansatz.circuit(), observable(), &p.model);
  double value = 0;
  f.evaluate(p.theta.data(), nullptr, &value);  // allocates and first-touches the workspace
  for (auto _ : st) f.evaluate(p.theta.data(), nullptr, &value);
  st.counters["parameters"] = static_cast<double>(p.theta.size());
}

void BM_AdjointGradient(benchmark::State& st) {
  engine::set_num_threads(2);
  const Problem p = problem(static_cast<int>(st.range(0)), static_cast<int>(st.range(1)));
  optim::CircuitFunction f(p.ansatz.circuit(), observable(), &p.model);
  double value = 0;
  std::vector<double> jacobian(p.theta.size());
  f.jacobian(p.theta.data(), nullptr, &value, jacobian.data());  // allocates the stored states
  f.reset_circuit_evaluations();
  for (auto _ : st) f.jacobian(p.theta.data(), nullptr, &value, jacobian.data());
  // Passes over the whole circuit per gradient (forward, backward, and recomputed segments).
  st.counters["passes"] = static_cast<double>(f.circuit_evaluations()) / static_cast<double>(st.iterations());
  st.counters["parameters"] = static_cast<double>(p.theta.size());
}

void BM_ProgramRun(benchmark::State& st) {
  engine::set_num_threads(2);
  const int n = static_cast<int>(st.range(0));
  const Problem p = problem(n, static_cast<int>(st.range(1)));
  const engine::Program program = engine::compile(p.ansatz.circuit(), &p.model);
  engine::DensityMatrix rho(n);
  engine::run(program, p.theta.data(), nullptr, rho);
  for (auto _ : st) engine::run(program, p.theta.data(), nullptr, rho);
  st.counters["calls"] = static_cast<double>(program.forward.size());
  st.counters["steps"] = static_cast<double>(program.steps.size());
}

// `samples` samples of n features in [0, 1] (a fixed pattern) with alternating labels.
optim::Dataset epoch_data(int n, int samples) {
  optim::Dataset data;
  data.num_features = n;
  data.num_classes = 2;
  for (int i = 0; i < samples; ++i) {
    for (int q = 0; q < n; ++q) data.features.push_back(static_cast<double>((i * 7 + q * 3) % 11) / 10.0);
    data.labels.push_back(i % 2);
  }
  return data;
}

// One logit on the readouts <Z_q> of every qubit.
optim::ClassifierOptions binary_head(int n) {
  optim::ClassifierOptions o;
  o.binary = true;
  for (int q = 0; q < n; ++q) o.readout_qubits.push_back(q);
  return o;
}

void BM_ClassifierEpoch(benchmark::State& st) {
  engine::set_num_threads(2);
  const int n = static_cast<int>(st.range(0)), samples = static_cast<int>(st.range(2));
  const Problem p = problem(n, static_cast<int>(st.range(1)));
  const optim::Dataset data = epoch_data(n, samples);
  optim::ClassifierOptions o = binary_head(n);
  o.gradient.num_threads = 1;  // samples in sequence; the kernels use the threads
  o.gradient.data_mixtures = st.range(3) != 0;
  const optim::ClassifierObjective objective(p.ansatz.circuit(optim::Encoding::angle(n)), data, o, &p.model);
  const std::vector<double> params = objective.initial_parameters(p.theta, 8);
  std::vector<double> gradient(params.size());
  objective.evaluate(params.data(), gradient.data());  // allocates the buffers
  const std::int64_t before = objective.circuit_evaluations();
  for (auto _ : st) objective.evaluate(params.data(), gradient.data());
  st.counters["passes"] =
      static_cast<double>(objective.circuit_evaluations() - before) / static_cast<double>(st.iterations());
}

// Trajectory SGD at 16 qubits: one epoch (a full-batch loss and gradient) of `samples` samples with
// T = 1 trajectory each. The issue's target: 1000 images in at most 2 minutes on 2 threads.
void BM_TrajectoryEpoch(benchmark::State& st) {
  engine::set_num_threads(2);
  const int n = static_cast<int>(st.range(0)), layers = static_cast<int>(st.range(1));
  const int samples = static_cast<int>(st.range(2));
  optim::AnsatzOptions a;
  a.num_qubits = n;
  a.num_layers = layers;
  a.rotations = optim::RotationSet::kRYRZ;
  a.entangler = optim::Entangler::kCnotChain;
  const optim::Ansatz ansatz(a);
  const kraus::noise::NoiseModel model = kraus::noise::NoiseModel::from_json(R"({"gate_noise": [
      {"gates": ["*"], "channel": {"type": "depolarizing", "p": 0.001}},
      {"gates": ["*"], "channel": {"type": "amplitude_damping", "gamma": 0.002}}]})");
  const optim::Dataset data = epoch_data(n, samples);
  optim::ClassifierOptions o = binary_head(n);
  o.gradient.trajectories = 1;
  const optim::ClassifierObjective objective(ansatz.circuit(optim::Encoding::angle(n)), data, o, &model);
  const std::vector<double> params = objective.initial_parameters(ansatz.random_parameters(7), 8);
  std::vector<double> gradient(params.size());
  for (auto _ : st) objective.evaluate(params.data(), gradient.data());
  st.counters["passes"] = static_cast<double>(objective.circuit_evaluations()) / static_cast<double>(st.iterations());
}

void epoch_args(benchmark::internal::Benchmark* b) {
  for (int samples : {8, 32, 64}) b->Args({10, 10, samples, 0});
  for (int samples : {8, 32, 64, 252, 1000}) b->Args({10, 10, samples, 1});
  b->ArgNames({"n", "layers", "samples", "mixtures"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

void args(benchmark::internal::Benchmark* b) {
  for (int n : {8, 10}) b->Args({n, 10});
  b->ArgNames({"n", "layers"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

BENCHMARK(BM_Forward)->Apply(args);
BENCHMARK(BM_AdjointGradient)->Apply(args);
BENCHMARK(BM_ProgramRun)->Apply(args);
BENCHMARK(BM_ClassifierEpoch)->Apply(epoch_args);
BENCHMARK(BM_TrajectoryEpoch)
    ->Args({16, 10, 100})
    ->Args({16, 10, 1000})
    ->ArgNames({"n", "layers", "samples"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);
BENCHMARK_MAIN();
