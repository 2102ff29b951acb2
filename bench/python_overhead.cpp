// The C++ side of bench/python_overhead.py: the time of one call of noise::apply_channel (the
// raw-buffer kernel kraus.apply_channel calls) for a 1-qubit channel on an n-qubit density matrix.
//
//   kraus_python_overhead N CALLS REPEATS CHANNEL QUBIT
//
// CHANNEL: depolarizing (p = 0.01) or amplitude_damping (gamma = 0.1). Prints one line per repeat:
// the mean nanoseconds per call over CALLS calls (the Python script takes the median).
#include <chrono>
#include <complex>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kraus/noise/channel.hpp"
#include "kraus/noise/channel_table.hpp"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s N CALLS REPEATS depolarizing|amplitude_damping QUBIT\n", argv[0]);
    return 2;
  }
  const int n = std::atoi(argv[1]);
  const long calls = std::atol(argv[2]);
  const int repeats = std::atoi(argv[3]);
  const std::string name = argv[4];
  const int qubit = std::atoi(argv[5]);
  const kraus::noise::Channel channel =
      name == "depolarizing" ? kraus::noise::depolarizing(1, 0.01) : kraus::noise::amplitude_damping(0.1);
  const std::size_t dim = std::size_t{1} << n;
  std::vector<std::complex<double>> rho(dim * dim);  // |0><0|, as the Python script's array
  rho[0] = 1.0;
  for (long i = 0; i < 3; ++i) kraus::noise::apply_channel(rho.data(), n, &qubit, channel);  // warm-up
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < calls; ++i) kraus::noise::apply_channel(rho.data(), n, &qubit, channel);
    const auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    std::printf("%.1f\n", ns / static_cast<double>(calls));
  }
  return rho[0].real() > -1.0 ? 0 : 1;
}
