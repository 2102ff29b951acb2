// OpenQASM 2 reader throughput: parse_qasm2 on an in-memory program of about 4 MB (100k+ lines of
// mixed gates with parameter expressions, user-gate calls, broadcasts, comments and measurements),
// reported as bytes_per_second (of source text) and operations per second.
//
//   build/bench/kraus_bench_qasm --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "kraus/engine/qasm2.hpp"

namespace {

// A deterministic program of at least `target_bytes` bytes on 20 qubits.
std::string make_program(std::size_t target_bytes) {
  std::string s =
      "OPENQASM 2.0;\n"
      "include \"qelib1.inc\";\n"
      "// generated for the parser benchmark\n"
      "gate layer(a, b) x, y { rz(a / 2) x; ry(-b * pi / 4) y; cx x, y; }\n"
      "gate block(t) x, y, z { layer(t, 2 * t) x, y; layer(-t, t ^ 2) y, z; ccx x, y, z; }\n"
      "qreg q[20];\n"
      "creg c[20];\n";
  std::uint32_t state = 12345;
  auto next = [&state](std::uint32_t n) {
    state = state * 1664525u + 1013904223u;
    return (state >> 8) % n;
  };
  auto qubit = [](std::uint32_t k) { return "q[" + std::to_string(k) + "]"; };
  std::size_t line = 0;
  while (s.size() < target_bytes) {
    const std::uint32_t a = next(20);
    std::uint32_t b = next(19);
    if (b >= a) ++b;
    std::uint32_t c = next(18);
    while (c == a || c == b) c = (c + 1) % 20;
    switch (line++ % 12) {
      case 0: s += "h " + qubit(a) + ";\n"; break;
      case 1: s += "rz(0.123456789 * pi / 2) " + qubit(a) + ";\n"; break;
      case 2: s += "cx " + qubit(a) + ", " + qubit(b) + ";\n"; break;
      case 3: s += "u3(1.5707963267948966, -0.5 * pi, pi / 4 + 1e-3) " + qubit(a) + ";\n"; break;
      case 4: s += "layer(pi / 3, 2 ^ 0.5) " + qubit(a) + ", " + qubit(b) + ";\n"; break;
      case 5: s += "// a comment line, as exporters write them: layer " + std::to_string(line) + "\n"; break;
      case 6: s += "cp(-pi / 8) " + qubit(a) + ", " + qubit(b) + ";  // trailing comment\n"; break;
      case 7: s += "block(0.25) " + qubit(a) + ", " + qubit(b) + ", " + qubit(c) + ";\n"; break;
      case 8: s += "rx(sin(0.3) * cos(0.2) - sqrt(2) / 7) " + qubit(a) + ";\n"; break;
      case 9: s += "sx " + qubit(a) + ";\n"; break;
      case 10: s += "rzz(-(pi - 0.5) / 2) " + qubit(a) + ", " + qubit(b) + ";\n"; break;
      case 11: s += (line % 240 == 0 ? std::string("barrier q;\n") : "measure " + qubit(a) + " -> c[" +
                                                                      std::to_string(a) + "];\n"); break;
    }
  }
  return s;
}

void BM_ParseQasm2(benchmark::State& st) {
  const std::string program = make_program(static_cast<std::size_t>(st.range(0)));
  std::size_t ops = 0;
  for (auto _ : st) {
    const kraus::engine::Circuit c = kraus::engine::parse_qasm2(program, "bench.qasm");
    ops = c.operations().size();
    benchmark::DoNotOptimize(ops);
  }
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations()) * static_cast<std::int64_t>(program.size()));
  st.counters["source_MB"] = static_cast<double>(program.size()) / 1e6;
  st.counters["operations"] = static_cast<double>(ops);
  st.counters["ops_per_second"] =
      benchmark::Counter(static_cast<double>(ops) * static_cast<double>(st.iterations()), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(BM_ParseQasm2)->Arg(4 << 20)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();

BENCHMARK_MAIN();
