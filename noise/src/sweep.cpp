#include "kraus/noise/sweep.hpp"

#include <algorithm>
#include <cstring>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>

#include "kernels_detail.hpp"
#include "kraus/noise/kernels.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace kraus::noise {
namespace {

std::uint64_t qubit_mask(const KernelCall& call) {
  std::uint64_t mask = 0;
  for (int j = 0; j < call.k; ++j) mask |= std::uint64_t{1} << call.qubits[j];
  return mask;
}

int popcount(std::uint64_t x) { return __builtin_popcountll(x); }

// i^k for k mod 4.
Complex i_power(int k) {
  static const Complex powers[4] = {{1.0, 0.0}, {0.0, 1.0}, {-1.0, 0.0}, {0.0, -1.0}};
  return powers[k & 3];
}

std::vector<int> mask_qubits(std::uint64_t mask) {
  std::vector<int> qubits;
  for (int q = 0; mask >> q; ++q)
    if ((mask >> q) & 1) qubits.push_back(q);
  return qubits;
}

// x with its bits spread onto `positions` (ascending): bit i of x goes to bit positions[i].
std::uint64_t deposit(std::uint64_t x, const std::vector<int>& positions) {
  std::uint64_t out = 0;
  for (std::size_t i = 0; i < positions.size(); ++i) out |= ((x >> i) & 1) << positions[i];
  return out;
}

// The tile geometry of one sweep on S. Memory moves 64-byte lines of 4 elements (row bits 0 and 1),
// so when S lacks row bit 0 or 1 the 2 or 4 tiles that share lines form one group: its rows are
// E = S + {0, 1}, its columns S, and it is gathered into 2^e contiguous tiles (e = |E| - |S|), each
// line being read once. Groups are numbered with their free row bits lowest, so consecutive groups
// of a thread lie next to each other in memory.
struct TileGroups {
  int b = 0;                              // |S|
  bool whole = false;                     // S is every qubit: the tile is the state, in its layout
  std::size_t tile_elems = 0;             // 4^b
  std::size_t num_tiles = 0;              // 2^e tiles per group
  // The 2^|E| group rows by lines of 4 (E holds row bits 0 and 1, its lowest): the flat offset of each
  // line's first row and where that row lands (tile * 4^b + row within it); row i + t of a line lands
  // at the line's slot + line_slot[t], the slots adding up as their bits are disjoint.
  std::vector<std::uint64_t> line_offset;
  std::vector<std::uint32_t> line_row_slot;
  std::uint32_t line_slot[4] = {};
  std::vector<std::uint64_t> col_offset;  // over the 2^b tile columns: flat offset of the column bits
  std::vector<int> free_bits;             // flat positions fixed by a group, ascending
  std::uint64_t num_groups = 0;
};

TileGroups tile_groups(const std::vector<int>& s, int n) {
  TileGroups g;
  g.b = static_cast<int>(s.size());
  g.tile_elems = std::size_t{1} << (2 * g.b);
  if (g.b == n) {  // the whole register: one tile, laid out as the state
    g.whole = true;
    g.num_tiles = 1;
    g.num_groups = 1;
    return g;
  }
  std::vector<int> e = s;
  for (int q = 0; q < std::min(n, 2); ++q)
    if (!std::binary_search(s.begin(), s.end(), q)) e.push_back(q);
  std::sort(e.begin(), e.end());
  g.num_tiles = std::size_t{1} << (e.size() - s.size());
  const std::size_t group_rows = std::size_t{1} << e.size();
  g.line_offset.resize(group_rows / 4);
  g.line_row_slot.resize(group_rows / 4);
  for (std::size_t i = 0; i < group_rows; ++i) {
    std::uint64_t row_in_tile = 0, tile = 0;
    int next_s = 0, next_extra = 0;
    for (std::size_t j = 0; j < e.size(); ++j) {
      const std::uint64_t bit = (i >> j) & 1;
      if (next_s < g.b && s[static_cast<std::size_t>(next_s)] == e[j]) {
        row_in_tile |= bit << next_s++;
      } else {
        tile |= bit << next_extra++;
      }
    }
    const auto slot = static_cast<std::uint32_t>(tile * g.tile_elems + row_in_tile);
    if (i % 4 == 0) {
      g.line_offset[i / 4] = deposit(i, e);
      g.line_row_slot[i / 4] = slot;
    }
    if (i < 4) g.line_slot[i] = slot;
  }
  std::vector<int> col_bits(s.size());
  for (std::size_t j = 0; j < s.size(); ++j) col_bits[j] = s[j] + n;
  g.col_offset.resize(std::size_t{1} << g.b);
  for (std::size_t j = 0; j < g.col_offset.size(); ++j) g.col_offset[j] = deposit(j, col_bits);
  for (int bit = 0; bit < 2 * n; ++bit) {
    const bool fixed = bit < n ? !std::binary_search(e.begin(), e.end(), bit)
                               : !std::binary_search(s.begin(), s.end(), bit - n);
    if (fixed) g.free_bits.push_back(bit);
  }
  g.num_groups = std::uint64_t{1} << g.free_bits.size();
  return g;
}

// The order in which one sweep visits its groups, and where each group lies. For a Hermitian state,
// tile (r, c) (r, c: the fixed row and column bits) is the conjugate transpose of tile (c, r), and
// stays so under Hermiticity-preserving calls: only the tiles with r <= c are gathered and computed,
// and each is also written, conjugate-transposed, as its mirror. This needs the row and column bits
// of a group to be the same qubits, that is groups of one tile (S holds row bits 0 and 1): the free
// bits are then the f row bits, then the same f column bits.
struct GroupOrder {
  bool mirror = false;
  std::size_t f = 0;
  std::vector<std::uint64_t> order;  // the groups to process when mirroring: r <= c, by c then r
  std::uint64_t count = 0;

  GroupOrder(const TileGroups& g, bool hermitian) : mirror(hermitian && g.num_tiles == 1), f(g.free_bits.size() / 2) {
    if (mirror) {
      order.reserve(((std::size_t{1} << f) + 1) << f >> 1);
      for (std::uint64_t c = 0; c < (std::uint64_t{1} << f); ++c)
        for (std::uint64_t r = 0; r <= c; ++r) order.push_back(r | c << f);
    }
    count = mirror ? order.size() : g.num_groups;
  }
  std::uint64_t group(std::uint64_t k) const { return mirror ? order[k] : k; }
  // An off-diagonal tile of a mirrored pair: the other one is written as its conjugate transpose.
  bool has_mirror(std::uint64_t group) const { return mirror && (group & ((std::uint64_t{1} << f) - 1)) != group >> f; }
  std::uint64_t mirror_of(std::uint64_t group) const {
    return group >> f | (group & ((std::uint64_t{1} << f) - 1)) << f;
  }
};

std::uint64_t group_base(const TileGroups& g, std::uint64_t group) {
  std::uint64_t base = 0;
  for (std::size_t i = 0; i < g.free_bits.size(); ++i) base |= ((group >> i) & 1) << g.free_bits[i];
  return base;
}

// The group at `base` from rho into its 2^e contiguous tiles.
void gather(const TileGroups& g, const Complex* rho, std::uint64_t base, Complex* tile) {
  if (g.whole) {
    std::copy(rho, rho + g.tile_elems, tile);
    return;
  }
  const std::size_t dim = std::size_t{1} << g.b;
  const std::uint32_t s0 = g.line_slot[0], s1 = g.line_slot[1], s2 = g.line_slot[2], s3 = g.line_slot[3];
  for (std::size_t c = 0; c < dim; ++c) {
    const Complex* src = rho + base + g.col_offset[c];
    // The lines of the column two ahead: strided lines that the hardware prefetcher misses.
    const Complex* ahead = rho + base + g.col_offset[c + 2 < dim ? c + 2 : c];
    Complex* dst = tile + c * dim;
    for (std::size_t l = 0; l < g.line_offset.size(); ++l) {
      __builtin_prefetch(ahead + g.line_offset[l]);
      const Complex* from = src + g.line_offset[l];
      Complex* to = dst + g.line_row_slot[l];
      to[s0] = from[0];
      to[s1] = from[1];
      to[s2] = from[2];
      to[s3] = from[3];
    }
  }
}

// The tiles back into the group at `base`, and, for the off-diagonal tile of a mirrored pair, its
// conjugate transpose into the mirror group at `mirror_base` (column j, row i holds conj(tile(j, i))).
void scatter(const TileGroups& g, const Complex* tile, Complex* rho, std::uint64_t base, bool mirrored,
             std::uint64_t mirror_base) {
  if (g.whole) {
    std::copy(tile, tile + g.tile_elems, rho);
    return;
  }
  const std::size_t dim = std::size_t{1} << g.b;
  const std::uint32_t s0 = g.line_slot[0], s1 = g.line_slot[1], s2 = g.line_slot[2], s3 = g.line_slot[3];
  for (std::size_t c = 0; c < dim; ++c) {
    Complex* dst = rho + base + g.col_offset[c];
    const Complex* src = tile + c * dim;
    for (std::size_t l = 0; l < g.line_offset.size(); ++l) {
      Complex* to = dst + g.line_offset[l];
      const Complex* from = src + g.line_row_slot[l];
      to[0] = from[s0];
      to[1] = from[s1];
      to[2] = from[s2];
      to[3] = from[s3];
    }
  }
  if (!mirrored) return;
  for (std::size_t j = 0; j < dim; ++j) {
    Complex* dst = rho + mirror_base + g.col_offset[j];
    const Complex* src = tile + j;
    for (std::size_t l = 0; l < g.line_offset.size(); ++l) {
      Complex* to = dst + g.line_offset[l];
      const Complex* from = src + g.line_row_slot[l] * dim;
      to[0] = std::conj(from[s0 * dim]);
      to[1] = std::conj(from[s1 * dim]);
      to[2] = std::conj(from[s2 * dim]);
      to[3] = std::conj(from[s3 * dim]);
    }
  }
}

// Runs body(thread, begin, end) for `threads` contiguous ranges of [0, count) (a static schedule) on
// std::threads, not an OpenMP team (a team around the kernels cost 9.3 us a call against 6.2 us, 2
// threads, 1-qubit unitaries on 5-qubit tiles). The kernels on tiles of fewer than kParallelMinQubits
// qubits do not enter OpenMP at all.
template <class Body>
void split_over_threads(std::uint64_t count, int threads, const Body& body) {
  const auto run_range = [&](int thread) {
    const auto t = static_cast<std::uint64_t>(thread), all = static_cast<std::uint64_t>(threads);
    body(thread, count * t / all, count * (t + 1) / all);
  };
  std::vector<std::thread> workers;
  for (int thread = 1; thread < threads; ++thread) workers.emplace_back(run_range, thread);
  run_range(0);
  for (std::thread& worker : workers) worker.join();
}

// Runs the calls of one sweep group by group; `local` holds them renumbered onto the tile's qubits.
// The calls were checked by run_sweeps, so each call is detail::apply_unchecked.
// With `checkpoint`, every group is also written there as gathered (the state before the sweep),
// mirrors included: no separate pass to copy the state.
// With `points` (positions in `local`), the tiles after each point's call also go to kept[k], at the
// tile's place in the order of the groups (mirrors not written).
void run_tiled(const TileGroups& g, const std::vector<KernelCall>& local, Complex* rho, int threads,
               std::vector<Complex>& scratch, bool hermitian, Complex* checkpoint,
               const std::vector<std::size_t>* points, Complex* const* kept) {
  const GroupOrder groups(g, hermitian);
  const std::size_t per_thread = g.num_tiles * g.tile_elems;
  split_over_threads(groups.count, threads, [&](int thread, std::uint64_t begin, std::uint64_t end) {
    Complex* tile = scratch.data() + per_thread * static_cast<std::size_t>(thread);
    for (std::uint64_t k = begin; k < end; ++k) {
      const std::uint64_t group = groups.group(k), base = group_base(g, group);
      const bool mirrored = groups.has_mirror(group);
      const std::uint64_t mirror_base = mirrored ? group_base(g, groups.mirror_of(group)) : 0;
      gather(g, rho, base, tile);
      if (checkpoint != nullptr) scatter(g, tile, checkpoint, base, mirrored, mirror_base);
      for (std::size_t t = 0; t < g.num_tiles; ++t) {
        Complex* const at = tile + t * g.tile_elems;
        std::size_t next = 0;
        for (std::size_t pos = 0; pos < local.size(); ++pos) {
          detail::apply_unchecked(local[pos], at, g.b);
          if (points != nullptr && next < points->size() && (*points)[next] == pos) {
            std::copy(at, at + g.tile_elems, kept[next++] + (k * g.num_tiles + t) * g.tile_elems);
          }
        }
      }
      scatter(g, tile, rho, base, mirrored, mirror_base);
    }
  });
}

// `call` with its qubits renumbered to their positions in `qubits` (ascending, holding them).
KernelCall localize(KernelCall call, const std::vector<int>& qubits) {
  for (int j = 0; j < call.k; ++j) {
    call.qubits[j] = static_cast<int>(std::lower_bound(qubits.begin(), qubits.end(), call.qubits[j]) - qubits.begin());
  }
  return call;
}

std::uint64_t localize_mask(std::uint64_t mask, const std::vector<int>& qubits) {
  std::uint64_t out = 0;
  for (std::size_t j = 0; j < qubits.size(); ++j) out |= ((mask >> qubits[j]) & 1) << j;
  return out;
}

// Throws unless the sweep's qubits are strictly ascending and in range; returns them as a mask.
std::uint64_t checked_sweep_mask(const Sweep& sweep, int num_qubits) {
  std::uint64_t set = 0;
  for (std::size_t j = 0; j < sweep.qubits.size(); ++j) {
    const int q = sweep.qubits[j];
    if (q < 0 || q >= num_qubits) {
      throw std::invalid_argument("sweep qubit " + std::to_string(q) + " is out of range [0, " +
                                  std::to_string(num_qubits - 1) + "]");
    }
    if (j > 0 && q <= sweep.qubits[j - 1]) throw std::invalid_argument("sweep qubits are not strictly ascending");
    set |= std::uint64_t{1} << q;
  }
  return set;
}

void check_call_in(const KernelCall& call, std::uint64_t set, int num_qubits, std::size_t index) {
  detail::validate_targets(num_qubits, call.qubits, call.k, 3);
  if ((qubit_mask(call) & ~set) != 0) {
    throw std::invalid_argument("call " + std::to_string(index) + " acts on a qubit outside its sweep's qubits");
  }
}

int sweep_threads(int num_qubits) {
#ifdef _OPENMP
  // One thread inside a caller's parallel region, as the kernels' own regions there.
  if (num_qubits >= kParallelMinQubits && !omp_in_parallel()) return omp_get_max_threads();
#endif
  (void)num_qubits;
  return 1;
}

// dst <- src over 4^n elements, in parallel for large states (one thread copies at about half the
// bandwidth two reach).
void copy_state(const Complex* src, Complex* dst, int num_qubits) {
  const std::uint64_t len = std::uint64_t{1} << (2 * num_qubits);
  const int threads = sweep_threads(num_qubits);
  split_over_threads(len, threads, [&](int, std::uint64_t begin, std::uint64_t end) {
    std::memcpy(static_cast<void*>(dst + begin), static_cast<const void*>(src + begin),
                (end - begin) * sizeof(Complex));
  });
}

typedef double v4d __attribute__((vector_size(32)));  // two complex numbers

// Σ conj(σ) ρ over two-element vectors as lanes: `re` gets σ ρ (its four lanes add up to the real
// part), `im` σ swap(ρ) (lanes 0 + 2 - 1 - 3: the imaginary part).
struct ConjDot {
  v4d re = {}, im = {};
  inline __attribute__((always_inline)) void add(v4d s, v4d r) {
    re += s * r;
    im += s * __builtin_shufflevector(r, r, 1, 0, 3, 2);
  }
  Complex value() const { return {re[0] + re[1] + re[2] + re[3], im[0] + im[2] - im[1] - im[3]}; }
};

inline __attribute__((always_inline)) v4d load4(const double* p) {
  v4d v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Re Σ conj(σ(r, c)) X(r, c) over one dim x dim tile (dim >= 2) for X = -i/2 [P, ρ], P = ω X^x Z^z
// (ω = i^{|x&z|}) on the tile's qubits: P|b> = ω s(b)|b^x> with s(b) = (-1)^{|b&z|}, so
// (Pρ)(r, c) = ω s(r^x) ρ(r^x, c) and (ρP)(r, c) = ω s(c) ρ(r, c^x). With T1 = Σ conj(σ) (Pρ) and
// T2 = Σ conj(σ) (ρP) the value is Re(-i/2 (T1 - T2)); for a Hermitian tile (σ and ρ both, a
// diagonal tile of a mirrored sweep) T1 = conj(T2) and it is -Im T2, which needs no permuted rows.
// Columns c and c^x are taken together, so that each column of σ and ρ comes from memory once (ρ is
// a stored copy, often in the L3) and is then read from the L1. Two accumulators each (the
// additions' latency bounds one). `signs`: the caller's 2·dim doubles.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
double rotation_tile_gradient(const Complex* rho, const Complex* sigma, std::size_t dim, std::uint64_t xm,
                              std::uint64_t zm, bool hermitian_tile, double* signs) {
  const double* p = reinterpret_cast<const double*>(rho);
  const double* q = reinterpret_cast<const double*>(sigma);
  // T1 pairs rows r, r + 1 (r even) with the pair at (r^x) & ~1, swapped when x flips bit 0; the
  // signs s(r^x) go onto σ. A Hermitian tile needs no T1.
  if (!hermitian_tile) {
    for (std::size_t r = 0; r < dim; ++r) signs[2 * r] = signs[2 * r + 1] = (popcount((r ^ xm) & zm) & 1) ? -1.0 : 1.0;
  }
  const bool swap = (xm & 1) != 0;
  const std::uint64_t pair = ~std::uint64_t{1};
  const auto rows = [&](const double* col, std::size_t r) {
    const v4d rv = load4(col + 2 * ((r ^ xm) & pair));
    return swap ? __builtin_shufflevector(rv, rv, 2, 3, 0, 1) : rv;
  };
  ConjDot plus[2], minus[2], t1[2];  // T2 / ω by the sign s(c) of the column; T1 / ω
  // Σ_r conj(σ(r, c)) ρ(r, c') into T2 (sign of c) and, when `with_t1`, Σ_r conj(σ(r, c)) s(r^x) ρ(r^x, c).
  const auto column = [&](std::size_t c, std::size_t c_other, bool with_t1) {
    ConjDot* acc = (popcount(c & zm) & 1) ? minus : plus;
    const double* s = q + 2 * c * dim;
    const double* other = p + 2 * c_other * dim;
    const double* own = p + 2 * c * dim;
    std::size_t r = 0;
    for (; r + 8 <= 2 * dim; r += 8) {
      acc[0].add(load4(s + r), load4(other + r));
      acc[1].add(load4(s + r + 4), load4(other + r + 4));
    }
    if (r < 2 * dim) acc[0].add(load4(s + r), load4(other + r));
    if (!with_t1) return;
    std::size_t k = 0;
    for (; k + 4 <= dim; k += 4) {
      t1[0].add(load4(s + 2 * k) * load4(signs + 2 * k), rows(own, k));
      t1[1].add(load4(s + 2 * k + 4) * load4(signs + 2 * k + 4), rows(own, k + 2));
    }
    if (k < dim) t1[0].add(load4(s + 2 * k) * load4(signs + 2 * k), rows(own, k));
  };
  for (std::size_t c = 0; c < dim; ++c) {
    const std::size_t c_x = c ^ xm;
    if (c_x < c) continue;  // done with its partner
    column(c, c_x, !hermitian_tile);
    if (c_x != c) column(c_x, c, !hermitian_tile);
  }
  const Complex omega = i_power(popcount(xm & zm));
  const Complex t2 = omega * (plus[0].value() + plus[1].value() - minus[0].value() - minus[1].value());
  if (hermitian_tile) return -t2.imag();
  const Complex t1_value = omega * (t1[0].value() + t1[1].value());
  return (Complex(0.0, -0.5) * (t1_value - t2)).real();
}

// The column sums g(c) = Σ_r conj(σ(r, c)) ρ(r, c) of one dim x dim tile and, unless the tile is
// Hermitian, its row sums h(r): for a diagonal P (no X) every derivative of rotation_tile_gradient
// follows from them in O(dim), as (Pρ)(r, c) = s(r) ρ(r, c) and (ρP)(r, c) = s(c) ρ(r, c).
// `lanes`: the caller's 4·dim doubles (the row sums' vector lanes).
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void tile_sums(const Complex* rho, const Complex* sigma, std::size_t dim, bool hermitian_tile, Complex* g, Complex* h,
               double* lanes) {
  const double* p = reinterpret_cast<const double*>(rho);
  const double* q = reinterpret_cast<const double*>(sigma);
  // Row sums by lanes, as ConjDot: hre holds σ ρ, him σ swap(ρ), two rows to a vector.
  double* hre = lanes;
  double* him = lanes + 2 * dim;
  if (!hermitian_tile) std::fill(lanes, lanes + 4 * dim, 0.0);
  for (std::size_t c = 0; c < dim; ++c) {
    const double* s = q + 2 * c * dim;
    const double* r = p + 2 * c * dim;
    ConjDot column;
    for (std::size_t k = 0; k < 2 * dim; k += 4) {
      const v4d sv = load4(s + k), rv = load4(r + k);
      const v4d re = sv * rv, im = sv * __builtin_shufflevector(rv, rv, 1, 0, 3, 2);
      column.re += re;
      column.im += im;
      if (!hermitian_tile) {
        const v4d hr = load4(hre + k) + re, hi = load4(him + k) + im;
        std::memcpy(hre + k, &hr, sizeof hr);
        std::memcpy(him + k, &hi, sizeof hi);
      }
    }
    g[c] = column.value();
  }
  if (hermitian_tile) return;
  for (std::size_t r = 0; r < dim; ++r) h[r] = Complex(hre[2 * r] + hre[2 * r + 1], him[2 * r] - him[2 * r + 1]);
}

// rotation_tile_gradient for P = Z^z from tile_sums.
double diagonal_tile_gradient(const Complex* g, const Complex* h, std::size_t dim, std::uint64_t zm,
                              bool hermitian_tile) {
  Complex t1(0.0, 0.0), t2(0.0, 0.0);
  for (std::size_t b = 0; b < dim; ++b) {
    const double sign = (popcount(b & zm) & 1) ? -1.0 : 1.0;
    t2 += sign * g[b];
    if (!hermitian_tile) t1 += sign * h[b];
  }
  if (hermitian_tile) return -t2.imag();
  return 0.5 * (t1.imag() - t2.imag());
}

// Re Σ conj(a_i) b_i over `len` elements.
double tile_inner(const Complex* a, const Complex* b, std::size_t len) {
  double s = 0.0;
  for (std::size_t i = 0; i < len; ++i) s += a[i].real() * b[i].real() + a[i].imag() * b[i].imag();
  return s;
}

}  // namespace

std::vector<Sweep> plan_sweeps(const KernelCall* calls, std::size_t count, int num_qubits, int block_qubits) {
  if (num_qubits < 1 || num_qubits > kMaxQubits) {
    throw std::invalid_argument("number of qubits " + std::to_string(num_qubits) + " is outside [1, " +
                                std::to_string(kMaxQubits) + "]");
  }
  if (block_qubits < 3) {
    throw std::invalid_argument("block_qubits = " + std::to_string(block_qubits) + " is below 3");
  }
  if (count > 0 && calls == nullptr) throw std::invalid_argument("kernel call pointer is null");
  std::vector<std::uint64_t> masks(count);
  for (std::size_t i = 0; i < count; ++i) {
    detail::validate_targets(num_qubits, calls[i].qubits, calls[i].k, 3);
    masks[i] = qubit_mask(calls[i]);
  }
  std::vector<Sweep> plan;
  if (count == 0) return plan;
  if (block_qubits >= num_qubits) {
    Sweep all;
    for (int q = 0; q < num_qubits; ++q) all.qubits.push_back(q);
    for (std::size_t i = 0; i < count; ++i) all.calls.push_back(i);
    plan.push_back(std::move(all));
    return plan;
  }
  const std::uint64_t all_qubits = (std::uint64_t{1} << num_qubits) - 1;
  std::vector<std::size_t> pending(count);
  for (std::size_t i = 0; i < count; ++i) pending[i] = i;
  while (!pending.empty()) {
    Sweep sweep;
    std::uint64_t set = 0, blocked = 0;
    std::vector<std::size_t> left;
    std::size_t next = 0;
    for (; next < pending.size(); ++next) {
      // Nothing more can join once every qubit waits on a skipped call, or S is full and all of it
      // waits.
      if (blocked == all_qubits || (popcount(set) == block_qubits && (set & ~blocked) == 0)) break;
      const std::size_t i = pending[next];
      if ((masks[i] & blocked) == 0 && popcount(set | masks[i]) <= block_qubits) {
        set |= masks[i];
        sweep.calls.push_back(i);
      } else {
        blocked |= masks[i];
        left.push_back(i);
      }
    }
    left.insert(left.end(), pending.begin() + static_cast<std::ptrdiff_t>(next), pending.end());
    sweep.qubits = mask_qubits(set);
    plan.push_back(std::move(sweep));
    pending.swap(left);
  }
  return plan;
}

bool commutes_with_derivation(const KernelCall& call, std::uint64_t x_mask, std::uint64_t z_mask) {
  detail::validate_targets(kMaxQubits, call.qubits, call.k, 3);
  const std::uint64_t call_mask = qubit_mask(call), p_mask = x_mask | z_mask;
  if ((call_mask & p_mask) == 0) return true;
  const std::vector<int> qubits = mask_qubits(call_mask | p_mask);
  if (qubits.size() > 4) return false;
  const int u = static_cast<int>(qubits.size());
  const std::size_t dim = std::size_t{1} << u, len = dim * dim;
  const KernelCall local = localize(call, qubits);
  const std::uint64_t xm = localize_mask(x_mask, qubits), zm = localize_mask(z_mask, qubits);
  // i[P, H] for Hermitian H (column-major): (PH)(r, c) = ω s(r^x) H(r^x, c), (HP)(r, c) = ω s(c) H(r, c^x).
  const Complex omega = i_power(popcount(xm & zm));
  const auto sign = [&](std::size_t b) { return (popcount(b & zm) & 1) ? -1.0 : 1.0; };
  const auto derivation = [&](const std::vector<Complex>& h, std::vector<Complex>& out) {
    for (std::size_t c = 0; c < dim; ++c) {
      for (std::size_t r = 0; r < dim; ++r) {
        out[r + c * dim] = Complex(0.0, 1.0) * omega *
                           (sign(r ^ xm) * h[(r ^ xm) + c * dim] - sign(c) * h[r + (c ^ xm) * dim]);
      }
    }
  };
  std::vector<Complex> h(len), ch(len), lhs(len), rhs(len);
  // The Hermitian basis: E_aa, E_ab + E_ba and i(E_ab - E_ba) for a < b.
  for (std::size_t a = 0; a < dim; ++a) {
    for (std::size_t b = a; b < dim; ++b) {
      for (int part = 0; part < (a == b ? 1 : 2); ++part) {
        std::fill(h.begin(), h.end(), Complex(0.0, 0.0));
        h[a + b * dim] = part == 0 ? Complex(1.0, 0.0) : Complex(0.0, 1.0);
        h[b + a * dim] += std::conj(h[a + b * dim]);
        if (a == b) h[a + a * dim] = 1.0;
        derivation(h, lhs);
        detail::apply_unchecked(local, lhs.data(), u);  // call(i[P, H])
        ch = h;
        detail::apply_unchecked(local, ch.data(), u);
        derivation(ch, rhs);  // i[P, call(H)]
        for (std::size_t e = 0; e < len; ++e) {
          if (std::abs(lhs[e] - rhs[e]) > 1e-12) return false;
        }
      }
    }
  }
  return true;
}

std::vector<std::size_t> derivative_points(Sweep& sweep, const KernelCall* calls, const CallDerivative* derivatives,
                                           const char* varies) {
  if (calls == nullptr || derivatives == nullptr || varies == nullptr) {
    throw std::invalid_argument("call, derivative or varies pointer is null");
  }
  using Kind = CallDerivative::Kind;
  for (std::size_t i : sweep.calls) {
    if (derivatives[i].kind == Kind::kSuperoperator) {
      throw std::invalid_argument("the derivative of call " + std::to_string(i) +
                                  " needs the state before it, not a derivative point");
    }
  }
  // Whether call i lets the derivative of rotation r move past it.
  const auto moves_through = [&](std::size_t i, std::size_t r) {
    const CallDerivative& dr = derivatives[r];
    if ((qubit_mask(calls[i]) & (dr.x_mask | dr.z_mask)) == 0) return true;
    const CallDerivative& di = derivatives[i];
    if (di.kind == Kind::kPauliRotation) {
      return (popcount((dr.x_mask & di.z_mask) ^ (dr.z_mask & di.x_mask)) & 1) == 0;
    }
    if (varies[i] != 0) return false;
    return commutes_with_derivation(calls[i], dr.x_mask, dr.z_mask);
  };
  // List scheduling: take every call whose earlier calls on its qubits are taken and that the
  // pending derivatives move through; when none is left, read the pending ones (a point).
  std::vector<std::size_t> order, points, pending, left = sweep.calls, waiting;
  while (!left.empty()) {
    std::uint64_t blocked = 0;
    waiting.clear();
    for (std::size_t i : left) {
      bool take = (qubit_mask(calls[i]) & blocked) == 0;
      for (std::size_t j = 0; take && j < pending.size(); ++j) take = moves_through(i, pending[j]);
      if (!take) {
        blocked |= qubit_mask(calls[i]);
        waiting.push_back(i);
        continue;
      }
      order.push_back(i);
      if (derivatives[i].kind == Kind::kPauliRotation) pending.push_back(i);
    }
    if (waiting.size() == left.size()) {  // nothing taken: pending is not empty, as the first call was ready
      points.push_back(order.size() - 1);
      pending.clear();
    }
    left.swap(waiting);
  }
  if (!pending.empty()) points.push_back(order.size() - 1);
  sweep.calls = std::move(order);
  return points;
}

std::size_t point_elems(const Sweep& sweep, int num_qubits) {
  checked_sweep_mask(sweep, num_qubits);
  const TileGroups g = tile_groups(sweep.qubits, num_qubits);
  return static_cast<std::size_t>(GroupOrder(g, /*hermitian=*/true).count) * g.num_tiles * g.tile_elems;
}

void run_sweeps(const std::vector<Sweep>& plan, const KernelCall* calls, Complex* rho, int num_qubits,
                bool hermitian, Complex* const* checkpoints, const std::vector<std::size_t>* points,
                Complex* const* kept) {
  detail::validate_state(rho, num_qubits);
  if (!plan.empty() && calls == nullptr) throw std::invalid_argument("kernel call pointer is null");
  // Checked before any work, so that nothing throws inside the parallel loops.
  std::size_t scratch_elems = 0;
  for (const Sweep& sweep : plan) {
    const std::uint64_t set = checked_sweep_mask(sweep, num_qubits);
    for (std::size_t i : sweep.calls) check_call_in(calls[i], set, num_qubits, i);
    const int b = static_cast<int>(sweep.qubits.size());
    const bool with_points = points != nullptr && !points[&sweep - plan.data()].empty();
    if (with_points) {
      if (kept == nullptr || !hermitian) throw std::invalid_argument("derivative points need buffers and a Hermitian run");
      for (std::size_t pos : points[&sweep - plan.data()]) {
        if (pos >= sweep.calls.size()) throw std::invalid_argument("derivative point past its sweep's calls");
      }
    }
    if ((sweep.calls.size() > 1 && b < num_qubits) || with_points) {
      const int extra = std::min(num_qubits, 2) - popcount(set & 3);
      scratch_elems = std::max(scratch_elems, std::size_t{1} << (2 * b + extra));
    }
  }
  const int threads = sweep_threads(num_qubits);
  // Allocated once for all sweeps: fresh pages are slow on first touch.
  std::vector<Complex> scratch(scratch_elems * static_cast<std::size_t>(threads));
  std::size_t first_point = 0;
  for (std::size_t p = 0; p < plan.size(); ++p) {
    const Sweep& sweep = plan[p];
    Complex* checkpoint = checkpoints != nullptr ? checkpoints[p] : nullptr;
    const int b = static_cast<int>(sweep.qubits.size());
    const std::vector<std::size_t>* sweep_points = points != nullptr && !points[p].empty() ? &points[p] : nullptr;
    if (sweep_points == nullptr && (sweep.calls.size() == 1 || b >= num_qubits)) {
      if (checkpoint != nullptr) copy_state(rho, checkpoint, num_qubits);
      for (std::size_t i : sweep.calls) apply(calls[i], rho, num_qubits);
      continue;
    }
    std::vector<KernelCall> local;
    local.reserve(sweep.calls.size());
    for (std::size_t i : sweep.calls) local.push_back(localize(calls[i], sweep.qubits));
    run_tiled(tile_groups(sweep.qubits, num_qubits), local, rho, threads, scratch, hermitian, checkpoint,
              sweep_points, sweep_points != nullptr ? kept + first_point : nullptr);
    if (sweep_points != nullptr) first_point += sweep_points->size();
  }
}

void sweep_gradient(const Sweep& sweep, const KernelCall* calls, const KernelCall* adjoints,
                    const CallDerivative* derivatives, const GradientStates& states, Complex* sigma, int num_qubits,
                    double* gradient, std::vector<Complex>& scratch) {
  const bool kept = states.before == nullptr;  // read at the kept derivative points
  if (kept) {
    if (states.points == nullptr || states.kept == nullptr) throw std::invalid_argument("no states to read");
    for (std::size_t k = 0; k < states.points->size(); ++k) {
      if ((*states.points)[k] >= sweep.calls.size() || (k > 0 && (*states.points)[k] <= (*states.points)[k - 1])) {
        throw std::invalid_argument("derivative points out of order or past the sweep's calls");
      }
      if (states.kept[k] == nullptr) throw std::invalid_argument("kept point buffer is null");
    }
  } else {
    detail::validate_state(states.before, num_qubits);
  }
  detail::validate_state(sigma, num_qubits);
  if (calls == nullptr || adjoints == nullptr || derivatives == nullptr || gradient == nullptr) {
    throw std::invalid_argument("null call, adjoint, derivative or gradient pointer");
  }
  const std::uint64_t set = checked_sweep_mask(sweep, num_qubits);
  if (sweep.qubits.empty()) throw std::invalid_argument("sweep without qubits");
  // The calls on the tile's qubits: over the whole register the calls themselves (no copies: small
  // states run many gradients), otherwise copies renumbered onto the tile, kept in `renumbered`.
  const bool whole = static_cast<int>(sweep.qubits.size()) == num_qubits;
  std::vector<KernelCall> renumbered;
  renumbered.reserve(whole ? 0 : 3 * sweep.calls.size());
  const auto local_form = [&](const KernelCall& call, std::size_t i) -> const KernelCall* {
    check_call_in(call, set, num_qubits, i);
    if (whole) return &call;
    renumbered.push_back(localize(call, sweep.qubits));
    return &renumbered.back();
  };
  struct LocalDerivative {
    CallDerivative::Kind kind;
    std::uint64_t x_mask, z_mask;
    const KernelCall* derivative;
  };
  std::vector<const KernelCall*> local, local_adjoint;
  std::vector<LocalDerivative> local_derivative;
  std::vector<std::size_t> differentiated;  // positions in the sweep
  for (std::size_t pos = 0; pos < sweep.calls.size(); ++pos) {
    const std::size_t i = sweep.calls[pos];
    local.push_back(local_form(calls[i], i));
    local_adjoint.push_back(local_form(adjoints[i], i));
    const CallDerivative& d = derivatives[i];
    LocalDerivative ld{d.kind, 0, 0, nullptr};
    if (d.kind == CallDerivative::Kind::kPauliRotation) {
      if (((d.x_mask | d.z_mask) & ~set) != 0) {
        throw std::invalid_argument("the rotation of call " + std::to_string(i) + " acts outside its sweep's qubits");
      }
      ld.x_mask = localize_mask(d.x_mask, sweep.qubits);
      ld.z_mask = localize_mask(d.z_mask, sweep.qubits);
    } else if (d.kind == CallDerivative::Kind::kSuperoperator) {
      if (kept) {
        throw std::invalid_argument("the derivative of call " + std::to_string(i) +
                                    " needs the state before it, not a derivative point");
      }
      ld.derivative = local_form(d.derivative, i);
    }
    if (d.kind != CallDerivative::Kind::kNone) differentiated.push_back(pos);
    local_derivative.push_back(ld);
  }
  const std::size_t num_diff = differentiated.size();
  // From the state before: ρ is recomputed up to the last differentiated call.
  const std::size_t forward_end = num_diff == 0 || kept ? 0 : differentiated.back() + 1;
  // At kept points: the differentiated calls (by their index in `differentiated`) read at each point.
  std::vector<std::vector<std::size_t>> read_at(kept ? states.points->size() : 0);
  for (std::size_t j = 0, k = 0; kept && j < num_diff; ++j) {
    while (k < read_at.size() && (*states.points)[k] < differentiated[j]) ++k;
    if (k == read_at.size()) throw std::invalid_argument("a rotation after the sweep's last derivative point");
    read_at[k].push_back(j);
  }
  const TileGroups g = tile_groups(sweep.qubits, num_qubits);
  const GroupOrder groups(g, /*hermitian=*/true);
  const int threads = sweep_threads(num_qubits);
  const std::size_t dim = std::size_t{1} << g.b, group_elems = g.num_tiles * g.tile_elems;
  // Per thread: the state's group, the observable's group, the state after (or, for a superoperator
  // derivative, before) every differentiated call of one tile, rotation_tile_gradient's signs and
  // tile_sums' sums and lanes.
  const std::size_t num_saved = kept ? 0 : num_diff;
  const std::size_t per_thread = 2 * group_elems + num_saved * g.tile_elems + 5 * dim;
  if (scratch.size() < per_thread * static_cast<std::size_t>(threads)) scratch.resize(per_thread * threads);
  // Partial sums in fixed chunks of groups, added in chunk order: the gradient does not depend on the
  // number of threads.
  const std::uint64_t chunks = std::min<std::uint64_t>(groups.count, 64);
  std::vector<double> sums(chunks * num_diff, 0.0);
  split_over_threads(chunks, threads, [&](int thread, std::uint64_t first_chunk, std::uint64_t end_chunk) {
    Complex* rho_group = scratch.data() + per_thread * static_cast<std::size_t>(thread);
    Complex* sigma_group = rho_group + group_elems;
    Complex* saved = sigma_group + group_elems;
    double* signs = reinterpret_cast<double*>(saved + num_saved * g.tile_elems);  // 2·dim
    Complex* column_sums = saved + num_saved * g.tile_elems + dim;                // tile_sums' g and h
    Complex* row_sums = column_sums + dim;
    double* row_lanes = reinterpret_cast<double*>(row_sums + dim);                 // 4·dim
    for (std::uint64_t chunk = first_chunk; chunk < end_chunk; ++chunk) {
      double* sum = sums.data() + chunk * num_diff;
      for (std::uint64_t k = groups.count * chunk / chunks; k < groups.count * (chunk + 1) / chunks; ++k) {
        const std::uint64_t group = groups.group(k), base = group_base(g, group);
        const bool mirrored = groups.has_mirror(group);
        // Tr(A B) over a mirrored pair of tiles is twice the real part of one tile's sum.
        const double weight = mirrored ? 2.0 : 1.0;
        const bool hermitian_tile = groups.mirror && !mirrored;
        if (num_diff > 0 && !kept) gather(g, states.before, base, rho_group);
        // Over the whole register the observable is worked on in place.
        Complex* obs_group = whole ? sigma : sigma_group;
        if (!whole) gather(g, sigma, base, sigma_group);
        for (std::size_t t = 0; t < g.num_tiles; ++t) {
          Complex* rho = rho_group + t * g.tile_elems;
          Complex* obs = obs_group + t * g.tile_elems;
          // ρ up to the last differentiated call only; the states the gradient needs go to `saved`,
          // the last one stays in rho.
          const auto state_of = [&](std::size_t j) { return j + 1 == num_diff ? rho : saved + j * g.tile_elems; };
          std::size_t next = 0;
          for (std::size_t pos = 0; pos < forward_end; ++pos) {
            const CallDerivative::Kind kind = local_derivative[pos].kind;
            if (kind == CallDerivative::Kind::kSuperoperator) {
              if (pos + 1 == forward_end) break;  // its state before is the last one kept
              std::copy(rho, rho + g.tile_elems, state_of(next++));
            }
            detail::apply_unchecked(*local[pos], rho, g.b);
            if (kind == CallDerivative::Kind::kPauliRotation && pos + 1 < forward_end) {
              std::copy(rho, rho + g.tile_elems, state_of(next++));
            }
          }
          next = num_diff;
          std::size_t point = read_at.size();
          for (std::size_t pos = local.size(); pos-- > 0;) {
            if (kept && point > 0 && (*states.points)[point - 1] == pos) {  // the rotations read here
              --point;
              const Complex* at = states.kept[point] + (k * g.num_tiles + t) * g.tile_elems;
              bool sums_done = false;  // the diagonal rotations share one pass (tile_sums)
              for (std::size_t j : read_at[point]) {
                const LocalDerivative& d = local_derivative[differentiated[j]];
                if (d.x_mask != 0) {
                  sum[j] += weight * rotation_tile_gradient(at, obs, dim, d.x_mask, d.z_mask, hermitian_tile, signs);
                  continue;
                }
                if (!sums_done) tile_sums(at, obs, dim, hermitian_tile, column_sums, row_sums, row_lanes);
                sums_done = true;
                sum[j] += weight * diagonal_tile_gradient(column_sums, row_sums, dim, d.z_mask, hermitian_tile);
              }
            }
            const LocalDerivative& d = local_derivative[pos];
            if (!kept && d.kind != CallDerivative::Kind::kNone) {
              Complex* state = state_of(--next);
              double value = 0.0;
              if (d.kind == CallDerivative::Kind::kPauliRotation) {
                value = rotation_tile_gradient(state, obs, dim, d.x_mask, d.z_mask, hermitian_tile, signs);
              } else {
                detail::apply_unchecked(*d.derivative, state, g.b);
                value = tile_inner(obs, state, g.tile_elems);
              }
              sum[next] += weight * value;
            }
            detail::apply_unchecked(*local_adjoint[pos], obs, g.b);
          }
        }
        if (!whole) {
          scatter(g, sigma_group, sigma, base, mirrored, mirrored ? group_base(g, groups.mirror_of(group)) : 0);
        }
      }
    }
  });
  for (std::uint64_t chunk = 0; chunk < chunks; ++chunk) {
    for (std::size_t j = 0; j < num_diff; ++j) {
      gradient[sweep.calls[differentiated[j]]] += sums[chunk * num_diff + j];
    }
  }
}

}  // namespace kraus::noise
