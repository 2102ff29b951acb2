// Index arithmetic shared by the kernels (internal header).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

namespace kraus::noise::detail {

// Inserts a 0 bit at position `pos` of x, shifting the higher bits up by one.
inline std::uint64_t insert_zero_bit(std::uint64_t x, int pos) {
  const std::uint64_t low = x & ((std::uint64_t{1} << pos) - 1);
  return ((x >> pos) << (pos + 1)) | low;
}

// Inserts 0 bits at every position of `sorted_positions` (ascending), lowest first, so that each
// position refers to the final index.
template <std::size_t N>
inline std::uint64_t insert_zero_bits(std::uint64_t x, const std::array<int, N>& sorted_positions) {
  for (int pos : sorted_positions) x = insert_zero_bit(x, pos);
  return x;
}

// The flat-buffer bit positions touched by an operation on `qubits`: the row bits q and the column
// bits q + n, sorted ascending for insert_zero_bits.
template <int K>
inline std::array<int, 2 * K> touched_bits(int num_qubits, const int* qubits) {
  std::array<int, 2 * K> bits{};
  for (int j = 0; j < K; ++j) {
    bits[j] = qubits[j];
    bits[K + j] = qubits[j] + num_qubits;
  }
  std::sort(bits.begin(), bits.end());
  return bits;
}

// Offsets of the 4^K elements of one block relative to its base index, in column-stacked order:
// offset[a + b * 2^K] is element (row a, column b) of the block, bit j of a and b being qubits[j].
template <int K>
inline std::array<std::uint64_t, (1 << (2 * K))> block_offsets(int num_qubits, const int* qubits) {
  constexpr int kDim = 1 << K;
  std::array<std::uint64_t, (1 << (2 * K))> off{};
  for (int b = 0; b < kDim; ++b) {
    for (int a = 0; a < kDim; ++a) {
      std::uint64_t o = 0;
      for (int j = 0; j < K; ++j) {
        if ((a >> j) & 1) o += std::uint64_t{1} << qubits[j];
        if ((b >> j) & 1) o += std::uint64_t{1} << (qubits[j] + num_qubits);
      }
      off[a + b * kDim] = o;
    }
  }
  return off;
}

}  // namespace kraus::noise::detail
