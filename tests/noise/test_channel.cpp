// kraus::noise::Channel and the standard channel table against independent references: every
// standard channel's Kraus operators are written out here (not taken from the library), applied by
// the dense Kronecker-product reference, and compared with apply_channel on every target (and every
// ordered pair) of 3- and 4-qubit states; the representations (Kraus, superoperator, Choi, PTM) are
// converted and applied to the same state on random CPTP maps built from random isometries.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "kraus/noise/channel.hpp"
#include "kraus/noise/channel_table.hpp"
#include "kraus/noise/kernels.hpp"
#include "kraus/noise/matrix.hpp"
#include "reference/noise_support.hpp"
#include "reference/test_support.hpp"

namespace {

using kraus::test::to_arma;

namespace ref = kraus::test;
namespace noise = kraus::noise;
using ref::Complex;

constexpr double kTol = 1e-12;
const Complex kI{0.0, 1.0};
const double kPi = std::acos(-1.0);

// ---- conversions between the library's small matrix and Armadillo (element by element) ----------

noise::Matrix from_arma(const arma::cx_mat& a) {
  noise::Matrix m(static_cast<int>(a.n_rows), static_cast<int>(a.n_cols));
  for (arma::uword r = 0; r < a.n_rows; ++r)
    for (arma::uword c = 0; c < a.n_cols; ++c) m(static_cast<int>(r), static_cast<int>(c)) = a(r, c);
  return m;
}

std::vector<arma::cx_mat> to_arma(const std::vector<noise::Matrix>& ms) {
  std::vector<arma::cx_mat> out;
  for (const noise::Matrix& m : ms) out.push_back(to_arma(m));
  return out;
}

std::vector<noise::Matrix> from_arma(const std::vector<arma::cx_mat>& ms) {
  std::vector<noise::Matrix> out;
  for (const arma::cx_mat& m : ms) out.push_back(from_arma(m));
  return out;
}

// The Kraus operators of a channel one after another, row-major (for apply_kraus).
std::vector<Complex> flat_kraus(const noise::Channel& c) {
  std::vector<Complex> out;
  for (const noise::Matrix& k : c.kraus()) out.insert(out.end(), k.data(), k.data() + k.rows() * k.cols());
  return out;
}

double uniform(ref::Rng& rng, double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); }

arma::cx_mat eye(arma::uword d) { return arma::cx_mat(d, d, arma::fill::eye); }

// The Pauli string with base-4 digit q of `index` (0 = I, 1 = X, 2 = Y, 3 = Z) on qubit q, built from
// the reference's Kronecker products.
arma::cx_mat pauli_op(int index, int k) {
  std::string labels(static_cast<std::size_t>(k), 'I');
  for (int q = 0; q < k; ++q) labels[static_cast<std::size_t>(q)] = "IXYZ"[(index >> (2 * q)) & 3];
  return ref::pauli_string_operator(labels);
}

arma::cx_mat mat2(Complex a, Complex b, Complex c, Complex d) {
  arma::cx_mat m(2, 2);
  m(0, 0) = a;
  m(0, 1) = b;
  m(1, 0) = c;
  m(1, 1) = d;
  return m;
}

double min_eigenvalue(const arma::cx_mat& rho) {
  const arma::cx_mat h = 0.5 * (rho + rho.t());
  return arma::eig_sym(h).min();
}

// E(rho) of a k-qubit channel given by Kraus operators, on a k-qubit rho.
arma::cx_mat evolve(const std::vector<arma::cx_mat>& ops, const arma::cx_mat& rho) {
  arma::cx_mat out(arma::size(rho), arma::fill::zeros);
  for (const arma::cx_mat& k : ops) out += k * rho * k.t();
  return out;
}

noise::ChannelSpec make_spec(const std::string& type, std::map<std::string, double> params) {
  noise::ChannelSpec s;
  s.type = type;
  s.params = std::move(params);
  return s;
}

// ---- the reference cases: one list per channel type, Kraus operators written out here ------------

struct Case {
  std::string label;
  noise::ChannelSpec spec;                      // built through the table, as a noise model does
  int arity = 1;                                // qubits the channel acts on
  std::function<noise::Channel()> direct;       // the direct builder of channel_table.hpp
  std::vector<arma::cx_mat> kraus;              // written-out Kraus operators, or
  arma::cx_mat superop;                         // the defining action as a superoperator (when no Kraus)
  bool identity = false;                        // zero strength: the channel must be the identity
};

arma::cx_mat reference_superop(const Case& c) {
  return c.kraus.empty() ? c.superop : ref::superoperator_from_kraus(c.kraus);
}

std::vector<arma::cx_mat> depolarizing_1q(double p) {
  return {std::sqrt(1 - p) * ref::pauli('I'), std::sqrt(p / 3) * ref::pauli('X'), std::sqrt(p / 3) * ref::pauli('Y'),
          std::sqrt(p / 3) * ref::pauli('Z')};
}

std::vector<arma::cx_mat> depolarizing_2q(double p) {
  std::vector<arma::cx_mat> ops = {std::sqrt(1 - p) * eye(4)};
  const std::string paulis = "IXYZ";
  for (char a : paulis)
    for (char b : paulis) {
      if (a == 'I' && b == 'I') continue;
      ops.push_back(std::sqrt(p / 15) * ref::pauli_string_operator(std::string{a, b}));
    }
  return ops;
}

std::vector<arma::cx_mat> depolarizing_3q(double p) {
  std::vector<arma::cx_mat> ops = {std::sqrt(1 - p) * eye(8)};
  const std::string paulis = "IXYZ";
  for (char a : paulis)
    for (char b : paulis)
      for (char c : paulis) {
        if (a == 'I' && b == 'I' && c == 'I') continue;
        ops.push_back(std::sqrt(p / 63) * ref::pauli_string_operator(std::string{a, b, c}));
      }
  return ops;
}

// Thermal relaxation, T2 <= T1, in Qiskit Aer's closed form: a mixture of I, Z, reset to |0> and
// reset to |1> (qiskit_aer/noise/errors/standard_errors.py, thermal_relaxation_error).
std::vector<arma::cx_mat> thermal_aer_closed_form(double t1, double t2, double t, double e) {
  const double p_reset = 1 - std::exp(-t / t1);
  const double p_z = (1 - p_reset) * (1 - std::exp(-t * (1 / t2 - 1 / t1))) / 2;
  const double p_reset0 = (1 - e) * p_reset, p_reset1 = e * p_reset;
  const double p_id = 1 - p_z - p_reset0 - p_reset1;
  return {std::sqrt(p_id) * ref::pauli('I'),         std::sqrt(p_z) * ref::pauli('Z'),
          std::sqrt(p_reset0) * mat2(1, 0, 0, 0),     std::sqrt(p_reset0) * mat2(0, 1, 0, 0),
          std::sqrt(p_reset1) * mat2(0, 0, 1, 0),     std::sqrt(p_reset1) * mat2(0, 0, 0, 1)};
}

// Thermal relaxation by its defining action, as a superoperator on vec(B) = (B00, B10, B01, B11):
// E(|0><0|) = (1 - e pr)|0><0| + e pr |1><1|, E(|1><1|) = (1-e) pr |0><0| + (1 - (1-e) pr) |1><1|,
// E(|0><1|) = exp(-t/T2) |0><1|.
arma::cx_mat thermal_defining_superop(double t1, double t2, double t, double e) {
  const double pr = 1 - std::exp(-t / t1), c = std::exp(-t / t2);
  arma::cx_mat s(4, 4, arma::fill::zeros);
  s(0, 0) = 1 - e * pr;
  s(3, 0) = e * pr;
  s(0, 3) = (1 - e) * pr;
  s(3, 3) = 1 - (1 - e) * pr;
  s(1, 1) = c;
  s(2, 2) = c;
  return s;
}

std::vector<Case> reference_cases(const std::string& type, ref::Rng& rng) {
  std::vector<Case> cases;
  const arma::cx_mat I = ref::pauli('I'), X = ref::pauli('X'), Y = ref::pauli('Y'), Z = ref::pauli('Z');
  if (type == "depolarizing") {
    for (double p : {0.0, 0.05, uniform(rng, 0, 1), 0.75, 1.0}) {
      cases.push_back({"1q p=" + std::to_string(p), make_spec(type, {{"p", p}}), 1,
                       [p] { return noise::depolarizing(1, p); }, depolarizing_1q(p), {}, p == 0.0});
      cases.push_back({"2q p=" + std::to_string(p), make_spec(type, {{"p", p}}), 2,
                       [p] { return noise::depolarizing(2, p); }, depolarizing_2q(p), {}, p == 0.0});
    }
    for (double p : {0.0, 0.3, 1.0}) {
      cases.push_back({"3q p=" + std::to_string(p), make_spec(type, {{"p", p}}), 3,
                       [p] { return noise::depolarizing(3, p); }, depolarizing_3q(p), {}, p == 0.0});
    }
  } else if (type == "amplitude_damping") {
    for (double g : {0.0, 0.3, uniform(rng, 0, 1), 1.0}) {
      cases.push_back({"gamma=" + std::to_string(g), make_spec(type, {{"gamma", g}}), 1,
                       [g] { return noise::amplitude_damping(g); },
                       {mat2(1, 0, 0, std::sqrt(1 - g)), mat2(0, std::sqrt(g), 0, 0)}, {}, g == 0.0});
    }
  } else if (type == "generalized_amplitude_damping") {
    for (auto [g, e] : std::vector<std::pair<double, double>>{{0.0, 0.3}, {0.25, 0.0}, {0.4, 0.3}, {0.7, 1.0}, {1.0, 0.6}}) {
      const double a = std::sqrt(1 - e), b = std::sqrt(e);
      cases.push_back({"gamma=" + std::to_string(g) + " e=" + std::to_string(e),
                       make_spec(type, {{"gamma", g}, {"excited_population", e}}), 1,
                       [g = g, e = e] { return noise::generalized_amplitude_damping(g, e); },
                       {a * mat2(1, 0, 0, std::sqrt(1 - g)), a * mat2(0, std::sqrt(g), 0, 0),
                        b * mat2(std::sqrt(1 - g), 0, 0, 1), b * mat2(0, 0, std::sqrt(g), 0)},
                       {}, g == 0.0});
    }
  } else if (type == "phase_damping") {
    for (double l : {0.0, 0.2, uniform(rng, 0, 1), 1.0}) {
      cases.push_back({"lambda=" + std::to_string(l), make_spec(type, {{"lambda", l}}), 1,
                       [l] { return noise::phase_damping(l); },
                       {mat2(1, 0, 0, std::sqrt(1 - l)), mat2(0, 0, 0, std::sqrt(l))}, {}, l == 0.0});
    }
  } else if (type == "bit_flip" || type == "phase_flip" || type == "bit_phase_flip") {
    const arma::cx_mat P = type == "bit_flip" ? X : type == "phase_flip" ? Z : Y;
    for (double p : {0.0, 0.1, uniform(rng, 0, 1), 1.0}) {
      std::function<noise::Channel()> direct = [type, p] {
        return type == "bit_flip" ? noise::bit_flip(p) : type == "phase_flip" ? noise::phase_flip(p) : noise::bit_phase_flip(p);
      };
      cases.push_back({"p=" + std::to_string(p), make_spec(type, {{"p", p}}), 1, direct,
                       {std::sqrt(1 - p) * I, std::sqrt(p) * P}, {}, p == 0.0});
    }
  } else if (type == "pauli") {
    auto pauli_case = [&](const std::map<std::string, double>& probs, bool identity) {
      noise::ChannelSpec s = make_spec(type, {});
      s.pauli_probabilities = probs;
      const int k = static_cast<int>(probs.begin()->first.size());
      double total = 0;
      std::vector<arma::cx_mat> ops;
      for (const auto& [label, p] : probs) {
        total += p;
        // Character j acts on the j-th qubit: pauli_string_operator puts labels[q] on qubit q.
        ops.push_back(std::sqrt(p) * ref::pauli_string_operator(label));
      }
      ops.push_back(std::sqrt(1 - total) * eye(arma::uword{1} << k));
      std::string label;
      for (const auto& [l, p] : probs) label += l + "=" + std::to_string(p) + " ";
      cases.push_back({label, s, k, [probs] { return noise::pauli_channel(probs); }, ops, {}, identity});
    };
    pauli_case({{"X", 0.1}, {"Y", 0.2}, {"Z", 0.3}}, false);
    pauli_case({{"Y", 0.45}}, false);
    pauli_case({{"Z", 1.0}}, false);
    pauli_case({{"X", 0.0}}, true);
    pauli_case({{"XZ", 0.1}, {"IY", 0.05}, {"ZZ", 0.2}, {"YI", 0.15}}, false);
    pauli_case({{"XI", 0.3}, {"IZ", 0.2}}, false);
    pauli_case({{"ZX", 0.0}, {"YY", 0.0}}, true);
    pauli_case({{"XYZ", 0.1}, {"ZIX", 0.2}, {"IIY", 0.05}}, false);
  } else if (type == "thermal_relaxation") {
    struct T {
      double t1, t2, time, e;
    };
    // T2 <= T1: Aer's closed form.
    for (const T& t : {T{50, 30, 10, 0}, T{40, 40, 25, 0}, T{100, 5, 3, 0}, T{60, 20, 15, 0.2}, T{80, 80, 0, 0}}) {
      cases.push_back({"aer closed form t1=" + std::to_string(t.t1) + " t2=" + std::to_string(t.t2) +
                           " time=" + std::to_string(t.time) + " e=" + std::to_string(t.e),
                       make_spec(type, {{"t1", t.t1}, {"t2", t.t2}, {"time", t.time}, {"excited_population", t.e}}), 1,
                       [t] { return noise::thermal_relaxation(t.t1, t.t2, t.time, t.e); },
                       thermal_aer_closed_form(t.t1, t.t2, t.time, t.e), {}, t.time == 0.0});
    }
    // T2 > T1 (up to 2 T1) and the T2 <= T1 cases again: the defining action.
    for (const T& t : {T{30, 50, 12, 0}, T{30, 60, 40, 0.35}, T{20, 39, 100, 0.9}, T{50, 30, 10, 0.1}}) {
      cases.push_back({"defining action t1=" + std::to_string(t.t1) + " t2=" + std::to_string(t.t2) +
                           " time=" + std::to_string(t.time) + " e=" + std::to_string(t.e),
                       make_spec(type, {{"t1", t.t1}, {"t2", t.t2}, {"time", t.time}, {"excited_population", t.e}}), 1,
                       [t] { return noise::thermal_relaxation(t.t1, t.t2, t.time, t.e); }, {},
                       thermal_defining_superop(t.t1, t.t2, t.time, t.e), false});
    }
    // excited_population defaults to 0.
    cases.push_back({"default e", make_spec(type, {{"t1", 70}, {"t2", 50}, {"time", 20}}), 1,
                     [] { return noise::thermal_relaxation(70, 50, 20); }, thermal_aer_closed_form(70, 50, 20, 0), {},
                     false});
  } else if (type == "reset") {
    for (auto [p0, p1] : std::vector<std::pair<double, double>>{{0, 0}, {0.2, 0.3}, {1, 0}, {0, 1}, {0.5, 0.5}, {0.05, 0}}) {
      cases.push_back({"p0=" + std::to_string(p0) + " p1=" + std::to_string(p1), make_spec(type, {{"p0", p0}, {"p1", p1}}), 1,
                       [p0 = p0, p1 = p1] { return noise::reset_channel(p0, p1); },
                       {std::sqrt(1 - p0 - p1) * I, std::sqrt(p0) * mat2(1, 0, 0, 0), std::sqrt(p0) * mat2(0, 1, 0, 0),
                        std::sqrt(p1) * mat2(0, 0, 1, 0), std::sqrt(p1) * mat2(0, 0, 0, 1)},
                       {}, p0 == 0 && p1 == 0});
    }
  } else if (type == "coherent_overrotation") {
    for (char axis : {'x', 'y', 'z'}) {
      const arma::cx_mat P = axis == 'x' ? X : axis == 'y' ? Y : Z;
      for (double angle : {0.0, 0.3, -1.2, kPi, uniform(rng, -10, 10)}) {
        noise::ChannelSpec s = make_spec(type, {{"angle", angle}});
        s.axis = std::string(1, axis);
        // exp(-i angle P / 2) = cos(angle/2) I - i sin(angle/2) P.
        const arma::cx_mat u = std::cos(angle / 2) * I - kI * std::sin(angle / 2) * P;
        cases.push_back({std::string("axis ") + axis + " angle=" + std::to_string(angle), s, 1,
                         [axis, angle] { return noise::coherent_overrotation(axis, angle); }, {u}, {}, angle == 0.0});
      }
    }
  } else if (type == "tensor") {
    // Amplitude damping on the first qubit, a phase flip on the second: products B_j (x) A_i, the
    // second factor's operator as the more significant part.
    for (auto [g, p] : std::vector<std::pair<double, double>>{{0.0, 0.0}, {0.3, 0.2}, {1.0, 0.5}}) {
      noise::ChannelSpec s = make_spec(type, {});
      s.factors = {make_spec("amplitude_damping", {{"gamma", g}}), make_spec("phase_flip", {{"p", p}})};
      const std::vector<arma::cx_mat> a = {mat2(1, 0, 0, std::sqrt(1 - g)), mat2(0, std::sqrt(g), 0, 0)};
      const std::vector<arma::cx_mat> b = {std::sqrt(1 - p) * I, std::sqrt(p) * Z};
      std::vector<arma::cx_mat> ops;
      for (const arma::cx_mat& bj : b)
        for (const arma::cx_mat& ai : a) ops.push_back(arma::kron(bj, ai));
      cases.push_back({"AD(" + std::to_string(g) + ") x phase_flip(" + std::to_string(p) + ")", s, 2,
                       [g = g, p = p] { return noise::amplitude_damping(g).tensor(noise::phase_flip(p)); }, ops, {},
                       g == 0.0 && p == 0.0});
    }
  } else if (type == "kraus") {
    for (int k : {1, 2, 3}) {
      for (int count : {1, 3, 4}) {
        const std::vector<arma::cx_mat> ops = ref::random_kraus_operators(arma::uword{1} << k, count, rng);
        noise::ChannelSpec s = make_spec(type, {});
        s.kraus_operators = from_arma(ops);
        cases.push_back({"random isometry k=" + std::to_string(k) + " count=" + std::to_string(count), s, k,
                         [ops] { return noise::Channel::from_kraus(from_arma(ops)); }, ops, {}, false});
      }
    }
  }
  return cases;
}

}  // namespace

// ---- matrix helpers ------------------------------------------------------------------------------

TEST_CASE("eigh diagonalises random Hermitian matrices up to 16 x 16", "[noise][matrix]") {
  ref::Rng rng(11);
  for (int d = 1; d <= 16; ++d) {
    std::vector<arma::cx_mat> inputs;
    const arma::cx_mat g = ref::complex_gaussian(d, d, rng);
    inputs.push_back(g + g.t());  // generic spectrum
    // Degenerate spectrum: a random unitary times a diagonal with repeated values.
    arma::cx_mat diag(d, d, arma::fill::zeros);
    for (int j = 0; j < d; ++j) diag(j, j) = static_cast<double>(j / 3) - 1.5;
    const arma::cx_mat u = ref::random_unitary(d, rng);
    inputs.push_back(u * diag * u.t());
    inputs.push_back(diag);                              // already diagonal
    inputs.push_back(arma::cx_mat(d, d, arma::fill::zeros));  // zero
    // A low-rank positive matrix, like the Choi matrix of a channel of small Kraus rank.
    const arma::cx_mat v = ref::complex_gaussian(d, 1, rng);
    inputs.push_back(v * v.t());
    for (std::size_t which = 0; which < inputs.size(); ++which) {
      CAPTURE(d, which);
      arma::cx_mat h = inputs[which];
      h = 0.5 * (h + h.t());
      const noise::HermitianEigen eig = noise::eigh(from_arma(h));
      REQUIRE(eig.values.size() == static_cast<std::size_t>(d));
      REQUIRE(eig.vectors.rows() == d);
      REQUIRE(eig.vectors.cols() == d);
      for (int j = 0; j + 1 < d; ++j) CHECK(eig.values[j] <= eig.values[j + 1]);
      const arma::cx_mat vec = to_arma(eig.vectors);
      arma::cx_mat lambda(d, d, arma::fill::zeros);
      for (int j = 0; j < d; ++j) lambda(j, j) = eig.values[j];
      CHECK(ref::max_abs_diff(vec.t() * vec, eye(d)) <= kTol);
      CHECK(ref::max_abs_diff(vec * lambda * vec.t(), h) <= kTol);
      // The same spectrum as LAPACK's.
      const arma::vec lapack = arma::eig_sym(h);
      for (int j = 0; j < d; ++j) CHECK(std::abs(eig.values[j] - lapack(j)) <= kTol);
    }
  }
  CHECK_THROWS_AS(noise::eigh(noise::Matrix(2, 3)), std::invalid_argument);
}

TEST_CASE("kron and pauli_matrix follow the documented index order", "[noise][matrix]") {
  ref::Rng rng(12);
  const arma::cx_mat a = ref::complex_gaussian(2, 3, rng), b = ref::complex_gaussian(4, 2, rng);
  CHECK(ref::max_abs_diff(to_arma(noise::kron(from_arma(a), from_arma(b))), arma::kron(a, b)) == 0.0);
  for (int k = 1; k <= 3; ++k) {
    for (int index = 0; index < (1 << (2 * k)); ++index) {
      CAPTURE(k, index);
      CHECK(ref::max_abs_diff(to_arma(noise::pauli_matrix(index, k)), pauli_op(index, k)) == 0.0);
    }
  }
  CHECK_THROWS_AS(noise::pauli_matrix(4, 1), std::invalid_argument);
  CHECK_THROWS_AS(noise::pauli_matrix(-1, 1), std::invalid_argument);
  CHECK_THROWS_AS(noise::pauli_matrix(0, 0), std::invalid_argument);
  // Matrix arithmetic against Armadillo.
  const arma::cx_mat c = ref::complex_gaussian(3, 3, rng), e = ref::complex_gaussian(3, 3, rng);
  CHECK(ref::max_abs_diff(to_arma(from_arma(c) * from_arma(e)), c * e) <= 1e-14);
  CHECK(ref::max_abs_diff(to_arma(from_arma(c) + from_arma(e)), c + e) == 0.0);
  CHECK(ref::max_abs_diff(to_arma(from_arma(c) - from_arma(e)), c - e) == 0.0);
  CHECK(ref::max_abs_diff(to_arma(from_arma(c).adjoint()), c.t()) == 0.0);
  CHECK(ref::max_abs_diff(to_arma(from_arma(c).conj()), arma::conj(c)) == 0.0);
  CHECK(std::abs(from_arma(c).trace() - arma::trace(c)) <= 1e-15);
  CHECK_THROWS_AS(from_arma(c) * noise::Matrix(2, 2), std::invalid_argument);
  CHECK_THROWS_AS(from_arma(c) + noise::Matrix(2, 2), std::invalid_argument);
  CHECK_THROWS_AS(noise::Matrix::rows_of({{1, 2}, {3}}), std::invalid_argument);
}

// ---- every standard channel against its written-out Kraus operators ------------------------------

TEST_CASE("every standard channel equals its written-out Kraus operators on every target", "[noise][channel][reference]") {
  ref::Rng rng(21);
  for (const noise::ChannelType& type : noise::channel_types()) {
    const std::string name(type.name);
    const std::vector<Case> cases = reference_cases(name, rng);
    INFO("channel type " << name);
    // A type added to the table without a reference here fails: the table is the source of truth.
    REQUIRE_FALSE(cases.empty());
    for (const Case& c : cases) {
      CAPTURE(c.label);
      const noise::Channel channel = c.spec.build(c.arity);
      REQUIRE(channel.num_qubits() == c.arity);
      const arma::cx_mat s_ref = reference_superop(c);
      CHECK(ref::max_abs_diff(to_arma(channel.superoperator()), s_ref) <= kTol);
      // The direct builder gives the same map.
      CHECK(ref::max_abs_diff(to_arma(c.direct().superoperator()), s_ref) <= kTol);
      CHECK(noise::trace_preservation_error(channel.kraus()) <= kTol);
      const std::vector<Complex> ops = flat_kraus(channel);
      for (int n : {3, 4}) {
        const arma::cx_mat mixed = ref::random_density_matrix(n, rng);
        const arma::cx_mat debug = ref::debug_matrix(n);
        for (const std::vector<int>& qubits : ref::ordered_tuples(n, c.arity)) {
          for (const arma::cx_mat* rho : {&mixed, &debug}) {
            const bool physical = rho == &mixed;
            CAPTURE(n, qubits, physical);
            const arma::cx_mat expected = c.kraus.empty() ? ref::apply_superoperator(*rho, c.superop, qubits, n)
                                                          : ref::apply_kraus(*rho, c.kraus, qubits, n);
            arma::cx_mat out = *rho;
            noise::apply_channel(out.memptr(), n, qubits.data(), channel);
            REQUIRE(ref::max_abs_diff(out, expected) <= kTol);
            // The fast paths equal the generic superoperator pass and the Kraus kernel.
            arma::cx_mat generic = *rho;
            noise::apply_superoperator(generic.memptr(), n, qubits.data(), c.arity, channel.superoperator().data());
            CHECK(ref::max_abs_diff(out, generic) <= kTol);
            arma::cx_mat kraus = *rho;
            noise::apply_kraus(kraus.memptr(), n, qubits.data(), c.arity, ops.data(),
                               static_cast<int>(channel.kraus().size()));
            CHECK(ref::max_abs_diff(out, kraus) <= kTol);
            if (c.identity) CHECK(ref::max_abs_diff(out, *rho) <= 1e-14);
            if (physical) {
              CHECK(std::abs(arma::trace(out) - 1.0) <= kTol);
              CHECK(ref::max_abs_diff(out, out.t()) <= kTol);
              CHECK(min_eigenvalue(out) >= -kTol);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("thermal relaxation has its defining action for T2 <= T1 and T2 > T1", "[noise][channel]") {
  struct T {
    double t1, t2, time, e;
  };
  for (const T& t : {T{50, 30, 10, 0}, T{30, 50, 12, 0}, T{30, 60, 40, 0.35}, T{100, 150, 70, 0.8}, T{10, 1, 2, 0.5}}) {
    CAPTURE(t.t1, t.t2, t.time, t.e);
    const noise::Channel c = noise::thermal_relaxation(t.t1, t.t2, t.time, t.e);
    const std::vector<arma::cx_mat> ops = to_arma(c.kraus());
    const double pr = 1 - std::exp(-t.time / t.t1);
    const arma::cx_mat e00 = evolve(ops, mat2(1, 0, 0, 0));
    const arma::cx_mat e11 = evolve(ops, mat2(0, 0, 0, 1));
    const arma::cx_mat e01 = evolve(ops, mat2(0, 1, 0, 0));
    CHECK(ref::max_abs_diff(e00, mat2(1 - t.e * pr, 0, 0, t.e * pr)) <= kTol);
    CHECK(ref::max_abs_diff(e11, mat2((1 - t.e) * pr, 0, 0, 1 - (1 - t.e) * pr)) <= kTol);
    CHECK(ref::max_abs_diff(e01, mat2(0, std::exp(-t.time / t.t2), 0, 0)) <= kTol);
    // The fixed point is diag(1 - e, e).
    const noise::Channel long_time = noise::thermal_relaxation(t.t1, t.t2, 1e4 * t.t1, t.e);
    CHECK(ref::max_abs_diff(evolve(to_arma(long_time.kraus()), mat2(0.3, 0.2, 0.2, 0.7)), mat2(1 - t.e, 0, 0, t.e)) <= kTol);
  }
  // T2 = 2 T1 is allowed, beyond it is not; T1 <= 0, negative time and e outside [0, 1] are refused.
  CHECK_NOTHROW(noise::thermal_relaxation(10, 20, 5));
  CHECK_THROWS_AS(noise::thermal_relaxation(10, 20.001, 5), std::invalid_argument);
  CHECK_THROWS_AS(noise::thermal_relaxation(0, 1, 5), std::invalid_argument);
  CHECK_THROWS_AS(noise::thermal_relaxation(10, 0, 5), std::invalid_argument);
  CHECK_THROWS_AS(noise::thermal_relaxation(10, 10, -1), std::invalid_argument);
  CHECK_THROWS_AS(noise::thermal_relaxation(10, 10, 1, 1.5), std::invalid_argument);
}

TEST_CASE("fixed points and equivalences of the damping channels", "[noise][channel]") {
  const arma::cx_mat rho = mat2(0.3, Complex(0.1, 0.2), Complex(0.1, -0.2), 0.7);
  SECTION("generalized amplitude damping relaxes to diag(1 - e, e)") {
    for (double e : {0.0, 0.25, 0.6, 1.0}) {
      CAPTURE(e);
      const std::vector<arma::cx_mat> ops = to_arma(noise::generalized_amplitude_damping(0.3, e).kraus());
      CHECK(ref::max_abs_diff(evolve(ops, mat2(1 - e, 0, 0, e)), mat2(1 - e, 0, 0, e)) <= kTol);
      CHECK(ref::max_abs_diff(evolve(to_arma(noise::generalized_amplitude_damping(1, e).kraus()), rho),
                              mat2(1 - e, 0, 0, e)) <= kTol);
    }
  }
  SECTION("amplitude damping with gamma = 1 resets to |0>") {
    CHECK(ref::max_abs_diff(evolve(to_arma(noise::amplitude_damping(1).kraus()), rho), mat2(1, 0, 0, 0)) <= kTol);
  }
  SECTION("phase damping equals a phase flip with p = (1 - sqrt(1 - lambda)) / 2") {
    for (double l : {0.0, 0.1, 0.5, 1.0}) {
      CAPTURE(l);
      CHECK(ref::max_abs_diff(to_arma(noise::phase_damping(l).superoperator()),
                              to_arma(noise::phase_flip((1 - std::sqrt(1 - l)) / 2).superoperator())) <= kTol);
    }
  }
  SECTION("reset(p0, p1) with p0 + p1 = 1 prepares diag(p0, p1)") {
    CHECK(ref::max_abs_diff(evolve(to_arma(noise::reset_channel(0.3, 0.7).kraus()), rho), mat2(0.3, 0, 0, 0.7)) <= kTol);
  }
}

TEST_CASE("apply_channel refuses bad targets and leaves the state untouched", "[noise][channel][validation]") {
  arma::cx_mat rho = ref::debug_matrix(3);
  const arma::cx_mat before = rho;
  const int all[] = {0, 1, 2}, repeated[] = {1, 1}, out_of_range[] = {0, 3}, triple_repeated[] = {0, 2, 0};
  CHECK_THROWS_AS(noise::apply_channel(rho.memptr(), 2, all, noise::depolarizing(3, 0.1)), std::invalid_argument);
  CHECK_THROWS_AS(noise::apply_channel(rho.memptr(), 3, triple_repeated, noise::depolarizing(3, 0.1)), std::invalid_argument);
  CHECK_THROWS_AS(noise::apply_channel(rho.memptr(), 3, repeated, noise::depolarizing(2, 0.1)), std::invalid_argument);
  CHECK_THROWS_AS(noise::apply_channel(rho.memptr(), 3, out_of_range, noise::depolarizing(2, 0.1)), std::invalid_argument);
  CHECK_THROWS_AS(noise::apply_channel(nullptr, 3, all, noise::depolarizing(1, 0.1)), std::invalid_argument);
  CHECK(ref::max_abs_diff(rho, before) == 0.0);
}

// ---- conversions between representations on random CPTP maps (Stinespring) -----------------------

namespace {

// The Choi matrix of channel.hpp, computed from its definition Lambda(a + i d, b + j d) = <a|E(|i><j|)|b>.
arma::cx_mat choi_reference(const std::vector<arma::cx_mat>& ops) {
  const arma::uword d = ops.front().n_rows;
  arma::cx_mat choi(d * d, d * d, arma::fill::zeros);
  for (arma::uword i = 0; i < d; ++i)
    for (arma::uword j = 0; j < d; ++j) {
      const arma::cx_mat e = evolve(ops, ref::ket_bra(i, j, d));
      for (arma::uword a = 0; a < d; ++a)
        for (arma::uword b = 0; b < d; ++b) choi(a + i * d, b + j * d) = e(a, b);
    }
  return choi;
}

// R(i, j) = 2^-k Tr[P_i E(P_j)].
arma::cx_mat ptm_reference(const std::vector<arma::cx_mat>& ops, int k) {
  const int n = 1 << (2 * k);
  arma::cx_mat r(n, n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) r(i, j) = arma::trace(pauli_op(i, k) * evolve(ops, pauli_op(j, k))) / double(1 << k);
  return r;
}

// E(rho) by each representation.
arma::cx_mat apply_by_superop(const arma::cx_mat& s, const arma::cx_mat& rho) {
  const arma::cx_vec v = s * arma::vectorise(rho);  // column stacking: v[a + b d] = rho(a, b)
  return arma::reshape(arma::cx_mat(v), rho.n_rows, rho.n_cols);
}

arma::cx_mat apply_by_choi(const arma::cx_mat& choi, const arma::cx_mat& rho) {
  // Tr_in[(rho^T (x) I) Lambda], the input being the more significant factor.
  const arma::uword d = rho.n_rows;
  const arma::cx_mat m = arma::kron(rho.st(), eye(d)) * choi;
  arma::cx_mat out(d, d, arma::fill::zeros);
  for (arma::uword a = 0; a < d; ++a)
    for (arma::uword b = 0; b < d; ++b)
      for (arma::uword i = 0; i < d; ++i) out(a, b) += m(a + i * d, b + i * d);
  return out;
}

arma::cx_mat apply_by_ptm(const arma::cx_mat& r, const arma::cx_mat& rho, int k) {
  // rho = 2^-k sum_j c_j P_j with c_j = Tr(P_j rho); E(rho) has coefficients R c.
  const int n = 1 << (2 * k);
  arma::cx_vec c(n);
  for (int j = 0; j < n; ++j) c(j) = arma::trace(pauli_op(j, k) * rho);
  const arma::cx_vec c2 = r * c;
  arma::cx_mat out(rho.n_rows, rho.n_cols, arma::fill::zeros);
  for (int i = 0; i < n; ++i) out += c2(i) * pauli_op(i, k) / double(1 << k);
  return out;
}

}  // namespace

TEST_CASE("Kraus, superoperator, Choi and PTM agree on random CPTP maps from isometries", "[noise][channel][conversion]") {
  ref::Rng rng(31);
  struct Shape {
    int k, count;
  };
  for (const Shape& shape : {Shape{1, 1}, Shape{1, 2}, Shape{1, 3}, Shape{1, 4}, Shape{2, 2}, Shape{2, 5}, Shape{2, 16}}) {
    for (int trial = 0; trial < 3; ++trial) {
      const int k = shape.k;
      const arma::uword d = arma::uword{1} << k;
      CAPTURE(k, shape.count, trial);
      const std::vector<arma::cx_mat> ops = ref::random_kraus_operators(d, shape.count, rng);
      const noise::Channel channel = noise::Channel::from_kraus(from_arma(ops));
      REQUIRE(channel.num_qubits() == k);
      const arma::cx_mat s = ref::superoperator_from_kraus(ops);
      const arma::cx_mat choi = choi_reference(ops);
      const arma::cx_mat ptm = ptm_reference(ops, k);
      CHECK(ref::max_abs_diff(to_arma(channel.superoperator()), s) <= kTol);
      CHECK(ref::max_abs_diff(to_arma(channel.choi()), choi) <= kTol);
      CHECK(ref::max_abs_diff(to_arma(channel.ptm()), ptm) <= kTol);
      // The PTM of a Hermiticity-preserving map is real, and trace preservation puts (1, 0, ..., 0) in row 0.
      CHECK(arma::abs(arma::imag(to_arma(channel.ptm()))).max() <= kTol);
      CHECK(std::abs(channel.ptm()(0, 0) - 1.0) <= kTol);

      // Round trips: Kraus -> superoperator -> Choi -> Kraus, superoperator -> Kraus, PTM -> Kraus.
      const noise::Channel from_choi = noise::Channel::from_choi(channel.choi());
      CHECK(ref::max_abs_diff(to_arma(from_choi.superoperator()), s) <= kTol);
      CHECK(static_cast<int>(from_choi.kraus().size()) == shape.count);  // Choi rank of a generic isometry
      const noise::Channel from_superop = noise::Channel::from_superoperator(from_arma(s));
      CHECK(ref::max_abs_diff(to_arma(from_superop.superoperator()), s) <= kTol);
      const noise::Channel from_ptm = noise::Channel::from_ptm(from_arma(ptm));
      CHECK(ref::max_abs_diff(to_arma(from_ptm.superoperator()), s) <= kTol);
      CHECK(ref::max_abs_diff(to_arma(from_ptm.ptm()), ptm) <= kTol);

      // Every representation applied to the same rho gives the same state.
      const arma::cx_mat rho = ref::random_density_matrix(k, rng);
      std::vector<int> qubits(static_cast<std::size_t>(k));
      for (int j = 0; j < k; ++j) qubits[static_cast<std::size_t>(j)] = j;
      const arma::cx_mat expected = evolve(ops, rho);
      CHECK(ref::max_abs_diff(apply_by_superop(to_arma(channel.superoperator()), rho), expected) <= kTol);
      CHECK(ref::max_abs_diff(apply_by_choi(to_arma(channel.choi()), rho), expected) <= kTol);
      CHECK(ref::max_abs_diff(apply_by_ptm(to_arma(channel.ptm()), rho, k), expected) <= kTol);
      CHECK(ref::max_abs_diff(evolve(to_arma(from_choi.kraus()), rho), expected) <= kTol);
      arma::cx_mat out = rho;
      noise::apply_channel(out.memptr(), k, qubits.data(), from_ptm);
      CHECK(ref::max_abs_diff(out, expected) <= kTol);
      // And on a larger register, on reversed targets.
      const int n = 3;
      std::vector<int> targets = {2, 0};
      targets.resize(static_cast<std::size_t>(k));
      const arma::cx_mat big = ref::random_density_matrix(n, rng);
      arma::cx_mat big_out = big;
      noise::apply_channel(big_out.memptr(), n, targets.data(), from_choi);
      CHECK(ref::max_abs_diff(big_out, ref::apply_kraus(big, ops, targets, n)) <= kTol);
    }
  }
}

TEST_CASE("non-CPTP input and wrong sizes are rejected", "[noise][channel][validation]") {
  ref::Rng rng(32);
  const std::vector<arma::cx_mat> ops = ref::random_kraus_operators(2, 3, rng);
  const noise::Channel good = noise::Channel::from_kraus(from_arma(ops));

  SECTION("Kraus operators that are not trace preserving") {
    std::vector<noise::Matrix> scaled = from_arma(ops);
    for (noise::Matrix& m : scaled) m = Complex(1.01, 0) * m;
    CHECK_THROWS_AS(noise::Channel::from_kraus(scaled), std::invalid_argument);
    std::vector<noise::Matrix> lossy = from_arma(ops);
    lossy.pop_back();
    CHECK_THROWS_AS(noise::Channel::from_kraus(lossy), std::invalid_argument);
    // A small defect is accepted with a looser tolerance only.
    std::vector<noise::Matrix> nearly = from_arma(ops);
    nearly[0] = Complex(1 + 1e-8, 0) * nearly[0];
    CHECK_THROWS_AS(noise::Channel::from_kraus(nearly), std::invalid_argument);
    CHECK_NOTHROW(noise::Channel::from_kraus(nearly, 1e-6));
    CHECK_THROWS_AS(noise::Channel::from_unitary(from_arma(mat2(1, 1, 0, 1))), std::invalid_argument);
    // A CP but not TP superoperator.
    CHECK_THROWS_AS(noise::Channel::from_superoperator(Complex(0.5, 0) * good.superoperator()), std::invalid_argument);
  }
  SECTION("Choi matrices with a negative eigenvalue or not Hermitian") {
    // The transpose map: trace preserving, Hermitian Choi (the swap), eigenvalue -1.
    arma::cx_mat swap(4, 4, arma::fill::zeros);
    for (int a = 0; a < 2; ++a)
      for (int i = 0; i < 2; ++i) swap(a + 2 * i, i + 2 * a) = 1.0;
    CHECK_THROWS_AS(noise::Channel::from_choi(from_arma(swap)), std::invalid_argument);
    // Mixed with the completely depolarising map (Choi I/2): min eigenvalue (1-x)/2 - x < 0 for x > 1/3.
    for (double x : {0.34, 0.5}) {
      CAPTURE(x);
      const arma::cx_mat mix = (1 - x) * eye(4) / 2.0 + x * swap;
      CHECK_THROWS_AS(noise::Channel::from_choi(from_arma(mix)), std::invalid_argument);
    }
    CHECK_NOTHROW(noise::Channel::from_choi(from_arma((1 - 0.3) * eye(4) / 2.0 + 0.3 * swap)));
    // The transpose map given as a superoperator or as a PTM is refused too.
    arma::cx_mat transpose_superop(4, 4, arma::fill::zeros);
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 2; ++b) transpose_superop(b + 2 * a, a + 2 * b) = 1.0;
    CHECK_THROWS_AS(noise::Channel::from_superoperator(from_arma(transpose_superop)), std::invalid_argument);
    CHECK_THROWS_AS(noise::Channel::from_ptm(from_arma(arma::diagmat(arma::cx_vec{1, 1, -1, 1}))), std::invalid_argument);
    // Not Hermitian.
    noise::Matrix skew = good.choi();
    skew(0, 1) += Complex(0, 1e-3);
    CHECK_THROWS_AS(noise::Channel::from_choi(skew), std::invalid_argument);
  }
  SECTION("wrong sizes") {
    CHECK_THROWS_AS(noise::Channel::from_kraus({}), std::invalid_argument);
    CHECK_THROWS_AS(noise::Channel::from_kraus({noise::Matrix::identity(3)}), std::invalid_argument);
    CHECK_THROWS_AS(noise::Channel::from_kraus({noise::Matrix(2, 4)}), std::invalid_argument);
    CHECK_THROWS_AS(noise::Channel::from_kraus({noise::Matrix::identity(16)}), std::invalid_argument);
    CHECK_THROWS_AS(noise::Channel::from_kraus({Complex(std::sqrt(0.5), 0) * noise::Matrix::identity(2),
                                                Complex(std::sqrt(0.5), 0) * noise::Matrix::identity(4)}),
                    std::invalid_argument);
    CHECK_THROWS_AS(noise::Channel::from_superoperator(noise::Matrix::identity(3)), std::invalid_argument);
    CHECK_THROWS_AS(noise::Channel::from_superoperator(noise::Matrix::identity(8)), std::invalid_argument);
    CHECK_THROWS_AS(noise::Channel::from_superoperator(noise::Matrix(4, 16)), std::invalid_argument);
    CHECK_THROWS_AS(noise::Channel::from_choi(noise::Matrix::identity(5)), std::invalid_argument);
    CHECK_THROWS_AS(noise::Channel::from_choi(noise::Matrix(16, 4)), std::invalid_argument);
    CHECK_THROWS_AS(noise::Channel::from_ptm(noise::Matrix::identity(2)), std::invalid_argument);
    CHECK_THROWS_AS(noise::Channel::from_ptm(noise::Matrix::identity(8)), std::invalid_argument);
    CHECK_THROWS_AS(noise::Channel::from_ptm(noise::Matrix(4, 16)), std::invalid_argument);
  }
}

TEST_CASE("then() and tensor() equal explicit products; tensor puts the first channel on the low bit",
          "[noise][channel][conversion]") {
  ref::Rng rng(33);
  SECTION("then") {
    for (int k : {1, 2}) {
      const arma::uword d = arma::uword{1} << k;
      const std::vector<arma::cx_mat> a = ref::random_kraus_operators(d, 2, rng), b = ref::random_kraus_operators(d, 3, rng);
      const noise::Channel ab = noise::Channel::from_kraus(from_arma(a)).then(noise::Channel::from_kraus(from_arma(b)));
      REQUIRE(ab.num_qubits() == k);
      CHECK(ref::max_abs_diff(to_arma(ab.superoperator()),
                              ref::superoperator_from_kraus(b) * ref::superoperator_from_kraus(a)) <= kTol);
      const arma::cx_mat rho = ref::random_density_matrix(k, rng);
      CHECK(ref::max_abs_diff(evolve(to_arma(ab.kraus()), rho), evolve(b, evolve(a, rho))) <= kTol);
    }
    // Order matters: damping then a bit flip differs from the reverse.
    const noise::Channel ad = noise::amplitude_damping(1), x = noise::bit_flip(1);
    CHECK(std::abs(ad.then(x).superoperator()(3, 0) - 1.0) <= kTol);  // |0><0| -> |1><1|
    CHECK(std::abs(x.then(ad).superoperator()(0, 0) - 1.0) <= kTol);  // |0><0| -> |0><0|
    CHECK_THROWS_AS(ad.then(noise::depolarizing(2, 0.1)), std::invalid_argument);
  }
  SECTION("tensor") {
    const std::vector<arma::cx_mat> a = ref::random_kraus_operators(2, 2, rng), b = ref::random_kraus_operators(2, 3, rng);
    const noise::Channel ab = noise::Channel::from_kraus(from_arma(a)).tensor(noise::Channel::from_kraus(from_arma(b)));
    REQUIRE(ab.num_qubits() == 2);
    std::vector<arma::cx_mat> products;
    for (const arma::cx_mat& kb : b)
      for (const arma::cx_mat& ka : a) products.push_back(arma::kron(kb, ka));  // b on the more significant bit
    CHECK(ref::max_abs_diff(to_arma(ab.superoperator()), ref::superoperator_from_kraus(products)) <= kTol);
    // a on qubit 0 then b on qubit 1, by the dense reference.
    const arma::cx_mat rho = ref::random_density_matrix(2, rng);
    arma::cx_mat out = rho;
    const int both[] = {0, 1};
    noise::apply_channel(out.memptr(), 2, both, ab);
    CHECK(ref::max_abs_diff(out, ref::apply_kraus(ref::apply_kraus(rho, a, {0}, 2), b, {1}, 2)) <= kTol);
    // Pinned: reset on the first qubit, X on the second, from |00> gives |q1 = 1, q0 = 0> = index 2.
    const noise::Channel pinned = noise::amplitude_damping(1).tensor(noise::bit_flip(1));
    arma::cx_mat zero(4, 4, arma::fill::zeros);
    zero(0, 0) = 1;
    noise::apply_channel(zero.memptr(), 2, both, pinned);
    CHECK(std::abs(zero(2, 2) - 1.0) <= kTol);
    // 1 + 2 qubits is allowed, 2 + 2 is not.
    CHECK(noise::bit_flip(0.1).tensor(noise::depolarizing(2, 0.1)).num_qubits() == 3);
    CHECK_THROWS_AS(noise::depolarizing(2, 0.1).tensor(noise::depolarizing(2, 0.1)), std::invalid_argument);
  }
}

// ---- Pauli transfer factors and the depolarising lambda form -------------------------------------

TEST_CASE("Pauli transfer factors of depolarising and amplitude damping", "[noise][channel]") {
  ref::Rng rng(41);
  const arma::cx_mat X = ref::pauli('X'), Y = ref::pauli('Y'), Z = ref::pauli('Z');
  auto expect = [](const arma::cx_mat& p, const arma::cx_mat& rho) { return arma::trace(p * rho).real(); };
  for (double p : {0.0, 0.1, 0.5, 0.75, 1.0}) {
    CAPTURE(p);
    const noise::Channel c = noise::depolarizing(1, p);
    const noise::Matrix r = c.ptm();
    const double f = 1 - 4 * p / 3;
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) CHECK(std::abs(r(i, j) - (i != j ? 0.0 : i == 0 ? 1.0 : f)) <= kTol);
    const arma::cx_mat rho = ref::random_density_matrix(1, rng);
    const arma::cx_mat out = evolve(to_arma(c.kraus()), rho);
    for (const arma::cx_mat* P : {&X, &Y, &Z}) CHECK(std::abs(expect(*P, out) - f * expect(*P, rho)) <= kTol);
  }
  for (double g : {0.0, 0.2, 0.9, 1.0}) {
    CAPTURE(g);
    const noise::Channel c = noise::amplitude_damping(g);
    const noise::Matrix r = c.ptm();
    const double s = std::sqrt(1 - g);
    const double expected[4][4] = {{1, 0, 0, 0}, {0, s, 0, 0}, {0, 0, s, 0}, {g, 0, 0, 1 - g}};
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) CHECK(std::abs(r(i, j) - expected[i][j]) <= kTol);
    const arma::cx_mat rho = ref::random_density_matrix(1, rng);
    const arma::cx_mat out = evolve(to_arma(c.kraus()), rho);
    CHECK(std::abs(expect(Z, out) - ((1 - g) * expect(Z, rho) + g)) <= kTol);
    CHECK(std::abs(expect(X, out) - s * expect(X, rho)) <= kTol);
  }
}

TEST_CASE("depolarising lambda form: p = 3 lambda / 4 (1 qubit), 15 lambda / 16 (2 qubits)", "[noise][channel]") {
  ref::Rng rng(42);
  for (double lambda : {0.0, 0.1, 0.5, 1.0}) {
    CAPTURE(lambda);
    CHECK(std::abs(noise::depolarizing_p_from_lambda(1, lambda) - 3 * lambda / 4) <= 1e-15);
    CHECK(std::abs(noise::depolarizing_p_from_lambda(2, lambda) - 15 * lambda / 16) <= 1e-15);
    const noise::ChannelSpec spec = make_spec("depolarizing", {{"lambda", lambda}});
    CHECK(ref::max_abs_diff(to_arma(spec.build(1).superoperator()),
                            ref::superoperator_from_kraus(depolarizing_1q(3 * lambda / 4))) <= kTol);
    CHECK(ref::max_abs_diff(to_arma(spec.build(2).superoperator()),
                            ref::superoperator_from_kraus(depolarizing_2q(15 * lambda / 16))) <= kTol);
    // Qiskit's form: rho -> (1 - lambda) rho + lambda I / d.
    for (int k : {1, 2}) {
      const arma::uword d = arma::uword{1} << k;
      const arma::cx_mat rho = ref::random_density_matrix(k, rng);
      const arma::cx_mat out = evolve(to_arma(spec.build(k).kraus()), rho);
      CHECK(ref::max_abs_diff(out, (1 - lambda) * rho + lambda * eye(d) / double(d)) <= kTol);
    }
  }
  // lambda = 1 gives the maximally mixed state on the channel's qubits of a larger register.
  const noise::ChannelSpec full = make_spec("depolarizing", {{"lambda", 1.0}});
  const arma::cx_mat rho = ref::random_density_matrix(3, rng);
  for (const std::vector<int>& qubits : {std::vector<int>{1}, std::vector<int>{2, 0}}) {
    CAPTURE(qubits);
    arma::cx_mat out = rho;
    noise::apply_channel(out.memptr(), 3, qubits.data(), full.build(static_cast<int>(qubits.size())));
    const std::vector<int> rest = qubits.size() == 1 ? std::vector<int>{0, 2} : std::vector<int>{1};
    const arma::uword dk = arma::uword{1} << qubits.size();
    CHECK(ref::max_abs_diff(ref::partial_trace(out, qubits, 3), eye(dk) / double(dk)) <= kTol);
    CHECK(ref::max_abs_diff(ref::partial_trace(out, rest, 3), ref::partial_trace(rho, rest, 3)) <= kTol);
    // No correlation is left (out = I / dk (x) the rest): every Pauli string that is not the identity on
    // the depolarised qubits has expectation 0.
    for (int index = 0; index < 64; ++index) {
      bool on_target = false;
      for (int q : qubits) on_target = on_target || ((index >> (2 * q)) & 3) != 0;
      if (on_target) CHECK(std::abs(arma::trace(pauli_op(index, 3) * out)) <= kTol);
    }
  }
  // The largest lambda is 4^k / (4^k - 1).
  CHECK_NOTHROW(noise::depolarizing_p_from_lambda(1, 4.0 / 3.0));
  CHECK_NOTHROW(noise::depolarizing_p_from_lambda(2, 16.0 / 15.0));
  CHECK_THROWS_AS(noise::depolarizing_p_from_lambda(2, 4.0 / 3.0), std::invalid_argument);
  CHECK_THROWS_AS(noise::depolarizing_p_from_lambda(1, -0.1), std::invalid_argument);
  CHECK_THROWS_AS(make_spec("depolarizing", {{"lambda", 4.0 / 3.0}}).build(2), std::invalid_argument);
  CHECK_THROWS_AS(make_spec("depolarizing", {{"lambda", 0.1}, {"p", 0.1}}).build(1), std::invalid_argument);
  CHECK_THROWS_AS(make_spec("depolarizing", {}).build(1), std::invalid_argument);
}
