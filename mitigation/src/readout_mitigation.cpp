#include "kraus/mitigation/readout_mitigation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

#include <armadillo>

#include "kraus/engine/density_matrix.hpp"
#include "kraus/noise/kernels.hpp"

namespace kraus::mitigation {
namespace {

// One readout group: its qubits (bit j of a block index = qubits[j]) and the confusion matrix C
// (row = true outcome, column = read outcome).
struct Group {
  std::vector<int> qubits;
  arma::mat confusion;
};

std::string qubit_list(const std::vector<int>& qubits) {
  std::string out;
  for (int q : qubits) out += (out.empty() ? "" : ", ") + std::to_string(q);
  return out;
}

// v <- (I (x) M (x) I) v with the d x d matrix M on the group's qubits: for every assignment of the
// other qubits, the 2^m entries of the group are multiplied by M.
void apply_to_group(std::vector<double>& v, const std::vector<int>& qubits, const arma::mat& m) {
  const std::size_t d = std::size_t{1} << qubits.size();
  std::vector<std::uint64_t> offset(d, 0);
  std::uint64_t group_mask = 0;
  for (std::size_t a = 0; a < d; ++a) {
    for (std::size_t j = 0; j < qubits.size(); ++j) {
      if ((a >> j) & 1u) offset[a] |= std::uint64_t{1} << qubits[j];
    }
  }
  for (int q : qubits) group_mask |= std::uint64_t{1} << q;
  // Every assignment of the other qubits, in increasing order: add 1 with the group's bits set, so
  // that the carry skips them.
  const std::uint64_t others = (v.size() - 1) & ~group_mask;
  arma::vec in(d), out(d);
  for (std::uint64_t base = 0;; base = ((base | group_mask) + 1) & others) {
    for (std::size_t a = 0; a < d; ++a) in(a) = v[base + offset[a]];
    out = m * in;
    for (std::size_t a = 0; a < d; ++a) v[base + offset[a]] = out(a);
    if (base == others) break;
  }
}

// v <- (x)_g op(C_g) v, op picking each group's matrix.
std::vector<double> apply_all(std::vector<double> v, const std::vector<Group>& groups,
                              const std::function<arma::mat(const Group&)>& op) {
  for (const Group& g : groups) apply_to_group(v, g.qubits, op(g));
  return v;
}

// The Euclidean projection onto the probability simplex (sort-based, O(N log N)).
std::vector<double> project_to_simplex(const std::vector<double>& v) {
  std::vector<double> sorted = v;
  std::sort(sorted.begin(), sorted.end(), std::greater<double>());
  double cumulative = 0.0, theta = 0.0;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    cumulative += sorted[i];
    const double t = (cumulative - 1.0) / static_cast<double>(i + 1);
    if (sorted[i] - t > 0.0) theta = t;
  }
  std::vector<double> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = std::max(v[i] - theta, 0.0);
  return out;
}

double distance_2(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s);
}

// The inverse of C^T, or an empty matrix when C is (numerically) singular.
arma::mat inverse_transpose(const arma::mat& confusion) {
  if (arma::rcond(confusion) < 1e-12) return arma::mat();
  return arma::inv(confusion.t());
}

std::vector<Group> groups_of(const noise::ReadoutModel& readout, int num_qubits) {
  std::vector<Group> groups;
  for (const noise::ReadoutError& e : readout.errors()) {
    for (int q : e.qubits) {
      if (q >= num_qubits) {
        throw std::invalid_argument("readout error on qubit " + std::to_string(q) + " of a " +
                                    std::to_string(num_qubits) + "-qubit register");
      }
    }
    const arma::uword d = arma::uword{1} << e.qubits.size();
    Group g{e.qubits, arma::mat(d, d)};
    for (arma::uword t = 0; t < d; ++t) {
      for (arma::uword r = 0; r < d; ++r) g.confusion(t, r) = e.confusion[t * d + r];
    }
    groups.push_back(std::move(g));
  }
  return groups;
}

void check_distribution(const std::vector<double>& measured, int num_qubits) {
  if (num_qubits < 1 || num_qubits > noise::kMaxQubits) {
    throw std::invalid_argument("readout mitigation needs 1 to " + std::to_string(noise::kMaxQubits) +
                                " qubits, got " + std::to_string(num_qubits));
  }
  if (measured.size() != (std::size_t{1} << num_qubits)) {
    throw std::invalid_argument("readout mitigation: " + std::to_string(measured.size()) +
                                " probabilities for " + std::to_string(num_qubits) + " qubits (needs 2^" +
                                std::to_string(num_qubits) + ")");
  }
  double total = 0.0;
  for (std::size_t i = 0; i < measured.size(); ++i) {
    if (!(measured[i] >= -1e-12 && measured[i] <= 1.0 + 1e-12)) {
      throw std::invalid_argument("readout mitigation: measured probability " + std::to_string(measured[i]) +
                                  " at index " + std::to_string(i) + " is outside [0, 1]");
    }
    total += measured[i];
  }
  if (!(std::abs(total - 1.0) <= 1e-9)) {
    throw std::invalid_argument("readout mitigation: measured probabilities sum to " + std::to_string(total) +
                                ", not 1");
  }
}

ReadoutMitigationResult constrained_least_squares(const std::vector<double>& measured,
                                                  const std::vector<Group>& groups) {
  ReadoutMitigationResult result;
  result.method = ReadoutMitigationMethod::kConstrainedLeastSquares;
  auto forward = [&](const std::vector<double>& p) {
    return apply_all(p, groups, [](const Group& g) { return arma::mat(g.confusion.t()); });
  };
  auto adjoint = [&](const std::vector<double>& r) {
    return apply_all(r, groups, [](const Group& g) { return g.confusion; });
  };
  std::vector<arma::mat> inverses;
  for (const Group& g : groups) inverses.push_back(inverse_transpose(g.confusion));
  const bool invertible = std::none_of(inverses.begin(), inverses.end(), [](const arma::mat& m) { return m.empty(); });
  std::vector<double> x = measured;
  if (invertible) {
    std::vector<double> exact = measured;
    for (std::size_t i = 0; i < groups.size(); ++i) apply_to_group(exact, groups[i].qubits, inverses[i]);
    const bool inside = std::all_of(exact.begin(), exact.end(), [](double v) { return v >= -1e-12; });
    x = project_to_simplex(exact);
    if (inside) {
      result.probabilities = x;
      result.residual = distance_2(forward(x), measured);
      return result;
    }
  }
  // FISTA on f(p) = ||A p - m||^2 / 2 over the simplex, with the gradient-based restart of
  // O'Donoghue and Candes (2015).
  double lipschitz = 1.0;
  for (const Group& g : groups) lipschitz *= arma::sum(g.confusion, 0).max();
  std::vector<double> y = x, x_next(x.size());
  double t = 1.0;
  result.converged = false;
  while (result.iterations < kMaxLeastSquaresIterations) {
    ++result.iterations;
    std::vector<double> residual = forward(y);
    for (std::size_t i = 0; i < residual.size(); ++i) residual[i] -= measured[i];
    const std::vector<double> gradient = adjoint(residual);
    for (std::size_t i = 0; i < y.size(); ++i) x_next[i] = y[i] - gradient[i] / lipschitz;
    x_next = project_to_simplex(x_next);
    double step = 0.0, momentum_check = 0.0;
    for (std::size_t i = 0; i < y.size(); ++i) {
      step = std::max(step, std::abs(x_next[i] - y[i]));
      momentum_check += (y[i] - x_next[i]) * (x_next[i] - x[i]);
    }
    const double t_next = (1.0 + std::sqrt(1.0 + 4.0 * t * t)) / 2.0;
    if (momentum_check > 0.0) {
      t = 1.0;
      y = x_next;
    } else {
      for (std::size_t i = 0; i < y.size(); ++i) y[i] = x_next[i] + (t - 1.0) / t_next * (x_next[i] - x[i]);
      t = t_next;
    }
    x.swap(x_next);
    if (step <= kLeastSquaresTolerance) {
      result.converged = true;
      break;
    }
  }
  result.probabilities = x;
  result.residual = distance_2(forward(x), measured);
  return result;
}

}  // namespace

ReadoutMitigationResult mitigate_readout(const std::vector<double>& measured, const noise::ReadoutModel& readout,
                                         int num_qubits) {
  check_distribution(measured, num_qubits);
  const std::vector<Group> groups = groups_of(readout, num_qubits);
  const bool per_qubit = std::all_of(groups.begin(), groups.end(), [](const Group& g) { return g.qubits.size() == 1; });
  // Working vectors of 2^n doubles: the result, and for the least squares the iterates, residual,
  // gradient and the projection's sorted copy.
  const std::uint64_t vectors = per_qubit ? 1 : 7;
  engine::require_memory(num_qubits, vectors * sizeof(double) * measured.size(), "readout mitigation");
  if (!per_qubit) return constrained_least_squares(measured, groups);
  ReadoutMitigationResult result;
  result.method = ReadoutMitigationMethod::kTensoredInverse;
  result.probabilities = measured;
  for (const Group& g : groups) {
    const arma::mat inverse = inverse_transpose(g.confusion);
    if (inverse.empty()) {
      throw std::invalid_argument("the readout error of qubit " + qubit_list(g.qubits) +
                                  " cannot be undone: p(1|0) + p(0|1) = 1 makes its confusion matrix singular");
    }
    apply_to_group(result.probabilities, g.qubits, inverse);
  }
  return result;
}

double z_expectation(const std::vector<double>& probabilities, const engine::PauliString& pauli) {
  if (pauli.x_mask != 0) {
    throw std::invalid_argument("z_expectation needs a Z string; '" + pauli.to_string() + "' has X or Y factors");
  }
  const std::size_t size = probabilities.size();
  if (size == 0 || (size & (size - 1)) != 0) {
    throw std::invalid_argument("z_expectation: " + std::to_string(size) + " probabilities is not a power of 2");
  }
  if (pauli.min_qubits() > 63 || (std::uint64_t{1} << pauli.min_qubits()) > size) {
    throw std::invalid_argument("z_expectation: '" + pauli.to_string() + "' acts on qubit " +
                                std::to_string(pauli.min_qubits() - 1) + " of a distribution of " +
                                std::to_string(size) + " outcomes");
  }
  double sum = 0.0;
  for (std::size_t x = 0; x < size; ++x) {
    sum += (__builtin_popcountll(x & pauli.z_mask) & 1) ? -probabilities[x] : probabilities[x];
  }
  return sum;
}

}  // namespace kraus::mitigation
