#include "kraus/noise/kernels.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "bitwise.hpp"
#include "kernels_detail.hpp"

namespace kraus::noise {
namespace {

using detail::block_offsets;
using detail::insert_zero_bits;
using detail::touched_bits;

// ---- validation ----------------------------------------------------------------------------------

}  // namespace

namespace detail {

void validate_state(const Complex* rho, int num_qubits) {
  if (rho == nullptr) throw std::invalid_argument("density matrix pointer is null");
  if (num_qubits < 1 || num_qubits > kMaxQubits) {
    throw std::invalid_argument("number of qubits " + std::to_string(num_qubits) +
                                " is outside [1, " + std::to_string(kMaxQubits) + "]");
  }
}

void validate_targets(int num_qubits, const int* qubits, int k, int max_k) {
  if (k < 1 || k > max_k || k > num_qubits) {
    throw std::invalid_argument("operation on " + std::to_string(k) + " qubits is not supported on " +
                                std::to_string(num_qubits) + " qubits (at most " +
                                std::to_string(max_k) + ")");
  }
  for (int j = 0; j < k; ++j) {
    if (qubits[j] < 0 || qubits[j] >= num_qubits) {
      throw std::invalid_argument("qubit " + std::to_string(qubits[j]) + " is out of range [0, " +
                                  std::to_string(num_qubits - 1) + "]");
    }
    for (int i = 0; i < j; ++i) {
      if (qubits[i] == qubits[j]) {
        throw std::invalid_argument("qubit " + std::to_string(qubits[j]) +
                                    " is repeated in the target list");
      }
    }
  }
}

}  // namespace detail

namespace {

using detail::validate_state;
using detail::validate_targets;

void validate_probability(double p, const char* name) {
  if (!(p >= 0.0 && p <= 1.0)) {
    throw std::invalid_argument(std::string(name) + " = " + std::to_string(p) +
                                " is outside [0, 1]");
  }
}

// max-abs of sum_i A_i^dagger A_i - I (for a unitary, one operator).
double completeness_error(const Complex* ops, int num_ops, int dim) {
  double worst = 0.0;
  for (int r = 0; r < dim; ++r) {
    for (int c = 0; c < dim; ++c) {
      Complex s = 0.0;
      for (int i = 0; i < num_ops; ++i) {
        const Complex* a = ops + static_cast<std::ptrdiff_t>(i) * dim * dim;
        for (int m = 0; m < dim; ++m) s += std::conj(a[m * dim + r]) * a[m * dim + c];
      }
      worst = std::max(worst, std::abs(s - (r == c ? 1.0 : 0.0)));
    }
  }
  return worst;
}

bool parallel(int num_qubits) { return num_qubits >= kParallelMinQubits; }

std::int64_t num_blocks(int num_qubits, int k) {
  return std::int64_t{1} << (2 * (num_qubits - k));
}

// ---- 1-qubit kernels: the hot paths -------------------------------------------------------------
//
// The blocks of a 1-qubit operation on qubit q are indexed by m in [0, 4^(n-1)); the base index
// (bits q and q + n zero) of block m = hi * 2^q + lo is base(hi) + lo, so each `hi` owns a contiguous
// run of 2^q blocks whose four elements (r0 c0, r1 c0, r0 c1, r1 c1) lie at base + lo, base + lo +
// 2^q, base + lo + 2^(q+n) and base + lo + 2^q + 2^(q+n). The runs are split among threads.

// Calls fn(hi_begin, hi_end) over [0, num_hi), in parallel for large states. Small states (the tiles
// of sweep.cpp) take a plain call that never enters the OpenMP runtime: even a region that an `if`
// clause makes serial costs ~4 us (its closing futex call on this VM), more than a 1-qubit kernel
// on 2^10 elements.
template <typename Fn>
void for_each_run(std::int64_t num_hi, int num_qubits, Fn fn) {
  if (!parallel(num_qubits)) {
    fn(0, num_hi);
    return;
  }
  const std::int64_t chunks = std::min<std::int64_t>(num_hi, 256);
#pragma omp parallel for schedule(static)
  for (std::int64_t c = 0; c < chunks; ++c) {
    fn(num_hi * c / chunks, num_hi * (c + 1) / chunks);
  }
}

// Calls fn(m) for every block m in [0, count), in parallel for large states only (as for_each_run).
template <typename Fn>
void for_each_block(std::int64_t count, int num_qubits, Fn fn) {
  if (!parallel(num_qubits)) {
    for (std::int64_t m = 0; m < count; ++m) fn(m);
    return;
  }
#pragma omp parallel for schedule(static)
  for (std::int64_t m = 0; m < count; ++m) fn(m);
}

// Vectors of four or eight doubles (two or four complex numbers). GCC lowers them to AVX-512 or
// AVX2 in the x86-64-v4/v3 clones of the kernels and to SSE2 pairs in the default one.
typedef double v2d __attribute__((vector_size(16)));
typedef double v4d __attribute__((vector_size(32)));
typedef double v8d __attribute__((vector_size(64)));

template <typename V>
inline __attribute__((always_inline)) V load(const double* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename V>
inline __attribute__((always_inline)) void store(double* p, V v) {
  std::memcpy(p, &v, sizeof v);
}
// i * z for each complex number z = (re, im) held in v.
inline __attribute__((always_inline)) v2d times_i(v2d v) {
  return __builtin_shufflevector(v, v, 1, 0) * v2d{-1.0, 1.0};
}
inline __attribute__((always_inline)) v4d times_i(v4d v) {
  return __builtin_shufflevector(v, v, 1, 0, 3, 2) * v4d{-1.0, 1.0, -1.0, 1.0};
}
inline __attribute__((always_inline)) v8d times_i(v8d v) {
  return __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6) * v8d{-1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0};
}

// Software prefetch for writing, on states of 8 qubits or more only: a smaller state (at most 256 KiB,
// such as the tiles of sweep.cpp) already sits in the 1 MiB L2, where the prefetches only cost
// instructions (the 12-qubit layered run took 5 % longer with them, bench/).
inline __attribute__((always_inline)) void prefetch(int n, const double* p) {
  if (n >= 8) __builtin_prefetch(p, 1);
}

struct Unitary1q {
  double u00r, u00i, u01r, u01i, u10r, u10i, u11r, u11i;
};

// Runs [hi_begin, hi_end) of rho <- U rho U^dagger on qubit q, for runs of at least
// sizeof(V) / 16 blocks: each vector holds the same element of that many adjacent blocks. A real U
// (kReal: RY, H, X, ...) skips the imaginary terms, half the arithmetic.
template <typename V, bool kReal>
inline __attribute__((always_inline)) void unitary_1q_runs_vec(double* x, int n, int q, const Unitary1q u,
                                                               std::int64_t hi_begin, std::int64_t hi_end) {
  constexpr std::uint64_t kStep = sizeof(V) / sizeof(double);  // doubles per vector
  const std::uint64_t sr = std::uint64_t{2} << q;               // offsets in doubles
  const std::uint64_t sc = std::uint64_t{2} << (q + n);
  const std::uint64_t len = std::uint64_t{2} << q;
  const std::array<int, 2> bits{q, q + n};
  for (std::int64_t hi = hi_begin; hi < hi_end; ++hi) {
    double* p = x + 2 * insert_zero_bits(static_cast<std::uint64_t>(hi) << q, bits);
    for (std::uint64_t j = 0; j < len; j += kStep, p += kStep) {
      // Software prefetch 8 cache lines ahead in each stream: the hardware prefetcher alone leaves
      // this loop at about 60 % of the bandwidth it reaches with it (bench/, n = 12).
      prefetch(n, p + 64);
      prefetch(n, p + sr + 64);
      prefetch(n, p + sc + 64);
      prefetch(n, p + sr + sc + 64);
      const V b00 = load<V>(p), b10 = load<V>(p + sr), b01 = load<V>(p + sc), b11 = load<V>(p + sr + sc);
      if constexpr (kReal) {
        const V t00 = u.u00r * b00 + u.u01r * b10, t10 = u.u10r * b00 + u.u11r * b10;
        const V t01 = u.u00r * b01 + u.u01r * b11, t11 = u.u10r * b01 + u.u11r * b11;
        store(p, t00 * u.u00r + t01 * u.u01r);
        store(p + sc, t00 * u.u10r + t01 * u.u11r);
        store(p + sr, t10 * u.u00r + t11 * u.u01r);
        store(p + sr + sc, t10 * u.u10r + t11 * u.u11r);
        continue;
      }
      const V ib00 = times_i(b00), ib10 = times_i(b10), ib01 = times_i(b01), ib11 = times_i(b11);
      // T = U B
      const V t00 = u.u00r * b00 + u.u00i * ib00 + u.u01r * b10 + u.u01i * ib10;
      const V t10 = u.u10r * b00 + u.u10i * ib00 + u.u11r * b10 + u.u11i * ib10;
      const V t01 = u.u00r * b01 + u.u00i * ib01 + u.u01r * b11 + u.u01i * ib11;
      const V t11 = u.u10r * b01 + u.u10i * ib01 + u.u11r * b11 + u.u11i * ib11;
      const V it00 = times_i(t00), it10 = times_i(t10), it01 = times_i(t01), it11 = times_i(t11);
      // B'(a, b) = T(a, 0) conj(U(b, 0)) + T(a, 1) conj(U(b, 1))
      store(p, t00 * u.u00r - it00 * u.u00i + t01 * u.u01r - it01 * u.u01i);
      store(p + sc, t00 * u.u10r - it00 * u.u10i + t01 * u.u11r - it01 * u.u11i);
      store(p + sr, t10 * u.u00r - it10 * u.u00i + t11 * u.u01r - it11 * u.u01i);
      store(p + sr + sc, t10 * u.u10r - it10 * u.u10i + t11 * u.u11r - it11 * u.u11i);
    }
  }
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void unitary_1q_runs(double* x, int n, int q, const Unitary1q u, bool real, std::int64_t hi_begin,
                     std::int64_t hi_end) {
  if (q >= 2) {
    if (real) {
      unitary_1q_runs_vec<v8d, true>(x, n, q, u, hi_begin, hi_end);
    } else {
      unitary_1q_runs_vec<v8d, false>(x, n, q, u, hi_begin, hi_end);
    }
  } else if (real) {
    unitary_1q_runs_vec<v4d, true>(x, n, q, u, hi_begin, hi_end);
  } else {
    unitary_1q_runs_vec<v4d, false>(x, n, q, u, hi_begin, hi_end);
  }
}

// The same for q = 1, where a run (2 blocks) of row 0 and the run of row 1 fill one cache line: one
// vector (B00 B00 | B10 B10) a column, its halves mixed by U through a swap of the halves.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void unitary_1q_runs_q1(double* x, int n, const Unitary1q u, std::int64_t hi_begin, std::int64_t hi_end) {
  const std::uint64_t sc = std::uint64_t{2} << (1 + n);
  const std::array<int, 2> bits{1, 1 + n};
  // T(:, b) = diag(U) B(:, b) + antidiag(U) swap(B(:, b)), by halves: row 0 then row 1.
  const v8d dr = {u.u00r, u.u00r, u.u00r, u.u00r, u.u11r, u.u11r, u.u11r, u.u11r};
  const v8d di = {u.u00i, u.u00i, u.u00i, u.u00i, u.u11i, u.u11i, u.u11i, u.u11i};
  const v8d ar = {u.u01r, u.u01r, u.u01r, u.u01r, u.u10r, u.u10r, u.u10r, u.u10r};
  const v8d ai = {u.u01i, u.u01i, u.u01i, u.u01i, u.u10i, u.u10i, u.u10i, u.u10i};
  for (std::int64_t hi = hi_begin; hi < hi_end; ++hi) {
    double* p = x + 2 * insert_zero_bits(static_cast<std::uint64_t>(hi) << 1, bits);
    prefetch(n, p + 64);
    prefetch(n, p + sc + 64);
    const v8d v = load<v8d>(p), w = load<v8d>(p + sc);  // (B00 | B10), (B01 | B11)
    const v8d sv = __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3);
    const v8d sw = __builtin_shufflevector(w, w, 4, 5, 6, 7, 0, 1, 2, 3);
    const v8d t0 = dr * v + di * times_i(v) + ar * sv + ai * times_i(sv);
    const v8d t1 = dr * w + di * times_i(w) + ar * sw + ai * times_i(sw);
    const v8d it0 = times_i(t0), it1 = times_i(t1);
    // B'(:, b) = T(:, 0) conj(U(b, 0)) + T(:, 1) conj(U(b, 1))
    store(p, t0 * u.u00r - it0 * u.u00i + t1 * u.u01r - it1 * u.u01i);
    store(p + sc, t0 * u.u10r - it0 * u.u10i + t1 * u.u11r - it1 * u.u11i);
  }
}

// The same for q = 0, where the two rows of a block are adjacent: each vector holds one column
// (B(0, b), B(1, b)) of one block (V = v4d) or of two adjacent blocks (V = v8d), at p and p + sc.
template <typename V>
inline __attribute__((always_inline)) void unitary_1q_q0_blocks(int n, double* p, std::uint64_t sc, const Unitary1q& u) {
  constexpr int kBlocks = sizeof(V) / 32;
  // Columns of U as vectors: (U(0, k), U(1, k)) per block, split into duplicated real and imaginary parts.
  V c0r, c0i, c1r, c1i;
  for (int j = 0; j < kBlocks; ++j) {
    for (int h = 0; h < 2; ++h) {
      c0r[4 * j + h] = u.u00r, c0r[4 * j + 2 + h] = u.u10r, c0i[4 * j + h] = u.u00i, c0i[4 * j + 2 + h] = u.u10i;
      c1r[4 * j + h] = u.u01r, c1r[4 * j + 2 + h] = u.u11r, c1i[4 * j + h] = u.u01i, c1i[4 * j + 2 + h] = u.u11i;
    }
  }
  prefetch(n, p + 64);
  prefetch(n, p + sc + 64);
  const V v = load<V>(p), w = load<V>(p + sc);  // (B00, B10) and (B01, B11) of each block
  V v0, v1, w0, w1;  // B(0, b) and B(1, b) duplicated over each block's vector
  if constexpr (kBlocks == 1) {
    v0 = __builtin_shufflevector(v, v, 0, 1, 0, 1), v1 = __builtin_shufflevector(v, v, 2, 3, 2, 3);
    w0 = __builtin_shufflevector(w, w, 0, 1, 0, 1), w1 = __builtin_shufflevector(w, w, 2, 3, 2, 3);
  } else {
    v0 = __builtin_shufflevector(v, v, 0, 1, 0, 1, 4, 5, 4, 5), v1 = __builtin_shufflevector(v, v, 2, 3, 2, 3, 6, 7, 6, 7);
    w0 = __builtin_shufflevector(w, w, 0, 1, 0, 1, 4, 5, 4, 5), w1 = __builtin_shufflevector(w, w, 2, 3, 2, 3, 6, 7, 6, 7);
  }
  // T(:, b) = U(:, 0) B(0, b) + U(:, 1) B(1, b)
  const V t0 = c0r * v0 + c0i * times_i(v0) + c1r * v1 + c1i * times_i(v1);
  const V t1 = c0r * w0 + c0i * times_i(w0) + c1r * w1 + c1i * times_i(w1);
  const V it0 = times_i(t0), it1 = times_i(t1);
  // B'(:, b) = T(:, 0) conj(U(b, 0)) + T(:, 1) conj(U(b, 1))
  store(p, t0 * u.u00r - it0 * u.u00i + t1 * u.u01r - it1 * u.u01i);
  store(p + sc, t0 * u.u10r - it0 * u.u10i + t1 * u.u11r - it1 * u.u11i);
}

// Blocks hi and hi + 1 of an even hi lie next to each other (2^(n-1) blocks a column), so the runs go
// two blocks a vector, with a lone block at an odd start or end.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void unitary_1q_runs_q0(double* x, int n, const Unitary1q u, std::int64_t hi_begin, std::int64_t hi_end) {
  const std::uint64_t sc = std::uint64_t{2} << n;
  const std::array<int, 2> bits{0, n};
  const auto block = [&](std::int64_t hi) { return x + 2 * insert_zero_bits(static_cast<std::uint64_t>(hi), bits); };
  std::int64_t hi = hi_begin;
  if (hi < hi_end && hi % 2 != 0) unitary_1q_q0_blocks<v4d>(n, block(hi++), sc, u);
  for (; hi + 1 < hi_end; hi += 2) unitary_1q_q0_blocks<v8d>(n, block(hi), sc, u);
  if (hi < hi_end) unitary_1q_q0_blocks<v4d>(n, block(hi), sc, u);
}

void unitary_1q(Complex* rho, int n, int q, const Complex* m) {
  const Unitary1q u{m[0].real(), m[0].imag(), m[1].real(), m[1].imag(),
                    m[2].real(), m[2].imag(), m[3].real(), m[3].imag()};
  const bool real = u.u00i == 0.0 && u.u01i == 0.0 && u.u10i == 0.0 && u.u11i == 0.0;
  double* x = reinterpret_cast<double*>(rho);
  const std::int64_t num_hi = num_blocks(n, 1) >> q;
  for_each_run(num_hi, n, [&](std::int64_t begin, std::int64_t end) {
    if (q == 0) {
      unitary_1q_runs_q0(x, n, u, begin, end);
    } else if (q == 1) {
      unitary_1q_runs_q1(x, n, u, begin, end);
    } else {
      unitary_1q_runs(x, n, q, u, real, begin, end);
    }
  });
}

// 1-qubit channels whose superoperator does not mix populations with coherences and has real
// coefficients: (B00, B11) <- P (B00, B11) and (B01, B10) <- C (B01, B10), with P, C real 2x2
// row-major. Depolarising, Pauli, damping, measurement and reset are all of this form. Real
// coefficients act alike on real and imaginary parts, so a vector holds any doubles of a run: each
// run (2^q adjacent blocks) is walked in vectors of 4 doubles (q = 1) or 8 (q >= 2).
template <typename V>
inline __attribute__((always_inline)) void real_block_runs_vec(double* x, int n, int q, const double* pm,
                                                               const double* cm, std::int64_t hi_begin,
                                                               std::int64_t hi_end) {
  constexpr std::uint64_t kStep = sizeof(V) / sizeof(double);
  const std::uint64_t sr = std::uint64_t{2} << q;
  const std::uint64_t sc = std::uint64_t{2} << (q + n);
  const std::uint64_t len = std::uint64_t{2} << q;  // doubles per run
  const std::array<int, 2> bits{q, q + n};
  const double p00 = pm[0], p01 = pm[1], p10 = pm[2], p11 = pm[3];
  const double c00 = cm[0], c01 = cm[1], c10 = cm[2], c11 = cm[3];
  for (std::int64_t hi = hi_begin; hi < hi_end; ++hi) {
    double* p = x + 2 * insert_zero_bits(static_cast<std::uint64_t>(hi) << q, bits);
    for (std::uint64_t j = 0; j < len; j += kStep, p += kStep) {
      // Prefetching 8 cache lines ahead in each of the four streams, as in unitary_1q_runs_vec.
      prefetch(n, p + 64);
      prefetch(n, p + sr + 64);
      prefetch(n, p + sc + 64);
      prefetch(n, p + sr + sc + 64);
      const V b00 = load<V>(p), b10 = load<V>(p + sr), b01 = load<V>(p + sc), b11 = load<V>(p + sr + sc);
      store(p, p00 * b00 + p01 * b11);
      store(p + sr + sc, p10 * b00 + p11 * b11);
      store(p + sc, c00 * b01 + c01 * b10);
      store(p + sr, c10 * b01 + c11 * b10);
    }
  }
}

// q = 0, where the two rows of a block are adjacent: one vector (B00, B10) and one (B01, B11) a block.
inline __attribute__((always_inline)) void real_block_runs_q0(double* x, int n, const double* pm, const double* cm,
                                                              std::int64_t hi_begin, std::int64_t hi_end) {
  const std::uint64_t sc = std::uint64_t{2} << n;
  const std::array<int, 2> bits{0, n};
  // (B00, B10) <- (p00 B00 + p01 B11, c10 B01 + c11 B10), (B01, B11) <- (c00 B01 + c01 B10, p10 B00 + p11 B11)
  const v4d v_own = {pm[0], pm[0], cm[3], cm[3]}, v_other = {pm[1], pm[1], cm[2], cm[2]};
  const v4d w_own = {cm[0], cm[0], pm[3], pm[3]}, w_other = {cm[1], cm[1], pm[2], pm[2]};
  for (std::int64_t hi = hi_begin; hi < hi_end; ++hi) {
    double* p = x + 2 * insert_zero_bits(static_cast<std::uint64_t>(hi), bits);
    prefetch(n, p + 64);
    prefetch(n, p + sc + 64);
    const v4d v = load<v4d>(p), w = load<v4d>(p + sc);
    store(p, v_own * v + v_other * __builtin_shufflevector(w, w, 2, 3, 0, 1));
    store(p + sc, w_own * w + w_other * __builtin_shufflevector(v, v, 2, 3, 0, 1));
  }
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void real_block_runs(double* x, int n, int q, const double* pm, const double* cm, std::int64_t hi_begin,
                     std::int64_t hi_end) {
  if (q >= 2) {
    real_block_runs_vec<v8d>(x, n, q, pm, cm, hi_begin, hi_end);
  } else if (q == 1) {
    real_block_runs_vec<v4d>(x, n, q, pm, cm, hi_begin, hi_end);
  } else {
    real_block_runs_q0(x, n, pm, cm, hi_begin, hi_end);
  }
}

// Runs [hi_begin, hi_end) of B <- (1 - alpha) B + alpha Tr(B) I / 2^K on every block, K = 2 or 3,
// vectorised across adjacent blocks as superoperator_runs_vec is (the coefficients are real, so a
// vector holds any doubles of a run).
template <int K, typename V>
inline __attribute__((always_inline)) void depolarizing_runs_vec(double* x, int n, const int* qubits, double alpha,
                                                                 std::int64_t hi_begin, std::int64_t hi_end) {
  constexpr int kDim = 1 << K;
  constexpr std::uint64_t kStep = sizeof(V) / sizeof(double);
  const int qmin = *std::min_element(qubits, qubits + K);
  const auto bits = touched_bits<K>(n, qubits);
  const auto off_elems = block_offsets<K>(n, qubits);
  std::uint64_t off[kDim * kDim];
  for (int e = 0; e < kDim * kDim; ++e) off[e] = 2 * off_elems[static_cast<std::size_t>(e)];
  const double keep = 1.0 - alpha, mix = alpha / kDim;
  const std::uint64_t len = std::uint64_t{2} << qmin;
  for (std::int64_t hi = hi_begin; hi < hi_end; ++hi) {
    double* base = x + 2 * insert_zero_bits(static_cast<std::uint64_t>(hi) << qmin, bits);
    for (std::uint64_t j = 0; j < len; j += kStep) {
      double* p = base + j;
      V diag[kDim];
      V tr = {};
      for (int a = 0; a < kDim; ++a) {
        diag[a] = load<V>(p + off[a * (kDim + 1)]);
        tr += diag[a];
      }
      for (int a = 0; a < kDim; ++a) store(p + off[a * (kDim + 1)], keep * diag[a] + mix * tr);
      for (int e = 0; e < kDim * kDim; ++e) {
        if (e % (kDim + 1) != 0) store(p + off[e], keep * load<V>(p + off[e]));
      }
    }
  }
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void depolarizing_runs(double* x, int n, const int* qubits, int k, double alpha, std::int64_t hi_begin,
                       std::int64_t hi_end) {
  const int qmin = *std::min_element(qubits, qubits + k);
  if (k == 2) {
    if (qmin >= 2) {
      depolarizing_runs_vec<2, v8d>(x, n, qubits, alpha, hi_begin, hi_end);
    } else if (qmin == 1) {
      depolarizing_runs_vec<2, v4d>(x, n, qubits, alpha, hi_begin, hi_end);
    } else {
      depolarizing_runs_vec<2, v2d>(x, n, qubits, alpha, hi_begin, hi_end);
    }
  } else if (qmin >= 2) {
    depolarizing_runs_vec<3, v8d>(x, n, qubits, alpha, hi_begin, hi_end);
  } else if (qmin == 1) {
    depolarizing_runs_vec<3, v4d>(x, n, qubits, alpha, hi_begin, hi_end);
  } else {
    depolarizing_runs_vec<3, v2d>(x, n, qubits, alpha, hi_begin, hi_end);
  }
}

}  // namespace

namespace detail {

void real_block_channel_1q(Complex* rho, int n, int q, const double* p, const double* c) {
  double* x = reinterpret_cast<double*>(rho);
  for_each_run(num_blocks(n, 1) >> q, n,
               [&](std::int64_t begin, std::int64_t end) { real_block_runs(x, n, q, p, c, begin, end); });
}

void depolarizing_block(Complex* rho, int num_qubits, const int* qubits, int k, double alpha) {
  switch (k) {
    case 1: {
      // B00' = (1 - alpha / 2) B00 + alpha / 2 B11 (and the same for B11), B01' = (1 - alpha) B01: a
      // real block channel, whose runs are vectorised (the block loop below is scalar).
      const double keep = 1.0 - alpha, mix = alpha / 2.0;
      const double p[4] = {keep + mix, mix, mix, keep + mix};
      const double c[4] = {keep, 0.0, 0.0, keep};
      real_block_channel_1q(rho, num_qubits, qubits[0], p, c);
      break;
    }
    default: {
      double* x = reinterpret_cast<double*>(rho);
      const int qmin = *std::min_element(qubits, qubits + k);
      for_each_run(num_blocks(num_qubits, k) >> qmin, num_qubits, [&](std::int64_t begin, std::int64_t end) {
        depolarizing_runs(x, num_qubits, qubits, k, alpha, begin, end);
      });
      break;
    }
  }
}

}  // namespace detail

namespace {

using detail::real_block_channel_1q;

// ---- 2-qubit general unitary ---------------------------------------------------------------------
//
// As for one qubit, blocks whose base indices differ only below the lower target are adjacent in
// memory, so a vector holds the same element of 2 or 4 adjacent blocks. Each 4x4 block is updated as
// T = U B column by column, then B' = T U^dagger row by row, with T kept on the stack.

template <typename V>
inline __attribute__((always_inline)) void unitary_2q_runs_vec(double* x, int n, const int* qubits,
                                                               const double* u, std::int64_t hi_begin,
                                                               std::int64_t hi_end) {
  constexpr std::uint64_t kStep = sizeof(V) / sizeof(double);
  const int qmin = std::min(qubits[0], qubits[1]);
  const auto bits = touched_bits<2>(n, qubits);
  const auto off_elems = block_offsets<2>(n, qubits);
  std::uint64_t off[16];
  for (int e = 0; e < 16; ++e) off[e] = 2 * off_elems[static_cast<std::size_t>(e)];
  const std::uint64_t len = std::uint64_t{2} << qmin;
  // u holds U row-major as (re, im) pairs: U(r, c) = u[2 (4 r + c)] + i u[2 (4 r + c) + 1].
  for (std::int64_t hi = hi_begin; hi < hi_end; ++hi) {
    double* base = x + 2 * insert_zero_bits(static_cast<std::uint64_t>(hi) << qmin, bits);
    for (std::uint64_t j = 0; j < len; j += kStep) {
      double* p = base + j;
      for (int e = 0; e < 16; ++e) prefetch(n, p + off[e] + 64);
      V t[16], it[16];
      for (int c = 0; c < 4; ++c) {
        V b[4], ib[4];
        for (int k = 0; k < 4; ++k) {
          b[k] = load<V>(p + off[k + 4 * c]);
          ib[k] = times_i(b[k]);
        }
        for (int r = 0; r < 4; ++r) {
          const double* ur = u + 8 * r;
          t[r + 4 * c] = ur[0] * b[0] + ur[1] * ib[0] + ur[2] * b[1] + ur[3] * ib[1] + ur[4] * b[2] +
                         ur[5] * ib[2] + ur[6] * b[3] + ur[7] * ib[3];
          it[r + 4 * c] = times_i(t[r + 4 * c]);
        }
      }
      // B'(r, c) = sum_j T(r, j) conj(U(c, j))
      for (int c = 0; c < 4; ++c) {
        const double* uc = u + 8 * c;
        for (int r = 0; r < 4; ++r) {
          store(p + off[r + 4 * c], t[r] * uc[0] - it[r] * uc[1] + t[r + 4] * uc[2] - it[r + 4] * uc[3] +
                                        t[r + 8] * uc[4] - it[r + 8] * uc[5] + t[r + 12] * uc[6] -
                                        it[r + 12] * uc[7]);
        }
      }
    }
  }
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void unitary_2q_runs(double* x, int n, const int* qubits, const double* u, std::int64_t hi_begin,
                     std::int64_t hi_end) {
  if (std::min(qubits[0], qubits[1]) >= 2) {
    unitary_2q_runs_vec<v8d>(x, n, qubits, u, hi_begin, hi_end);
  } else {
    unitary_2q_runs_vec<v4d>(x, n, qubits, u, hi_begin, hi_end);
  }
}

// ---- generic block kernels (k qubits) ----------------------------------------------------------

// rho <- U rho U^dagger, gathering each 2^K x 2^K block.
template <int K>
void unitary_block(Complex* rho, int n, const int* qubits, const Complex* u) {
  constexpr int kDim = 1 << K;
  const auto bits = touched_bits<K>(n, qubits);
  const auto off = block_offsets<K>(n, qubits);
  const std::int64_t blocks = num_blocks(n, K);
  for_each_block(blocks, n, [&](std::int64_t m) {
    const std::uint64_t base = insert_zero_bits(static_cast<std::uint64_t>(m), bits);
    Complex b[kDim][kDim], t[kDim][kDim];
    for (int c = 0; c < kDim; ++c)
      for (int r = 0; r < kDim; ++r) b[r][c] = rho[base + off[r + c * kDim]];
    for (int r = 0; r < kDim; ++r)
      for (int c = 0; c < kDim; ++c) {
        Complex s = 0.0;
        for (int j = 0; j < kDim; ++j) s += u[r * kDim + j] * b[j][c];
        t[r][c] = s;
      }
    for (int r = 0; r < kDim; ++r)
      for (int c = 0; c < kDim; ++c) {
        Complex s = 0.0;
        for (int j = 0; j < kDim; ++j) s += t[r][j] * std::conj(u[c * kDim + j]);
        rho[base + off[r + c * kDim]] = s;
      }
  });
}

// Monomial U (U(perm[a], a) = phase[a], zero elsewhere; diagonals included):
// B'(perm a, perm b) = phase a conj(phase b) B(a, b) on every block. Only the elements that move or
// change are read and written (a CNOT leaves a quarter of the state alone, a diagonal moves nothing),
// and a permutation with unit phases only copies; when it is also its own inverse (CNOT, SWAP, X,
// Toffoli) it swaps pairs of elements in registers. As for the unitaries, a vector holds the same
// element of 1, 2 or 4 adjacent blocks (lowest target 0, 1, >= 2).
struct MonomialMoves {
  int count = 0;
  bool unit = true;                 // every factor is 1
  bool swaps = false;               // unit, and the moves are the pairs src[i] <-> dst[i]
  std::uint64_t src[64], dst[64];   // element offsets in doubles from a block's base
  double re[64], im[64];            // the factor of each move
};

template <int K>
MonomialMoves monomial_moves(int n, const int* qubits, const int* perm, const Complex* phase) {
  constexpr int kDim = 1 << K;
  const auto off = block_offsets<K>(n, qubits);
  MonomialMoves mv;
  for (int b = 0; b < kDim; ++b)
    for (int a = 0; a < kDim; ++a) {
      const int e = a + b * kDim, d = perm[a] + perm[b] * kDim;
      const Complex f = phase[a] * std::conj(phase[b]);
      if (d == e && f == Complex(1.0, 0.0)) continue;
      mv.src[mv.count] = 2 * off[static_cast<std::size_t>(e)];
      mv.dst[mv.count] = 2 * off[static_cast<std::size_t>(d)];
      mv.re[mv.count] = f.real();
      mv.im[mv.count++] = f.imag();
      mv.unit = mv.unit && f == Complex(1.0, 0.0);
    }
  // When perm is an involution every moved element e goes to d and d back to e: keep each pair once
  // (src < dst).
  bool involution = mv.unit;
  for (int a = 0; a < kDim; ++a) involution = involution && perm[perm[a]] == a;
  if (involution) {
    int pairs = 0;
    for (int i = 0; i < mv.count; ++i) {
      if (mv.src[i] < mv.dst[i]) {
        mv.src[pairs] = mv.src[i];
        mv.dst[pairs++] = mv.dst[i];
      }
    }
    mv.count = pairs;
    mv.swaps = true;
  }
  return mv;
}

template <int K, typename V>
inline __attribute__((always_inline)) void monomial_runs_vec(double* x, int n, const int* qubits, const MonomialMoves& mv,
                                                             std::int64_t hi_begin, std::int64_t hi_end) {
  constexpr std::uint64_t kStep = sizeof(V) / sizeof(double);
  const int qmin = *std::min_element(qubits, qubits + K);
  const auto bits = touched_bits<K>(n, qubits);
  const std::uint64_t len = std::uint64_t{2} << qmin;
  const int count = mv.count;
  V v[64];
  for (std::int64_t hi = hi_begin; hi < hi_end; ++hi) {
    double* base = x + 2 * insert_zero_bits(static_cast<std::uint64_t>(hi) << qmin, bits);
    for (std::uint64_t j = 0; j < len; j += kStep) {
      double* p = base + j;
      if (mv.swaps) {
        for (int i = 0; i < count; ++i) {
          prefetch(n, p + mv.src[i] + 64);
          prefetch(n, p + mv.dst[i] + 64);
          const V a = load<V>(p + mv.src[i]), b = load<V>(p + mv.dst[i]);
          store(p + mv.dst[i], a);
          store(p + mv.src[i], b);
        }
        continue;
      }
      // All sources are read before any destination is written: the moves permute the elements.
      for (int i = 0; i < count; ++i) {
        prefetch(n, p + mv.src[i] + 64);
        v[i] = load<V>(p + mv.src[i]);
      }
      if (mv.unit) {
        for (int i = 0; i < count; ++i) store(p + mv.dst[i], v[i]);
      } else {
        for (int i = 0; i < count; ++i) store(p + mv.dst[i], mv.re[i] * v[i] + mv.im[i] * times_i(v[i]));
      }
    }
  }
}

template <int K>
inline __attribute__((always_inline)) void monomial_runs_k(double* x, int n, const int* qubits, const MonomialMoves& mv,
                                                           std::int64_t hi_begin, std::int64_t hi_end) {
  const int qmin = *std::min_element(qubits, qubits + K);
  if (qmin >= 2) {
    monomial_runs_vec<K, v8d>(x, n, qubits, mv, hi_begin, hi_end);
  } else if (qmin == 1) {
    monomial_runs_vec<K, v4d>(x, n, qubits, mv, hi_begin, hi_end);
  } else {
    monomial_runs_vec<K, v2d>(x, n, qubits, mv, hi_begin, hi_end);
  }
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void monomial_runs(double* x, int n, const int* qubits, int k, const MonomialMoves& mv, std::int64_t hi_begin,
                   std::int64_t hi_end) {
  switch (k) {
    case 1: monomial_runs_k<1>(x, n, qubits, mv, hi_begin, hi_end); break;
    case 2: monomial_runs_k<2>(x, n, qubits, mv, hi_begin, hi_end); break;
    default: monomial_runs_k<3>(x, n, qubits, mv, hi_begin, hi_end); break;
  }
}

template <int K>
void monomial(Complex* rho, int n, const int* qubits, const int* perm, const Complex* phase) {
  const MonomialMoves mv = monomial_moves<K>(n, qubits, perm, phase);
  if (mv.count == 0) return;
  const int qmin = *std::min_element(qubits, qubits + K);
  double* x = reinterpret_cast<double*>(rho);
  for_each_run(num_blocks(n, K) >> qmin, n,
               [&](std::int64_t begin, std::int64_t end) { monomial_runs(x, n, qubits, K, mv, begin, end); });
}

// vec(B) <- S vec(B) on each block.
template <int K>
void superoperator_block(Complex* rho, int n, const int* qubits, const Complex* s) {
  constexpr int kElems = 1 << (2 * K);
  const auto bits = touched_bits<K>(n, qubits);
  const auto off = block_offsets<K>(n, qubits);
  const std::int64_t blocks = num_blocks(n, K);
  for_each_block(blocks, n, [&](std::int64_t m) {
    const std::uint64_t base = insert_zero_bits(static_cast<std::uint64_t>(m), bits);
    Complex v[kElems];
    for (int e = 0; e < kElems; ++e) v[e] = rho[base + off[e]];
    for (int r = 0; r < kElems; ++r) {
      Complex acc = 0.0;
      for (int e = 0; e < kElems; ++e) acc += s[r * kElems + e] * v[e];
      rho[base + off[r]] = acc;
    }
  });
}

// Runs [hi_begin, hi_end) of vec(B) <- S vec(B) for K = 1 or 2, vectorised across adjacent blocks
// as unitary_2q_runs_vec is (lowest target >= 1 for v4d, >= 2 for v8d; v2d, one complex number a
// vector, for any). s holds S row-major as (re, im) pairs. Each output is accumulated as
// sum Re(S) v + i sum Im(S) v, so that the 4^K loaded vectors and two accumulators fit the 32
// AVX-512 registers; a real S (kReal: unitaries and channels with real matrices, such as RY with
// depolarising or relaxation after it) skips the imaginary half.
template <int K, typename V, bool kReal>
inline __attribute__((always_inline)) void superoperator_runs_vec(double* x, int n, const int* qubits,
                                                                  const double* s, std::int64_t hi_begin,
                                                                  std::int64_t hi_end) {
  constexpr int kElems = 1 << (2 * K);
  constexpr std::uint64_t kStep = sizeof(V) / sizeof(double);
  const int qmin = *std::min_element(qubits, qubits + K);
  const auto bits = touched_bits<K>(n, qubits);
  const auto off_elems = block_offsets<K>(n, qubits);
  std::uint64_t off[kElems];
  for (int e = 0; e < kElems; ++e) off[e] = 2 * off_elems[static_cast<std::size_t>(e)];
  const std::uint64_t len = std::uint64_t{2} << qmin;
  for (std::int64_t hi = hi_begin; hi < hi_end; ++hi) {
    double* base = x + 2 * insert_zero_bits(static_cast<std::uint64_t>(hi) << qmin, bits);
    for (std::uint64_t j = 0; j < len; j += kStep) {
      double* p = base + j;
      for (int e = 0; e < kElems; ++e) prefetch(n, p + off[e] + 64);
      V v[kElems];
      for (int e = 0; e < kElems; ++e) v[e] = load<V>(p + off[e]);
      for (int r = 0; r < kElems; ++r) {
        const double* sr = s + 2 * kElems * r;
        V re = sr[0] * v[0];
        for (int e = 1; e < kElems; ++e) re += sr[2 * e] * v[e];
        if constexpr (kReal) {
          store(p + off[r], re);
        } else {
          V im = sr[1] * v[0];
          for (int e = 1; e < kElems; ++e) im += sr[2 * e + 1] * v[e];
          store(p + off[r], re + times_i(im));
        }
      }
    }
  }
}

// The 1-qubit superoperator on qubit 0, where the two rows of a block are adjacent: with v = (B00, B10)
// and w = (B01, B11) of one block (V = v4d) or of two adjacent blocks (V = v8d), and swap() exchanging
// the two rows, v' = A v + B swap(v) + C w + D swap(w) and w' = E w + F swap(w) + G v + H swap(v),
// where each coefficient vector holds one entry of S per row (c[0] for row 0, c[1] for row 1).
template <typename V>
inline __attribute__((always_inline)) V swap_rows(V v) {
  if constexpr (sizeof(V) == 32) {
    return __builtin_shufflevector(v, v, 2, 3, 0, 1);
  } else {
    return __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5);
  }
}

template <typename V, bool kReal>
inline __attribute__((always_inline)) void superoperator_1q_q0_blocks(double* p, std::uint64_t sc, const V* cr,
                                                                      const V* ci) {
  const V v = load<V>(p), w = load<V>(p + sc);
  const V sv = swap_rows(v), sw = swap_rows(w);
  V nv = cr[0] * v + cr[1] * sv + cr[2] * w + cr[3] * sw;
  V nw = cr[4] * w + cr[5] * sw + cr[6] * v + cr[7] * sv;
  if constexpr (!kReal) {
    nv += times_i(ci[0] * v + ci[1] * sv + ci[2] * w + ci[3] * sw);
    nw += times_i(ci[4] * w + ci[5] * sw + ci[6] * v + ci[7] * sv);
  }
  store(p, nv);
  store(p + sc, nw);
}

template <bool kReal>
inline __attribute__((always_inline)) void superoperator_1q_runs_q0(double* x, int n, const double* s,
                                                                    std::int64_t hi_begin, std::int64_t hi_end) {
  // Entry (r, c) of S as (re, im) at s + 2 (4 r + c); the coefficient vectors per row of v and w.
  static constexpr int kEntries[8][2] = {{0, 5}, {1, 4}, {2, 7}, {3, 6}, {10, 15}, {11, 14}, {8, 13}, {9, 12}};
  v8d cr[8], ci[8];
  for (int j = 0; j < 8; ++j) {
    for (int lane = 0; lane < 8; ++lane) {
      const int entry = kEntries[j][(lane / 2) % 2];
      cr[j][lane] = s[2 * entry];
      ci[j][lane] = s[2 * entry + 1];
    }
  }
  v4d cr4[8], ci4[8];
  for (int j = 0; j < 8; ++j) {
    cr4[j] = __builtin_shufflevector(cr[j], cr[j], 0, 1, 2, 3);
    ci4[j] = __builtin_shufflevector(ci[j], ci[j], 0, 1, 2, 3);
  }
  const std::uint64_t sc = std::uint64_t{2} << n;
  const std::array<int, 2> bits{0, n};
  const auto block = [&](std::int64_t hi) { return x + 2 * insert_zero_bits(static_cast<std::uint64_t>(hi), bits); };
  std::int64_t hi = hi_begin;
  if (hi < hi_end && hi % 2 != 0) superoperator_1q_q0_blocks<v4d, kReal>(block(hi++), sc, cr4, ci4);
  for (; hi + 1 < hi_end; hi += 2) superoperator_1q_q0_blocks<v8d, kReal>(block(hi), sc, cr, ci);
  if (hi < hi_end) superoperator_1q_q0_blocks<v4d, kReal>(block(hi), sc, cr4, ci4);
}

template <int K, bool kReal>
inline __attribute__((always_inline)) void superoperator_runs_k(double* x, int n, const int* qubits,
                                                                const double* s, std::int64_t hi_begin,
                                                                std::int64_t hi_end) {
  const int qmin = *std::min_element(qubits, qubits + K);
  if (qmin >= 2) {
    superoperator_runs_vec<K, v8d, kReal>(x, n, qubits, s, hi_begin, hi_end);
  } else if (qmin == 1) {
    superoperator_runs_vec<K, v4d, kReal>(x, n, qubits, s, hi_begin, hi_end);
  } else if constexpr (K == 1) {
    superoperator_1q_runs_q0<kReal>(x, n, s, hi_begin, hi_end);
  } else {
    superoperator_runs_vec<K, v2d, kReal>(x, n, qubits, s, hi_begin, hi_end);
  }
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void superoperator_runs(double* x, int n, const int* qubits, int k, const double* s, bool real,
                        std::int64_t hi_begin, std::int64_t hi_end) {
  if (k == 1) {
    if (real) {
      superoperator_runs_k<1, true>(x, n, qubits, s, hi_begin, hi_end);
    } else {
      superoperator_runs_k<1, false>(x, n, qubits, s, hi_begin, hi_end);
    }
  } else if (real) {
    superoperator_runs_k<2, true>(x, n, qubits, s, hi_begin, hi_end);
  } else {
    superoperator_runs_k<2, false>(x, n, qubits, s, hi_begin, hi_end);
  }
}

// One group of M elements at offsets off (doubles from the block's base), its M x M matrix m.
template <int M, typename V>
inline __attribute__((always_inline)) void real_group(double* p, const std::uint64_t* off, const double* m) {
  V v[M];
  for (int c = 0; c < M; ++c) v[c] = load<V>(p + off[c]);
  for (int r = 0; r < M; ++r) {
    V acc = m[r * M] * v[0];
    for (int c = 1; c < M; ++c) acc += m[r * M + c] * v[c];
    store(p + off[r], acc);
  }
}

// Runs of a real 2-qubit superoperator in closed groups (detail::RealGroups), vectorised across
// adjacent blocks as superoperator_runs_vec is. The groups' element offsets are resolved once.
template <typename V>
inline __attribute__((always_inline)) void real_groups_runs_vec(double* x, int n, const int* qubits,
                                                                const detail::RealGroups& g, std::int64_t hi_begin,
                                                                std::int64_t hi_end) {
  constexpr std::uint64_t kStep = sizeof(V) / sizeof(double);
  const int qmin = std::min(qubits[0], qubits[1]);
  const auto bits = touched_bits<2>(n, qubits);
  const auto off_elems = block_offsets<2>(n, qubits);
  std::uint64_t off[16][4];
  for (int i = 0; i < g.count; ++i)
    for (int c = 0; c < g.size[i]; ++c) off[i][c] = 2 * off_elems[static_cast<std::size_t>(g.element[i][c])];
  const std::uint64_t len = std::uint64_t{2} << qmin;
  for (std::int64_t hi = hi_begin; hi < hi_end; ++hi) {
    double* base = x + 2 * insert_zero_bits(static_cast<std::uint64_t>(hi) << qmin, bits);
    for (std::uint64_t j = 0; j < len; j += kStep) {
      double* p = base + j;
      for (int e = 0; e < 16; ++e) prefetch(n, p + 2 * off_elems[static_cast<std::size_t>(e)] + 64);
      for (int i = 0; i < g.count; ++i) {
        switch (g.size[i]) {
          case 1: real_group<1, V>(p, off[i], g.matrix[i]); break;
          case 2: real_group<2, V>(p, off[i], g.matrix[i]); break;
          case 3: real_group<3, V>(p, off[i], g.matrix[i]); break;
          default: real_group<4, V>(p, off[i], g.matrix[i]); break;
        }
      }
    }
  }
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void real_groups_runs(double* x, int n, const int* qubits, const detail::RealGroups& g, std::int64_t hi_begin,
                      std::int64_t hi_end) {
  const int qmin = std::min(qubits[0], qubits[1]);
  if (qmin >= 2) {
    real_groups_runs_vec<v8d>(x, n, qubits, g, hi_begin, hi_end);
  } else if (qmin == 1) {
    real_groups_runs_vec<v4d>(x, n, qubits, g, hi_begin, hi_end);
  } else {
    real_groups_runs_vec<v2d>(x, n, qubits, g, hi_begin, hi_end);
  }
}

// Whether every entry of the dim x dim matrix m has an exactly zero imaginary part.
bool is_real(const Complex* m, int dim) {
  for (int i = 0; i < dim * dim; ++i)
    if (m[i].imag() != 0.0) return false;
  return true;
}

// The vectorised runs for 1 and 2 qubits, else the scalar block loop.
template <int K>
void dispatch_superoperator(Complex* rho, int n, const int* qubits, const Complex* s) {
  if constexpr (K <= 2) {
    const int qmin = *std::min_element(qubits, qubits + K);
    const bool real = is_real(s, 1 << (2 * K));
    double* x = reinterpret_cast<double*>(rho);
    const double* sd = reinterpret_cast<const double*>(s);
    for_each_run(num_blocks(n, K) >> qmin, n, [&](std::int64_t begin, std::int64_t end) {
      superoperator_runs(x, n, qubits, K, sd, real, begin, end);
    });
  } else {
    superoperator_block<K>(rho, n, qubits, s);
  }
}

// Whether U is monomial (one nonzero per row and column, exact zeros only), with perm and phase.
bool as_monomial(const Complex* u, int dim, int* perm, Complex* phase) {
  bool hit[8] = {};
  for (int c = 0; c < dim; ++c) {
    int found = -1;
    for (int r = 0; r < dim; ++r) {
      if (u[r * dim + c] != 0.0) {
        if (found >= 0) return false;
        found = r;
      }
    }
    if (found < 0 || hit[found]) return false;
    hit[found] = true;
    perm[c] = found;
    phase[c] = u[found * dim + c];
  }
  return true;
}

template <int K>
void dispatch_unitary(Complex* rho, int n, const int* qubits, const Complex* u) {
  constexpr int kDim = 1 << K;
  int perm[kDim];
  Complex phase[kDim];
  if (as_monomial(u, kDim, perm, phase)) {
    monomial<K>(rho, n, qubits, perm, phase);
  } else if constexpr (K == 1) {
    unitary_1q(rho, n, qubits[0], u);
  } else if (K == 2 && std::min(qubits[0], qubits[1]) >= 1) {
    const double* ud = reinterpret_cast<const double*>(u);
    double* x = reinterpret_cast<double*>(rho);
    const int qmin = std::min(qubits[0], qubits[1]);
    for_each_run(num_blocks(n, 2) >> qmin, n, [&](std::int64_t begin, std::int64_t end) {
      unitary_2q_runs(x, n, qubits, ud, begin, end);
    });
  } else {
    unitary_block<K>(rho, n, qubits, u);
  }
}

}  // namespace

namespace detail {

std::vector<Complex> encode_groups(const RealGroups& g) {
  std::vector<Complex> out;
  out.emplace_back(g.count);
  for (int i = 0; i < g.count; ++i) {
    const int m = g.size[i];
    out.emplace_back(m);
    for (int c = 0; c < m; ++c) out.emplace_back(g.element[i][c]);
    for (int e = 0; e < m * m; ++e) out.emplace_back(g.matrix[i][e]);
  }
  return out;
}

RealGroups decode_groups(const Complex* data) {
  RealGroups g;
  std::size_t at = 0;
  g.count = static_cast<int>(data[at++].real());
  for (int i = 0; i < g.count; ++i) {
    const int m = static_cast<int>(data[at++].real());
    g.size[i] = m;
    for (int c = 0; c < m; ++c) g.element[i][c] = static_cast<int>(data[at++].real());
    for (int e = 0; e < m * m; ++e) g.matrix[i][e] = data[at++].real();
  }
  return g;
}

void real_groups_2q(Complex* rho, int n, const int* qubits, const RealGroups& g) {
  double* x = reinterpret_cast<double*>(rho);
  const int qmin = std::min(qubits[0], qubits[1]);
  for_each_run(num_blocks(n, 2) >> qmin, n,
               [&](std::int64_t begin, std::int64_t end) { real_groups_runs(x, n, qubits, g, begin, end); });
}

bool real_groups(const Complex* s, RealGroups* groups) {
  int parent[16];
  for (int e = 0; e < 16; ++e) parent[e] = e;
  const auto root = [&](int e) {
    while (parent[e] != e) e = parent[e];
    return e;
  };
  for (int r = 0; r < 16; ++r) {
    for (int c = 0; c < 16; ++c) {
      if (s[r * 16 + c].imag() != 0.0) return false;
      if (s[r * 16 + c] != 0.0) parent[root(r)] = root(c);
    }
  }
  RealGroups& g = *groups;
  g.count = 0;
  int group_of_root[16];
  std::fill(group_of_root, group_of_root + 16, -1);
  for (int e = 0; e < 16; ++e) {
    int& i = group_of_root[root(e)];
    if (i < 0) {
      i = g.count++;
      g.size[i] = 0;
    }
    if (g.size[i] == 4) return false;
    g.element[i][g.size[i]++] = e;
  }
  for (int i = 0; i < g.count; ++i) {
    const int m = g.size[i];
    for (int r = 0; r < m; ++r)
      for (int c = 0; c < m; ++c) g.matrix[i][r * m + c] = s[g.element[i][r] * 16 + g.element[i][c]].real();
  }
  return true;
}

void unitary_unchecked(Complex* rho, int num_qubits, const int* qubits, int k, const Complex* u) {
  switch (k) {
    case 1: dispatch_unitary<1>(rho, num_qubits, qubits, u); break;
    case 2: dispatch_unitary<2>(rho, num_qubits, qubits, u); break;
    default: dispatch_unitary<3>(rho, num_qubits, qubits, u); break;
  }
}

void superoperator_unchecked(Complex* rho, int num_qubits, const int* qubits, int k, const Complex* s) {
  switch (k) {
    case 1: dispatch_superoperator<1>(rho, num_qubits, qubits, s); break;
    case 2: dispatch_superoperator<2>(rho, num_qubits, qubits, s); break;
    default: dispatch_superoperator<3>(rho, num_qubits, qubits, s); break;
  }
}

}  // namespace detail

void apply_unitary(Complex* rho, int num_qubits, const int* qubits, int k, const Complex* u,
                   double unitarity_tolerance) {
  validate_state(rho, num_qubits);
  validate_targets(num_qubits, qubits, k, 3);
  if (u == nullptr) throw std::invalid_argument("unitary matrix pointer is null");
  const int dim = 1 << k;
  if (unitarity_tolerance >= 0.0) {
    const double err = completeness_error(u, 1, dim);
    if (!(err <= unitarity_tolerance)) {
      throw std::invalid_argument("matrix is not unitary: max |U^dagger U - I| = " +
                                  std::to_string(err) + " exceeds tolerance " +
                                  std::to_string(unitarity_tolerance));
    }
  }
  detail::unitary_unchecked(rho, num_qubits, qubits, k, u);
}

void apply_superoperator(Complex* rho, int num_qubits, const int* qubits, int k, const Complex* s) {
  validate_state(rho, num_qubits);
  validate_targets(num_qubits, qubits, k, 3);
  if (s == nullptr) throw std::invalid_argument("superoperator pointer is null");
  detail::superoperator_unchecked(rho, num_qubits, qubits, k, s);
}

void apply_kraus(Complex* rho, int num_qubits, const int* qubits, int k, const Complex* operators,
                 int num_operators, double cptp_tolerance) {
  validate_state(rho, num_qubits);
  validate_targets(num_qubits, qubits, k, 3);
  if (operators == nullptr || num_operators < 1) {
    throw std::invalid_argument("a Kraus channel needs at least one operator");
  }
  const int dim = 1 << k;
  if (cptp_tolerance >= 0.0) {
    const double err = completeness_error(operators, num_operators, dim);
    if (!(err <= cptp_tolerance)) {
      throw std::invalid_argument("Kraus operators are not trace preserving: max |sum K^dagger K - I| = " +
                                  std::to_string(err) + " exceeds tolerance " +
                                  std::to_string(cptp_tolerance));
    }
  }
  // S[(a + b d), (a' + b' d)] = sum_i K_i(a, a') conj(K_i(b, b')) for vec(B)[a + b d] = B(a, b).
  const int sd = dim * dim;
  std::vector<Complex> s(static_cast<std::size_t>(sd * sd), 0.0);
  for (int i = 0; i < num_operators; ++i) {
    const Complex* kr = operators + static_cast<std::ptrdiff_t>(i) * sd;
    for (int b = 0; b < dim; ++b)
      for (int a = 0; a < dim; ++a)
        for (int b2 = 0; b2 < dim; ++b2)
          for (int a2 = 0; a2 < dim; ++a2)
            s[static_cast<std::size_t>((a + b * dim) * sd + a2 + b2 * dim)] +=
                kr[a * dim + a2] * std::conj(kr[b * dim + b2]);
  }
  apply_superoperator(rho, num_qubits, qubits, k, s.data());
}

void apply_pauli_1q(Complex* rho, int num_qubits, int qubit, double px, double py, double pz) {
  validate_state(rho, num_qubits);
  validate_targets(num_qubits, &qubit, 1, 1);
  validate_probability(px, "px");
  validate_probability(py, "py");
  validate_probability(pz, "pz");
  const double pi = 1.0 - px - py - pz;
  if (pi < -1e-12) {
    throw std::invalid_argument("Pauli probabilities px + py + pz = " + std::to_string(px + py + pz) +
                                " exceed 1");
  }
  const double p[4] = {pi + pz, px + py, px + py, pi + pz};
  const double c[4] = {pi - pz, px - py, px - py, pi - pz};
  real_block_channel_1q(rho, num_qubits, qubit, p, c);
}

void apply_depolarizing_1q(Complex* rho, int num_qubits, int qubit, double p) {
  validate_probability(p, "depolarizing p");
  apply_pauli_1q(rho, num_qubits, qubit, p / 3.0, p / 3.0, p / 3.0);
}

void apply_amplitude_damping_1q(Complex* rho, int num_qubits, int qubit, double gamma) {
  validate_state(rho, num_qubits);
  validate_targets(num_qubits, &qubit, 1, 1);
  validate_probability(gamma, "amplitude damping gamma");
  const double s = std::sqrt(1.0 - gamma);
  const double p[4] = {1.0, gamma, 0.0, 1.0 - gamma};
  const double c[4] = {s, 0.0, 0.0, s};
  real_block_channel_1q(rho, num_qubits, qubit, p, c);
}

void apply_phase_damping_1q(Complex* rho, int num_qubits, int qubit, double lambda) {
  validate_state(rho, num_qubits);
  validate_targets(num_qubits, &qubit, 1, 1);
  validate_probability(lambda, "phase damping lambda");
  const double s = std::sqrt(1.0 - lambda);
  const double p[4] = {1.0, 0.0, 0.0, 1.0};
  const double c[4] = {s, 0.0, 0.0, s};
  real_block_channel_1q(rho, num_qubits, qubit, p, c);
}

void apply_measurement_1q(Complex* rho, int num_qubits, int qubit) {
  apply_phase_damping_1q(rho, num_qubits, qubit, 1.0);
}

void apply_reset_1q(Complex* rho, int num_qubits, int qubit) {
  apply_amplitude_damping_1q(rho, num_qubits, qubit, 1.0);
}

}  // namespace kraus::noise
