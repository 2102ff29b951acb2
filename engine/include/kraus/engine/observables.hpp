// Pauli-string observables and their exact expectations.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kraus/engine/density_matrix.hpp"

namespace kraus::engine {

// A tensor product of Paulis, e.g. X0 Z2 = X on qubit 0 and Z on qubit 2 (identity elsewhere).
struct PauliString {
  // Bit q of x_mask / z_mask: the factor on qubit q is X (x only), Z (z only), Y (both) or I.
  std::uint64_t x_mask = 0;
  std::uint64_t z_mask = 0;

  // Parses whitespace-separated factors <P><qubit> with P in I, X, Y, Z ("X0 Z2"); "I" alone is
  // the identity. A qubit may appear once. Throws std::invalid_argument naming the bad factor.
  static PauliString parse(std::string_view text);
  // Highest qubit index used plus one (0 for the identity).
  int min_qubits() const;
  std::string to_string() const;
};

// Tr(P rho) in O(2^n), without forming P: sum_c phase(c) rho(c, c xor x_mask).
double expectation(const DensityMatrix& rho, const PauliString& pauli);

// A real linear combination of Pauli strings (a Hermitian observable).
struct PauliSum {
  std::vector<std::pair<double, PauliString>> terms;
};
double expectation(const DensityMatrix& rho, const PauliSum& observable);

}  // namespace kraus::engine
