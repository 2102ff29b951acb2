// CircuitFunction: the compiled program, per-thread workspaces and the forward passes.
#include "circuit_function.hpp"

#include "random_detail.hpp"

namespace kraus::optim {

namespace detail {

// ---- raw O(4^n) helpers on column-major 2^n x 2^n buffers --------------------------------------

// Tr(P ρ) for P = i^{|x&z|} X^x Z^z: P|b> = ph(b)|b^x>, ph(b) = i^{|x&z|} (-1)^{|b&z|}, so
// Tr(P ρ) = Σ_b ph(b) ρ(b, b^x).
double pauli_expectation(const Complex* m, std::uint64_t d, std::uint64_t xm, std::uint64_t zm) {
  double re = 0.0, im = 0.0;
  for (std::uint64_t b = 0; b < d; ++b) {
    const Complex v = m[b + (b ^ xm) * d];
    if (popcount64(b & zm) & 1) {
      re -= v.real();
      im -= v.imag();
    } else {
      re += v.real();
      im += v.imag();
    }
  }
  return std::real(i_power(popcount64(xm & zm)) * Complex(re, im));
}

// m += coeff P (P(b^x, b) = ph(b)).
void add_pauli(Complex* m, std::uint64_t d, std::uint64_t xm, std::uint64_t zm, double coeff) {
  const Complex base = coeff * i_power(popcount64(xm & zm));
  for (std::uint64_t b = 0; b < d; ++b) {
    const Complex v = (popcount64(b & zm) & 1) ? -base : base;
    m[(b ^ xm) + b * d] += v;
  }
}

}  // namespace detail

void CircuitFunction::Impl::compile(const engine::Circuit& circuit, const noise::NoiseModel* model) {
  program = engine::compile(circuit, model);
  engine::require_unconditional(program, "gradients and training (on the density matrix)");
  if (model != nullptr) readout = model->readout_model(program.num_qubits);
  setup(/*mixtures=*/true);
}

void CircuitFunction::Impl::setup(bool mixtures) {
  n = program.num_qubits;
  d = std::uint64_t{1} << n;
  num_params = program.num_parameters;
  num_features = program.num_features;
  const auto differentiable = [&](const engine::Step& s) {
    return s.kind != engine::StepKind::kFixed && program.angles[static_cast<std::size_t>(s.angle)].depends_on_parameters();
  };
  param_channels = std::any_of(program.steps.begin(), program.steps.end(), [&](const engine::Step& s) {
    return s.kind == engine::StepKind::kAngleChannel && differentiable(s);
  });
  for (std::size_t i = 0; i < program.steps.size(); ++i) {
    const engine::Step& s = program.steps[i];
    if (differentiable(s) && s.kind == engine::StepKind::kRotation) shift_rotations.push_back(static_cast<int>(i));
  }
  for (std::size_t j = 0; j < program.forward.size(); ++j) {
    const int source = program.forward_source[j];
    if (source >= 0 && differentiable(program.steps[static_cast<std::size_t>(source)])) {
      diff_calls.push_back(static_cast<int>(j));
    }
  }
  if (!mixtures || num_features == 0) return;
  prefix = engine::data_prefix(program);
  if (prefix < 0) return;
  rest = std::make_unique<Impl>();
  rest->program = engine::program_rest(program, static_cast<std::size_t>(prefix));
  rest->observables = observables;
  rest->options = options;
  rest->setup(/*mixtures=*/false);
  // The Heisenberg pass runs the adjoint schedule backwards: plan its sweeps (qubits only) once.
  const std::vector<noise::KernelCall> reversed(rest->program.forward.rbegin(), rest->program.forward.rend());
  if (n > noise::kDefaultBlockQubits) {
    rest->heisenberg_sweeps = noise::plan_sweeps(reversed.data(), reversed.size(), n, noise::kDefaultBlockQubits);
  }
}

std::unique_ptr<Workspace> CircuitFunction::Impl::acquire() {
  std::unique_ptr<Workspace> ws;
  {
    std::lock_guard<std::mutex> lock(pool_mutex);
    if (!pool.empty()) {
      ws = std::move(pool.back());
      pool.pop_back();
    }
  }
  if (!ws) ws = std::make_unique<Workspace>();
  if (ws->state.size() != d * d) {
    engine::require_memory(n, engine::density_matrix_bytes(n));
    ws->state.assign(d * d, Complex(0.0, 0.0));
  }
  ws->angles.resize(program.angles.size());
  ws->theta.resize(static_cast<std::size_t>(num_params));
  ws->values.resize(observables.size());
  ws->weights.resize(observables.size());
  ws->angle_grads.resize(program.angles.size());
  return ws;
}

void CircuitFunction::Impl::ensure_adjoint_buffers(Workspace& ws) {
  const std::size_t num_checkpoints = seg_begin.size() >= 2 ? seg_begin.size() - 2 : 0;
  const std::uint64_t dd = d * d;
  std::uint64_t missing = 0;
  const std::uint64_t state_bytes = engine::density_matrix_bytes(n);
  if (ws.obs.size() != dd) missing += state_bytes;
  if (ws.slots.size() != arena_elems) missing += arena_elems * sizeof(Complex);
  if (ws.checkpoints.size() != num_checkpoints * dd) missing += num_checkpoints * state_bytes;
  if (missing == 0) return;
  engine::require_memory(n, missing);
  // Value-initialised: the pages are touched once, here, and reused by every later evaluation.
  if (ws.obs.size() != dd) ws.obs.assign(dd, Complex(0.0, 0.0));
  if (ws.slots.size() != arena_elems) {
    ws.slots.clear();
    ws.slots.shrink_to_fit();
    ws.slots.assign(arena_elems, Complex(0.0, 0.0));
  }
  if (ws.checkpoints.size() != num_checkpoints * dd) {
    ws.checkpoints.clear();
    ws.checkpoints.shrink_to_fit();
    ws.checkpoints.assign(num_checkpoints * dd, Complex(0.0, 0.0));
  }
}

void CircuitFunction::Impl::copy_state(const Complex* from, Complex* to) const {
  // By columns over the threads for large states: one thread copies at about half the bandwidth two
  // reach.
  const auto columns = static_cast<std::int64_t>(d);
  const auto copy_column = [&](std::int64_t c) {
    std::memcpy(static_cast<void*>(to + c * columns), static_cast<const void*>(from + c * columns),
                d * sizeof(Complex));
  };
  if (n >= noise::kParallelMinQubits) {
#pragma omp parallel for schedule(static)
    for (std::int64_t c = 0; c < columns; ++c) copy_column(c);
  } else {
    for (std::int64_t c = 0; c < columns; ++c) copy_column(c);
  }
}

void CircuitFunction::Impl::read_values(const Workspace& ws, double* values) const {
  for (std::size_t i = 0; i < observables.size(); ++i) {
    double v = 0.0;
    for (const auto& [coeff, ps] : observables[i].terms) {
      v += coeff * detail::pauli_expectation(ws.state.data(), d, ps.x_mask, ps.z_mask);
    }
    values[i] = v;
  }
}

void CircuitFunction::Impl::forward_plain(Workspace& ws, const double* x, double* values, std::uint64_t call_seed,
                                          std::uint64_t stream) {
  prepare_initial(ws, x);
  program.run_forward(ws.angles.data(), ws.bound, ws.state.data());
  evaluations.fetch_add(1, std::memory_order_relaxed);
  if (options.shots == 0) {
    read_values(ws, values);
    return;
  }
  // M shots from the diagonal with the readout errors, drawn as sorted uniforms in one pass.
  std::vector<double>& p = ws.probabilities;
  p.resize(d);
  for (std::uint64_t b = 0; b < d; ++b) p[b] = std::max(0.0, ws.state[b + b * d].real());
  if (!readout.empty()) readout.apply(p, n);
  detail::SplitMix64 rng(detail::mix_seed(call_seed, stream));
  std::vector<double>& u = ws.uniforms;
  u.resize(options.shots);
  for (double& v : u) v = detail::uniform01(rng);
  std::sort(u.begin(), u.end());
  double total = 0.0;
  for (double v : p) total += v;
  std::fill(values, values + observables.size(), 0.0);
  double cumulative = 0.0;
  std::uint64_t b = 0;
  for (const double v : u) {
    while (b + 1 < d && cumulative + p[b] <= v * total) cumulative += p[b++];
    for (std::size_t i = 0; i < observables.size(); ++i) {
      for (const auto& [coeff, ps] : observables[i].terms) values[i] += (detail::popcount64(b & ps.z_mask) & 1) ? -coeff : coeff;
    }
  }
  for (std::size_t i = 0; i < observables.size(); ++i) values[i] /= static_cast<double>(options.shots);
}

}  // namespace kraus::optim
