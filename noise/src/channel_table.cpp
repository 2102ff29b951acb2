#include "kraus/noise/channel_table.hpp"
#include "kraus/noise/text.hpp"

#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>

namespace kraus::noise {
namespace {

const Complex kI1{0.0, 1.0};

void require_range(const std::string& what, double v, double lo, double hi) {
  if (!(v >= lo && v <= hi)) {
    throw std::invalid_argument(what + ": " + short_number(v) + " is outside [" + short_number(lo) + ", " + short_number(hi) + "]");
  }
}

int pauli_digit(char c) {
  switch (c) {
    case 'I': return 0;
    case 'X': return 1;
    case 'Y': return 2;
    case 'Z': return 3;
    default: return -1;
  }
}

}  // namespace

const std::vector<ChannelType>& channel_types() {
  constexpr double kInf = HUGE_VAL;
  static const std::vector<ChannelType> table = {
      {"depolarizing", 0,
       {{"p", 0, 1, false, 0, "total probability of a non-identity Pauli error (QuEST, Cirq, PennyLane)"},
        {"lambda", 0, 4.0 / 3.0, false, 0, "Qiskit's depolarizing parameter; at most 4^k/(4^k-1) on k qubits"}},
       "rho -> (1-p) rho + p/(4^k-1) sum_{P != I} P rho P; give exactly one of p, lambda (p = lambda (4^k-1)/4^k)",
       "sqrt(1-p) I, sqrt(p/(4^k-1)) P for the 4^k-1 non-identity Pauli strings P", KernelKind::kDepolarizing},
      {"amplitude_damping", 1, {{"gamma", 0, 1, true, 0, "decay probability"}},
       "energy relaxation towards |0>",
       "K0 = diag(1, sqrt(1-gamma)), K1 = sqrt(gamma) |0><1|", KernelKind::kRealBlock1q},
      {"generalized_amplitude_damping", 1,
       {{"gamma", 0, 1, true, 0, "relaxation probability"},
        {"excited_population", 0, 1, true, 0, "population e of |1> in the fixed point diag(1-e, e)"}},
       "relaxation towards diag(1-e, e) (Qiskit Aer's form)",
       "sqrt(1-e) diag(1, sqrt(1-gamma)), sqrt(1-e) sqrt(gamma) |0><1|, sqrt(e) diag(sqrt(1-gamma), 1), "
       "sqrt(e) sqrt(gamma) |1><0|", KernelKind::kRealBlock1q},
      {"phase_damping", 1, {{"lambda", 0, 1, true, 0, "dephasing strength"}},
       "coherences shrink by sqrt(1-lambda); populations unchanged",
       "K0 = diag(1, sqrt(1-lambda)), K1 = diag(0, sqrt(lambda)); equals a phase flip with p = (1-sqrt(1-lambda))/2", KernelKind::kRealBlock1q},
      {"bit_flip", 1, {{"p", 0, 1, true, 0, "probability of X"}}, "rho -> (1-p) rho + p X rho X",
       "sqrt(1-p) I, sqrt(p) X", KernelKind::kRealBlock1q},
      {"phase_flip", 1, {{"p", 0, 1, true, 0, "probability of Z"}}, "rho -> (1-p) rho + p Z rho Z",
       "sqrt(1-p) I, sqrt(p) Z", KernelKind::kRealBlock1q},
      {"bit_phase_flip", 1, {{"p", 0, 1, true, 0, "probability of Y"}}, "rho -> (1-p) rho + p Y rho Y",
       "sqrt(1-p) I, sqrt(p) Y", KernelKind::kRealBlock1q},
      {"pauli", 0, {},
       "rho -> (1 - sum p_P) rho + sum_P p_P P rho P; `probabilities` maps Pauli strings (character j on the "
       "gate's j-th qubit, all of one length k) to probabilities >= 0 with sum <= 1",
       "sqrt(p_I) I, sqrt(p_P) P", KernelKind::kRealBlock1q},
      {"thermal_relaxation", 1,
       {{"t1", 0, kInf, true, 0, "energy relaxation time T1 > 0"},
        {"t2", 0, kInf, true, 0, "dephasing time T2, 0 < T2 <= 2 T1"},
        {"time", 0, kInf, true, 0, "duration of the operation (same unit as t1, t2)"},
        {"excited_population", 0, 1, false, 0, "population e of |1> at equilibrium (default 0)"}},
       "with p_reset = 1-exp(-time/t1), populations relax towards diag(1-e, e) and coherences shrink by "
       "exp(-time/t2)",
       "from the eigenvectors of the Choi matrix [[1-e pr,0,0,c],[0,e pr,0,0],[0,0,(1-e) pr,0],[c,0,0,1-(1-e) pr]], "
       "pr = p_reset, c = exp(-time/t2)", KernelKind::kRealBlock1q},
      {"reset", 1,
       {{"p0", 0, 1, true, 0, "probability of a reset to |0>"}, {"p1", 0, 1, true, 0, "probability of a reset to |1>"}},
       "rho -> (1-p0-p1) rho + p0 |0><0| + p1 |1><1| (trace one); p0 + p1 <= 1",
       "sqrt(1-p0-p1) I, sqrt(p0) |0><0|, sqrt(p0) |0><1|, sqrt(p1) |1><0|, sqrt(p1) |1><1|", KernelKind::kRealBlock1q},
      {"coherent_overrotation", 1, {{"angle", -kInf, kInf, true, 0, "rotation angle in radians"}},
       "the unitary exp(-i angle P/2) about `axis` P = \"x\", \"y\" or \"z\"", "the single unitary", KernelKind::kUnitary},
      {"tensor", 0, {},
       "independent channels side by side: `channels` is a list of channel objects, the first acting on the "
       "gate's first qubit(s) (the least significant); at most 3 qubits in all",
       "the products of the factors' Kraus operators", KernelKind::kSuperoperator},
      {"kraus", 0, {},
       "general channel: `operators` is a list of 2^k x 2^k matrices of [re, im] pairs with sum K^dagger K = I "
       "(tolerance 1e-10)",
       "as given", KernelKind::kSuperoperator},
  };
  return table;
}

const ChannelType* find_channel_type(std::string_view name) {
  for (const ChannelType& t : channel_types())
    if (t.name == name) return &t;
  return nullptr;
}

Channel depolarizing(int num_qubits, double p) {
  if (num_qubits < 1 || num_qubits > 3) throw std::invalid_argument("depolarizing channels act on 1 to 3 qubits");
  require_range("depolarizing p", p, 0.0, 1.0);
  const int n = 1 << (2 * num_qubits);
  std::vector<Matrix> ops;
  ops.push_back(Complex(std::sqrt(1.0 - p), 0) * Matrix::identity(1 << num_qubits));
  if (p > 0.0) {
    const double w = std::sqrt(p / (n - 1));
    for (int i = 1; i < n; ++i) ops.push_back(Complex(w, 0) * pauli_matrix(i, num_qubits));
  }
  return Channel::from_kraus(std::move(ops));
}

double depolarizing_p_from_lambda(int num_qubits, double lambda) {
  const double n = static_cast<double>(1 << (2 * num_qubits));
  require_range("depolarizing lambda", lambda, 0.0, n / (n - 1.0));
  return lambda * (n - 1.0) / n;
}

Channel amplitude_damping(double gamma) {
  require_range("amplitude_damping gamma", gamma, 0.0, 1.0);
  return Channel::from_kraus({Matrix::rows_of({{1, 0}, {0, std::sqrt(1 - gamma)}}),
                              Matrix::rows_of({{0, std::sqrt(gamma)}, {0, 0}})});
}

Channel generalized_amplitude_damping(double gamma, double e) {
  require_range("generalized_amplitude_damping gamma", gamma, 0.0, 1.0);
  require_range("generalized_amplitude_damping excited_population", e, 0.0, 1.0);
  const double a = std::sqrt(1 - e), b = std::sqrt(e), g = std::sqrt(gamma), h = std::sqrt(1 - gamma);
  return Channel::from_kraus({Matrix::rows_of({{a, 0}, {0, a * h}}), Matrix::rows_of({{0, a * g}, {0, 0}}),
                              Matrix::rows_of({{b * h, 0}, {0, b}}), Matrix::rows_of({{0, 0}, {b * g, 0}})});
}

Channel phase_damping(double lambda) {
  require_range("phase_damping lambda", lambda, 0.0, 1.0);
  return Channel::from_kraus({Matrix::rows_of({{1, 0}, {0, std::sqrt(1 - lambda)}}),
                              Matrix::rows_of({{0, 0}, {0, std::sqrt(lambda)}})});
}

Channel bit_flip(double p) {
  require_range("bit_flip p", p, 0.0, 1.0);
  return pauli_channel({{"X", p}});
}
Channel phase_flip(double p) {
  require_range("phase_flip p", p, 0.0, 1.0);
  return pauli_channel({{"Z", p}});
}
Channel bit_phase_flip(double p) {
  require_range("bit_phase_flip p", p, 0.0, 1.0);
  return pauli_channel({{"Y", p}});
}

Channel pauli_channel(const std::map<std::string, double>& probabilities) {
  if (probabilities.empty()) throw std::invalid_argument("pauli channel: no probabilities given");
  const std::size_t k = probabilities.begin()->first.size();
  if (k < 1 || k > 3) throw std::invalid_argument("pauli channel: Pauli strings must have 1 to 3 characters");
  std::vector<double> prob(std::size_t{1} << (2 * k), 0.0);
  double total = 0.0;
  for (const auto& [label, p] : probabilities) {
    if (label.size() != k) {
      throw std::invalid_argument("pauli channel: '" + label + "' has " + std::to_string(label.size()) +
                                  " characters, expected " + std::to_string(k) + " like the others");
    }
    int index = 0;
    for (std::size_t j = 0; j < k; ++j) {
      const int digit = pauli_digit(label[j]);
      if (digit < 0) throw std::invalid_argument("pauli channel: '" + label + "' is not a string of I, X, Y, Z");
      index |= digit << (2 * j);
    }
    require_range("pauli channel probability of " + label, p, 0.0, 1.0);
    prob[static_cast<std::size_t>(index)] += p;
    total += p;
  }
  if (total > 1.0 + 1e-12) throw std::invalid_argument("pauli channel: probabilities sum to " + short_number(total) + " > 1");
  prob[0] += 1.0 - total;
  std::vector<Matrix> ops;
  for (std::size_t i = 0; i < prob.size(); ++i) {
    if (prob[i] > 0.0) {
      ops.push_back(Complex(std::sqrt(std::max(prob[i], 0.0)), 0) * pauli_matrix(static_cast<int>(i), static_cast<int>(k)));
    }
  }
  return Channel::from_kraus(std::move(ops));
}

Channel thermal_relaxation(double t1, double t2, double time, double e) {
  if (!(t1 > 0)) throw std::invalid_argument("thermal_relaxation t1: " + short_number(t1) + " must be > 0");
  if (!(t2 > 0 && t2 <= 2 * t1 * (1 + 1e-12))) {
    throw std::invalid_argument("thermal_relaxation t2: " + short_number(t2) + " must lie in (0, 2 t1] = (0, " + short_number(2 * t1) + "]");
  }
  if (!(time >= 0 && std::isfinite(time))) throw std::invalid_argument("thermal_relaxation time: " + short_number(time) + " must be >= 0");
  require_range("thermal_relaxation excited_population", e, 0.0, 1.0);
  const double pr = 1.0 - std::exp(-time / t1), c = std::exp(-time / t2);
  Matrix choi(4, 4);
  choi(0, 0) = 1 - e * pr;
  choi(1, 1) = e * pr;
  choi(2, 2) = (1 - e) * pr;
  choi(3, 3) = 1 - (1 - e) * pr;
  choi(0, 3) = choi(3, 0) = c;
  return Channel::from_choi(choi);
}

Channel reset_channel(double p0, double p1) {
  require_range("reset p0", p0, 0.0, 1.0);
  require_range("reset p1", p1, 0.0, 1.0);
  if (p0 + p1 > 1.0 + 1e-12) throw std::invalid_argument("reset: p0 + p1 = " + short_number(p0 + p1) + " exceeds 1");
  const double keep = std::sqrt(std::max(0.0, 1.0 - p0 - p1)), a = std::sqrt(p0), b = std::sqrt(p1);
  std::vector<Matrix> ops = {Complex(keep, 0) * Matrix::identity(2), Matrix::rows_of({{a, 0}, {0, 0}}),
                             Matrix::rows_of({{0, a}, {0, 0}}), Matrix::rows_of({{0, 0}, {b, 0}}),
                             Matrix::rows_of({{0, 0}, {0, b}})};
  return Channel::from_kraus(std::move(ops));
}

Channel coherent_overrotation(char axis, double angle) {
  const double c = std::cos(angle / 2), s = std::sin(angle / 2);
  switch (axis) {
    case 'x': return Channel::from_unitary(Matrix::rows_of({{c, -kI1 * s}, {-kI1 * s, c}}));
    case 'y': return Channel::from_unitary(Matrix::rows_of({{c, -s}, {s, c}}));
    case 'z': return Channel::from_unitary(Matrix::rows_of({{std::exp(-kI1 * (angle / 2)), 0}, {0, std::exp(kI1 * (angle / 2))}}));
    default: throw std::invalid_argument(std::string("coherent_overrotation axis '") + axis + "' must be x, y or z");
  }
}

KernelKind ChannelSpec::kernel(int num_qubits) const {
  if (type == "kraus") return kraus_operators.size() == 1 ? KernelKind::kUnitary : KernelKind::kSuperoperator;
  const ChannelType* t = find_channel_type(type);
  if (t == nullptr) throw std::invalid_argument("unknown channel type '" + type + "'");
  if (t->kernel == KernelKind::kRealBlock1q && num_qubits != 1) return KernelKind::kSuperoperator;
  return t->kernel;
}

int ChannelSpec::fixed_num_qubits() const {
  if (type == "pauli") return pauli_probabilities.empty() ? 0 : static_cast<int>(pauli_probabilities.begin()->first.size());
  if (type == "kraus") {
    if (kraus_operators.empty()) return 0;
    int k = 0;
    while ((1 << k) < kraus_operators.front().rows()) ++k;
    return k;
  }
  if (type == "depolarizing") return num_qubits;
  if (type == "tensor") {
    int k = 0;
    for (const ChannelSpec& f : factors) k += f.fixed_num_qubits();
    return k;
  }
  const ChannelType* t = find_channel_type(type);
  return t ? t->num_qubits : 0;
}

Channel ChannelSpec::build(int arity) const {
  const ChannelType* t = find_channel_type(type);
  if (t == nullptr) throw std::invalid_argument("unknown channel type '" + type + "'");
  const int fixed = fixed_num_qubits();
  const int k = fixed > 0 ? fixed : arity;
  if (fixed > 0 && arity != fixed) {
    throw std::invalid_argument(type + " channel acts on " + std::to_string(fixed) + " qubit(s), not " +
                                std::to_string(arity));
  }
  auto get = [&](const ChannelParameter& p) {
    auto it = params.find(std::string(p.name));
    if (it == params.end()) {
      if (p.required) throw std::invalid_argument(type + " channel needs parameter '" + std::string(p.name) + "'");
      return p.default_value;
    }
    require_range(type + " " + std::string(p.name), it->second, p.min, p.max);
    return it->second;
  };
  for (const auto& [name, value] : params) {
    bool known = false;
    for (const ChannelParameter& p : t->params) known = known || p.name == name;
    if (!known) throw std::invalid_argument(type + " channel has no parameter '" + name + "'");
  }
  const std::string& name = type;
  if (name == "depolarizing") {
    const bool has_p = params.count("p") > 0, has_lambda = params.count("lambda") > 0;
    if (has_p == has_lambda) throw std::invalid_argument("depolarizing channel needs exactly one of 'p' and 'lambda'");
    const double p = has_p ? get(t->params[0]) : depolarizing_p_from_lambda(k, params.at("lambda"));
    return depolarizing(k, p);
  }
  if (name == "amplitude_damping") return amplitude_damping(get(t->params[0]));
  if (name == "generalized_amplitude_damping") return generalized_amplitude_damping(get(t->params[0]), get(t->params[1]));
  if (name == "phase_damping") return phase_damping(get(t->params[0]));
  if (name == "bit_flip") return bit_flip(get(t->params[0]));
  if (name == "phase_flip") return phase_flip(get(t->params[0]));
  if (name == "bit_phase_flip") return bit_phase_flip(get(t->params[0]));
  if (name == "pauli") return pauli_channel(pauli_probabilities);
  if (name == "thermal_relaxation") {
    return thermal_relaxation(get(t->params[0]), get(t->params[1]), get(t->params[2]), get(t->params[3]));
  }
  if (name == "reset") return reset_channel(get(t->params[0]), get(t->params[1]));
  if (name == "tensor") {
    if (factors.empty()) throw std::invalid_argument("tensor channel needs at least one factor");
    std::optional<Channel> product;
    for (std::size_t i = 0; i < factors.size(); ++i) {
      const int fk = factors[i].fixed_num_qubits();
      if (fk == 0) {
        throw std::invalid_argument("tensor factor " + std::to_string(i) + " (" + factors[i].type +
                                    ") must fix its number of qubits (give a depolarizing factor num_qubits)");
      }
      Channel c = factors[i].build(fk);
      product = product ? product->tensor(c) : c;
    }
    return *product;
  }
  if (name == "coherent_overrotation") {
    if (axis.size() != 1) throw std::invalid_argument("coherent_overrotation needs axis \"x\", \"y\" or \"z\"");
    return coherent_overrotation(axis[0], get(t->params[0]));
  }
  return Channel::from_kraus(kraus_operators);  // kraus
}

ChannelSpec ChannelSpec::scaled(double s) const {
  if (!(s >= 0 && std::isfinite(s))) throw std::invalid_argument("noise scale factor " + short_number(s) + " must be >= 0");
  ChannelSpec out = *this;
  auto by_rate = [&](const char* key) {
    auto it = out.params.find(key);
    if (it != out.params.end()) it->second = 1.0 - std::pow(1.0 - it->second, s);
  };
  auto linear = [&](const char* key) {
    auto it = out.params.find(key);
    if (it != out.params.end()) it->second *= s;
  };
  if (type == "depolarizing") {
    linear("p");
    linear("lambda");
  } else if (type == "bit_flip" || type == "phase_flip" || type == "bit_phase_flip") {
    linear("p");
  } else if (type == "pauli") {
    for (auto& [label, p] : out.pauli_probabilities) p *= s;
  } else if (type == "amplitude_damping" || type == "generalized_amplitude_damping") {
    by_rate("gamma");
  } else if (type == "phase_damping") {
    by_rate("lambda");
  } else if (type == "thermal_relaxation") {
    linear("time");
  } else if (type == "reset") {
    const double p0 = params.count("p0") ? params.at("p0") : 0.0, p1 = params.count("p1") ? params.at("p1") : 0.0;
    const double total = p0 + p1;
    if (total > 0) {
      const double scaled_total = 1.0 - std::pow(1.0 - total, s);
      out.params["p0"] = p0 / total * scaled_total;
      out.params["p1"] = p1 / total * scaled_total;
    }
  } else if (type == "coherent_overrotation") {
    linear("angle");
  } else if (type == "tensor") {
    for (ChannelSpec& f : out.factors) f = f.scaled(s);
  } else {
    throw std::invalid_argument("a general '" + type + "' channel cannot be scaled: give it as a standard channel");
  }
  out.build(out.fixed_num_qubits() > 0 ? out.fixed_num_qubits() : 1);  // validates the scaled strengths
  return out;
}

}  // namespace kraus::noise
