// exp_scaling: the cost of one noisy circuit evaluation (time and memory) against the number of
// qubits and the depth, per noise model and per method: the exact density matrix, or
// --trajectories state-vector trajectories (the estimate of <Z_0> with its standard error).
//
// Circuit: `depth` hardware-efficient layers, each RY(theta) on every qubit followed by the CNOT
// chain cx(0,1), cx(1,2), ..., cx(n-2,n-1); angles uniform in [0, 2 pi) from the seed. The noise
// model's channels follow every gate (kraus::engine::compile). One density matrix per qubit count
// is allocated and reused for every point with that count; trajectories allocate one state vector
// per thread (below 18 qubits; one from 18 on) per evaluation.
//
// Time: one warm-up evaluation, then `--repetitions` samples, each the mean of k back-to-back
// evaluations with k chosen so that a sample lasts at least `--min-sample-seconds` (k = 1 for large
// states); seconds_per_evaluation is the median sample, seconds_min/max the extremes.
// Memory: the process's peak RSS (the kernel's high-water mark, VmHWM, which getrusage's ru_maxrss
// reports too; resources.hpp) is reset to the current RSS just before the state of a qubit count is
// allocated (Linux /proc/self/clear_refs; peak_rss_reset = 0 where that is not allowed, and the
// peak is then the process's since start); peak_rss_increase_bytes = peak - RSS before the
// allocation, next to the state's own state_bytes = 16 * 4^n.
//
// Training epoch (the "time per epoch" that scalability surveys of hybrid models report): with --epoch-samples S > 0 and n <=
// --epoch-max-qubits, the same layers as a classifier (optim::Ansatz, hardware-efficient, RY and the
// CNOT chain, after an RY(pi x_q) angle encoding of n features), readouts <Z_q> on every qubit and a
// binary logistic head (optim::ClassifierObjective), on S seeded samples with n features uniform in
// [0, 1]: one epoch is one full-batch loss-and-gradient evaluation (the cost of one epoch of
// gradient training on S samples). Below S = 2n that is a forward and an adjoint backward pass per
// sample, linear in S; from S = 2n on, data mixtures (optim::GradientOptions::data_mixtures,
// docs/optim.md): n backward passes for the readouts and one adjoint gradient for the logit, plus
// matrix products of O(n 4^n) per sample, nearly flat in S. Samples run one after another so that
// the kernels use the threads, as the evaluation does. One untimed epoch on a single sample first
// allocates and touches the objective's buffers (the data mixtures' own are allocated by the first
// timed epoch); seconds_per_epoch is then the median of --repetitions epochs. The epoch's memory is the
// peak RSS during it, reset just before the objective was built, minus the RSS before that
// (epoch_peak_rss_increase_bytes: the adjoint method's stored states, up to its 1 GiB budget, on top
// of the evaluation's density matrix). Beyond --epoch-max-qubits the density matrix's epoch columns
// are empty. A trajectories row times the same epoch at every n by trajectory SGD
// (optim::GradientOptions::trajectories = 1: per sample one walk and one backward pass, samples in
// parallel below 18 qubits).
#include <malloc.h>  // malloc_trim (glibc)

#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <random>

#include "harness/resources.hpp"
#include "harness/study.hpp"
#include "kraus/engine/circuit.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/simulator.hpp"
#include "kraus/engine/state_vector.hpp"
#include "kraus/engine/trajectories.hpp"
#include "kraus/optim/ansatz.hpp"
#include "kraus/optim/objectives.hpp"

namespace {

using kraus::engine::Circuit;
using kraus::engine::DensityMatrix;
using kraus::engine::Gate;
namespace ex = kraus::experiments;
namespace optim = kraus::optim;

constexpr double kTwoPi = 6.283185307179586476925286766559;

Circuit hardware_efficient_circuit(int num_qubits, int depth, std::uint64_t seed) {
  Circuit c(num_qubits);
  c.reserve(static_cast<std::size_t>(depth) * static_cast<std::size_t>(2 * num_qubits - 1));
  std::mt19937_64 rng(seed);
  for (int layer = 0; layer < depth; ++layer) {
    for (int q = 0; q < num_qubits; ++q) {
      const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
      c.add_gate(Gate::kRY, {q}, {kTwoPi * u});
    }
    for (int q = 0; q + 1 < num_qubits; ++q) c.add_gate(Gate::kCX, {q, q + 1});
  }
  return c;
}

// Gates, and channels applied after them, in one evaluation.
void count_noise(const Circuit& c, const kraus::noise::NoiseModel& model, long long* gates, long long* channels,
                 long long* silent_gates) {
  *gates = *channels = *silent_gates = 0;
  for (const auto& op : c.operations()) {
    if (op.kind != kraus::engine::OpKind::kGate) continue;
    ++*gates;
    const auto placed = model.channels_after(op.name(), op.qubits);
    *channels += static_cast<long long>(placed.size());
    if (placed.empty()) ++*silent_gates;
  }
}

ex::StudySpec make_spec() {
  ex::StudySpec s;
  s.name = "scaling";
  s.program = "exp_scaling";
  s.summary =
      "Times one evaluation of a noisy hardware-efficient circuit (depth x [RY on every qubit, then the CNOT\n"
      "chain cx(0,1) ... cx(n-2,n-1)], the model's noise after every gate) on an exact n-qubit density\n"
      "matrix or as --trajectories state-vector trajectories, against n and depth, per noise model, and\n"
      "records the process's peak memory next to the state's bytes (16*4^n; 16*2^n per trajectory state).";
  s.default_noise = {"ideal", "depolarizing", "amplitude_damping", "readout_only", "device_like"};
  s.quick_noise = {"ideal", "depolarizing"};
  s.category = ex::method_axis(ex::kDensityMatrix, std::string(ex::kDensityMatrix) + "," + ex::kTrajectories);
  s.qubits = {"2:13", "2:8"};
  s.depth = {"2:10:2", "2,4"};
  s.noise_scale = {"1", "1"};
  s.seeds = {"1", "1"};
  s.min_qubits = 1;
  s.max_qubits = 30;
  s.min_depth = 1;
  s.max_depth = 10000;
  s.options = {
      {"repetitions", ex::StudyOption::Kind::kInt, "N", "timed samples per point; the median is reported", "5", "3", 1,
       1000},
      {"min-sample-seconds", ex::StudyOption::Kind::kDouble, "S",
       "a sample repeats the evaluation until it lasts at least S seconds", "0.02", "0.005", 0, 60},
      {"epoch-samples", ex::StudyOption::Kind::kInt, "S",
       "training samples of the timed epoch (full-batch gradient); 0: no epoch timing", "8", "4", 0, 100000},
      {"epoch-max-qubits", ex::StudyOption::Kind::kInt, "N", "time epochs only up to N qubits", "12", "30", 1, 30},
      ex::trajectories_option("200", "200"),
  };
  s.columns = {"threads",         "seconds_per_evaluation", "seconds_min",       "seconds_max",
               "repetitions",     "evaluations_per_sample", "gates",             "gate_noise_channels",
               "state_bytes",     "peak_rss_bytes",         "peak_rss_increase_bytes", "rss_before_bytes",
               "peak_rss_reset",  "trace",                  "purity",                  "trajectories",
               "z0",              "z0_stderr",              "epoch_samples",           "seconds_per_epoch",
               "epoch_circuit_evaluations", "epoch_peak_rss_increase_bytes"};
  s.epilogue =
      "Columns after the grid (study, noise_model, method, noise_scale, qubits, depth, seed): threads,\n"
      "seconds_per_evaluation (median; trajectories: all of them), seconds_min, seconds_max, repetitions,\n"
      "evaluations_per_sample, gates, gate_noise_channels, state_bytes (16*4^n; trajectories: 16*2^n per\n"
      "state vector held at once), peak_rss_bytes, peak_rss_increase_bytes, rss_before_bytes,\n"
      "peak_rss_reset, trace and purity of the final state (density matrix only), trajectories, z0 (<Z_0>:\n"
      "exact, or the trajectories' mean) and z0_stderr (its standard error; 0 for the density matrix), then\n"
      "epoch_samples,\n"
      "seconds_per_epoch (median of --repetitions full-batch loss-and-gradient evaluations on epoch_samples\n"
      "samples), epoch_circuit_evaluations (forward and backward passes per epoch) and\n"
      "epoch_peak_rss_increase_bytes (all empty with --epoch-samples 0, and for the density matrix above\n"
      "--epoch-max-qubits; trajectories: trajectory SGD, one trajectory per sample).\n"
      "Cost: the default grid ends at 13 qubits, a 1 GiB state on which one depth-1 evaluation takes 4 to\n"
      "10 s on one core (depth 10: 40 to 100 s); the whole grid takes 2 to 3 hours on one core, mostly at\n"
      "13 qubits (--repetitions 3 or --qubits 2:12 cut that). --quick takes about a second.\n"
      "Plot: /usr/bin/python3 plots/plot_scaling.py DIR/scaling.csv";
  s.data_parallel = true;
  return s;
}

struct Settings {
  int repetitions = 5;
  double min_sample_seconds = 0.02;
  int epoch_samples = 8;
  int epoch_max_qubits = 12;
  std::uint64_t trajectories = 200;
  optim::GradientOptions::DataParallel data_parallel;  // --data-parallel: the epoch's samples
};

struct EpochCost {
  double seconds = 0.0;  // median epoch
  long long circuit_evaluations = 0;
  std::uint64_t peak_rss_increase = 0;
};

// One full-batch loss-and-gradient evaluation of a classifier with the circuit's layers (see the
// header comment), timed `repetitions` times after an untimed one-sample warm-up; on the density
// matrix, or with `trajectories` (trajectory SGD: that many per sample, samples in parallel).
EpochCost time_epoch(int n, int depth, std::uint64_t seed, int samples, int repetitions,
                     const kraus::noise::NoiseModel& model, std::uint64_t trajectories,
                     const optim::GradientOptions::DataParallel& data_parallel) {
  optim::Dataset data;
  data.num_features = n;
  data.num_classes = 2;
  std::mt19937_64 rng(seed);
  for (int i = 0; i < samples; ++i) {
    for (int q = 0; q < n; ++q) data.features.push_back(static_cast<double>(rng() >> 11) * 0x1.0p-53);
    data.labels.push_back(i % 2);
  }
  optim::AnsatzOptions a;
  a.num_qubits = n;
  a.num_layers = depth;
  a.rotations = optim::RotationSet::kRY;
  a.entangler = optim::Entangler::kCnotChain;
  const optim::Ansatz ansatz(a);
  optim::ClassifierOptions o;
  o.binary = true;
  for (int q = 0; q < n; ++q) o.readout_qubits.push_back(q);
  // The density matrix: samples in sequence, the kernels use the threads; trajectories: samples in
  // parallel below 18 qubits.
  o.gradient.num_threads = trajectories > 0 ? 0 : 1;
  o.gradient.trajectories = trajectories;
  o.gradient.seed = seed;
  if (trajectories > 0) o.gradient.data_parallel = data_parallel;
  const std::uint64_t rss_before = ex::current_rss_bytes();
  ex::reset_peak_rss();
  optim::ClassifierObjective objective(ansatz.circuit(optim::Encoding::angle(n)), data, o, &model);
  const std::vector<double> params = objective.initial_parameters(ansatz.random_parameters(seed), seed + 1);
  std::vector<double> gradient(params.size());
  objective.set_batch({0});
  objective.evaluate(params.data(), gradient.data());
  objective.use_full_batch();
  const std::int64_t evaluations_before = objective.circuit_evaluations();
  std::vector<double> seconds;
  for (int r = 0; r < repetitions; ++r) {
    ex::Stopwatch sw;
    objective.evaluate(params.data(), gradient.data());
    seconds.push_back(sw.seconds());
  }
  const std::uint64_t peak = ex::peak_rss_bytes();
  EpochCost c;
  c.seconds = ex::median(seconds);
  c.circuit_evaluations = static_cast<long long>((objective.circuit_evaluations() - evaluations_before) / repetitions);
  c.peak_rss_increase = peak > rss_before ? peak - rss_before : 0;
  return c;
}

struct State {
  std::unique_ptr<DensityMatrix> rho;
  std::uint64_t rss_before = 0;
  bool peak_reset = false;
};

}  // namespace

int main(int argc, char** argv) {
  const ex::StudySpec spec = make_spec();
  auto settings = std::make_shared<Settings>();
  auto state = std::make_shared<State>();

  ex::StudyHooks hooks;
  hooks.validate = [settings](const ex::Options& o, const std::vector<ex::NamedNoiseModel>& models) {
    settings->repetitions = static_cast<int>(o.get_int("repetitions"));
    settings->min_sample_seconds = o.get_double("min-sample-seconds");
    settings->epoch_samples = static_cast<int>(o.get_int("epoch-samples"));
    settings->epoch_max_qubits = static_cast<int>(o.get_int("epoch-max-qubits"));
    settings->trajectories = static_cast<std::uint64_t>(o.get_int("trajectories"));
    if (o.data_parallel && std::find(o.category.begin(), o.category.end(), ex::kDensityMatrix) != o.category.end()) {
      throw ex::UsageError("--data-parallel splits the trajectories' training epoch across the MPI ranks: it needs "
                           "--method trajectories alone");
    }
    settings->data_parallel = ex::data_parallel(o);
    const int largest = *std::max_element(o.qubits.begin(), o.qubits.end());
    const bool dense = std::find(o.category.begin(), o.category.end(), ex::kDensityMatrix) != o.category.end();
    try {
      kraus::engine::require_memory(largest, dense ? kraus::engine::density_matrix_bytes(largest)
                                                   : 3 * kraus::engine::state_vector_bytes(largest),
                                    dense ? "the density matrix" : "the trajectories' state vectors");
    } catch (const std::exception& e) {
      throw ex::UsageError(std::string("--qubits: ") + e.what());
    }
    for (const ex::NamedNoiseModel& m : models) {
      for (int n : o.qubits) {
        const Circuit c = hardware_efficient_circuit(n, 1, 1);
        const kraus::noise::NoiseModel fitted = ex::fit_to_register(m.model, n);
        try {
          kraus::engine::validate_noise(c, fitted);
        } catch (const std::exception& e) {
          throw ex::UsageError("noise model '" + m.name + "' (" + m.path + ") on " + std::to_string(n) +
                               " qubits: " + e.what());
        }
      }
      // A device model that does not cover every qubit of the largest register leaves gates noiseless.
      const Circuit c = hardware_efficient_circuit(largest, 1, 1);
      long long gates = 0, channels = 0, silent = 0;
      count_noise(c, ex::fit_to_register(m.model, largest), &gates, &channels, &silent);
      if (!m.model.gate_noise.empty() && silent > 0) {
        std::cerr << "exp_scaling: warning: noise model '" << m.name << "' puts no channel after " << silent << " of "
                  << gates << " gates of a " << largest << "-qubit layer (its rules do not cover those qubits)\n";
      }
    }
  };
  hooks.describe = [](const ex::Options&) {
    nlohmann::ordered_json d;
    d["circuit"] =
        "depth layers of RY(theta) on every qubit, then cx(q, q+1) for q = 0..n-2; theta uniform in [0, 2 pi) from "
        "std::mt19937_64(seed); the noise model's channels after every gate (kraus::engine::compile); a model "
        "calibrated on more qubits is used on its qubits 0..n-1 (rules and readout errors of absent qubits dropped)";
    d["timing"] =
        "one warm-up evaluation, then `repetitions` samples, each the mean over evaluations_per_sample back-to-back "
        "evaluations (enough to last min-sample-seconds); seconds_per_evaluation is the median sample";
    d["memory"] =
        "peak_rss_bytes: the process's peak resident memory after the point (VmHWM of /proc/self/status, the "
        "high-water mark getrusage's ru_maxrss reports), reset (/proc/self/clear_refs) just before the state of that "
        "qubit count was allocated when peak_rss_reset = 1; "
        "peak_rss_increase_bytes = peak_rss_bytes - rss_before_bytes (RSS before that allocation); state_bytes = "
        "16 * 4^n; the peak is reset again before every later point of the same qubit count (the epoch "
        "timing of the previous point raised it)";
    d["methods"] =
        "density-matrix: kraus::engine::run on an exact density matrix (z0 exact, z0_stderr 0); trajectories: "
        "kraus::engine::run_trajectories with `trajectories` trajectories per evaluation and seed = the point's "
        "seed (z0 their mean, z0_stderr its standard error; docs/trajectories.md)";
    d["epoch"] =
        "epoch_samples seeded samples of n features uniform in [0, 1], RY(pi x_q) angle encoding, the same depth "
        "layers (optim::Ansatz: RY, CNOT chain), <Z_q> readouts on every qubit, binary logistic head "
        "(optim::ClassifierObjective); one epoch = one full-batch loss and adjoint gradient: per sample a forward "
        "and a backward pass, samples in sequence, or with at least twice as many samples as readouts data "
        "mixtures (optim::GradientOptions::data_mixtures: per readout a backward pass, then one adjoint gradient for "
        "the logit, whatever the number of samples); median of `repetitions` epochs after an untimed one-sample "
        "warm-up; epoch_peak_rss_increase_bytes = peak RSS during the epoch's set-up and runs minus the RSS "
        "before it; trajectories rows: the same epoch by trajectory SGD (optim::GradientOptions::trajectories = 1, "
        "seed = the point's seed; per sample one walk and one backward pass, samples in parallel below 18 "
        "qubits), at every qubit count";
    return d;
  };
  hooks.run_point = [settings, state](const ex::GridPoint& p) {
    const int n = p.qubits;
    const bool dense = p.category == ex::kDensityMatrix;
    if (!dense) {
      state->rho.reset();
      state->rss_before = ex::current_rss_bytes();
      state->peak_reset = ex::reset_peak_rss();
    } else if (!state->rho || state->rho->num_qubits() != n) {
      state->rho.reset();  // free the previous state before measuring the baseline
      state->rss_before = ex::current_rss_bytes();
      state->peak_reset = ex::reset_peak_rss();
      state->rho = std::make_unique<DensityMatrix>(n);
    } else {
      // The state is allocated already; the previous point's epoch raised the peak: start again from
      // the current RSS (which holds the state).
      state->peak_reset = ex::reset_peak_rss();
    }
    const Circuit c = hardware_efficient_circuit(n, p.depth, p.seed);
    const kraus::noise::NoiseModel model = ex::fit_to_register(*p.model, n);
    kraus::engine::validate_noise(c, model);
    long long gates = 0, channels = 0, silent = 0;
    count_noise(c, model, &gates, &channels, &silent);
    const kraus::engine::Program program = kraus::engine::compile(c, &model);
    const std::vector<kraus::engine::PauliSum> z0 = {kraus::engine::PauliSum::parse("Z0")};
    kraus::engine::TrajectoryOptions t;
    t.trajectories = settings->trajectories;
    t.seed = p.seed;
    kraus::engine::Estimate z0_estimate;
    // One evaluation: the density matrix, or every trajectory.
    auto evaluate = [&] {
      if (dense) {
        kraus::engine::run(program, nullptr, nullptr, *state->rho);
      } else {
        z0_estimate = kraus::engine::run_trajectories(program, nullptr, nullptr, z0, t).expectations[0];
      }
    };

    ex::Stopwatch warm_up;
    evaluate();
    const double first = std::max(warm_up.seconds(), 1e-9);
    if (dense) z0_estimate = {kraus::engine::expectation(*state->rho, z0[0]), 0.0, 1};
    const long long per_sample =
        std::clamp(static_cast<long long>(std::ceil(settings->min_sample_seconds / first)), 1LL, 1000000LL);
    std::vector<double> samples;
    for (int r = 0; r < settings->repetitions; ++r) {
      ex::Stopwatch sw;
      for (long long k = 0; k < per_sample; ++k) evaluate();
      samples.push_back(sw.seconds() / static_cast<double>(per_sample));
    }
    const std::uint64_t peak = ex::peak_rss_bytes();
    const int workers = n < kraus::engine::kTrajectoryParallelQubits ? kraus::engine::num_threads() : 1;
    const std::uint64_t state_bytes = dense ? kraus::engine::density_matrix_bytes(n)
                                            : static_cast<std::uint64_t>(workers) * kraus::engine::state_vector_bytes(n);

    ex::Row row;
    row.set("threads", kraus::engine::num_threads())
        .set("seconds_per_evaluation", ex::median(samples))
        .set("seconds_min", *std::min_element(samples.begin(), samples.end()))
        .set("seconds_max", *std::max_element(samples.begin(), samples.end()))
        .set("repetitions", settings->repetitions)
        .set("evaluations_per_sample", per_sample)
        .set("gates", gates)
        .set("gate_noise_channels", channels)
        .set("state_bytes", static_cast<unsigned long long>(state_bytes))
        .set("peak_rss_bytes", static_cast<unsigned long long>(peak))
        .set("peak_rss_increase_bytes", static_cast<unsigned long long>(peak > state->rss_before ? peak - state->rss_before : 0))
        .set("rss_before_bytes", static_cast<unsigned long long>(state->rss_before))
        .set("peak_rss_reset", state->peak_reset ? 1 : 0)
        .set("z0", z0_estimate.mean)
        .set("z0_stderr", z0_estimate.standard_error);
    if (dense) {
      row.set("trace", state->rho->trace()).set("purity", state->rho->purity()).set("trajectories", "");
    } else {
      row.set("trace", "").set("purity", "").set("trajectories", static_cast<unsigned long long>(settings->trajectories));
    }
    if (settings->epoch_samples > 0 && (!dense || n <= settings->epoch_max_qubits)) {
      const EpochCost e = time_epoch(n, p.depth, p.seed, settings->epoch_samples, settings->repetitions, model,
                                     dense ? 0 : 1, settings->data_parallel);
      // Give the epoch's freed buffers back to the system, so that the next qubit count's state is
      // fresh memory (its allocation shows in the RSS) rather than recycled heap pages.
      malloc_trim(0);
      row.set("epoch_samples", settings->epoch_samples)
          .set("seconds_per_epoch", e.seconds)
          .set("epoch_circuit_evaluations", e.circuit_evaluations)
          .set("epoch_peak_rss_increase_bytes", static_cast<unsigned long long>(e.peak_rss_increase));
    } else {
      for (const char* column : {"epoch_samples", "seconds_per_epoch", "epoch_circuit_evaluations",
                                 "epoch_peak_rss_increase_bytes"}) {
        row.set(column, "");
      }
    }
    return std::vector<ex::Row>{row};
  };
  return ex::run_study(spec, argc, argv, hooks);
}
