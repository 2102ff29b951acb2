#include "kraus/noise/vector_kernels.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "bitwise.hpp"
#include "kernels_detail.hpp"

// Layout. psi is read as 2^(n+1) doubles (re, im, re, im, ...). An operation on k target qubits
// splits the state into 2^(n-k) groups of 2^k amplitudes; group g has its base index at
// insert_zero_bits(g, sorted targets) and its members at base + off[c], off[c] being the sum of
// 2^qubits[j] over the set bits j of c. Groups whose indices differ only below the lowest target
// are adjacent in memory (a run), so a vector of 2 or 4 amplitudes (v4d, v8d) holds the same member
// of 2 or 4 adjacent groups, and the kernels are the 2^k x 2^k product applied lane by lane.
//
// With qubit 0 among the targets the runs have length 1; these kernels instead hold the two
// amplitudes of a "pair" (bit 0 = 0 and 1) in one v4d, and one or two pairs a vector, and mix the
// two halves with swap_pair: the k-qubit operator becomes a (k-1)-qubit operator on pairs with
// lane-wise 2x2 coefficients.
//
// Every apply is elementwise in the groups, so any split among threads gives the same bits; the
// reductions add fixed chunks (kReductionChunk amplitudes) and then the chunks in order.

namespace kraus::noise {
namespace {

typedef double v2d __attribute__((vector_size(16)));
typedef double v4d __attribute__((vector_size(32)));
typedef double v8d __attribute__((vector_size(64)));

#define KRAUS_INLINE inline __attribute__((always_inline))

template <typename V>
KRAUS_INLINE V load(const double* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename V>
KRAUS_INLINE void store(double* p, V v) {
  std::memcpy(p, &v, sizeof v);
}
template <typename V>
KRAUS_INLINE V splat(double a) {
  V v;
  for (std::size_t i = 0; i < sizeof(V) / sizeof(double); ++i) v[i] = a;
  return v;
}
// (re, im) -> (im, re) in every complex lane.
KRAUS_INLINE v2d swap_ri(v2d v) { return __builtin_shufflevector(v, v, 1, 0); }
KRAUS_INLINE v4d swap_ri(v4d v) { return __builtin_shufflevector(v, v, 1, 0, 3, 2); }
KRAUS_INLINE v8d swap_ri(v8d v) { return __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6); }
// The two complex numbers of each pair exchanged.
KRAUS_INLINE v4d swap_pair(v4d v) { return __builtin_shufflevector(v, v, 2, 3, 0, 1); }
KRAUS_INLINE v8d swap_pair(v8d v) { return __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5); }
// (-1, +1) per complex lane: the sign of i * z = (-im, re).
template <typename V>
KRAUS_INLINE V im_sign() {
  V v;
  for (std::size_t i = 0; i < sizeof(V) / sizeof(double); ++i) v[i] = (i % 2 == 0) ? -1.0 : 1.0;
  return v;
}
template <typename V>
KRAUS_INLINE double lane_sum(V v) {
  double s = 0.0;
  for (std::size_t i = 0; i < sizeof(V) / sizeof(double); ++i) s += v[i];
  return s;
}
// sum of the real lanes minus the sum of the imaginary lanes.
template <typename V>
KRAUS_INLINE double lane_alt_sum(V v) {
  double s = 0.0;
  for (std::size_t i = 0; i < sizeof(V) / sizeof(double); i += 2) s += v[i] - v[i + 1];
  return s;
}

// ---- validation ----------------------------------------------------------------------------------

void validate_vector(const Complex* psi, int num_qubits) {
  if (psi == nullptr) throw std::invalid_argument("state vector pointer is null");
  if (num_qubits < 1 || num_qubits > kMaxVectorQubits) {
    throw std::invalid_argument("number of qubits " + std::to_string(num_qubits) + " is outside [1, " +
                                std::to_string(kMaxVectorQubits) + "]");
  }
}

// ---- threads ---------------------------------------------------------------------------------------

bool parallel(int num_qubits) {
#ifdef _OPENMP
  return num_qubits >= kVectorParallelMinQubits && !omp_in_parallel();
#else
  (void)num_qubits;
  return false;
#endif
}

// fn(begin, end) over [0, count) in pieces that are multiples of `align` (count is one), split
// statically among threads for large states. Small states take a plain call that never enters the
// OpenMP runtime (a region serialised by an `if` clause still costs microseconds).
template <typename Fn>
void for_each_range(std::uint64_t count, std::uint64_t align, int num_qubits, Fn fn) {
  if (!parallel(num_qubits)) {
    fn(std::uint64_t{0}, count);
    return;
  }
  const std::int64_t units = static_cast<std::int64_t>(count / align);
  const std::int64_t pieces = std::min<std::int64_t>(units, 256);
#pragma omp parallel for schedule(static)
  for (std::int64_t c = 0; c < pieces; ++c) {
    fn(align * static_cast<std::uint64_t>(units * c / pieces), align * static_cast<std::uint64_t>(units * (c + 1) / pieces));
  }
}

// partials[c * width .. (c + 1) * width) = fn(c) for every chunk, in parallel for large states; the
// caller adds them in chunk order.
template <typename Fn>
std::vector<double> chunk_partials(std::uint64_t num_chunks, std::size_t width, int num_qubits, Fn fn) {
  std::vector<double> partials(num_chunks * width, 0.0);
  double* out = partials.data();
  const std::int64_t chunks = static_cast<std::int64_t>(num_chunks);
  if (!parallel(num_qubits) || chunks == 1) {
    for (std::int64_t c = 0; c < chunks; ++c) fn(static_cast<std::uint64_t>(c), out + c * static_cast<std::int64_t>(width));
    return partials;
  }
#pragma omp parallel for schedule(static)
  for (std::int64_t c = 0; c < chunks; ++c) fn(static_cast<std::uint64_t>(c), out + c * static_cast<std::int64_t>(width));
  return partials;
}

// ---- walking the groups ------------------------------------------------------------------------

// Calls body(p) for groups [begin, end), `step` groups at a time (begin and end multiples of step,
// step at most the run length 2^bits[0]): p points at the group's base unit, a unit being
// 2^unit_shift doubles (an amplitude: 1, a pair: 2). bits are the units' target bits, ascending.
template <typename T, typename Body>
KRAUS_INLINE void walk(T* x, const int* bits, int num_bits, int unit_shift, std::uint64_t begin, std::uint64_t end,
                       std::uint64_t step, Body&& body) {
  const std::uint64_t run = std::uint64_t{1} << (num_bits > 0 ? bits[0] : 62);
  for (std::uint64_t g = begin; g < end;) {
    std::uint64_t idx = g;
    for (int i = 0; i < num_bits; ++i) idx = detail::insert_zero_bit(idx, bits[i]);
    T* p = x + (idx << unit_shift);
    const std::uint64_t stop = std::min(end, (g & ~(run - 1)) + run);
    for (; g < stop; g += step, p += step << unit_shift) body(p);
  }
}

// What every apply path needs about its targets: the sorted target bits and the members' offsets in
// doubles, for amplitudes (normal path) or, with qubit 0 a target, for pairs.
struct Layout {
  int num_bits = 0;
  int bits[4] = {};
  std::uint64_t off[16] = {};  // in doubles
  int pos0 = -1;               // pair path: the position of qubit 0 in the target list
  int lowest = 0;              // the lowest target bit of the units (62 when there is none)
  std::uint64_t ahead = 0;     // software prefetch distance in doubles (0: none)
};

// Software prefetch for the sweeps of states beyond the L2 cache (2^16 amplitudes, 1 MiB): 32 KiB
// ahead in each member's stream for one target (half that per extra target), rounded up to a whole
// period of the runs (2^(lowest+1) units) when the runs are shorter, so that the prefetched line is
// the same member of a later group rather than a line the other member's stream already brought in.
// Without it a 1-qubit gate on a 2^24-amplitude state ran at about half the bandwidth on targets 5
// to 10 (2 threads; 2, 8 and 32 KiB measured, 32 KiB best).
void set_prefetch(Layout* l, int num_qubits, int k, int unit_shift) {
  if (num_qubits < 16) return;
  const std::uint64_t kAhead = std::uint64_t{4096} >> (k - 1);  // doubles
  const std::uint64_t period = l->lowest >= 40 ? ~std::uint64_t{0} : (std::uint64_t{2} << l->lowest) << unit_shift;
  l->ahead = period >= kAhead ? kAhead : period * ((kAhead + period - 1) / period);
}

Layout normal_layout(const int* qubits, int k) {
  Layout l;
  l.num_bits = k;
  for (int j = 0; j < k; ++j) l.bits[j] = qubits[j];
  std::sort(l.bits, l.bits + k);
  for (int c = 0; c < (1 << k); ++c) {
    std::uint64_t o = 0;
    for (int j = 0; j < k; ++j)
      if ((c >> j) & 1) o += std::uint64_t{1} << qubits[j];
    l.off[c] = 2 * o;
  }
  l.lowest = l.bits[0];
  return l;
}

// Qubit 0 is a target: the other targets (in list order) index the pair combinations c.
Layout pair_layout(const int* qubits, int k) {
  Layout l;
  int others[4];
  int m = 0;
  for (int j = 0; j < k; ++j) {
    if (qubits[j] == 0) {
      l.pos0 = j;
    } else {
      others[m++] = qubits[j];
    }
  }
  l.num_bits = m;
  for (int j = 0; j < m; ++j) l.bits[j] = others[j] - 1;
  std::sort(l.bits, l.bits + m);
  for (int c = 0; c < (1 << m); ++c) {
    std::uint64_t o = 0;
    for (int j = 0; j < m; ++j)
      if ((c >> j) & 1) o += std::uint64_t{1} << others[j];
    l.off[c] = 2 * o;
  }
  l.lowest = m > 0 ? l.bits[0] : 62;
  return l;
}

// The full k-bit index of pair combination c with bit 0's value a (bit pos0 of the index).
int pair_index(int c, int a, int pos0) {
  const int low = c & ((1 << pos0) - 1);
  return ((c >> pos0) << (pos0 + 1)) | (a << pos0) | low;
}

// ---- dense ---------------------------------------------------------------------------------------

// out[r] = sum_c M(r, c) v[c] on every group; the matrix split into real and imaginary parts.
template <int K, typename V, bool kReal>
KRAUS_INLINE void dense_runs_vec(double* x, const Layout& l, const double* mr, const double* mi, std::uint64_t begin,
                                 std::uint64_t end) {
  constexpr int kDim = 1 << K;
  constexpr std::uint64_t kWidth = sizeof(V) / 16;
  const V sign = im_sign<V>();
  // Local copies: psi's stores cannot alias them, so they stay in registers where they fit.
  V cr[kDim * kDim], ci[kDim * kDim];
  for (int e = 0; e < kDim * kDim; ++e) cr[e] = splat<V>(mr[e]), ci[e] = splat<V>(mi[e]);
  const std::uint64_t ahead = l.ahead;
  walk(x, l.bits, K, 1, begin, end, kWidth, [&](double* p) __attribute__((always_inline)) {
    V v[kDim], s[kDim], out[kDim];
    for (int c = 0; c < kDim; ++c) {
      if (ahead != 0) __builtin_prefetch(p + l.off[c] + ahead, 1);
      v[c] = load<V>(p + l.off[c]);
      if constexpr (!kReal) s[c] = swap_ri(v[c]);
    }
    for (int r = 0; r < kDim; ++r) {
      V a = cr[r * kDim] * v[0];
      for (int c = 1; c < kDim; ++c) a += cr[r * kDim + c] * v[c];
      if constexpr (!kReal) {
        V b = ci[r * kDim] * s[0];
        for (int c = 1; c < kDim; ++c) b += ci[r * kDim + c] * s[c];
        a += b * sign;
      }
      out[r] = a;
    }
    for (int r = 0; r < kDim; ++r) store(p + l.off[r], out[r]);
  });
}

// The pair coefficients, built once per call: 4^(k-1) vectors (up to 8 doubles) each of dr, di, ar,
// ai. Plain doubles: a vector type's alignment differs between the clones of a kernel (the psABI
// note), so vectors are only formed inside the clones.
struct PairCoefficients {
  double dr[64][8], di[64][8], ar[64][8], ai[64][8];
};

// Pair path: out[r] = sum_c D(r, c) v[c] + A(r, c) swap_pair(v[c]) lane-wise, D and A complex
// vectors given as real parts (dr, ar) and imaginary parts with the sign of i folded in (di, ai).
template <int K, typename V, bool kReal>
KRAUS_INLINE void dense_pairs_vec(double* x, const Layout& l, const PairCoefficients& pc, std::uint64_t begin,
                                  std::uint64_t end) {
  constexpr int kHalf = 1 << (K - 1);
  constexpr std::uint64_t kWidth = sizeof(V) / 32;
  V dr[kHalf * kHalf], di[kHalf * kHalf], ar[kHalf * kHalf], ai[kHalf * kHalf];
  for (int e = 0; e < kHalf * kHalf; ++e) {
    dr[e] = load<V>(pc.dr[e]), di[e] = load<V>(pc.di[e]), ar[e] = load<V>(pc.ar[e]), ai[e] = load<V>(pc.ai[e]);
  }
  walk(x, l.bits, K - 1, 2, begin, end, kWidth, [&](double* p) __attribute__((always_inline)) {
    V v[kHalf], w[kHalf], out[kHalf];
    for (int c = 0; c < kHalf; ++c) {
      v[c] = load<V>(p + l.off[c]);
      w[c] = swap_pair(v[c]);
    }
    for (int r = 0; r < kHalf; ++r) {
      V a = dr[r * kHalf] * v[0] + ar[r * kHalf] * w[0];
      for (int c = 1; c < kHalf; ++c) a += dr[r * kHalf + c] * v[c] + ar[r * kHalf + c] * w[c];
      if constexpr (!kReal) {
        for (int c = 0; c < kHalf; ++c) a += di[r * kHalf + c] * swap_ri(v[c]) + ai[r * kHalf + c] * swap_ri(w[c]);
      }
      out[r] = a;
    }
    for (int r = 0; r < kHalf; ++r) store(p + l.off[r], out[r]);
  });
}

template <int K, typename V>
KRAUS_INLINE void dense_runs_k(double* x, const Layout& l, const double* mr, const double* mi, bool real,
                               std::uint64_t begin, std::uint64_t end) {
  if (real) {
    dense_runs_vec<K, V, true>(x, l, mr, mi, begin, end);
  } else {
    dense_runs_vec<K, V, false>(x, l, mr, mi, begin, end);
  }
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void dense_runs(double* x, int k, const Layout& l, const double* mr, const double* mi, bool real, bool wide,
                std::uint64_t begin, std::uint64_t end) {
  switch (k) {
    case 1:
      if (wide) return dense_runs_k<1, v8d>(x, l, mr, mi, real, begin, end);
      return dense_runs_k<1, v4d>(x, l, mr, mi, real, begin, end);
    case 2:
      if (wide) return dense_runs_k<2, v8d>(x, l, mr, mi, real, begin, end);
      return dense_runs_k<2, v4d>(x, l, mr, mi, real, begin, end);
    case 3:
      if (wide) return dense_runs_k<3, v8d>(x, l, mr, mi, real, begin, end);
      return dense_runs_k<3, v4d>(x, l, mr, mi, real, begin, end);
    default:
      // 16 inputs: v4d keeps the working set nearer the register file.
      return dense_runs_k<4, v4d>(x, l, mr, mi, real, begin, end);
  }
}

void build_pair_coefficients(const Complex* m, int k, int pos0, PairCoefficients* pc) {
  const int half = 1 << (k - 1), dim = 1 << k;
  constexpr std::size_t kLanes = 8;
  for (int r = 0; r < half; ++r)
    for (int c = 0; c < half; ++c) {
      double* dr = pc->dr[r * half + c];
      double* di = pc->di[r * half + c];
      double* ar = pc->ar[r * half + c];
      double* ai = pc->ai[r * half + c];
      for (std::size_t lane = 0; lane < kLanes; lane += 2) {
        const int a = static_cast<int>((lane / 2) % 2);  // bit 0 of this lane's amplitude
        const Complex d = m[pair_index(r, a, pos0) * dim + pair_index(c, a, pos0)];
        const Complex e = m[pair_index(r, a, pos0) * dim + pair_index(c, 1 - a, pos0)];
        dr[lane] = dr[lane + 1] = d.real();
        ar[lane] = ar[lane + 1] = e.real();
        di[lane] = -d.imag(), di[lane + 1] = d.imag();
        ai[lane] = -e.imag(), ai[lane + 1] = e.imag();
      }
    }
}

template <int K, typename V>
KRAUS_INLINE void dense_pairs_k(double* x, const Layout& l, const PairCoefficients& pc, bool real,
                                std::uint64_t begin, std::uint64_t end) {
  if (real) {
    dense_pairs_vec<K, V, true>(x, l, pc, begin, end);
  } else {
    dense_pairs_vec<K, V, false>(x, l, pc, begin, end);
  }
}

template <typename V>
KRAUS_INLINE void dense_pairs_v(double* x, int k, const Layout& l, const PairCoefficients& pc, bool real,
                                std::uint64_t begin, std::uint64_t end) {
  switch (k) {
    case 1: return dense_pairs_k<1, V>(x, l, pc, real, begin, end);
    case 2: return dense_pairs_k<2, V>(x, l, pc, real, begin, end);
    case 3: return dense_pairs_k<3, V>(x, l, pc, real, begin, end);
    default: return dense_pairs_k<4, V>(x, l, pc, real, begin, end);
  }
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void dense_pairs(double* x, int k, const Layout& l, const PairCoefficients& pc, bool real, bool wide,
                 std::uint64_t begin, std::uint64_t end) {
  if (wide) return dense_pairs_v<v8d>(x, k, l, pc, real, begin, end);
  dense_pairs_v<v4d>(x, k, l, pc, real, begin, end);
}

// One target on qubit 1: the two members' runs (2 amplitudes each) share one v8d, (A0 A1 | B0 B1),
// mixed through a swap of its halves: out = D v + A swap_halves(v) with D = (u00 | u11) and
// A = (u01 | u10) lane-wise. c holds dr, di, ar, ai (8 doubles each, the sign of i folded into di, ai).
template <bool kReal>
KRAUS_INLINE void dense_q1_vec(double* x, const double* c, std::uint64_t ahead, std::uint64_t begin, std::uint64_t end) {
  const v8d dr = load<v8d>(c), di = load<v8d>(c + 8), ar = load<v8d>(c + 16), ai = load<v8d>(c + 24);
  walk(x, nullptr, 0, 3, begin, end, 1, [&](double* p) __attribute__((always_inline)) {
    if (ahead != 0) __builtin_prefetch(p + ahead, 1);
    const v8d v = load<v8d>(p);
    const v8d h = __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3);
    v8d out = dr * v + ar * h;
    if constexpr (!kReal) out += di * swap_ri(v) + ai * swap_ri(h);
    store(p, out);
  });
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void dense_q1(double* x, const double* c, bool real, std::uint64_t ahead, std::uint64_t begin, std::uint64_t end) {
  if (real) {
    dense_q1_vec<true>(x, c, ahead, begin, end);
  } else {
    dense_q1_vec<false>(x, c, ahead, begin, end);
  }
}

// Targets qubits 0 and 1: a group is four adjacent amplitudes, one v8d, and out[a] = sum_j M(a, a ^ j)
// v[a ^ j] (a, j lane indices) is four lane-wise products with v's lanes exchanged by j. c holds for
// j = 0..3 the real parts (8 doubles) and then the imaginary parts with the sign of i folded in. (The
// pair path walked these groups one pair at a time, at about twice the time of other 2-qubit calls.)
template <bool kReal>
KRAUS_INLINE void dense_q01_vec(double* x, const double* c, std::uint64_t ahead, std::uint64_t begin,
                                std::uint64_t end) {
  v8d dr[4], di[4];
  for (int j = 0; j < 4; ++j) dr[j] = load<v8d>(c + 16 * j), di[j] = load<v8d>(c + 16 * j + 8);
  for (std::uint64_t g = begin; g < end; ++g) {
    double* p = x + 8 * g;
    if (ahead != 0) __builtin_prefetch(p + ahead, 1);
    const v8d v = load<v8d>(p);
    const v8d s[4] = {v, __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5),
                      __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3),
                      __builtin_shufflevector(v, v, 6, 7, 4, 5, 2, 3, 0, 1)};
    v8d out = dr[0] * s[0];
    for (int j = 1; j < 4; ++j) out += dr[j] * s[j];
    if constexpr (!kReal) {
      for (int j = 0; j < 4; ++j) out += di[j] * swap_ri(s[j]);
    }
    store(p, out);
  }
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void dense_q01(double* x, const double* c, bool real, std::uint64_t ahead, std::uint64_t begin, std::uint64_t end) {
  if (real) {
    dense_q01_vec<true>(x, c, ahead, begin, end);
  } else {
    dense_q01_vec<false>(x, c, ahead, begin, end);
  }
}

// The vector width of a path: two amplitudes (pairs: one pair) a vector, or four (two pairs) when the
// runs are long enough and the state holds that many groups.
bool wide_runs(const Layout& l, int num_qubits, int k, bool pairs) {
  const int groups_log = num_qubits - k;
  return pairs ? (l.lowest >= 1 && groups_log >= 1) : l.lowest >= 2;
}

// m: row-major 2^k x 2^k on qubits; real: every entry of m is real.
void apply_dense(const int* qubits, int k, const Complex* m, bool real, double* x, int n) {
  const std::uint64_t groups = std::uint64_t{1} << (n - k);
  const bool has0 = std::find(qubits, qubits + k, 0) != qubits + k;
  if (k == 1 && qubits[0] == 1) {
    double c[32];
    const Complex d[2] = {m[0], m[3]}, a[2] = {m[1], m[2]};
    for (int lane = 0; lane < 8; lane += 2) {
      const int h = lane / 4;  // 0: bit 1 clear (row 0), 1: set (row 1)
      c[lane] = c[lane + 1] = d[h].real();
      c[8 + lane] = -d[h].imag(), c[8 + lane + 1] = d[h].imag();
      c[16 + lane] = c[16 + lane + 1] = a[h].real();
      c[24 + lane] = -a[h].imag(), c[24 + lane + 1] = a[h].imag();
    }
    const std::uint64_t ahead = n >= 16 ? 4096 : 0;
    for_each_range(groups / 2, 1, n, [&](std::uint64_t b, std::uint64_t e) { dense_q1(x, c, real, ahead, b, e); });
    return;
  }
  if (k == 2 && qubits[0] + qubits[1] == 1) {
    double c[64];
    // Lane a holds the amplitude with bit 0 of qubit 0 and bit 1 of qubit 1: its matrix index.
    const auto index = [&](int a) { return qubits[0] == 0 ? a : ((a & 1) << 1) | (a >> 1); };
    for (int j = 0; j < 4; ++j)
      for (int a = 0; a < 4; ++a) {
        const Complex d = m[index(a) * 4 + index(a ^ j)];
        c[16 * j + 2 * a] = c[16 * j + 2 * a + 1] = d.real();
        c[16 * j + 8 + 2 * a] = -d.imag(), c[16 * j + 8 + 2 * a + 1] = d.imag();
      }
    const std::uint64_t ahead = n >= 16 ? 4096 : 0;
    for_each_range(groups, 1, n, [&](std::uint64_t b, std::uint64_t e) { dense_q01(x, c, real, ahead, b, e); });
    return;
  }
  if (!has0) {
    Layout l = normal_layout(qubits, k);
    set_prefetch(&l, n, k, 1);
    const int dim2 = 1 << (2 * k);
    double mr[256], mi[256];
    for (int e = 0; e < dim2; ++e) mr[e] = m[e].real(), mi[e] = m[e].imag();
    const bool wide = k < 4 && wide_runs(l, n, k, false);
    for_each_range(groups, wide ? 4 : 2, n, [&](std::uint64_t b, std::uint64_t e) {
      dense_runs(x, k, l, mr, mi, real, wide, b, e);
    });
    return;
  }
  const Layout l = pair_layout(qubits, k);
  const bool wide = wide_runs(l, n, k, true);
  std::vector<PairCoefficients> pc(1);
  build_pair_coefficients(m, k, l.pos0, pc.data());
  for_each_range(groups, wide ? 2 : 1, n, [&](std::uint64_t b, std::uint64_t e) {
    dense_pairs(x, k, l, pc[0], real, wide, b, e);
  });
}

// ---- diagonal and monomial, normal path ----------------------------------------------------------
//
// Only the members that change are read and written: out[dst] = f * in[src] with f = 1 a plain copy
// and a real f one multiplication (diag(1, a) touches half the state, a CNOT a half, CZ a quarter).

struct Moves {
  int count = 0;
  std::uint64_t src[16] = {}, dst[16] = {};  // offsets in doubles
  double re[16] = {}, im[16] = {};
  int kind[16] = {};  // 0: copy, 1: real factor, 2: complex factor
};

Moves make_moves(const Layout& l, int k, const Complex* value, const int* perm) {
  Moves mv;
  for (int r = 0; r < (1 << k); ++r) {
    const int s = perm != nullptr ? perm[r] : r;
    const Complex f = value[r];
    if (s == r && f == Complex(1.0, 0.0)) continue;
    const int i = mv.count++;
    mv.src[i] = l.off[s];
    mv.dst[i] = l.off[r];
    mv.re[i] = f.real();
    mv.im[i] = f.imag();
    mv.kind[i] = f == Complex(1.0, 0.0) ? 0 : f.imag() == 0.0 ? 1 : 2;
  }
  return mv;
}

template <int K, typename V>
KRAUS_INLINE void moves_runs_vec(double* x, const Layout& l, const Moves& mv, bool in_place, std::uint64_t begin,
                                 std::uint64_t end) {
  constexpr std::uint64_t kWidth = sizeof(V) / 16;
  const V sign = im_sign<V>();
  const Moves m = mv;  // a local copy, which psi's stores cannot alias
  const int count = m.count;
  walk(x, l.bits, K, 1, begin, end, kWidth, [&](double* p) __attribute__((always_inline)) {
    // All sources are read before any destination is written: the moves may permute the members.
    V v[16];
    if (in_place) {
      for (int i = 0; i < count; ++i) {
        const V a = load<V>(p + m.src[i]);
        store(p + m.dst[i], m.kind[i] == 1 ? m.re[i] * a : m.re[i] * a + m.im[i] * swap_ri(a) * sign);
      }
      return;
    }
    for (int i = 0; i < count; ++i) v[i] = load<V>(p + m.src[i]);
    for (int i = 0; i < count; ++i) {
      const V a = v[i];
      switch (m.kind[i]) {
        case 0: store(p + m.dst[i], a); break;
        case 1: store(p + m.dst[i], m.re[i] * a); break;
        default: store(p + m.dst[i], m.re[i] * a + m.im[i] * swap_ri(a) * sign); break;
      }
    }
  });
}

template <int K>
KRAUS_INLINE void moves_runs_k(double* x, const Layout& l, const Moves& mv, bool in_place, bool wide,
                               std::uint64_t begin, std::uint64_t end) {
  if (wide) {
    moves_runs_vec<K, v8d>(x, l, mv, in_place, begin, end);
  } else {
    moves_runs_vec<K, v4d>(x, l, mv, in_place, begin, end);
  }
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void moves_runs(double* x, int k, const Layout& l, const Moves& mv, bool in_place, bool wide, std::uint64_t begin,
                std::uint64_t end) {
  switch (k) {
    case 1: return moves_runs_k<1>(x, l, mv, in_place, wide, begin, end);
    case 2: return moves_runs_k<2>(x, l, mv, in_place, wide, begin, end);
    case 3: return moves_runs_k<3>(x, l, mv, in_place, wide, begin, end);
    default: return moves_runs_k<4>(x, l, mv, in_place, wide, begin, end);
  }
}

// ---- diagonal and monomial, pair path ------------------------------------------------------------
//
// Each output pair r is untouched, a copy of pair s (possibly with its halves swapped), or a sum of
// at most two lane-masked complex products (one per half).

struct PairMoves {
  int count = 0;
  int dst[8] = {};
  int mode[8] = {};  // 0: copy v[src0], 1: copy swap_pair(v[src0]), 2: products
  int src[8][2] = {};
  bool swapped[8][2] = {};
  int terms[8] = {};
  double cr[8][2][8] = {}, ci[8][2][8] = {};  // lane-wise factors, the imaginary part with the sign of i folded in
};

// value[r], perm[r] (perm null: diagonal) as pair moves.
void make_pair_moves(const Layout& l, int k, const Complex* value, const int* perm, PairMoves* pm) {
  constexpr std::size_t kLanes = 8;
  const int half = 1 << (k - 1);
  const int pos0 = l.pos0;
  for (int r = 0; r < half; ++r) {
    int sc[2], sa[2];
    Complex f[2];
    bool unit = true, same = true;
    for (int a = 0; a < 2; ++a) {
      const int row = pair_index(r, a, pos0);
      const int s = perm != nullptr ? perm[row] : row;
      sa[a] = (s >> pos0) & 1;
      sc[a] = ((s >> (pos0 + 1)) << pos0) | (s & ((1 << pos0) - 1));
      f[a] = value[row];
      unit = unit && f[a] == Complex(1.0, 0.0);
      same = same && sc[a] == r && sa[a] == a;
    }
    if (unit && same) continue;
    const int i = pm->count++;
    pm->dst[i] = r;
    if (unit && sc[0] == sc[1] && sa[0] != sa[1]) {
      pm->mode[i] = sa[0] == 0 ? 0 : 1;
      pm->src[i][0] = sc[0];
      continue;
    }
    pm->mode[i] = 2;
    int t = 0;
    for (int a = 0; a < 2; ++a) {
      const bool swp = sa[a] != a;
      int slot = -1;
      for (int j = 0; j < t; ++j)
        if (pm->src[i][j] == sc[a] && pm->swapped[i][j] == swp) slot = j;
      if (slot < 0) {
        slot = t++;
        pm->src[i][slot] = sc[a];
        pm->swapped[i][slot] = swp;
        std::fill(pm->cr[i][slot], pm->cr[i][slot] + 8, 0.0);
        std::fill(pm->ci[i][slot], pm->ci[i][slot] + 8, 0.0);
      }
      for (std::size_t lane = 0; lane < kLanes; lane += 2) {
        if (static_cast<int>((lane / 2) % 2) != a) continue;
        pm->cr[i][slot][lane] = pm->cr[i][slot][lane + 1] = f[a].real();
        pm->ci[i][slot][lane] = -f[a].imag();
        pm->ci[i][slot][lane + 1] = f[a].imag();
      }
    }
    pm->terms[i] = t;
  }
}

template <int K, typename V, bool kReal>
KRAUS_INLINE void pair_moves_vec(double* x, const Layout& l, const PairMoves& pm, std::uint64_t begin,
                                 std::uint64_t end) {
  constexpr int kHalf = 1 << (K - 1);
  constexpr std::uint64_t kWidth = sizeof(V) / 32;
  const int count = pm.count;
  V cr[kHalf][2], ci[kHalf][2];
  for (int i = 0; i < count; ++i)
    for (int t = 0; t < 2; ++t) cr[i][t] = load<V>(pm.cr[i][t]), ci[i][t] = load<V>(pm.ci[i][t]);
  walk(x, l.bits, K - 1, 2, begin, end, kWidth, [&](double* p) __attribute__((always_inline)) {
    V v[kHalf], out[kHalf];
    for (int c = 0; c < kHalf; ++c) v[c] = load<V>(p + l.off[c]);
    for (int i = 0; i < count; ++i) {
      if (pm.mode[i] == 0) {
        out[i] = v[pm.src[i][0]];
      } else if (pm.mode[i] == 1) {
        out[i] = swap_pair(v[pm.src[i][0]]);
      } else {
        V a = splat<V>(0.0);
        for (int t = 0; t < pm.terms[i]; ++t) {
          const V s = pm.swapped[i][t] ? swap_pair(v[pm.src[i][t]]) : v[pm.src[i][t]];
          a += cr[i][t] * s;
          if constexpr (!kReal) a += ci[i][t] * swap_ri(s);
        }
        out[i] = a;
      }
    }
    for (int i = 0; i < count; ++i) store(p + l.off[pm.dst[i]], out[i]);
  });
}

template <int K, typename V>
KRAUS_INLINE void pair_moves_k(double* x, const Layout& l, const PairMoves& pm, bool real, std::uint64_t begin,
                               std::uint64_t end) {
  if (real) {
    pair_moves_vec<K, V, true>(x, l, pm, begin, end);
  } else {
    pair_moves_vec<K, V, false>(x, l, pm, begin, end);
  }
}

// One qubit (qubit 0): larger calls with qubit 0 run the dense kernels (apply_sparse).
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void pair_moves(double* x, const Layout& l, const PairMoves& pm, bool real, bool wide, std::uint64_t begin,
                std::uint64_t end) {
  if (wide) return pair_moves_k<1, v8d>(x, l, pm, real, begin, end);
  pair_moves_k<1, v4d>(x, l, pm, real, begin, end);
}

// A diagonal (perm null) or monomial call as its dense matrix, on the dense kernels.
void apply_sparse_as_dense(const VectorCall& call, const int* perm, bool real, double* x, int n) {
  const int dim = 1 << call.k;
  Complex m[256];  // zeros
  for (int r = 0; r < dim; ++r) {
    m[r * dim + (perm != nullptr ? perm[r] : r)] = call.matrix[static_cast<std::size_t>(r)];
  }
  apply_dense(call.qubits, call.k, m, real, x, n);
}

// Diagonal (perm null) or monomial calls. From 2 qubits, those that change more than half the
// members, and all with qubit 0 a target, run the dense kernels instead (the same sums: the zeros
// add nothing): they read and write every member anyway, and the moves' run-time choices cost more
// than the dense multiply-adds (CNOT times a diagonal on qubits 5, 6 of 2^16 amplitudes: 21 against
// 17 us; on qubits 0, 1: 78 against 34 us).
void apply_sparse(const VectorCall& call, const int* perm, double* x, int n) {
  const int k = call.k;
  const Complex* value = call.matrix.data();
  const std::uint64_t groups = std::uint64_t{1} << (n - k);
  bool real = true;
  for (int r = 0; r < (1 << k); ++r) real = real && value[r].imag() == 0.0;
  const bool has0 = std::find(call.qubits, call.qubits + k, 0) != call.qubits + k;
  if (!has0) {
    const Layout l = normal_layout(call.qubits, k);
    const Moves mv = make_moves(l, k, value, perm);
    if (mv.count == 0) return;
    if (k >= 2 && 2 * mv.count > (1 << k)) return apply_sparse_as_dense(call, perm, real, x, n);
    // A diagonal reads and writes each member in place.
    const bool in_place = perm == nullptr;
    const bool wide = wide_runs(l, n, k, false);
    for_each_range(groups, wide ? 4 : 2, n, [&](std::uint64_t b, std::uint64_t e) {
      moves_runs(x, k, l, mv, in_place, wide, b, e);
    });
    return;
  }
  if (k >= 2) return apply_sparse_as_dense(call, perm, real, x, n);
  const Layout l = pair_layout(call.qubits, k);
  const bool wide = wide_runs(l, n, k, true);
  std::vector<PairMoves> pm(1);
  make_pair_moves(l, k, value, perm, pm.data());
  if (pm[0].count == 0) return;
  for_each_range(groups, wide ? 2 : 1, n, [&](std::uint64_t b, std::uint64_t e) {
    pair_moves(x, l, pm[0], real, wide, b, e);
  });
}

// ---- reductions ----------------------------------------------------------------------------------

std::uint64_t chunk_amplitudes(int num_qubits) {
  return std::min<std::uint64_t>(kReductionChunk, std::uint64_t{1} << num_qubits);
}

// sum of x[0..len) squared, len doubles, in a fixed order: four vector accumulators when len is a
// multiple of 32, else one scalar sum.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
double squares_chunk(const double* x, std::uint64_t len) {
  if (len % 32 != 0) {
    double s = 0.0;
    for (std::uint64_t i = 0; i < len; ++i) s += x[i] * x[i];
    return s;
  }
  v8d a0 = splat<v8d>(0.0), a1 = a0, a2 = a0, a3 = a0;
  for (std::uint64_t i = 0; i < len; i += 32) {
    const v8d b0 = load<v8d>(x + i), b1 = load<v8d>(x + i + 8), b2 = load<v8d>(x + i + 16), b3 = load<v8d>(x + i + 24);
    a0 += b0 * b0, a1 += b1 * b1, a2 += b2 * b2, a3 += b3 * b3;
  }
  return lane_sum((a0 + a1) + (a2 + a3));
}

// One chunk of <bra| X^xm Z^zm |ket>: [i0, i0 + count) with count a multiple of 4, ket amplitude i
// and bra amplitude i ^ xm; the low two bits of xm permute the lanes of the bra's vector (XL).
template <int XL>
KRAUS_INLINE void pauli_chunk_vec(const double* bra, const double* ket, std::uint64_t i0, std::uint64_t count,
                                  std::uint64_t xm, std::uint64_t zm, double* out) {
  v8d lanes;  // (-1)^popcount(l & zm) for the four amplitudes l of a vector
  for (int l = 0; l < 4; ++l) lanes[2 * l] = lanes[2 * l + 1] = __builtin_parityll(static_cast<std::uint64_t>(l) & zm) ? -1.0 : 1.0;
  const v8d neg = -lanes;
  const std::uint64_t x_hi = xm & ~std::uint64_t{3}, z_hi = zm & ~std::uint64_t{3};
  v8d re = splat<v8d>(0.0), im = re;
  for (std::uint64_t i = i0; i < i0 + count; i += 4) {
    const v8d a = load<v8d>(ket + 2 * i);
    v8d b = load<v8d>(bra + 2 * (i ^ x_hi));
    if constexpr (XL == 1) b = __builtin_shufflevector(b, b, 2, 3, 0, 1, 6, 7, 4, 5);
    if constexpr (XL == 2) b = __builtin_shufflevector(b, b, 4, 5, 6, 7, 0, 1, 2, 3);
    if constexpr (XL == 3) b = __builtin_shufflevector(b, b, 6, 7, 4, 5, 2, 3, 0, 1);
    b *= __builtin_parityll(i & z_hi) ? neg : lanes;
    re += b * a;           // Re conj(b) a = br ar + bi ai
    im += b * swap_ri(a);  // (br ai, bi ar): Im conj(b) a = br ai - bi ar
  }
  out[0] = lane_sum(re);
  out[1] = lane_alt_sum(im);
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void pauli_chunk(const double* bra, const double* ket, std::uint64_t i0, std::uint64_t count, std::uint64_t xm,
                 std::uint64_t zm, double* out) {
  if (count % 4 != 0) {
    double re = 0.0, im = 0.0;
    for (std::uint64_t i = i0; i < i0 + count; ++i) {
      const std::uint64_t j = i ^ xm;
      const double s = __builtin_parityll(i & zm) ? -1.0 : 1.0;
      const double ar = ket[2 * i], ai = ket[2 * i + 1], br = s * bra[2 * j], bi = s * bra[2 * j + 1];
      re += br * ar + bi * ai;
      im += br * ai - bi * ar;
    }
    out[0] = re, out[1] = im;
    return;
  }
  switch (xm & 3) {
    case 0: return pauli_chunk_vec<0>(bra, ket, i0, count, xm, zm, out);
    case 1: return pauli_chunk_vec<1>(bra, ket, i0, count, xm, zm, out);
    case 2: return pauli_chunk_vec<2>(bra, ket, i0, count, xm, zm, out);
    default: return pauli_chunk_vec<3>(bra, ket, i0, count, xm, zm, out);
  }
}

// One chunk of the reduced density matrix: groups [begin, end) of the layout; out[2 (a D + b)] and
// the next double are the real and imaginary parts of sum v_a conj(v_b) for a <= b.
template <int K, typename V>
KRAUS_INLINE void rdm_chunk_vec(const double* x, const Layout& l, std::uint64_t begin, std::uint64_t end,
                                double* out) {
  constexpr int kDim = 1 << K;
  constexpr std::uint64_t kWidth = sizeof(V) / 16;
  V re[kDim * kDim], im[kDim * kDim];
  for (int e = 0; e < kDim * kDim; ++e) re[e] = im[e] = splat<V>(0.0);
  walk(x, l.bits, K, 1, begin, end, kWidth, [&](const double* p) __attribute__((always_inline)) {
    V v[kDim];
    for (int c = 0; c < kDim; ++c) v[c] = load<V>(p + l.off[c]);
    for (int a = 0; a < kDim; ++a) {
      re[a * kDim + a] += v[a] * v[a];
      const V sa = swap_ri(v[a]);
      for (int b = a + 1; b < kDim; ++b) {
        re[a * kDim + b] += v[a] * v[b];  // ar br + ai bi
        im[a * kDim + b] += sa * v[b];    // (ai br, ar bi): Im a conj(b) = ai br - ar bi
      }
    }
  });
  for (int a = 0; a < kDim; ++a)
    for (int b = a; b < kDim; ++b) {
      out[2 * (a * kDim + b)] = lane_sum(re[a * kDim + b]);
      out[2 * (a * kDim + b) + 1] = a == b ? 0.0 : lane_alt_sum(im[a * kDim + b]);
    }
}

template <int K>
KRAUS_INLINE void rdm_chunk_k(const double* x, const Layout& l, std::uint64_t begin, std::uint64_t end, double* out) {
  if (l.lowest >= 2) {
    rdm_chunk_vec<K, v8d>(x, l, begin, end, out);
  } else if (l.lowest == 1) {
    rdm_chunk_vec<K, v4d>(x, l, begin, end, out);
  } else {
    rdm_chunk_vec<K, v2d>(x, l, begin, end, out);
  }
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void rdm_chunk(const double* x, int k, const Layout& l, std::uint64_t begin, std::uint64_t end, double* out) {
  switch (k) {
    case 1: return rdm_chunk_k<1>(x, l, begin, end, out);
    case 2: return rdm_chunk_k<2>(x, l, begin, end, out);
    case 3: return rdm_chunk_k<3>(x, l, begin, end, out);
    default: return rdm_chunk_k<4>(x, l, begin, end, out);
  }
}

// ---- elementwise ---------------------------------------------------------------------------------

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void probabilities_range(const double* x, double* out, std::uint64_t begin, std::uint64_t end) {
  std::uint64_t i = begin;
  for (; i + 4 <= end; i += 4) {
    const v8d a = load<v8d>(x + 2 * i);
    const v8d sq = a * a;
    store(out + i, __builtin_shufflevector(sq, sq, 0, 2, 4, 6) + __builtin_shufflevector(sq, sq, 1, 3, 5, 7));
  }
  for (; i < end; ++i) out[i] = x[2 * i] * x[2 * i] + x[2 * i + 1] * x[2 * i + 1];
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void scale_range(double* x, double s, std::uint64_t begin, std::uint64_t end) {
  for (std::uint64_t i = begin; i < end; ++i) x[i] *= s;
}

}  // namespace

// ---- public entry points -------------------------------------------------------------------------

VectorCall vector_call(const int* qubits, int k, const Complex* m) {
  if (qubits == nullptr || m == nullptr) throw std::invalid_argument("vector_call: null qubit list or matrix");
  if (k < 1 || k > 4) {
    throw std::invalid_argument("vector_call: operation on " + std::to_string(k) + " qubits is not supported (1 to 4)");
  }
  detail::validate_targets(kMaxVectorQubits, qubits, k, 4);
  VectorCall call;
  call.k = k;
  for (int j = 0; j < k; ++j) call.qubits[j] = qubits[j];
  const int dim = 1 << k;
  bool real = true, diagonal = true, monomial = true;
  for (int r = 0; r < dim; ++r) {
    int nonzero = 0;
    for (int c = 0; c < dim; ++c) {
      const Complex v = m[r * dim + c];
      real = real && v.imag() == 0.0;
      if (v != Complex(0.0, 0.0)) {
        ++nonzero;
        if (c != r) diagonal = false;
      }
    }
    if (nonzero > 1) monomial = false;
  }
  call.real = real;
  if (diagonal) {
    call.kind = VectorCall::Kind::kDiagonal;
    for (int r = 0; r < dim; ++r) call.matrix.push_back(m[r * dim + r]);
  } else if (monomial) {
    call.kind = VectorCall::Kind::kMonomial;
    for (int r = 0; r < dim; ++r) {
      // A zero row keeps perm[r] = r with the value 0.
      call.perm[r] = r;
      for (int c = 0; c < dim; ++c)
        if (m[r * dim + c] != Complex(0.0, 0.0)) call.perm[r] = c;
      call.matrix.push_back(m[r * dim + call.perm[r]]);
    }
  } else {
    call.kind = VectorCall::Kind::kDense;
    call.matrix.assign(m, m + dim * dim);
  }
  return call;
}

void apply(const VectorCall& call, Complex* psi, int num_qubits) {
  validate_vector(psi, num_qubits);
  detail::validate_targets(num_qubits, call.qubits, call.k, 4);
  const std::size_t dim = std::size_t{1} << call.k;
  const std::size_t expected = call.kind == VectorCall::Kind::kDense ? dim * dim : dim;
  if (call.matrix.size() != expected) {
    throw std::invalid_argument("vector call on " + std::to_string(call.k) + " qubits holds " +
                                std::to_string(call.matrix.size()) + " matrix entries, expected " +
                                std::to_string(expected));
  }
  double* x = reinterpret_cast<double*>(psi);
  switch (call.kind) {
    case VectorCall::Kind::kDense: apply_dense(call.qubits, call.k, call.matrix.data(), call.real, x, num_qubits); break;
    case VectorCall::Kind::kDiagonal: apply_sparse(call, nullptr, x, num_qubits); break;
    case VectorCall::Kind::kMonomial:
      for (std::size_t r = 0; r < dim; ++r) {
        if (call.perm[r] < 0 || static_cast<std::size_t>(call.perm[r]) >= dim) {
          throw std::invalid_argument("vector call permutation entry " + std::to_string(call.perm[r]) +
                                      " is outside [0, " + std::to_string(dim - 1) + "]");
        }
      }
      apply_sparse(call, call.perm, x, num_qubits);
      break;
  }
}

double squared_norm(const Complex* psi, int num_qubits) {
  validate_vector(psi, num_qubits);
  const double* x = reinterpret_cast<const double*>(psi);
  const std::uint64_t chunk = chunk_amplitudes(num_qubits);
  const std::uint64_t chunks = (std::uint64_t{1} << num_qubits) / chunk;
  const std::vector<double> partials = chunk_partials(chunks, 1, num_qubits, [&](std::uint64_t c, double* out) {
    *out = squares_chunk(x + 2 * c * chunk, 2 * chunk);
  });
  double s = 0.0;
  for (double p : partials) s += p;
  return s;
}

Complex inner_product(const Complex* a, const Complex* b, int num_qubits) {
  validate_vector(a, num_qubits);
  validate_vector(b, num_qubits);
  const std::uint64_t chunk = chunk_amplitudes(num_qubits);
  const std::uint64_t chunks = (std::uint64_t{1} << num_qubits) / chunk;
  const std::vector<double> partials = chunk_partials(chunks, 2, num_qubits, [&](std::uint64_t c, double* out) {
    double re = 0.0, im = 0.0;
    for (std::uint64_t i = c * chunk; i < (c + 1) * chunk; ++i) {
      re += a[i].real() * b[i].real() + a[i].imag() * b[i].imag();
      im += a[i].real() * b[i].imag() - a[i].imag() * b[i].real();
    }
    out[0] = re;
    out[1] = im;
  });
  Complex s(0.0, 0.0);
  for (std::uint64_t c = 0; c < chunks; ++c) s += Complex(partials[2 * c], partials[2 * c + 1]);
  return s;
}

void reduced_density_matrix(const Complex* psi, int num_qubits, const int* qubits, int k, Complex* out) {
  validate_vector(psi, num_qubits);
  if (qubits == nullptr || out == nullptr) throw std::invalid_argument("reduced_density_matrix: null qubit list or output");
  detail::validate_targets(num_qubits, qubits, k, 4);
  const double* x = reinterpret_cast<const double*>(psi);
  const Layout l = normal_layout(qubits, k);
  const int dim = 1 << k;
  const std::size_t width = 2 * static_cast<std::size_t>(dim) * static_cast<std::size_t>(dim);
  const std::uint64_t chunk_groups = chunk_amplitudes(num_qubits) >> k;  // at least 2^lowest
  const std::uint64_t groups = std::uint64_t{1} << (num_qubits - k);
  const std::uint64_t chunks = groups / chunk_groups;
  const std::vector<double> partials = chunk_partials(chunks, width, num_qubits, [&](std::uint64_t c, double* o) {
    rdm_chunk(x, k, l, c * chunk_groups, (c + 1) * chunk_groups, o);
  });
  std::vector<double> total(width, 0.0);
  for (std::uint64_t c = 0; c < chunks; ++c)
    for (std::size_t e = 0; e < width; ++e) total[e] += partials[c * width + e];
  for (int a = 0; a < dim; ++a)
    for (int b = a; b < dim; ++b) {
      const Complex v(total[2 * static_cast<std::size_t>(a * dim + b)], total[2 * static_cast<std::size_t>(a * dim + b) + 1]);
      out[a * dim + b] = v;
      out[b * dim + a] = std::conj(v);
    }
}

Complex pauli_expectation(const Complex* psi, int num_qubits, std::uint64_t x_mask, std::uint64_t z_mask) {
  return pauli_inner_product(psi, psi, num_qubits, x_mask, z_mask);
}

Complex pauli_inner_product(const Complex* a, const Complex* b, int num_qubits, std::uint64_t x_mask,
                            std::uint64_t z_mask) {
  validate_vector(a, num_qubits);
  validate_vector(b, num_qubits);
  const std::uint64_t size = std::uint64_t{1} << num_qubits;
  if ((x_mask | z_mask) >= size) {
    throw std::invalid_argument("Pauli masks name a qubit at or above " + std::to_string(num_qubits));
  }
  const double* bra = reinterpret_cast<const double*>(a);
  const double* ket = reinterpret_cast<const double*>(b);
  const std::uint64_t chunk = chunk_amplitudes(num_qubits);
  const std::vector<double> partials = chunk_partials(size / chunk, 2, num_qubits, [&](std::uint64_t c, double* out) {
    pauli_chunk(bra, ket, c * chunk, chunk, x_mask, z_mask, out);
  });
  double re = 0.0, im = 0.0;
  for (std::size_t c = 0; c < partials.size(); c += 2) re += partials[c], im += partials[c + 1];
  return {re, im};
}

void pauli_inner_products(const Complex* a, const Complex* b, int num_qubits, const std::uint64_t* x_masks,
                          const std::uint64_t* z_masks, int count, Complex* out) {
  validate_vector(a, num_qubits);
  validate_vector(b, num_qubits);
  if (count < 0 || (count > 0 && (x_masks == nullptr || z_masks == nullptr || out == nullptr))) {
    throw std::invalid_argument("pauli_inner_products: null masks or output");
  }
  const std::uint64_t size = std::uint64_t{1} << num_qubits;
  for (int t = 0; t < count; ++t) {
    if ((x_masks[t] | z_masks[t]) >= size) {
      throw std::invalid_argument("Pauli masks name a qubit at or above " + std::to_string(num_qubits));
    }
  }
  const double* bra = reinterpret_cast<const double*>(a);
  const double* ket = reinterpret_cast<const double*>(b);
  const std::uint64_t chunk = chunk_amplitudes(num_qubits);
  const auto width = static_cast<std::size_t>(2 * count);
  // Chunk by chunk, every string in turn: the ket's chunk is read from memory once.
  const std::vector<double> partials = chunk_partials(size / chunk, width, num_qubits, [&](std::uint64_t c, double* o) {
    for (int t = 0; t < count; ++t) pauli_chunk(bra, ket, c * chunk, chunk, x_masks[t], z_masks[t], o + 2 * t);
  });
  for (int t = 0; t < count; ++t) {
    double re = 0.0, im = 0.0;
    for (std::size_t c = 0; c < partials.size(); c += width) re += partials[c + 2 * t], im += partials[c + 2 * t + 1];
    out[t] = {re, im};
  }
}

void probabilities(const Complex* psi, int num_qubits, double* out) {
  validate_vector(psi, num_qubits);
  if (out == nullptr) throw std::invalid_argument("probabilities: output pointer is null");
  const double* x = reinterpret_cast<const double*>(psi);
  const std::uint64_t size = std::uint64_t{1} << num_qubits;
  for_each_range(size, std::min<std::uint64_t>(size, 64), num_qubits,
                 [&](std::uint64_t b, std::uint64_t e) { probabilities_range(x, out, b, e); });
}

void scale(Complex* psi, int num_qubits, double s) {
  validate_vector(psi, num_qubits);
  double* x = reinterpret_cast<double*>(psi);
  const std::uint64_t len = std::uint64_t{2} << num_qubits;
  for_each_range(len, std::min<std::uint64_t>(len, 64), num_qubits,
                 [&](std::uint64_t b, std::uint64_t e) { scale_range(x, s, b, e); });
}

}  // namespace kraus::noise
