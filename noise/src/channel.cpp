#include "kraus/noise/channel.hpp"
#include "kraus/noise/kernel_call.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "bitwise.hpp"
#include "kernels_detail.hpp"

namespace kraus::noise {
namespace {

int qubits_of_dim(int dim, const char* what) {
  int k = 0;
  while ((1 << k) < dim) ++k;
  if (dim < 2 || (1 << k) != dim || k > 3) {
    throw std::invalid_argument(std::string(what) + " has dimension " + std::to_string(dim) +
                                ", expected 2, 4 or 8 (1 to 3 qubits)");
  }
  return k;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

// Kraus operators from a Choi matrix (Lambda(a + i d, b + j d) = sum_k K_k(a, i) conj(K_k(b, j))).
std::vector<Matrix> kraus_from_choi(const Matrix& choi, int dim, double tolerance) {
  const HermitianEigen eig = eigh(0.5 * (choi + choi.adjoint()));
  if (eig.values.front() < -tolerance) {
    throw std::invalid_argument("map is not completely positive: Choi matrix has eigenvalue " +
                                fmt(eig.values.front()) + " < 0");
  }
  std::vector<Matrix> ops;
  for (int j = static_cast<int>(eig.values.size()) - 1; j >= 0; --j) {
    const double lambda = eig.values[static_cast<std::size_t>(j)];
    if (lambda <= tolerance) break;
    Matrix k(dim, dim);
    const double s = std::sqrt(lambda);
    for (int i = 0; i < dim; ++i)
      for (int a = 0; a < dim; ++a) k(a, i) = s * eig.vectors(a + i * dim, j);
    ops.push_back(std::move(k));
  }
  if (ops.empty()) throw std::invalid_argument("map is zero: it has no Kraus operator");
  return ops;
}

Matrix superop_from_kraus(const std::vector<Matrix>& ops) {
  const int d = ops.front().rows();
  Matrix s(d * d, d * d);
  for (const Matrix& k : ops) s += kron(k.conj(), k);
  return s;
}

// Pauli basis as columns: B(:, j) = vec(P_j).
Matrix pauli_basis(int k) {
  const int d = 1 << k, n = d * d;
  Matrix b(n, n);
  for (int j = 0; j < n; ++j) {
    const Matrix p = pauli_matrix(j, k);
    for (int col = 0; col < d; ++col)
      for (int row = 0; row < d; ++row) b(row + col * d, j) = p(row, col);
  }
  return b;
}

// Choi(a + i d, b + j d) = S(a + b d, i + j d): the reshuffling between the two.
Matrix reshuffle(const Matrix& m, int d) {
  Matrix out(d * d, d * d);
  for (int a = 0; a < d; ++a)
    for (int b = 0; b < d; ++b)
      for (int i = 0; i < d; ++i)
        for (int j = 0; j < d; ++j) out(a + i * d, b + j * d) = m(a + b * d, i + j * d);
  return out;
}

}  // namespace

double trace_preservation_error(const std::vector<Matrix>& operators) {
  if (operators.empty()) return 1.0;
  const int d = operators.front().rows();
  Matrix sum(d, d);
  for (const Matrix& k : operators) sum += k.adjoint() * k;
  return (sum - Matrix::identity(d)).max_abs();
}

Channel::Channel(int num_qubits, std::vector<Matrix> kraus)
    : num_qubits_(num_qubits), kraus_(std::move(kraus)), superop_(superop_from_kraus(kraus_)) {}

Channel Channel::from_kraus(std::vector<Matrix> operators, double tolerance) {
  if (operators.empty()) throw std::invalid_argument("a Kraus channel needs at least one operator");
  const int d = operators.front().rows();
  const int k = qubits_of_dim(d, "Kraus operator");
  for (std::size_t i = 0; i < operators.size(); ++i) {
    if (operators[i].rows() != d || operators[i].cols() != d) {
      throw std::invalid_argument("Kraus operator " + std::to_string(i) + " is " + std::to_string(operators[i].rows()) +
                                  "x" + std::to_string(operators[i].cols()) + ", expected " + std::to_string(d) + "x" +
                                  std::to_string(d));
    }
  }
  const double err = trace_preservation_error(operators);
  if (!(err <= tolerance)) {
    throw std::invalid_argument("Kraus operators are not trace preserving: max |sum K^dagger K - I| = " + fmt(err) +
                                " exceeds the tolerance " + fmt(tolerance));
  }
  return Channel(k, std::move(operators));
}

Channel Channel::from_unitary(const Matrix& u, double tolerance) {
  const double err = trace_preservation_error({u});
  if (!(err <= tolerance)) {
    throw std::invalid_argument("matrix is not unitary: max |U^dagger U - I| = " + fmt(err));
  }
  return from_kraus({u}, tolerance);
}

Channel Channel::from_superoperator(const Matrix& superop, double tolerance) {
  const int n = superop.rows();
  int d = 1;
  while (d * d < n) ++d;
  if (superop.cols() != n || d * d != n) {
    throw std::invalid_argument("superoperator must be 4^k x 4^k, got " + std::to_string(superop.rows()) + "x" +
                                std::to_string(superop.cols()));
  }
  qubits_of_dim(d, "superoperator");
  return from_choi(reshuffle(superop, d), tolerance);
}

Channel Channel::from_choi(const Matrix& choi, double tolerance) {
  const int n = choi.rows();
  int d = 1;
  while (d * d < n) ++d;
  if (choi.cols() != n || d * d != n) {
    throw std::invalid_argument("Choi matrix must be 4^k x 4^k, got " + std::to_string(choi.rows()) + "x" +
                                std::to_string(choi.cols()));
  }
  qubits_of_dim(d, "Choi matrix");
  const double herm = (choi - choi.adjoint()).max_abs();
  if (!(herm <= tolerance)) {
    throw std::invalid_argument("Choi matrix is not Hermitian (max |C - C^dagger| = " + fmt(herm) +
                                "): the map is not completely positive");
  }
  return from_kraus(kraus_from_choi(choi, d, tolerance), tolerance);
}

Channel Channel::from_ptm(const Matrix& ptm, double tolerance) {
  const int n = ptm.rows();
  int k = 0;
  while ((1 << (2 * k)) < n) ++k;
  if (ptm.cols() != n || (1 << (2 * k)) != n || k < 1 || k > 3) {
    throw std::invalid_argument("Pauli transfer matrix must be 4^k x 4^k, got " + std::to_string(ptm.rows()) + "x" +
                                std::to_string(ptm.cols()));
  }
  const Matrix b = pauli_basis(k);
  // S = B R B^dagger / 2^k, since B B^dagger = 2^k I.
  return from_superoperator(Complex(1.0 / (1 << k), 0.0) * (b * ptm * b.adjoint()), tolerance);
}

Matrix Channel::choi() const { return reshuffle(superop_, 1 << num_qubits_); }

Matrix Channel::ptm() const {
  const Matrix b = pauli_basis(num_qubits_);
  return Complex(1.0 / (1 << num_qubits_), 0.0) * (b.adjoint() * superop_ * b);
}

Channel Channel::then(const Channel& after) const {
  if (after.num_qubits_ != num_qubits_) {
    throw std::invalid_argument("cannot compose channels on " + std::to_string(num_qubits_) + " and " +
                                std::to_string(after.num_qubits_) + " qubits");
  }
  // Minimal Kraus form of the product through its Choi matrix.
  const Matrix s = after.superop_ * superop_;
  return from_superoperator(s);
}

Channel Channel::tensor(const Channel& other) const {
  if (num_qubits_ + other.num_qubits_ > 3) throw std::invalid_argument("channels are limited to 3 qubits");
  std::vector<Matrix> ops;
  for (const Matrix& b : other.kraus_)
    for (const Matrix& a : kraus_) ops.push_back(kron(b, a));
  return from_kraus(std::move(ops));
}

void apply_channel(Complex* rho, int num_qubits, const int* qubits, const Channel& channel) {
  apply(channel_call(channel, qubits, detect_kernel(channel)), rho, num_qubits);
}

int apply_trajectory_step(Complex* psi, int num_qubits, const int* qubits, const Channel& channel, double uniform) {
  const int k = channel.num_qubits();
  if (psi == nullptr) throw std::invalid_argument("state vector pointer is null");
  if (num_qubits < 1 || num_qubits > 2 * kMaxQubits) throw std::invalid_argument("bad number of qubits");
  detail::validate_targets(num_qubits, qubits, k, 3);
  if (!(uniform >= 0.0 && uniform < 1.0)) throw std::invalid_argument("uniform draw must lie in [0, 1)");
  const int d = 1 << k;
  std::vector<int> sorted(qubits, qubits + k);
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::uint64_t> off(static_cast<std::size_t>(d), 0);
  for (int a = 0; a < d; ++a)
    for (int j = 0; j < k; ++j)
      if ((a >> j) & 1) off[static_cast<std::size_t>(a)] += std::uint64_t{1} << qubits[j];
  const std::uint64_t blocks = std::uint64_t{1} << (num_qubits - k);
  auto base_of = [&](std::uint64_t m) {
    for (int pos : sorted) m = detail::insert_zero_bit(m, pos);
    return m;
  };
  const auto& ops = channel.kraus();
  // Branch weights ||K_i psi||^2, accumulated block by block.
  std::vector<double> weight(ops.size(), 0.0);
  std::vector<Complex> v(static_cast<std::size_t>(d));
  for (std::uint64_t m = 0; m < blocks; ++m) {
    const std::uint64_t base = base_of(m);
    for (int a = 0; a < d; ++a) v[static_cast<std::size_t>(a)] = psi[base + off[static_cast<std::size_t>(a)]];
    for (std::size_t i = 0; i < ops.size(); ++i)
      for (int r = 0; r < d; ++r) {
        Complex acc = 0.0;
        for (int c = 0; c < d; ++c) acc += ops[i](r, c) * v[static_cast<std::size_t>(c)];
        weight[i] += std::norm(acc);
      }
  }
  double total = 0.0;
  for (double w : weight) total += w;
  if (!(total > 0.0)) throw std::invalid_argument("state vector is zero");
  std::size_t chosen = ops.size() - 1;
  double cumulative = 0.0;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    cumulative += weight[i] / total;
    if (uniform < cumulative && weight[i] > 0.0) {
      chosen = i;
      break;
    }
  }
  while (weight[chosen] <= 0.0 && chosen > 0) --chosen;
  const double scale = 1.0 / std::sqrt(weight[chosen]);
  const Matrix& kop = ops[chosen];
  for (std::uint64_t m = 0; m < blocks; ++m) {
    const std::uint64_t base = base_of(m);
    for (int a = 0; a < d; ++a) v[static_cast<std::size_t>(a)] = psi[base + off[static_cast<std::size_t>(a)]];
    for (int r = 0; r < d; ++r) {
      Complex acc = 0.0;
      for (int c = 0; c < d; ++c) acc += kop(r, c) * v[static_cast<std::size_t>(c)];
      psi[base + off[static_cast<std::size_t>(r)]] = scale * acc;
    }
  }
  return static_cast<int>(chosen);
}

}  // namespace kraus::noise
