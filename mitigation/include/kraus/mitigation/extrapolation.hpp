// Zero-noise extrapolation: fits of expectation values E(s) measured at noise scale factors s,
// evaluated at s = 0. Mitiq's factories (docs/zne.md), with kraus conventions:
//
//  linear            E(s) = p0 + p1 s, least squares; value p0.
//  richardson        the interpolating polynomial of degree N - 1; value sum_j gamma_j E(s_j) with
//                    gamma_j = prod_{m != j} s_m / (s_m - s_j); no standard error.
//  poly:K            least-squares polynomial of degree K (K <= N - 1); value p0.
//  exp[:A]           E(s) = a + b e^{c s} (c <= 0: a decay towards the asymptote a); value a + b.
//  polyexp:K[:A]     E(s) = a + b e^{c1 s + c2 s^2 + ... + cK s^K}; value a + b.
//  adaexp:STEPS[:A]  exp with scale factors chosen adaptively (adaptive_exponential below).
//
// Fits follow Mitiq's three cases for the exponential family: no asymptote -> non-linear least
// squares of every parameter (Ceres, the rate c1 bounded to c1 <= 0 for exp); asymptote A given ->
// by default the log-linear fit of Mitiq (z_j = ln max(sign (E_j - A), 1e-6), weighted polynomial
// fit of degree K with numpy weights sqrt of those values); asymptote with `avoid_log` -> non-linear
// fit of b, c1..cK with a = A fixed. sign = sign(intercept - A) of a linear fit when A is given,
// sign(-slope) otherwise (+1 when zero).
//
// Standard errors come from the parameter covariance in numpy's / scipy's convention,
// cov = (J^T J)^-1 RSS / (N - P) (P fitted parameters; J the Jacobian, the Vandermonde matrix for
// polynomials), and exist only when N > P: none for Richardson, none for linear on 2 points. For the
// log-linear case the value's error is e^{z0} sqrt(cov(z0, z0)) (delta method; Mitiq reports none).
// Non-linear covariances come from ceres::Covariance.
//
// Failures are never silent: bad input (too few or repeated scale factors, order too high,
// non-finite values) throws std::invalid_argument; a fit that does not converge or degenerates
// throws ExtrapolationError whose message names a safer extrapolator, e.g. "exponential fit did not
// converge (...); use linear or richardson".
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kraus::mitigation {

struct ExtrapolationError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class ExtrapolatorKind { kLinear, kRichardson, kPolynomial, kExponential, kPolyExponential, kAdaptiveExponential };

// Which extrapolator, with its settings. Strings (parse / name): "linear", "richardson", "poly:K",
// "exp", "exp:A", "polyexp:K", "polyexp:K:A", "adaexp:STEPS", "adaexp:STEPS:A".
struct ExtrapolatorSpec {
  ExtrapolatorKind kind = ExtrapolatorKind::kRichardson;
  // Degree of the polynomial (poly) or of the exponent polynomial (polyexp; exp has 1). Default 0:
  // set by parse ("poly:2") or by hand; IsValid wants >= 1 for poly and polyexp.
  int order = 0;
  // The infinite-noise limit a when known (e.g. Tr(O)/2^n under depolarising noise). Default none.
  std::optional<double> asymptote;
  // With an asymptote: fit the exponential directly instead of its logarithm. Default false
  // (Mitiq's default).
  bool avoid_log = false;
  // adaexp: number of scale factors to run (>= 3 with an asymptote, >= 4 without). Default 0.
  int steps = 0;
  // adaexp: the second scale factor (the first is 1, the third 2x this without asymptote). Default 2.
  double adaptive_scale_factor = 2.0;
  // adaexp: cap on the adaptive factors 1 + 1.27846 / |c|. Default 6.
  double max_scale_factor = 6.0;

  // Parses the strings above; std::invalid_argument with a message listing the valid forms.
  static ExtrapolatorSpec parse(std::string_view text);
  // The canonical string ("poly:2", "exp:0.5", "adaexp:5").
  std::string name() const;
  // linear, richardson and poly: E0 is a fixed linear combination of the E(s_j).
  bool is_linear() const;
  bool IsValid(std::string* error) const;
};

struct ExtrapolationResult {
  std::string extrapolator;  // ExtrapolatorSpec::name()
  double value = 0.0;        // the zero-noise estimate
  // Standard error of `value` from the fit covariance; none without degrees of freedom.
  std::optional<double> standard_error;
  // linear, richardson, poly: polynomial coefficients in ascending order [p0, p1, ...] (Mitiq and
  // numpy list them highest degree first). exp, polyexp, adaexp: [a, b, c1, ..., cK] of
  // a + b e^{c1 s + ... + cK s^K} (Mitiq's order, so parameters[2] is the rate).
  std::vector<double> parameters;
  std::vector<std::string> parameter_names;
  // Covariance of `parameters`, row-major P x P, when available (the asymptote given: its row and
  // column are zero).
  std::optional<std::vector<double>> covariance;
  // Linear extrapolators only: value = sum_j weights[j] E(s_j), so a gradient is
  // sum_j weights[j] grad E(s_j). Empty for the exponential family.
  std::vector<double> weights;
  // The scale factors and values fitted (adaexp: those it chose).
  std::vector<double> scale_factors;
  std::vector<double> values;
  // The fitted curve E(s); curve(0) == value up to rounding.
  std::function<double(double)> curve;
  // Non-linear fits: Ceres' iterations and final cost (1/2 RSS); 0 otherwise.
  int iterations = 0;
  double final_cost = 0.0;

  // The curve on a grid.
  std::vector<double> curve_at(const std::vector<double>& s) const;
  // One line, e.g. "richardson: E0 = 0.94158 (no error bar) from 3 points at s = 1, 2, 3".
  std::string BriefReport() const;
};

// Fits `values` measured at `scale_factors` (same length, finite, distinct, >= 1 value of each...).
// adaexp fits exp (with its asymptote) on the given points.
ExtrapolationResult extrapolate(const ExtrapolatorSpec& spec, const std::vector<double>& scale_factors,
                                const std::vector<double>& values);

// The weights gamma_j of a linear extrapolator (linear, richardson, poly:K) for these scale
// factors: value = sum_j gamma_j E(s_j) (sum_j gamma_j = 1). std::invalid_argument for the
// exponential family.
std::vector<double> extrapolation_weights(const ExtrapolatorSpec& spec, const std::vector<double>& scale_factors);

// Richardson's gamma_j = prod_{m != j} s_m / (s_m - s_j), in closed form.
std::vector<double> richardson_weights(const std::vector<double>& scale_factors);

// Least-squares polynomial fit in numpy.polyfit's conventions (weights multiply the residuals;
// column-scaled Vandermonde solved by QR). Coefficients ascending; covariance (AᵀW²A)^-1 RSS_w /
// (N - degree - 1) when N > degree + 1. Used by the extrapolators; public for tests and experiments.
struct PolynomialFit {
  std::vector<double> coefficients;           // ascending
  std::optional<std::vector<double>> covariance;  // row-major (degree+1)^2
  std::vector<double> weights_for_p0;          // p0 = sum_j weights_for_p0[j] y_j
  double residual_sum_of_squares = 0.0;
};
PolynomialFit polynomial_fit(const std::vector<double>& x, const std::vector<double>& y, int degree,
                             const std::vector<double>& weights = {});

// Adaptive exponential extrapolation (Mitiq's AdaExpFactory; Giurgica-Tiron et al. 2020):
// s_1 = 1, s_2 = spec.adaptive_scale_factor, s_3 = 2 s_2 when no asymptote is given; every further
// s = min(1 + 1.27846 / |c + 1e-9|, spec.max_scale_factor) with c = parameters[2] of the exp fit of
// the points so far; spec.steps points in all. `evaluate(s)` runs the circuit at scale factor s and
// returns its expectation value. The result is the exp fit of every point.
ExtrapolationResult adaptive_exponential(const ExtrapolatorSpec& spec, const std::function<double(double)>& evaluate);

// ---- bootstrap error bars ------------------------------------------------------------------------

struct BootstrapOptions {
  // Number of resamples. Default 1000.
  int samples = 1000;
  // Seed of the std::mt19937_64 that draws them. Default 1.
  std::uint64_t seed = 1;
  bool IsValid(std::string* error) const;
};

struct BootstrapResult {
  double standard_error = 0.0;  // sample standard deviation of the successful resamples
  double mean = 0.0;
  int num_samples = 0;          // successful resamples
  int num_failed = 0;           // resamples whose fit threw ExtrapolationError
};

// Generic bootstrap: `resample(rng)` returns one resampled value per scale factor; each set is
// extrapolated with `spec` (adaexp: exp on the same points). Throws ExtrapolationError when more than
// half of the resampled fits fail.
BootstrapResult bootstrap(const ExtrapolatorSpec& spec, const std::vector<double>& scale_factors,
                          const std::function<std::vector<double>(std::mt19937_64&)>& resample,
                          const BootstrapOptions& options = {});

// Shot data of one observable: histograms[j] lists (eigenvalue, count) pairs measured at scale
// factor j (e.g. {(+1, n_plus), (-1, n_minus)} for a Pauli string). Each resample redraws the same
// number of shots per scale factor from the empirical frequencies (multinomial).
BootstrapResult bootstrap_counts(const ExtrapolatorSpec& spec, const std::vector<double>& scale_factors,
                                 const std::vector<std::vector<std::pair<double, std::uint64_t>>>& histograms,
                                 const BootstrapOptions& options = {});

}  // namespace kraus::mitigation
