// Extrapolators on explicit data: Richardson coefficients, Mitiq's inference tests (noise-free
// values), covariance conventions, AdaExp's scale factors, failures, parsing, bootstrap.
#include <cmath>
#include <random>

#include "kraus/mitigation/extrapolation.hpp"
#include "reference/test_support.hpp"

using namespace kraus::mitigation;

namespace {

constexpr double A = 0.5, B = 0.7, C = 0.4, D = 0.3;
const std::vector<double> kX = {1, 1.3, 1.7, 2.2, 2.4};

std::vector<double> apply(const std::vector<double>& x, double (*f)(double)) {
  std::vector<double> y;
  for (double v : x) y.push_back(f(v));
  return y;
}

double f_lin(double x) { return A + B * x; }
double f_quad(double x) { return A + B * x + C * x * x; }
double f_exp_down(double x) { return A + B * std::exp(-C * x); }
double f_exp_up(double x) { return A - B * std::exp(-C * x); }
double f_polyexp_down(double x) { return A + B * std::exp(-C * x - D * x * x); }
double f_polyexp_up(double x) { return A - B * std::exp(-C * x - D * x * x); }

ExtrapolatorSpec spec(const char* text) { return ExtrapolatorSpec::parse(text); }

// Mitiq paper: 50 X gates under depolarize(0.01), rho_00 at N' = 50 s gates.
double paper_value(double s) {
  const double r = 1.0 - 4.0 * 0.01 / 3.0;
  return 0.5 * (1.0 + std::pow(r, 50.0 * s));
}

}  // namespace

TEST_CASE("Richardson coefficients (Temme, Bravyi, Gambetta 2017)", "[mitigation][extrapolation]") {
  struct Row {
    std::vector<double> nodes, gamma;
  };
  const Row rows[] = {
      {{1, 2}, {2, -1}},
      {{1, 3}, {1.5, -0.5}},
      {{1, 2, 3}, {3, -3, 1}},
      {{1, 3, 5}, {1.875, -1.25, 0.375}},
      {{1, 1.5, 2}, {6, -8, 3}},
      {{1, 2, 3, 4}, {4, -6, 4, -1}},
      {{1, 3, 5, 7}, {2.1875, -2.1875, 1.3125, -0.3125}},
      {{1, 3, 5, 7, 9}, {2.4609375, -3.28125, 2.953125, -1.40625, 0.2734375}},
  };
  for (const Row& row : rows) {
    const std::vector<double> g = richardson_weights(row.nodes);
    REQUIRE(g.size() == row.gamma.size());
    double sum = 0.0;
    for (std::size_t j = 0; j < g.size(); ++j) {
      REQUIRE_CLOSE(g[j], row.gamma[j], 1e-12);
      sum += g[j];
    }
    REQUIRE_CLOSE(sum, 1.0, 1e-12);
    // The same weights from the least-squares route of extrapolation_weights.
    const std::vector<double> g2 = extrapolation_weights(spec("richardson"), row.nodes);
    for (std::size_t j = 0; j < g.size(); ++j) REQUIRE_CLOSE(g2[j], row.gamma[j], 1e-12);
    const std::vector<double> g3 = extrapolation_weights(spec(("poly:" + std::to_string(g.size() - 1)).c_str()), row.nodes);
    for (std::size_t j = 0; j < g.size(); ++j) REQUIRE_CLOSE(g3[j], row.gamma[j], 1e-9);
  }
  REQUIRE_THROWS_AS(richardson_weights({1, 2, 2}), std::invalid_argument);
  REQUIRE_THROWS_AS(extrapolation_weights(spec("exp"), {1, 2, 3}), std::invalid_argument);
}

TEST_CASE("Richardson and polynomial fits are exact on polynomials of lower degree", "[mitigation][extrapolation]") {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> coef(-1, 1);
  const std::vector<double> nodes = {1, 1.5, 2.25, 3, 4.5};
  for (int degree = 0; degree < 5; ++degree) {
    std::vector<double> c(static_cast<std::size_t>(degree) + 1);
    for (double& v : c) v = coef(rng);
    std::vector<double> y;
    for (double x : nodes) {
      double v = 0, xp = 1;
      for (double ck : c) {
        v += ck * xp;
        xp *= x;
      }
      y.push_back(v);
    }
    INFO("degree " << degree);
    const ExtrapolationResult r = extrapolate(spec("richardson"), nodes, y);
    REQUIRE_CLOSE(r.value, c[0], 1e-11);
    REQUIRE_FALSE(r.standard_error.has_value());
    REQUIRE_CLOSE(r.curve(0.0), c[0], 1e-10);
    REQUIRE_CLOSE(r.curve(nodes[2]), y[2], 1e-11);
    REQUIRE_CLOSE(r.curve_at({nodes[3]})[0], y[3], 1e-11);
    if (degree >= 1) {
      const ExtrapolationResult p = extrapolate(spec(("poly:" + std::to_string(degree)).c_str()), nodes, y);
      REQUIRE_CLOSE(p.value, c[0], 1e-11);
      for (int k = 0; k <= degree; ++k) REQUIRE_CLOSE(p.parameters[static_cast<std::size_t>(k)], c[static_cast<std::size_t>(k)], 1e-10);
      if (degree + 1 < 5) REQUIRE_CLOSE(*p.standard_error, 0.0, 1e-10);
    }
  }
}

TEST_CASE("Mitiq inference tests, noise-free values", "[mitigation][extrapolation]") {
  const std::vector<double> lin = apply(kX, f_lin), quad = apply(kX, f_quad);
  REQUIRE_CLOSE(extrapolate(spec("richardson"), kX, lin).value, 0.5, 1e-13);
  REQUIRE_CLOSE(extrapolate(spec("richardson"), kX, quad).value, 0.5, 1e-12);
  const ExtrapolationResult l = extrapolate(spec("linear"), kX, lin);
  REQUIRE_CLOSE(l.value, 0.5, 1e-13);
  REQUIRE(l.parameters.size() == 2);
  REQUIRE_CLOSE(l.parameters[0], 0.5, 1e-13);  // ascending: intercept, slope
  REQUIRE_CLOSE(l.parameters[1], 0.7, 1e-13);
  REQUIRE_CLOSE(extrapolate(spec("poly:2"), kX, quad).value, 0.5, 1e-12);
  // Known bias: linear on the quadratic.
  REQUIRE_CLOSE(extrapolate(spec("linear"), kX, quad).value, -0.5612564841498524, 1e-12);

  SECTION("exponential, three cases") {
    for (auto f : {f_exp_down, f_exp_up}) {
      const std::vector<double> y = apply(kX, f);
      const double expected = f == f_exp_down ? 1.2 : -0.2;
      const ExtrapolationResult free = extrapolate(spec("exp"), kX, y);
      REQUIRE_CLOSE(free.value, expected, 1e-8);
      REQUIRE_CLOSE(free.parameters[0], A, 1e-7);
      REQUIRE_CLOSE(free.parameters[2], -C, 1e-7);
      REQUIRE_CLOSE(free.curve(0.0), free.value, 1e-14);
      REQUIRE_CLOSE(extrapolate(spec("exp:0.5"), kX, y).value, expected, 1e-12);
      ExtrapolatorSpec direct = spec("exp:0.5");
      direct.avoid_log = true;
      REQUIRE_CLOSE(extrapolate(direct, kX, y).value, expected, 1e-8);
    }
  }
  SECTION("poly-exponential of order 2, three cases") {
    for (auto f : {f_polyexp_down, f_polyexp_up}) {
      const std::vector<double> y = apply(kX, f);
      const double expected = f == f_polyexp_down ? 1.2 : -0.2;
      const ExtrapolationResult free = extrapolate(spec("polyexp:2"), kX, y);
      REQUIRE_CLOSE(free.value, expected, 1e-7);
      REQUIRE(free.parameters.size() == 4);
      REQUIRE_CLOSE(extrapolate(spec("polyexp:2:0.5"), kX, y).value, expected, 1e-12);
      ExtrapolatorSpec direct = spec("polyexp:2:0.5");
      direct.avoid_log = true;
      REQUIRE_CLOSE(extrapolate(direct, kX, y).value, expected, 1e-8);
    }
    // Known bias: order 1 with the asymptote on poly-exponential data.
    REQUIRE_CLOSE(extrapolate(spec("polyexp:1:0.5"), kX, apply(kX, f_polyexp_down)).value, 1.9137221341211321, 1e-10);
    REQUIRE_CLOSE(extrapolate(spec("polyexp:1:0.5"), kX, apply(kX, f_polyexp_up)).value, -0.9137221341211319, 1e-10);
  }
}

TEST_CASE("covariance and standard errors follow numpy's convention", "[mitigation][extrapolation]") {
  // Linear on x = [0, 0, 1], y = [-1, 1, 0]: value 0, cov [[3, -1], [-1, 1]] in Mitiq's
  // [slope, intercept] order, i.e. [[1, -1], [-1, 3]] in kraus' ascending order; std 1.
  const ExtrapolationResult l = extrapolate(spec("linear"), {0, 0, 1}, {-1, 1, 0});
  REQUIRE_CLOSE(l.value, 0.0, 1e-14);
  REQUIRE(l.covariance.has_value());
  const std::vector<double> cov = *l.covariance;
  REQUIRE_CLOSE(cov[0], 1.0, 1e-13);
  REQUIRE_CLOSE(cov[1], -1.0, 1e-13);
  REQUIRE_CLOSE(cov[2], -1.0, 1e-13);
  REQUIRE_CLOSE(cov[3], 3.0, 1e-13);
  REQUIRE_CLOSE(*l.standard_error, 1.0, 1e-13);
  // No degrees of freedom: no error bar.
  const ExtrapolationResult p = extrapolate(spec("poly:2"), {1, 2, 3}, {1, 4, 9});
  REQUIRE_CLOSE(p.value, 0.0, 1e-12);
  REQUIRE_FALSE(p.standard_error.has_value());
  REQUIRE_FALSE(p.covariance.has_value());
  const ExtrapolationResult l2 = extrapolate(spec("linear"), {1, 2}, {1, 2});
  REQUIRE_CLOSE(l2.value, 0.0, 1e-14);
  REQUIRE_FALSE(l2.standard_error.has_value());
  // Mitiq paper CB16: LinearFactory([1, 2, 3]) -> 0.8397782841085306 +- 0.03808993677581796.
  const std::vector<double> s = {1, 2, 3};
  const std::vector<double> y = {paper_value(1), paper_value(2), paper_value(3)};
  const ExtrapolationResult cb16 = extrapolate(spec("linear"), s, y);
  REQUIRE_CLOSE(cb16.value, 0.8397782841085306, 1e-12);
  REQUIRE_CLOSE(*cb16.standard_error, 0.03808993677581796, 1e-12);
  // Weights reproduce the value.
  double v = 0;
  for (std::size_t j = 0; j < 3; ++j) v += cb16.weights[j] * y[j];
  REQUIRE_CLOSE(v, cb16.value, 1e-14);
}

TEST_CASE("Mitiq paper data (LaRose et al. 2022): Richardson, poly, exp", "[mitigation][extrapolation]") {
  const std::vector<double> s123 = {1, 2, 3}, s135 = {1, 3, 5}, s13579 = {1, 3, 5, 7, 9};
  auto values = [](const std::vector<double>& s) {
    std::vector<double> y;
    for (double v : s) y.push_back(paper_value(v));
    return y;
  };
  REQUIRE_CLOSE(values({1})[0], 0.7555599657756668, 1e-14);
  REQUIRE_CLOSE(extrapolate(spec("richardson"), s123, values(s123)).value, 0.9415779221792384, 1e-13);
  REQUIRE_CLOSE(extrapolate(spec("poly:2"), s123, values(s123)).value, 0.9415779221792384, 1e-12);
  REQUIRE_CLOSE(extrapolate(spec("poly:2"), s135, values(s135)).value, 0.9022612503279156, 1e-12);
  const ExtrapolationResult e = extrapolate(spec("exp"), s13579, values(s13579));
  REQUIRE_CLOSE(e.value, 1.0, 1e-8);
  REQUIRE_CLOSE(e.parameters[0], 0.5, 1e-8);
  REQUIRE_CLOSE(e.parameters[1], 0.5, 1e-8);
  REQUIRE_CLOSE(e.parameters[2], -0.671151016607033, 1e-7);
  REQUIRE(e.standard_error.has_value());
  REQUIRE(*e.standard_error < 1e-8);
  REQUIRE(e.BriefReport().find("exp: E0 = ") == 0);
}

TEST_CASE("AdaExp chooses 1 + 1.27846/|c| (Giurgica-Tiron et al. 2020)", "[mitigation][extrapolation]") {
  auto f = [](double x) { return A + B * std::exp(-C * x); };
  const double next = 1.0 + 1.27846 / 0.4;
  const ExtrapolationResult free = adaptive_exponential(spec("adaexp:8"), f);
  REQUIRE(free.scale_factors.size() == 8);
  REQUIRE(free.scale_factors[0] == 1.0);
  REQUIRE(free.scale_factors[1] == 2.0);
  REQUIRE(free.scale_factors[2] == 4.0);
  for (std::size_t j = 3; j < 8; ++j) REQUIRE_CLOSE(free.scale_factors[j], next, 1e-6);
  REQUIRE_CLOSE(free.value, 1.2, 1e-8);
  const ExtrapolationResult known = adaptive_exponential(spec("adaexp:5:0.5"), f);
  REQUIRE(known.scale_factors.size() == 5);
  REQUIRE(known.scale_factors[1] == 2.0);
  for (std::size_t j = 2; j < 5; ++j) REQUIRE_CLOSE(known.scale_factors[j], next, 1e-8);
  REQUIRE_CLOSE(known.value, 1.2, 1e-12);
  // The cap.
  auto slow = [](double x) { return 0.5 + 0.5 * std::exp(-0.01 * x); };
  const ExtrapolationResult capped = adaptive_exponential(spec("adaexp:4:0.5"), slow);
  REQUIRE(capped.scale_factors[2] == 6.0);
}

TEST_CASE("issue 1596: a given asymptote on flat data", "[mitigation][extrapolation]") {
  const std::vector<double> s = {1, 2, 3, 4};
  for (const std::vector<double>& y : {std::vector<double>{0.700000001, 0.7, 0.7, 0.7},
                                       std::vector<double>{0.7, 0.7, 0.7, 0.700001}}) {
    for (int i = 0; i <= 6; ++i) {
      ExtrapolatorSpec e = spec("exp");
      e.asymptote = 0.2 * i;
      INFO("asymptote " << *e.asymptote);
      REQUIRE_CLOSE(extrapolate(e, s, y).value, 0.7, 2e-6);
    }
  }
}

TEST_CASE("failed fits say so and name a safer extrapolator", "[mitigation][extrapolation]") {
  // Straight lines have no exponential decay: the rate collapses to zero.
  const std::vector<double> s = {1, 2, 3, 4, 5};
  const std::vector<double> line = {0.9, 0.8, 0.7, 0.6, 0.5};
  REQUIRE_THROWS_AS(extrapolate(spec("exp"), s, line), ExtrapolationError);
  REQUIRE_THROWS_WITH(extrapolate(spec("exp"), s, line), Catch::Matchers::Contains("use linear or richardson"));
  // Exponential growth is outside the bounded model.
  const std::vector<double> growth = {1.0, 2.7, 7.4, 20.1, 54.6};
  REQUIRE_THROWS_WITH(extrapolate(spec("exp"), s, growth), Catch::Matchers::Contains("use linear or richardson"));
  // Bad input is std::invalid_argument.
  REQUIRE_THROWS_AS(extrapolate(spec("exp"), {1, 2}, {0.9, 0.8}), std::invalid_argument);
  REQUIRE_THROWS_AS(extrapolate(spec("poly:3"), {1, 2, 3}, {1, 2, 3}), std::invalid_argument);
  REQUIRE_THROWS_AS(extrapolate(spec("richardson"), {1, 1, 2}, {1, 2, 3}), std::invalid_argument);
  REQUIRE_THROWS_AS(extrapolate(spec("linear"), {1, 2}, {1, std::nan("")}), std::invalid_argument);
  REQUIRE_THROWS_AS(extrapolate(spec("linear"), {1, 2, 3}, {1, 2}), std::invalid_argument);
  // Constant data are fine for every extrapolator.
  for (const char* name : {"linear", "richardson", "poly:2", "exp", "exp:0", "polyexp:2"}) {
    REQUIRE_CLOSE(extrapolate(spec(name), {1, 2, 3, 4}, {0.25, 0.25, 0.25, 0.25}).value, 0.25, 1e-12);
  }
}

TEST_CASE("extrapolator strings", "[mitigation][extrapolation]") {
  for (const char* name : {"linear", "richardson", "poly:1", "poly:3", "exp", "exp:0.5", "exp:0.1", "exp:-1", "exp:1e-07", "polyexp:2",
                           "polyexp:2:0", "adaexp:4", "adaexp:3:0"}) {
    REQUIRE(ExtrapolatorSpec::parse(name).name() == name);
  }
  REQUIRE(spec("poly:3").kind == ExtrapolatorKind::kPolynomial);
  REQUIRE(spec("poly:3").order == 3);
  REQUIRE(*spec("exp:0.25").asymptote == 0.25);
  REQUIRE(spec("adaexp:5").steps == 5);
  REQUIRE(spec("linear").is_linear());
  REQUIRE_FALSE(spec("exp").is_linear());
  for (const char* bad : {"", "foo", "poly", "poly:", "poly:0", "poly:x", "poly:2:1", "exp:abc", "exp:1:2",
                          "richardson:3", "linear:1", "polyexp", "polyexp:0", "adaexp", "adaexp:3", "adaexp:2:0",
                          "exp:inf"}) {
    INFO("'" << bad << "'");
    REQUIRE_THROWS_AS(ExtrapolatorSpec::parse(bad), std::invalid_argument);
    REQUIRE_THROWS_WITH(ExtrapolatorSpec::parse(bad), Catch::Matchers::Contains("valid forms"));
  }
  ExtrapolatorSpec s;
  s.kind = ExtrapolatorKind::kLinear;
  s.asymptote = 0.0;
  std::string why;
  REQUIRE_FALSE(s.IsValid(&why));
  REQUIRE(why.find("asymptote") != std::string::npos);
}

TEST_CASE("bootstrap over counts is seeded and matches the analytic error", "[mitigation][extrapolation][bootstrap]") {
  const std::vector<double> s = {1, 2, 3};
  const std::uint64_t shots = 20000;
  std::vector<std::vector<std::pair<double, std::uint64_t>>> hist;
  double analytic_var = 0.0;
  const std::vector<double> g = extrapolation_weights(spec("linear"), s);
  for (std::size_t j = 0; j < s.size(); ++j) {
    const double e = 2 * paper_value(s[j]) - 1;  // <Z>
    const std::uint64_t plus = static_cast<std::uint64_t>(std::llround(shots * (1 + e) / 2));
    hist.push_back({{1.0, plus}, {-1.0, shots - plus}});
    analytic_var += g[j] * g[j] * (1 - e * e) / shots;
  }
  BootstrapOptions o;
  o.samples = 2000;
  o.seed = 42;
  const BootstrapResult b = bootstrap_counts(spec("linear"), s, hist, o);
  const BootstrapResult again = bootstrap_counts(spec("linear"), s, hist, o);
  REQUIRE(b.standard_error == again.standard_error);
  REQUIRE(b.num_samples == 2000);
  REQUIRE(b.num_failed == 0);
  const double analytic = std::sqrt(analytic_var);
  REQUIRE(b.standard_error > 0.85 * analytic);
  REQUIRE(b.standard_error < 1.15 * analytic);
  o.seed = 43;
  REQUIRE(bootstrap_counts(spec("linear"), s, hist, o).standard_error != b.standard_error);
  o.samples = 1;
  REQUIRE_THROWS_AS(bootstrap_counts(spec("linear"), s, hist, o), std::invalid_argument);
}
