#include "kraus/noise/kernel_call.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels_detail.hpp"
#include "kraus/noise/channel.hpp"
#include "kraus/noise/kernels.hpp"

namespace kraus::noise {
namespace {

// Detection (data only) takes exact forms; a channel whose table entry names the kernel is checked
// to rounding of its construction (Choi eigenvectors for thermal relaxation).
constexpr double kZero = 1e-15;
constexpr double kRounding = 1e-12;

// alpha when S = (1 - alpha) I + alpha / d |vec I><vec I| (to `tol`), else a negative number.
double depolarizing_alpha(const Matrix& s, int k, double tol) {
  const int d = 1 << k;
  const double alpha = 1.0 - s(1, 1).real();
  for (int r = 0; r < d * d; ++r)
    for (int c = 0; c < d * d; ++c) {
      const bool r_diag = r % (d + 1) == 0, c_diag = c % (d + 1) == 0;
      const double expect = (r == c ? 1.0 - alpha : 0.0) + (r_diag && c_diag ? alpha / d : 0.0);
      if (std::abs(s(r, c) - expect) > tol) return -1.0;
    }
  return alpha;
}

bool is_real_block_1q(const Matrix& s, double tol) {
  if (s.rows() != 4) return false;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) {
      const bool same_family = ((r == 0 || r == 3) == (c == 0 || c == 3));
      if (std::abs(s(r, c).imag()) > tol || (!same_family && std::abs(s(r, c)) > tol)) return false;
    }
  return true;
}

}  // namespace

KernelCall unitary_call(const int* qubits, int k, const Complex* u) {
  KernelCall call;
  call.kind = KernelKind::kUnitary;
  call.k = k;
  std::copy(qubits, qubits + k, call.qubits);
  const int dim = 1 << k;
  call.matrix.assign(u, u + dim * dim);
  return call;
}

KernelKind detect_kernel(const Channel& channel) {
  if (channel.kraus().size() == 1) return KernelKind::kUnitary;
  if (depolarizing_alpha(channel.superoperator(), channel.num_qubits(), kZero) >= 0.0) return KernelKind::kDepolarizing;
  if (channel.num_qubits() == 1 && is_real_block_1q(channel.superoperator(), kZero)) return KernelKind::kRealBlock1q;
  return KernelKind::kSuperoperator;
}

KernelCall channel_call(const Channel& channel, const int* qubits, KernelKind kind) {
  const int k = channel.num_qubits();
  if (k < 1 || k > 3) throw std::invalid_argument("channels act on 1 to 3 qubits");
  KernelCall call;
  call.kind = kind;
  call.k = k;
  std::copy(qubits, qubits + k, call.qubits);
  const Matrix& s = channel.superoperator();
  switch (kind) {
    case KernelKind::kUnitary: {
      if (channel.kraus().size() != 1) throw std::invalid_argument("a unitary kernel needs a single Kraus operator");
      const Matrix& u = channel.kraus().front();
      call.matrix.assign(u.data(), u.data() + static_cast<std::size_t>(u.rows()) * u.cols());
      break;
    }
    case KernelKind::kSuperoperator:
      call.matrix.assign(s.data(), s.data() + static_cast<std::size_t>(s.rows()) * s.cols());
      break;
    case KernelKind::kRealGroups2q:
      call.kind = KernelKind::kSuperoperator;
      call.matrix.assign(s.data(), s.data() + static_cast<std::size_t>(s.rows()) * s.cols());
      if (!to_real_groups(&call)) {
        throw std::invalid_argument("the channel is not a real 2-qubit channel of grouped form");
      }
      break;
    case KernelKind::kDepolarizing: {
      const double alpha = depolarizing_alpha(s, k, kRounding);
      if (alpha < 0.0) throw std::invalid_argument("the channel is not depolarising");
      call.params[0] = alpha;
      break;
    }
    case KernelKind::kRealBlock1q: {
      if (k != 1 || !is_real_block_1q(s, kRounding)) {
        throw std::invalid_argument("the channel is not a 1-qubit channel of real block form");
      }
      const double p[8] = {s(0, 0).real(), s(0, 3).real(), s(3, 0).real(), s(3, 3).real(),
                           s(2, 2).real(), s(2, 1).real(), s(1, 2).real(), s(1, 1).real()};
      std::copy(p, p + 8, call.params);
      break;
    }
  }
  return call;
}

double kernel_cost(const KernelCall& call) {
  const int dim = 1 << call.k;
  switch (call.kind) {
    case KernelKind::kUnitary: {
      int most_in_a_row = 0;
      bool diagonal = true, real = true;
      for (int r = 0; r < dim; ++r) {
        int in_row = 0;
        for (int c = 0; c < dim; ++c) {
          const Complex v = call.matrix[static_cast<std::size_t>(r * dim + c)];
          in_row += v != 0.0;
          diagonal = diagonal && (r == c || v == 0.0);
          real = real && v.imag() == 0.0;
        }
        most_in_a_row = std::max(most_in_a_row, in_row);
      }
      if (diagonal) return 1.0;
      if (most_in_a_row == 1) return 0.5;  // a unitary with one nonzero a row is monomial
      return (real ? 1.0 : 2.0) * dim;
    }
    case KernelKind::kSuperoperator: {
      const int sd = dim * dim;
      bool real = true;
      for (const Complex& v : call.matrix) real = real && v.imag() == 0.0;
      return real ? sd / 2.0 : sd;
    }
    case KernelKind::kRealGroups2q: {
      const detail::RealGroups groups = detail::decode_groups(call.matrix.data());
      double cost = 0.0;  // m^2 real multiply-adds for each group of m elements
      for (int i = 0; i < groups.count; ++i) cost += groups.size[i] * groups.size[i];
      return cost / 32.0;
    }
    case KernelKind::kDepolarizing:
    case KernelKind::kRealBlock1q: return 1.0;
  }
  return 0.0;
}

bool to_real_groups(KernelCall* call) {
  detail::RealGroups groups;
  if (call->kind != KernelKind::kSuperoperator || call->k != 2 || !detail::real_groups(call->matrix.data(), &groups)) {
    return false;
  }
  call->kind = KernelKind::kRealGroups2q;
  call->matrix = detail::encode_groups(groups);
  return true;
}

KernelCall adjoint_call(const KernelCall& call) {
  KernelCall adj = call;
  switch (call.kind) {
    case KernelKind::kUnitary:
    case KernelKind::kSuperoperator: {
      const int dim = call.kind == KernelKind::kUnitary ? 1 << call.k : 1 << (2 * call.k);
      for (int r = 0; r < dim; ++r)
        for (int c = 0; c < dim; ++c) {
          adj.matrix[static_cast<std::size_t>(r * dim + c)] = std::conj(call.matrix[static_cast<std::size_t>(c * dim + r)]);
        }
      break;
    }
    case KernelKind::kRealBlock1q:
      std::swap(adj.params[1], adj.params[2]);
      std::swap(adj.params[5], adj.params[6]);
      break;
    case KernelKind::kRealGroups2q: {
      detail::RealGroups g = detail::decode_groups(call.matrix.data());
      for (int i = 0; i < g.count; ++i) {
        const int m = g.size[i];
        for (int r = 0; r < m; ++r)
          for (int c = r + 1; c < m; ++c) std::swap(g.matrix[i][r * m + c], g.matrix[i][c * m + r]);
      }
      adj.matrix = detail::encode_groups(g);
      break;
    }
    case KernelKind::kDepolarizing: break;
  }
  return adj;
}

void detail::apply_unchecked(const KernelCall& call, Complex* rho, int num_qubits) {
  switch (call.kind) {
    case KernelKind::kUnitary:
      unitary_unchecked(rho, num_qubits, call.qubits, call.k, call.matrix.data());
      break;
    case KernelKind::kSuperoperator:
      superoperator_unchecked(rho, num_qubits, call.qubits, call.k, call.matrix.data());
      break;
    case KernelKind::kDepolarizing:
      depolarizing_block(rho, num_qubits, call.qubits, call.k, call.params[0]);
      break;
    case KernelKind::kRealBlock1q:
      real_block_channel_1q(rho, num_qubits, call.qubits[0], call.params, call.params + 4);
      break;
    case KernelKind::kRealGroups2q:
      real_groups_2q(rho, num_qubits, call.qubits, decode_groups(call.matrix.data()));
      break;
  }
}

void apply(const KernelCall& call, Complex* rho, int num_qubits) {
  detail::validate_state(rho, num_qubits);
  detail::validate_targets(num_qubits, call.qubits, call.k, 3);
  detail::apply_unchecked(call, rho, num_qubits);
}

}  // namespace kraus::noise
