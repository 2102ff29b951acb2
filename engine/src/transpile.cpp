#include "kraus/engine/transpile.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <deque>
#include <functional>
#include <map>
#include <queue>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>

namespace kraus::engine {
namespace {

using cx = std::complex<double>;
constexpr cx kI{0.0, 1.0};
const double kPi = std::acos(-1.0);
// Angles closer than this to a special value (0, pi/2, pi mod 2 pi) take the special form; the
// error this introduces is of the same size, far below what the tests check (1e-10).
constexpr double kAngleTol = 1e-12;

// SABRE's parameters (Li, Ding, Xie, ASPLOS 2019, section 4): extended-set size and weight, decay
// increment and the number of SWAPs after which the decay is reset.
constexpr std::size_t kExtendedSetSize = 20;
constexpr double kExtendedSetWeight = 0.5;
constexpr double kDecayIncrement = 0.001;
constexpr int kDecayResetInterval = 5;
// The extended-set search visits at most this many operations (long runs of 1-qubit gates).
constexpr std::size_t kExtendedSearchLimit = 1000;
// Seeded random initial layouts tried besides the trivial one.
constexpr int kRandomLayoutTrials = 4;
// Candidate sets of device qubits routed at most (the first is the densest set), and placements
// grown along the circuit's interactions among them (docs/transpile.md).
constexpr std::size_t kMaxCandidates = 32;
constexpr std::size_t kMaxPlacements = 16;
// The largest device a coupling map may describe (its per-qubit tables are allocated up front).
constexpr int kMaxDeviceQubits = 1000000;
// One routing pass inserts at most this many SWAPs before it gives up.
constexpr long kMaxSwapsPerPass = 1000000;

// The resolved target basis.
struct Basis {
  bool zsx = false;  // {rz, sx} family; otherwise {u3}
  bool has_x = false, has_id = false, has_p = false, has_u2 = false;
  std::optional<Gate> two_qubit;  // cx, cz or ecr
  std::string text;               // the names as given, for messages
};

// An operation being transpiled and the index of the input operation it came from.
struct Item {
  Operation op;
  int origin = -1;
};
// A deque: appending never copies the operations already there.
using Items = std::deque<Item>;

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ",") + n;
  return s;
}

std::string qubit_list(const std::vector<int>& qubits) {
  std::string s;
  for (int q : qubits) s += (s.empty() ? "" : ", ") + std::to_string(q);
  return s;
}

// "operation 3: cx on qubits 0, 1"
std::string describe(const Operation& op, int index) {
  return "operation " + std::to_string(index) + ": " + op.name() + " on qubit" +
         (op.qubits.size() == 1 ? " " : "s ") + qubit_list(op.qubits);
}

std::optional<Basis> resolve_basis(const std::vector<std::string>& names, std::string* why) {
  Basis basis;
  basis.text = join(names);
  std::set<Gate> gates;
  for (const std::string& name : names) {
    if (const std::optional<Gate> g = gate_from_name(name)) {
      gates.insert(*g);
    } else if (name != "measure" && name != "reset" && name != "delay" && name != "barrier") {
      *why = "unknown name '" + name + "' in the basis " + basis.text +
             " (gate names of the table, their aliases, measure, reset, delay and barrier are accepted)";
      return std::nullopt;
    }
  }
  const auto has = [&gates](Gate g) { return gates.count(g) > 0; };
  if (has(Gate::kRZ) && has(Gate::kSX)) {
    basis.zsx = true;
  } else if (!has(Gate::kU3)) {
    *why = "the basis " + basis.text +
           " has no single-qubit family: it needs rz and sx (x, id optional), or u3 / u (u1/p, u2 optional)";
    return std::nullopt;
  }
  basis.has_x = has(Gate::kX);
  basis.has_id = has(Gate::kI);
  basis.has_p = has(Gate::kP);
  basis.has_u2 = has(Gate::kU2);
  for (Gate g : {Gate::kCX, Gate::kCZ, Gate::kECR}) {
    if (has(g)) {
      basis.two_qubit = g;
      break;
    }
  }
  return basis;
}

// ---- 1-qubit algebra ------------------------------------------------------------------------------

// u = e^{i alpha} Rz(phi) Ry(theta) Rz(lambda) exactly, theta in [0, pi].
struct Zyz {
  double alpha, theta, phi, lambda;
};

Zyz zyz(const arma::cx_mat& u) {
  const cx det = u(0, 0) * u(1, 1) - u(0, 1) * u(1, 0);
  const double alpha = std::arg(det) / 2;
  const arma::cx_mat v = u * std::exp(-kI * alpha);  // in SU(2): [[a, -conj(b)], [b, conj(a)]]
  // v(1,1) = e^{i(phi+lambda)/2} cos(theta/2), v(1,0) = e^{i(phi-lambda)/2} sin(theta/2).
  const double theta = 2 * std::atan2(std::abs(v(1, 0)), std::abs(v(1, 1)));
  const double half_sum = std::arg(v(1, 1)), half_diff = std::arg(v(1, 0));
  return {alpha, theta, half_sum + half_diff, half_sum - half_diff};
}

// The angle in (-pi, pi].
double wrap(double angle) {
  double a = std::remainder(angle, 2 * kPi);
  if (a <= -kPi) a += 2 * kPi;
  return a;
}

bool near(double angle, double target) { return std::abs(wrap(angle - target)) < kAngleTol; }

// Appends operations to a list, each tagged with the current origin (the input operation).
class Emitter {
 public:
  explicit Emitter(Items* out) : out_(out) {}

  int origin = -1;

  void gate(Gate g, std::vector<int> qubits, std::vector<double> params = {}) {
    Item item;
    item.op.kind = OpKind::kGate;
    item.op.gate = g;
    item.op.qubits = std::move(qubits);
    item.op.params = std::move(params);
    item.origin = origin;
    out_->push_back(std::move(item));
  }
  void copy(const Operation& op) { out_->push_back({op, origin}); }
  // rz, dropped when it is the identity up to phase.
  void rz(int q, double angle) {
    if (!near(angle, 0)) gate(Gate::kRZ, {q}, {wrap(angle)});
  }

 private:
  Items* out_;
};

// Controlled-u (control a, target b) with two cx (Nielsen and Chuang, corollary 4.2):
// u = e^{i alpha} A X B X C with ABC = I.
void controlled_u(int a, int b, const arma::cx_mat& u, Emitter& e) {
  const Zyz z = zyz(u);
  e.gate(Gate::kRZ, {b}, {(z.lambda - z.phi) / 2});           // C
  e.gate(Gate::kCX, {a, b});
  e.gate(Gate::kRZ, {b}, {-(z.lambda + z.phi) / 2});          // B = Ry(-theta/2) Rz(-(lambda+phi)/2)
  e.gate(Gate::kRY, {b}, {-z.theta / 2});
  e.gate(Gate::kCX, {a, b});
  e.gate(Gate::kRY, {b}, {z.theta / 2});                      // A = Rz(phi) Ry(theta/2)
  e.gate(Gate::kRZ, {b}, {z.phi});
  e.gate(Gate::kP, {a}, {z.alpha});
}

void rzz(int a, int b, double theta, Emitter& e) {
  e.gate(Gate::kCX, {a, b});
  e.gate(Gate::kRZ, {b}, {theta});
  e.gate(Gate::kCX, {a, b});
}

void ccx(int a, int b, int c, Emitter& e) {
  const double t = kPi / 4;
  e.gate(Gate::kH, {c});
  e.gate(Gate::kCX, {b, c});
  e.gate(Gate::kP, {c}, {-t});
  e.gate(Gate::kCX, {a, c});
  e.gate(Gate::kP, {c}, {t});
  e.gate(Gate::kCX, {b, c});
  e.gate(Gate::kP, {c}, {-t});
  e.gate(Gate::kCX, {a, c});
  e.gate(Gate::kP, {b}, {t});
  e.gate(Gate::kP, {c}, {t});
  e.gate(Gate::kH, {c});
  e.gate(Gate::kCX, {a, b});
  e.gate(Gate::kP, {a}, {t});
  e.gate(Gate::kP, {b}, {-t});
  e.gate(Gate::kCX, {a, b});
}

// Rewrites one operation into 1-qubit operations, cx and the basis's own 2-qubit gate (kept as is),
// exactly up to a global phase. `id` stays only when the basis has it.
void decompose(const Operation& op, int index, const Basis& basis, Emitter& e) {
  if (op.kind == OpKind::kUnitary && op.qubits.size() > 1) {
    throw std::invalid_argument(describe(op, index) + ": translating a unitary on " +
                                std::to_string(op.qubits.size()) +
                                " qubits into a basis is not supported yet (only 1-qubit unitaries)");
  }
  if (op.kind != OpKind::kGate || op.qubits.size() == 1) {
    if (!(op.kind == OpKind::kGate && op.gate == Gate::kI && !basis.has_id)) e.copy(op);
    return;
  }
  if (!basis.two_qubit) {
    throw std::invalid_argument("the basis " + basis.text + " has no two-qubit gate (cx, cz or ecr), needed by " +
                                describe(op, index));
  }
  if (op.gate == *basis.two_qubit) {
    e.copy(op);
    return;
  }
  const std::vector<int>& q = op.qubits;
  const int a = q[0], b = q[1];
  const std::vector<double>& p = op.params;
  switch (op.gate) {
    case Gate::kCX: e.gate(Gate::kCX, {a, b}); return;
    case Gate::kCZ:
      e.gate(Gate::kH, {b});
      e.gate(Gate::kCX, {a, b});
      e.gate(Gate::kH, {b});
      return;
    case Gate::kCY:  // Y = S X S^dagger
      e.gate(Gate::kSdg, {b});
      e.gate(Gate::kCX, {a, b});
      e.gate(Gate::kS, {b});
      return;
    case Gate::kCH:  // H = Ry(-pi/4) X Ry(pi/4)
      e.gate(Gate::kRY, {b}, {kPi / 4});
      e.gate(Gate::kCX, {a, b});
      e.gate(Gate::kRY, {b}, {-kPi / 4});
      return;
    case Gate::kSwap:
      e.gate(Gate::kCX, {a, b});
      e.gate(Gate::kCX, {b, a});
      e.gate(Gate::kCX, {a, b});
      return;
    case Gate::kISwap:  // Qiskit's definition
      e.gate(Gate::kS, {a});
      e.gate(Gate::kS, {b});
      e.gate(Gate::kH, {a});
      e.gate(Gate::kCX, {a, b});
      e.gate(Gate::kCX, {b, a});
      e.gate(Gate::kH, {b});
      return;
    case Gate::kCRX: controlled_u(a, b, gate_matrix(Gate::kRX, p), e); return;
    case Gate::kCRY: controlled_u(a, b, gate_matrix(Gate::kRY, p), e); return;
    case Gate::kCRZ: controlled_u(a, b, gate_matrix(Gate::kRZ, p), e); return;
    case Gate::kCP: controlled_u(a, b, gate_matrix(Gate::kP, p), e); return;
    case Gate::kCU3: controlled_u(a, b, gate_matrix(Gate::kU3, p), e); return;
    case Gate::kCU: controlled_u(a, b, std::exp(kI * p[3]) * gate_matrix(Gate::kU3, {p[0], p[1], p[2]}), e); return;
    case Gate::kRZZ: rzz(a, b, p[0], e); return;
    case Gate::kRXX:  // H Z H = X on both qubits
      e.gate(Gate::kH, {a});
      e.gate(Gate::kH, {b});
      rzz(a, b, p[0], e);
      e.gate(Gate::kH, {a});
      e.gate(Gate::kH, {b});
      return;
    case Gate::kRYY:  // Rx(-pi/2) Z Rx(pi/2) = -Y on both qubits
      e.gate(Gate::kRX, {a}, {kPi / 2});
      e.gate(Gate::kRX, {b}, {kPi / 2});
      rzz(a, b, p[0], e);
      e.gate(Gate::kRX, {a}, {-kPi / 2});
      e.gate(Gate::kRX, {b}, {-kPi / 2});
      return;
    case Gate::kRZX:  // Z on a, X on b
      e.gate(Gate::kH, {b});
      rzz(a, b, p[0], e);
      e.gate(Gate::kH, {b});
      return;
    case Gate::kECR:  // ecr = rzx(-pi/2) X_a = Rz_a(-pi/2) Rx_b(-pi/2) CX X_a up to phase
      e.gate(Gate::kX, {a});
      e.gate(Gate::kCX, {a, b});
      e.gate(Gate::kRZ, {a}, {-kPi / 2});
      e.gate(Gate::kRX, {b}, {-kPi / 2});
      return;
    case Gate::kCCX: ccx(a, b, q[2], e); return;
    case Gate::kCSwap:
      e.gate(Gate::kCX, {q[2], b});
      ccx(a, b, q[2], e);
      e.gate(Gate::kCX, {q[2], b});
      return;
    default: break;
  }
  throw std::logic_error("transpile: no decomposition for " + op.name());
}

// cx and swap into the basis's 2-qubit gate (other operations unchanged).
void lower_two_qubit(const Operation& op, Gate two_qubit, Emitter& e) {
  if (op.kind != OpKind::kGate || (op.gate != Gate::kCX && op.gate != Gate::kSwap)) {
    e.copy(op);
    return;
  }
  const int a = op.qubits[0], b = op.qubits[1];
  const auto cx_gate = [&e, two_qubit](int c, int t) {
    switch (two_qubit) {
      case Gate::kCZ:  // cx = (I (x) H) cz (I (x) H)
        e.gate(Gate::kH, {t});
        e.gate(Gate::kCZ, {c, t});
        e.gate(Gate::kH, {t});
        return;
      case Gate::kECR:  // cx = Rz_c(pi/2) Rx_t(pi/2) ecr X_c up to phase
        e.gate(Gate::kX, {c});
        e.gate(Gate::kECR, {c, t});
        e.gate(Gate::kRZ, {c}, {kPi / 2});
        e.gate(Gate::kRX, {t}, {kPi / 2});
        return;
      default: e.gate(Gate::kCX, {c, t}); return;
    }
  };
  if (op.gate == Gate::kSwap) {
    cx_gate(a, b);
    cx_gate(b, a);
    cx_gate(a, b);
  } else {
    cx_gate(a, b);
  }
}

// One 2x2 unitary (up to phase) in the basis's Euler form.
void emit_euler(int q, const arma::cx_mat& u, const Basis& basis, Emitter& e) {
  Zyz z = zyz(u);
  if (std::abs(z.theta - kPi) < kAngleTol) {  // Rz(phi) Ry(pi) Rz(lambda) = Rz(phi - lambda) Ry(pi)
    z.phi -= z.lambda;
    z.lambda = 0;
  }
  if (basis.zsx) {
    if (z.theta < kAngleTol) {
      e.rz(q, z.phi + z.lambda);
    } else if (std::abs(z.theta - kPi / 2) < kAngleTol) {
      e.rz(q, z.lambda - kPi / 2);
      e.gate(Gate::kSX, {q});
      e.rz(q, z.phi + kPi / 2);
    } else if (basis.has_x && std::abs(z.theta - kPi) < kAngleTol) {
      e.gate(Gate::kX, {q});
      e.rz(q, z.phi - z.lambda - kPi);
    } else {
      e.rz(q, z.lambda);
      e.gate(Gate::kSX, {q});
      e.rz(q, z.theta + kPi);
      e.gate(Gate::kSX, {q});
      e.rz(q, z.phi + kPi);
    }
    return;
  }
  if (z.theta < kAngleTol) {
    const double angle = z.phi + z.lambda;
    if (near(angle, 0)) return;
    if (basis.has_p) {
      e.gate(Gate::kP, {q}, {wrap(angle)});
    } else {
      e.gate(Gate::kU3, {q}, {0.0, 0.0, wrap(angle)});
    }
  } else if (basis.has_u2 && std::abs(z.theta - kPi / 2) < kAngleTol) {
    e.gate(Gate::kU2, {q}, {wrap(z.phi), wrap(z.lambda)});
  } else {
    e.gate(Gate::kU3, {q}, {z.theta, wrap(z.phi), wrap(z.lambda)});
  }
}

// Merges every maximal run of 1-qubit gates and unitaries on a qubit into its Euler form; kept id
// gates, multi-qubit gates, measure, reset and barriers end the runs on their qubits.
Items merge_runs(const Items& items, int num_qubits, const Basis& basis) {
  Items out;
  Emitter e(&out);
  std::vector<arma::cx_mat> pending(num_qubits);
  const auto flush = [&](int q) {
    if (pending[q].is_empty()) return;
    emit_euler(q, pending[q], basis, e);
    pending[q].reset();
  };
  for (const Item& item : items) {
    const Operation& op = item.op;
    const bool one_qubit_gate = op.qubits.size() == 1 &&
                                ((op.kind == OpKind::kGate && op.gate != Gate::kI) || op.kind == OpKind::kUnitary);
    if (one_qubit_gate) {
      const int q = op.qubits[0];
      const arma::cx_mat m = op.kind == OpKind::kUnitary ? op.matrix : gate_matrix(op.gate, op.params);
      pending[q] = pending[q].is_empty() ? m : arma::cx_mat(m * pending[q]);
      continue;
    }
    for (int q : op.qubits) flush(q);
    out.push_back(item);
  }
  for (int q = 0; q < num_qubits; ++q) flush(q);
  return out;
}

// ---- layout and routing ---------------------------------------------------------------------------

// Deduplicated neighbour lists of the device.
std::vector<std::vector<int>> adjacency(const CouplingMap& map) {
  std::vector<std::vector<int>> adj(map.num_qubits);
  for (const auto& [a, b] : map.edges) {
    adj[a].push_back(b);
    adj[b].push_back(a);
  }
  for (auto& list : adj) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
  }
  return adj;
}

// Gates on each pair of program qubits: partners[v] lists (u, number of 2-qubit gates on v and u).
using Interactions = std::vector<std::vector<std::pair<int, long>>>;

Interactions interactions(const Items& items, int n) {
  std::map<std::pair<int, int>, long> pairs;
  for (const Item& item : items) {
    const Operation& op = item.op;
    if (op.qubits.size() != 2 || (op.kind != OpKind::kGate && op.kind != OpKind::kUnitary)) continue;
    ++pairs[{std::min(op.qubits[0], op.qubits[1]), std::max(op.qubits[0], op.qubits[1])}];
  }
  Interactions partners(n);
  for (const auto& [pair, count] : pairs) {
    partners[pair.first].emplace_back(pair.second, count);
    partners[pair.second].emplace_back(pair.first, count);
  }
  for (auto& list : partners) std::sort(list.begin(), list.end());
  return partners;
}

// Grows a connected set of n device qubits from a start qubit, each step adding the neighbour with
// the most edges into the set (ties: lowest index). The tables are kept between calls.
class DenseGrower {
 public:
  explicit DenseGrower(const std::vector<std::vector<int>>& adj)
      : adj_(adj), links_(adj.size(), 0), in_set_(adj.size(), 0) {}

  // The set (in order of addition) and its number of internal edges in *edges; empty when the start
  // qubit's component has fewer than n qubits.
  std::vector<int> grow(int start, int n, long* edges) {
    std::vector<int> set = {start}, frontier;
    *edges = 0;
    in_set_[start] = 1;
    const auto add_neighbours = [&](int v) {
      for (int w : adj_[v]) {
        if (in_set_[w]) continue;
        if (links_[w]++ == 0) frontier.push_back(w);
      }
    };
    add_neighbours(start);
    while (static_cast<int>(set.size()) < n && !frontier.empty()) {
      std::size_t pick = 0;
      for (std::size_t k = 1; k < frontier.size(); ++k) {
        const int w = frontier[k], c = frontier[pick];
        if (links_[w] > links_[c] || (links_[w] == links_[c] && w < c)) pick = k;
      }
      const int v = frontier[pick];
      frontier.erase(frontier.begin() + static_cast<std::ptrdiff_t>(pick));
      *edges += links_[v];
      links_[v] = 0;
      in_set_[v] = 1;
      set.push_back(v);
      add_neighbours(v);
    }
    for (int v : set) in_set_[v] = 0;
    for (int w : frontier) links_[w] = 0;
    if (static_cast<int>(set.size()) < n) set.clear();
    return set;
  }

 private:
  const std::vector<std::vector<int>>& adj_;
  std::vector<int> links_;     // edges into the set, for qubits outside it
  std::vector<char> in_set_;
};

// Places the program qubits one by one on device qubits grown from a start qubit, following the
// circuit's interactions (a greedy subgraph embedding: when the interaction graph embeds this way,
// no gate needs a SWAP). The next program qubit is the unplaced one with the most gates to placed
// ones (ties: the most gates in all, then the lowest index); the first goes on the start qubit. Each
// later one goes on a free device qubit next to the qubits used so far, the best by, in turn: the
// most gates to placed partners on its neighbours; the shortest distance, through the used qubits,
// to its placed partner with the most gates (lowest index on a tie); enough free neighbours for its
// unplaced partners, with the fewest to spare (or, without enough, the fewest missing); the lowest
// index. The tables are kept between calls.
class Placer {
 public:
  Placer(const std::vector<std::vector<int>>& adj, const Interactions& partners)
      : adj_(adj), partners_(partners), used_by_(adj.size(), -1), distance_(adj.size(), -1) {}

  // placement[v]: the device qubit of program qubit v; *embedded: the 2-qubit gates whose qubits
  // are coupled there. Empty when the start qubit's component has fewer than n qubits.
  std::vector<int> place(int start, long* embedded) {
    const int n = static_cast<int>(partners_.size());
    std::vector<int> placement(n, -1), used, unplaced_partners(n);
    std::vector<long> to_placed(n, 0), total(n, 0), weight_to_v(n, 0);
    for (int v = 0; v < n; ++v) {
      unplaced_partners[v] = static_cast<int>(partners_[v].size());
      for (const auto& [u, w] : partners_[v]) total[v] += w;
    }
    for (int step = 0; step < n; ++step) {
      int v = -1;
      for (int u = 0; u < n; ++u) {
        if (placement[u] >= 0) continue;
        if (v < 0 || to_placed[u] > to_placed[v] || (to_placed[u] == to_placed[v] && total[u] > total[v])) v = u;
      }
      int device = start;
      if (step > 0) {
        device = next_device(v, start, placement, unplaced_partners[v], weight_to_v);
        if (device < 0) break;
      }
      placement[v] = device;
      used_by_[device] = v;
      used.push_back(device);
      for (const auto& [u, w] : partners_[v]) {
        to_placed[u] += w;
        --unplaced_partners[u];
      }
    }
    for (int d : used) used_by_[d] = -1;
    if (static_cast<int>(used.size()) < n) return {};
    *embedded = 0;
    for (int v = 0; v < n; ++v) {
      const std::vector<int>& near = adj_[placement[v]];
      for (const auto& [u, w] : partners_[v]) {
        if (u > v && std::binary_search(near.begin(), near.end(), placement[u])) *embedded += w;
      }
    }
    return placement;
  }

 private:
  // The device qubit for program qubit v (see the class comment), or -1 when no free qubit borders
  // the used ones.
  int next_device(int v, int start, const std::vector<int>& placement, int needed, std::vector<long>& weight_to_v) {
    int heaviest = -1;
    for (const auto& [u, w] : partners_[v]) {
      if (placement[u] < 0) continue;
      weight_to_v[u] = w;
      if (heaviest < 0 || w > weight_to_v[heaviest]) heaviest = u;
    }
    // Breadth first from the heaviest partner (or the start) through the used qubits: the free
    // qubits reached are the candidates, with their distance.
    const int root = heaviest >= 0 ? placement[heaviest] : start;
    std::vector<int> queue = {root}, free;
    distance_[root] = 0;
    for (std::size_t head = 0; head < queue.size(); ++head) {
      for (int d : adj_[queue[head]]) {
        if (distance_[d] >= 0) continue;
        distance_[d] = distance_[queue[head]] + 1;
        (used_by_[d] >= 0 ? queue : free).push_back(d);
      }
    }
    using Key = std::tuple<long, int, bool, int, int>;
    int best = -1;
    Key best_key{};
    for (int c : free) {
      long adjacent_weight = 0;
      int free_neighbours = 0;
      for (int d : adj_[c]) {
        if (used_by_[d] >= 0) {
          adjacent_weight += weight_to_v[used_by_[d]];
        } else {
          ++free_neighbours;
        }
      }
      const int spare = free_neighbours - needed;
      const Key key{-adjacent_weight, heaviest >= 0 ? distance_[c] : 0, spare < 0, std::abs(spare), c};
      if (best < 0 || key < best_key) {
        best = c;
        best_key = key;
      }
    }
    for (int d : queue) distance_[d] = -1;
    for (int d : free) distance_[d] = -1;
    for (const auto& [u, w] : partners_[v]) weight_to_v[u] = 0;
    return best;
  }

  const std::vector<std::vector<int>>& adj_;
  const Interactions& partners_;
  std::vector<int> used_by_;    // program qubit on each device qubit, -1 when free
  std::vector<int> distance_;   // breadth-first distances, -1 when not reached
};

// A connected set of device qubits to route on.
struct Candidate {
  std::vector<int> physical;   // ascending
  std::vector<int> placement;  // empty, or the device qubit of each program qubit: a first layout to try
};

// The candidate sets of n device qubits, in the order they are routed (docs/transpile.md): the set
// with the most internal edges that the dense growth finds (ties: lowest start qubit); then up to
// kMaxPlacements placements by the most gates on coupled qubits (ties: lowest start qubit), a
// placement whose set is already listed joining that set when it has none; then the other dense
// sets by the most internal edges (ties: lowest start qubit); duplicates skipped, kMaxCandidates in all.
std::vector<Candidate> choose_candidates(const std::vector<std::vector<int>>& adj, const Interactions& partners,
                                         int n) {
  const int device = static_cast<int>(adj.size());
  DenseGrower grower(adj);
  Placer placer(adj, partners);
  std::vector<std::pair<long, int>> dense, placements;  // (-score, start) for the starts that give n qubits
  for (int start = 0; start < device; ++start) {
    long score = 0;
    if (!grower.grow(start, n, &score).empty()) dense.emplace_back(-score, start);
    if (!placer.place(start, &score).empty()) placements.emplace_back(-score, start);
  }
  if (dense.empty()) {
    throw std::invalid_argument("the coupling map has no connected set of " + std::to_string(n) +
                                " device qubits for the circuit's " + std::to_string(n) + " qubits");
  }
  std::sort(dense.begin(), dense.end());
  std::sort(placements.begin(), placements.end());
  std::vector<Candidate> candidates;
  const auto find = [&candidates](const std::vector<int>& physical) {
    for (Candidate& c : candidates) {
      if (c.physical == physical) return &c;
    }
    return static_cast<Candidate*>(nullptr);
  };
  const auto add_dense = [&](int start) {
    long edges = 0;
    std::vector<int> set = grower.grow(start, n, &edges);
    std::sort(set.begin(), set.end());
    if (!find(set)) candidates.push_back({std::move(set), {}});
  };
  add_dense(dense[0].second);
  for (std::size_t k = 0; k < placements.size() && k < kMaxPlacements; ++k) {
    long embedded = 0;
    std::vector<int> placement = placer.place(placements[k].second, &embedded);
    std::vector<int> set = placement;
    std::sort(set.begin(), set.end());
    if (Candidate* c = find(set)) {
      if (c->placement.empty()) c->placement = std::move(placement);
    } else {
      candidates.push_back({std::move(set), std::move(placement)});
    }
  }
  for (std::size_t k = 1; k < dense.size() && candidates.size() < kMaxCandidates; ++k) add_dense(dense[k].second);
  return candidates;
}

// The dependency graph of the operations: each depends on the previous one on any of its qubits or
// its classical bit. Operations whose qubits must be adjacent: 2-qubit gates and unitaries.
struct Dag {
  std::vector<std::vector<int>> successors;
  std::vector<int> num_predecessors;
  std::vector<char> needs_adjacency;
};

Dag build_dag(const Items& items, int num_qubits, int num_clbits) {
  const int count = static_cast<int>(items.size());
  Dag dag;
  dag.successors.resize(count);
  dag.num_predecessors.assign(count, 0);
  dag.needs_adjacency.assign(count, 0);
  std::vector<int> last_on_qubit(num_qubits, -1), last_on_clbit(num_clbits, -1);
  for (int i = 0; i < count; ++i) {
    const Operation& op = items[i].op;
    dag.needs_adjacency[i] = op.qubits.size() == 2 && (op.kind == OpKind::kGate || op.kind == OpKind::kUnitary);
    std::vector<int> preds;
    for (int q : op.qubits) {
      if (last_on_qubit[q] >= 0) preds.push_back(last_on_qubit[q]);
      last_on_qubit[q] = i;
    }
    if (op.kind == OpKind::kMeasure) {
      if (last_on_clbit[op.clbit] >= 0) preds.push_back(last_on_clbit[op.clbit]);
      last_on_clbit[op.clbit] = i;
    }
    std::sort(preds.begin(), preds.end());
    preds.erase(std::unique(preds.begin(), preds.end()), preds.end());
    for (int p : preds) dag.successors[p].push_back(i);
    dag.num_predecessors[i] = static_cast<int>(preds.size());
  }
  return dag;
}

// One SABRE pass over `items` (program qubits) on the slot graph, from the layout l2p (program qubit
// -> slot), which it leaves at the final layout. Appends the routed operations (on slots) and SWAPs
// to *out when out is not null; returns the number of SWAPs.
class Router {
 public:
  Router(const std::vector<std::vector<int>>& neighbours, const std::vector<std::vector<int>>& distance)
      : neighbours_(neighbours), distance_(distance) {}

  long pass(const Items& items, const Dag& dag, std::vector<int>& l2p, std::mt19937_64& rng,
            Items* out) const {
    const int n = static_cast<int>(l2p.size());
    std::vector<int> p2l(n);
    for (int v = 0; v < n; ++v) p2l[l2p[v]] = v;
    std::vector<int> preds = dag.num_predecessors;
    std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
    for (int i = 0; i < static_cast<int>(items.size()); ++i) {
      if (preds[i] == 0) ready.push(i);
    }
    std::vector<int> front;
    std::vector<double> decay(n, 1.0);
    std::vector<int> seen(items.size(), -1);  // stamp of the last extended-set search that visited a node
    long swaps = 0;
    int swaps_since_progress = 0, swaps_since_reset = 0, stamp = 0;
    const auto dist = [&](int node) {
      const Operation& op = items[node].op;
      return distance_[l2p[op.qubits[0]]][l2p[op.qubits[1]]];
    };
    const auto do_swap = [&](int a, int b) {
      const int va = p2l[a], vb = p2l[b];
      std::swap(p2l[a], p2l[b]);
      l2p[va] = b;
      l2p[vb] = a;
      if (out) {
        Item item;
        item.op.kind = OpKind::kGate;
        item.op.gate = Gate::kSwap;
        item.op.qubits = {a, b};
        out->push_back(std::move(item));
      }
      if (++swaps > kMaxSwapsPerPass) {
        throw std::runtime_error("routing stopped after " + std::to_string(kMaxSwapsPerPass) +
                                 " SWAPs in one pass (step limit): the circuit is too large to route");
      }
    };
    while (true) {
      // Execute everything executable, in operation order among the ready ones.
      bool progress = false;
      for (int node : front) ready.push(node);
      front.clear();
      while (!ready.empty()) {
        const int node = ready.top();
        ready.pop();
        if (dag.needs_adjacency[node] && dist(node) != 1) {
          front.push_back(node);
          continue;
        }
        progress = true;
        if (out) {
          Item item = items[node];
          for (int& q : item.op.qubits) q = l2p[q];
          out->push_back(std::move(item));
        }
        for (int s : dag.successors[node]) {
          if (--preds[s] == 0) ready.push(s);
        }
      }
      if (front.empty()) return swaps;
      if (progress) {
        std::fill(decay.begin(), decay.end(), 1.0);
        swaps_since_progress = swaps_since_reset = 0;
      }
      if (swaps_since_progress >= 10 * n) {
        // Release valve: bring the closest front gate together along a shortest path.
        int node = front[0];
        for (int f : front) {
          if (dist(f) < dist(node) || (dist(f) == dist(node) && f < node)) node = f;
        }
        const Operation& op = items[node].op;
        while (dist(node) > 1) {
          const int from = l2p[op.qubits[0]], to = l2p[op.qubits[1]];
          for (int next : neighbours_[from]) {
            if (distance_[next][to] < distance_[from][to]) {
              do_swap(from, next);
              break;
            }
          }
        }
        swaps_since_progress = 0;
        continue;
      }
      // The extended set: the next 2-qubit operations after the front layer, breadth first.
      ++stamp;
      std::vector<int> extended, queue;
      for (int f : front) {
        seen[f] = stamp;
        queue.push_back(f);
      }
      for (std::size_t head = 0;
           head < queue.size() && extended.size() < kExtendedSetSize && queue.size() < kExtendedSearchLimit; ++head) {
        for (int s : dag.successors[queue[head]]) {
          if (seen[s] == stamp) continue;
          seen[s] = stamp;
          queue.push_back(s);
          if (dag.needs_adjacency[s] && extended.size() < kExtendedSetSize) extended.push_back(s);
        }
      }
      // Candidate SWAPs: every edge at a qubit of a front gate.
      std::vector<std::pair<int, int>> candidates;
      for (int f : front) {
        for (int v : items[f].op.qubits) {
          const int s = l2p[v];
          for (int t : neighbours_[s]) candidates.emplace_back(std::min(s, t), std::max(s, t));
        }
      }
      std::sort(candidates.begin(), candidates.end());
      candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
      double best = 0;
      std::vector<std::pair<int, int>> ties;
      for (const auto& [a, b] : candidates) {
        const int va = p2l[a], vb = p2l[b];
        l2p[va] = b;
        l2p[vb] = a;
        double front_cost = 0, extended_cost = 0;
        for (int f : front) front_cost += dist(f);
        for (int x : extended) extended_cost += dist(x);
        l2p[va] = a;
        l2p[vb] = b;
        double score = front_cost / static_cast<double>(front.size());
        if (!extended.empty()) score += kExtendedSetWeight * extended_cost / static_cast<double>(extended.size());
        score *= std::max(decay[a], decay[b]);
        const double tol = 1e-12 * std::max(1.0, std::abs(best));
        if (ties.empty() || score < best - tol) {
          best = score;
          ties.assign(1, {a, b});
        } else if (std::abs(score - best) <= tol) {
          ties.emplace_back(a, b);
        }
      }
      const auto [a, b] = ties[rng() % ties.size()];
      do_swap(a, b);
      decay[a] += kDecayIncrement;
      decay[b] += kDecayIncrement;
      ++swaps_since_progress;
      if (++swaps_since_reset == kDecayResetInterval) {
        std::fill(decay.begin(), decay.end(), 1.0);
        swaps_since_reset = 0;
      }
    }
  }

 private:
  const std::vector<std::vector<int>>& neighbours_;
  const std::vector<std::vector<int>>& distance_;
};

// Places the program qubits on a connected set of device qubits and routes the circuit with SABRE.
// Final measurements (no later operation on their qubit but barriers, no later routed measurement
// into their bit) are routed last, on the final layout, so that no SWAP moves a measured qubit.
Items route(const Items& all_items, int num_qubits, int num_clbits, const CouplingMap& map,
                        std::uint64_t seed, Layout* layout) {
  const int n = num_qubits;
  Items items, final_measures;
  {
    std::vector<char> is_final(all_items.size(), 0), qubit_busy(n, 0), clbit_busy(num_clbits, 0);
    for (std::size_t i = all_items.size(); i-- > 0;) {
      const Operation& op = all_items[i].op;
      if (op.kind == OpKind::kBarrier) continue;
      if (op.kind == OpKind::kMeasure) {
        is_final[i] = !qubit_busy[op.qubits[0]] && !clbit_busy[op.clbit];
        if (!is_final[i]) clbit_busy[op.clbit] = 1;
      }
      for (int q : op.qubits) qubit_busy[q] = 1;
    }
    for (std::size_t i = 0; i < all_items.size(); ++i) (is_final[i] ? final_measures : items).push_back(all_items[i]);
  }
  const Dag forward = build_dag(items, n, num_clbits);
  const Items reversed_items(items.rbegin(), items.rend());
  const Dag backward = build_dag(reversed_items, n, num_clbits);
  const std::vector<std::vector<int>> adj = adjacency(map);
  std::vector<int> trivial(n), slot_of(map.num_qubits, -1);
  for (int v = 0; v < n; ++v) trivial[v] = v;
  Items best_out;
  long best_swaps = -1;
  // Every candidate set runs the same seeded trials; the fewest SWAPs win, the earlier candidate and
  // trial on a tie. Nothing beats 0 SWAPs: the search stops there.
  for (const Candidate& candidate : choose_candidates(adj, interactions(items, n), n)) {
    const std::vector<int>& physical = candidate.physical;
    for (int s = 0; s < n; ++s) slot_of[physical[s]] = s;
    std::vector<std::vector<int>> neighbours(n);  // ascending, as physical and adj are
    for (int s = 0; s < n; ++s) {
      for (int d : adj[physical[s]]) {
        if (slot_of[d] >= 0) neighbours[s].push_back(slot_of[d]);
      }
    }
    std::vector<std::vector<int>> distance(n, std::vector<int>(n, -1));
    for (int s = 0; s < n; ++s) {
      std::vector<int> queue = {s};
      distance[s][s] = 0;
      for (std::size_t head = 0; head < queue.size(); ++head) {
        for (int t : neighbours[queue[head]]) {
          if (distance[s][t] < 0) {
            distance[s][t] = distance[s][queue[head]] + 1;
            queue.push_back(t);
          }
        }
      }
    }
    const Router router(neighbours, distance);
    // One trial: from the layout l2p, improved by a forward and a backward pass when `improve`, then
    // the final forward pass.
    const auto trial = [&](std::vector<int> l2p, std::mt19937_64 rng, bool improve) {
      if (improve) {
        router.pass(items, forward, l2p, rng, nullptr);
        router.pass(reversed_items, backward, l2p, rng, nullptr);
      }
      const std::vector<int> initial = l2p;
      Items out;
      const long swaps = router.pass(items, forward, l2p, rng, &out);
      if (best_swaps < 0 || swaps < best_swaps) {
        best_swaps = swaps;
        best_out = std::move(out);
        layout->physical = physical;
        layout->initial = initial;
        layout->final = l2p;
      }
    };
    // The trivial layout, one forward pass (a circuit that fits needs no SWAP); the placement, if any,
    // one forward pass with the same seed; then the trivial layout and kRandomLayoutTrials seeded
    // random layouts, each improved by a forward and a backward pass.
    std::mt19937_64 master(seed);
    const std::mt19937_64 first(master());
    trial(trivial, first, false);
    if (!candidate.placement.empty() && best_swaps != 0) {
      std::vector<int> l2p(n);
      for (int v = 0; v < n; ++v) l2p[v] = slot_of[candidate.placement[v]];
      trial(l2p, first, false);
    }
    for (int k = 0; k <= kRandomLayoutTrials && best_swaps != 0; ++k) {
      std::mt19937_64 rng(master());
      std::vector<int> l2p = trivial;
      if (k > 0) {
        for (int j = n - 1; j > 0; --j) {  // Fisher-Yates with our own modulo (portable across libraries)
          std::swap(l2p[j], l2p[rng() % static_cast<std::uint64_t>(j + 1)]);
        }
      }
      trial(l2p, rng, true);
    }
    for (int s = 0; s < n; ++s) slot_of[physical[s]] = -1;
    if (best_swaps == 0) break;
  }
  layout->swaps = static_cast<int>(best_swaps);
  for (Item& item : final_measures) {
    item.op.qubits[0] = layout->final[item.op.qubits[0]];
    best_out.push_back(std::move(item));
  }
  return best_out;
}

std::map<std::string, long> count_gates(const std::vector<Operation>& ops) {
  std::map<std::string, long> counts;
  for (const Operation& op : ops) ++counts[op.name()];
  return counts;
}

}  // namespace

bool CouplingMap::coupled(int a, int b) const {
  for (const auto& [x, y] : edges) {
    if ((x == a && y == b) || (x == b && y == a)) return true;
  }
  return false;
}

void CouplingMap::validate() const {
  if (num_qubits < 1 || num_qubits > kMaxDeviceQubits) {
    throw std::invalid_argument("a coupling map needs 1 to " + std::to_string(kMaxDeviceQubits) +
                                " device qubits, got " + std::to_string(num_qubits));
  }
  for (std::size_t k = 0; k < edges.size(); ++k) {
    const auto [a, b] = edges[k];
    const std::string edge = "coupling map edge " + std::to_string(k) + " (" + std::to_string(a) + "-" +
                             std::to_string(b) + "): ";
    for (int q : {a, b}) {
      if (q < 0 || q >= num_qubits) {
        throw std::invalid_argument(edge + "device qubit " + std::to_string(q) + " is out of range [0, " +
                                    std::to_string(num_qubits - 1) + "]");
      }
    }
    if (a == b) throw std::invalid_argument(edge + "a qubit cannot be coupled to itself");
  }
}

bool TranspileOptions::IsValid(std::string* why) const {
  std::string reason;
  if (!basis.empty() && !resolve_basis(basis, &reason)) {
    if (why) *why = reason;
    return false;
  }
  if (coupling) {
    try {
      coupling->validate();
    } catch (const std::invalid_argument& e) {
      if (why) *why = e.what();
      return false;
    }
  }
  return true;
}

TranspileResult transpile(const Circuit& circuit, const TranspileOptions& options) {
  std::string why;
  if (!options.IsValid(&why)) throw std::invalid_argument(why);
  if (circuit.is_parametrized() || circuit.has_channels()) {
    throw std::invalid_argument("transpile: the circuit has parametrised angles or explicit channels; bind the "
                                "parameters first (Circuit::bind) and leave channels to the noise model");
  }
  // Decomposition and routing would have to carry every condition onto the gates they emit.
  if (circuit.has_conditions()) throw std::invalid_argument("transpile: classical control (if) is not supported yet");
  const int n = circuit.num_qubits();
  const std::vector<Operation>& ops = circuit.operations();
  std::optional<Basis> basis;
  if (!options.basis.empty()) basis = resolve_basis(options.basis, &why);

  Items items;
  Emitter emitter(&items);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    emitter.origin = static_cast<int>(i);
    if (basis) {
      decompose(ops[i], emitter.origin, *basis, emitter);
    } else {
      emitter.copy(ops[i]);
    }
  }

  Layout layout;
  layout.physical.resize(n);
  for (int v = 0; v < n; ++v) layout.physical[v] = v;
  layout.initial = layout.final = layout.physical;
  if (options.coupling) {
    const CouplingMap& map = *options.coupling;
    if (n > map.num_qubits) {
      throw std::invalid_argument("the circuit has " + std::to_string(n) + " qubits but the coupling map has only " +
                                  std::to_string(map.num_qubits) + " device qubits");
    }
    for (const Item& item : items) {
      if (item.op.qubits.size() > 2 && item.op.kind != OpKind::kBarrier) {
        throw std::invalid_argument(describe(ops[item.origin], item.origin) +
                                    ": a coupling map needs gates on at most 2 qubits (give a basis to decompose it)");
      }
    }
    if (options.route) {
      items = route(items, n, circuit.num_clbits(), map, options.seed, &layout);
    } else {
      std::vector<std::vector<char>> coupled(n, std::vector<char>(n, 0));
      for (const auto& [a, b] : map.edges) {
        if (a < n && b < n) coupled[a][b] = coupled[b][a] = 1;
      }
      for (const Item& item : items) {
        const std::vector<int>& q = item.op.qubits;
        if (item.op.kind == OpKind::kBarrier || q.size() != 2 || coupled[q[0]][q[1]]) continue;
        throw std::invalid_argument(describe(ops[item.origin], item.origin) + ": device qubits " +
                                    std::to_string(q[0]) + " and " + std::to_string(q[1]) +
                                    " are not coupled (use --route)");
      }
    }
  }

  if (basis) {
    if (basis->two_qubit) {  // without one, translation has refused every multi-qubit gate
      Items lowered;
      Emitter lower(&lowered);
      for (const Item& item : items) lower_two_qubit(item.op, *basis->two_qubit, lower);
      items = std::move(lowered);
    }
    items = merge_runs(items, n, *basis);
  }

  TranspileResult result{Circuit(n, circuit.num_clbits()), std::move(layout), count_gates(ops), {}};
  result.circuit.set_classical_registers(circuit.classical_registers());
  result.circuit.reserve(items.size());
  for (const Item& item : items) {
    result.circuit.add(item.op);
  }
  result.gate_counts_after = count_gates(result.circuit.operations());
  return result;
}

std::uint64_t slot_index(std::uint64_t x, const std::vector<int>& final) {
  std::uint64_t y = 0;
  for (std::size_t v = 0; v < final.size(); ++v) {
    if ((x >> v) & 1) y |= std::uint64_t{1} << final[v];
  }
  return y;
}

std::vector<std::uint64_t> slot_permutation(const std::vector<int>& final) {
  bool identity = true;
  for (std::size_t v = 0; v < final.size(); ++v) identity = identity && final[v] == static_cast<int>(v);
  if (identity) return {};
  std::vector<std::uint64_t> perm(std::uint64_t{1} << final.size());
  for (std::uint64_t x = 0; x < perm.size(); ++x) perm[x] = slot_index(x, final);
  return perm;
}

PauliSum on_slots(const PauliSum& sum, const std::vector<int>& final) {
  PauliSum out;
  for (const auto& [c, p] : sum.terms) {
    out.terms.emplace_back(c, PauliString{slot_index(p.x_mask, final), slot_index(p.z_mask, final)});
  }
  return out;
}

std::vector<double> in_program_order(const std::vector<double>& slots, const std::vector<std::uint64_t>& perm) {
  if (perm.empty()) return slots;
  std::vector<double> out(slots.size());
  for (std::size_t x = 0; x < out.size(); ++x) out[x] = slots[perm[x]];
  return out;
}

}  // namespace kraus::engine
