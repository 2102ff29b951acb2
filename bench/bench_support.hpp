// Shared by the benchmark binaries: the (qubits, threads) arguments, effective bandwidth, and the
// STREAM-triad anchor measured in the same run.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <vector>

#include "kraus/engine/density_matrix.hpp"

namespace kraus::bench {

// Every benchmark takes (qubits n, threads, ...): sets the kernels' threads and records both.
inline void set_threads(benchmark::State& st) {
  kraus::engine::set_num_threads(static_cast<int>(st.range(1)));
  st.counters["threads"] = static_cast<double>(st.range(1));
  st.counters["qubits"] = static_cast<double>(st.range(0));
}

// bytes_per_second for `passes_per_iteration` passes that each read and write `state_bytes`.
inline void report_passes(benchmark::State& st, double state_bytes, double passes_per_iteration) {
  st.SetBytesProcessed(
      static_cast<std::int64_t>(static_cast<double>(st.iterations()) * 2.0 * state_bytes * passes_per_iteration));
}

// STREAM triad a[i] = b[i] + s * c[i] on three double arrays of `len` doubles each (allocated once
// per length). Bytes counted as STREAM does: 3 arrays per pass (no write-allocate).
inline void stream_triad(benchmark::State& st, std::int64_t len) {
  static std::map<std::int64_t, std::vector<double>> arrays[3];
  auto &a = arrays[0][len], &b = arrays[1][len], &c = arrays[2][len];
  if (a.empty()) {
    a.assign(static_cast<std::size_t>(len), 0.0);
    b.assign(static_cast<std::size_t>(len), 1.0);
    c.assign(static_cast<std::size_t>(len), 2.0);
  }
  double* pa = a.data();
  const double* pb = b.data();
  const double* pc = c.data();
  for (auto _ : st) {
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < len; ++i) pa[i] = pb[i] + 3.0 * pc[i];
    benchmark::ClobberMemory();
  }
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations()) * 3 * len * 8);
}

}  // namespace kraus::bench
