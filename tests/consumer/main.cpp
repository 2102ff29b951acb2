// A program outside kraus that uses its noise channels on buffers it owns: a 2-qubit density matrix
// (depolarising, amplitude damping, and the program's own Kraus operators) and a 2-qubit state vector
// (quantum trajectories drawn with the program's own std::mt19937_64). It exits with status 1 when a
// result differs from the values computed by hand below.
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include <kraus/noise/channel.hpp>        // Channel, apply_channel, apply_trajectory_step
#include <kraus/noise/channel_table.hpp>  // the standard channels: amplitude_damping, depolarizing, ...
#include <kraus/noise/kernels.hpp>        // raw-buffer kernels: apply_kraus, apply_depolarizing_1q, ...

namespace noise = kraus::noise;
using noise::Complex;

namespace {

int failures = 0;

void expect_near(const char* what, double got, double want, double tolerance) {
  if (!(std::abs(got - want) <= tolerance)) {
    std::printf("FAIL %s: got %.15g, expected %.15g (tolerance %g)\n", what, got, want, tolerance);
    ++failures;
  }
}

// A uniform double in [0, 1) from 53 random bits (std::uniform_real_distribution may return 1.0
// on some standard libraries, which apply_trajectory_step refuses).
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

}  // namespace

int main() {
  // ---- a density matrix owned by this program --------------------------------------------------
  // 2 qubits, column-major: element (r, c) at r + c * 4; qubit 0 is bit 0 of r.
  const int n = 2;
  const std::size_t dim = std::size_t{1} << n;
  std::vector<Complex> rho(dim * dim, 0.0);
  auto at = [&](std::size_t r, std::size_t c) -> Complex& { return rho[r + c * dim]; };
  // |psi> = (|00> + |01>) / sqrt(2): qubit 0 in |+>, qubit 1 in |0>.
  at(0, 0) = at(0, 1) = at(1, 0) = at(1, 1) = 0.5;

  // Depolarising p = 0.3 on qubit 0 (a fast kernel): the Bloch vector shrinks by 1 - 4p/3 = 0.6.
  noise::apply_depolarizing_1q(rho.data(), n, 0, 0.3);

  // Amplitude damping gamma = 0.4 on qubit 0, as a channel object.
  const noise::Channel damping = noise::amplitude_damping(0.4);
  const int qubit0 = 0;
  noise::apply_channel(rho.data(), n, &qubit0, damping);

  // A bit flip p = 0.25 on qubit 1 from this program's own Kraus operators (row-major 2x2, one after
  // the other): sqrt(0.75) I and sqrt(0.25) X.
  const double a = std::sqrt(0.75), b = std::sqrt(0.25);
  const Complex bit_flip[8] = {a, 0.0, 0.0, a, 0.0, b, b, 0.0};
  const int qubit1 = 1;
  noise::apply_kraus(rho.data(), n, &qubit1, 1, bit_flip, 2);

  // By hand: qubit 0 ends in [[0.7, 0.3 sqrt(0.6)], [0.3 sqrt(0.6), 0.3]] (populations 0.5 + 0.4 * 0.5
  // and 0.6 * 0.5, coherence 0.5 * 0.6 * sqrt(1 - 0.4)), qubit 1 in diag(0.75, 0.25), and rho is
  // their product: rho(r, c) = q1(r1, c1) q0(r0, c0).
  const double coherence = 0.3 * std::sqrt(0.6);
  const double q0[2][2] = {{0.7, coherence}, {coherence, 0.3}};
  const double q1[2][2] = {{0.75, 0.0}, {0.0, 0.25}};
  for (std::size_t r = 0; r < dim; ++r)
    for (std::size_t c = 0; c < dim; ++c) {
      const double want = q1[r >> 1][c >> 1] * q0[r & 1][c & 1];
      char what[32];
      std::snprintf(what, sizeof what, "rho(%zu, %zu)", r, c);
      expect_near(what, at(r, c).real(), want, 1e-12);
      expect_near(what, at(r, c).imag(), 0.0, 1e-12);
    }

  // ---- trajectories on a state vector owned by this program ------------------------------------
  // |11> (index 3) under amplitude damping gamma = 0.4 on qubit 0: with probability 0.4 the decay
  // branch (Kraus operator 1) leaves |10> (index 2), otherwise the state stays |11>.
  std::mt19937_64 rng(2024);
  const int shots = 100000;
  int decays = 0;
  for (int shot = 0; shot < shots; ++shot) {
    std::vector<Complex> psi(dim, 0.0);
    psi[3] = 1.0;
    const int branch = noise::apply_trajectory_step(psi.data(), n, &qubit0, damping, uniform01(rng));
    const std::size_t index = branch == 1 ? 2 : 3;
    if (branch == 1) ++decays;
    if (std::abs(psi[index] - Complex(1.0)) > 1e-12 || std::abs(psi[5 - index]) > 0.0) {
      std::printf("FAIL trajectory %d: branch %d left the wrong state\n", shot, branch);
      ++failures;
      break;
    }
  }
  const double fraction = static_cast<double>(decays) / shots;
  const double sigma = std::sqrt(0.4 * 0.6 / shots);
  expect_near("decay fraction", fraction, 0.4, 5 * sigma);

  std::printf("%s: rho(0,0) = %.6f, decay fraction %.4f over %d trajectories\n", failures == 0 ? "ok" : "FAILED",
              at(0, 0).real(), fraction, shots);
  return failures == 0 ? 0 : 1;
}
