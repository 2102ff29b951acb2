#include "kraus/engine/trajectories.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/state_vector.hpp"
#include "kraus/noise/vector_kernels.hpp"
#include "vector_executor.hpp"

namespace kraus::engine {
namespace {

using detail::SplitMix64;

// Streams of (seed, stream) besides the trajectories' own (which are 0 .. N-1).
constexpr std::uint64_t kReadoutStream = ~std::uint64_t{0};

// What one trajectory leaves for the reduction.
struct Slot {
  std::vector<double> values;         // per observable
  std::vector<double> probabilities;  // with options.probabilities
  std::vector<std::uint64_t> shots;   // outcomes, in drawing order
  std::vector<std::uint8_t> clbits;   // the classical bits at the end of the walk
  std::vector<std::pair<std::string, std::uint64_t>> keyed;  // with options.measurement: key -> count
  detail::WalkStats stats;
};

// `count` outcomes drawn from |psi_i|^2 with `rng`: sorted uniforms in one pass over psi.
void draw_shots(const Complex* psi, std::uint64_t dim, std::uint64_t count, SplitMix64& rng,
                std::vector<std::uint64_t>& out) {
  out.clear();
  if (count == 0) return;
  std::vector<double> u(count);
  for (double& v : u) v = rng.uniform();
  std::sort(u.begin(), u.end());
  double cumulative = 0.0;
  std::uint64_t i = 0;
  for (const double v : u) {
    while (i + 1 < dim && cumulative + std::norm(psi[i]) <= v) cumulative += std::norm(psi[i++]);
    out.push_back(i);
  }
}

// Welford's running mean and sum of squared deviations, fed in trajectory order.
struct Running {
  double mean = 0.0, m2 = 0.0;
  void add(double v, std::uint64_t count_before) {
    const double delta = v - mean;
    mean += delta / static_cast<double>(count_before + 1);
    m2 += delta * (v - mean);
  }
  // s / sqrt(N), s the sample standard deviation of N values.
  double standard_error(std::uint64_t count) const {
    const double nn = static_cast<double>(count);
    return std::sqrt(std::max(0.0, m2) / (nn - 1.0) / nn);
  }
};

}  // namespace

bool TrajectoryOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (trajectories < 2 || trajectories > (std::uint64_t{1} << 40)) {
    return fail("TrajectoryOptions::trajectories must be in [2, 2^40] (a standard error needs two)");
  }
  if (shots > (std::uint64_t{1} << 40)) return fail("TrajectoryOptions::shots must be at most 2^40");
  if (fusion_max_qubits < 1 || fusion_max_qubits > 4) return fail("TrajectoryOptions::fusion_max_qubits must be 1 to 4");
  return true;
}

namespace {

// Checks what run_trajectories and trajectory_gradient both take (throws std::invalid_argument).
void check_inputs(const Program& program, const std::vector<PauliSum>& observables, const TrajectoryOptions& options) {
  std::string why;
  if (!options.IsValid(&why)) throw std::invalid_argument(why);
  const int n = program.num_qubits;
  for (const PauliSum& o : observables) {
    if (o.min_qubits() > n) {
      throw std::invalid_argument("observable " + o.to_string() + " acts on qubits the " + std::to_string(n) +
                                  "-qubit program lacks");
    }
  }
  for (const noise::ReadoutError& e : options.readout.errors()) {
    for (const int q : e.qubits) {
      if (q >= n) throw std::invalid_argument("a readout error names qubit " + std::to_string(q) + " of a " +
                                              std::to_string(n) + "-qubit program");
    }
  }
}

// How trajectories share the threads: below kTrajectoryParallelQubits, rounds of kTrajectoryRound
// with one trajectory per worker thread; from it on, one trajectory at a time (the kernels use the
// threads).
struct Rounds {
  std::uint64_t size = 1;
  int workers = 1;
  explicit Rounds(int n) {
    if (n < kTrajectoryParallelQubits) {
      size = kTrajectoryRound;
      workers = std::max(1, std::min<int>(num_threads(), static_cast<int>(size)));
    }
  }

  // body(t, worker, j) for trajectory t in [begin, end), the j-th of its round; after each round, on
  // the calling thread, combine(first, count) and the progress callback (with the trajectories done
  // in the range). A body's exception is rethrown after its round.
  template <class Body, class Combine>
  void run(std::uint64_t begin, std::uint64_t end, const Body& body, const Combine& combine,
           const std::function<void(std::uint64_t, std::uint64_t)>& progress) const {
    std::exception_ptr error;
    for (std::uint64_t first = begin; first < end; first += size) {
      const std::uint64_t in_round = std::min(size, end - first);
#pragma omp parallel for schedule(dynamic, 1) num_threads(workers) if (workers > 1)
      for (std::int64_t j = 0; j < static_cast<std::int64_t>(in_round); ++j) {
#ifdef _OPENMP
        const int w = workers > 1 ? omp_get_thread_num() : 0;
#else
        const int w = 0;
#endif
        try {
          body(first + static_cast<std::uint64_t>(j), w, static_cast<std::size_t>(j));
        } catch (...) {
#pragma omp critical(kraus_trajectory_error)
          if (!error) error = std::current_exception();
        }
      }
      if (error) std::rethrow_exception(error);
      combine(first, in_round);
      if (progress) progress(first + in_round - begin, end - begin);
    }
  }
};

}  // namespace

std::uint64_t trajectory_blocks(std::uint64_t trajectories) {
  return (trajectories + kTrajectoryBlock - 1) / kTrajectoryBlock;
}

void run_trajectory_blocks(const Program& program, const double* theta, const double* x,
                           const std::vector<PauliSum>& observables, const TrajectoryOptions& options,
                           std::uint64_t first_block, std::uint64_t block_count,
                           const std::function<void(TrajectoryBlock&&)>& sink) {
  check_inputs(program, observables, options);
  const int n = program.num_qubits;
  if (!options.measurement.clbit_qubit.empty() &&
      options.measurement.clbit_qubit.size() != static_cast<std::size_t>(program.num_clbits)) {
    throw std::invalid_argument("the measurement map has " + std::to_string(options.measurement.clbit_qubit.size()) +
                                " classical bits, the program " + std::to_string(program.num_clbits));
  }
  const std::uint64_t total = options.trajectories;
  if (first_block > trajectory_blocks(total) || block_count > trajectory_blocks(total) - first_block) {
    throw std::invalid_argument("trajectory blocks [" + std::to_string(first_block) + ", +" +
                                std::to_string(block_count) + ") past the " + std::to_string(trajectory_blocks(total)) +
                                " blocks of " + std::to_string(total) + " trajectories");
  }
  const std::uint64_t begin = first_block * kTrajectoryBlock;
  const std::uint64_t end = std::min(total, (first_block + block_count) * kTrajectoryBlock);
  std::vector<double> angles(program.angles.size());
  program.angle_values(theta, x, angles.data());
  const detail::VectorSchedule schedule = detail::vector_schedule(program, angles.data());

  const std::uint64_t dim = std::uint64_t{1} << n;
  const Rounds rounds(n);
  const int workers = rounds.workers;
  // One state per worker, and a probability row per slot of a round.
  std::uint64_t bytes = static_cast<std::uint64_t>(workers) * state_vector_bytes(n);
  if (options.probabilities) bytes += (rounds.size + 2) * dim * sizeof(double);  // the slots' rows, the means and squares
  require_memory(n, bytes, "the trajectories' state vectors");

  std::vector<Running> values(observables.size());
  std::vector<Running> probabilities(options.probabilities ? dim : 0);
  std::vector<Slot> slots(rounds.size);
  std::vector<StateVector> states;
  std::vector<detail::Walker> walkers;
  for (int w = 0; w < workers; ++w) {
    states.emplace_back(n);
    walkers.emplace_back(schedule, options.fusion_max_qubits);
  }
  TrajectoryBlock block;

  auto body = [&](std::uint64_t t, int w, std::size_t j) {
    StateVector& psi = states[static_cast<std::size_t>(w)];
    Slot& slot = slots[j];
    SplitMix64 rng{detail::mix_seed(options.seed, t)};
    program.initial_state_vector(x, psi.data());
    slot.clbits.assign(static_cast<std::size_t>(program.num_clbits), 0);
    slot.stats = walkers[static_cast<std::size_t>(w)].walk(psi.data(), &rng, &slot.clbits);
    slot.values.resize(observables.size());
    for (std::size_t o = 0; o < observables.size(); ++o) slot.values[o] = expectation(psi, observables[o]);
    if (options.probabilities) {
      slot.probabilities.resize(dim);
      noise::probabilities(psi.data(), n, slot.probabilities.data());
      if (!options.readout.empty()) options.readout.apply(slot.probabilities, n);
    }
    const std::uint64_t shots = options.shots / total + (t < options.shots % total ? 1 : 0);
    draw_shots(psi.data(), dim, shots, rng, slot.shots);
    slot.keyed.clear();
    if (!options.measurement.clbit_qubit.empty() && !slot.shots.empty()) {
      std::map<std::uint64_t, std::uint64_t> own;
      for (const std::uint64_t s : slot.shots) ++own[s];
      if (!options.readout.empty()) {
        std::mt19937_64 readout_rng(rng());
        own = options.readout.apply_to_counts(own, n, readout_rng);
      }
      for (const auto& [outcome, count] : own) slot.keyed.emplace_back(options.measurement.key(outcome, slot.clbits), count);
    }
  };
  // In trajectory order, whatever thread ran them; a block is handed over when its last round is in
  // (rounds never straddle blocks: kTrajectoryBlock is a multiple of kTrajectoryRound).
  auto combine = [&](std::uint64_t first, std::uint64_t in_round) {
    const std::uint64_t block_start = first - (first - begin) % kTrajectoryBlock;
    for (std::uint64_t j = 0; j < in_round; ++j) {
      const Slot& slot = slots[j];
      for (std::size_t o = 0; o < observables.size(); ++o) values[o].add(slot.values[o], first + j - block_start);
      for (const std::uint64_t s : slot.shots) ++block.counts[s];
      for (const auto& [key, count] : slot.keyed) block.clbit_counts[key] += count;
      block.state_reads += slot.stats.state_reads;
      block.channel_decisions += slot.stats.decisions;
    }
    if (options.probabilities) {
      const auto size = static_cast<std::int64_t>(dim);
#pragma omp parallel for schedule(static) if (n >= noise::kVectorParallelMinQubits)
      for (std::int64_t i = 0; i < size; ++i) {
        for (std::uint64_t j = 0; j < in_round; ++j) {
          probabilities[static_cast<std::size_t>(i)].add(slots[j].probabilities[static_cast<std::size_t>(i)],
                                                         first + j - block_start);
        }
      }
    }
    const std::uint64_t done = first + in_round;
    if (done - block_start < kTrajectoryBlock && done < end) return;
    block.trajectories = done - block_start;
    for (Running& r : values) {
      block.mean.push_back(r.mean);
      block.m2.push_back(r.m2);
      r = Running{};
    }
    for (Running& r : probabilities) {
      block.mean.push_back(r.mean);
      block.m2.push_back(r.m2);
      r = Running{};
    }
    sink(std::move(block));
    block = TrajectoryBlock{};
  };
  rounds.run(begin, end, body, combine, options.progress);
}

TrajectoryCombiner::TrajectoryCombiner(int num_qubits, std::size_t observables, const TrajectoryOptions& options)
    : num_qubits_(num_qubits), observables_(observables), options_(options) {
  options_.progress = nullptr;
  const std::size_t quantities = observables + (options.probabilities ? std::size_t{1} << num_qubits : 0);
  mean_.assign(quantities, 0.0);
  m2_.assign(quantities, 0.0);
  partial_.trajectories = options.trajectories;
  partial_.seed = options.seed;
}

void TrajectoryCombiner::add(const TrajectoryBlock& block) {
  if (block.mean.size() != mean_.size() || block.m2.size() != m2_.size() || block.trajectories == 0 ||
      block.trajectories > options_.trajectories - trajectories_) {
    throw std::invalid_argument("TrajectoryCombiner::add: a block that does not belong to this run");
  }
  const double na = static_cast<double>(trajectories_), nb = static_cast<double>(block.trajectories);
  const double nn = na + nb;
  for (std::size_t q = 0; q < mean_.size(); ++q) {
    if (trajectories_ == 0) {
      mean_[q] = block.mean[q];
      m2_[q] = block.m2[q];
    } else {
      const double d = block.mean[q] - mean_[q];
      mean_[q] += d * nb / nn;
      m2_[q] += block.m2[q] + d * d * na * nb / nn;
    }
  }
  trajectories_ += block.trajectories;
  for (const auto& [outcome, count] : block.counts) partial_.counts[outcome] += count;
  for (const auto& [key, count] : block.clbit_counts) partial_.clbit_counts[key] += count;
  partial_.state_reads += block.state_reads;
  partial_.channel_decisions += block.channel_decisions;
}

TrajectoryResult TrajectoryCombiner::result() const {
  if (trajectories_ != options_.trajectories) {
    throw std::logic_error("TrajectoryCombiner::result: " + std::to_string(trajectories_) + " of " +
                           std::to_string(options_.trajectories) + " trajectories combined");
  }
  TrajectoryResult result = partial_;
  const std::uint64_t total = trajectories_;
  auto error = [&](std::size_t q) {
    Running r;
    r.m2 = m2_[q];
    return r.standard_error(total);
  };
  for (std::size_t q = 0; q < observables_; ++q) result.expectations.push_back({mean_[q], error(q), total});
  for (std::size_t q = observables_; q < mean_.size(); ++q) {
    result.probabilities.push_back(mean_[q]);
    result.probability_errors.push_back(error(q));
  }
  if (!result.counts.empty() && !options_.readout.empty()) {
    std::mt19937_64 rng(detail::mix_seed(options_.seed, kReadoutStream));
    result.counts = options_.readout.apply_to_counts(result.counts, num_qubits_, rng);
  }
  return result;
}

TrajectoryResult run_trajectories(const Program& program, const double* theta, const double* x,
                                  const std::vector<PauliSum>& observables, const TrajectoryOptions& options) {
  check_inputs(program, observables, options);
  TrajectoryCombiner combiner(program.num_qubits, observables.size(), options);
  run_trajectory_blocks(program, theta, x, observables, options, 0, trajectory_blocks(options.trajectories),
                        [&](TrajectoryBlock&& block) { combiner.add(block); });
  return combiner.result();
}

namespace {

// One worker's states and buffers for trajectory gradients.
struct GradientWorker {
  StateVector psi, scratch;
  std::vector<StateVector> lambdas;  // one per observable
  detail::Walker walker;
  detail::WalkRecord record;
  std::vector<std::uint8_t> clbits;  // the mid-circuit measurements' outcomes
  std::vector<Complex*> lambda_data;
  std::unique_ptr<detail::BackwardWorkspace> backward;

  GradientWorker(int n, std::size_t observables, const detail::VectorSchedule& schedule, int fusion)
      : psi(n), scratch(n), walker(schedule, fusion), backward(std::make_unique<detail::BackwardWorkspace>(n, fusion)) {
    for (std::size_t o = 0; o < observables; ++o) lambdas.emplace_back(n);
    for (StateVector& l : lambdas) lambda_data.push_back(l.data());
  }
};

// What the trajectory gradients refuse (std::invalid_argument).
void check_gradient_program(const Program& program) {
  if (program.has_conditions()) {
    throw std::invalid_argument("trajectory gradients of circuits with classical control (if) are not supported");
  }
  for (const Step& s : program.steps) {
    if (s.kind == StepKind::kAngleChannel) {
      throw std::invalid_argument("trajectory gradients of angle-dependent channels are not supported: use the density "
                                  "matrix");
    }
  }
}

}  // namespace

TrajectoryGradientResult trajectory_gradient(const Program& program, const double* theta, const double* x,
                                             const std::vector<PauliSum>& observables,
                                             const TrajectoryOptions& options) {
  check_inputs(program, observables, options);
  if (options.probabilities || options.shots > 0 || !options.readout.empty()) {
    throw std::invalid_argument("trajectory_gradient takes no probabilities, shots or readout errors (run_trajectories "
                                "estimates those)");
  }
  check_gradient_program(program);
  const int n = program.num_qubits;
  std::vector<double> angles(program.angles.size());
  program.angle_values(theta, x, angles.data());
  const detail::VectorSchedule schedule = detail::vector_schedule(program, angles.data());
  const detail::BackwardCalls calls(schedule);
  const Rounds rounds(n);
  const std::size_t nobs = observables.size(), params = static_cast<std::size_t>(program.num_parameters);
  const std::uint64_t per_worker = (2 + nobs) * state_vector_bytes(n);
  require_memory(n, static_cast<std::uint64_t>(rounds.workers) * per_worker, "the trajectory gradient's state vectors");

  struct GradientSlot {
    std::vector<double> values, jacobian;
    detail::WalkStats stats;
    std::uint64_t saved = 0;
  };
  std::vector<GradientWorker> workers;
  for (int w = 0; w < rounds.workers; ++w) workers.emplace_back(n, nobs, schedule, options.fusion_max_qubits);
  std::vector<GradientSlot> slots(rounds.size);
  std::vector<Running> values(nobs), jacobian(nobs * params);
  TrajectoryGradientResult result;
  result.trajectories = options.trajectories;
  result.seed = options.seed;

  auto body = [&](std::uint64_t t, int w, std::size_t j) {
    GradientWorker& g = workers[static_cast<std::size_t>(w)];
    GradientSlot& slot = slots[j];
    SplitMix64 rng{detail::mix_seed(options.seed, t)};
    program.initial_state_vector(x, g.psi.data());
    g.clbits.assign(static_cast<std::size_t>(program.num_clbits), 0);
    slot.stats = g.walker.walk(g.psi.data(), &rng, &g.clbits, &g.record);
    slot.saved = g.record.saved_at.size();
    slot.values.resize(nobs);
    for (std::size_t o = 0; o < nobs; ++o) {
      slot.values[o] = expectation(g.psi, observables[o]);
      detail::apply_observable(observables[o], g.psi.data(), g.lambdas[o].data(), g.scratch.data(), n);
    }
    slot.jacobian.assign(nobs * params, 0.0);
    detail::adjoint_backward(program, schedule, calls, x, g.record, g.psi.data(), g.lambda_data, slot.jacobian.data(),
                             *g.backward);
  };
  auto combine = [&](std::uint64_t first, std::uint64_t in_round) {
    for (std::uint64_t j = 0; j < in_round; ++j) {
      const GradientSlot& slot = slots[j];
      for (std::size_t o = 0; o < nobs; ++o) values[o].add(slot.values[o], first + j);
      for (std::size_t e = 0; e < nobs * params; ++e) jacobian[e].add(slot.jacobian[e], first + j);
      result.state_reads += slot.stats.state_reads;
      result.channel_decisions += slot.stats.decisions;
      result.saved_states += slot.saved;
    }
  };
  rounds.run(0, options.trajectories, body, combine, options.progress);
  const std::uint64_t total = options.trajectories;
  for (const Running& v : values) result.values.push_back({v.mean, v.standard_error(total), total});
  for (const Running& v : jacobian) result.jacobian.push_back({v.mean, v.standard_error(total), total});
  return result;
}

bool TrajectoryVjpOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (trajectories < 1 || trajectories > (std::uint64_t{1} << 40)) {
    return fail("TrajectoryVjpOptions::trajectories must be in [1, 2^40]");
  }
  if (fusion_max_qubits < 1 || fusion_max_qubits > 4) return fail("TrajectoryVjpOptions::fusion_max_qubits must be 1 to 4");
  if (num_threads < 0) return fail("TrajectoryVjpOptions::num_threads must be >= 0 (0: num_threads())");
  if (first_sample > (std::uint64_t{1} << 40)) return fail("TrajectoryVjpOptions::first_sample must be at most 2^40");
  return true;
}

TrajectoryVjpResult trajectory_vjp(const Program& program, const double* theta, const double* xs,
                                   std::size_t num_samples, const std::vector<PauliSum>& observables,
                                   const TrajectoryVjpOptions& options, const SampleCotangent& cotangent) {
  std::string why;
  if (!options.IsValid(&why)) throw std::invalid_argument(why);
  TrajectoryOptions checked;
  checked.fusion_max_qubits = options.fusion_max_qubits;
  check_inputs(program, observables, checked);
  check_gradient_program(program);
  if (xs == nullptr && program.num_features > 0) {
    throw std::invalid_argument("the program reads " + std::to_string(program.num_features) +
                                " features but no feature rows were given");
  }
  const int n = program.num_qubits;
  const std::size_t nobs = observables.size(), params = static_cast<std::size_t>(program.num_parameters);
  const std::uint64_t T = options.trajectories;
  if (num_samples > (std::uint64_t{1} << 40) || (options.first_sample + num_samples) > std::numeric_limits<std::uint64_t>::max() / T) {
    throw std::invalid_argument("trajectory_vjp: (first_sample + samples) * trajectories must fit the 64-bit stream "
                                "indices");
  }
  const bool parallel = n < kTrajectoryParallelQubits && num_samples > 1;
  const int threads = options.num_threads > 0 ? options.num_threads : num_threads();
  const int workers = parallel ? std::max(1, std::min<int>(threads, static_cast<int>(num_samples))) : 1;
  const std::uint64_t per_worker = (cotangent ? 3 : 1) * state_vector_bytes(n);
  require_memory(n, static_cast<std::uint64_t>(workers) * per_worker, "the trajectories' state vectors");

  TrajectoryVjpResult result;
  result.trajectories = T;
  result.values.assign(num_samples * nobs, 0.0);
  if (T >= 2) result.value_errors.assign(num_samples * nobs, 0.0);
  if (cotangent) result.sample_gradients.assign(num_samples * params, 0.0);
  std::vector<double>& per_sample = result.sample_gradients;
  std::vector<double> per_sample_var(cotangent && T >= 2 ? num_samples * params : 0, 0.0);
  std::exception_ptr error;
  std::atomic<std::uint64_t> walks{0}, backward_passes{0};
  std::atomic<std::int64_t> walk_ns{0}, backward_ns{0}, cotangent_ns{0};
  using Clock = std::chrono::steady_clock;
  const auto since = [](Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t).count();
  };

#pragma omp parallel num_threads(workers) if (workers > 1)
  {
    std::unique_ptr<StateVector> psi, scratch, lambda;
    std::unique_ptr<detail::BackwardWorkspace> backward;
    try {
      psi = std::make_unique<StateVector>(n);
      if (cotangent) {
        scratch = std::make_unique<StateVector>(n);
        lambda = std::make_unique<StateVector>(n);
        backward = std::make_unique<detail::BackwardWorkspace>(n, options.fusion_max_qubits);
      }
    } catch (...) {
#pragma omp critical(kraus_trajectory_vjp_error)
      if (!error) error = std::current_exception();
    }
    std::vector<double> angles(program.angles.size()), weights(nobs), jac(params);
    std::vector<Running> values(nobs), grads(params);
    std::vector<std::uint8_t> clbits;
    detail::WalkRecord record;
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t si = 0; si < static_cast<std::int64_t>(num_samples); ++si) {
      if (!psi) continue;
      try {
        const auto s = static_cast<std::size_t>(si);
        const double* x = xs ? xs + s * static_cast<std::size_t>(program.num_features) : nullptr;
        program.angle_values(theta, x, angles.data());
        const detail::VectorSchedule schedule = detail::vector_schedule(program, angles.data());
        detail::Walker walker(schedule, options.fusion_max_qubits);
        // The values: T walks (recording the branch when one walk is all the backward pass needs).
        auto clock = Clock::now();
        std::fill(values.begin(), values.end(), Running{});
        for (std::uint64_t t = 0; t < T; ++t) {
          SplitMix64 rng{detail::mix_seed(options.seed, (options.first_sample + s) * T + t)};
          program.initial_state_vector(x, psi->data());
          clbits.assign(static_cast<std::size_t>(program.num_clbits), 0);
          walker.walk(psi->data(), &rng, &clbits, cotangent && T == 1 ? &record : nullptr);
          for (std::size_t o = 0; o < nobs; ++o) values[o].add(expectation(*psi, observables[o]), t);
        }
        walks += T;
        walk_ns += since(clock);
        for (std::size_t o = 0; o < nobs; ++o) {
          result.values[s * nobs + o] = values[o].mean;
          if (T >= 2) result.value_errors[s * nobs + o] = values[o].standard_error(T);
        }
        if (!cotangent) continue;
        clock = Clock::now();
        cotangent(s, result.values.data() + s * nobs, weights.data());
        cotangent_ns += since(clock);
        clock = Clock::now();
        PauliSum weighted;
        for (std::size_t o = 0; o < nobs; ++o) {
          if (!std::isfinite(weights[o])) throw std::invalid_argument("a non-finite cotangent weight");
          if (weights[o] == 0.0) continue;
          for (const auto& [coeff, ps] : observables[o].terms) weighted.terms.emplace_back(weights[o] * coeff, ps);
        }
        if (weighted.terms.empty()) continue;
        const detail::BackwardCalls calls(schedule);
        std::fill(grads.begin(), grads.end(), Running{});
        for (std::uint64_t t = 0; t < T; ++t) {
          if (T > 1) {  // the same stream: the same branch, now recorded
            SplitMix64 rng{detail::mix_seed(options.seed, (options.first_sample + s) * T + t)};
            program.initial_state_vector(x, psi->data());
            clbits.assign(static_cast<std::size_t>(program.num_clbits), 0);
            walker.walk(psi->data(), &rng, &clbits, &record);
            ++walks;
          }
          detail::apply_observable(weighted, psi->data(), lambda->data(), scratch->data(), n);
          std::fill(jac.begin(), jac.end(), 0.0);
          detail::adjoint_backward(program, schedule, calls, x, record, psi->data(), {lambda->data()}, jac.data(),
                                   *backward);
          for (std::size_t p = 0; p < params; ++p) grads[p].add(jac[p], t);
          ++backward_passes;
        }
        backward_ns += since(clock);  // with the repeated walks of T > 1
        for (std::size_t p = 0; p < params; ++p) {
          per_sample[s * params + p] = grads[p].mean;
          if (T >= 2) per_sample_var[s * params + p] = grads[p].m2 / static_cast<double>(T - 1);
        }
      } catch (...) {
#pragma omp critical(kraus_trajectory_vjp_error)
        if (!error) error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
  result.walks = walks.load();
  result.backward_passes = backward_passes.load();
  result.walk_seconds = static_cast<double>(walk_ns.load()) * 1e-9;
  result.backward_seconds = static_cast<double>(backward_ns.load()) * 1e-9;
  result.cotangent_seconds = static_cast<double>(cotangent_ns.load()) * 1e-9;
  if (!cotangent) return result;
  result.gradient.assign(params, 0.0);
  if (T >= 2) result.gradient_errors.assign(params, 0.0);
  for (std::size_t s = 0; s < num_samples; ++s) {  // in sample order, whatever thread ran them
    for (std::size_t p = 0; p < params; ++p) {
      result.gradient[p] += per_sample[s * params + p];
      if (T >= 2) result.gradient_errors[p] += per_sample_var[s * params + p];
    }
  }
  for (double& e : result.gradient_errors) e = std::sqrt(e / static_cast<double>(T));
  return result;
}

}  // namespace kraus::engine
