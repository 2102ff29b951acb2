#include "kraus/engine/observables.hpp"

#include <cctype>
#include <stdexcept>

#include "kraus/noise/kernels.hpp"

namespace kraus::engine {

PauliString PauliString::parse(std::string_view text) {
  PauliString out;
  std::size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) { ++i; continue; }
    const std::size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    const std::string factor(text.substr(start, i - start));
    const char p = factor[0];
    if (p != 'I' && p != 'X' && p != 'Y' && p != 'Z') {
      throw std::invalid_argument("Pauli factor '" + factor + "' must start with I, X, Y or Z");
    }
    if (factor.size() == 1 && p == 'I') { any = true; continue; }
    if (factor.size() == 1 || factor.size() > 3) {
      throw std::invalid_argument("Pauli factor '" + factor + "' must be <P><qubit>, e.g. X0");
    }
    int q = 0;
    for (std::size_t k = 1; k < factor.size(); ++k) {
      if (!std::isdigit(static_cast<unsigned char>(factor[k]))) {
        throw std::invalid_argument("Pauli factor '" + factor + "' has a bad qubit index");
      }
      q = q * 10 + (factor[k] - '0');
    }
    if (q >= noise::kMaxQubits) {
      throw std::invalid_argument("Pauli factor '" + factor + "': qubit index is too large");
    }
    const std::uint64_t bit = std::uint64_t{1} << q;
    if ((out.x_mask | out.z_mask) & bit) {
      throw std::invalid_argument("qubit " + std::to_string(q) + " appears twice in Pauli string '" +
                                  std::string(text) + "'");
    }
    if (p == 'X' || p == 'Y') out.x_mask |= bit;
    if (p == 'Z' || p == 'Y') out.z_mask |= bit;
    any = true;
  }
  if (!any) throw std::invalid_argument("empty Pauli string (write \"I\" for the identity)");
  return out;
}

int PauliString::min_qubits() const {
  const std::uint64_t used = x_mask | z_mask;
  int n = 0;
  while (n < 64 && (used >> n) != 0) ++n;
  return n;
}

std::string PauliString::to_string() const {
  std::string s;
  for (int q = 0; q < min_qubits(); ++q) {
    const bool x = (x_mask >> q) & 1, z = (z_mask >> q) & 1;
    if (!x && !z) continue;
    if (!s.empty()) s += ' ';
    s += x && z ? 'Y' : x ? 'X' : 'Z';
    s += std::to_string(q);
  }
  return s.empty() ? "I" : s;
}

double expectation(const DensityMatrix& rho, const PauliString& pauli) {
  if (pauli.min_qubits() > rho.num_qubits()) {
    throw std::invalid_argument("Pauli string '" + pauli.to_string() + "' acts on qubit " +
                                std::to_string(pauli.min_qubits() - 1) + " of a " +
                                std::to_string(rho.num_qubits()) + "-qubit state");
  }
  // P|c> = i^{#Y} (-1)^{popcount(c & z)} |c xor x>, so P(r, c) is nonzero only at r = c xor x and
  // Tr(P rho) = sum_c P(c xor x, c) rho(c, c xor x) = i^{#Y} sum_c (-1)^{popcount(c & z)} rho(c, c xor x).
  const std::int64_t d = static_cast<std::int64_t>(rho.dim());
  const Complex* x = rho.data();
  const std::uint64_t xm = pauli.x_mask, zm = pauli.z_mask;
  double re = 0.0, im = 0.0;
#pragma omp parallel for reduction(+ : re, im) if (rho.num_qubits() >= noise::kParallelMinQubits)
  for (std::int64_t c = 0; c < d; ++c) {
    const std::uint64_t col = static_cast<std::uint64_t>(c) ^ xm;
    const Complex v = x[static_cast<std::uint64_t>(c) + col * static_cast<std::uint64_t>(d)];
    const double sign = (__builtin_popcountll(static_cast<std::uint64_t>(c) & zm) & 1) ? -1.0 : 1.0;
    re += sign * v.real();
    im += sign * v.imag();
  }
  // Multiply by i^{#Y}; for a Hermitian rho the result is real.
  const int ny = __builtin_popcountll(xm & zm) & 3;
  const Complex phase = ny == 0 ? Complex(1, 0) : ny == 1 ? Complex(0, 1) : ny == 2 ? Complex(-1, 0) : Complex(0, -1);
  return (phase * Complex(re, im)).real();
}

double expectation(const DensityMatrix& rho, const PauliSum& observable) {
  double sum = 0.0;
  for (const auto& [coef, pauli] : observable.terms) sum += coef * expectation(rho, pauli);
  return sum;
}

}  // namespace kraus::engine
