// engine::transpile: translated circuits against the dense Kronecker-product unitary of the input
// (equal up to a global phase), the Euler forms gate by gate, routed noiseless circuits against the
// unrouted probabilities after undoing the final layout, coupling of every routed gate, and the
// refusals.
#include <cmath>
#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "kraus/engine/circuit.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/simulator.hpp"
#include "kraus/engine/transpile.hpp"
#include "reference/test_support.hpp"

namespace {

namespace ref = kraus::test;
using kraus::engine::Circuit;
using kraus::engine::CouplingMap;
using kraus::engine::DensityMatrix;
using kraus::engine::Gate;
using kraus::engine::gate_from_name;
using kraus::engine::gate_matrix;
using kraus::engine::gate_table;
using kraus::engine::Operation;
using kraus::engine::OpKind;
using kraus::engine::transpile;
using kraus::engine::TranspileOptions;
using kraus::engine::TranspileResult;
using ref::Complex;

constexpr double kTol = 1e-10;
const double kPi = std::acos(-1.0);
const Complex kI{0.0, 1.0};

// The circuit's unitary as a product of dense embedded gate matrices (barriers skipped).
arma::cx_mat circuit_unitary(const Circuit& c) {
  const arma::uword dim = arma::uword{1} << c.num_qubits();
  arma::cx_mat u(dim, dim, arma::fill::eye);
  for (const Operation& op : c.operations()) {
    if (op.kind == OpKind::kBarrier) continue;
    REQUIRE((op.kind == OpKind::kGate || op.kind == OpKind::kUnitary));
    const arma::cx_mat m = op.kind == OpKind::kUnitary ? op.matrix : gate_matrix(op.gate, op.params);
    u = ref::embed(m, op.qubits, c.num_qubits()) * u;
  }
  return u;
}

// max |a e^{i phi} - b| for the phase phi that best aligns a with b (infinity when they are not
// close to proportional).
double distance_up_to_phase(const arma::cx_mat& a, const arma::cx_mat& b) {
  const Complex overlap = arma::trace(a.t() * b);
  if (std::abs(overlap) < 1e-6) return INFINITY;
  return ref::max_abs_diff(a * (overlap / std::abs(overlap)), b);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no exception";
}

CouplingMap coupling(int num_qubits, std::vector<std::pair<int, int>> edges) {
  CouplingMap map;
  map.num_qubits = num_qubits;
  map.edges = std::move(edges);
  return map;
}

CouplingMap line(int num_qubits) {
  std::vector<std::pair<int, int>> edges;
  for (int q = 0; q + 1 < num_qubits; ++q) edges.emplace_back(q, q + 1);
  return coupling(num_qubits, edges);
}

// IBM lagos (heavy-hex fragment), listed in both directions as devices do.
CouplingMap lagos() {
  std::vector<std::pair<int, int>> edges;
  for (const auto& [a, b] : std::vector<std::pair<int, int>>{{0, 1}, {1, 2}, {1, 3}, {3, 5}, {4, 5}, {5, 6}}) {
    edges.emplace_back(a, b);
    edges.emplace_back(b, a);
  }
  return coupling(7, edges);
}

// IBM guadalupe (16-qubit heavy hex): the coupling_map of tests/data/noise/ibm/conf_guadalupe.json,
// one direction of each edge. Its only cycle is the 12-ring 1-2-3-5-8-11-14-13-12-10-7-4, with the
// leaves 0, 6, 9 and 15 on it.
CouplingMap guadalupe() {
  return coupling(16, {{0, 1}, {1, 2}, {1, 4}, {2, 3}, {3, 5}, {4, 7}, {5, 8}, {6, 7}, {7, 10}, {8, 9}, {8, 11},
                       {10, 12}, {11, 14}, {12, 13}, {12, 15}, {13, 14}});
}

// h on qubit 0, then cx q, q+1 along the chain.
Circuit ghz_chain(int num_qubits) {
  Circuit c(num_qubits);
  c.add_gate(Gate::kH, {0});
  for (int q = 0; q + 1 < num_qubits; ++q) c.add_gate(Gate::kCX, {q, q + 1});
  return c;
}

// h on every qubit, then cx q, q+1 around a ring (the last one cx n-1, 0).
Circuit cx_ring(int num_qubits) {
  Circuit c(num_qubits);
  for (int q = 0; q < num_qubits; ++q) c.add_gate(Gate::kH, {q});
  for (int q = 0; q < num_qubits; ++q) c.add_gate(Gate::kCX, {q, (q + 1) % num_qubits});
  return c;
}

// The fewest SWAPs that run `gates` in the listed order (as they must when each shares a qubit with
// the next) on some connected set of n device qubits, SWAPs acting inside the set as routing's do:
// for every connected set, a 0-1 breadth-first search over (device qubit of each program qubit,
// gates done), from every layout at once. Exhaustive, for small devices only.
int exhaustive_min_swaps(const CouplingMap& map, const std::vector<std::pair<int, int>>& gates, int n) {
  REQUIRE(map.num_qubits <= 20);
  int best = -1;
  for (unsigned mask = 0; mask < (1U << map.num_qubits); ++mask) {
    std::vector<int> set;
    for (int d = 0; d < map.num_qubits; ++d) {
      if ((mask >> d) & 1U) set.push_back(d);
    }
    if (static_cast<int>(set.size()) != n) continue;
    std::vector<std::pair<int, int>> edges;
    for (const auto& [a, b] : map.edges) {
      if (((mask >> a) & 1U) && ((mask >> b) & 1U)) edges.emplace_back(a, b);
    }
    unsigned reached = 1U << set[0];  // connectivity of the set, by growing from its first qubit
    for (bool grew = true; grew;) {
      grew = false;
      for (const auto& [a, b] : edges) {
        if (((reached >> a) & 1U) != ((reached >> b) & 1U)) {
          reached |= (1U << a) | (1U << b);
          grew = true;
        }
      }
    }
    if (reached != mask) continue;
    using State = std::pair<std::vector<int>, std::size_t>;
    std::map<State, int> cost;
    std::deque<State> queue;
    std::vector<int> layout = set;
    do {
      cost[{layout, 0}] = 0;
      queue.push_back({layout, 0});
    } while (std::next_permutation(layout.begin(), layout.end()));
    while (!queue.empty()) {
      const State state = queue.front();
      queue.pop_front();
      const int c = cost[state];
      const auto& [place, done] = state;
      if (done == gates.size()) {
        if (best < 0 || c < best) best = c;
        break;
      }
      const auto relax = [&](State next, int next_cost) {
        const auto it = cost.find(next);
        if (it != cost.end() && it->second <= next_cost) return;
        cost[next] = next_cost;
        if (next_cost == c) {
          queue.push_front(std::move(next));
        } else {
          queue.push_back(std::move(next));
        }
      };
      if (map.coupled(place[gates[done].first], place[gates[done].second])) {
        relax({place, done + 1}, c);
        continue;
      }
      for (const auto& [a, b] : edges) {
        std::vector<int> swapped = place;
        for (int& d : swapped) d = d == a ? b : d == b ? a : d;
        relax({swapped, done}, c + 1);
      }
    }
  }
  return best;
}

// Distinct random qubits.
std::vector<int> random_qubits(int count, int num_qubits, ref::Rng& rng) {
  std::vector<int> all(num_qubits);
  for (int q = 0; q < num_qubits; ++q) all[q] = q;
  std::shuffle(all.begin(), all.end(), rng);
  return std::vector<int>(all.begin(), all.begin() + count);
}

// A parameter: mostly uniform in [-2 pi, 2 pi], sometimes a special angle (0, +-pi/2, pi).
double random_param(ref::Rng& rng) {
  const double specials[] = {0.0, kPi / 2, -kPi / 2, kPi};
  if (std::uniform_int_distribution<int>(0, 4)(rng) == 0) {
    return specials[std::uniform_int_distribution<int>(0, 3)(rng)];
  }
  return std::uniform_real_distribution<double>(-2 * kPi, 2 * kPi)(rng);
}

void add_random_gate(Circuit& c, Gate gate, ref::Rng& rng) {
  const auto& info = gate_table()[static_cast<std::size_t>(gate)];
  std::vector<double> params;
  for (int k = 0; k < info.num_params; ++k) params.push_back(random_param(rng));
  c.add_gate(gate, random_qubits(info.num_qubits, c.num_qubits(), rng), params);
}

// Every gate of the table twice in random order, 1-qubit unitaries, barriers and extra 1- and
// 2-qubit gates.
Circuit random_circuit_of_every_gate(int num_qubits, ref::Rng& rng) {
  std::vector<Gate> gates;
  for (const auto& info : gate_table()) {
    gates.push_back(info.gate);
    gates.push_back(info.gate);
  }
  for (Gate g : {Gate::kH, Gate::kSX, Gate::kCX, Gate::kRZ, Gate::kT, Gate::kCZ, Gate::kU3}) gates.push_back(g);
  std::shuffle(gates.begin(), gates.end(), rng);
  Circuit c(num_qubits);
  for (std::size_t k = 0; k < gates.size(); ++k) {
    add_random_gate(c, gates[k], rng);
    if (k % 9 == 4) c.add_unitary({std::uniform_int_distribution<int>(0, num_qubits - 1)(rng)}, ref::random_unitary(2, rng));
    if (k % 13 == 7) c.add_barrier(random_qubits(2, num_qubits, rng));
  }
  return c;
}

std::set<Gate> resolve(const std::vector<std::string>& basis) {
  std::set<Gate> gates;
  for (const std::string& name : basis) {
    if (const auto g = gate_from_name(name)) gates.insert(*g);
  }
  return gates;
}

// Every gate is in the basis; each run of 1-qubit gates on a qubit has at most 2 sx and at most
// `max_run` gates.
void check_in_basis(const Circuit& c, const std::vector<std::string>& basis, int max_run) {
  const std::set<Gate> gates = resolve(basis);
  std::vector<int> run(c.num_qubits(), 0), sx(c.num_qubits(), 0);
  for (const Operation& op : c.operations()) {
    INFO(op.name());
    if (op.kind != OpKind::kGate) {
      REQUIRE((op.kind == OpKind::kBarrier || op.kind == OpKind::kMeasure || op.kind == OpKind::kReset));
    } else {
      REQUIRE(gates.count(op.gate) == 1);
    }
    if (op.kind == OpKind::kGate && op.qubits.size() == 1 && op.gate != Gate::kI) {
      const int q = op.qubits[0];
      ++run[q];
      sx[q] += op.gate == Gate::kSX;
      REQUIRE(run[q] <= max_run);
      REQUIRE(sx[q] <= 2);
    } else {
      for (int q : op.qubits) run[q] = sx[q] = 0;
    }
  }
}

const std::vector<std::vector<std::string>>& test_bases() {
  static const std::vector<std::vector<std::string>> bases = {
      {"id", "rz", "sx", "x", "cx"}, {"u1", "u2", "u3", "cx"}, {"rz", "sx", "x", "ecr"}, {"rz", "sx", "cz"}};
  return bases;
}

int max_run(const std::vector<std::string>& basis) { return resolve(basis).count(Gate::kU3) ? 1 : 5; }

TranspileResult translate(const Circuit& c, std::vector<std::string> basis) {
  TranspileOptions options;
  options.basis = std::move(basis);
  return transpile(c, options);
}

std::vector<std::string> names(const Circuit& c) {
  std::vector<std::string> out;
  for (const Operation& op : c.operations()) out.push_back(op.name());
  return out;
}

// Program-qubit probabilities of a routed circuit: program qubit v is in slot final[v].
std::vector<double> unpermuted_probabilities(const TranspileResult& r) {
  DensityMatrix rho(r.circuit.num_qubits());
  kraus::engine::simulate(r.circuit, nullptr, rho);
  const std::vector<double> routed = rho.probabilities();
  std::vector<double> program(routed.size());
  const int n = r.circuit.num_qubits();
  for (std::size_t x = 0; x < program.size(); ++x) {
    std::size_t y = 0;
    for (int v = 0; v < n; ++v) {
      if ((x >> v) & 1U) y |= std::size_t{1} << r.layout.final[v];
    }
    program[x] = routed[y];
  }
  return program;
}

std::vector<double> probabilities(const Circuit& c) {
  DensityMatrix rho(c.num_qubits());
  kraus::engine::simulate(c, nullptr, rho);
  return rho.probabilities();
}

// Every 2-qubit gate of the routed circuit acts on coupled device qubits.
void check_coupled(const TranspileResult& r, const CouplingMap& map) {
  for (const Operation& op : r.circuit.operations()) {
    if (op.kind == OpKind::kBarrier || op.qubits.size() < 2) continue;
    REQUIRE(op.qubits.size() == 2);
    REQUIRE(map.coupled(r.layout.physical[op.qubits[0]], r.layout.physical[op.qubits[1]]));
  }
}

}  // namespace

TEST_CASE("transpile: ecr is Qiskit's rzx(pi/4), x on the first qubit, rzx(-pi/4)", "[transpile]") {
  // rzx(t) = cos(t/2) I - i sin(t/2) Z_first X_second; the first qubit is the low Kronecker factor.
  const auto rzx = [](double t) -> arma::cx_mat {
    return std::cos(t / 2) * arma::cx_mat(4, 4, arma::fill::eye) -
           kI * std::sin(t / 2) * arma::kron(ref::pauli('X'), ref::pauli('Z'));
  };
  const arma::cx_mat x_first = arma::kron(ref::pauli('I'), ref::pauli('X'));
  REQUIRE_MATRIX_CLOSE(gate_matrix(Gate::kECR), rzx(-kPi / 4) * x_first * rzx(kPi / 4), 1e-15);
}

TEST_CASE("transpile: random circuits of every gate equal their translation up to global phase", "[transpile]") {
  ref::Rng rng(20261205);
  for (const auto& basis : test_bases()) {
    for (int num_qubits : {3, 4}) {
      for (int trial = 0; trial < 3; ++trial) {
        INFO("basis " << basis[0] << ".. " << basis.back() << ", " << num_qubits << " qubits, trial " << trial);
        const Circuit c = random_circuit_of_every_gate(num_qubits, rng);
        const TranspileResult r = translate(c, basis);
        REQUIRE(r.circuit.num_qubits() == num_qubits);
        REQUIRE(distance_up_to_phase(circuit_unitary(c), circuit_unitary(r.circuit)) < kTol);
        check_in_basis(r.circuit, basis, max_run(basis));
        // The reported counts are the operations' names, counted here.
        for (const auto& [circuit, counts] : {std::make_pair(&c, &r.gate_counts_before),
                                              std::make_pair(&r.circuit, &r.gate_counts_after)}) {
          std::map<std::string, long> by_name;
          for (const auto& op : circuit->operations()) ++by_name[op.name()];
          REQUIRE(*counts == by_name);
        }
        REQUIRE(r.layout.swaps == 0);
        std::vector<int> identity;
        for (int q = 0; q < num_qubits; ++q) identity.push_back(q);
        REQUIRE(r.layout.physical == identity);
        REQUIRE(r.layout.initial == identity);
        REQUIRE(r.layout.final == identity);
      }
    }
  }
}

TEST_CASE("transpile: cx, reversed cx and swap into each 2-qubit basis gate", "[transpile]") {
  for (const auto& basis : test_bases()) {
    const Gate two = *resolve({basis.back()}).begin();
    Circuit c(2);
    c.add_gate(Gate::kCX, {0, 1});
    Circuit reversed(2);
    reversed.add_gate(Gate::kCX, {1, 0});
    Circuit swap(2);
    swap.add_gate(Gate::kSwap, {0, 1});
    for (const auto& [circuit, count] : std::vector<std::pair<Circuit, long>>{{c, 1}, {reversed, 1}, {swap, 3}}) {
      INFO(basis.back() << " for " << circuit.operations()[0].name());
      const TranspileResult r = translate(circuit, basis);
      REQUIRE(distance_up_to_phase(circuit_unitary(circuit), circuit_unitary(r.circuit)) < kTol);
      REQUIRE(r.gate_counts_after.at(std::string(gate_table()[static_cast<std::size_t>(two)].name)) == count);
      check_in_basis(r.circuit, basis, max_run(basis));
    }
  }
}

TEST_CASE("transpile: the Euler forms use the fewest gates for special cases", "[transpile]") {
  const std::vector<std::string> zsx = {"id", "rz", "sx", "x", "cx"};
  const auto single = [](Gate g, std::vector<double> params = {}) {
    Circuit c(1);
    c.add_gate(g, {0}, std::move(params));
    return c;
  };
  // h = rz(pi/2) sx rz(pi/2) up to phase.
  REQUIRE(names(translate(single(Gate::kH), zsx).circuit) == std::vector<std::string>{"rz", "sx", "rz"});
  REQUIRE(names(translate(single(Gate::kSX), zsx).circuit) == std::vector<std::string>{"sx"});
  REQUIRE(names(translate(single(Gate::kSXdg), zsx).circuit) == std::vector<std::string>{"rz", "sx", "rz"});
  REQUIRE(names(translate(single(Gate::kX), zsx).circuit) == std::vector<std::string>{"x"});
  REQUIRE(names(translate(single(Gate::kY), zsx).circuit) == std::vector<std::string>{"x", "rz"});
  REQUIRE(names(translate(single(Gate::kX), {"rz", "sx", "cx"}).circuit) == std::vector<std::string>{"sx", "sx"});
  const TranspileResult t = translate(single(Gate::kT), zsx);
  REQUIRE(names(t.circuit) == std::vector<std::string>{"rz"});
  REQUIRE_CLOSE(t.circuit.operations()[0].params[0], kPi / 4, 1e-14);
  REQUIRE(names(translate(single(Gate::kRX, {0.3}), zsx).circuit) ==
          std::vector<std::string>{"rz", "sx", "rz", "sx", "rz"});
  // rz(2 pi) is -I: dropped.
  REQUIRE(translate(single(Gate::kRZ, {2 * kPi}), zsx).circuit.operations().empty());
  Circuit hh(1);
  hh.add_gate(Gate::kH, {0});
  hh.add_gate(Gate::kH, {0});
  REQUIRE(translate(hh, zsx).circuit.operations().empty());

  // id is kept (between the runs it separates) with id in the basis, dropped otherwise.
  Circuit with_id(1);
  with_id.add_gate(Gate::kT, {0});
  with_id.add_gate(Gate::kI, {0});
  with_id.add_gate(Gate::kT, {0});
  REQUIRE(names(translate(with_id, zsx).circuit) == std::vector<std::string>{"rz", "id", "rz"});
  REQUIRE(names(translate(with_id, {"rz", "sx", "cx"}).circuit) == std::vector<std::string>{"rz"});

  const std::vector<std::string> u = {"u1", "u2", "u3", "cx"};
  REQUIRE(names(translate(single(Gate::kT), u).circuit) == std::vector<std::string>{"p"});
  REQUIRE(names(translate(single(Gate::kH), u).circuit) == std::vector<std::string>{"u2"});
  REQUIRE(names(translate(single(Gate::kRX, {0.3}), u).circuit) == std::vector<std::string>{"u3"});
  REQUIRE(names(translate(single(Gate::kT), {"u", "cx"}).circuit) == std::vector<std::string>{"u3"});
  REQUIRE(names(translate(single(Gate::kH), {"u", "cx"}).circuit) == std::vector<std::string>{"u3"});
  for (const Gate g : {Gate::kT, Gate::kH, Gate::kY}) {
    const Circuit c = single(g);
    for (const auto& basis : {zsx, u, std::vector<std::string>{"u", "cx"}}) {
      REQUIRE(distance_up_to_phase(circuit_unitary(c), circuit_unitary(translate(c, basis).circuit)) < 1e-14);
    }
  }
}

TEST_CASE("transpile: measure, reset and barriers stay and end the runs", "[transpile]") {
  Circuit c(2, 2);
  c.add_gate(Gate::kH, {0});
  c.add_barrier({0, 1});
  c.add_gate(Gate::kH, {0});
  c.add_measure(0, 1);
  c.add_reset(1);
  c.add_gate(Gate::kX, {1});
  c.set_classical_registers({{"a", 1}, {"b", 1}});
  const TranspileResult r = translate(c, {"rz", "sx", "x", "cx", "measure", "reset", "delay"});
  REQUIRE(r.circuit.classical_registers().size() == 2);
  REQUIRE(r.circuit.classical_registers()[1].name == "b");
  REQUIRE(names(r.circuit) ==
          std::vector<std::string>{"rz", "sx", "rz", "barrier", "rz", "sx", "rz", "measure", "reset", "x"});
  REQUIRE(r.circuit.operations()[7].clbit == 1);
  REQUIRE(r.circuit.num_clbits() == 2);
  REQUIRE(r.gate_counts_before.at("h") == 2);
  REQUIRE(r.gate_counts_after.at("sx") == 2);
  REQUIRE(r.gate_counts_after.at("rz") == 4);
}

TEST_CASE("transpile: routed noiseless circuits give the unrouted probabilities", "[transpile]") {
  ref::Rng rng(77);
  const std::vector<std::pair<std::string, CouplingMap>> maps = {
      {"line 5", line(5)}, {"line 7", line(7)}, {"lagos", lagos()}, {"guadalupe", guadalupe()}};
  long total_swaps = 0;
  for (const auto& [map_name, map] : maps) {
    for (int num_qubits : {4, 5, 7}) {
      if (num_qubits > map.num_qubits) continue;
      for (const bool with_basis : {false, true}) {
        INFO(map_name << ", " << num_qubits << " qubits, basis " << with_basis);
        Circuit c(num_qubits, num_qubits);
        for (int k = 0; k < 30; ++k) {
          const int kind = std::uniform_int_distribution<int>(0, 5)(rng);
          if (kind == 0) {
            add_random_gate(c, Gate::kU3, rng);
          } else if (kind == 1) {
            add_random_gate(c, with_basis ? Gate::kCCX : Gate::kH, rng);
          } else {
            add_random_gate(c, kind == 2 ? Gate::kCRY : kind == 3 ? Gate::kRZX : Gate::kCX, rng);
          }
          if (k == 15) c.add_barrier(random_qubits(3, num_qubits, rng));
        }
        for (int v = 0; v < num_qubits; ++v) c.add_measure(v, v);
        TranspileOptions options;
        options.coupling = map;
        options.route = true;
        options.seed = 5;
        if (with_basis) options.basis = {"rz", "sx", "x", "ecr"};
        const TranspileResult r = transpile(c, options);
        REQUIRE(r.circuit.num_qubits() == num_qubits);
        check_coupled(r, map);
        if (with_basis) {
          check_in_basis(r.circuit, {"rz", "sx", "x", "ecr"}, 5);
        } else {
          REQUIRE(r.gate_counts_after.count("swap") == (r.layout.swaps > 0 ? 1 : 0));
          if (r.layout.swaps > 0) REQUIRE(r.gate_counts_after.at("swap") == r.layout.swaps);
        }
        // Final measurements read the slot holding their program qubit at the end.
        for (const Operation& op : r.circuit.operations()) {
          if (op.kind == OpKind::kMeasure) REQUIRE(op.qubits[0] == r.layout.final[op.clbit]);
        }
        const std::vector<double> expected = probabilities(c);
        const std::vector<double> actual = unpermuted_probabilities(r);
        for (std::size_t x = 0; x < expected.size(); ++x) REQUIRE_CLOSE(actual[x], expected[x], kTol);
        total_swaps += r.layout.swaps;
      }
    }
  }
  REQUIRE(total_swaps > 0);  // the test exercised routing
}

TEST_CASE("transpile: routing on random connected devices keeps the probabilities", "[transpile]") {
  ref::Rng rng(2019);
  for (int trial = 0; trial < 12; ++trial) {
    // A random tree on 5-8 device qubits plus a few extra edges, listed in random directions.
    const int device = std::uniform_int_distribution<int>(5, 8)(rng);
    std::vector<std::pair<int, int>> edges;
    for (int q = 1; q < device; ++q) edges.emplace_back(std::uniform_int_distribution<int>(0, q - 1)(rng), q);
    for (int k = 0; k < trial % 3; ++k) {
      const std::vector<int> pair = random_qubits(2, device, rng);
      edges.emplace_back(pair[0], pair[1]);
    }
    for (auto& edge : edges) {
      if (rng() % 2) std::swap(edge.first, edge.second);
    }
    const CouplingMap map = coupling(device, edges);
    Circuit c(5, 5);
    for (int k = 0; k < 25; ++k) {
      add_random_gate(c, k % 4 == 0 ? Gate::kRY : k % 4 == 1 ? Gate::kISwap : Gate::kCX, rng);
      if (k == 12) c.add_measure(2, 0);  // mid-circuit: a channel, routed with the other operations
    }
    for (int v = 0; v < 5; ++v) c.add_measure(v, v);
    TranspileOptions options;
    options.coupling = map;
    options.route = true;
    options.seed = static_cast<std::uint64_t>(trial);
    if (trial % 2) options.basis = {"u1", "u2", "u3", "cz"};
    INFO("trial " << trial << ", " << device << " device qubits");
    const TranspileResult r = transpile(c, options);
    check_coupled(r, map);
    const std::vector<double> expected = probabilities(c);
    const std::vector<double> actual = unpermuted_probabilities(r);
    for (std::size_t x = 0; x < expected.size(); ++x) REQUIRE_CLOSE(actual[x], expected[x], kTol);
  }
}

TEST_CASE("transpile: large routed circuits are the input up to SWAPs, qubit by qubit", "[transpile]") {
  // Undo the SWAPs from the initial layout and compare each program qubit's sequence of operations
  // with the input's (which fixes the dependency graph), on a 5x5 grid.
  std::vector<std::pair<int, int>> edges;
  for (int r = 0; r < 5; ++r) {
    for (int c = 0; c < 5; ++c) {
      if (c + 1 < 5) edges.emplace_back(5 * r + c, 5 * r + c + 1);
      if (r + 1 < 5) edges.emplace_back(5 * r + c, 5 * (r + 1) + c);
    }
  }
  const CouplingMap grid = coupling(25, edges);
  ref::Rng rng(11);
  const int n = 20;
  Circuit c(n, n);
  for (int k = 0; k < 2000; ++k) add_random_gate(c, k % 5 == 0 ? Gate::kRX : k % 5 == 1 ? Gate::kRZZ : Gate::kCX, rng);
  for (int v = 0; v < n; ++v) c.add_measure(v, v);
  using Key = std::tuple<std::string, std::vector<int>, std::vector<double>, int>;
  const auto sequences = [n](const std::vector<Operation>& ops, std::vector<int> p2l) {
    std::vector<std::vector<Key>> per_qubit(n);
    for (const Operation& op : ops) {
      if (op.kind == OpKind::kGate && op.gate == Gate::kSwap) {
        std::swap(p2l[op.qubits[0]], p2l[op.qubits[1]]);
        continue;
      }
      std::vector<int> program;
      for (int s : op.qubits) program.push_back(p2l[s]);
      for (int v : program) per_qubit[v].emplace_back(op.name(), program, op.params, op.clbit);
    }
    return std::make_pair(per_qubit, p2l);
  };
  std::vector<int> identity(n);
  for (int v = 0; v < n; ++v) identity[v] = v;
  const auto expected = sequences(c.operations(), identity).first;
  for (const std::uint64_t seed : {1ULL, 2ULL}) {
    TranspileOptions options;
    options.coupling = grid;
    options.route = true;
    options.seed = seed;
    const TranspileResult r = transpile(c, options);
    check_coupled(r, grid);
    REQUIRE(r.layout.swaps > 0);
    std::vector<int> p2l(n);
    for (int v = 0; v < n; ++v) p2l[r.layout.initial[v]] = v;
    const auto [actual, final_p2l] = sequences(r.circuit.operations(), p2l);
    REQUIRE(actual == expected);
    for (int v = 0; v < n; ++v) REQUIRE(final_p2l[r.layout.final[v]] == v);
  }
}

TEST_CASE("transpile: a GHZ chain on a line map needs no SWAP", "[transpile]") {
  for (int device : {5, 8}) {
    TranspileOptions options;
    options.coupling = line(device);
    options.route = true;
    const TranspileResult r = transpile(ghz_chain(5), options);
    REQUIRE(r.layout.swaps == 0);
    REQUIRE(r.gate_counts_after.count("swap") == 0);
    REQUIRE(r.layout.physical == std::vector<int>{0, 1, 2, 3, 4});
    check_coupled(r, *options.coupling);
  }
}

TEST_CASE("transpile: circuits whose interactions embed in the device need no SWAP (docs/transpile.md)",
          "[transpile]") {
  // On lagos the densest 4 qubits are the star 0, 1, 2, 3, where a chain needs a SWAP; the paths
  // 0-1-3-5 and 0-1-3-5-4 take GHZ-4 and GHZ-5 without one. On guadalupe a chain of 12 and a ring
  // of 12 fit the 12-ring. Two separate pairs and an idle qubit fit anywhere.
  Circuit pairs(5);
  pairs.add_gate(Gate::kCX, {0, 4});
  pairs.add_gate(Gate::kCX, {1, 3});
  pairs.add_gate(Gate::kCX, {4, 0});
  const std::vector<std::tuple<std::string, Circuit, CouplingMap>> cases = {
      {"GHZ-4 on lagos", ghz_chain(4), lagos()},         {"GHZ-5 on lagos", ghz_chain(5), lagos()},
      {"GHZ-5 on guadalupe", ghz_chain(5), guadalupe()}, {"GHZ-12 on guadalupe", ghz_chain(12), guadalupe()},
      {"ring of 12 on guadalupe", cx_ring(12), guadalupe()}, {"pairs on lagos", pairs, lagos()}};
  for (const auto& [name, c, map] : cases) {
    INFO(name);
    TranspileOptions options;
    options.coupling = map;
    options.route = true;
    const TranspileResult r = transpile(c, options);
    REQUIRE(r.layout.swaps == 0);
    REQUIRE(r.gate_counts_after.count("swap") == 0);
    check_coupled(r, map);
    const std::vector<int>& physical = r.layout.physical;
    REQUIRE(std::is_sorted(physical.begin(), physical.end()));
    REQUIRE(std::set<int>(physical.begin(), physical.end()).size() == physical.size());
    if (c.num_qubits() <= 5) {
      const std::vector<double> expected = probabilities(c);
      const std::vector<double> actual = unpermuted_probabilities(r);
      for (std::size_t x = 0; x < expected.size(); ++x) REQUIRE_CLOSE(actual[x], expected[x], kTol);
    }
  }
}

TEST_CASE("transpile: a ring of 6 on guadalupe takes the fewest SWAPs an exhaustive search finds",
          "[transpile]") {
  // Heavy hex has no cycle shorter than 12, so a 6-ring cannot embed: some SWAPs are needed. The
  // exhaustive search over every connected set of 6 qubits and every layout finds the fewest.
  const Circuit c = cx_ring(6);
  std::vector<std::pair<int, int>> gates;
  for (const Operation& op : c.operations()) {
    if (op.qubits.size() == 2) gates.emplace_back(op.qubits[0], op.qubits[1]);
  }
  const int fewest = exhaustive_min_swaps(guadalupe(), gates, 6);
  REQUIRE(fewest == 3);
  // The search finds 0 where the ring fits: the 12-ring of guadalupe, a 2x3 grid for 6.
  REQUIRE(exhaustive_min_swaps(coupling(6, {{0, 1}, {1, 2}, {3, 4}, {4, 5}, {0, 3}, {1, 4}, {2, 5}}), gates, 6) == 0);
  for (const std::uint64_t seed : {1ULL, 2ULL, 3ULL}) {
    TranspileOptions options;
    options.coupling = guadalupe();
    options.route = true;
    options.seed = seed;
    const TranspileResult r = transpile(c, options);
    INFO("seed " << seed);
    REQUIRE(r.layout.swaps == fewest);
    check_coupled(r, *options.coupling);
    const std::vector<double> expected = probabilities(c);
    const std::vector<double> actual = unpermuted_probabilities(r);
    for (std::size_t x = 0; x < expected.size(); ++x) REQUIRE_CLOSE(actual[x], expected[x], kTol);
  }
}

TEST_CASE("transpile: a fully connected circuit on a line needs SWAPs, and the physical qubits are connected",
          "[transpile]") {
  Circuit c(4);
  for (int a = 0; a < 4; ++a) {
    for (int b = 0; b < 4; ++b) {
      if (a != b) c.add_gate(Gate::kCZ, {a, b});
    }
  }
  TranspileOptions options;
  // A star of 3 leaves at 4 and a line 0-1-2-3 elsewhere: the chosen 4 qubits must be connected.
  options.coupling = coupling(9, {{5, 4}, {4, 6}, {4, 7}, {0, 1}, {1, 2}, {2, 3}, {8, 7}});
  options.route = true;
  const TranspileResult r = transpile(c, options);
  REQUIRE(r.layout.swaps > 0);
  check_coupled(r, *options.coupling);
  REQUIRE(r.layout.physical.size() == 4);
  for (std::size_t s = 0; s + 1 < r.layout.physical.size(); ++s) REQUIRE(r.layout.physical[s] < r.layout.physical[s + 1]);
  const std::vector<double> expected = probabilities(c);
  const std::vector<double> actual = unpermuted_probabilities(r);
  for (std::size_t x = 0; x < expected.size(); ++x) REQUIRE_CLOSE(actual[x], expected[x], kTol);
}

TEST_CASE("transpile: routing is deterministic for a seed", "[transpile]") {
  ref::Rng rng(3);
  Circuit c(6);
  for (int k = 0; k < 60; ++k) add_random_gate(c, k % 3 == 0 ? Gate::kRY : Gate::kCX, rng);
  TranspileOptions options;
  options.coupling = lagos();
  options.route = true;
  options.basis = {"id", "rz", "sx", "x", "cx"};
  for (const std::uint64_t seed : {1ULL, 99ULL}) {
    options.seed = seed;
    const TranspileResult a = transpile(c, options);
    const TranspileResult b = transpile(c, options);
    REQUIRE(a.layout.initial == b.layout.initial);
    REQUIRE(a.layout.final == b.layout.final);
    REQUIRE(a.layout.physical == b.layout.physical);
    REQUIRE(a.layout.swaps == b.layout.swaps);
    REQUIRE(a.circuit.operations().size() == b.circuit.operations().size());
    for (std::size_t k = 0; k < a.circuit.operations().size(); ++k) {
      const Operation& x = a.circuit.operations()[k];
      const Operation& y = b.circuit.operations()[k];
      REQUIRE(x.name() == y.name());
      REQUIRE(x.qubits == y.qubits);
      REQUIRE(x.params == y.params);
    }
  }
}

TEST_CASE("transpile: without route the layout is trivial and coupled gates pass", "[transpile]") {
  Circuit c(3);
  c.add_gate(Gate::kCX, {2, 1});
  c.add_gate(Gate::kRZZ, {0, 1}, {0.4});
  TranspileOptions options;
  options.coupling = coupling(4, {{0, 1}, {1, 2}, {2, 3}});
  const TranspileResult r = transpile(c, options);
  REQUIRE(r.layout.physical == std::vector<int>{0, 1, 2});
  REQUIRE(r.layout.initial == std::vector<int>{0, 1, 2});
  REQUIRE(r.layout.final == std::vector<int>{0, 1, 2});
  REQUIRE(names(r.circuit) == std::vector<std::string>{"cx", "rzz"});
}

TEST_CASE("transpile: refusals name the problem", "[transpile]") {
  Circuit cx(4);
  cx.add_gate(Gate::kH, {0});
  cx.add_gate(Gate::kCX, {0, 3});

  REQUIRE(error_of([&] { translate(cx, {"rz", "sx", "foo", "cx"}); }).find("unknown name 'foo'") != std::string::npos);
  REQUIRE(error_of([&] { translate(cx, {"cx", "h"}); }).find("no single-qubit family") != std::string::npos);
  REQUIRE(error_of([&] { translate(cx, {"rz", "sx"}); }) ==
          "the basis rz,sx has no two-qubit gate (cx, cz or ecr), needed by operation 1: cx on qubits 0, 3");
  TranspileOptions bad;
  bad.basis = {"u2", "cx"};
  std::string why;
  REQUIRE_FALSE(bad.IsValid(&why));
  REQUIRE(why.find("no single-qubit family") != std::string::npos);

  TranspileOptions options;
  options.coupling = line(4);
  REQUIRE(options.IsValid(&why));
  REQUIRE(error_of([&] { transpile(cx, options); }) ==
          "operation 1: cx on qubits 0, 3: device qubits 0 and 3 are not coupled (use --route)");
  options.basis = {"rz", "sx", "cx"};
  Circuit rzz(4);
  rzz.add_gate(Gate::kRZZ, {3, 1}, {0.2});
  REQUIRE(error_of([&] { transpile(rzz, options); }) ==
          "operation 0: rzz on qubits 3, 1: device qubits 3 and 1 are not coupled (use --route)");

  options.coupling = line(3);
  REQUIRE(error_of([&] { transpile(cx, options); }) ==
          "the circuit has 4 qubits but the coupling map has only 3 device qubits");

  Circuit toffoli(3);
  toffoli.add_gate(Gate::kCCX, {0, 1, 2});
  options.basis.clear();
  options.route = true;
  REQUIRE(error_of([&] { transpile(toffoli, options); }).find("operation 0: ccx on qubits 0, 1, 2: a coupling map "
                                                              "needs gates on at most 2 qubits") == 0);

  Circuit two_qubit_unitary(2);
  two_qubit_unitary.add_unitary({0, 1}, gate_matrix(Gate::kCX));
  REQUIRE(error_of([&] { translate(two_qubit_unitary, {"rz", "sx", "cx"}); }).find("not supported yet") !=
          std::string::npos);

  options.coupling = coupling(4, {{0, 1}, {2, 3}});
  Circuit three(3);
  three.add_gate(Gate::kCX, {0, 2});
  REQUIRE(error_of([&] { transpile(three, options); }).find("no connected set of 3 device qubits") !=
          std::string::npos);

  REQUIRE(error_of([] { coupling(3, {{0, 1}, {1, 3}}).validate(); }) ==
          "coupling map edge 1 (1-3): device qubit 3 is out of range [0, 2]");
  REQUIRE(error_of([] { coupling(3, {{2, 2}}).validate(); }) ==
          "coupling map edge 0 (2-2): a qubit cannot be coupled to itself");
  REQUIRE(error_of([] { coupling(0, {}).validate(); }) == "a coupling map needs 1 to 1000000 device qubits, got 0");
  REQUIRE(error_of([] { coupling(2000000000, {}).validate(); }) ==
          "a coupling map needs 1 to 1000000 device qubits, got 2000000000");
  options.coupling = coupling(3, {{0, -1}});
  REQUIRE_FALSE(options.IsValid(&why));
  REQUIRE(why == "coupling map edge 0 (0--1): device qubit -1 is out of range [0, 2]");
  REQUIRE(error_of([&] { transpile(toffoli, options); }) == why);
}

TEST_CASE("transpile: coupled() works in both directions", "[transpile]") {
  const CouplingMap map = coupling(3, {{0, 1}, {2, 1}});
  REQUIRE(map.coupled(1, 0));
  REQUIRE(map.coupled(1, 2));
  REQUIRE_FALSE(map.coupled(0, 2));
}

TEST_CASE("transpile: results of a routed circuit read back in program order", "[transpile]") {
  // Program qubit v sits in slot final[v]: 0 -> 2, 1 -> 0, 2 -> 1.
  const std::vector<int> final = {2, 0, 1};
  CHECK(kraus::engine::slot_index(0b011, final) == 0b101);
  CHECK(kraus::engine::slot_index(0b100, final) == 0b010);
  CHECK(kraus::engine::slot_permutation({0, 1, 2}).empty());
  const std::vector<std::uint64_t> perm = kraus::engine::slot_permutation(final);
  REQUIRE(perm.size() == 8);
  // Slot-indexed probabilities with all weight on slot state 0b101 are program state 0b011.
  std::vector<double> slots(8, 0.0);
  slots[0b101] = 1.0;
  const std::vector<double> program = kraus::engine::in_program_order(slots, perm);
  CHECK(program[0b011] == 1.0);
  CHECK(std::count(program.begin(), program.end(), 0.0) == 7);
  CHECK(kraus::engine::in_program_order(slots, {}) == slots);
  // Z on program qubit 0 and X on program qubit 2 act on slots 2 and 1.
  kraus::engine::PauliSum sum;
  sum.terms.emplace_back(0.5, kraus::engine::PauliString::parse("Z0 X2"));
  const kraus::engine::PauliSum moved = kraus::engine::on_slots(sum, final);
  REQUIRE(moved.terms.size() == 1);
  CHECK(moved.terms[0].first == 0.5);
  CHECK(moved.terms[0].second.z_mask == 0b100);
  CHECK(moved.terms[0].second.x_mask == 0b010);
}
