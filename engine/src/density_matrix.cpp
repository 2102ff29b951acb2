#include "kraus/engine/density_matrix.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>

#include "kraus/noise/kernels.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace kraus::engine {
namespace {

std::string gib(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
  return buf;
}


// What this process may still map under its address-space limit (ulimit -v): the limit less the
// virtual memory in use (/proc/self/statm); UINT64_MAX without a limit.
std::uint64_t address_space_left() {
  rlimit limit{};
  if (getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return UINT64_MAX;
  std::ifstream statm("/proc/self/statm");
  std::uint64_t pages = 0;
  statm >> pages;
  const std::uint64_t used = pages * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
  return used >= limit.rlim_cur ? 0 : limit.rlim_cur - used;
}

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
}

void check_num_qubits(int num_qubits) {
  if (num_qubits < 1 || num_qubits > noise::kMaxQubits) {
    throw std::invalid_argument("number of qubits " + std::to_string(num_qubits) + " is outside [1, " +
                                std::to_string(noise::kMaxQubits) + "]");
  }
}

}  // namespace

std::uint64_t available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::uint64_t value = 0;
  std::string unit;
  while (meminfo >> key >> value) {
    std::getline(meminfo, unit);
    if (key == "MemAvailable:") return value * 1024;
  }
  return 0;  // unknown: do not refuse
}

std::uint64_t density_matrix_bytes(int num_qubits) {
  // 16 * 4^n = 2^(4 + 2n) bytes; saturates where that does not fit in 64 bits (n >= 30).
  const int log2_bytes = 4 + 2 * num_qubits;
  return log2_bytes >= 64 ? UINT64_MAX : std::uint64_t{1} << log2_bytes;
}

void require_memory(int num_qubits, std::uint64_t bytes, const std::string& what) {
  const std::uint64_t available = available_memory_bytes();
  if (available != 0 && bytes > available) {
    throw std::runtime_error(std::to_string(num_qubits) + " qubits need " + gib(bytes) + " for " + what +
                             "; this machine has " + gib(available) + " available");
  }
  const std::uint64_t address_space = address_space_left();
  if (bytes > address_space) {
    throw std::runtime_error(std::to_string(num_qubits) + " qubits need " + gib(bytes) + " for " + what +
                             "; the address-space limit (ulimit -v) leaves this process " +
                             gib(address_space));
  }
}

int set_num_threads(int num_threads) {
  if (num_threads < 1) throw std::invalid_argument("number of threads must be at least 1");
  const int cores = available_cores();
  if (num_threads > cores) {
    std::fprintf(stderr, "kraus: note: %d threads requested; using the %d cores available\n", num_threads, cores);
    num_threads = cores;
  }
#ifdef _OPENMP
  omp_set_num_threads(num_threads);
#endif
  return num_threads;
}

int num_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

DensityMatrix::DensityMatrix(int num_qubits) : num_qubits_(num_qubits) {
  check_num_qubits(num_qubits);
  require_memory(num_qubits, density_matrix_bytes(num_qubits));
  const arma::uword d = arma::uword{1} << num_qubits;
  try {
    rho_.zeros(d, d);
  } catch (const std::bad_alloc&) {
    throw std::runtime_error("out of memory: allocating the density matrix of " + std::to_string(num_qubits) +
                             " qubits (" + gib(density_matrix_bytes(num_qubits)) + ") failed");
  }
  rho_(0, 0) = 1.0;
}

DensityMatrix::DensityMatrix(int num_qubits, arma::cx_mat rho)
    : num_qubits_(num_qubits), rho_(std::move(rho)) {}

DensityMatrix DensityMatrix::from_state_vector(const arma::cx_vec& psi, double tolerance) {
  const arma::uword d = psi.n_elem;
  if (d < 2 || (d & (d - 1)) != 0) {
    throw std::invalid_argument("state vector length " + std::to_string(d) + " is not a power of 2 (>= 2)");
  }
  const int n = static_cast<int>(std::log2(static_cast<double>(d)) + 0.5);
  check_num_qubits(n);
  const double norm = arma::norm(psi);
  if (!(std::abs(norm - 1.0) <= tolerance)) {
    throw std::invalid_argument("state vector norm " + std::to_string(norm) + " differs from 1");
  }
  require_memory(n, density_matrix_bytes(n));
  return DensityMatrix(n, psi * psi.t());
}

DensityMatrix DensityMatrix::from_matrix(const arma::cx_mat& rho, double tolerance) {
  const arma::uword d = rho.n_rows;
  if (rho.n_cols != d || d < 2 || (d & (d - 1)) != 0) {
    throw std::invalid_argument("density matrix must be square with a power-of-2 size >= 2, got " +
                                std::to_string(rho.n_rows) + "x" + std::to_string(rho.n_cols));
  }
  const int n = static_cast<int>(std::log2(static_cast<double>(d)) + 0.5);
  check_num_qubits(n);
  const double herm = arma::abs(rho - rho.t()).max();
  if (!(herm <= tolerance)) {
    throw std::invalid_argument("matrix is not Hermitian: max |rho - rho^dagger| = " + std::to_string(herm));
  }
  const double tr = std::real(arma::trace(rho));
  if (!(std::abs(tr - 1.0) <= tolerance)) {
    throw std::invalid_argument("matrix trace " + std::to_string(tr) + " differs from 1");
  }
  const arma::vec eig = arma::eig_sym(arma::cx_mat(0.5 * (rho + rho.t())));
  if (!(eig.min() >= -tolerance)) {
    throw std::invalid_argument("matrix is not positive semidefinite: smallest eigenvalue " +
                                std::to_string(eig.min()));
  }
  return DensityMatrix(n, rho);
}

void DensityMatrix::reset_to_zero_state() {
  rho_.zeros();
  rho_(0, 0) = 1.0;
}

void DensityMatrix::apply(Gate gate, const std::vector<int>& qubits, const std::vector<double>& params) {
  const GateInfo& info = gate_info(gate);
  if (static_cast<int>(qubits.size()) != info.num_qubits) {
    throw std::invalid_argument("gate '" + std::string(info.name) + "' acts on " +
                                std::to_string(info.num_qubits) + " qubit(s), got " +
                                std::to_string(qubits.size()));
  }
  // The table's matrices are unitary by construction: skip the check.
  const arma::cx_mat rowmajor = arma::strans(gate_matrix(gate, params));
  noise::apply_unitary(data(), num_qubits_, qubits.data(), info.num_qubits, rowmajor.memptr(), -1.0);
}

void DensityMatrix::apply_unitary(const std::vector<int>& qubits, const arma::cx_mat& u) {
  const arma::uword dim = arma::uword{1} << qubits.size();
  if (qubits.empty() || qubits.size() > 3 || u.n_rows != dim || u.n_cols != dim) {
    throw std::invalid_argument("a unitary on " + std::to_string(qubits.size()) +
                                " qubit(s) must be 2^k x 2^k with 1 <= k <= 3, got " +
                                std::to_string(u.n_rows) + "x" + std::to_string(u.n_cols));
  }
  const arma::cx_mat rowmajor = arma::strans(u);
  noise::apply_unitary(data(), num_qubits_, qubits.data(), static_cast<int>(qubits.size()),
                       rowmajor.memptr());
}

void DensityMatrix::apply_superoperator(const std::vector<int>& qubits, const arma::cx_mat& superop) {
  const arma::uword dim = arma::uword{1} << (2 * qubits.size());
  if (qubits.empty() || qubits.size() > 3 || superop.n_rows != dim || superop.n_cols != dim) {
    throw std::invalid_argument("a superoperator on " + std::to_string(qubits.size()) +
                                " qubit(s) must be 4^k x 4^k with 1 <= k <= 3, got " +
                                std::to_string(superop.n_rows) + "x" + std::to_string(superop.n_cols));
  }
  const arma::cx_mat rowmajor = arma::strans(superop);
  noise::apply_superoperator(data(), num_qubits_, qubits.data(), static_cast<int>(qubits.size()),
                             rowmajor.memptr());
}

void DensityMatrix::apply_kraus(const std::vector<int>& qubits, const std::vector<arma::cx_mat>& operators) {
  const arma::uword dim = arma::uword{1} << qubits.size();
  if (qubits.empty() || qubits.size() > 3) {
    throw std::invalid_argument("a Kraus channel acts on 1 to 3 qubits, got " + std::to_string(qubits.size()));
  }
  std::vector<Complex> packed;
  packed.reserve(operators.size() * dim * dim);
  for (const arma::cx_mat& k : operators) {
    if (k.n_rows != dim || k.n_cols != dim) {
      throw std::invalid_argument("Kraus operator is " + std::to_string(k.n_rows) + "x" +
                                  std::to_string(k.n_cols) + ", expected " + std::to_string(dim) +
                                  "x" + std::to_string(dim));
    }
    for (arma::uword r = 0; r < dim; ++r)
      for (arma::uword c = 0; c < dim; ++c) packed.push_back(k(r, c));
  }
  noise::apply_kraus(data(), num_qubits_, qubits.data(), static_cast<int>(qubits.size()), packed.data(),
                     static_cast<int>(operators.size()));
}

void DensityMatrix::apply_depolarizing(int qubit, double p) {
  noise::apply_depolarizing_1q(data(), num_qubits_, qubit, p);
}

void DensityMatrix::apply_amplitude_damping(int qubit, double gamma) {
  noise::apply_amplitude_damping_1q(data(), num_qubits_, qubit, gamma);
}

void DensityMatrix::apply_phase_damping(int qubit, double lambda) {
  noise::apply_phase_damping_1q(data(), num_qubits_, qubit, lambda);
}

void DensityMatrix::measure(int qubit) { noise::apply_measurement_1q(data(), num_qubits_, qubit); }

void DensityMatrix::reset(int qubit) { noise::apply_reset_1q(data(), num_qubits_, qubit); }

double DensityMatrix::trace() const {
  const std::int64_t d = static_cast<std::int64_t>(dim());
  const Complex* x = data();
  double sum = 0.0;
#pragma omp parallel for reduction(+ : sum) if (num_qubits_ >= noise::kParallelMinQubits)
  for (std::int64_t i = 0; i < d; ++i) sum += x[i + i * d].real();
  return sum;
}

double DensityMatrix::purity() const {
  // Two-level summation (chunks of 4096 terms, then the chunk sums): plain accumulation over 4^13
  // terms drifts by ~1e-10.
  constexpr std::int64_t kChunk = 4096;
  const std::int64_t total = static_cast<std::int64_t>(rho_.n_elem);
  const std::int64_t chunks = (total + kChunk - 1) / kChunk;
  const Complex* x = data();
  double sum = 0.0;
#pragma omp parallel for reduction(+ : sum) if (num_qubits_ >= noise::kParallelMinQubits)
  for (std::int64_t c = 0; c < chunks; ++c) {
    double part = 0.0;
    const std::int64_t end = std::min(total, (c + 1) * kChunk);
    for (std::int64_t i = c * kChunk; i < end; ++i) part += std::norm(x[i]);
    sum += part;
  }
  return sum;
}

std::vector<double> DensityMatrix::probabilities() const {
  const std::uint64_t d = dim();
  std::vector<double> p(d);
  for (std::uint64_t i = 0; i < d; ++i) p[i] = rho_(i, i).real();
  return p;
}

std::vector<double> DensityMatrix::marginal_probabilities(const std::vector<int>& qubits) const {
  check_qubit_operands(qubits, num_qubits_);
  std::vector<double> out(std::size_t{1} << qubits.size(), 0.0);
  const std::uint64_t d = dim();
  for (std::uint64_t i = 0; i < d; ++i) {
    std::size_t j = 0;
    for (std::size_t k = 0; k < qubits.size(); ++k) j |= ((i >> qubits[k]) & 1u) << k;
    out[j] += rho_(i, i).real();
  }
  return out;
}

double DensityMatrix::fidelity(const arma::cx_vec& psi) const {
  if (psi.n_elem != dim()) {
    throw std::invalid_argument("state vector has length " + std::to_string(psi.n_elem) + ", expected " +
                                std::to_string(dim()));
  }
  return std::real(arma::cdot(psi, rho_ * psi));
}

DensityMatrix DensityMatrix::reduced(const std::vector<int>& qubits) const {
  check_qubit_operands(qubits, num_qubits_);
  if (qubits.empty()) throw std::invalid_argument("reduced density matrix needs at least one qubit");
  std::uint64_t kept_mask = 0;
  for (int q : qubits) kept_mask |= std::uint64_t{1} << q;
  const arma::uword dk = arma::uword{1} << qubits.size();
  arma::cx_mat out(dk, dk, arma::fill::zeros);
  const std::uint64_t d = dim();
  auto project = [&](std::uint64_t i) {
    arma::uword j = 0;
    for (std::size_t k = 0; k < qubits.size(); ++k) j |= ((i >> qubits[k]) & 1u) << k;
    return j;
  };
  // Tr_other: sum over r, c that agree on the traced-out bits.
  for (std::uint64_t c = 0; c < d; ++c) {
    const std::uint64_t c_env = c & ~kept_mask;
    for (std::uint64_t r = 0; r < d; ++r) {
      if ((r & ~kept_mask) != c_env) continue;
      out(project(r), project(c)) += rho_(r, c);
    }
  }
  return DensityMatrix(static_cast<int>(qubits.size()), std::move(out));
}

}  // namespace kraus::engine
