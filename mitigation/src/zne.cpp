#include "kraus/mitigation/zne.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <random>
#include <set>
#include <sstream>

#include "kraus/engine/simulator.hpp"

namespace kraus::mitigation {
namespace {

using engine::Circuit;
using engine::Operation;
using engine::OpKind;

std::string fmt(double v, int precision = 10) {
  std::ostringstream out;
  out.precision(precision);
  out << v;
  return out.str();
}

std::string join(const std::vector<double>& v, int precision = 6) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + fmt(v[i], precision);
  return out;
}

constexpr const char* kMethods = "fold-global, fold-random, fold-all, fold-layer:L, identity, scale-noise";

std::string sum_to_string(const engine::PauliSum& sum) {
  std::string out;
  for (std::size_t i = 0; i < sum.terms.size(); ++i) {
    if (i) out += " + ";
    out += fmt(sum.terms[i].first, 12) + "*" + sum.terms[i].second.to_string();
  }
  return out.empty() ? "0" : out;
}

// Independent streams from one user seed (splitmix64 of seed and a stream tag).
std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

bool is_folding(ScalingMethod m) {
  return m == ScalingMethod::kFoldGlobal || m == ScalingMethod::kFoldRandom || m == ScalingMethod::kFoldAll ||
         m == ScalingMethod::kFoldLayer || m == ScalingMethod::kIdentity;
}

bool is_random(ScalingMethod m) { return m == ScalingMethod::kFoldRandom || m == ScalingMethod::kIdentity; }

std::size_t min_points(const ExtrapolatorSpec& spec) {
  switch (spec.kind) {
    case ExtrapolatorKind::kLinear:
    case ExtrapolatorKind::kRichardson: return 2;
    case ExtrapolatorKind::kPolynomial: return static_cast<std::size_t>(spec.order) + 1;
    case ExtrapolatorKind::kExponential:
    case ExtrapolatorKind::kAdaptiveExponential: return spec.asymptote ? 2 : 3;
    case ExtrapolatorKind::kPolyExponential: return static_cast<std::size_t>(spec.order) + (spec.asymptote ? 1 : 2);
  }
  return 2;
}

// Warnings about noise rules that folding does not amplify uniformly.
std::vector<std::string> noise_warnings(const Circuit& circuit, const noise::NoiseModel* model, const ZneOptions& o) {
  std::vector<std::string> out;
  if (model == nullptr) return out;
  if (o.method == ScalingMethod::kIdentity) {
    bool any = false;
    for (int q = 0; q < circuit.num_qubits() && !any; ++q) any = !model->channels_after("id", {q}).empty();
    if (!any) {
      out.push_back("identity insertion: no noise rule applies to 'id' gates, so the inserted layers add no noise; "
                    "add an 'id' or '*' rule, or use fold-global or scale-noise");
    }
    return out;
  }
  if (!is_folding(o.method)) return out;
  std::set<std::string> seen;
  for (const Operation& op : circuit.operations()) {
    if (op.kind != OpKind::kGate && op.kind != OpKind::kUnitary) continue;
    const Operation inv = engine::inverse(op);
    if (inv.name() == op.name()) continue;
    const auto a = model->channels_after(op.name(), op.qubits);
    const auto b = model->channels_after(inv.name(), inv.qubits);
    bool same = a.size() == b.size();
    for (std::size_t i = 0; same && i < a.size(); ++i) {
      same = a[i].qubits == b[i].qubits &&
             (a[i].channel->superoperator() - b[i].channel->superoperator()).max_abs() == 0.0;
    }
    if (same) continue;
    const std::string key = op.name() + "/" + inv.name();
    if (!seen.insert(key).second) continue;
    out.push_back("the noise after '" + op.name() + "' differs from the noise after its inverse '" + inv.name() +
                  "' (by name or qubits), so folding does not scale the noise of these gates by the nominal factor");
  }
  return out;
}

// Per-term exact expectations of every observable at one scale factor.
using TermValues = std::vector<std::vector<double>>;  // [observable][term]

struct Point {
  double requested = 1.0;
  double realized = 1.0;
  TermValues terms;
};

class Runner {
 public:
  Runner(const Circuit& circuit, const noise::NoiseModel* model, const std::vector<engine::PauliSum>& observables,
         const ZneOptions& options, engine::DensityMatrix& rho)
      : circuit_(circuit), model_(model), observables_(observables), options_(options), rho_(rho) {}

  Point run(double s) {
    Point p;
    p.requested = s;
    p.realized = 0.0;
    p.terms.resize(observables_.size());
    for (std::size_t o = 0; o < observables_.size(); ++o) p.terms[o].assign(observables_[o].terms.size(), 0.0);
    const int reps = is_random(options_.method) ? options_.num_to_average : 1;
    std::optional<noise::NoiseModel> scaled_model;
    const noise::NoiseModel* model = model_;
    if (options_.method == ScalingMethod::kScaleNoise && s != 1.0) {
      try {
        scaled_model.emplace(model_->scaled(s));
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("scale-noise at s = " + fmt(s) + ": " + e.what());
      }
      model = &*scaled_model;
    }
    for (int r = 0; r < reps; ++r) {
      const ScaledCircuit sc = scale_circuit(circuit_, s, options_, options_.seed + static_cast<std::uint64_t>(r));
      engine::simulate(sc.circuit, model, rho_);
      p.realized += sc.realized_scale_factor / reps;
      for (std::size_t o = 0; o < observables_.size(); ++o) {
        for (std::size_t t = 0; t < observables_[o].terms.size(); ++t) {
          p.terms[o][t] += engine::expectation(rho_, observables_[o].terms[t].second) / reps;
        }
      }
    }
    return p;
  }

 private:
  const Circuit& circuit_;
  const noise::NoiseModel* model_;
  const std::vector<engine::PauliSum>& observables_;
  const ZneOptions& options_;
  engine::DensityMatrix& rho_;
};

double combine(const engine::PauliSum& sum, const std::vector<double>& term_values) {
  double v = 0.0;
  for (std::size_t t = 0; t < sum.terms.size(); ++t) {
    v += sum.terms[t].first * (sum.terms[t].second.is_identity() ? 1.0 : term_values[t]);
  }
  return v;
}

// Shot counts of +1 outcomes per term, drawn from the exact distribution.
std::vector<std::uint64_t> sample_plus(const engine::PauliSum& sum, const std::vector<double>& exact,
                                       std::uint64_t shots, std::mt19937_64& rng) {
  std::vector<std::uint64_t> out(sum.terms.size(), 0);
  for (std::size_t t = 0; t < sum.terms.size(); ++t) {
    if (sum.terms[t].second.is_identity()) continue;
    const double p = std::clamp((1.0 + exact[t]) / 2.0, 0.0, 1.0);
    std::binomial_distribution<std::uint64_t> bin(shots, p);
    out[t] = bin(rng);
  }
  return out;
}

double value_from_counts(const engine::PauliSum& sum, const std::vector<std::uint64_t>& plus, std::uint64_t shots) {
  double v = 0.0;
  for (std::size_t t = 0; t < sum.terms.size(); ++t) {
    const double e = sum.terms[t].second.is_identity()
                         ? 1.0
                         : 2.0 * static_cast<double>(plus[t]) / static_cast<double>(shots) - 1.0;
    v += sum.terms[t].first * e;
  }
  return v;
}

ExtrapolatorSpec fit_spec(const ExtrapolatorSpec& spec) {
  if (spec.kind != ExtrapolatorKind::kAdaptiveExponential) return spec;
  ExtrapolatorSpec exp = spec;
  exp.kind = ExtrapolatorKind::kExponential;
  return exp;
}

// Fills the result from the points of one observable.
void finish(ZneResult& r, const engine::PauliSum& sum, const std::vector<Point>& points, std::size_t o,
            const ZneOptions& options, std::mt19937_64& shot_rng, std::uint64_t bootstrap_seed,
            const std::optional<ExtrapolationResult>& adaptive_fit) {
  r.scale_factors.clear();
  r.realized_scale_factors.clear();
  r.exact_noisy_values.clear();
  r.noisy_values.clear();
  std::vector<std::vector<std::uint64_t>> plus;
  for (const Point& p : points) {
    r.scale_factors.push_back(p.requested);
    r.realized_scale_factors.push_back(p.realized);
    r.exact_noisy_values.push_back(combine(sum, p.terms[o]));
    if (options.shots > 0) {
      plus.push_back(sample_plus(sum, p.terms[o], options.shots, shot_rng));
      r.noisy_values.push_back(value_from_counts(sum, plus.back(), options.shots));
    } else {
      r.noisy_values.push_back(r.exact_noisy_values.back());
    }
  }
  const std::vector<double>& x = options.use_realized_factors ? r.realized_scale_factors : r.scale_factors;
  const ExtrapolatorSpec spec = fit_spec(options.extrapolator);
  if (adaptive_fit && options.shots == 0 && !options.use_realized_factors) {
    r.fit = *adaptive_fit;
  } else {
    r.fit = extrapolate(spec, x, r.noisy_values);
  }
  r.fit.extrapolator = options.extrapolator.name();
  r.extrapolator = options.extrapolator.name();
  r.value = r.fit.value;
  r.fit_parameters = r.fit.parameters;
  r.weights = r.fit.weights;
  r.fit_standard_error = r.fit.standard_error;
  r.standard_error = r.fit.standard_error;
  if (options.shots > 0) {
    const std::uint64_t shots = options.shots;
    auto resample = [&](std::mt19937_64& rng) {
      std::vector<double> y(points.size());
      for (std::size_t j = 0; j < points.size(); ++j) {
        std::vector<std::uint64_t> redrawn(sum.terms.size(), 0);
        for (std::size_t t = 0; t < sum.terms.size(); ++t) {
          if (sum.terms[t].second.is_identity()) continue;
          std::binomial_distribution<std::uint64_t> bin(
              shots, static_cast<double>(plus[j][t]) / static_cast<double>(shots));
          redrawn[t] = bin(rng);
        }
        y[j] = value_from_counts(sum, redrawn, shots);
      }
      return y;
    };
    BootstrapOptions bo;
    bo.samples = options.bootstrap_samples;
    bo.seed = bootstrap_seed;
    r.bootstrap = bootstrap(spec, x, resample, bo);
    r.standard_error = r.bootstrap->standard_error;
  }
  for (std::size_t j = 0; j < points.size(); ++j) {
    const double req = r.scale_factors[j], real = r.realized_scale_factors[j];
    if (std::fabs(real - req) > 0.01 * req) {
      r.warnings.push_back("scale factor " + fmt(req, 6) + " was realised as " + fmt(real, 6) +
                           (options.use_realized_factors ? "" : " (the fit uses the requested factor)"));
    }
  }
}

}  // namespace

// ---- parsing ---------------------------------------------------------------------------------------

ScalingMethod parse_scaling_method(std::string_view text, int* layer) {
  if (text == "fold-global") return ScalingMethod::kFoldGlobal;
  if (text == "fold-random") return ScalingMethod::kFoldRandom;
  if (text == "fold-all") return ScalingMethod::kFoldAll;
  if (text == "identity") return ScalingMethod::kIdentity;
  if (text == "scale-noise") return ScalingMethod::kScaleNoise;
  const std::string_view prefix = "fold-layer:";
  if (text.substr(0, prefix.size()) == prefix) {
    const std::string_view digits = text.substr(prefix.size());
    bool ok = !digits.empty() && digits.size() <= 9;
    int v = 0;
    for (char c : digits) {
      ok = ok && std::isdigit(static_cast<unsigned char>(c));
      if (ok) v = v * 10 + (c - '0');
    }
    if (!ok) {
      throw std::invalid_argument("noise scaling method '" + std::string(text) +
                                  "': the layer must be a non-negative integer, e.g. fold-layer:0");
    }
    if (layer) *layer = v;
    return ScalingMethod::kFoldLayer;
  }
  throw std::invalid_argument("unknown noise scaling method '" + std::string(text) + "' (valid: " + kMethods + ")");
}

std::string scaling_method_name(ScalingMethod method, int layer) {
  switch (method) {
    case ScalingMethod::kFoldGlobal: return "fold-global";
    case ScalingMethod::kFoldRandom: return "fold-random";
    case ScalingMethod::kFoldAll: return "fold-all";
    case ScalingMethod::kFoldLayer: return "fold-layer:" + std::to_string(layer);
    case ScalingMethod::kIdentity: return "identity";
    case ScalingMethod::kScaleNoise: return "scale-noise";
  }
  return "?";
}

std::vector<double> parse_scale_factors(std::string_view text) {
  std::vector<double> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string item(text.substr(start, comma - start));
    item.erase(0, item.find_first_not_of(" \t"));
    const std::size_t last = item.find_last_not_of(" \t");
    item.erase(last == std::string::npos ? 0 : last + 1);
    char* end = nullptr;
    const double v = item.empty() ? 0.0 : std::strtod(item.c_str(), &end);
    if (item.empty() || end != item.c_str() + item.size() || !std::isfinite(v)) {
      throw std::invalid_argument("scale factors '" + std::string(text) + "': '" + item +
                                  "' is not a number (write e.g. 1,2,3)");
    }
    if (v < 1.0) {
      throw std::invalid_argument("scale factors '" + std::string(text) + "': " + item + " is below 1");
    }
    out.push_back(v);
    start = comma + 1;
  }
  return out;
}

// ---- options and results ---------------------------------------------------------------------------

bool ZneOptions::IsValid(std::string* error) const {
  auto no = [&](const std::string& why) {
    if (error) *error = why;
    return false;
  };
  std::string why;
  if (!extrapolator.IsValid(&why)) return no("extrapolator '" + extrapolator.name() + "': " + why);
  if (extrapolator.kind != ExtrapolatorKind::kAdaptiveExponential) {
    if (scale_factors.size() < 2) return no("ZNE needs at least 2 scale factors, got " + std::to_string(scale_factors.size()));
    for (double s : scale_factors) {
      if (!(std::isfinite(s) && s >= 1.0)) return no("scale factor " + fmt(s) + " must be a finite number >= 1");
    }
    std::vector<double> sorted = scale_factors;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
      return no("scale factors must be distinct, got " + join(scale_factors));
    }
    const std::size_t need = min_points(extrapolator);
    if (scale_factors.size() < need) {
      return no("extrapolator '" + extrapolator.name() + "' needs at least " + std::to_string(need) +
                " scale factors, got " + std::to_string(scale_factors.size()));
    }
  }
  if (layer < 0) return no("the layer to fold must be >= 0");
  if (num_to_average < 1 || num_to_average > 1000) return no("num_to_average must be in [1, 1000]");
  if (shots > (std::uint64_t{1} << 40)) return no("at most 2^40 shots per scale factor");
  if (shots > 0 && (bootstrap_samples < 2 || bootstrap_samples > 1000000)) {
    return no("bootstrap_samples must be in [2, 1000000]");
  }
  return true;
}

std::string ZneResult::BriefReport() const {
  std::ostringstream out;
  out << observable << ": " << fmt(value, 10);
  if (standard_error) out << " +- " << fmt(*standard_error, 4) << (bootstrap ? " (bootstrap)" : "");
  out << " (" << extrapolator << ", " << method << ", s = " << join(scale_factors) << " realised "
      << join(realized_scale_factors) << "; noisy " << join(noisy_values) << ")";
  return out.str();
}

ScaledCircuit scale_circuit(const Circuit& circuit, double s, const ZneOptions& options, std::uint64_t seed) {
  switch (options.method) {
    case ScalingMethod::kFoldGlobal: return fold_global(circuit, s);
    case ScalingMethod::kFoldRandom: return fold_gates_at_random(circuit, s, seed);
    case ScalingMethod::kFoldAll: return fold_all(circuit, s);
    case ScalingMethod::kFoldLayer: return fold_layer(circuit, options.layer, s);
    case ScalingMethod::kIdentity: return insert_identity_layers(circuit, s, seed);
    case ScalingMethod::kScaleNoise:
      if (!(std::isfinite(s) && s >= 1.0)) {
        throw std::invalid_argument("noise scale factor " + fmt(s) + " must be a finite number >= 1");
      }
      return {circuit, s, s};
  }
  throw std::invalid_argument("unknown scaling method");
}

// ---- mitigate --------------------------------------------------------------------------------------

std::vector<ZneResult> mitigate(const Circuit& circuit, const noise::NoiseModel* model,
                                const std::vector<engine::PauliSum>& observables, const ZneOptions& options,
                                engine::DensityMatrix* workspace) {
  std::string why;
  if (!options.IsValid(&why)) throw std::invalid_argument(why);
  if (circuit.has_conditions()) {
    throw std::invalid_argument("classical control (if) needs the trajectory method: zero-noise extrapolation "
                                "cannot run it");
  }
  for (const engine::PauliSum& sum : observables) {
    for (const auto& term : sum.terms) {
      if (!std::isfinite(term.first)) throw std::invalid_argument("observable has a non-finite coefficient");
      if (term.second.min_qubits() > circuit.num_qubits()) {
        throw std::invalid_argument("observable " + term.second.to_string() + " acts on qubit " +
                                    std::to_string(term.second.min_qubits() - 1) + " but the circuit has " +
                                    std::to_string(circuit.num_qubits()) + " qubits");
      }
    }
  }
  if (options.method == ScalingMethod::kScaleNoise && model == nullptr) {
    throw std::invalid_argument("scale-noise scales the noise model's channels: it needs a noise model");
  }
  if (is_folding(options.method)) {
    check_foldable(circuit);
    if (num_gates(circuit) == 0) throw UnfoldableCircuitError("cannot fold the circuit: it has no gates");
  }
  if (options.method == ScalingMethod::kFoldLayer) {
    (void)fold_layer(circuit, options.layer, 1.0);  // checks the layer index
  }
  if (model) engine::validate_noise(circuit, *model);
  if (workspace && workspace->num_qubits() != circuit.num_qubits()) {
    throw std::invalid_argument("the workspace has " + std::to_string(workspace->num_qubits()) +
                                " qubits, the circuit " + std::to_string(circuit.num_qubits()));
  }
  std::optional<engine::DensityMatrix> own;
  if (!workspace) own.emplace(circuit.num_qubits());
  engine::DensityMatrix& rho = workspace ? *workspace : *own;

  const std::vector<std::string> warnings = noise_warnings(circuit, model, options);
  const std::string method = scaling_method_name(options.method, options.layer);
  Runner runner(circuit, model, observables, options, rho);
  std::mt19937_64 shot_rng(stream_seed(options.seed, 1));
  const std::uint64_t bootstrap_seed = stream_seed(options.seed, 2);

  std::vector<ZneResult> results(observables.size());
  for (std::size_t o = 0; o < observables.size(); ++o) {
    results[o].observable = sum_to_string(observables[o]);
    results[o].method = method;
    results[o].warnings = warnings;
  }

  if (options.extrapolator.kind != ExtrapolatorKind::kAdaptiveExponential) {
    std::vector<Point> points;
    for (double s : options.scale_factors) points.push_back(runner.run(s));
    for (std::size_t o = 0; o < observables.size(); ++o) {
      finish(results[o], observables[o], points, o, options, shot_rng, bootstrap_seed, std::nullopt);
    }
    return results;
  }
  // Adaptive: each observable chooses its own scale factors.
  for (std::size_t o = 0; o < observables.size(); ++o) {
    std::vector<Point> points;
    std::mt19937_64 adaptive_rng(stream_seed(options.seed, 3 + o));
    auto evaluate = [&](double s) {
      points.push_back(runner.run(s));
      const Point& p = points.back();
      if (options.shots == 0) return combine(observables[o], p.terms[o]);
      return value_from_counts(observables[o], sample_plus(observables[o], p.terms[o], options.shots, adaptive_rng),
                               options.shots);
    };
    const ExtrapolationResult fit = adaptive_exponential(options.extrapolator, evaluate);
    // The adaptive fit used these values; the final fit and bootstrap redo them from the points.
    std::mt19937_64 replay(stream_seed(options.seed, 3 + o));
    finish(results[o], observables[o], points, o, options, replay, bootstrap_seed, fit);
  }
  return results;
}

ZneResult mitigate(const Circuit& circuit, const noise::NoiseModel* model, const engine::PauliSum& observable,
                   const ZneOptions& options, engine::DensityMatrix* workspace) {
  return mitigate(circuit, model, std::vector<engine::PauliSum>{observable}, options, workspace).front();
}

ZneResult mitigate(const Circuit& circuit, const noise::NoiseModel* model, const engine::PauliString& observable,
                   const ZneOptions& options, engine::DensityMatrix* workspace) {
  engine::PauliSum sum;
  sum.terms.push_back({1.0, observable});
  ZneResult r = mitigate(circuit, model, std::vector<engine::PauliSum>{sum}, options, workspace).front();
  r.observable = observable.to_string();
  return r;
}

}  // namespace kraus::mitigation
