// CircuitFunction: the adjoint method (stored states or checkpoints, then the observable carried
// backwards through the adjoint of every call of the fused forward schedule).
#include <cmath>

#include "circuit_function.hpp"

namespace kraus::optim {
namespace {

using detail::i_power;
using detail::popcount64;

// Im Tr(ρ O P) for Hermitian ρ: Tr(ρ O P) = Σ_{r,c} ρ(r,c) O(c, r^x) ph(r)
//                                         = Σ_r ph(r) Σ_c conj(ρ[c + r d]) O[c + (r^x) d].
// (The OpenMP pragmas sit behind a plain branch: even a false `if` clause costs a runtime call,
// which dominates for the small states.)
double rotation_gradient(const Complex* rho, const Complex* obs, std::uint64_t d, std::uint64_t xm, std::uint64_t zm,
                         int num_qubits) {
  const std::int64_t dd = static_cast<std::int64_t>(d);
  auto row = [&](std::int64_t r, double& re, double& im) {
    const std::uint64_t ur = static_cast<std::uint64_t>(r);
    const double* a = reinterpret_cast<const double*>(rho + ur * d);
    const double* b = reinterpret_cast<const double*>(obs + (ur ^ xm) * d);
    double sr = 0.0, si = 0.0;
    for (std::uint64_t c = 0; c < 2 * d; c += 2) {
      sr += a[c] * b[c] + a[c + 1] * b[c + 1];
      si += a[c] * b[c + 1] - a[c + 1] * b[c];
    }
    if (popcount64(ur & zm) & 1) {
      re -= sr;
      im -= si;
    } else {
      re += sr;
      im += si;
    }
  };
  double re = 0.0, im = 0.0;
  if (num_qubits >= noise::kParallelMinQubits) {
#pragma omp parallel for reduction(+ : re, im) schedule(static)
    for (std::int64_t r = 0; r < dd; ++r) row(r, re, im);
  } else {
    for (std::int64_t r = 0; r < dd; ++r) row(r, re, im);
  }
  return std::imag(i_power(popcount64(xm & zm)) * Complex(re, im));
}

// Re Σ conj(a_i) b_i = Tr(A B) for Hermitian A.
double hermitian_inner(const Complex* a, const Complex* b, std::uint64_t n, int num_qubits) {
  const double* x = reinterpret_cast<const double*>(a);
  const double* y = reinterpret_cast<const double*>(b);
  const std::int64_t len = static_cast<std::int64_t>(2 * n);
  double s = 0.0;
  if (num_qubits >= noise::kParallelMinQubits) {
#pragma omp parallel for reduction(+ : s) schedule(static)
    for (std::int64_t i = 0; i < len; ++i) s += x[i] * y[i];
  } else {
    for (std::int64_t i = 0; i < len; ++i) s += x[i] * y[i];
  }
  return s;
}

}  // namespace

// Adjoint forward pass: values, and the stored states (all of them, or the checkpoints).
void CircuitFunction::Impl::forward_adjoint(Workspace& ws, const double* theta, const double* x, double* values) {
  ensure_adjoint_buffers(ws);
  compute_angles(theta, x, ws.angles);
  prepare_initial(ws, x);
  const int calls = static_cast<int>(program.forward.size());
  if (single_segment()) {
    run_calls(ws, 0, calls, true, 0, false);
  } else {
    run_calls(ws, 0, calls, false, 0, true);
  }
  read_values(ws, values);
  evaluations.fetch_add(1, std::memory_order_relaxed);
}

noise::Matrix CircuitFunction::Impl::angle_channel_derivative(const engine::Step& s, double a) {
  if (s.angle_channel->derivative) return s.angle_channel->derivative(a);
  // Fourth-order central difference of the superoperator.
  const double h = 1e-3;
  const noise::Matrix p1 = s.angle_channel->superoperator(a + h), m1 = s.angle_channel->superoperator(a - h);
  const noise::Matrix p2 = s.angle_channel->superoperator(a + 2 * h), m2 = s.angle_channel->superoperator(a - 2 * h);
  noise::Matrix out(p1.rows(), p1.cols());
  for (int r = 0; r < out.rows(); ++r)
    for (int c = 0; c < out.cols(); ++c)
      out(r, c) = (8.0 * (p1(r, c) - m1(r, c)) - (p2(r, c) - m2(r, c))) / (12.0 * h);
  return out;
}

void CircuitFunction::Impl::backward(Workspace& ws, const double* x, const double* weights, double* gradient) {
  Complex* o = ws.obs.data();
  std::fill(o, o + d * d, Complex(0.0, 0.0));
  for (std::size_t i = 0; i < observables.size(); ++i) {
    if (weights[i] == 0.0) continue;
    for (const auto& [coeff, ps] : observables[i].terms) detail::add_pauli(o, d, ps.x_mask, ps.z_mask, weights[i] * coeff);
  }
  std::fill(ws.angle_grads.begin(), ws.angle_grads.end(), 0.0);
  const int num_segments = static_cast<int>(seg_begin.size()) - 1;
  for (int seg = num_segments - 1; seg >= 0; --seg) {
    const int slot_base = single_segment() ? 0 : seg * seg_len;
    if (!single_segment()) {
      if (seg == 0) {
        prepare_initial(ws, x);
      } else {
        copy_state(checkpoint(ws, seg - 1), ws.state.data());
      }
      run_calls(ws, seg_begin[static_cast<std::size_t>(seg)], seg_begin[static_cast<std::size_t>(seg) + 1], true,
                slot_base, false);
    }
    for (int j = seg_begin[static_cast<std::size_t>(seg) + 1] - 1; j >= seg_begin[static_cast<std::size_t>(seg)];
         --j) {
      const int source = program.forward_source[static_cast<std::size_t>(j)];
      if (source < 0) {
        noise::apply(program.forward_adjoint[static_cast<std::size_t>(j)], o, n);
        continue;
      }
      const engine::Step& s = program.steps[static_cast<std::size_t>(source)];
      const int slot_index = slot_of[static_cast<std::size_t>(j)];
      if (slot_index >= 0) {
        const Complex* saved = slot(ws, slot_index - slot_base);
        double g = 0.0;
        if (s.kind == engine::StepKind::kRotation) {
          g = s.sign * rotation_gradient(saved, o, d, s.x_mask, s.z_mask, n);
        } else {  // angle-dependent channel: Tr(O_k · S'(ρ_{k-1}))
          copy_state(saved, ws.scratch.data());
          const noise::Matrix ds = angle_channel_derivative(s, ws.angles[static_cast<std::size_t>(s.angle)]);
          noise::apply_superoperator(ws.scratch.data(), n, s.call.qubits, s.call.k, ds.data());
          g = hermitian_inner(o, ws.scratch.data(), d * d, n);
        }
        ws.angle_grads[static_cast<std::size_t>(s.angle)] += g;
      }
      program.apply_adjoint(static_cast<std::size_t>(source), ws.angles.data(), o);
    }
  }
  evaluations.fetch_add(single_segment() ? 1 : 2, std::memory_order_relaxed);
  chain_rule(ws.angle_grads.data(), x, gradient, 1.0);
}

void CircuitFunction::Impl::chain_rule(const double* angle_grads, const double* x, double* gradient, double scale) const {
  for (std::size_t a = 0; a < program.angles.size(); ++a) {
    const double g = angle_grads[a];
    if (g == 0.0) continue;
    for (const engine::AngleTerm& t : program.angles[a].terms) {
      if (t.param >= 0) gradient[t.param] += scale * g * engine::Angle::term_derivative(t, x);
    }
  }
}

void CircuitFunction::Impl::plan_adjoint() {
  const int D = static_cast<int>(diff_calls.size());
  const int S = static_cast<int>(program.forward.size());
  seg_begin.clear();
  const std::uint64_t state_bytes = engine::density_matrix_bytes(n);
  const std::uint64_t budget = options.adjoint_memory_bytes > 0
                                   ? options.adjoint_memory_bytes
                                   : std::max(std::uint64_t{1} << 30, engine::available_memory_bytes() / 2);
  const std::uint64_t max_states = budget / std::max<std::uint64_t>(state_bytes, 1);
  if (D == 0 || static_cast<std::uint64_t>(D) <= max_states) {
    seg_len = D;
    seg_begin = {0, S};
    return;
  }
  // Segments of s differentiable steps: s slot buffers + (ceil(D/s) - 1) checkpoints.
  int best = -1;
  std::uint64_t best_total = UINT64_MAX;
  for (int s = 1; s <= D; ++s) {
    const std::uint64_t total = static_cast<std::uint64_t>(s) + static_cast<std::uint64_t>((D + s - 1) / s - 1);
    if (total <= max_states && total < best_total) {
      best_total = total;
      best = s;
    }
  }
  if (best < 0) {
    throw std::runtime_error("the adjoint gradient of " + std::to_string(D) + " parametrised steps on " +
                             std::to_string(n) + " qubits needs at least " +
                             std::to_string(2 * static_cast<std::uint64_t>(std::ceil(std::sqrt(D)))) +
                             " stored states, more than GradientOptions::adjoint_memory_bytes allows; raise it or "
                             "use parameter shift");
  }
  seg_len = best;
  seg_begin.push_back(0);
  for (int first = best; first < D; first += best) seg_begin.push_back(diff_calls[static_cast<std::size_t>(first)]);
  seg_begin.push_back(S);
}

}  // namespace kraus::optim
