// Pauli-string observables and their exact expectations.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kraus/engine/density_matrix.hpp"
#include "kraus/noise/readout.hpp"

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
  bool is_identity() const { return (x_mask | z_mask) == 0; }
  std::string to_string() const;
};

// Tr(P rho) in O(2^n), without forming P: sum_c phase(c) rho(c, c xor x_mask).
double expectation(const DensityMatrix& rho, const PauliString& pauli);

// A real linear combination of Pauli strings (a Hermitian observable).
struct PauliSum {
  std::vector<std::pair<double, PauliString>> terms;

  // Parses "0.5*Z0 Z1 - 0.2*X0": terms separated by + or -, each an optional coefficient (a finite
  // decimal number followed by '*') and a Pauli string as PauliString::parse reads it ("Z0 + Z1",
  // "-X0", "1e-3 * Y2", "2*I"). A sign before the first term is optional; a constant is written
  // with I. Terms are kept as written (equal strings are not merged). Throws std::invalid_argument
  // naming the bad term.
  static PauliSum parse(std::string_view text);
  // Highest qubit index used by any term plus one (0 when there is none).
  int min_qubits() const;
  // The text form parse() reads back exactly (coefficients in shortest round-trip form, 1 and -1
  // left out): "0.5*Z0 Z1 - 0.2*X0"; "0" for no terms.
  std::string to_string() const;
};
double expectation(const DensityMatrix& rho, const PauliSum& observable);

// Reads a Hamiltonian file (docs/observables.md):
//   {"terms": [{"coefficient": 0.5, "pauli": "Z0 Z1"}, {"coefficient": -0.2, "pauli": "X0"}]}
// with at least one term, finite coefficients, no other keys and no duplicate keys; files of at
// most 64 MiB nested at most 64 levels. Errors are std::invalid_argument naming the file and the
// JSON path ("h.json: terms[1].pauli: Pauli factor 'Q0' must start with I, X, Y or Z"), or the line
// and column for JSON syntax ("h.json:3:5: invalid JSON (...)").
PauliSum read_hamiltonian_file(const std::string& path);

// The expectation of a Pauli string as a noisy measurement reports it: a copy of the state
// rotated into the string's measurement basis (H on X factors, S^dagger then H on Y factors), its
// probabilities passed through `readout` (an n-qubit model), and the parity of the string's qubits
// averaged: sum_x p_noisy(x) (-1)^{popcount(x & support)}. Only the string's qubits and the
// readout groups that share a qubit with them are kept (a reduced state of those qubits, O(4^k)
// memory for k of them; no copy for Z strings). With an empty readout this is expectation().
double expectation_with_readout(const DensityMatrix& rho, const PauliString& pauli, const noise::ReadoutModel& readout);
// sum_i c_i expectation_with_readout(rho, P_i, readout).
double expectation_with_readout(const DensityMatrix& rho, const PauliSum& sum, const noise::ReadoutModel& readout);

// A shot-based estimate of a PauliSum.
struct ShotEstimate {
  double value = 0, standard_error = 0;
  std::uint64_t shots = 0;  // per non-identity term
};

// Simulates measuring each non-identity term `shots` times in its own basis: the number of +1
// outcomes is Binomial(shots, (1 + e_i) / 2), e_i = term_expectations[i] (exact or with readout;
// in [-1, 1] to 1e-9, clipped), giving the mean m_i and the sample variance
// s_i^2 = shots (1 - m_i^2) / (shots - 1). value = sum_i c_i m_i plus the identity terms' c_i exactly;
// standard_error = sqrt(sum_i c_i^2 s_i^2 / shots). term_expectations has one entry per term of
// `sum`; shots >= 2 (std::invalid_argument otherwise).
ShotEstimate estimate_with_shots(const std::vector<double>& term_expectations, const PauliSum& sum,
                                 std::uint64_t shots, std::mt19937_64& rng);

}  // namespace kraus::engine
