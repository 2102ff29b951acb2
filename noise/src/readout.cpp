#include "kraus/noise/readout.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "bitwise.hpp"

namespace kraus::noise {

ReadoutError ReadoutError::single(int qubit, double p1_given_0, double p0_given_1) {
  ReadoutError e{{qubit}, {1.0 - p1_given_0, p1_given_0, p0_given_1, 1.0 - p0_given_1}};
  e.validate();
  return e;
}

void ReadoutError::validate() const {
  const std::size_t m = qubits.size();
  if (m < 1 || m > static_cast<std::size_t>(kMaxReadoutGroupQubits)) {
    throw std::invalid_argument("a readout error acts on 1 to " + std::to_string(kMaxReadoutGroupQubits) + " qubits");
  }
  const std::size_t d = std::size_t{1} << m;
  if (confusion.size() != d * d) {
    throw std::invalid_argument("readout confusion matrix on " + std::to_string(m) + " qubit(s) must be " +
                                std::to_string(d) + "x" + std::to_string(d));
  }
  for (std::size_t t = 0; t < d; ++t) {
    double sum = 0.0;
    for (std::size_t r = 0; r < d; ++r) {
      const double v = confusion[t * d + r];
      if (!(v >= 0.0 && v <= 1.0)) {
        throw std::invalid_argument("readout probability " + std::to_string(v) + " (row " + std::to_string(t) +
                                    ", column " + std::to_string(r) + ") is outside [0, 1]");
      }
      sum += v;
    }
    if (std::abs(sum - 1.0) > 1e-9) {
      throw std::invalid_argument("readout confusion row " + std::to_string(t) + " sums to " + std::to_string(sum) +
                                  ", not 1");
    }
  }
}

ReadoutModel::ReadoutModel(std::vector<ReadoutError> errors) : errors_(std::move(errors)) {
  std::vector<int> seen;
  for (const ReadoutError& e : errors_) {
    e.validate();
    for (int q : e.qubits) {
      if (q < 0) throw std::invalid_argument("readout error on negative qubit " + std::to_string(q));
      if (std::find(seen.begin(), seen.end(), q) != seen.end()) {
        throw std::invalid_argument("qubit " + std::to_string(q) + " has more than one readout error");
      }
      seen.push_back(q);
    }
  }
}

void ReadoutModel::apply(std::vector<double>& probabilities, int num_qubits) const {
  if (probabilities.size() != (std::size_t{1} << num_qubits)) {
    throw std::invalid_argument("probability vector length does not match " + std::to_string(num_qubits) + " qubits");
  }
  std::vector<double> in, out;
  for (const ReadoutError& e : errors_) {
    const int m = static_cast<int>(e.qubits.size());
    for (int q : e.qubits) {
      if (q >= num_qubits) {
        throw std::invalid_argument("readout error on qubit " + std::to_string(q) + " of a " +
                                    std::to_string(num_qubits) + "-qubit state");
      }
    }
    const std::size_t d = std::size_t{1} << m;
    std::vector<int> sorted = e.qubits;
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::uint64_t> off(d, 0);
    for (std::size_t a = 0; a < d; ++a)
      for (int j = 0; j < m; ++j)
        if ((a >> j) & 1) off[a] |= std::uint64_t{1} << e.qubits[static_cast<std::size_t>(j)];
    in.resize(d);
    out.resize(d);
    const std::uint64_t blocks = std::uint64_t{1} << (num_qubits - m);
    for (std::uint64_t b = 0; b < blocks; ++b) {
      std::uint64_t base = b;
      for (int pos : sorted) base = detail::insert_zero_bit(base, pos);
      for (std::size_t t = 0; t < d; ++t) in[t] = probabilities[base + off[t]];
      // P(read r) = sum_t P(true t) C(t, r)
      for (std::size_t r = 0; r < d; ++r) {
        double acc = 0.0;
        for (std::size_t t = 0; t < d; ++t) acc += in[t] * e.confusion[t * d + r];
        out[r] = acc;
      }
      for (std::size_t r = 0; r < d; ++r) probabilities[base + off[r]] = out[r];
    }
  }
}

std::map<std::uint64_t, std::uint64_t> ReadoutModel::apply_to_counts(
    const std::map<std::uint64_t, std::uint64_t>& counts, int num_qubits, std::mt19937_64& rng) const {
  for (const ReadoutError& e : errors_) {
    for (int q : e.qubits) {
      if (q >= num_qubits) {
        throw std::invalid_argument("readout error on qubit " + std::to_string(q) + " of a " +
                                    std::to_string(num_qubits) + "-qubit register");
      }
    }
  }
  std::map<std::uint64_t, std::uint64_t> out;
  for (const auto& [outcome, count] : counts) {
    if (num_qubits < 64 && (outcome >> num_qubits) != 0) {
      throw std::invalid_argument("outcome " + std::to_string(outcome) + " has bits beyond qubit " +
                                  std::to_string(num_qubits - 1));
    }
    for (std::uint64_t shot = 0; shot < count; ++shot) {
      std::uint64_t read = outcome;
      for (const ReadoutError& e : errors_) {
        const std::size_t m = e.qubits.size(), d = std::size_t{1} << m;
        std::size_t t = 0;
        for (std::size_t j = 0; j < m; ++j) t |= ((outcome >> e.qubits[j]) & 1u) << j;
        const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
        std::size_t r = 0;
        double cumulative = e.confusion[t * d];
        while (r + 1 < d && u >= cumulative) cumulative += e.confusion[t * d + ++r];
        for (std::size_t j = 0; j < m; ++j) {
          const std::uint64_t bit = std::uint64_t{1} << e.qubits[j];
          read = ((r >> j) & 1u) ? (read | bit) : (read & ~bit);
        }
      }
      ++out[read];
    }
  }
  return out;
}

}  // namespace kraus::noise
