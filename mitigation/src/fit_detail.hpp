// Internal: the non-linear least-squares fit of the exponential family (Ceres lives in exp_fit.cpp
// only; this header has no Ceres types).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace kraus::mitigation::detail {

struct NonlinearFit {
  // asymptote free: [a, b, c1..cK]; asymptote fixed: [b, c1..cK].
  std::vector<double> parameters;
  // Scaled covariance (numpy/scipy convention), row-major, when N > P and the Jacobian has full rank.
  std::optional<std::vector<double>> covariance;
  int iterations = 0;
  double final_cost = 0.0;
};

// Least squares of y = a + b exp(c1 x + ... + cK x^K) (a fixed to *asymptote when given) with
// Ceres (Levenberg-Marquardt, DENSE_QR). `bound_rate`: c1 <= 0. `what` names the model in errors
// ("exponential", "poly-exponential"). Throws ExtrapolationError when the fit fails or degenerates.
NonlinearFit fit_exponential(const std::vector<double>& x, const std::vector<double>& y, int order,
                             std::optional<double> asymptote, bool bound_rate, const std::string& what);

}  // namespace kraus::mitigation::detail
