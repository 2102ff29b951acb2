// Engine benchmarks: per-operation time and effective bandwidth of the density-matrix kernels,
// with a STREAM-triad anchor measured in the same run.
//
//   build/bench/kraus_bench_engine --benchmark_out=bench.json --benchmark_out_format=json
//
// Every benchmark takes (qubits n, threads). A kernel pass over the state reads and writes every
// element once: 2 * 16 * 4^n bytes, reported as bytes_per_second. The triad a = b + s c over
// arrays as large as the n-qubit state moves 3 * 16 * 4^n / 2 ... see bench_stream_triad.
// States are allocated once per n and reused (first writes to fresh memory are very slow here).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "bench_support.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/program.hpp"
#include "kraus/noise/channel_table.hpp"
#include "kraus/noise/noise_model.hpp"
#include "kraus/engine/gates.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

using kraus::engine::DensityMatrix;
using kraus::engine::Gate;

// One state per qubit count, shared by every benchmark (allocated and first-touched once).
DensityMatrix& state(int n) {
  static std::map<int, std::unique_ptr<DensityMatrix>> states;
  auto& s = states[n];
  if (!s) s = std::make_unique<DensityMatrix>(n);
  s->reset_to_zero_state();
  return *s;
}

using kraus::bench::set_threads;

void report_passes(benchmark::State& st, int n, double passes_per_iteration) {
  kraus::bench::report_passes(st, 16.0 * static_cast<double>(std::uint64_t{1} << (2 * n)), passes_per_iteration);
}

// STREAM triad on three arrays of 16 * 4^n bytes each (the size of an n-qubit density matrix).
void BM_StreamTriad(benchmark::State& st) {
  set_threads(st);
  kraus::bench::stream_triad(st, std::int64_t{2} << (2 * static_cast<int>(st.range(0))));
}

// One 1-qubit gate (RX on the middle qubit).
void BM_Gate1q(benchmark::State& st) {
  set_threads(st);
  const int n = static_cast<int>(st.range(0));
  DensityMatrix& rho = state(n);
  const int q = n / 2;
  for (auto _ : st) {
    rho.apply(Gate::kRX, {q}, {0.3});
    benchmark::ClobberMemory();
  }
  report_passes(st, n, 1.0);
}

// One 2-qubit gate that is neither diagonal nor a permutation (CRX-like dense block): RXX.
void BM_Gate2q(benchmark::State& st) {
  set_threads(st);
  const int n = static_cast<int>(st.range(0));
  DensityMatrix& rho = state(n);
  for (auto _ : st) {
    rho.apply(Gate::kRXX, {1, n - 2}, {0.3});
    benchmark::ClobberMemory();
  }
  report_passes(st, n, 1.0);
}

// A generic 2-qubit channel as its 16 x 16 superoperator, on the qubits of BM_Gate2q: two Kraus
// operators sqrt(0.95) U1 and sqrt(0.05) U2 with dense unitaries, so that no entry of S is zero.
void BM_Superoperator2q(benchmark::State& st) {
  set_threads(st);
  const int n = static_cast<int>(st.range(0));
  DensityMatrix& rho = state(n);
  using kraus::engine::gate_matrix;
  const arma::cx_mat u1 = gate_matrix(Gate::kRXX, {0.3}) * arma::kron(gate_matrix(Gate::kRX, {0.5}),
                                                                      gate_matrix(Gate::kRY, {0.2}));
  const arma::cx_mat u2 = gate_matrix(Gate::kRZZ, {0.7}) * arma::kron(gate_matrix(Gate::kRY, {0.9}),
                                                                      gate_matrix(Gate::kRX, {0.4}));
  const arma::cx_mat s = 0.95 * arma::kron(arma::conj(u1), u1) + 0.05 * arma::kron(arma::conj(u2), u2);
  for (auto _ : st) {
    rho.apply_superoperator({1, n - 2}, s);
    benchmark::ClobberMemory();
  }
  report_passes(st, n, 1.0);
}

// CNOT (a permutation: the cheap path).
void BM_CNOT(benchmark::State& st) {
  set_threads(st);
  const int n = static_cast<int>(st.range(0));
  DensityMatrix& rho = state(n);
  for (auto _ : st) {
    rho.apply(Gate::kCX, {1, n - 2});
    benchmark::ClobberMemory();
  }
  report_passes(st, n, 1.0);
}

// 1-qubit depolarising channel.
void BM_Depolarizing1q(benchmark::State& st) {
  set_threads(st);
  const int n = static_cast<int>(st.range(0));
  DensityMatrix& rho = state(n);
  for (auto _ : st) {
    rho.apply_depolarizing(n / 2, 0.01);
    benchmark::ClobberMemory();
  }
  report_passes(st, n, 1.0);
}

// 4 layers of RY on every qubit then a CNOT ladder; with noise, a 1-qubit depolarising channel
// on every qubit after each layer.
void layered(benchmark::State& st, bool noisy) {
  set_threads(st);
  const int n = static_cast<int>(st.range(0));
  DensityMatrix& rho = state(n);
  for (auto _ : st) {
    for (int layer = 0; layer < 4; ++layer) {
      for (int q = 0; q < n; ++q) rho.apply(Gate::kRY, {q}, {0.1 * (q + 1) + layer});
      for (int q = 0; q + 1 < n; ++q) rho.apply(Gate::kCX, {q, q + 1});
      if (noisy) {
        for (int q = 0; q < n; ++q) rho.apply_depolarizing(q, 0.01);
      }
    }
    benchmark::ClobberMemory();
  }
  report_passes(st, n, 4.0 * (2 * n - 1 + (noisy ? n : 0)));
}
void BM_LayeredCircuit(benchmark::State& st) { layered(st, false); }
void BM_LayeredNoisyCircuit(benchmark::State& st) { layered(st, true); }

// The noisy layered circuit as a compiled program (the executor of kraus simulate), by how the
// program runs: mode 0 call by call (no fusion, no blocking), 1 fused, 2 cache-blocked, 3 fused and
// blocked (the default). Bytes are counted as for BM_LayeredNoisyCircuit (one pass per operation of
// the circuit), so bytes_per_second / the triad's is the "triad-equivalent" of the targets.
// The noise: depolarising p = 0.01 on every qubit after each layer (explicit channels), or
// (`device`) the device_like model of experiments/noise_models fitted to qubits 0..n-1 (after each ry
// and cx: depolarising, then thermal relaxation of each gate qubit).
kraus::engine::Circuit layered_circuit(int n, bool depolarizing) {
  kraus::engine::Circuit c(n);
  for (int layer = 0; layer < 4; ++layer) {
    for (int q = 0; q < n; ++q) c.add_gate(Gate::kRY, {q}, {0.1 * (q + 1) + layer});
    for (int q = 0; q + 1 < n; ++q) c.add_gate(Gate::kCX, {q, q + 1});
    if (depolarizing) {
      for (int q = 0; q < n; ++q) c.add_channel({q}, kraus::noise::depolarizing(1, 0.01));
    }
  }
  return c;
}

void layered_program(benchmark::State& st, bool device) {
  set_threads(st);
  const int n = static_cast<int>(st.range(0));
  const int mode = static_cast<int>(st.range(2));
  st.counters["mode"] = mode;
  DensityMatrix& rho = state(n);
  kraus::engine::CompileOptions options;
  options.fusion = (mode & 1) != 0;
  if ((mode & 2) == 0) options.block_qubits = 0;
  std::optional<kraus::noise::NoiseModel> model;
  if (device) {
    std::vector<int> qubits(static_cast<std::size_t>(n));
    for (int q = 0; q < n; ++q) qubits[static_cast<std::size_t>(q)] = q;
    model = kraus::noise::NoiseModel::from_json_file(KRAUS_SOURCE_DIR "/experiments/noise_models/device_like.json")
                .fitted(qubits);
  }
  const kraus::engine::Program program =
      kraus::engine::compile(layered_circuit(n, !device), model ? &*model : nullptr, options);
  st.counters["calls"] = static_cast<double>(program.forward.size());
  st.counters["sweeps"] = static_cast<double>(program.sweeps.size());
  for (auto _ : st) {
    kraus::engine::run(program, nullptr, nullptr, rho);
    benchmark::ClobberMemory();
  }
  report_passes(st, n, 4.0 * (3 * n - 1));
}
void BM_LayeredProgram(benchmark::State& st) { layered_program(st, false); }
void BM_LayeredDeviceProgram(benchmark::State& st) { layered_program(st, true); }

void program_args(benchmark::internal::Benchmark* b) {
  for (int n = 6; n <= 13; ++n)
    for (int t : {1, 2})
      for (int mode = 0; mode < 4; ++mode) b->Args({n, t, mode});
  b->ArgNames({"n", "threads", "mode"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

void args(benchmark::internal::Benchmark* b) {
  for (int n = 6; n <= 13; ++n)
    for (int t : {1, 2}) b->Args({n, t});
  b->ArgNames({"n", "threads"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

BENCHMARK(BM_StreamTriad)->Apply(args);
BENCHMARK(BM_Gate1q)->Apply(args);
BENCHMARK(BM_Gate2q)->Apply(args);
BENCHMARK(BM_Superoperator2q)->Apply(args);
BENCHMARK(BM_CNOT)->Apply(args);
BENCHMARK(BM_Depolarizing1q)->Apply(args);
BENCHMARK(BM_LayeredCircuit)->Apply(args);
BENCHMARK(BM_LayeredProgram)->Apply(program_args);
BENCHMARK(BM_LayeredDeviceProgram)->Apply(program_args);
BENCHMARK(BM_LayeredNoisyCircuit)->Apply(args);

}  // namespace

BENCHMARK_MAIN();
