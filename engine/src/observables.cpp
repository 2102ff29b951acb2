#include "kraus/engine/observables.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <system_error>

#include <nlohmann/json.hpp>

#include "kraus/noise/kernels.hpp"
#include "kraus/noise/text.hpp"

namespace kraus::engine {

PauliString PauliString::parse(std::string_view text) {
  PauliString out;
  std::size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) { ++i; continue; }
    const std::size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    const std::string factor(text.substr(start, i - start));
    const char p = factor[0];
    if (p != 'I' && p != 'X' && p != 'Y' && p != 'Z') {
      throw std::invalid_argument("Pauli factor '" + factor + "' must start with I, X, Y or Z");
    }
    if (factor.size() == 1 && p == 'I') { any = true; continue; }
    if (factor.size() == 1 || factor.size() > 3) {
      throw std::invalid_argument("Pauli factor '" + factor + "' must be <P><qubit>, e.g. X0");
    }
    int q = 0;
    for (std::size_t k = 1; k < factor.size(); ++k) {
      if (!std::isdigit(static_cast<unsigned char>(factor[k]))) {
        throw std::invalid_argument("Pauli factor '" + factor + "' has a bad qubit index");
      }
      q = q * 10 + (factor[k] - '0');
    }
    if (q >= noise::kMaxQubits) {
      throw std::invalid_argument("Pauli factor '" + factor + "': qubit index is too large");
    }
    const std::uint64_t bit = std::uint64_t{1} << q;
    if ((out.x_mask | out.z_mask) & bit) {
      throw std::invalid_argument("qubit " + std::to_string(q) + " appears twice in Pauli string '" +
                                  std::string(text) + "'");
    }
    if (p == 'X' || p == 'Y') out.x_mask |= bit;
    if (p == 'Z' || p == 'Y') out.z_mask |= bit;
    any = true;
  }
  if (!any) throw std::invalid_argument("empty Pauli string (write \"I\" for the identity)");
  return out;
}

int PauliString::min_qubits() const {
  const std::uint64_t used = x_mask | z_mask;
  int n = 0;
  while (n < 64 && (used >> n) != 0) ++n;
  return n;
}

std::string PauliString::to_string() const {
  std::string s;
  for (int q = 0; q < min_qubits(); ++q) {
    const bool x = (x_mask >> q) & 1, z = (z_mask >> q) & 1;
    if (!x && !z) continue;
    if (!s.empty()) s += ' ';
    s += x && z ? 'Y' : x ? 'X' : 'Z';
    s += std::to_string(q);
  }
  return s.empty() ? "I" : s;
}

namespace {

void check_fits(const DensityMatrix& rho, const PauliString& pauli) {
  if (pauli.min_qubits() > rho.num_qubits()) {
    throw std::invalid_argument("Pauli string '" + pauli.to_string() + "' acts on qubit " +
                                std::to_string(pauli.min_qubits() - 1) + " of a " +
                                std::to_string(rho.num_qubits()) + "-qubit state");
  }
}

}  // namespace

double expectation(const DensityMatrix& rho, const PauliString& pauli) {
  check_fits(rho, pauli);
  // P|c> = i^{#Y} (-1)^{popcount(c & z)} |c xor x>, so P(r, c) is nonzero only at r = c xor x and
  // Tr(P rho) = sum_c P(c xor x, c) rho(c, c xor x) = i^{#Y} sum_c (-1)^{popcount(c & z)} rho(c, c xor x).
  const std::int64_t d = static_cast<std::int64_t>(rho.dim());
  const Complex* x = rho.data();
  const std::uint64_t xm = pauli.x_mask, zm = pauli.z_mask;
  double re = 0.0, im = 0.0;
#pragma omp parallel for reduction(+ : re, im) if (rho.num_qubits() >= noise::kParallelMinQubits)
  for (std::int64_t c = 0; c < d; ++c) {
    const std::uint64_t col = static_cast<std::uint64_t>(c) ^ xm;
    const Complex v = x[static_cast<std::uint64_t>(c) + col * static_cast<std::uint64_t>(d)];
    const double sign = (__builtin_popcountll(static_cast<std::uint64_t>(c) & zm) & 1) ? -1.0 : 1.0;
    re += sign * v.real();
    im += sign * v.imag();
  }
  // Multiply by i^{#Y}; for a Hermitian rho the result is real.
  const int ny = __builtin_popcountll(xm & zm) & 3;
  const Complex phase = ny == 0 ? Complex(1, 0) : ny == 1 ? Complex(0, 1) : ny == 2 ? Complex(-1, 0) : Complex(0, -1);
  return (phase * Complex(re, im)).real();
}

double expectation(const DensityMatrix& rho, const PauliSum& observable) {
  double sum = 0.0;
  for (const auto& [coef, pauli] : observable.terms) sum += coef * expectation(rho, pauli);
  return sum;
}

// ---- weighted sums as text ----------------------------------------------------------------------

namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string trimmed(std::string_view text) {
  std::size_t b = 0, e = text.size();
  while (b < e && is_space(text[b])) ++b;
  while (e > b && is_space(text[e - 1])) --e;
  return std::string(text.substr(b, e - b));
}

std::string quote(std::string_view text) { return "'" + noise::printable(text, noise::kMaxQuotedBytes) + "'"; }

}  // namespace

PauliSum PauliSum::parse(std::string_view text) {
  PauliSum out;
  std::size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && is_space(text[i])) ++i;
  };
  // Each term starts at a sign (or at the start) and ends at the next sign after its coefficient.
  std::size_t term = 0, begin = 0;
  auto fail = [&](const std::string& what) {
    std::size_t end = text.find_first_of("+-", i);
    if (end == std::string_view::npos) end = text.size();
    throw std::invalid_argument("observable " + quote(text) + ": term " + std::to_string(term) + " (" +
                                quote(trimmed(text.substr(begin, end - begin))) + "): " + what);
  };
  skip_space();
  if (i == text.size()) throw std::invalid_argument("empty observable (write e.g. \"Z0\" or \"0.5*Z0 Z1 - X0\")");
  while (i < text.size()) {
    ++term;
    begin = i;
    double coef = 1.0;
    if (text[i] == '+' || text[i] == '-') {
      if (text[i] == '-') coef = -1.0;
      ++i;
      skip_space();
    }
    if (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
      double value = 0.0;
      const auto [ptr, ec] = std::from_chars(text.data() + i, text.data() + text.size(), value);
      const std::size_t number_begin = i;
      if (ec != std::errc()) {
        if (ptr != text.data() + i) i = static_cast<std::size_t>(ptr - text.data());
        fail(ec == std::errc::result_out_of_range
                 ? "coefficient " + quote(text.substr(number_begin, i - number_begin)) + " is out of range"
                 : "bad coefficient");
      }
      i = static_cast<std::size_t>(ptr - text.data());
      coef *= value;
      skip_space();
      if (i == text.size() || text[i] == '+' || text[i] == '-') {
        fail("a coefficient needs '*' and a Pauli string (write " +
             quote(trimmed(text.substr(begin, i - begin)) + "*I") + " for a constant)");
      }
      if (text[i] != '*') fail("expected '*' after the coefficient");
      ++i;
    }
    // The Pauli string runs to the next sign (its factors hold none).
    std::size_t stop = text.find_first_of("+-", i);
    if (stop == std::string_view::npos) stop = text.size();
    const std::string pauli_text = trimmed(text.substr(i, stop - i));
    if (pauli_text.empty()) fail("missing the Pauli string");
    try {
      out.terms.emplace_back(coef, PauliString::parse(pauli_text));
    } catch (const std::invalid_argument& e) {
      fail(noise::printable(e.what()));
    }
    i = stop;
  }
  return out;
}

int PauliSum::min_qubits() const {
  int n = 0;
  for (const auto& term : terms) n = std::max(n, term.second.min_qubits());
  return n;
}

std::string PauliSum::to_string() const {
  if (terms.empty()) return "0";
  std::string out;
  for (const auto& [coef, pauli] : terms) {
    const bool negative = std::signbit(coef);
    if (out.empty()) {
      out += negative ? "-" : "";
    } else {
      out += negative ? " - " : " + ";
    }
    const double magnitude = std::abs(coef);
    if (magnitude != 1.0) {
      char buf[64];
      const auto result = std::to_chars(buf, buf + sizeof buf, magnitude);
      out.append(buf, result.ptr);
      out += '*';
    }
    out += pauli.to_string();
  }
  return out;
}

// ---- Hamiltonian files -------------------------------------------------------------------------

namespace {

using json = nlohmann::json;

constexpr std::size_t kMaxHamiltonianBytes = std::size_t{64} << 20;
constexpr int kMaxHamiltonianDepth = 64;

[[noreturn]] void hamiltonian_error(const std::string& path, const std::string& where, const std::string& what) {
  throw std::invalid_argument(path + (where.empty() ? "" : ": " + where) + ": " + what);
}

std::string read_bounded(const std::string& path) {
  try {
    return noise::read_text_file(path, kMaxHamiltonianBytes, "Hamiltonian file");
  } catch (const noise::TextFileError& e) {
    throw std::invalid_argument(e.what());
  }
}

// Parses with the nesting bound and no duplicate keys: the callback sees every container and key,
// and tracks the JSON path to name a duplicate.
json parse_bounded(const std::string& text, const std::string& path) {
  struct Frame {
    bool object;
    std::string key;        // objects: the current key
    std::size_t count = 0;  // arrays: elements so far
    std::set<std::string> keys;
  };
  std::vector<Frame> frames;
  auto json_path = [&] {
    std::string p;
    for (const Frame& f : frames) {
      p += f.object ? (p.empty() ? "" : ".") + noise::printable(f.key, noise::kMaxQuotedBytes)
                    : "[" + std::to_string(f.count - 1) + "]";
    }
    return p;
  };
  const json::parser_callback_t check = [&](int, json::parse_event_t event, json& parsed) {
    using E = json::parse_event_t;
    if ((event == E::value || event == E::object_start || event == E::array_start) && !frames.empty() &&
        !frames.back().object) {
      ++frames.back().count;
    }
    if (event == E::object_start || event == E::array_start) {
      if (static_cast<int>(frames.size()) >= kMaxHamiltonianDepth) {
        hamiltonian_error(path, json_path(), "JSON nested deeper than " + std::to_string(kMaxHamiltonianDepth) +
                                                 " levels");
      }
      frames.push_back({event == E::object_start, "", 0, {}});
    } else if (event == E::object_end || event == E::array_end) {
      frames.pop_back();
    } else if (event == E::key) {
      frames.back().key = parsed.get<std::string>();
      if (!frames.back().keys.insert(frames.back().key).second) hamiltonian_error(path, json_path(), "duplicate key");
    }
    return true;
  };
  try {
    return json::parse(text, check);
  } catch (const json::parse_error& e) {
    // nlohmann's message without its "[json.exception.parse_error.101] parse error at line L, column C: ".
    const std::string what = e.what();
    std::size_t start = what.find("column ");
    start = what.find(": ", start == std::string::npos ? 0 : start);
    const std::string reason = start == std::string::npos ? what : what.substr(start + 2);
    throw std::invalid_argument(path + ":" + noise::line_col(text, e.byte == 0 ? 0 : e.byte - 1) + ": invalid JSON (" +
                                noise::printable(reason, 200) + ")");
  } catch (const json::exception& e) {
    // A number beyond double's range ("[json.exception.out_of_range.406] number overflow parsing '1e400'").
    const std::string what = e.what();
    const std::size_t start = what.find("] ");
    throw std::invalid_argument(path + ": invalid JSON (" +
                                noise::printable(start == std::string::npos ? what : what.substr(start + 2), 200) +
                                ")");
  }
}

void only_keys(const json& j, const std::string& file, const std::string& where,
               std::initializer_list<const char*> allowed) {
  for (const auto& item : j.items()) {
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* k) { return item.key() == k; })) {
      std::string list;
      for (const char* k : allowed) list += (list.empty() ? "" : ", ") + std::string(k);
      hamiltonian_error(file, where, "unknown key " + quote(item.key()) + " (expected " + list + ")");
    }
  }
}

}  // namespace

PauliSum read_hamiltonian_file(const std::string& path) {
  const std::string text = read_bounded(path);
  const json doc = parse_bounded(text, path);
  if (!doc.is_object()) hamiltonian_error(path, "", "expected an object {\"terms\": [...]}");
  only_keys(doc, path, "", {"terms"});
  const auto terms = doc.find("terms");
  if (terms == doc.end()) hamiltonian_error(path, "", "missing \"terms\" (a list of {coefficient, pauli})");
  if (!terms->is_array() || terms->empty()) {
    hamiltonian_error(path, "terms", "expected a non-empty list of {\"coefficient\": c, \"pauli\": \"Z0 Z1\"}");
  }
  PauliSum sum;
  for (std::size_t i = 0; i < terms->size(); ++i) {
    const json& term = (*terms)[i];
    const std::string where = "terms[" + std::to_string(i) + "]";
    if (!term.is_object()) hamiltonian_error(path, where, "expected an object {\"coefficient\": c, \"pauli\": ...}");
    only_keys(term, path, where, {"coefficient", "pauli"});
    const auto coef = term.find("coefficient");
    const auto pauli = term.find("pauli");
    if (coef == term.end()) hamiltonian_error(path, where, "missing \"coefficient\" (a number)");
    if (pauli == term.end()) hamiltonian_error(path, where, "missing \"pauli\" (a Pauli string such as \"Z0 Z1\")");
    if (!coef->is_number() || !std::isfinite(coef->get<double>())) {
      hamiltonian_error(path, where + ".coefficient", "expected a finite number");
    }
    if (!pauli->is_string()) hamiltonian_error(path, where + ".pauli", "expected a Pauli string such as \"Z0 Z1\"");
    try {
      sum.terms.emplace_back(coef->get<double>(), PauliString::parse(pauli->get<std::string>()));
    } catch (const std::invalid_argument& e) {
      hamiltonian_error(path, where + ".pauli", noise::printable(e.what(), 200));
    }
  }
  return sum;
}

// ---- readout in expectations --------------------------------------------------------------------

double expectation_with_readout(const DensityMatrix& rho, const PauliString& pauli,
                                const noise::ReadoutModel& readout) {
  check_fits(rho, pauli);
  const int n = rho.num_qubits();
  const std::uint64_t support = pauli.x_mask | pauli.z_mask;
  // Readout groups disjoint from the string's qubits change only bits the parity ignores; the others
  // need every qubit of their group.
  std::uint64_t kept = support;
  std::vector<noise::ReadoutError> errors;
  for (const noise::ReadoutError& e : readout.errors()) {
    bool touches = false;
    for (int q : e.qubits) {
      if (q >= n) {
        throw std::invalid_argument("readout error on qubit " + std::to_string(q) + " of a " + std::to_string(n) +
                                    "-qubit state");
      }
      touches = touches || ((support >> q) & 1u);
    }
    if (!touches) continue;
    for (int q : e.qubits) kept |= std::uint64_t{1} << q;
    errors.push_back(e);
  }
  if (errors.empty()) return expectation(rho, pauli);
  // The kept qubits in ascending order become qubits 0..k-1 of the reduced state.
  std::vector<int> qubits, position(static_cast<std::size_t>(n), -1);
  for (int q = 0; q < n; ++q) {
    if ((kept >> q) & 1u) {
      position[static_cast<std::size_t>(q)] = static_cast<int>(qubits.size());
      qubits.push_back(q);
    }
  }
  for (noise::ReadoutError& e : errors) {
    for (int& q : e.qubits) q = position[static_cast<std::size_t>(q)];
  }
  const int k = static_cast<int>(qubits.size());
  std::vector<double> probabilities;
  if (pauli.x_mask == 0) {
    probabilities = rho.marginal_probabilities(qubits);
  } else {
    require_memory(k, density_matrix_bytes(k), "the rotated copy of the state for readout in expectations");
    DensityMatrix rotated = rho.reduced(qubits);
    for (int j = 0; j < k; ++j) {
      const int q = qubits[static_cast<std::size_t>(j)];
      if (!((pauli.x_mask >> q) & 1u)) continue;
      if ((pauli.z_mask >> q) & 1u) rotated.apply(Gate::kSdg, {j});  // Y: S^dagger then H maps Y to Z
      rotated.apply(Gate::kH, {j});                                   // X: H maps X to Z
    }
    probabilities = rotated.probabilities();
  }
  noise::ReadoutModel(std::move(errors)).apply(probabilities, k);
  std::uint64_t parity_mask = 0;
  for (int j = 0; j < k; ++j) {
    if ((support >> qubits[static_cast<std::size_t>(j)]) & 1u) parity_mask |= std::uint64_t{1} << j;
  }
  double sum = 0.0;
  for (std::size_t x = 0; x < probabilities.size(); ++x) {
    sum += (__builtin_popcountll(x & parity_mask) & 1) ? -probabilities[x] : probabilities[x];
  }
  return sum;
}

double expectation_with_readout(const DensityMatrix& rho, const PauliSum& sum, const noise::ReadoutModel& readout) {
  double total = 0.0;
  for (const auto& [coef, pauli] : sum.terms) total += coef * expectation_with_readout(rho, pauli, readout);
  return total;
}

// ---- shot estimates -----------------------------------------------------------------------------

ShotEstimate estimate_with_shots(const std::vector<double>& term_expectations, const PauliSum& sum,
                                 std::uint64_t shots, std::mt19937_64& rng) {
  if (term_expectations.size() != sum.terms.size()) {
    throw std::invalid_argument("shot estimate: " + std::to_string(term_expectations.size()) +
                                " expectation(s) for " + std::to_string(sum.terms.size()) + " term(s)");
  }
  if (shots < 2) {
    throw std::invalid_argument("a shot estimate needs at least 2 shots (for the sample variance), got " +
                                std::to_string(shots));
  }
  const double n = static_cast<double>(shots);
  ShotEstimate out;
  out.shots = shots;
  double variance = 0.0;
  for (std::size_t i = 0; i < sum.terms.size(); ++i) {
    const auto& [coef, pauli] = sum.terms[i];
    if (pauli.is_identity()) {
      out.value += coef;
      continue;
    }
    const double e = term_expectations[i];
    if (!(std::abs(e) <= 1.0 + 1e-9)) {
      throw std::invalid_argument("shot estimate: the expectation " + std::to_string(e) + " of term '" +
                                  pauli.to_string() + "' is outside [-1, 1]");
    }
    const double p_plus = std::clamp((1.0 + e) / 2.0, 0.0, 1.0);
    const std::uint64_t plus = std::binomial_distribution<std::uint64_t>(shots, p_plus)(rng);
    const double mean = (2.0 * static_cast<double>(plus) - n) / n;
    out.value += coef * mean;
    variance += coef * coef * n * (1.0 - mean * mean) / (n - 1.0);
  }
  out.standard_error = std::sqrt(variance / n);
  return out;
}

}  // namespace kraus::engine
