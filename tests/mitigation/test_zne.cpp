// mitigate(): published cases (Mitiq, LaRose et al. 2022) and analytic ones through the whole pipeline
// (scaling, exact simulation, extrapolation), gradients through ZNE, shots and bootstrap, options.
#include <cmath>

#include "kraus/engine/simulator.hpp"
#include "kraus/mitigation/zne.hpp"
#include "reference/test_support.hpp"

using namespace kraus::engine;
using namespace kraus::mitigation;
using kraus::noise::NoiseModel;

namespace {

NoiseModel after_every_gate(const std::string& type, const std::string& key, double value,
                            std::vector<std::string> gates = {"*"}) {
  NoiseModel m;
  kraus::noise::GateNoiseRule rule;
  rule.gates = std::move(gates);
  rule.channel.type = type;
  rule.channel.params[key] = value;
  m.gate_noise.push_back(rule);
  return m;
}

Circuit chain_of_x(int n) {
  Circuit c(1);
  for (int i = 0; i < n; ++i) c.add_gate(Gate::kX, {0});
  return c;
}

// rho_00 = (1 + Z0) / 2.
PauliSum projector_zero() {
  PauliSum p;
  p.terms.push_back({0.5, PauliString::parse("I")});
  p.terms.push_back({0.5, PauliString::parse("Z0")});
  return p;
}

ZneOptions options(std::vector<double> s, const char* method, const char* extrapolator) {
  ZneOptions o;
  o.scale_factors = std::move(s);
  o.method = parse_scaling_method(method, &o.layer);
  o.extrapolator = ExtrapolatorSpec::parse(extrapolator);
  return o;
}

}  // namespace

TEST_CASE("Mitiq paper (LaRose et al. 2022): 50 X gates under depolarising noise", "[mitigation][zne]") {
  const Circuit c = chain_of_x(50);
  const NoiseModel model = after_every_gate("depolarizing", "p", 0.01);
  const PauliSum rho00 = projector_zero();
  {
    DensityMatrix rho(1);
    simulate(c, &model, rho);
    REQUIRE_CLOSE(rho.probabilities()[0], 0.7555599657756668, 1e-14);
  }
  SECTION("Richardson on 1, 2, 3 with global or random folding (CB5, CB14)") {
    const ZneResult global = mitigate(c, &model, rho00, options({1, 2, 3}, "fold-global", "richardson"));
    REQUIRE_CLOSE(global.value, 0.9415779221792384, 1e-12);
    REQUIRE_FALSE(global.standard_error.has_value());
    REQUIRE_CLOSE(global.noisy_values[0], 0.755559965775667, 1e-14);
    REQUIRE_CLOSE(global.noisy_values[1], 0.630621792214520, 1e-14);
    REQUIRE_CLOSE(global.noisy_values[2], 0.566763401495798, 1e-14);
    REQUIRE(global.realized_scale_factors == std::vector<double>{1, 2, 3});
    REQUIRE(global.weights.size() == 3);
    REQUIRE_CLOSE(global.weights[0], 3.0, 1e-12);
    for (std::uint64_t seed : {1, 2, 99}) {
      ZneOptions o = options({1, 2, 3}, "fold-random", "richardson");
      o.seed = seed;
      REQUIRE_CLOSE(mitigate(c, &model, rho00, o).value, 0.9415779221792384, 1e-12);
    }
    REQUIRE_CLOSE(mitigate(c, &model, rho00, options({1, 2, 3}, "fold-global", "poly:2")).value, 0.9415779221792384,
                  1e-12);
  }
  SECTION("Linear (CB16), poly on 1, 3, 5 (CB19), exponential on 1..9 (CB6)") {
    const ZneResult lin = mitigate(c, &model, rho00, options({1, 2, 3}, "fold-random", "linear"));
    REQUIRE_CLOSE(lin.value, 0.8397782841085306, 1e-12);
    REQUIRE_CLOSE(*lin.standard_error, 0.03808993677581796, 1e-12);
    REQUIRE_CLOSE(mitigate(c, &model, rho00, options({1, 3, 5}, "fold-global", "poly:2")).value, 0.9022612503279156,
                  1e-12);
    const ZneResult e = mitigate(c, &model, rho00, options({1, 3, 5, 7, 9}, "fold-global", "exp"));
    REQUIRE_CLOSE(e.value, 1.0, 1e-8);
    REQUIRE_CLOSE(e.fit_parameters[2], -0.671151016607033, 1e-7);
    REQUIRE(e.extrapolator == "exp");
    REQUIRE(e.method == "fold-global");
  }
}

TEST_CASE("global depolarising: exp with asymptote is exact, Richardson is biased", "[mitigation][zne]") {
  const Circuit c = chain_of_x(10);
  // rho -> (1 - p) rho + p I/2 with p = 0.01 is kraus' depolarising with lambda = 0.01.
  const NoiseModel model = after_every_gate("depolarizing", "lambda", 0.01);
  const PauliString z = PauliString::parse("Z0");
  const ZneResult r135 = mitigate(c, &model, z, options({1, 3, 5}, "fold-global", "richardson"));
  REQUIRE_CLOSE(r135.noisy_values[0], 0.9043820750088044, 1e-14);
  REQUIRE_CLOSE(r135.noisy_values[1], 0.7397003733882802, 1e-14);
  REQUIRE_CLOSE(r135.noisy_values[2], 0.6050060671375364, 1e-14);
  REQUIRE_CLOSE(r135.value, 0.9979681990827333, 1e-12);
  REQUIRE(r135.observable == "Z0");
  REQUIRE_CLOSE(mitigate(c, &model, z, options({1, 3, 5}, "fold-global", "linear")).value, 0.9742281777483242, 1e-12);
  REQUIRE_CLOSE(mitigate(c, &model, z, options({1, 3, 5}, "fold-global", "exp:0")).value, 1.0, 1e-12);
  const ZneResult r123 = mitigate(c, &model, z, options({1, 2, 3}, "fold-global", "richardson"));
  REQUIRE_CLOSE(r123.noisy_values[1], 0.8179069375972308, 1e-14);
  REQUIRE_CLOSE(r123.value, 0.9991257856230008, 1e-12);
  REQUIRE_CLOSE(mitigate(c, &model, z, options({1, 2, 3}, "fold-global", "linear")).value, 0.9853448302852963, 1e-12);
  REQUIRE_CLOSE(mitigate(c, &model, z, options({1, 2, 3}, "fold-global", "exp:0")).value, 1.0, 1e-12);
  REQUIRE_CLOSE(mitigate(c, &model, z, options({1, 2, 3, 4}, "fold-global", "exp")).value, 1.0, 1e-8);
  // AdaExp picks 1, 2, then min(1 + 1.27846 / (10 |ln 0.99|), 6) = 6, realised exactly for N = 10.
  const ZneResult ada = mitigate(c, &model, z, options({}, "fold-global", "adaexp:3:0"));
  REQUIRE(ada.scale_factors == std::vector<double>{1, 2, 6});
  REQUIRE(ada.realized_scale_factors == std::vector<double>{1, 2, 6});
  REQUIRE_CLOSE(ada.value, 1.0, 1e-12);
  REQUIRE(ada.extrapolator == "adaexp:3:0");
}

TEST_CASE("channel-strength scaling: Richardson exact on polynomial noise", "[mitigation][zne]") {
  Circuit xx = chain_of_x(2);
  const NoiseModel depol = after_every_gate("depolarizing", "p", 0.05);
  const ZneResult r = mitigate(xx, &depol, projector_zero(), options({1, 2, 3}, "scale-noise", "richardson"));
  REQUIRE_CLOSE(r.noisy_values[0], 0.9355555555555553, 1e-14);
  REQUIRE_CLOSE(r.noisy_values[1], 0.8755555555555554, 1e-14);
  REQUIRE_CLOSE(r.noisy_values[2], 0.82, 1e-14);
  REQUIRE_CLOSE(r.value, 1.0, 1e-13);
  REQUIRE(r.realized_scale_factors == std::vector<double>{1, 2, 3});
  REQUIRE_CLOSE(mitigate(xx, &depol, projector_zero(), options({1, 2, 3}, "scale-noise", "linear")).value,
                0.9925925925925922, 1e-13);
  // Amplitude damping scales by rate (gamma_s = 1 - 0.9^s): <Z> = 1 - 0.9^s (1 - cos 1) is
  // exponential, so exp with asymptote 1 recovers cos(1) exactly.
  Circuit rx(1);
  rx.add_gate(Gate::kRX, {0}, {1.0});
  const NoiseModel damping = after_every_gate("amplitude_damping", "gamma", 0.1);
  const PauliString z = PauliString::parse("Z0");
  REQUIRE_CLOSE(mitigate(rx, &damping, z, options({1, 2, 3}, "scale-noise", "exp:1")).value, 0.5403023058681397,
                1e-12);
  REQUIRE_CLOSE(mitigate(rx, &damping, z, options({1, 2, 3, 4}, "scale-noise", "exp")).value, 0.5403023058681397,
                1e-8);
  // Non-integer factors are exact for channel scaling.
  const ZneResult frac = mitigate(rx, &damping, z, options({1, 1.5, 2.25}, "scale-noise", "exp:1"));
  REQUIRE(frac.realized_scale_factors == std::vector<double>{1, 1.5, 2.25});
  REQUIRE_CLOSE(frac.value, 0.5403023058681397, 1e-12);
}

TEST_CASE("gradient through ZNE equals finite differences of the mitigated value", "[mitigation][zne][gradient]") {
  const double theta = 0.9;
  auto circuit = [](double t) {
    Circuit c(2);
    c.add_gate(Gate::kH, {0});
    c.add_gate(Gate::kCX, {0, 1});
    c.add_gate(Gate::kRY, {0}, {t});
    c.add_gate(Gate::kRX, {1}, {0.4});
    c.add_gate(Gate::kS, {1});
    return c;
  };
  const NoiseModel model = after_every_gate("depolarizing", "p", 0.02);
  PauliSum obs;
  obs.terms.push_back({1.0, PauliString::parse("Z0 Z1")});
  obs.terms.push_back({0.5, PauliString::parse("X0")});
  obs.terms.push_back({0.25, PauliString::parse("Y1")});
  const double pi = std::acos(-1.0);

  struct Case {
    std::vector<double> s;
    const char* method;
    const char* extrapolator;
  };
  const Case cases[] = {{{1, 2, 3}, "fold-global", "richardson"},
                        {{1, 1.5, 2, 2.5}, "scale-noise", "linear"},
                        {{1, 2, 3, 4}, "fold-random", "poly:2"},
                        {{1, 3, 5}, "fold-all", "richardson"}};
  for (const Case& k : cases) {
    INFO(k.method << " " << k.extrapolator);
    ZneOptions o = options(k.s, k.method, k.extrapolator);
    o.seed = 17;
    const ZneResult at = mitigate(circuit(theta), &model, obs, o);
    REQUIRE(at.weights.size() == k.s.size());
    DensityMatrix rho(2);
    // dE(s_j)/dtheta by the parameter-shift rule on every copy of ry(theta) in the scaled circuit
    // (copies inside an inverse carry -theta and count with a minus sign).
    double gradient = 0.0;
    for (std::size_t j = 0; j < k.s.size(); ++j) {
      const ScaledCircuit sc = scale_circuit(circuit(theta), k.s[j], o, o.seed);
      const NoiseModel scaled = o.method == ScalingMethod::kScaleNoise ? model.scaled(k.s[j]) : model;
      const auto& ops = sc.circuit.operations();
      double dj = 0.0;
      for (std::size_t i = 0; i < ops.size(); ++i) {
        if (ops[i].kind != OpKind::kGate || ops[i].gate != Gate::kRY) continue;
        const double a = ops[i].params[0];
        const double sign = a > 0 ? 1.0 : -1.0;
        double e[2];
        for (int pm = 0; pm < 2; ++pm) {
          Circuit shifted(2);
          for (std::size_t m = 0; m < ops.size(); ++m) {
            Operation op = ops[m];
            if (m == i) op.params[0] = a + (pm == 0 ? pi / 2 : -pi / 2);
            shifted.add(op);
          }
          simulate(shifted, &scaled, rho);
          e[pm] = expectation(rho, obs);
        }
        dj += sign * (e[0] - e[1]) / 2.0;
      }
      gradient += at.weights[j] * dj;
    }
    const double h = 1e-5;
    const double fd = (mitigate(circuit(theta + h), &model, obs, o).value -
                       mitigate(circuit(theta - h), &model, obs, o).value) / (2 * h);
    REQUIRE_CLOSE(gradient, fd, 1e-8);
    REQUIRE(std::fabs(gradient) > 1e-3);  // not trivially zero
  }
}

TEST_CASE("shots: seeded sampling and a bootstrap error near the analytic one", "[mitigation][zne][bootstrap]") {
  const Circuit c = chain_of_x(50);
  const NoiseModel model = after_every_gate("depolarizing", "p", 0.01);
  const PauliString z = PauliString::parse("Z0");
  ZneOptions o = options({1, 2, 3}, "fold-global", "linear");
  o.shots = 20000;
  o.bootstrap_samples = 2000;
  o.seed = 5;
  const ZneResult r = mitigate(c, &model, z, o);
  REQUIRE(r.bootstrap.has_value());
  REQUIRE(r.standard_error == r.bootstrap->standard_error);
  REQUIRE(r.fit_standard_error.has_value());
  double var = 0.0;
  for (std::size_t j = 0; j < 3; ++j) {
    const double e = r.exact_noisy_values[j];
    var += r.weights[j] * r.weights[j] * (1 - e * e) / static_cast<double>(o.shots);
  }
  const double analytic = std::sqrt(var);
  REQUIRE(*r.standard_error > 0.85 * analytic);
  REQUIRE(*r.standard_error < 1.15 * analytic);
  // The sampled estimate is within 5 sigma of the exact linear extrapolation 2 * 0.83977... - 1.
  REQUIRE(std::fabs(r.value - (2 * 0.8397782841085306 - 1)) < 5 * analytic);
  // Same seed, same numbers; another seed, other numbers.
  const ZneResult again = mitigate(c, &model, z, o);
  REQUIRE(again.value == r.value);
  REQUIRE(*again.standard_error == *r.standard_error);
  o.seed = 6;
  REQUIRE(mitigate(c, &model, z, o).value != r.value);
  // Sums of Pauli strings: identity terms are not sampled.
  o.seed = 5;
  const ZneResult p = mitigate(c, &model, projector_zero(), o);
  REQUIRE(std::fabs(p.value - 0.8397782841085306) < 5 * analytic);
}

TEST_CASE("options, parsing and refusals", "[mitigation][zne]") {
  REQUIRE(parse_scale_factors("1,2,3") == std::vector<double>{1, 2, 3});
  REQUIRE(parse_scale_factors(" 1, 1.5 ,3") == std::vector<double>{1, 1.5, 3});
  for (const char* bad : {"", "1,,2", "1,x", "0.5,1", "1,2,", "nan", "1;2"}) {
    INFO("'" << bad << "'");
    REQUIRE_THROWS_AS(parse_scale_factors(bad), std::invalid_argument);
  }
  int layer = -1;
  REQUIRE(parse_scaling_method("fold-layer:3", &layer) == ScalingMethod::kFoldLayer);
  REQUIRE(layer == 3);
  for (const char* name : {"fold-global", "fold-random", "fold-all", "identity", "scale-noise"}) {
    REQUIRE(scaling_method_name(parse_scaling_method(name)) == name);
  }
  REQUIRE_THROWS_WITH(parse_scaling_method("fold"), Catch::Matchers::Contains("fold-global, fold-random"));
  REQUIRE_THROWS_AS(parse_scaling_method("fold-layer:x"), std::invalid_argument);

  std::string why;
  ZneOptions o;
  REQUIRE(o.IsValid(&why));
  o.scale_factors = {1};
  REQUIRE_FALSE(o.IsValid(&why));
  o.scale_factors = {1, 2, 2};
  REQUIRE_FALSE(o.IsValid(&why));
  REQUIRE(why.find("distinct") != std::string::npos);
  o.scale_factors = {0.5, 2};
  REQUIRE_FALSE(o.IsValid(&why));
  o.scale_factors = {1, 2, 3};
  o.extrapolator = ExtrapolatorSpec::parse("poly:3");
  REQUIRE_FALSE(o.IsValid(&why));
  REQUIRE(why.find("at least 4") != std::string::npos);
  o.extrapolator = ExtrapolatorSpec::parse("exp");
  REQUIRE(o.IsValid(&why));
  o.num_to_average = 0;
  REQUIRE_FALSE(o.IsValid(&why));

  const Circuit c = chain_of_x(4);
  const NoiseModel model = after_every_gate("depolarizing", "p", 0.3);
  const PauliString z = PauliString::parse("Z0");
  ZneOptions bad;
  bad.scale_factors = {1};
  REQUIRE_THROWS_AS(mitigate(c, &model, z, bad), std::invalid_argument);
  REQUIRE_THROWS_WITH(mitigate(c, nullptr, z, options({1, 2}, "scale-noise", "linear")),
                      Catch::Matchers::Contains("needs a noise model"));
  REQUIRE_THROWS_WITH(mitigate(c, &model, z, options({1, 2, 4}, "scale-noise", "linear")),
                      Catch::Matchers::Contains("scale-noise at s = 4"));
  REQUIRE_THROWS_AS(mitigate(c, &model, PauliString::parse("Z1"), ZneOptions{}), std::invalid_argument);
  REQUIRE_THROWS_AS(mitigate(c, &model, z, options({1, 2}, "fold-layer:9", "linear")), std::invalid_argument);
  DensityMatrix wrong(2);
  REQUIRE_THROWS_AS(mitigate(c, &model, z, ZneOptions{}, &wrong), std::invalid_argument);

  Circuit mid(1, 1);
  mid.add_gate(Gate::kX, {0});
  mid.add_measure(0, 0);
  mid.add_gate(Gate::kX, {0});
  REQUIRE_THROWS_AS(mitigate(mid, &model, z, ZneOptions{}), UnfoldableCircuitError);
  // Channel scaling needs no folding: mid-circuit measurements are fine there.
  REQUIRE_NOTHROW(mitigate(mid, &model, z, options({1, 2}, "scale-noise", "linear")));
  // A terminal measurement is fine for folding.
  Circuit terminal = chain_of_x(3);
  Circuit with_measure(1, 1);
  for (const Operation& op : terminal.operations()) with_measure.add(op);
  with_measure.add_measure(0, 0);
  REQUIRE_CLOSE(mitigate(with_measure, &model, z, ZneOptions{}).value, mitigate(terminal, &model, z, ZneOptions{}).value,
                1e-15);
}

TEST_CASE("several observables, one workspace, realised factors, warnings", "[mitigation][zne]") {
  Circuit c(2);
  c.add_gate(Gate::kH, {0});
  c.add_gate(Gate::kCX, {0, 1});
  c.add_gate(Gate::kS, {1});
  c.add_gate(Gate::kRY, {0}, {0.3});
  const NoiseModel model = after_every_gate("depolarizing", "p", 0.03);
  std::vector<PauliSum> obs(3);
  obs[0].terms.push_back({1.0, PauliString::parse("Z0 Z1")});
  obs[1].terms.push_back({1.0, PauliString::parse("X0 Y1")});
  obs[2] = projector_zero();
  const ZneOptions o = options({1, 2, 3}, "fold-global", "richardson");
  DensityMatrix workspace(2);
  const std::vector<ZneResult> all = mitigate(c, &model, obs, o, &workspace);
  REQUIRE(all.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const ZneResult one = mitigate(c, &model, obs[i], o);
    REQUIRE(all[i].value == one.value);
    REQUIRE(all[i].noisy_values == one.noisy_values);
  }
  REQUIRE(all[0].BriefReport().find("richardson, fold-global") != std::string::npos);

  // fold-all realises 1, 3, 5 for 1, 3, 4; the fit uses the requested factors unless asked.
  ZneOptions fa = options({1, 3, 4}, "fold-all", "linear");
  const ZneResult nominal = mitigate(c, &model, obs[0], fa);
  REQUIRE(nominal.realized_scale_factors == std::vector<double>{1, 3, 5});
  REQUIRE_CLOSE(nominal.value, extrapolate(fa.extrapolator, {1, 3, 4}, nominal.noisy_values).value, 1e-15);
  REQUIRE_FALSE(nominal.warnings.empty());  // 4 was realised as 5
  fa.use_realized_factors = true;
  const ZneResult realised = mitigate(c, &model, obs[0], fa);
  REQUIRE_CLOSE(realised.value, extrapolate(fa.extrapolator, {1, 3, 5}, realised.noisy_values).value, 1e-15);
  REQUIRE(realised.value != nominal.value);

  // Noise on "s" only: its inverse "sdg" is not amplified: a warning says so.
  const NoiseModel on_s = after_every_gate("depolarizing", "p", 0.03, {"s"});
  const ZneResult w = mitigate(c, &on_s, obs[0], o);
  bool found = false;
  for (const std::string& m : w.warnings) found = found || m.find("'sdg'") != std::string::npos;
  REQUIRE(found);
  REQUIRE(mitigate(c, &model, obs[0], o).warnings.empty());

  // Identity insertion takes the noise of rules that match id; without one, a warning.
  const ZneResult id = mitigate(c, &model, obs[0], options({1, 2, 3}, "identity", "richardson"));
  REQUIRE(id.realized_scale_factors == std::vector<double>{1, 2, 3});
  REQUIRE(id.noisy_values[1] < id.noisy_values[0]);
  const NoiseModel cx_only = after_every_gate("depolarizing", "p", 0.03, {"cx"});
  const ZneResult id2 = mitigate(c, &cx_only, obs[0], options({1, 2, 3}, "identity", "richardson"));
  REQUIRE_FALSE(id2.warnings.empty());

  // num_to_average for random folding averages independent folds.
  ZneOptions avg = options({1, 1.5, 2}, "fold-random", "linear");
  avg.num_to_average = 4;
  const ZneResult averaged = mitigate(c, &model, obs[0], avg);
  REQUIRE(averaged.realized_scale_factors[0] == 1.0);
  REQUIRE(averaged.realized_scale_factors[2] == 2.0);
}

TEST_CASE("folding keeps the noiseless value: ZNE of a noiseless run is the ideal value", "[mitigation][zne]") {
  Circuit c(2);
  c.add_gate(Gate::kH, {0});
  c.add_gate(Gate::kCRY, {0, 1}, {0.8});
  c.add_gate(Gate::kISwap, {0, 1});
  c.add_gate(Gate::kU3, {1}, {0.3, 0.2, 0.1});
  const PauliString zz = PauliString::parse("Z0 X1");
  DensityMatrix rho(2);
  simulate(c, nullptr, rho);
  const double ideal = expectation(rho, zz);
  for (const char* method : {"fold-global", "fold-random", "fold-all", "identity", "fold-layer:1"}) {
    INFO(method);
    const ZneResult r = mitigate(c, nullptr, zz, options({1, 1.5, 2, 3}, method, "linear"));
    for (double v : r.noisy_values) REQUIRE_CLOSE(v, ideal, 1e-12);
    REQUIRE_CLOSE(r.value, ideal, 1e-12);
  }
}

TEST_CASE("classical control is refused: only trajectories run it", "[mitigation][zne][if]") {
  Circuit c(2, 1);
  c.add_gate(Gate::kH, {0});
  c.add_measure(0, 0);
  c.add_gate(Gate::kX, {1});
  c.condition_last({0, 1, 1});
  const NoiseModel model = after_every_gate("depolarizing", "p", 0.01);
  for (const char* method : {"fold-global", "scale-noise"}) {
    INFO(method);
    try {
      (void)mitigate(c, &model, projector_zero(), options({1, 3}, method, "linear"));
      FAIL("no refusal");
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()) ==
            "classical control (if) needs the trajectory method: zero-noise extrapolation cannot run it");
    }
  }
}
