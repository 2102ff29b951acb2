// Quantum trajectories (apply_trajectory_step) against the density-matrix result: branch choice and
// post-measurement states exactly, and the average of |psi><psi| over seeded trajectories within 5
// sigma per element.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kraus/noise/channel.hpp"
#include "kraus/noise/channel_table.hpp"
#include "reference/noise_support.hpp"
#include "reference/test_support.hpp"

namespace {

using kraus::test::to_arma;

namespace ref = kraus::test;
namespace noise = kraus::noise;
using ref::Complex;

constexpr double kTol = 1e-12;

noise::Matrix from_arma(const arma::cx_mat& a) {
  noise::Matrix m(static_cast<int>(a.n_rows), static_cast<int>(a.n_cols));
  for (arma::uword r = 0; r < a.n_rows; ++r)
    for (arma::uword c = 0; c < a.n_cols; ++c) m(static_cast<int>(r), static_cast<int>(c)) = a(r, c);
  return m;
}

// A uniform double in [0, 1) from the caller's generator (53 random bits).
double draw(std::mt19937_64& gen) { return static_cast<double>(gen() >> 11) * 0x1.0p-53; }

struct Step {
  noise::Channel channel;
  std::vector<int> qubits;
};

// The exact density matrix after the steps, by the dense reference.
arma::cx_mat exact(const arma::cx_vec& psi, const std::vector<Step>& steps, int n) {
  arma::cx_mat rho = psi * psi.t();
  for (const Step& s : steps) {
    std::vector<arma::cx_mat> ops;
    for (const noise::Matrix& k : s.channel.kraus()) ops.push_back(to_arma(k));
    rho = ref::apply_kraus(rho, ops, s.qubits, n);
  }
  return rho;
}

// Runs `count` trajectories from psi through the steps and checks every element of the averaged
// |psi><psi| (real and imaginary parts) against the density matrix within 5 standard errors.
void check_average(const arma::cx_vec& psi0, const std::vector<Step>& steps, int n, int count, std::uint64_t seed) {
  const arma::uword d = psi0.n_elem;
  arma::mat sum_re(d, d, arma::fill::zeros), sum_im(d, d, arma::fill::zeros);
  arma::mat sq_re(d, d, arma::fill::zeros), sq_im(d, d, arma::fill::zeros);
  std::mt19937_64 gen(seed);
  for (int t = 0; t < count; ++t) {
    arma::cx_vec psi = psi0;
    for (const Step& s : steps) noise::apply_trajectory_step(psi.memptr(), n, s.qubits.data(), s.channel, draw(gen));
    REQUIRE(std::abs(arma::norm(psi) - 1.0) <= kTol);
    const arma::cx_mat outer = psi * psi.t();
    sum_re += arma::real(outer);
    sum_im += arma::imag(outer);
    sq_re += arma::square(arma::real(outer));
    sq_im += arma::square(arma::imag(outer));
  }
  // The density-matrix engine's answer: apply_channel on the buffer.
  arma::cx_mat rho = psi0 * psi0.t();
  for (const Step& s : steps) noise::apply_channel(rho.memptr(), n, s.qubits.data(), s.channel);
  const arma::cx_mat reference = exact(psi0, steps, n);
  REQUIRE(ref::max_abs_diff(rho, reference) <= kTol);
  const double m = count;
  for (arma::uword r = 0; r < d; ++r)
    for (arma::uword c = 0; c < d; ++c) {
      const double mean_re = sum_re(r, c) / m, mean_im = sum_im(r, c) / m;
      const double var_re = std::max(0.0, sq_re(r, c) / m - mean_re * mean_re);
      const double var_im = std::max(0.0, sq_im(r, c) / m - mean_im * mean_im);
      const double se_re = std::sqrt(var_re / (m - 1)), se_im = std::sqrt(var_im / (m - 1));
      CAPTURE(r, c, mean_re, mean_im, reference(r, c), se_re, se_im);
      CHECK(std::abs(mean_re - reference(r, c).real()) <= 5 * se_re + 1e-12);
      CHECK(std::abs(mean_im - reference(r, c).imag()) <= 5 * se_im + 1e-12);
    }
}

std::vector<double> branch_weights(const arma::cx_vec& psi, const noise::Channel& channel, const std::vector<int>& qubits,
                                   int n) {
  std::vector<double> w;
  for (const noise::Matrix& k : channel.kraus()) {
    const arma::cx_vec v = ref::embed(to_arma(k), qubits, n) * psi;
    w.push_back(std::pow(arma::norm(v), 2));
  }
  return w;
}

}  // namespace

TEST_CASE("trajectory averages converge to the density-matrix result", "[noise][trajectory][statistical]") {
  ref::Rng rng(61);
  const int n = 3;
  const arma::cx_vec psi = ref::random_state_vector(n, rng);
  SECTION("amplitude damping") {
    for (double gamma : {0.3, 0.9}) {
      for (int q = 0; q < n; ++q) {
        CAPTURE(gamma, q);
        check_average(psi, {{noise::amplitude_damping(gamma), {q}}}, n, 20000, 100 + q);
      }
    }
    // The observable: <Z_q> -> (1 - gamma) <Z_q> + gamma, counted from the trajectories' outcomes.
    const double gamma = 0.4;
    const int q = 1;
    std::mt19937_64 gen(7);
    const int count = 40000;
    double sum = 0, sum_sq = 0;
    const noise::Channel ad = noise::amplitude_damping(gamma);
    for (int t = 0; t < count; ++t) {
      arma::cx_vec v = psi;
      noise::apply_trajectory_step(v.memptr(), n, &q, ad, draw(gen));
      double z = 0;
      for (arma::uword i = 0; i < v.n_elem; ++i) z += std::norm(v(i)) * (((i >> q) & 1u) ? -1.0 : 1.0);
      sum += z;
      sum_sq += z * z;
    }
    const arma::cx_mat z_full = ref::embed(ref::pauli('Z'), {q}, n);
    const double z0 = arma::cdot(psi, z_full * psi).real();
    const double mean = sum / count, se = std::sqrt((sum_sq / count - mean * mean) / (count - 1));
    CAPTURE(mean, z0, se);
    CHECK(std::abs(mean - ((1 - gamma) * z0 + gamma)) <= 5 * se);
  }
  SECTION("random isometry channels on 1, 2 and 3 qubits, and a sequence of steps") {
    std::vector<noise::Matrix> ops1, ops2;
    for (const arma::cx_mat& k : ref::random_kraus_operators(2, 3, rng)) ops1.push_back(from_arma(k));
    for (const arma::cx_mat& k : ref::random_kraus_operators(4, 4, rng)) ops2.push_back(from_arma(k));
    const noise::Channel c1 = noise::Channel::from_kraus(ops1), c2 = noise::Channel::from_kraus(ops2);
    check_average(psi, {{c1, {2}}}, n, 20000, 201);
    check_average(psi, {{c2, {2, 0}}}, n, 20000, 202);
    check_average(psi, {{c2, {0, 1}}}, n, 20000, 203);
    check_average(psi, {{noise::amplitude_damping(0.5), {0}}, {c2, {2, 1}}, {c1, {0}}}, n, 20000, 204);
    std::vector<noise::Matrix> ops3;
    for (const arma::cx_mat& k : ref::random_kraus_operators(8, 3, rng)) ops3.push_back(from_arma(k));
    check_average(psi, {{noise::Channel::from_kraus(ops3), {1, 2, 0}}}, n, 20000, 205);
  }
  SECTION("a 3-qubit channel") {
    check_average(psi, {{noise::depolarizing(3, 0.3), {1, 2, 0}}}, n, 20000, 301);
  }
}

TEST_CASE("trajectory branches are chosen with probability ||K_i psi||^2 and renormalised", "[noise][trajectory]") {
  ref::Rng rng(62);
  const int n = 3;
  std::vector<noise::Matrix> ops;
  for (const arma::cx_mat& k : ref::random_kraus_operators(4, 4, rng)) ops.push_back(from_arma(k));
  const noise::Channel channel = noise::Channel::from_kraus(ops);
  const std::vector<int> qubits = {2, 0};
  const arma::cx_vec psi = ref::random_state_vector(n, rng);
  const std::vector<double> w = branch_weights(psi, channel, qubits, n);
  double total = 0;
  for (double x : w) total += x;
  REQUIRE(std::abs(total - 1.0) <= kTol);

  SECTION("the uniform draw selects the branch by cumulative weight; the state is K_i psi / ||K_i psi||") {
    double cumulative = 0;
    for (std::size_t i = 0; i < w.size(); ++i) {
      const double lo = cumulative;
      cumulative += w[i];
      for (double u : {lo + 1e-9, 0.5 * (lo + cumulative), cumulative - 1e-9}) {
        CAPTURE(i, u);
        arma::cx_vec v = psi;
        const int chosen = noise::apply_trajectory_step(v.memptr(), n, qubits.data(), channel, u);
        REQUIRE(chosen == static_cast<int>(i));
        const arma::cx_vec expected = ref::embed(to_arma(ops[i]), qubits, n) * psi / std::sqrt(w[i]);
        CHECK(arma::abs(v - expected).max() <= kTol);
      }
    }
  }
  SECTION("branch frequencies match the weights within 5 sigma") {
    const int count = 100000;
    std::vector<int> hits(w.size(), 0);
    std::mt19937_64 gen(99);
    for (int t = 0; t < count; ++t) {
      arma::cx_vec v = psi;
      ++hits[static_cast<std::size_t>(noise::apply_trajectory_step(v.memptr(), n, qubits.data(), channel, draw(gen)))];
    }
    for (std::size_t i = 0; i < w.size(); ++i) {
      const double sigma = std::sqrt(count * w[i] * (1 - w[i]));
      CAPTURE(i, hits[i], count * w[i], sigma);
      CHECK(std::abs(hits[i] - count * w[i]) <= 5 * sigma);
    }
  }
  SECTION("a branch of weight zero is never chosen") {
    // Amplitude damping on |000>: the decay branch has weight 0, even for u just below 1.
    arma::cx_vec zero(8, arma::fill::zeros);
    zero(0) = 1;
    const noise::Channel ad = noise::amplitude_damping(0.7);
    for (double u : {0.0, 0.5, 0.999, std::nextafter(1.0, 0.0)}) {
      CAPTURE(u);
      arma::cx_vec v = zero;
      const int q = 1;
      CHECK(noise::apply_trajectory_step(v.memptr(), n, &q, ad, u) == 0);
      CHECK(arma::abs(v - zero).max() <= kTol);
    }
    // On |010> with gamma = 1 only the decay branch has weight: it is chosen for every u.
    arma::cx_vec one(8, arma::fill::zeros);
    one(2) = 1;
    const noise::Channel reset = noise::amplitude_damping(1.0);
    for (double u : {0.0, 0.3, std::nextafter(1.0, 0.0)}) {
      CAPTURE(u);
      arma::cx_vec v = one;
      const int q = 1;
      CHECK(noise::apply_trajectory_step(v.memptr(), n, &q, reset, u) == 1);
      CHECK(std::abs(v(0) - 1.0) <= kTol);
    }
  }
}

TEST_CASE("apply_trajectory_step validates its arguments", "[noise][trajectory][validation]") {
  arma::cx_vec psi(8, arma::fill::zeros);
  psi(3) = 1;
  const noise::Channel ad = noise::amplitude_damping(0.2);
  const int q0 = 0, q_out = 3;
  const int repeated[] = {1, 1};
  CHECK_THROWS_AS(noise::apply_trajectory_step(psi.memptr(), 3, &q0, ad, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(noise::apply_trajectory_step(psi.memptr(), 3, &q0, ad, -0.1), std::invalid_argument);
  CHECK_THROWS_AS(noise::apply_trajectory_step(psi.memptr(), 3, &q0, ad, std::nan("")), std::invalid_argument);
  CHECK_THROWS_AS(noise::apply_trajectory_step(psi.memptr(), 3, &q_out, ad, 0.5), std::invalid_argument);
  CHECK_THROWS_AS(noise::apply_trajectory_step(psi.memptr(), 3, repeated, noise::depolarizing(2, 0.1), 0.5),
                  std::invalid_argument);
  CHECK_THROWS_AS(noise::apply_trajectory_step(nullptr, 3, &q0, ad, 0.5), std::invalid_argument);
  arma::cx_vec zero(8, arma::fill::zeros);
  CHECK_THROWS_AS(noise::apply_trajectory_step(zero.memptr(), 3, &q0, ad, 0.5), std::invalid_argument);
}
