#include "kraus/mitigation/extrapolation.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include <armadillo>

#include "fit_detail.hpp"

namespace kraus::mitigation {
namespace {

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

// The shortest decimal form that reads back as the same double (0.1 -> "0.1").
std::string shortest(double v) {
  for (int precision = 1; precision <= 17; ++precision) {
    const std::string text = fmt(v, precision);
    if (std::strtod(text.c_str(), nullptr) == v) return text;
  }
  return fmt(v, 17);
}

constexpr const char* kForms =
    "linear, richardson, poly:K, exp, exp:ASYMPTOTE, polyexp:K, polyexp:K:ASYMPTOTE, adaexp:STEPS, "
    "adaexp:STEPS:ASYMPTOTE";

[[noreturn]] void bad_spec(std::string_view text, const std::string& why) {
  throw std::invalid_argument("extrapolator '" + std::string(text) + "': " + why + " (valid forms: " + kForms + ")");
}

std::vector<std::string_view> split_colons(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t c = text.find(':', start);
    out.push_back(text.substr(start, c == std::string_view::npos ? std::string_view::npos : c - start));
    if (c == std::string_view::npos) break;
    start = c + 1;
  }
  return out;
}

bool parse_int(std::string_view s, int* out) {
  if (s.empty() || s.size() > 9) return false;
  int v = 0;
  for (char ch : s) {
    if (!std::isdigit(static_cast<unsigned char>(ch))) return false;
    v = v * 10 + (ch - '0');
  }
  *out = v;
  return true;
}

bool parse_double(std::string_view s, double* out) {
  if (s.empty()) return false;
  const std::string str(s);
  char* end = nullptr;
  const double v = std::strtod(str.c_str(), &end);
  if (end != str.c_str() + str.size() || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

void check_data(const std::vector<double>& x, const std::vector<double>& y, std::size_t min_points,
                std::size_t min_distinct, const std::string& name) {
  if (x.size() != y.size()) {
    throw std::invalid_argument(name + ": " + std::to_string(x.size()) + " scale factors but " +
                                std::to_string(y.size()) + " values");
  }
  if (x.size() < min_points) {
    throw std::invalid_argument(name + " needs at least " + std::to_string(min_points) + " points, got " +
                                std::to_string(x.size()));
  }
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) {
      throw std::invalid_argument(name + ": non-finite scale factor or value at point " + std::to_string(i));
    }
  }
  std::vector<double> sorted = x;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t distinct =
      static_cast<std::size_t>(std::unique(sorted.begin(), sorted.end()) - sorted.begin());
  if (distinct < min_distinct) {
    throw std::invalid_argument(name + " needs at least " + std::to_string(min_distinct) +
                                " distinct scale factors, got " + std::to_string(distinct));
  }
}

double polyval(const std::vector<double>& ascending, double s) {
  double v = 0.0;
  for (std::size_t i = ascending.size(); i-- > 0;) v = v * s + ascending[i];
  return v;
}

std::vector<std::string> poly_names(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back("p" + std::to_string(i));
  return out;
}

std::vector<std::string> exp_names(int order) {
  std::vector<std::string> out = {"a", "b"};
  for (int j = 1; j <= order; ++j) out.push_back("c" + std::to_string(j));
  return out;
}

ExtrapolationResult polynomial_result(const ExtrapolatorSpec& spec, const std::vector<double>& x,
                                      const std::vector<double>& y, int degree) {
  const PolynomialFit fit = polynomial_fit(x, y, degree);
  ExtrapolationResult r;
  r.extrapolator = spec.name();
  r.parameters = fit.coefficients;
  r.parameter_names = poly_names(fit.coefficients.size());
  r.value = fit.coefficients[0];
  r.weights = fit.weights_for_p0;
  if (fit.covariance) {
    r.covariance = fit.covariance;
    r.standard_error = std::sqrt(std::max(0.0, (*fit.covariance)[0]));
  }
  r.scale_factors = x;
  r.values = y;
  const std::vector<double> c = fit.coefficients;
  r.curve = [c](double s) { return polyval(c, s); };
  return r;
}

ExtrapolationResult exponential_result(const ExtrapolatorSpec& spec, const std::vector<double>& x,
                                       const std::vector<double>& y) {
  const int order = spec.kind == ExtrapolatorKind::kPolyExponential ? spec.order : 1;
  const std::string what = order == 1 ? "exponential" : "poly-exponential";
  const std::optional<double> asymptote = spec.asymptote;
  const std::size_t free_params = static_cast<std::size_t>(order) + (asymptote ? 1 : 2);
  check_data(x, y, std::max<std::size_t>(2, free_params), free_params, spec.name());

  ExtrapolationResult r;
  r.extrapolator = spec.name();
  r.parameter_names = exp_names(order);
  r.scale_factors = x;
  r.values = y;

  // Sign of the decay from a linear fit (Mitiq; with an asymptote, issue #1596's fix).
  const PolynomialFit line = polynomial_fit(x, y, 1);
  const double raw_sign = asymptote ? line.coefficients[0] - *asymptote : -line.coefficients[1];
  const double sign = raw_sign < 0 ? -1.0 : 1.0;

  std::vector<double> params;  // [a, b, c1..cK]
  std::optional<std::vector<double>> cov;
  const std::size_t np = static_cast<std::size_t>(order) + 2;

  double y_min = y[0], y_max = y[0], y_scale = 1.0;
  for (double v : y) {
    y_min = std::min(y_min, v);
    y_max = std::max(y_max, v);
    y_scale = std::max(y_scale, std::fabs(v));
  }
  const bool constant = (y_max - y_min) <= 1e-12 * y_scale;
  double y_mean = 0.0;
  for (double v : y) y_mean += v / static_cast<double>(y.size());

  if (asymptote && !spec.avoid_log) {
    // Case 3: log-linear weighted polynomial fit of z = ln max(sign (y - A), 1e-6).
    const double eps = 1e-6;
    std::vector<double> z(y.size()), w(y.size());
    for (std::size_t i = 0; i < y.size(); ++i) {
      const double shifted = std::max(sign * (y[i] - *asymptote), eps);
      z[i] = std::log(shifted);
      w[i] = std::sqrt(std::fabs(shifted));
    }
    const PolynomialFit zf = polynomial_fit(x, z, order, w);
    const double e0 = std::exp(zf.coefficients[0]);
    params.push_back(*asymptote);
    params.push_back(sign * e0);
    for (int j = 1; j <= order; ++j) params.push_back(zf.coefficients[static_cast<std::size_t>(j)]);
    if (zf.covariance) {
      // Parameters [A, sign e^{z0}, z1..zK] from [z0..zK]: Jacobian e^{z0} sign on b, 1 on the rates.
      std::vector<double> c(np * np, 0.0);
      const std::size_t m = static_cast<std::size_t>(order) + 1;
      auto d = [&](std::size_t k) { return k == 0 ? sign * e0 : 1.0; };
      for (std::size_t i = 0; i < m; ++i) {
        for (std::size_t k = 0; k < m; ++k) c[(i + 1) * np + (k + 1)] = d(i) * d(k) * (*zf.covariance)[i * m + k];
      }
      cov = c;
    }
  } else if (constant) {
    // No decay at all: a + b is the constant; the rate is undetermined.
    params.assign(np, 0.0);
    params[0] = asymptote ? *asymptote : y_mean;
    params[1] = asymptote ? y_mean - *asymptote : 0.0;
  } else {
    const detail::NonlinearFit fit =
        detail::fit_exponential(x, y, order, asymptote, /*bound_rate=*/order == 1, what);
    r.iterations = fit.iterations;
    r.final_cost = fit.final_cost;
    if (asymptote) params.push_back(*asymptote);
    params.insert(params.end(), fit.parameters.begin(), fit.parameters.end());
    if (fit.covariance) {
      const std::size_t m = fit.parameters.size();
      const std::size_t shift = asymptote ? 1 : 0;
      std::vector<double> c(np * np, 0.0);
      for (std::size_t i = 0; i < m; ++i) {
        for (std::size_t k = 0; k < m; ++k) c[(i + shift) * np + (k + shift)] = (*fit.covariance)[i * m + k];
      }
      cov = c;
    }
  }
  r.parameters = params;
  r.value = params[0] + params[1];
  if (!std::isfinite(r.value)) throw ExtrapolationError(what + " fit gave a non-finite value; use linear or richardson");
  if (cov) {
    r.covariance = cov;
    const std::vector<double>& c = *cov;
    const double var = c[0] + 2 * c[1] + c[np + 1];  // var(a) + 2 cov(a, b) + var(b)
    r.standard_error = std::sqrt(std::max(0.0, var));
  }
  r.curve = [params, order](double s) {
    double z = 0.0, sp = 1.0;
    for (int j = 1; j <= order; ++j) {
      sp *= s;
      z += params[static_cast<std::size_t>(j) + 1] * sp;
    }
    return params[0] + params[1] * std::exp(z);
  };
  return r;
}

}  // namespace

// ---- ExtrapolatorSpec -----------------------------------------------------------------------------

ExtrapolatorSpec ExtrapolatorSpec::parse(std::string_view text) {
  const std::vector<std::string_view> parts = split_colons(text);
  const std::string_view head = parts[0];
  ExtrapolatorSpec spec;
  auto asymptote_at = [&](std::size_t i) {
    if (parts.size() > i) {
      double a = 0.0;
      if (!parse_double(parts[i], &a)) bad_spec(text, "the asymptote '" + std::string(parts[i]) + "' is not a number");
      spec.asymptote = a;
    }
  };
  auto count_at = [&](std::size_t i, const char* what, int* out) {
    if (parts.size() <= i || !parse_int(parts[i], out)) bad_spec(text, std::string("expected an integer ") + what);
  };
  if (head == "linear" || head == "richardson") {
    if (parts.size() != 1) bad_spec(text, "'" + std::string(head) + "' takes no arguments");
    spec.kind = head == "linear" ? ExtrapolatorKind::kLinear : ExtrapolatorKind::kRichardson;
    spec.order = head == "linear" ? 1 : 0;
  } else if (head == "poly") {
    if (parts.size() != 2) bad_spec(text, "write poly:K with the polynomial degree K >= 1");
    spec.kind = ExtrapolatorKind::kPolynomial;
    count_at(1, "degree K >= 1 (poly:K)", &spec.order);
  } else if (head == "exp") {
    if (parts.size() > 2) bad_spec(text, "write exp or exp:ASYMPTOTE");
    spec.kind = ExtrapolatorKind::kExponential;
    spec.order = 1;
    asymptote_at(1);
  } else if (head == "polyexp") {
    if (parts.size() < 2 || parts.size() > 3) bad_spec(text, "write polyexp:K or polyexp:K:ASYMPTOTE");
    spec.kind = ExtrapolatorKind::kPolyExponential;
    count_at(1, "order K >= 1 (polyexp:K)", &spec.order);
    asymptote_at(2);
  } else if (head == "adaexp") {
    if (parts.size() < 2 || parts.size() > 3) bad_spec(text, "write adaexp:STEPS or adaexp:STEPS:ASYMPTOTE");
    spec.kind = ExtrapolatorKind::kAdaptiveExponential;
    spec.order = 1;
    count_at(1, "number of steps (adaexp:STEPS)", &spec.steps);
    asymptote_at(2);
  } else {
    bad_spec(text, "unknown extrapolator");
  }
  std::string why;
  if (!spec.IsValid(&why)) bad_spec(text, why);
  return spec;
}

std::string ExtrapolatorSpec::name() const {
  auto with_asymptote = [&](std::string s) { return asymptote ? s + ":" + shortest(*asymptote) : s; };
  switch (kind) {
    case ExtrapolatorKind::kLinear: return "linear";
    case ExtrapolatorKind::kRichardson: return "richardson";
    case ExtrapolatorKind::kPolynomial: return "poly:" + std::to_string(order);
    case ExtrapolatorKind::kExponential: return with_asymptote("exp");
    case ExtrapolatorKind::kPolyExponential: return with_asymptote("polyexp:" + std::to_string(order));
    case ExtrapolatorKind::kAdaptiveExponential: return with_asymptote("adaexp:" + std::to_string(steps));
  }
  return "?";
}

bool ExtrapolatorSpec::is_linear() const {
  return kind == ExtrapolatorKind::kLinear || kind == ExtrapolatorKind::kRichardson ||
         kind == ExtrapolatorKind::kPolynomial;
}

bool ExtrapolatorSpec::IsValid(std::string* error) const {
  auto no = [&](const std::string& why) {
    if (error) *error = why;
    return false;
  };
  if ((kind == ExtrapolatorKind::kPolynomial || kind == ExtrapolatorKind::kPolyExponential) && order < 1) {
    return no("the order must be at least 1, got " + std::to_string(order));
  }
  if (kind == ExtrapolatorKind::kPolynomial && order > 20) return no("polynomial degree above 20");
  if (kind == ExtrapolatorKind::kPolyExponential && order > 10) return no("poly-exponential order above 10");
  if (asymptote && !std::isfinite(*asymptote)) return no("the asymptote must be finite");
  if (asymptote && is_linear()) return no("only the exponential extrapolators take an asymptote");
  if (kind == ExtrapolatorKind::kAdaptiveExponential) {
    const int min_steps = asymptote ? 3 : 4;
    if (steps < min_steps || steps > 100) {
      return no("adaexp needs " + std::to_string(min_steps) + " to 100 steps" +
                (asymptote ? "" : " without an asymptote") + ", got " + std::to_string(steps));
    }
    if (!(adaptive_scale_factor > 1.0 && std::isfinite(adaptive_scale_factor))) {
      return no("adaexp's second scale factor must be > 1");
    }
    if (!(max_scale_factor > 1.0 && std::isfinite(max_scale_factor))) return no("adaexp's maximum scale factor must be > 1");
  }
  return true;
}

// ---- results --------------------------------------------------------------------------------------

std::vector<double> ExtrapolationResult::curve_at(const std::vector<double>& s) const {
  std::vector<double> out;
  out.reserve(s.size());
  for (double v : s) out.push_back(curve ? curve(v) : std::nan(""));
  return out;
}

std::string ExtrapolationResult::BriefReport() const {
  std::ostringstream out;
  out << extrapolator << ": E0 = " << fmt(value, 10);
  if (standard_error) out << " +- " << fmt(*standard_error, 4);
  else out << " (no error bar)";
  out << " from " << scale_factors.size() << " points at s = " << join(scale_factors);
  if (!parameters.empty()) {
    out << "; parameters";
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      out << " " << (i < parameter_names.size() ? parameter_names[i] : "?") << "=" << fmt(parameters[i], 8);
    }
  }
  if (iterations > 0) out << "; " << iterations << " iterations";
  return out.str();
}

// ---- linear algebra -------------------------------------------------------------------------------

PolynomialFit polynomial_fit(const std::vector<double>& x, const std::vector<double>& y, int degree,
                             const std::vector<double>& weights) {
  if (degree < 0) throw std::invalid_argument("polynomial_fit: negative degree");
  const std::size_t p = static_cast<std::size_t>(degree) + 1;
  check_data(x, y, p, p, "a polynomial fit of degree " + std::to_string(degree));
  if (!weights.empty() && weights.size() != x.size()) {
    throw std::invalid_argument("polynomial_fit: " + std::to_string(weights.size()) + " weights for " +
                                std::to_string(x.size()) + " points");
  }
  const arma::uword n = x.size();
  arma::vec w(n, arma::fill::ones);
  if (!weights.empty()) w = arma::vec(weights);
  arma::mat lhs(n, p);
  for (arma::uword i = 0; i < n; ++i) {
    double xp = 1.0;
    for (arma::uword j = 0; j < p; ++j) {
      lhs(i, j) = xp * w(i);
      xp *= x[i];
    }
  }
  const arma::vec rhs = arma::vec(y) % w;
  arma::rowvec scale = arma::sqrt(arma::sum(arma::square(lhs), 0));
  scale.transform([](double v) { return v > 0 ? v : 1.0; });
  lhs.each_row() /= scale;
  arma::mat q, r;
  if (!arma::qr_econ(q, r, lhs)) throw std::invalid_argument("polynomial_fit: QR decomposition failed");
  arma::mat r_inv;
  if (!arma::inv(r_inv, arma::trimatu(r)) || !r_inv.is_finite()) {
    throw std::invalid_argument("polynomial_fit: the Vandermonde matrix is singular");
  }
  const arma::mat pinv = r_inv * q.t();  // p x n, solves the scaled system
  const arma::vec c = (pinv * rhs) / scale.t();
  PolynomialFit out;
  out.coefficients = arma::conv_to<std::vector<double>>::from(c);
  out.weights_for_p0.resize(n);
  for (arma::uword i = 0; i < n; ++i) out.weights_for_p0[i] = pinv(0, i) * w(i) / scale(0);
  double rss = 0.0;
  for (arma::uword i = 0; i < n; ++i) {
    double xp = 1.0, f = 0.0;
    for (arma::uword j = 0; j < p; ++j) {
      f += c(j) * xp;
      xp *= x[i];
    }
    const double res = w(i) * (y[i] - f);
    rss += res * res;
  }
  out.residual_sum_of_squares = rss;
  if (n > p) {
    arma::mat vbase = r_inv * r_inv.t();
    vbase /= scale.t() * scale;
    vbase *= rss / static_cast<double>(n - p);
    std::vector<double> cov(p * p);
    for (arma::uword i = 0; i < p; ++i) {
      for (arma::uword j = 0; j < p; ++j) cov[i * p + j] = vbase(i, j);
    }
    out.covariance = cov;
  }
  return out;
}

std::vector<double> richardson_weights(const std::vector<double>& s) {
  std::vector<double> dummy(s.size(), 0.0);
  check_data(s, dummy, 2, s.size(), "richardson");
  std::vector<double> g(s.size(), 1.0);
  for (std::size_t j = 0; j < s.size(); ++j) {
    for (std::size_t m = 0; m < s.size(); ++m) {
      if (m != j) g[j] *= s[m] / (s[m] - s[j]);
    }
  }
  return g;
}

std::vector<double> extrapolation_weights(const ExtrapolatorSpec& spec, const std::vector<double>& s) {
  switch (spec.kind) {
    case ExtrapolatorKind::kRichardson: return richardson_weights(s);
    case ExtrapolatorKind::kLinear: return polynomial_fit(s, std::vector<double>(s.size(), 0.0), 1).weights_for_p0;
    case ExtrapolatorKind::kPolynomial:
      return polynomial_fit(s, std::vector<double>(s.size(), 0.0), spec.order).weights_for_p0;
    default:
      throw std::invalid_argument("extrapolator '" + spec.name() +
                                  "' is not linear in the data: no weights (use linear, richardson or poly:K)");
  }
}

ExtrapolationResult extrapolate(const ExtrapolatorSpec& spec, const std::vector<double>& x,
                                const std::vector<double>& y) {
  std::string why;
  if (!spec.IsValid(&why)) throw std::invalid_argument("extrapolator '" + spec.name() + "': " + why);
  switch (spec.kind) {
    case ExtrapolatorKind::kLinear: {
      check_data(x, y, 2, 2, "linear");
      return polynomial_result(spec, x, y, 1);
    }
    case ExtrapolatorKind::kPolynomial: {
      check_data(x, y, static_cast<std::size_t>(spec.order) + 1, static_cast<std::size_t>(spec.order) + 1,
                 spec.name());
      return polynomial_result(spec, x, y, spec.order);
    }
    case ExtrapolatorKind::kRichardson: {
      check_data(x, y, 2, x.size(), "richardson");
      ExtrapolationResult r = polynomial_result(spec, x, y, static_cast<int>(x.size()) - 1);
      r.weights = richardson_weights(x);
      r.value = 0.0;
      for (std::size_t j = 0; j < x.size(); ++j) r.value += r.weights[j] * y[j];
      r.standard_error.reset();
      r.covariance.reset();
      return r;
    }
    case ExtrapolatorKind::kExponential:
    case ExtrapolatorKind::kPolyExponential:
    case ExtrapolatorKind::kAdaptiveExponential:
      return exponential_result(spec, x, y);
  }
  throw std::invalid_argument("unknown extrapolator");
}

ExtrapolationResult adaptive_exponential(const ExtrapolatorSpec& spec, const std::function<double(double)>& evaluate) {
  std::string why;
  if (spec.kind != ExtrapolatorKind::kAdaptiveExponential) {
    throw std::invalid_argument("adaptive_exponential needs an adaexp spec, got '" + spec.name() + "'");
  }
  if (!spec.IsValid(&why)) throw std::invalid_argument("extrapolator '" + spec.name() + "': " + why);
  std::vector<double> xs, ys;
  auto run = [&](double s) {
    const double v = evaluate(s);
    if (!std::isfinite(v)) throw std::invalid_argument("adaexp: non-finite value at scale factor " + fmt(s));
    xs.push_back(s);
    ys.push_back(v);
  };
  run(1.0);
  run(spec.adaptive_scale_factor);
  if (!spec.asymptote) run(2.0 * spec.adaptive_scale_factor);
  while (static_cast<int>(xs.size()) < spec.steps) {
    const ExtrapolationResult fit = exponential_result(spec, xs, ys);
    const double c = fit.parameters.at(2);
    run(std::min(1.0 + 1.27846 / std::fabs(c + 1e-9), spec.max_scale_factor));
  }
  return exponential_result(spec, xs, ys);
}

// ---- bootstrap ------------------------------------------------------------------------------------

bool BootstrapOptions::IsValid(std::string* error) const {
  if (samples < 2) {
    if (error) *error = "the bootstrap needs at least 2 samples, got " + std::to_string(samples);
    return false;
  }
  return true;
}

BootstrapResult bootstrap(const ExtrapolatorSpec& spec, const std::vector<double>& x,
                          const std::function<std::vector<double>(std::mt19937_64&)>& resample,
                          const BootstrapOptions& options) {
  std::string why;
  if (!options.IsValid(&why)) throw std::invalid_argument(why);
  std::mt19937_64 rng(options.seed);
  std::vector<double> values;
  values.reserve(static_cast<std::size_t>(options.samples));
  BootstrapResult out;
  for (int b = 0; b < options.samples; ++b) {
    const std::vector<double> y = resample(rng);
    try {
      values.push_back(extrapolate(spec, x, y).value);
    } catch (const ExtrapolationError&) {
      ++out.num_failed;
    }
  }
  if (2 * out.num_failed > options.samples) {
    throw ExtrapolationError("bootstrap: " + std::to_string(out.num_failed) + " of " + std::to_string(options.samples) +
                             " resampled " + spec.name() + " fits failed; use linear or richardson");
  }
  out.num_samples = static_cast<int>(values.size());
  double mean = 0.0;
  for (double v : values) mean += v;
  mean /= static_cast<double>(values.size());
  double ss = 0.0;
  for (double v : values) ss += (v - mean) * (v - mean);
  out.mean = mean;
  out.standard_error = std::sqrt(ss / static_cast<double>(values.size() - 1));
  return out;
}

BootstrapResult bootstrap_counts(const ExtrapolatorSpec& spec, const std::vector<double>& x,
                                 const std::vector<std::vector<std::pair<double, std::uint64_t>>>& histograms,
                                 const BootstrapOptions& options) {
  if (histograms.size() != x.size()) {
    throw std::invalid_argument("bootstrap_counts: " + std::to_string(histograms.size()) + " histograms for " +
                                std::to_string(x.size()) + " scale factors");
  }
  std::vector<std::uint64_t> totals;
  for (std::size_t j = 0; j < histograms.size(); ++j) {
    std::uint64_t t = 0;
    for (const auto& [value, count] : histograms[j]) {
      if (!std::isfinite(value)) throw std::invalid_argument("bootstrap_counts: non-finite eigenvalue");
      t += count;
    }
    if (t == 0) throw std::invalid_argument("bootstrap_counts: no shots at scale factor " + fmt(x[j]));
    totals.push_back(t);
  }
  auto resample = [&](std::mt19937_64& rng) {
    std::vector<double> y(histograms.size());
    for (std::size_t j = 0; j < histograms.size(); ++j) {
      // Multinomial draw as a chain of binomials.
      std::uint64_t left = totals[j], mass = totals[j];
      double sum = 0.0;
      for (std::size_t k = 0; k < histograms[j].size() && left > 0; ++k) {
        const auto& [value, count] = histograms[j][k];
        std::uint64_t drawn = left;
        if (k + 1 < histograms[j].size() && count < mass) {
          std::binomial_distribution<std::uint64_t> bin(left, static_cast<double>(count) / static_cast<double>(mass));
          drawn = bin(rng);
        }
        sum += value * static_cast<double>(drawn);
        left -= drawn;
        mass -= count;
      }
      y[j] = sum / static_cast<double>(totals[j]);
    }
    return y;
  };
  return bootstrap(spec, x, resample, options);
}

}  // namespace kraus::mitigation
