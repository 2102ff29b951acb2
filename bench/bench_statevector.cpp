// State-vector and trajectory benchmarks, with a STREAM-triad anchor measured in the same run.
//
//   build/bench/kraus_bench_statevector --benchmark_out=sv.json --benchmark_out_format=json
//
// Arguments are (qubits n, threads, ...). A kernel pass over a state vector reads and writes every
// amplitude once: 2 * 16 * 2^n bytes, reported as bytes_per_second; the triad a = b + s c runs over
// three arrays as large as the n-qubit state (16 * 2^n bytes each; STREAM counts 3 arrays per pass).
// States are allocated once per n and reused (first writes to fresh memory are very slow here).
//  * BM_SvTriad, BM_SvGate1q (RY on qubit 0, the middle qubit, the top qubit: arg 2), BM_SvCNOT;
//  * BM_SvLayered: the noiseless layered circuit 10 x [RY on every qubit, CNOT ladder] (390 gates at
//    20 qubits) with the fused queue of fusion_max_qubits = arg 2;
//  * BM_SvAdjoint: the adjoint gradient of the layered circuit with every RY a parameter, in forward
//    runs of the same program;
//  * BM_Trajectories: the noisy layered circuit (depth 10; depolarising p = 0.01, then amplitude
//    damping gamma = 0.01 on each gate qubit, after every gate), `trajectories` per iteration,
//    reported as trajectories per second;
//  * BM_TrajectoryGradient: the same circuit with every RY a parameter, its trajectory gradient, in
//    trajectories per second and against run_trajectories on the same program.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "bench_support.hpp"
#include "kraus/engine/program.hpp"
#include "kraus/engine/state_vector.hpp"
#include "kraus/engine/trajectories.hpp"
#include "kraus/noise/noise_model.hpp"
#include "kraus/noise/vector_kernels.hpp"

namespace {

using kraus::engine::Gate;

kraus::engine::StateVector& state(int n) {
  static std::map<int, std::unique_ptr<kraus::engine::StateVector>> states;
  auto& s = states[n];
  if (!s) s = std::make_unique<kraus::engine::StateVector>(n);
  return *s;
}

using kraus::bench::set_threads;

void report_passes(benchmark::State& st, int n, double passes_per_iteration) {
  kraus::bench::report_passes(st, 16.0 * static_cast<double>(std::uint64_t{1} << n), passes_per_iteration);
}

// STREAM triad on three arrays of 16 * 2^n bytes each (the size of an n-qubit state vector).
void BM_SvTriad(benchmark::State& st) {
  set_threads(st);
  kraus::bench::stream_triad(st, std::int64_t{2} << static_cast<int>(st.range(0)));
}

void BM_SvGate1q(benchmark::State& st) {
  set_threads(st);
  const int n = static_cast<int>(st.range(0));
  const int where = static_cast<int>(st.range(2));
  const int q = where == 0 ? 0 : where == 1 ? n / 2 : n - 1;
  const double c = std::cos(0.35), s = std::sin(0.35);
  const kraus::noise::Complex ry[4] = {c, -s, s, c};
  const kraus::noise::VectorCall call = kraus::noise::vector_call(&q, 1, ry);
  kraus::engine::StateVector& psi = state(n);
  for (auto _ : st) {
    kraus::noise::apply(call, psi.data(), n);
    benchmark::ClobberMemory();
  }
  report_passes(st, n, 1.0);
}

void BM_SvCNOT(benchmark::State& st) {
  set_threads(st);
  const int n = static_cast<int>(st.range(0));
  const int qs[2] = {n / 2, n / 2 + 1};
  const kraus::noise::Complex cx[16] = {1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0};
  const kraus::noise::VectorCall call = kraus::noise::vector_call(qs, 2, cx);
  kraus::engine::StateVector& psi = state(n);
  for (auto _ : st) {
    kraus::noise::apply(call, psi.data(), n);
    benchmark::ClobberMemory();
  }
  report_passes(st, n, 1.0);
}

kraus::engine::Circuit layered_circuit(int n, int depth) {
  kraus::engine::Circuit c(n);
  for (int layer = 0; layer < depth; ++layer) {
    for (int q = 0; q < n; ++q) c.add_gate(Gate::kRY, {q}, {0.1 * (q + 1) + layer});
    for (int q = 0; q + 1 < n; ++q) c.add_gate(Gate::kCX, {q, q + 1});
  }
  return c;
}

void BM_SvLayered(benchmark::State& st) {
  set_threads(st);
  const int n = static_cast<int>(st.range(0));
  const int fusion = static_cast<int>(st.range(2));
  st.counters["fusion"] = fusion;
  const kraus::engine::Program program = kraus::engine::compile(layered_circuit(n, 10), nullptr);
  kraus::engine::StateVector& psi = state(n);
  for (auto _ : st) {
    kraus::engine::run(program, nullptr, nullptr, psi, fusion);
    benchmark::ClobberMemory();
  }
  report_passes(st, n, 10.0 * (2 * n - 1));  // as if every gate were one pass
}

// The adjoint gradient of <Z_0> for the layered circuit with every RY a parameter (10 n of them),
// against the forward run of the same program: forward_evaluations = gradient time / forward time
// (the forward run timed over 5 runs just before).
void BM_SvAdjoint(benchmark::State& st) {
  set_threads(st);
  const int n = static_cast<int>(st.range(0));
  kraus::engine::Circuit c(n);
  for (int layer = 0; layer < 10; ++layer) {
    for (int q = 0; q < n; ++q) c.add_rotation(Gate::kRY, {q}, kraus::engine::Angle::parameter(layer * n + q));
    for (int q = 0; q + 1 < n; ++q) c.add_gate(Gate::kCX, {q, q + 1});
  }
  const kraus::engine::Program program = kraus::engine::compile(c, nullptr);
  std::vector<double> theta(static_cast<std::size_t>(10 * n)), gradient(theta.size());
  for (std::size_t i = 0; i < theta.size(); ++i) theta[i] = 0.1 * static_cast<double>(i);
  const kraus::engine::PauliSum z0 = kraus::engine::PauliSum::parse("Z0");
  kraus::engine::StateVector& psi = state(n);
  kraus::engine::run(program, theta.data(), nullptr, psi);
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < 5; ++r) kraus::engine::run(program, theta.data(), nullptr, psi);
  const double forward = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 5.0;
  double total = 0.0;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(kraus::engine::adjoint_gradient(program, theta.data(), nullptr, z0, gradient.data()));
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  st.counters["forward_evaluations"] = total / static_cast<double>(st.iterations()) / forward;
  st.counters["parameters"] = static_cast<double>(theta.size());
}

void BM_Trajectories(benchmark::State& st) {
  set_threads(st);
  const int n = static_cast<int>(st.range(0));
  const auto trajectories = static_cast<std::uint64_t>(st.range(2));
  const int fusion = static_cast<int>(st.range(3));
  st.counters["fusion"] = fusion;
  const kraus::noise::NoiseModel model = kraus::noise::NoiseModel::from_json(R"({"gate_noise": [
      {"gates": ["*"], "channel": {"type": "depolarizing", "p": 0.01}},
      {"gates": ["*"], "channel": {"type": "amplitude_damping", "gamma": 0.01}}]})");
  const kraus::engine::Program program = kraus::engine::compile(layered_circuit(n, 10), &model);
  kraus::engine::TrajectoryOptions options;
  options.trajectories = trajectories;
  options.fusion_max_qubits = fusion;
  const std::vector<kraus::engine::PauliSum> observables = {kraus::engine::PauliSum::parse("Z0")};
  std::uint64_t reads = 0, decisions = 0;
  for (auto _ : st) {
    const kraus::engine::TrajectoryResult r =
        kraus::engine::run_trajectories(program, nullptr, nullptr, observables, options);
    reads = r.state_reads;
    decisions = r.channel_decisions;
    benchmark::DoNotOptimize(r.expectations[0].mean);
  }
  st.counters["trajectories_per_s"] =
      benchmark::Counter(static_cast<double>(trajectories) * static_cast<double>(st.iterations()), benchmark::Counter::kIsRate);
  st.counters["state_reads_per_trajectory"] = static_cast<double>(reads) / static_cast<double>(trajectories);
  st.counters["decisions_per_trajectory"] = static_cast<double>(decisions) / static_cast<double>(trajectories);
}

// The trajectory gradient of <Z_0> for the noisy layered circuit of BM_Trajectories with every RY a
// parameter (10 n of them): trajectories per second, and forward_ratio = its time / the time of
// run_trajectories on the same program and trajectories (timed just before, 3 runs).
void BM_TrajectoryGradient(benchmark::State& st) {
  set_threads(st);
  const int n = static_cast<int>(st.range(0));
  const auto trajectories = static_cast<std::uint64_t>(st.range(2));
  kraus::engine::Circuit c(n);
  for (int layer = 0; layer < 10; ++layer) {
    for (int q = 0; q < n; ++q) c.add_rotation(Gate::kRY, {q}, kraus::engine::Angle::parameter(layer * n + q));
    for (int q = 0; q + 1 < n; ++q) c.add_gate(Gate::kCX, {q, q + 1});
  }
  const kraus::noise::NoiseModel model = kraus::noise::NoiseModel::from_json(R"({"gate_noise": [
      {"gates": ["*"], "channel": {"type": "depolarizing", "p": 0.01}},
      {"gates": ["*"], "channel": {"type": "amplitude_damping", "gamma": 0.01}}]})");
  const kraus::engine::Program program = kraus::engine::compile(c, &model);
  std::vector<double> theta(static_cast<std::size_t>(10 * n));
  for (std::size_t i = 0; i < theta.size(); ++i) theta[i] = 0.1 * static_cast<double>(i);
  kraus::engine::TrajectoryOptions options;
  options.trajectories = trajectories;
  const std::vector<kraus::engine::PauliSum> z0 = {kraus::engine::PauliSum::parse("Z0")};
  kraus::engine::run_trajectories(program, theta.data(), nullptr, z0, options);
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < 3; ++r) kraus::engine::run_trajectories(program, theta.data(), nullptr, z0, options);
  const double forward = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 3.0;
  double total = 0.0;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    const kraus::engine::TrajectoryGradientResult r =
        kraus::engine::trajectory_gradient(program, theta.data(), nullptr, z0, options);
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    benchmark::DoNotOptimize(r.jacobian[0].mean);
  }
  st.counters["trajectories_per_s"] =
      benchmark::Counter(static_cast<double>(trajectories) * static_cast<double>(st.iterations()), benchmark::Counter::kIsRate);
  st.counters["forward_ratio"] = total / static_cast<double>(st.iterations()) / forward;
  st.counters["parameters"] = static_cast<double>(theta.size());
}

void kernel_args(benchmark::internal::Benchmark* b) {
  for (int n : {16, 20, 22, 24})
    for (int t : {1, 2}) b->Args({n, t});
  b->ArgNames({"n", "threads"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

void gate_args(benchmark::internal::Benchmark* b) {
  for (int n : {16, 20, 22, 24})
    for (int t : {1, 2})
      for (int where : {0, 1, 2}) b->Args({n, t, where});
  b->ArgNames({"n", "threads", "where"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

void layered_args(benchmark::internal::Benchmark* b) {
  for (int n : {16, 20, 24})
    for (int t : {1, 2})
      for (int f = 1; f <= 4; ++f) b->Args({n, t, f});
  b->ArgNames({"n", "threads", "fusion"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

void trajectory_args(benchmark::internal::Benchmark* b) {
  for (int t : {1, 2})
    for (int f = 1; f <= 4; ++f) b->Args({16, t, 64, f});
  for (int f : {2, 3}) b->Args({20, 2, 4, f});
  b->ArgNames({"n", "threads", "trajectories", "fusion"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

BENCHMARK(BM_SvTriad)->Apply(kernel_args);
BENCHMARK(BM_SvGate1q)->Apply(gate_args);
BENCHMARK(BM_SvCNOT)->Apply(kernel_args);
BENCHMARK(BM_SvLayered)->Apply(layered_args);
BENCHMARK(BM_Trajectories)->Apply(trajectory_args);
BENCHMARK(BM_SvAdjoint)->Apply(kernel_args);
BENCHMARK(BM_TrajectoryGradient)->Apply([](benchmark::internal::Benchmark* b) {
  for (int t : {1, 2}) b->Args({16, t, 32});
  b->Args({20, 2, 4});
  b->ArgNames({"n", "threads", "trajectories"})->Unit(benchmark::kMillisecond)->UseRealTime();
});

}  // namespace
BENCHMARK_MAIN();
