#include "reference/dense_reference.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace kraus::test {

arma::cx_mat pauli(char p) {
  const Complex i{0.0, 1.0};
  arma::cx_mat m(2, 2, arma::fill::zeros);
  switch (p) {
    case 'I': m(0, 0) = 1.0; m(1, 1) = 1.0; break;
    case 'X': m(0, 1) = 1.0; m(1, 0) = 1.0; break;
    case 'Y': m(0, 1) = -i; m(1, 0) = i; break;
    case 'Z': m(0, 0) = 1.0; m(1, 1) = -1.0; break;
    default: throw std::invalid_argument(std::string("no Pauli named ") + p);
  }
  return m;
}

arma::cx_mat ket_bra(arma::uword a, arma::uword b, arma::uword dim) {
  arma::cx_mat m(dim, dim, arma::fill::zeros);
  m(a, b) = 1.0;
  return m;
}

arma::cx_vec basis_state(arma::uword index, arma::uword dim) {
  arma::cx_vec v(dim, arma::fill::zeros);
  v(index) = 1.0;
  return v;
}

arma::cx_mat embed(const arma::cx_mat& op, const std::vector<int>& qubits, int num_qubits) {
  const arma::uword k = qubits.size();
  const arma::uword dk = arma::uword{1} << k;
  if (op.n_rows != dk || op.n_cols != dk) throw std::invalid_argument("embed: operator size mismatch");
  const arma::uword d = arma::uword{1} << num_qubits;
  arma::cx_mat full(d, d, arma::fill::zeros);
  for (arma::uword a = 0; a < dk; ++a) {
    for (arma::uword b = 0; b < dk; ++b) {
      if (op(a, b) == 0.0) continue;  // contributes nothing
      arma::cx_mat term(1, 1, arma::fill::ones);
      for (int m = num_qubits - 1; m >= 0; --m) {
        arma::cx_mat factor = pauli('I');
        for (arma::uword j = 0; j < k; ++j) {
          if (qubits[j] == m) factor = ket_bra((a >> j) & 1u, (b >> j) & 1u, 2);
        }
        term = arma::kron(term, factor);
      }
      full += op(a, b) * term;
    }
  }
  return full;
}

arma::cx_mat pauli_string_operator(const std::string& labels) {
  arma::cx_mat full(1, 1, arma::fill::ones);
  for (auto it = labels.rbegin(); it != labels.rend(); ++it) full = arma::kron(full, pauli(*it));
  return full;
}

namespace {
arma::cx_mat mat2(Complex a, Complex b, Complex c, Complex d) {
  arma::cx_mat m(2, 2);
  m(0, 0) = a;
  m(0, 1) = b;
  m(1, 0) = c;
  m(1, 1) = d;
  return m;
}
}  // namespace

std::vector<arma::cx_mat> depolarizing_kraus(double p) { return pauli_kraus(p / 3, p / 3, p / 3); }

std::vector<arma::cx_mat> pauli_kraus(double px, double py, double pz) {
  return {std::sqrt(std::max(0.0, 1 - px - py - pz)) * pauli('I'), std::sqrt(px) * pauli('X'), std::sqrt(py) * pauli('Y'),
          std::sqrt(pz) * pauli('Z')};
}

std::vector<arma::cx_mat> amplitude_damping_kraus(double gamma) {
  return {mat2(1, 0, 0, std::sqrt(1 - gamma)), mat2(0, std::sqrt(gamma), 0, 0)};
}

std::vector<arma::cx_mat> phase_damping_kraus(double lambda) {
  return {mat2(1, 0, 0, std::sqrt(1 - lambda)), mat2(0, 0, 0, std::sqrt(lambda))};
}

std::vector<arma::cx_mat> measurement_kraus() { return {mat2(1, 0, 0, 0), mat2(0, 0, 0, 1)}; }

std::vector<arma::cx_mat> reset_kraus() { return {mat2(1, 0, 0, 0), mat2(0, 1, 0, 0)}; }

arma::cx_mat apply_unitary(const arma::cx_mat& rho, const arma::cx_mat& u, const std::vector<int>& qubits,
                           int num_qubits) {
  const arma::cx_mat full = embed(u, qubits, num_qubits);
  return full * rho * full.t();
}

arma::cx_mat apply_kraus(const arma::cx_mat& rho, const std::vector<arma::cx_mat>& operators,
                         const std::vector<int>& qubits, int num_qubits) {
  arma::cx_mat out(arma::size(rho), arma::fill::zeros);
  for (const arma::cx_mat& k : operators) {
    const arma::cx_mat full = embed(k, qubits, num_qubits);
    out += full * rho * full.t();
  }
  return out;
}

arma::cx_mat apply_superoperator(const arma::cx_mat& rho, const arma::cx_mat& superop,
                                 const std::vector<int>& qubits, int num_qubits) {
  const arma::uword dk = arma::uword{1} << qubits.size();
  if (superop.n_rows != dk * dk || superop.n_cols != dk * dk) {
    throw std::invalid_argument("apply_superoperator: size mismatch");
  }
  arma::cx_mat out(arma::size(rho), arma::fill::zeros);
  for (arma::uword a = 0; a < dk; ++a)
    for (arma::uword b = 0; b < dk; ++b)
      for (arma::uword a2 = 0; a2 < dk; ++a2)
        for (arma::uword b2 = 0; b2 < dk; ++b2) {
          const Complex s = superop(a + b * dk, a2 + b2 * dk);
          if (s == 0.0) continue;
          out += s * embed(ket_bra(a, a2, dk), qubits, num_qubits) * rho *
                 embed(ket_bra(b2, b, dk), qubits, num_qubits);
        }
  return out;
}

arma::cx_mat superoperator_from_kraus(const std::vector<arma::cx_mat>& operators) {
  const arma::uword d = operators.at(0).n_rows;
  arma::cx_mat s(d * d, d * d, arma::fill::zeros);
  for (const arma::cx_mat& k : operators) s += arma::kron(arma::conj(k), k);
  return s;
}

arma::cx_mat partial_trace(const arma::cx_mat& rho, const std::vector<int>& keep, int num_qubits) {
  const arma::uword dk = arma::uword{1} << keep.size();
  arma::cx_mat out(dk, dk);
  for (arma::uword a = 0; a < dk; ++a)
    for (arma::uword b = 0; b < dk; ++b)
      out(a, b) = arma::trace(rho * embed(ket_bra(b, a, dk), keep, num_qubits));
  return out;
}

arma::cx_mat complex_gaussian(arma::uword rows, arma::uword cols, Rng& rng) {
  std::normal_distribution<double> normal(0.0, 1.0 / std::sqrt(2.0));
  arma::cx_mat g(rows, cols);
  for (arma::uword c = 0; c < cols; ++c)
    for (arma::uword r = 0; r < rows; ++r) {
      const double re = normal(rng);
      const double im = normal(rng);
      g(r, c) = Complex(re, im);
    }
  return g;
}

arma::cx_mat random_density_matrix(int num_qubits, Rng& rng, arma::uword rank) {
  const arma::uword d = arma::uword{1} << num_qubits;
  if (rank == 0) rank = std::uniform_int_distribution<arma::uword>(2, d)(rng);
  const arma::cx_mat g = complex_gaussian(d, rank, rng);
  arma::cx_mat rho = g * g.t();
  rho /= arma::trace(rho);
  return 0.5 * (rho + rho.t());  // exactly Hermitian
}

arma::cx_vec random_state_vector(int num_qubits, Rng& rng) {
  arma::cx_vec psi = complex_gaussian(arma::uword{1} << num_qubits, 1, rng);
  return psi / arma::norm(psi);
}

arma::cx_mat random_unitary(arma::uword dim, Rng& rng) {
  arma::cx_mat q, r;
  if (!arma::qr(q, r, complex_gaussian(dim, dim, rng))) throw std::runtime_error("QR failed");
  for (arma::uword j = 0; j < dim; ++j) q.col(j) *= r(j, j) / std::abs(r(j, j));
  return q;
}

std::vector<arma::cx_mat> random_kraus_operators(arma::uword dim, int count, Rng& rng) {
  const arma::uword big = dim * static_cast<arma::uword>(count);
  const arma::cx_mat isometry = random_unitary(big, rng).cols(0, dim - 1);
  std::vector<arma::cx_mat> ops;
  for (arma::uword i = 0; i < static_cast<arma::uword>(count); ++i) {
    ops.push_back(isometry.rows(i * dim, (i + 1) * dim - 1));
  }
  return ops;
}

arma::cx_mat debug_matrix(int num_qubits) {
  const arma::uword d = arma::uword{1} << num_qubits;
  const double scale = 1.0 / static_cast<double>(d * d);
  arma::cx_mat m(d, d);
  for (arma::uword c = 0; c < d; ++c)
    for (arma::uword r = 0; r < d; ++r) {
      // Real parts 1 .. d^2 (scaled) are all distinct; the imaginary part breaks any symmetry.
      m(r, c) = Complex(static_cast<double>(1 + r + d * c) * scale,
                        0.5 + 0.25 * static_cast<double>(r) - 0.125 * static_cast<double>(c));
    }
  return m;
}

double max_abs_diff(const arma::cx_mat& a, const arma::cx_mat& b) {
  if (a.n_rows != b.n_rows || a.n_cols != b.n_cols) return std::numeric_limits<double>::infinity();
  if (a.n_elem == 0) return 0.0;
  return arma::abs(a - b).max();
}

std::vector<Complex> row_major(const arma::cx_mat& m) {
  std::vector<Complex> out;
  out.reserve(m.n_elem);
  for (arma::uword r = 0; r < m.n_rows; ++r)
    for (arma::uword c = 0; c < m.n_cols; ++c) out.push_back(m(r, c));
  return out;
}

std::vector<Complex> row_major(const std::vector<arma::cx_mat>& ms) {
  std::vector<Complex> out;
  for (const arma::cx_mat& m : ms) {
    const std::vector<Complex> one = row_major(m);
    out.insert(out.end(), one.begin(), one.end());
  }
  return out;
}

std::vector<std::vector<int>> ordered_tuples(int num_qubits, int k) {
  std::vector<std::vector<int>> out;
  std::vector<int> current;
  // Depth-first over the choices of each position.
  auto extend = [&](auto&& self) -> void {
    if (static_cast<int>(current.size()) == k) {
      out.push_back(current);
      return;
    }
    for (int q = 0; q < num_qubits; ++q) {
      bool used = false;
      for (int p : current) used = used || p == q;
      if (used) continue;
      current.push_back(q);
      self(self);
      current.pop_back();
    }
  };
  extend(extend);
  return out;
}

std::vector<std::vector<int>> random_tuples(int num_qubits, int k, std::size_t count, Rng& rng) {
  std::vector<std::vector<int>> all = ordered_tuples(num_qubits, k);
  std::shuffle(all.begin(), all.end(), rng);
  if (all.size() > count) all.resize(count);
  return all;
}

}  // namespace kraus::test
