// CircuitFunction: parameter shift and central finite differences, both as batches of plain
// forward passes.
#include "circuit_function.hpp"

namespace kraus::optim {
namespace {

constexpr double kPi = 3.14159265358979323846;

}  // namespace

void CircuitFunction::Impl::shifted_jacobians(const double* theta, const double* xs, int num_samples, GradientMethod method,
                       double* values, double* jacobians) {
  const int m = static_cast<int>(observables.size());
  const int P = num_params;
  const int per_sample =
      method == GradientMethod::kParameterShift ? 1 + 2 * static_cast<int>(shift_rotations.size()) : 1 + 2 * P;
  std::vector<double> out(static_cast<std::size_t>(num_samples) * per_sample * m);
  const double h = options.finite_difference_step;
  const std::uint64_t call_seed = options.shots > 0 ? next_call_seed() : 0;
  run_tasks(num_samples * per_sample, [&](Workspace& ws, int task) {
    const int sample = task / per_sample, t = task % per_sample;
    const double* x = xs ? xs + static_cast<std::size_t>(sample) * num_features : nullptr;
    double* dst = out.data() + static_cast<std::size_t>(task) * m;
    if (method == GradientMethod::kParameterShift || t == 0) {
      compute_angles(theta, x, ws.angles);
      if (t > 0) {
        const int r = (t - 1) / 2;
        const engine::Step& s = program.steps[static_cast<std::size_t>(shift_rotations[static_cast<std::size_t>(r)])];
        ws.angles[static_cast<std::size_t>(s.angle)] += (t % 2 == 1) ? kPi / 2 : -kPi / 2;
      }
    } else {
      std::copy(theta, theta + P, ws.theta.begin());
      const int p = (t - 1) / 2;
      ws.theta[static_cast<std::size_t>(p)] += (t % 2 == 1) ? h : -h;
      compute_angles(ws.theta.data(), x, ws.angles);
    }
    forward_plain(ws, x, dst, call_seed, static_cast<std::uint64_t>(task));
  });
  std::vector<double> angle_grads(program.angles.size());
  for (int sample = 0; sample < num_samples; ++sample) {
    const double* base = out.data() + static_cast<std::size_t>(sample) * per_sample * m;
    const double* x = xs ? xs + static_cast<std::size_t>(sample) * num_features : nullptr;
    std::copy(base, base + m, values + static_cast<std::size_t>(sample) * m);
    double* jac = jacobians + static_cast<std::size_t>(sample) * m * P;
    std::fill(jac, jac + static_cast<std::size_t>(m) * P, 0.0);
    for (int i = 0; i < m; ++i) {
      if (method == GradientMethod::kParameterShift) {
        std::fill(angle_grads.begin(), angle_grads.end(), 0.0);
        for (std::size_t r = 0; r < shift_rotations.size(); ++r) {
          const engine::Step& s = program.steps[static_cast<std::size_t>(shift_rotations[r])];
          const double plus = base[(1 + 2 * r) * m + i], minus = base[(2 + 2 * r) * m + i];
          angle_grads[static_cast<std::size_t>(s.angle)] += 0.5 * (plus - minus);
        }
        chain_rule(angle_grads.data(), x, jac + static_cast<std::size_t>(i) * P, 1.0);
      } else {
        for (int p = 0; p < P; ++p) {
          const double plus = base[(1 + 2 * p) * m + i], minus = base[(2 + 2 * p) * m + i];
          jac[static_cast<std::size_t>(i) * P + p] = (plus - minus) / (2.0 * h);
        }
      }
    }
  }
}

}  // namespace kraus::optim
