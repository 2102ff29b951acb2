// The exponential-family fits with Ceres. The only file of kraus::mitigation that includes Ceres.
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include <armadillo>
#include <ceres/ceres.h>

#include "fit_detail.hpp"
#include "kraus/mitigation/extrapolation.hpp"

namespace kraus::mitigation::detail {
namespace {

// Residuals f(x_i) - y_i of f = a + b exp(sum_j c_j x^j) with one parameter block:
// [a, b, c1..cK], or [b, c1..cK] when a is fixed. Jacobian row-major (residual, parameter).
class ExponentialResiduals final : public ceres::CostFunction {
 public:
  ExponentialResiduals(const std::vector<double>& x, const std::vector<double>& y, int order,
                       std::optional<double> asymptote)
      : x_(x), y_(y), order_(order), asymptote_(asymptote) {
    set_num_residuals(static_cast<int>(x_.size()));
    mutable_parameter_block_sizes()->push_back(num_parameters());
  }

  int num_parameters() const { return order_ + (asymptote_ ? 1 : 2); }

  bool Evaluate(double const* const* parameters, double* residuals, double** jacobians) const override {
    const double* p = parameters[0];
    const int off = asymptote_ ? 0 : 1;  // index of b
    const double a = asymptote_ ? *asymptote_ : p[0];
    const double b = p[off];
    const int np = num_parameters();
    for (std::size_t i = 0; i < x_.size(); ++i) {
      double z = 0.0, xp = 1.0;
      for (int j = 1; j <= order_; ++j) {
        xp *= x_[i];
        z += p[off + j] * xp;
      }
      const double e = std::exp(z);
      const double f = a + b * e;
      if (!std::isfinite(f)) return false;
      residuals[i] = f - y_[i];
      if (jacobians != nullptr && jacobians[0] != nullptr) {
        double* row = jacobians[0] + i * static_cast<std::size_t>(np);
        if (!asymptote_) row[0] = 1.0;
        row[off] = e;
        xp = 1.0;
        for (int j = 1; j <= order_; ++j) {
          xp *= x_[i];
          row[off + j] = b * e * xp;
        }
      }
    }
    return true;
  }

  // The Jacobian at p (N x P), for the rank check before ceres::Covariance.
  arma::mat jacobian(const std::vector<double>& p) const {
    std::vector<double> r(x_.size());
    std::vector<double> j(x_.size() * p.size());
    const double* blocks[] = {p.data()};
    double* jac[] = {j.data()};
    Evaluate(blocks, r.data(), jac);
    arma::mat out(x_.size(), p.size());
    for (std::size_t i = 0; i < x_.size(); ++i) {
      for (std::size_t k = 0; k < p.size(); ++k) out(i, k) = j[i * p.size() + k];
    }
    return out;
  }

 private:
  std::vector<double> x_, y_;
  int order_;
  std::optional<double> asymptote_;
};

std::string fmt(double v) {
  std::ostringstream out;
  out.precision(6);
  out << v;
  return out.str();
}

[[noreturn]] void fail(const std::string& what, const std::string& why) {
  throw ExtrapolationError(what + " fit " + why + "; use linear or richardson");
}

// A start for Levenberg-Marquardt: the best single rate c1 = -r on a log grid, with a and b (or b
// alone) solved by linear least squares and higher coefficients zero.
std::vector<double> initial_guess(const std::vector<double>& x, const std::vector<double>& y, int order,
                                  std::optional<double> asymptote) {
  const std::size_t n = x.size();
  double best = std::numeric_limits<double>::infinity();
  double best_a = 0.0, best_b = 0.0, best_c = -1.0;
  for (int k = 0; k <= 120; ++k) {
    const double c = -std::pow(10.0, -4.0 + 6.0 * k / 120.0);
    double se = 0, see = 0, sy = 0, sey = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double e = std::exp(c * x[i]);
      se += e;
      see += e * e;
      sy += y[i];
      sey += e * y[i];
    }
    double a, b;
    if (asymptote) {
      a = *asymptote;
      b = (sey - a * se) / see;
    } else {
      const double det = static_cast<double>(n) * see - se * se;
      if (!(std::fabs(det) > 1e-300)) continue;
      b = (static_cast<double>(n) * sey - se * sy) / det;
      a = (sy - b * se) / static_cast<double>(n);
    }
    double rss = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const double r = a + b * std::exp(c * x[i]) - y[i];
      rss += r * r;
    }
    if (std::isfinite(rss) && rss < best) {
      best = rss;
      best_a = a;
      best_b = b;
      best_c = c;
    }
  }
  std::vector<double> p;
  if (!asymptote) p.push_back(best_a);
  p.push_back(best_b);
  p.push_back(best_c);
  for (int j = 2; j <= order; ++j) p.push_back(0.0);
  return p;
}

}  // namespace

NonlinearFit fit_exponential(const std::vector<double>& x, const std::vector<double>& y, int order,
                             std::optional<double> asymptote, bool bound_rate, const std::string& what) {
  auto* cost = new ExponentialResiduals(x, y, order, asymptote);
  const int np = cost->num_parameters();
  const int off = asymptote ? 0 : 1;
  std::vector<double> p = initial_guess(x, y, order, asymptote);

  ceres::Problem problem;  // owns `cost`
  problem.AddResidualBlock(cost, nullptr, p.data());
  if (bound_rate) problem.SetParameterUpperBound(p.data(), off + 1, 0.0);

  ceres::Solver::Options options;
  options.minimizer_type = ceres::TRUST_REGION;
  options.trust_region_strategy_type = ceres::LEVENBERG_MARQUARDT;
  options.linear_solver_type = ceres::DENSE_QR;
  options.max_num_iterations = 500;
  options.function_tolerance = 1e-15;
  options.gradient_tolerance = 1e-20;
  options.parameter_tolerance = 1e-15;
  options.logging_type = ceres::SILENT;
  options.minimizer_progress_to_stdout = false;
  options.num_threads = 1;
  std::string invalid;
  if (!options.IsValid(&invalid)) fail(what, "has invalid solver options (" + invalid + ")");

  ceres::Solver::Summary summary;
  ceres::Solve(options, &problem, &summary);
  if (!summary.IsSolutionUsable() || summary.termination_type != ceres::CONVERGENCE) {
    fail(what, "did not converge (" + summary.message + ")");
  }
  for (double v : p) {
    if (!std::isfinite(v)) fail(what, "did not converge (non-finite parameters)");
  }
  // Degeneration: a rate that vanished (a and b then trade off without bound) or a huge amplitude.
  double y_scale = 1.0;
  for (double v : y) y_scale = std::max(y_scale, std::fabs(v));
  double x_max = 0.0;
  for (double v : x) x_max = std::max(x_max, std::fabs(v));
  const double b = p[static_cast<std::size_t>(off)];
  double rate_size = 0.0;
  for (int j = 1; j <= order; ++j) rate_size += std::fabs(p[static_cast<std::size_t>(off + j)]) * std::pow(x_max, j);
  if (std::fabs(b) > 1e8 * y_scale || rate_size < 1e-10) {
    fail(what, "degenerated (decay rate " + fmt(p[static_cast<std::size_t>(off + 1)]) + ", amplitude " + fmt(b) +
                   ": the data show no exponential decay)");
  }

  // Identifiability: with the Jacobian's columns normalised, a tiny singular-value ratio means the
  // data cannot tell the parameters apart (e.g. a straight line fitted as a + b e^{c s} with c -> 0).
  {
    arma::mat j = cost->jacobian(p);
    const arma::rowvec norms = arma::sqrt(arma::sum(arma::square(j), 0));
    bool ok = norms.min() > 0;
    if (ok) {
      j.each_row() /= norms;
      const arma::vec sv = arma::svd(j);
      ok = sv.n_elem == static_cast<arma::uword>(np) && sv.min() > 1e-7 * sv.max();
    }
    if (!ok) {
      fail(what, "degenerated (decay rate " + fmt(p[static_cast<std::size_t>(off + 1)]) + ", amplitude " + fmt(b) +
                     ": the data do not determine an exponential decay)");
    }
  }

  NonlinearFit out;
  out.parameters = p;
  out.iterations = static_cast<int>(summary.iterations.size());
  out.final_cost = summary.final_cost;
  const int n = static_cast<int>(x.size());
  if (n > np) {
    // ceres::Covariance only on a well-conditioned Jacobian (it would log an error otherwise).
    const arma::vec sv = arma::svd(cost->jacobian(p));
    const bool full_rank = sv.n_elem == static_cast<arma::uword>(np) && sv.max() > 0 &&
                           sv.min() / sv.max() > 1e-7;  // (sigma_min/sigma_max)^2 > 1e-14
    if (full_rank) {
      ceres::Covariance::Options copt;
      copt.algorithm_type = ceres::DENSE_SVD;
      copt.num_threads = 1;
      ceres::Covariance covariance(copt);
      std::vector<std::pair<const double*, const double*>> blocks = {{p.data(), p.data()}};
      std::vector<double> cov(static_cast<std::size_t>(np * np));
      if (covariance.Compute(blocks, &problem) && covariance.GetCovarianceBlock(p.data(), p.data(), cov.data())) {
        const double scale = 2.0 * summary.final_cost / (n - np);
        for (double& c : cov) c *= scale;
        out.covariance = cov;
      }
    }
  }
  return out;
}

}  // namespace kraus::mitigation::detail
