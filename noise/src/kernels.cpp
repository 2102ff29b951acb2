#include "kraus/noise/kernels.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "bitwise.hpp"

namespace kraus::noise {
namespace {

using detail::block_offsets;
using detail::insert_zero_bits;
using detail::touched_bits;

// ---- validation ----------------------------------------------------------------------------------

void validate_state(const Complex* rho, int num_qubits) {
  if (rho == nullptr) throw std::invalid_argument("density matrix pointer is null");
  if (num_qubits < 1 || num_qubits > kMaxQubits) {
    throw std::invalid_argument("number of qubits " + std::to_string(num_qubits) +
                                " is outside [1, " + std::to_string(kMaxQubits) + "]");
  }
}

void validate_targets(int num_qubits, const int* qubits, int k, int max_k) {
  if (k < 1 || k > max_k || k > num_qubits) {
    throw std::invalid_argument("operation on " + std::to_string(k) + " qubits is not supported on " +
                                std::to_string(num_qubits) + " qubits (at most " +
                                std::to_string(max_k) + ")");
  }
  for (int j = 0; j < k; ++j) {
    if (qubits[j] < 0 || qubits[j] >= num_qubits) {
      throw std::invalid_argument("qubit " + std::to_string(qubits[j]) + " is out of range [0, " +
                                  std::to_string(num_qubits - 1) + "]");
    }
    for (int i = 0; i < j; ++i) {
      if (qubits[i] == qubits[j]) {
        throw std::invalid_argument("qubit " + std::to_string(qubits[j]) +
                                    " is repeated in the target list");
      }
    }
  }
}

void validate_probability(double p, const char* name) {
  if (!(p >= 0.0 && p <= 1.0)) {
    throw std::invalid_argument(std::string(name) + " = " + std::to_string(p) +
                                " is outside [0, 1]");
  }
}

// max-abs of sum_i A_i^dagger A_i - I (for a unitary, one operator).
double completeness_error(const Complex* ops, int num_ops, int dim) {
  double worst = 0.0;
  for (int r = 0; r < dim; ++r) {
    for (int c = 0; c < dim; ++c) {
      Complex s = 0.0;
      for (int i = 0; i < num_ops; ++i) {
        const Complex* a = ops + static_cast<std::ptrdiff_t>(i) * dim * dim;
        for (int m = 0; m < dim; ++m) s += std::conj(a[m * dim + r]) * a[m * dim + c];
      }
      worst = std::max(worst, std::abs(s - (r == c ? 1.0 : 0.0)));
    }
  }
  return worst;
}

bool parallel(int num_qubits) { return num_qubits >= kParallelMinQubits; }

std::int64_t num_blocks(int num_qubits, int k) {
  return std::int64_t{1} << (2 * (num_qubits - k));
}

// ---- 1-qubit general unitary: the hot path ------------------------------------------------------

void unitary_1q(Complex* rho, int n, int q, const Complex* u) {
  double* x = reinterpret_cast<double*>(rho);
  const std::uint64_t sr = std::uint64_t{1} << q;        // row bit
  const std::uint64_t sc = std::uint64_t{1} << (q + n);  // column bit
  const std::array<int, 2> bits{q, q + n};
  const double u00r = u[0].real(), u00i = u[0].imag(), u01r = u[1].real(), u01i = u[1].imag();
  const double u10r = u[2].real(), u10i = u[2].imag(), u11r = u[3].real(), u11i = u[3].imag();
  const std::int64_t blocks = num_blocks(n, 1);
#pragma omp parallel for schedule(static) if (parallel(n))
  for (std::int64_t m = 0; m < blocks; ++m) {
    const std::uint64_t i00 = insert_zero_bits(static_cast<std::uint64_t>(m), bits);
    const std::uint64_t i10 = i00 + sr, i01 = i00 + sc, i11 = i00 + sr + sc;
    const double b00r = x[2 * i00], b00i = x[2 * i00 + 1], b10r = x[2 * i10], b10i = x[2 * i10 + 1];
    const double b01r = x[2 * i01], b01i = x[2 * i01 + 1], b11r = x[2 * i11], b11i = x[2 * i11 + 1];
    // T = U B
    const double t00r = u00r * b00r - u00i * b00i + u01r * b10r - u01i * b10i;
    const double t00i = u00r * b00i + u00i * b00r + u01r * b10i + u01i * b10r;
    const double t10r = u10r * b00r - u10i * b00i + u11r * b10r - u11i * b10i;
    const double t10i = u10r * b00i + u10i * b00r + u11r * b10i + u11i * b10r;
    const double t01r = u00r * b01r - u00i * b01i + u01r * b11r - u01i * b11i;
    const double t01i = u00r * b01i + u00i * b01r + u01r * b11i + u01i * b11r;
    const double t11r = u10r * b01r - u10i * b01i + u11r * b11r - u11i * b11i;
    const double t11i = u10r * b01i + u10i * b01r + u11r * b11i + u11i * b11r;
    // B' = T U^dagger: B'(a, b) = T(a, 0) conj(U(b, 0)) + T(a, 1) conj(U(b, 1))
    x[2 * i00] = t00r * u00r + t00i * u00i + t01r * u01r + t01i * u01i;
    x[2 * i00 + 1] = t00i * u00r - t00r * u00i + t01i * u01r - t01r * u01i;
    x[2 * i01] = t00r * u10r + t00i * u10i + t01r * u11r + t01i * u11i;
    x[2 * i01 + 1] = t00i * u10r - t00r * u10i + t01i * u11r - t01r * u11i;
    x[2 * i10] = t10r * u00r + t10i * u00i + t11r * u01r + t11i * u01i;
    x[2 * i10 + 1] = t10i * u00r - t10r * u00i + t11i * u01r - t11r * u01i;
    x[2 * i11] = t10r * u10r + t10i * u10i + t11r * u11r + t11i * u11i;
    x[2 * i11 + 1] = t10i * u10r - t10r * u10i + t11i * u11r - t11r * u11i;
  }
}

// ---- generic block kernels (k qubits) ----------------------------------------------------------

// rho <- U rho U^dagger, gathering each 2^K x 2^K block.
template <int K>
void unitary_block(Complex* rho, int n, const int* qubits, const Complex* u) {
  constexpr int kDim = 1 << K;
  const auto bits = touched_bits<K>(n, qubits);
  const auto off = block_offsets<K>(n, qubits);
  const std::int64_t blocks = num_blocks(n, K);
#pragma omp parallel for schedule(static) if (parallel(n))
  for (std::int64_t m = 0; m < blocks; ++m) {
    const std::uint64_t base = insert_zero_bits(static_cast<std::uint64_t>(m), bits);
    Complex b[kDim][kDim], t[kDim][kDim];
    for (int c = 0; c < kDim; ++c)
      for (int r = 0; r < kDim; ++r) b[r][c] = rho[base + off[r + c * kDim]];
    for (int r = 0; r < kDim; ++r)
      for (int c = 0; c < kDim; ++c) {
        Complex s = 0.0;
        for (int j = 0; j < kDim; ++j) s += u[r * kDim + j] * b[j][c];
        t[r][c] = s;
      }
    for (int r = 0; r < kDim; ++r)
      for (int c = 0; c < kDim; ++c) {
        Complex s = 0.0;
        for (int j = 0; j < kDim; ++j) s += t[r][j] * std::conj(u[c * kDim + j]);
        rho[base + off[r + c * kDim]] = s;
      }
  }
}

// Diagonal U = diag(d): element (a, b) of each block is multiplied by d[a] conj(d[b]).
template <int K>
void diagonal_block(Complex* rho, int n, const int* qubits, const Complex* u) {
  constexpr int kDim = 1 << K;
  Complex factor[kDim * kDim];
  for (int b = 0; b < kDim; ++b)
    for (int a = 0; a < kDim; ++a)
      factor[a + b * kDim] = u[a * kDim + a] * std::conj(u[b * kDim + b]);
  const auto bits = touched_bits<K>(n, qubits);
  const auto off = block_offsets<K>(n, qubits);
  const std::int64_t blocks = num_blocks(n, K);
#pragma omp parallel for schedule(static) if (parallel(n))
  for (std::int64_t m = 0; m < blocks; ++m) {
    const std::uint64_t base = insert_zero_bits(static_cast<std::uint64_t>(m), bits);
    for (int e = 0; e < kDim * kDim; ++e) {
      if (factor[e] != Complex(1.0, 0.0)) rho[base + off[e]] *= factor[e];
    }
  }
}

// Monomial U (U(perm[a], a) = phase[a], zero elsewhere): B'(perm a, perm b) = phase a conj(phase b) B(a, b).
template <int K>
void monomial_block(Complex* rho, int n, const int* qubits, const int* perm, const Complex* phase) {
  constexpr int kDim = 1 << K;
  Complex factor[kDim * kDim];
  int dest[kDim * kDim];
  bool trivial = true;
  for (int b = 0; b < kDim; ++b)
    for (int a = 0; a < kDim; ++a) {
      factor[a + b * kDim] = phase[a] * std::conj(phase[b]);
      dest[a + b * kDim] = perm[a] + perm[b] * kDim;
      trivial = trivial && factor[a + b * kDim] == Complex(1.0, 0.0);
    }
  const auto bits = touched_bits<K>(n, qubits);
  const auto off = block_offsets<K>(n, qubits);
  const std::int64_t blocks = num_blocks(n, K);
#pragma omp parallel for schedule(static) if (parallel(n))
  for (std::int64_t m = 0; m < blocks; ++m) {
    const std::uint64_t base = insert_zero_bits(static_cast<std::uint64_t>(m), bits);
    Complex b[kDim * kDim];
    for (int e = 0; e < kDim * kDim; ++e) b[e] = rho[base + off[e]];
    if (trivial) {
      for (int e = 0; e < kDim * kDim; ++e) rho[base + off[dest[e]]] = b[e];
    } else {
      for (int e = 0; e < kDim * kDim; ++e) rho[base + off[dest[e]]] = factor[e] * b[e];
    }
  }
}

// vec(B) <- S vec(B) on each block.
template <int K>
void superoperator_block(Complex* rho, int n, const int* qubits, const Complex* s) {
  constexpr int kElems = 1 << (2 * K);
  const auto bits = touched_bits<K>(n, qubits);
  const auto off = block_offsets<K>(n, qubits);
  const std::int64_t blocks = num_blocks(n, K);
#pragma omp parallel for schedule(static) if (parallel(n))
  for (std::int64_t m = 0; m < blocks; ++m) {
    const std::uint64_t base = insert_zero_bits(static_cast<std::uint64_t>(m), bits);
    Complex v[kElems];
    for (int e = 0; e < kElems; ++e) v[e] = rho[base + off[e]];
    for (int r = 0; r < kElems; ++r) {
      Complex acc = 0.0;
      for (int e = 0; e < kElems; ++e) acc += s[r * kElems + e] * v[e];
      rho[base + off[r]] = acc;
    }
  }
}

// 1-qubit channels whose superoperator does not mix populations with coherences and has real
// coefficients: (B00, B11) <- P (B00, B11) and (B01, B10) <- C (B01, B10), with P, C real 2x2
// row-major. Depolarising, Pauli, damping, measurement and reset are all of this form.
void real_block_channel_1q(Complex* rho, int n, int q, const double* p, const double* c) {
  const std::uint64_t sr = std::uint64_t{1} << q;
  const std::uint64_t sc = std::uint64_t{1} << (q + n);
  const std::array<int, 2> bits{q, q + n};
  const std::int64_t blocks = num_blocks(n, 1);
  const double p00 = p[0], p01 = p[1], p10 = p[2], p11 = p[3];
  const double c00 = c[0], c01 = c[1], c10 = c[2], c11 = c[3];
#pragma omp parallel for schedule(static) if (parallel(n))
  for (std::int64_t m = 0; m < blocks; ++m) {
    const std::uint64_t i00 = insert_zero_bits(static_cast<std::uint64_t>(m), bits);
    const std::uint64_t i10 = i00 + sr, i01 = i00 + sc, i11 = i00 + sr + sc;
    const Complex b00 = rho[i00], b11 = rho[i11], b01 = rho[i01], b10 = rho[i10];
    rho[i00] = p00 * b00 + p01 * b11;
    rho[i11] = p10 * b00 + p11 * b11;
    rho[i01] = c00 * b01 + c01 * b10;
    rho[i10] = c10 * b01 + c11 * b10;
  }
}

// Classifies U as diagonal or monomial (exact zeros only).
bool is_diagonal(const Complex* u, int dim) {
  for (int r = 0; r < dim; ++r)
    for (int c = 0; c < dim; ++c)
      if (r != c && u[r * dim + c] != 0.0) return false;
  return true;
}

bool as_monomial(const Complex* u, int dim, int* perm, Complex* phase) {
  std::vector<int> hits(static_cast<std::size_t>(dim), 0);
  for (int c = 0; c < dim; ++c) {
    int found = -1;
    for (int r = 0; r < dim; ++r) {
      if (u[r * dim + c] != 0.0) {
        if (found >= 0) return false;
        found = r;
      }
    }
    if (found < 0 || hits[static_cast<std::size_t>(found)]++ > 0) return false;
    perm[c] = found;
    phase[c] = u[found * dim + c];
  }
  return true;
}

template <int K>
void dispatch_unitary(Complex* rho, int n, const int* qubits, const Complex* u) {
  constexpr int kDim = 1 << K;
  int perm[kDim];
  Complex phase[kDim];
  if (is_diagonal(u, kDim)) {
    diagonal_block<K>(rho, n, qubits, u);
  } else if (as_monomial(u, kDim, perm, phase)) {
    monomial_block<K>(rho, n, qubits, perm, phase);
  } else if constexpr (K == 1) {
    unitary_1q(rho, n, qubits[0], u);
  } else {
    unitary_block<K>(rho, n, qubits, u);
  }
}

}  // namespace

void apply_unitary(Complex* rho, int num_qubits, const int* qubits, int k, const Complex* u,
                   double unitarity_tolerance) {
  validate_state(rho, num_qubits);
  validate_targets(num_qubits, qubits, k, 3);
  if (u == nullptr) throw std::invalid_argument("unitary matrix pointer is null");
  const int dim = 1 << k;
  if (unitarity_tolerance >= 0.0) {
    const double err = completeness_error(u, 1, dim);
    if (!(err <= unitarity_tolerance)) {
      throw std::invalid_argument("matrix is not unitary: max |U^dagger U - I| = " +
                                  std::to_string(err) + " exceeds tolerance " +
                                  std::to_string(unitarity_tolerance));
    }
  }
  switch (k) {
    case 1: dispatch_unitary<1>(rho, num_qubits, qubits, u); break;
    case 2: dispatch_unitary<2>(rho, num_qubits, qubits, u); break;
    default: dispatch_unitary<3>(rho, num_qubits, qubits, u); break;
  }
}

void apply_superoperator(Complex* rho, int num_qubits, const int* qubits, int k, const Complex* s) {
  validate_state(rho, num_qubits);
  validate_targets(num_qubits, qubits, k, 2);
  if (s == nullptr) throw std::invalid_argument("superoperator pointer is null");
  if (k == 1) {
    superoperator_block<1>(rho, num_qubits, qubits, s);
  } else {
    superoperator_block<2>(rho, num_qubits, qubits, s);
  }
}

void apply_kraus(Complex* rho, int num_qubits, const int* qubits, int k, const Complex* operators,
                 int num_operators, double cptp_tolerance) {
  validate_state(rho, num_qubits);
  validate_targets(num_qubits, qubits, k, 2);
  if (operators == nullptr || num_operators < 1) {
    throw std::invalid_argument("a Kraus channel needs at least one operator");
  }
  const int dim = 1 << k;
  if (cptp_tolerance >= 0.0) {
    const double err = completeness_error(operators, num_operators, dim);
    if (!(err <= cptp_tolerance)) {
      throw std::invalid_argument("Kraus operators are not trace preserving: max |sum K^dagger K - I| = " +
                                  std::to_string(err) + " exceeds tolerance " +
                                  std::to_string(cptp_tolerance));
    }
  }
  // S[(a + b d), (a' + b' d)] = sum_i K_i(a, a') conj(K_i(b, b')) for vec(B)[a + b d] = B(a, b).
  const int sd = dim * dim;
  std::vector<Complex> s(static_cast<std::size_t>(sd * sd), 0.0);
  for (int i = 0; i < num_operators; ++i) {
    const Complex* kr = operators + static_cast<std::ptrdiff_t>(i) * sd;
    for (int b = 0; b < dim; ++b)
      for (int a = 0; a < dim; ++a)
        for (int b2 = 0; b2 < dim; ++b2)
          for (int a2 = 0; a2 < dim; ++a2)
            s[static_cast<std::size_t>((a + b * dim) * sd + a2 + b2 * dim)] +=
                kr[a * dim + a2] * std::conj(kr[b * dim + b2]);
  }
  apply_superoperator(rho, num_qubits, qubits, k, s.data());
}

void apply_pauli_1q(Complex* rho, int num_qubits, int qubit, double px, double py, double pz) {
  validate_state(rho, num_qubits);
  validate_targets(num_qubits, &qubit, 1, 1);
  validate_probability(px, "px");
  validate_probability(py, "py");
  validate_probability(pz, "pz");
  const double pi = 1.0 - px - py - pz;
  if (pi < -1e-12) {
    throw std::invalid_argument("Pauli probabilities px + py + pz = " + std::to_string(px + py + pz) +
                                " exceed 1");
  }
  const double p[4] = {pi + pz, px + py, px + py, pi + pz};
  const double c[4] = {pi - pz, px - py, px - py, pi - pz};
  real_block_channel_1q(rho, num_qubits, qubit, p, c);
}

void apply_depolarizing_1q(Complex* rho, int num_qubits, int qubit, double p) {
  validate_probability(p, "depolarizing p");
  apply_pauli_1q(rho, num_qubits, qubit, p / 3.0, p / 3.0, p / 3.0);
}

void apply_amplitude_damping_1q(Complex* rho, int num_qubits, int qubit, double gamma) {
  validate_state(rho, num_qubits);
  validate_targets(num_qubits, &qubit, 1, 1);
  validate_probability(gamma, "amplitude damping gamma");
  const double s = std::sqrt(1.0 - gamma);
  const double p[4] = {1.0, gamma, 0.0, 1.0 - gamma};
  const double c[4] = {s, 0.0, 0.0, s};
  real_block_channel_1q(rho, num_qubits, qubit, p, c);
}

void apply_phase_damping_1q(Complex* rho, int num_qubits, int qubit, double lambda) {
  validate_state(rho, num_qubits);
  validate_targets(num_qubits, &qubit, 1, 1);
  validate_probability(lambda, "phase damping lambda");
  const double s = std::sqrt(1.0 - lambda);
  const double p[4] = {1.0, 0.0, 0.0, 1.0};
  const double c[4] = {s, 0.0, 0.0, s};
  real_block_channel_1q(rho, num_qubits, qubit, p, c);
}

void apply_measurement_1q(Complex* rho, int num_qubits, int qubit) {
  apply_phase_damping_1q(rho, num_qubits, qubit, 1.0);
}

void apply_reset_1q(Complex* rho, int num_qubits, int qubit) {
  apply_amplitude_damping_1q(rho, num_qubits, qubit, 1.0);
}

}  // namespace kraus::noise
