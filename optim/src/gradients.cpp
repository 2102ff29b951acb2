#include "circuit_function.hpp"

#include <chrono>
#include <exception>
#include <stdexcept>

#include "kraus/engine/trajectories.hpp"

namespace kraus::optim {

const char* to_string(GradientMethod method) {
  switch (method) {
    case GradientMethod::kAdjoint: return "adjoint";
    case GradientMethod::kParameterShift: return "parameter_shift";
    case GradientMethod::kFiniteDifference: return "finite_difference";
  }
  return "?";
}

CircuitTiming& CircuitTiming::operator+=(const CircuitTiming& o) {
  forward_seconds += o.forward_seconds;
  backward_seconds += o.backward_seconds;
  cotangent_seconds += o.cotangent_seconds;
  return *this;
}

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
std::int64_t ns_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t).count();
}

}  // namespace

void CircuitFunction::Impl::add_timing(double wall, const CircuitTiming& direct) {
  const double ns[3] = {static_cast<double>(phase_ns[0].exchange(0)), static_cast<double>(phase_ns[1].exchange(0)),
                        static_cast<double>(phase_ns[2].exchange(0))};
  const double threads = ns[0] + ns[1] + ns[2];
  const double left = wall - direct.forward_seconds - direct.backward_seconds - direct.cotangent_seconds;
  CircuitTiming t = direct;
  if (threads > 0.0 && left > 0.0) {
    t.forward_seconds += left * ns[0] / threads;
    t.backward_seconds += left * ns[1] / threads;
    t.cotangent_seconds += left * ns[2] / threads;
  }
  std::lock_guard<std::mutex> lock(timing_mutex);
  timing += t;
}

bool GradientOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (!(finite_difference_step > 0.0 && finite_difference_step < 1.0)) {
    return fail("GradientOptions::finite_difference_step must be in (0, 1), got " +
                std::to_string(finite_difference_step));
  }
  if (num_threads < 0) return fail("GradientOptions::num_threads must be >= 0 (0 = engine::num_threads())");
  if (trajectories > (std::uint64_t{1} << 40)) return fail("GradientOptions::trajectories must be at most 2^40");
  if (shots > (std::uint64_t{1} << 30)) return fail("GradientOptions::shots must be at most 2^30");
  if (shots > 0 && trajectories > 0) {
    return fail("GradientOptions::shots and GradientOptions::trajectories exclude each other (trajectories estimate "
                "expectation values, shots sample the exact output distribution)");
  }
  const DataParallel& d = data_parallel;
  if (d.ranks < 1 || d.rank < 0 || d.rank >= d.ranks) {
    return fail("GradientOptions::data_parallel: rank " + std::to_string(d.rank) + " of " + std::to_string(d.ranks) +
                " (need 0 <= rank < ranks)");
  }
  if (d.ranks > 1 && trajectories == 0) {
    return fail("GradientOptions::data_parallel splits trajectory batches: set trajectories >= 1");
  }
  if (d.ranks > 1 && !d.all_gather) return fail("GradientOptions::data_parallel: ranks > 1 needs all_gather");
  return true;
}

// ---- public API -----------------------------------------------------------------------------------

CircuitFunction::CircuitFunction(const engine::Circuit& circuit, std::vector<engine::PauliSum> observables,
                                 const noise::NoiseModel* model, GradientOptions options)
    : impl_(std::make_unique<Impl>()) {
  std::string why;
  if (!options.IsValid(&why)) throw std::invalid_argument(why);
  if (observables.empty()) throw std::invalid_argument("CircuitFunction needs at least one observable");
  for (const engine::PauliSum& o : observables) {
    for (const auto& term : o.terms) {
      if (term.second.min_qubits() > circuit.num_qubits()) {
        throw std::invalid_argument("observable term '" + term.second.to_string() + "' acts on qubit " +
                                    std::to_string(term.second.min_qubits() - 1) + " of a " +
                                    std::to_string(circuit.num_qubits()) + "-qubit circuit");
      }
    }
  }
  impl_->observables = std::move(observables);
  impl_->options = options;
  impl_->compile(circuit, model);
  impl_->check_shots();
  impl_->plan_adjoint();
}

CircuitFunction::~CircuitFunction() = default;
CircuitFunction::CircuitFunction(CircuitFunction&&) noexcept = default;
CircuitFunction& CircuitFunction::operator=(CircuitFunction&&) noexcept = default;

int CircuitFunction::num_qubits() const { return impl_->n; }
int CircuitFunction::num_parameters() const { return impl_->num_params; }
int CircuitFunction::num_features() const { return impl_->num_features; }
int CircuitFunction::num_outputs() const { return static_cast<int>(impl_->observables.size()); }
const GradientOptions& CircuitFunction::options() const { return impl_->options; }
int CircuitFunction::num_steps() const { return static_cast<int>(impl_->program.steps.size()); }
int CircuitFunction::num_parametrized_rotations() const { return static_cast<int>(impl_->shift_rotations.size()); }

void CircuitFunction::set_options(const GradientOptions& options) {
  std::string why;
  if (!options.IsValid(&why)) throw std::invalid_argument(why);
  const GradientOptions previous = impl_->options;
  impl_->options = options;
  try {
    impl_->check_shots();
  } catch (...) {
    impl_->options = previous;
    throw;
  }
  impl_->plan_adjoint();
}

std::int64_t CircuitFunction::circuit_evaluations() const {
  return impl_->evaluations.load() + (impl_->rest ? impl_->rest->evaluations.load() : 0);
}
void CircuitFunction::reset_circuit_evaluations() {
  impl_->evaluations.store(0);
  if (impl_->rest) impl_->rest->evaluations.store(0);
}
void CircuitFunction::Impl::trajectory_batch(const double* theta, const double* xs, int num_samples,
                                             const BatchCotangent* cotangent, double* values, double* gradient) {
  engine::TrajectoryVjpOptions o;
  o.trajectories = options.trajectories;
  o.seed = next_call_seed();
  o.num_threads = options.num_threads;
  // This rank's slice of the batch (all of it on one process).
  const GradientOptions::DataParallel& split = options.data_parallel;
  const auto batch = static_cast<std::uint64_t>(num_samples), ranks = static_cast<std::uint64_t>(split.ranks);
  const std::uint64_t lo = batch * static_cast<std::uint64_t>(split.rank) / ranks,
                      hi = batch * static_cast<std::uint64_t>(split.rank + 1) / ranks;
  o.first_sample = lo;
  engine::SampleCotangent sample_cotangent;
  if (cotangent != nullptr) {
    sample_cotangent = [cotangent, lo](std::size_t s, const double* v, double* w) {
      (*cotangent)(static_cast<int>(lo + s), v, w);
    };
  }
  const std::size_t features = static_cast<std::size_t>(program.num_features);
  engine::TrajectoryVjpResult r;
  std::exception_ptr error;
  try {
    if (hi > lo) {
      r = engine::trajectory_vjp(program, theta, xs ? xs + lo * features : nullptr, hi - lo, observables, o,
                                 sample_cotangent);
    }
  } catch (...) {
    if (split.ranks == 1) throw;
    error = std::current_exception();  // after the gather, which every rank must join
  }
  phase_ns[0] += static_cast<std::int64_t>(r.walk_seconds * 1e9);
  phase_ns[1] += static_cast<std::int64_t>(r.backward_seconds * 1e9);
  phase_ns[2] += static_cast<std::int64_t>(r.cotangent_seconds * 1e9);
  if (split.ranks == 1) {
    std::copy(r.values.begin(), r.values.end(), values);
    if (cotangent != nullptr) std::copy(r.gradient.begin(), r.gradient.end(), gradient);
    evaluations.fetch_add(static_cast<std::int64_t>(r.walks + r.backward_passes), std::memory_order_relaxed);
    return;
  }
  // Every rank's slice: [failed, executions, values (samples x outputs), sample gradients].
  std::vector<double> mine = {error ? 1.0 : 0.0, static_cast<double>(r.walks + r.backward_passes)};
  mine.insert(mine.end(), r.values.begin(), r.values.end());
  mine.insert(mine.end(), r.sample_gradients.begin(), r.sample_gradients.end());
  const std::vector<double> all = split.all_gather(mine);
  if (error) std::rethrow_exception(error);
  const std::size_t outputs = observables.size(), params = static_cast<std::size_t>(program.num_parameters);
  if (cotangent != nullptr) std::fill(gradient, gradient + params, 0.0);
  std::size_t at = 0;
  std::int64_t executions = 0;
  for (std::uint64_t k = 0; k < ranks; ++k) {
    const std::uint64_t first = batch * k / ranks, last = batch * (k + 1) / ranks;
    if (all.at(at) != 0.0) {
      throw std::runtime_error("rank " + std::to_string(k) + " of the data-parallel trajectory batch failed");
    }
    executions += static_cast<std::int64_t>(all.at(at + 1));
    at += 2;
    if (first == last) continue;
    const std::size_t count = static_cast<std::size_t>(last - first);
    if (at + count * (outputs + (cotangent ? params : 0)) > all.size()) {
      throw std::logic_error("GradientOptions::data_parallel.all_gather returned too few numbers");
    }
    std::copy(all.begin() + static_cast<std::ptrdiff_t>(at),
              all.begin() + static_cast<std::ptrdiff_t>(at + count * outputs), values + first * outputs);
    at += count * outputs;
    if (cotangent == nullptr) continue;
    for (std::size_t s = 0; s < count; ++s, at += params) {  // in sample order, as one process sums
      for (std::size_t p = 0; p < params; ++p) gradient[p] += all.at(at + p);
    }
  }
  evaluations.fetch_add(executions, std::memory_order_relaxed);
  // The other ranks' samples through the cotangent too, with their gathered values: what a caller's
  // cotangent records per sample (a head's loss and its gradient) is then every sample's on every
  // rank. The weights it returns are not needed.
  if (cotangent == nullptr) return;
  const auto start = std::chrono::steady_clock::now();
  std::vector<double> unused(outputs);
  for (std::uint64_t s = 0; s < batch; ++s) {
    if (s < lo || s >= hi) (*cotangent)(static_cast<int>(s), values + s * outputs, unused.data());
  }
  phase_ns[2] += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
}

CircuitTiming CircuitFunction::timing() const {
  std::lock_guard<std::mutex> lock(impl_->timing_mutex);
  return impl_->timing;
}
void CircuitFunction::reset_timing() {
  std::lock_guard<std::mutex> lock(impl_->timing_mutex);
  impl_->timing = CircuitTiming{};
}

bool CircuitFunction::data_mixtures() const {
  return impl_->rest != nullptr && impl_->options.data_mixtures && impl_->options.trajectories == 0 &&
         impl_->options.shots == 0;
}

void CircuitFunction::evaluate(const double* theta, const double* x, double* values) const {
  evaluate_batch(theta, x, 1, values);
}

void CircuitFunction::evaluate_batch(const double* theta, const double* xs, int num_samples, double* values) const {
  Impl& im = *impl_;
  im.check_inputs(theta, xs);
  const Clock::time_point start = Clock::now();
  struct Record {  // every way out: the call's time went to forward passes
    Impl& im;
    Clock::time_point start;
    ~Record() {
      CircuitTiming t;
      t.forward_seconds = seconds_since(start);
      im.add_timing(t.forward_seconds, t);
    }
  } record{im, start};
  if (im.options.trajectories > 0) {
    im.trajectory_batch(theta, xs, num_samples, nullptr, values, nullptr);
    return;
  }
  if (im.use_mixtures(num_samples, GradientMethod::kAdjoint)) {
    im.mixture_batch(theta, xs, num_samples, nullptr, values, nullptr);
    return;
  }
  const int m = num_outputs();
  const std::uint64_t call_seed = im.options.shots > 0 ? im.next_call_seed() : 0;
  im.run_tasks(num_samples, [&](Workspace& ws, int sample) {
    const double* x = xs ? xs + static_cast<std::size_t>(sample) * im.num_features : nullptr;
    im.compute_angles(theta, x, ws.angles);
    im.forward_plain(ws, x, values + static_cast<std::size_t>(sample) * m, call_seed, static_cast<std::uint64_t>(sample));
  });
}

void CircuitFunction::jacobian(const double* theta, const double* x, double* values, double* jacobian) const {
  jacobian_batch(theta, x, 1, values, jacobian, impl_->options.method);
}
void CircuitFunction::jacobian(const double* theta, const double* x, double* values, double* jacobian,
                               GradientMethod method) const {
  jacobian_batch(theta, x, 1, values, jacobian, method);
}

void CircuitFunction::jacobian_batch(const double* theta, const double* xs, int num_samples, double* values,
                                     double* jacobian) const {
  jacobian_batch(theta, xs, num_samples, values, jacobian, impl_->options.method);
}

void CircuitFunction::jacobian_batch(const double* theta, const double* xs, int num_samples, double* values,
                                     double* jacobian, GradientMethod method) const {
  Impl& im = *impl_;
  im.check_inputs(theta, xs);
  im.check_method(method);
  if (im.options.trajectories > 0) {
    throw std::invalid_argument("Jacobians are not estimated from GradientOptions::trajectories (vjp_batch is; "
                                "engine::trajectory_gradient estimates a Jacobian)");
  }
  const int m = num_outputs(), P = num_parameters();
  if (method != GradientMethod::kAdjoint) {
    im.shifted_jacobians(theta, xs, num_samples, method, values, jacobian);
    return;
  }
  im.run_tasks(num_samples, [&](Workspace& ws, int sample) {
    const double* x = xs ? xs + static_cast<std::size_t>(sample) * im.num_features : nullptr;
    double* v = values + static_cast<std::size_t>(sample) * m;
    double* jac = jacobian + static_cast<std::size_t>(sample) * m * P;
    std::fill(jac, jac + static_cast<std::size_t>(m) * P, 0.0);
    im.forward_adjoint(ws, theta, x, v);
    for (int i = 0; i < m; ++i) {
      std::fill(ws.weights.begin(), ws.weights.end(), 0.0);
      ws.weights[static_cast<std::size_t>(i)] = 1.0;
      im.backward(ws, x, ws.weights.data(), jac + static_cast<std::size_t>(i) * P);
    }
  });
}

void CircuitFunction::vjp(const double* theta, const double* x, const Cotangent& cotangent, double* values,
                          double* gradient) const {
  vjp(theta, x, cotangent, values, gradient, impl_->options.method);
}
void CircuitFunction::vjp(const double* theta, const double* x, const Cotangent& cotangent, double* values,
                          double* gradient, GradientMethod method) const {
  vjp_batch(theta, x, 1, [&](int, const double* v, double* w) { cotangent(v, w); }, values, gradient, method);
}

void CircuitFunction::vjp_batch(const double* theta, const double* xs, int num_samples,
                                const BatchCotangent& cotangent, double* values, double* gradient) const {
  vjp_batch(theta, xs, num_samples, cotangent, values, gradient, impl_->options.method);
}

void CircuitFunction::vjp_batch(const double* theta, const double* xs, int num_samples,
                                const BatchCotangent& cotangent, double* values, double* gradient,
                                GradientMethod method) const {
  Impl& im = *impl_;
  im.check_inputs(theta, xs);
  im.check_method(method);
  const int m = num_outputs(), P = num_parameters();
  std::fill(gradient, gradient + P, 0.0);
  const Clock::time_point start = Clock::now();
  if (method != GradientMethod::kAdjoint) {
    std::vector<double> jac(static_cast<std::size_t>(num_samples) * m * P);
    im.shifted_jacobians(theta, xs, num_samples, method, values, jac.data());
    CircuitTiming direct;
    direct.forward_seconds = seconds_since(start);
    std::vector<double> w(static_cast<std::size_t>(m));
    for (int sample = 0; sample < num_samples; ++sample) {
      cotangent(sample, values + static_cast<std::size_t>(sample) * m, w.data());
      const double* js = jac.data() + static_cast<std::size_t>(sample) * m * P;
      for (int i = 0; i < m; ++i) {
        if (w[static_cast<std::size_t>(i)] == 0.0) continue;
        for (int p = 0; p < P; ++p) gradient[p] += w[static_cast<std::size_t>(i)] * js[static_cast<std::size_t>(i) * P + p];
      }
    }
    const double wall = seconds_since(start);
    direct.cotangent_seconds = wall - direct.forward_seconds;
    im.add_timing(wall, direct);
    return;
  }
  if (im.options.trajectories > 0) {
    im.trajectory_batch(theta, xs, num_samples, &cotangent, values, gradient);
    im.add_timing(seconds_since(start), {});
    return;
  }
  if (im.use_mixtures(num_samples, method)) {
    im.mixture_batch(theta, xs, num_samples, &cotangent, values, gradient);
    return;
  }
  std::vector<double> per_sample(static_cast<std::size_t>(num_samples) * P, 0.0);
  im.run_tasks(num_samples, [&](Workspace& ws, int sample) {
    const double* x = xs ? xs + static_cast<std::size_t>(sample) * im.num_features : nullptr;
    double* v = values + static_cast<std::size_t>(sample) * m;
    Clock::time_point t = Clock::now();
    im.forward_adjoint(ws, theta, x, v);
    im.phase_ns[0] += ns_since(t);
    t = Clock::now();
    cotangent(sample, v, ws.weights.data());
    im.phase_ns[2] += ns_since(t);
    t = Clock::now();
    im.backward(ws, x, ws.weights.data(), per_sample.data() + static_cast<std::size_t>(sample) * P);
    im.phase_ns[1] += ns_since(t);
  });
  for (int sample = 0; sample < num_samples; ++sample) {
    const double* g = per_sample.data() + static_cast<std::size_t>(sample) * P;
    for (int p = 0; p < P; ++p) gradient[p] += g[p];
  }
  im.add_timing(seconds_since(start), {});
}

engine::DensityMatrix CircuitFunction::state(const double* theta, const double* x) const {
  Impl& im = *impl_;
  im.check_inputs(theta, x);
  if (im.options.trajectories > 0) throw std::invalid_argument("no density matrix with GradientOptions::trajectories");
  engine::DensityMatrix rho(im.n);
  im.run_tasks(1, [&](Workspace& ws, int) {
    im.compute_angles(theta, x, ws.angles);
    im.forward_plain(ws, x, ws.values.data());
    std::copy(ws.state.begin(), ws.state.end(), rho.data());
  });
  return rho;
}

arma::cx_mat pauli_sum_matrix(const engine::PauliSum& observable, int num_qubits) {
  const std::uint64_t d = std::uint64_t{1} << num_qubits;
  arma::cx_mat m(d, d, arma::fill::zeros);
  for (const auto& [coeff, ps] : observable.terms) {
    if (ps.min_qubits() > num_qubits) throw std::invalid_argument("Pauli term outside the register");
    detail::add_pauli(m.memptr(), d, ps.x_mask, ps.z_mask, coeff);
  }
  return m;
}

}  // namespace kraus::optim
