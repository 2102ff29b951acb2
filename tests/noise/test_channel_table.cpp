// The standard channel table as the single source of truth: its integrity, the validation of every
// parameter it lists, ChannelSpec::scaled, and the documentation checked against it.
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "kraus/noise/channel_table.hpp"
#include "kraus/noise/kernel_call.hpp"
#include "kraus/noise/kernels.hpp"
#include "kraus/noise/noise_model.hpp"
#include "reference/noise_support.hpp"
#include "reference/test_support.hpp"

#ifndef KRAUS_DOCS_DIR
#error "KRAUS_DOCS_DIR must name the docs/ folder"
#endif
#ifndef KRAUS_TEST_SOURCE_DIR
#error "KRAUS_TEST_SOURCE_DIR must name the tests/ folder"
#endif

namespace {

using kraus::test::to_arma;
using kraus::test::read_text;

namespace ref = kraus::test;
namespace noise = kraus::noise;
using ref::Complex;

constexpr double kTol = 1e-12;

noise::ChannelSpec make_spec(const std::string& type, std::map<std::string, double> params, std::string axis = "") {
  noise::ChannelSpec s;
  s.type = type;
  s.params = std::move(params);
  s.axis = std::move(axis);
  return s;
}

// A valid spec of every standard type (used to test each parameter's range).
noise::ChannelSpec sample_spec(const std::string& type) {
  if (type == "depolarizing") return make_spec(type, {{"p", 0.1}});
  if (type == "amplitude_damping") return make_spec(type, {{"gamma", 0.1}});
  if (type == "generalized_amplitude_damping") return make_spec(type, {{"gamma", 0.1}, {"excited_population", 0.2}});
  if (type == "phase_damping") return make_spec(type, {{"lambda", 0.1}});
  if (type == "bit_flip" || type == "phase_flip" || type == "bit_phase_flip") return make_spec(type, {{"p", 0.1}});
  if (type == "pauli") {
    noise::ChannelSpec s = make_spec(type, {});
    s.pauli_probabilities = {{"X", 0.1}, {"Z", 0.2}};
    return s;
  }
  if (type == "thermal_relaxation") {
    return make_spec(type, {{"t1", 50}, {"t2", 40}, {"time", 1}, {"excited_population", 0.1}});
  }
  if (type == "reset") return make_spec(type, {{"p0", 0.1}, {"p1", 0.2}});
  if (type == "coherent_overrotation") return make_spec(type, {{"angle", 0.1}}, "y");
  if (type == "kraus") {
    noise::ChannelSpec s = make_spec(type, {});
    s.kraus_operators = {noise::Matrix::rows_of({{0, 1}, {1, 0}})};
    return s;
  }
  if (type == "tensor") {
    noise::ChannelSpec s = make_spec(type, {});
    s.factors = {make_spec("amplitude_damping", {{"gamma", 0.1}}), make_spec("bit_flip", {{"p", 0.2}})};
    return s;
  }
  return {};
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

arma::cx_mat superop(const noise::ChannelSpec& spec, int arity = 1) { return to_arma(spec.build(arity).superoperator()); }

}  // namespace

TEST_CASE("the channel table is consistent", "[noise][table]") {
  const auto& types = noise::channel_types();
  REQUIRE(types.size() >= 12);
  std::set<std::string> names;
  for (const noise::ChannelType& t : types) {
    const std::string name(t.name);
    CAPTURE(name);
    CHECK(names.insert(name).second);  // unique
    CHECK(noise::find_channel_type(name) == &t);
    CHECK(!t.formula.empty());
    CHECK(!t.kraus.empty());
    CHECK((t.num_qubits == 0 || t.num_qubits == 1));
    std::set<std::string> params;
    for (const noise::ChannelParameter& p : t.params) {
      CAPTURE(p.name);
      CHECK(params.insert(std::string(p.name)).second);
      CHECK(p.min <= p.max);
      CHECK(!p.doc.empty());
      if (!p.required) CHECK((p.default_value >= p.min && p.default_value <= p.max));
    }
    // The sample spec used below is valid.
    const noise::ChannelSpec s = sample_spec(name);
    REQUIRE(s.type == name);
    CHECK_NOTHROW(s.build(s.fixed_num_qubits() > 0 ? s.fixed_num_qubits() : 1));
  }
  for (const char* expected : {"depolarizing", "amplitude_damping", "generalized_amplitude_damping", "phase_damping",
                               "bit_flip", "phase_flip", "bit_phase_flip", "pauli", "thermal_relaxation", "reset",
                               "coherent_overrotation", "kraus"}) {
    CAPTURE(expected);
    CHECK(names.count(expected) == 1);
  }
  CHECK(noise::find_channel_type("depolarising") == nullptr);
  CHECK(noise::find_channel_type("") == nullptr);
}

TEST_CASE("the kernel the table names for each channel type applies the channel's superoperator", "[noise][table]") {
  // A compiled program applies a rule's channel with the kernel ChannelSpec::kernel names; here each
  // kernel call is compared with the generic superoperator pass on a non-Hermitian matrix, on every
  // of several placements of the channel's qubits in a 4-qubit register.
  std::vector<std::pair<noise::ChannelSpec, int>> cases;
  for (const noise::ChannelType& t : noise::channel_types()) {
    const noise::ChannelSpec s = sample_spec(std::string(t.name));
    if (s.type == "tensor") continue;  // the noise model applies a tensor as its factors
    const int k = s.fixed_num_qubits();
    if (k > 0) {
      cases.push_back({s, k});
    } else {
      for (int arity = 1; arity <= 3; ++arity) cases.push_back({s, arity});
    }
  }
  noise::ChannelSpec pauli2 = make_spec("pauli", {});
  pauli2.pauli_probabilities = {{"XZ", 0.1}, {"YY", 0.05}, {"IX", 0.2}};
  cases.push_back({pauli2, 2});
  noise::ChannelSpec kraus2 = sample_spec("kraus");
  kraus2.kraus_operators = {noise::Matrix::rows_of({{1, 0}, {0, std::sqrt(0.7)}}),
                            noise::Matrix::rows_of({{0, std::sqrt(0.3)}, {0, 0}})};
  cases.push_back({kraus2, 1});
  const int n = 4;
  const arma::cx_mat start = ref::debug_matrix(n);
  std::set<noise::KernelKind> seen;
  for (const auto& [spec, k] : cases) {
    CAPTURE(spec.type, k);
    const noise::Channel channel = spec.build(k);
    const noise::KernelKind kind = spec.kernel(k);
    seen.insert(kind);
    const std::vector<std::vector<int>> placements =
        k == 1 ? std::vector<std::vector<int>>{{0}, {3}, {1}}
               : k == 2 ? std::vector<std::vector<int>>{{1, 3}, {3, 0}, {0, 1}} : std::vector<std::vector<int>>{{2, 0, 3}, {1, 2, 3}};
    for (const std::vector<int>& qubits : placements) {
      arma::cx_mat a = start, b = start;
      noise::apply(noise::channel_call(channel, qubits.data(), kind), a.memptr(), n);
      noise::apply_superoperator(b.memptr(), n, qubits.data(), k, channel.superoperator().data());
      CHECK(ref::max_abs_diff(a, b) <= kTol);
    }
  }
  // Every kernel kind is exercised, and the table names the cheap ones where they apply.
  CHECK(seen.size() == 4);
  CHECK(sample_spec("depolarizing").kernel(2) == noise::KernelKind::kDepolarizing);
  CHECK(sample_spec("thermal_relaxation").kernel(1) == noise::KernelKind::kRealBlock1q);
  CHECK(sample_spec("pauli").kernel(1) == noise::KernelKind::kRealBlock1q);
  CHECK(pauli2.kernel(2) == noise::KernelKind::kSuperoperator);
  CHECK(sample_spec("coherent_overrotation").kernel(1) == noise::KernelKind::kUnitary);
  CHECK(sample_spec("kraus").kernel(1) == noise::KernelKind::kUnitary);
  CHECK(kraus2.kernel(1) == noise::KernelKind::kSuperoperator);
  // A kernel that does not fit the channel is refused, not applied.
  const int q = 0;
  CHECK_THROWS_AS(noise::channel_call(sample_spec("amplitude_damping").build(1), &q, noise::KernelKind::kDepolarizing),
                  std::invalid_argument);
  CHECK_THROWS_AS(noise::channel_call(sample_spec("coherent_overrotation").build(1), &q, noise::KernelKind::kRealBlock1q),
                  std::invalid_argument);
}

TEST_CASE("every parameter in the table is range-checked, named in errors, and required when marked",
          "[noise][table][validation]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const noise::ChannelType& t : noise::channel_types()) {
    const std::string type(t.name);
    const noise::ChannelSpec sample = sample_spec(type);
    const int arity = sample.fixed_num_qubits() > 0 ? sample.fixed_num_qubits() : 1;
    for (const noise::ChannelParameter& p : t.params) {
      const std::string name(p.name);
      std::vector<double> bad = {nan};
      if (std::isfinite(p.min)) bad.push_back(p.min - 0.5);
      if (std::isfinite(p.max)) bad.push_back(p.max + 0.5);
      for (double v : bad) {
        CAPTURE(type, name, v);
        noise::ChannelSpec s = sample;
        if (type == "depolarizing") s.params.clear();  // p and lambda are exclusive
        s.params[name] = v;
        const std::string message = error_of([&] { s.build(arity); });
        INFO(message);
        CHECK(contains(message, name));
      }
      if (p.required) {
        CAPTURE(type, name);
        noise::ChannelSpec s = sample;
        s.params.erase(name);
        const std::string message = error_of([&] { s.build(arity); });
        INFO(message);
        CHECK(contains(message, name));
      }
    }
    CAPTURE(type);
    noise::ChannelSpec unknown = sample;
    unknown.params["bogus"] = 0.1;
    const std::string message = error_of([&] { unknown.build(arity); });
    INFO(message);
    CHECK(contains(message, "bogus"));
  }
  CHECK_THROWS_AS(make_spec("no_such_channel", {}).build(1), std::invalid_argument);
}

TEST_CASE("channel arities: fixed by the type or the data, open for depolarizing", "[noise][table]") {
  CHECK(sample_spec("amplitude_damping").fixed_num_qubits() == 1);
  CHECK(sample_spec("depolarizing").fixed_num_qubits() == 0);
  noise::ChannelSpec dep2 = sample_spec("depolarizing");
  dep2.num_qubits = 2;
  CHECK(dep2.fixed_num_qubits() == 2);
  for (int k : {1, 2, 3}) CHECK(sample_spec("depolarizing").build(k).num_qubits() == k);
  noise::ChannelSpec pauli2 = make_spec("pauli", {});
  pauli2.pauli_probabilities = {{"XZ", 0.1}};
  CHECK(pauli2.fixed_num_qubits() == 2);
  CHECK(pauli2.build(2).num_qubits() == 2);
  CHECK_THROWS_AS(pauli2.build(1), std::invalid_argument);
  CHECK_THROWS_AS(sample_spec("amplitude_damping").build(2), std::invalid_argument);
  noise::ChannelSpec kraus2 = make_spec("kraus", {});
  kraus2.kraus_operators = {noise::Matrix::identity(4)};
  CHECK(kraus2.fixed_num_qubits() == 2);
  CHECK_THROWS_AS(kraus2.build(1), std::invalid_argument);
  CHECK_THROWS_AS(dep2.build(1), std::invalid_argument);
}

TEST_CASE("pauli channel labels and probabilities are validated", "[noise][table][validation]") {
  CHECK_THROWS_AS(noise::pauli_channel({}), std::invalid_argument);
  CHECK_THROWS_AS(noise::pauli_channel({{"X", 0.1}, {"XZ", 0.1}}), std::invalid_argument);  // mixed lengths
  CHECK_THROWS_AS(noise::pauli_channel({{"A", 0.1}}), std::invalid_argument);
  CHECK_THROWS_AS(noise::pauli_channel({{"x", 0.1}}), std::invalid_argument);
  CHECK_THROWS_AS(noise::pauli_channel({{"XYZX", 0.1}}), std::invalid_argument);
  CHECK_THROWS_AS(noise::pauli_channel({{"X", -0.1}}), std::invalid_argument);
  CHECK_THROWS_AS(noise::pauli_channel({{"X", 0.6}, {"Y", 0.5}}), std::invalid_argument);
  CHECK_NOTHROW(noise::pauli_channel({{"X", 0.5}, {"Y", 0.5}}));
  CHECK_NOTHROW(noise::pauli_channel({{"XYZ", 0.5}}));
  // An explicit identity entry adds to the identity's weight.
  CHECK(ref::max_abs_diff(to_arma(noise::pauli_channel({{"I", 0.3}, {"X", 0.2}}).superoperator()),
                          to_arma(noise::bit_flip(0.2).superoperator())) <= kTol);
  CHECK_THROWS_AS(noise::reset_channel(0.6, 0.5), std::invalid_argument);
  CHECK_THROWS_AS(noise::coherent_overrotation('w', 0.1), std::invalid_argument);
  CHECK_THROWS_AS(make_spec("coherent_overrotation", {{"angle", 0.1}}).build(1), std::invalid_argument);  // no axis
  CHECK_THROWS_AS(noise::depolarizing(4, 0.1), std::invalid_argument);
  CHECK_THROWS_AS(noise::depolarizing(0, 0.1), std::invalid_argument);
}

// ---- scaling -------------------------------------------------------------------------------------

TEST_CASE("ChannelSpec::scaled: probabilities exactly, damping by rate, thermal time, kraus refused", "[noise][table][scaling]") {
  SECTION("Pauli-type probabilities are multiplied exactly") {
    for (double s : {0.0, 0.5, 1.0, 2.0, 3.0}) {
      CAPTURE(s);
      const double p = 0.013;
      CHECK(make_spec("depolarizing", {{"p", p}}).scaled(s).params.at("p") == p * s);
      CHECK(make_spec("depolarizing", {{"lambda", p}}).scaled(s).params.at("lambda") == p * s);
      for (const char* type : {"bit_flip", "phase_flip", "bit_phase_flip"}) {
        CHECK(make_spec(type, {{"p", p}}).scaled(s).params.at("p") == p * s);
      }
      noise::ChannelSpec pauli = make_spec("pauli", {});
      pauli.pauli_probabilities = {{"XZ", 0.01}, {"YY", 0.02}};
      const noise::ChannelSpec scaled = pauli.scaled(s);
      CHECK(scaled.pauli_probabilities.at("XZ") == 0.01 * s);
      CHECK(scaled.pauli_probabilities.at("YY") == 0.02 * s);
    }
    // p doubled, not the channel composed with itself.
    CHECK(ref::max_abs_diff(superop(make_spec("depolarizing", {{"p", 0.1}}).scaled(2), 2),
                            to_arma(noise::depolarizing(2, 0.2).superoperator())) <= kTol);
    CHECK(ref::max_abs_diff(superop(make_spec("bit_flip", {{"p", 0.1}}).scaled(2)),
                            to_arma(noise::bit_flip(0.2).superoperator())) <= kTol);
    // Beyond the range: an error, not a clipped value.
    CHECK_THROWS_AS(make_spec("depolarizing", {{"p", 0.6}}).scaled(2), std::invalid_argument);
    CHECK_THROWS_AS(make_spec("bit_flip", {{"p", 0.6}}).scaled(2), std::invalid_argument);
    noise::ChannelSpec big = make_spec("pauli", {});
    big.pauli_probabilities = {{"X", 0.3}, {"Z", 0.3}};
    CHECK_THROWS_AS(big.scaled(2), std::invalid_argument);
  }
  SECTION("damping strengths scale by rate; thermal relaxation by time") {
    for (double s : {0.0, 0.5, 2.0, 3.5}) {
      CAPTURE(s);
      const double g = 0.07;
      CHECK(std::abs(make_spec("amplitude_damping", {{"gamma", g}}).scaled(s).params.at("gamma") -
                     (1 - std::pow(1 - g, s))) <= 1e-15);
      const noise::ChannelSpec gad =
          make_spec("generalized_amplitude_damping", {{"gamma", g}, {"excited_population", 0.3}}).scaled(s);
      CHECK(std::abs(gad.params.at("gamma") - (1 - std::pow(1 - g, s))) <= 1e-15);
      CHECK(gad.params.at("excited_population") == 0.3);
      CHECK(std::abs(make_spec("phase_damping", {{"lambda", g}}).scaled(s).params.at("lambda") -
                     (1 - std::pow(1 - g, s))) <= 1e-15);
      const noise::ChannelSpec th =
          make_spec("thermal_relaxation", {{"t1", 50}, {"t2", 70}, {"time", 0.3}}).scaled(s);
      CHECK(th.params.at("time") == 0.3 * s);
      CHECK(th.params.at("t1") == 50);
      CHECK(th.params.at("t2") == 70);
      const noise::ChannelSpec rot = make_spec("coherent_overrotation", {{"angle", 0.2}}, "x").scaled(s);
      CHECK(rot.params.at("angle") == 0.2 * s);
      CHECK(rot.axis == "x");
      // Reset: the total probability by rate, split in the same proportion.
      const noise::ChannelSpec reset = make_spec("reset", {{"p0", 0.1}, {"p1", 0.3}}).scaled(s);
      const double total = 1 - std::pow(1 - 0.4, s);
      CHECK(std::abs(reset.params.at("p0") - 0.25 * total) <= 1e-15);
      CHECK(std::abs(reset.params.at("p1") - 0.75 * total) <= 1e-15);
    }
  }
  SECTION("scaled(2) of a rate-scaled channel is the channel applied twice") {
    const std::vector<noise::ChannelSpec> specs = {
        make_spec("amplitude_damping", {{"gamma", 0.15}}),
        make_spec("generalized_amplitude_damping", {{"gamma", 0.15}, {"excited_population", 0.3}}),
        make_spec("phase_damping", {{"lambda", 0.2}}),
        make_spec("thermal_relaxation", {{"t1", 50}, {"t2", 30}, {"time", 7}, {"excited_population", 0.05}}),
        make_spec("thermal_relaxation", {{"t1", 30}, {"t2", 55}, {"time", 7}}),
        make_spec("reset", {{"p0", 0.1}, {"p1", 0.05}}),
        make_spec("coherent_overrotation", {{"angle", 0.4}}, "z"),
    };
    for (const noise::ChannelSpec& spec : specs) {
      CAPTURE(spec.type);
      const arma::cx_mat once = superop(spec);
      CHECK(ref::max_abs_diff(superop(spec.scaled(2)), once * once) <= kTol);
      CHECK(ref::max_abs_diff(superop(spec.scaled(3)), once * once * once) <= kTol);
      CHECK(ref::max_abs_diff(superop(spec.scaled(1)), once) <= kTol);
    }
  }
  SECTION("scaled(0) is the identity for every standard type") {
    for (const noise::ChannelType& t : noise::channel_types()) {
      const std::string type(t.name);
      if (type == "kraus") continue;
      CAPTURE(type);
      const noise::ChannelSpec zero = sample_spec(type).scaled(0);
      const int arity = zero.fixed_num_qubits() > 0 ? zero.fixed_num_qubits() : 1;
      const arma::uword d2 = arma::uword{1} << (2 * arity);
      CHECK(ref::max_abs_diff(superop(zero, arity), arma::cx_mat(d2, d2, arma::fill::eye)) <= kTol);
    }
  }
  SECTION("general Kraus channels and bad factors are refused") {
    CHECK_THROWS_AS(sample_spec("kraus").scaled(2), std::invalid_argument);
    CHECK_THROWS_AS(sample_spec("kraus").scaled(1), std::invalid_argument);
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    for (double s : {-1.0, nan, inf}) {
      CAPTURE(s);
      CHECK_THROWS_AS(sample_spec("amplitude_damping").scaled(s), std::invalid_argument);
    }
  }
}

// ---- documentation checked against the table -----------------------------------------------------

TEST_CASE("docs/noise-model.md documents every channel type and parameter of the table", "[noise][table][docs]") {
  const std::string doc = read_text(std::string(KRAUS_DOCS_DIR) + "/noise-model.md");
  for (const noise::ChannelType& t : noise::channel_types()) {
    const std::string name(t.name);
    CAPTURE(name);
    CHECK(contains(doc, "`" + name + "`"));
    CHECK(contains(doc, "\"" + name + "\""));  // in a JSON example or the type list
    for (const noise::ChannelParameter& p : t.params) {
      CAPTURE(p.name);
      CHECK(contains(doc, "`" + std::string(p.name) + "`"));
    }
  }
  for (const char* key : {"gate_noise", "idle_noise", "readout", "calibration", "gates", "qubits", "channel",
                          "p1_given_0", "p0_given_1", "matrix", "probabilities", "operators", "axis", "num_qubits",
                          "t1", "t2", "error", "time", "excited_population"}) {
    CAPTURE(key);
    CHECK(contains(doc, std::string("`") + key + "`"));
  }
}

TEST_CASE("every JSON example in docs/noise-model.md is accepted", "[noise][table][docs]") {
  const std::string doc = read_text(std::string(KRAUS_DOCS_DIR) + "/noise-model.md");
  int models = 0, aer = 0;
  std::size_t pos = 0;
  while ((pos = doc.find("```json\n", pos)) != std::string::npos) {
    const std::size_t begin = pos + 8, end = doc.find("```", begin);
    REQUIRE(end != std::string::npos);
    const std::string block = doc.substr(begin, end - begin);
    pos = end + 3;
    CAPTURE(block);
    if (contains(block, "\"errors\"")) {
      CHECK_NOTHROW(noise::NoiseModel::from_aer_json(block));
      ++aer;
    } else {
      CHECK_NOTHROW(noise::NoiseModel::from_json(block, "docs/noise-model.md"));
      ++models;
    }
  }
  CHECK(models >= 3);
  CHECK(aer >= 1);
}

TEST_CASE("docs/reuse.md quotes the consumer program verbatim", "[noise][docs]") {
  const std::string doc = read_text(std::string(KRAUS_DOCS_DIR) + "/reuse.md");
  const std::string program = read_text(std::string(KRAUS_TEST_SOURCE_DIR) + "/consumer/main.cpp");
  const std::string cmake = read_text(std::string(KRAUS_TEST_SOURCE_DIR) + "/consumer/CMakeLists.txt");
  REQUIRE(program.size() > 100);
  CHECK(contains(doc, program));
  CHECK(contains(doc, cmake));
  for (const char* needle : {"cmake --install", "find_package(kraus", "kraus::noise", "r + c", "apply_channel",
                             "apply_kraus", "apply_depolarizing_1q", "apply_trajectory_step"}) {
    CAPTURE(needle);
    CHECK(contains(doc, needle));
  }
}
