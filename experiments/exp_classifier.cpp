// exp_classifier: a variational classifier's accuracy, loss and training time per epoch against
// the circuit depth and the noise model, on the digits reduced to 4x4 (0 vs 1, 3 vs 8, all ten),
// Fashion-MNIST reduced to 4x4 and synthetic sets (moons, circles, XOR); optionally trained with
// ZNE-mitigated readouts. --noise-scale multiplies every strength of the models (e.g. 1,10,30: the
// shipped models are mild at 4 qubits and 10 layers).
//
// Model (models/classifier.hpp, the same as exp_adaptive's): amplitude encoding of the 16 pixels on
// 4 qubits then `depth` hardware-efficient layers, or `depth` data re-uploading layers on 2 qubits
// for the 2-feature synthetic sets; <Z_q> on every qubit feed a dressed classical head (one logit
// with the logistic loss for 2 classes, softmax cross-entropy otherwise). The noise model's channels
// follow every gate of the layers. Readout errors of a model are not applied: the readouts are exact
// expectation values <Z_q> of the noisy state (the readout_only model therefore trains like ideal),
// except with --method shots.
//
// --method (optim::GradientOptions): density-matrix, exact (adjoint gradients; batches as data
// mixtures where the model allows); trajectories, --trajectories per sample (trajectory SGD:
// unbiased gradients of a linear loss, the head's loss biased at order 1/T); shots, --shots per
// circuit with the model's readout errors and parameter-shift gradients, as hardware would give.
// The evaluation after each epoch uses the same method.
//
// Data: data/datasets.hpp's load_task(dataset, seed, --samples-per-class): a stratified 70/30 split
// (Fashion-MNIST: its own train and test files) from the grid point's seed.
//
// Training: Adam (--learning-rate) on mini-batches of --batch-size samples, a seeded reshuffle per
// epoch (ClassifierObjective::next_batch), --epochs epochs of ceil(train / batch) steps, from
// initial parameters drawn with the point's seed (models/classifier.hpp: initial_parameters). With
// --zne-scales, every training and evaluation readout is the ZNE estimate sum_j gamma_j <Z>(s_j)
// of the noise model scaled by s_j (noise-strength scaling, --zne-extrapolator: linear, richardson
// or poly:K), so a point costs len(scales) times as many circuit evaluations.
//
// Rows: one per model and epoch, epoch 0 being the initial parameters. After each epoch the loss
// (the mean cross-entropy of ClassifierObjective::loss, without the L2 term that training adds) and
// the accuracy are evaluated on the full training and test sets with a second objective (its
// evaluations are not counted in circuit_evaluations, which counts training only). seconds_epoch
// is the wall clock of the epoch's Adam steps alone (0 for epoch 0); peak_rss_bytes is the
// process's peak resident memory since the point started.
//
// Classical baselines (--model classical or both; models/classical.hpp): a softmax regression and a
// one-hidden-layer tanh MLP on the raw features, trained at every grid point on the same split, with
// the same mini-batches (the same seeded shuffles), Adam options, epochs and L2 penalty as the
// quantum model, from initial parameters drawn with the point's seed. The MLP has the most hidden
// units whose parameter count does not exceed the quantum model's at that point (none fits: no MLP
// rows). Their rows (column model: softmax, mlp) do not depend on the noise model: they repeat at
// every noise model and scale, so that every point is complete on its own.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/datasets.hpp"
#include "harness/resources.hpp"
#include "harness/study.hpp"
#include "kraus/mitigation/zne.hpp"
#include "kraus/optim/solver.hpp"
#include "models/classical.hpp"
#include "models/classifier.hpp"

namespace {

namespace ex = kraus::experiments;
namespace optim = kraus::optim;

ex::StudySpec make_spec() {
  ex::StudySpec s;
  s.name = "classifier";
  s.program = "exp_classifier";
  s.summary =
      "Trains the variational classifier of models/classifier.hpp (amplitude-encoded 4x4 images on 4 qubits,\n"
      "or data re-uploading on 2 qubits for synthetic sets; depth hardware-efficient layers; a dressed\n"
      "classical head) with Adam on mini-batches, under each noise model, and records loss, train and test\n"
      "accuracy and the time of every epoch against the depth. Optionally ZNE-mitigated readouts.";
  s.default_noise = {"ideal", "depolarizing", "amplitude_damping", "device_like"};
  s.quick_noise = {"ideal", "depolarizing"};
  s.category = {"dataset", "classification tasks (experiments/data/datasets.hpp)", ex::task_names(),
                "digits01,digits38,digits10,fashion,moons", "digits01,moons"};
  s.depth = {"2:10", "2,6,10"};
  s.noise_scale = {"1", "1"};
  s.seeds = {"1:3", "1"};
  s.min_depth = 1;
  s.max_depth = 100;
  s.options = {
      {"epochs", ex::StudyOption::Kind::kInt, "E", "training epochs", "30", "15", 1, 100000},
      {"batch-size", ex::StudyOption::Kind::kInt, "B", "mini-batch size", "32", "32", 1, 1000000},
      {"learning-rate", ex::StudyOption::Kind::kDouble, "R", "Adam's step size", "0.05", "0.05", 1e-6, 10},
      {"samples-per-class", ex::StudyOption::Kind::kInt, "N",
       "at most N training samples per class (and ceil(3N/7) test samples); 0: all", "200", "40", 0, 100000000},
      {"zne-scales", ex::StudyOption::Kind::kString, "LIST",
       "train on ZNE-mitigated readouts with these noise scale factors, e.g. 1,2,3 (none: off)", "none", "none", 0, 0},
      {"zne-extrapolator", ex::StudyOption::Kind::kString, "X",
       "the linear extrapolator of --zne-scales: linear, richardson or poly:K", "richardson", "richardson", 0, 0},
  };
  for (const ex::StudyOption& o : ex::training_options()) s.options.push_back(o);
  s.columns = {"model",         "epoch",          "train_loss",          "train_accuracy", "test_loss",
               "test_accuracy", "seconds_epoch",  "circuit_evaluations", "parameters",     "model_qubits",
               "train_samples", "test_samples",   "classes",             "zne",            "peak_rss_bytes",
               "circuit_executions", "latency_seconds", "latency_share", "seconds_forward", "seconds_backward",
               "seconds_head", "seconds_data", "seconds_optimiser", "step_circuits"};
  s.epilogue =
      "Rows: one per grid point, model and epoch (epoch 0: the initial parameters). Columns after the grid (study,\n"
      "noise_model, dataset, noise_scale, depth, seed): model (quantum; with --model classical or both also softmax\n"
      "and mlp, the classical baselines, the same at every noise model), epoch, train_loss, train_accuracy,\n"
      "test_loss, test_accuracy (on the full sets after the epoch), seconds_epoch (the epoch's training steps),\n"
      "circuit_evaluations (training, cumulative; 0 for the classical models), parameters (the model's own),\n"
      "model_qubits (0: classical), train_samples, test_samples, classes, zne (\"none\" or \"<extrapolator>\n"
      "<scales>\"), peak_rss_bytes (process peak since the point started), circuit_executions (training,\n"
      "cumulative: the circuits a hardware run would submit, parameter shift for every gradient), latency_seconds\n"
      "(the epoch's simulated round trips: --qpu-latency per submission of --batch-circuits circuits) and\n"
      "latency_share (latency_seconds / (latency_seconds + seconds_epoch)), and seconds_epoch split into\n"
      "seconds_forward, seconds_backward (circuit passes), seconds_head (the loss and its weights per sample),\n"
      "seconds_data (drawing the mini-batches) and seconds_optimiser (the rest: Adam, the head's gradient sums),\n"
      "step_circuits (the circuits one training step submits; 0 for the classical models).\n"
      "Data: digits from python3-sklearn, Fashion-MNIST from dataset-fashion-mnist (scripts/install-deps.sh).\n"
      "Cost: --quick takes seconds; the default grid (5 data sets, 4 models, depths 2..10, 3 seeds, 30 epochs)\n"
      "takes about 2 hours on one core (200 of its points, even depths and 2 seeds: 44 min).\n"
      "Plot: /usr/bin/python3 plots/plot_classifier.py DIR/classifier.csv";
  s.data_parallel = true;
  return s;
}

struct Settings {
  int epochs = 30;
  int batch_size = 32;
  double learning_rate = 0.05;
  int samples_per_class = 0;
  std::optional<optim::ZneSettings> zne;
  std::string zne_label = "none";
  ex::TrainingSetup training;  // --method, --model, --qpu-latency, ...
  optim::GradientOptions::DataParallel data_parallel;  // --data-parallel
  std::map<std::string, ex::Task> tasks;  // by "name/seed"
};

const ex::Task& task_for(Settings& s, const std::string& name, std::uint64_t seed) {
  const std::string key = name + "/" + std::to_string(seed);
  auto it = s.tasks.find(key);
  if (it == s.tasks.end()) it = s.tasks.emplace(key, ex::load_task(name, seed, s.samples_per_class)).first;
  return it->second;
}

// What a model's rows say besides the measurements.
struct ModelRows {
  std::string name;  // the model column
  int qubits = 0;    // model_qubits
  std::string zne;   // the zne column
  // Circuits a hardware run submits per sample of a training step: per (ZNE-scaled) circuit, the
  // circuit and its two shifted copies per parametrised rotation (parameter shift). 0: classical.
  long long circuits_per_sample = 0;
};

// Where the circuits' time went (none for a classical model: its forward and backward passes count
// as the optimiser's).
optim::CircuitTiming circuit_timing(const optim::ClassifierObjective& o) { return o.function().timing(); }
optim::CircuitTiming circuit_timing(const ex::ClassicalClassifier&) { return {}; }

// Trains `train` from `params` with Adam on its mini-batches (next_batch before every step) for the
// study's epochs and appends a row per epoch (epoch 0: the initial parameters) to `rows`, with the
// loss and accuracy on the full training and test sets from `eval`. Model is the quantum
// ClassifierObjective or a ClassicalClassifier.
template <class Model>
void train_and_record(const Settings& s, const ex::Task& task, const ModelRows& info, Model& train, const Model& eval,
                      std::vector<double> params, std::vector<ex::Row>* rows) {
  // A step's circuits go out in submissions of --batch-circuits, each charged --qpu-latency.
  const long long step_circuits = std::min(s.batch_size, task.train.size()) * info.circuits_per_sample;
  long long executions = 0;  // hardware circuits so far
  double latency = 0.0;      // simulated round trips of the current epoch
  double data_seconds = 0.0;  // drawing the current epoch's batches
  optim::CircuitTiming seen;  // the circuits' timing at the last row
  auto record = [&](int epoch, double seconds_epoch) {
    ex::Row r;
    r.set("model", info.name)
        .set("epoch", epoch)
        .set("train_loss", eval.loss(params.data(), task.train))
        .set("train_accuracy", eval.accuracy(params.data(), task.train))
        .set("test_loss", eval.loss(params.data(), task.test))
        .set("test_accuracy", eval.accuracy(params.data(), task.test))
        .set("seconds_epoch", seconds_epoch)
        .set("circuit_evaluations", static_cast<long long>(train.circuit_evaluations()))
        .set("parameters", train.num_parameters())
        .set("model_qubits", info.qubits)
        .set("train_samples", task.train.size())
        .set("test_samples", task.test.size())
        .set("classes", task.train.num_classes)
        .set("zne", info.zne)
        .set("peak_rss_bytes", static_cast<unsigned long long>(ex::peak_rss_bytes()))
        .set("circuit_executions", executions)
        .set("latency_seconds", latency)
        .set("latency_share", latency > 0.0 ? latency / (latency + seconds_epoch) : 0.0);
    // The epoch's time by where it went: the circuits' timing since the last row, the batches drawn.
    const optim::CircuitTiming now = circuit_timing(train);
    const double forward = now.forward_seconds - seen.forward_seconds,
                 backward = now.backward_seconds - seen.backward_seconds,
                 head = now.cotangent_seconds - seen.cotangent_seconds;
    r.set("seconds_forward", forward)
        .set("seconds_backward", backward)
        .set("seconds_head", head)
        .set("seconds_data", data_seconds)
        .set("seconds_optimiser", std::max(0.0, seconds_epoch - forward - backward - head - data_seconds))
        .set("step_circuits", step_circuits);
    seen = now;
    rows->push_back(r);
    latency = 0.0;
    data_seconds = 0.0;
  };
  record(0, 0.0);
  const int steps_per_epoch = (task.train.size() + s.batch_size - 1) / s.batch_size;
  optim::AdamOptions adam;
  adam.learning_rate = s.learning_rate;
  adam.max_steps = s.epochs * steps_per_epoch;
  adam.before_step = [&](int) {
    const ex::Stopwatch clock;
    train.next_batch();
    data_seconds += clock.seconds();
    executions += step_circuits;
    latency += static_cast<double>((step_circuits + s.training.batch_circuits - 1) / s.training.batch_circuits) *
                 s.training.qpu_latency_ms / 1e3;
  };
  double epoch_start = 0.0;  // Adam's clock at the start of the current epoch
  double evaluation_seconds = 0.0;  // spent in record(), excluded from the epochs' times
  adam.callbacks.push_back([&](const optim::IterationInfo& it) {
    if ((it.iteration + 1) % steps_per_epoch != 0) return optim::CallbackAction::kContinue;
    const double training = it.cumulative_time_s - evaluation_seconds;
    const ex::Stopwatch clock;
    record((it.iteration + 1) / steps_per_epoch, training - epoch_start);
    epoch_start = training;
    evaluation_seconds += clock.seconds();
    return optim::CallbackAction::kContinue;
  });
  const optim::SolveSummary summary = optim::adam(train, &params, adam);
  if (!summary.usable()) throw std::runtime_error(info.name + " training failed: " + summary.BriefReport());
}

// The classical models of a task and their parameter counts, per depth, for the JSON record.
nlohmann::ordered_json describe_classical(const ex::Task& t, const std::vector<int>& depths) {
  nlohmann::ordered_json c;
  const int F = t.train.num_features, K = t.train.num_classes == 2 ? 1 : t.train.num_classes;
  c["softmax"] = {{"parameters", ex::classical_parameter_count(ex::ClassicalKind::kSoftmax, F, K)}};
  for (int depth : depths) {
    const ex::ClassifierModel m = ex::classifier_model(t, depth);
    const optim::ClassifierObjective q(optim::Ansatz(m.ansatz).circuit(m.encoding), t.train, m.options);
    const int h = ex::mlp_hidden_units(q.num_parameters(), F, K);
    c["mlp"][std::to_string(depth)] = {
        {"quantum_parameters", q.num_parameters()},
        {"hidden_units", h},
        {"parameters", h > 0 ? ex::classical_parameter_count(ex::ClassicalKind::kMlp, F, K, h) : 0}};
  }
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  const ex::StudySpec spec = make_spec();
  auto settings = std::make_shared<Settings>();

  ex::StudyHooks hooks;
  hooks.validate = [settings](const ex::Options& o, const std::vector<ex::NamedNoiseModel>& models) {
    Settings& s = *settings;
    s.epochs = static_cast<int>(o.get_int("epochs"));
    s.batch_size = static_cast<int>(o.get_int("batch-size"));
    s.learning_rate = o.get_double("learning-rate");
    s.samples_per_class = static_cast<int>(o.get_int("samples-per-class"));
    s.training = ex::training_setup(o);
    if (o.data_parallel && s.training.method != "trajectories") {
      throw ex::UsageError("--data-parallel splits batches of trajectories across the MPI ranks: it needs --method "
                           "trajectories");
    }
    s.data_parallel = ex::data_parallel(o);
    const std::string& scales = o.get_string("zne-scales");
    if (scales != "none") {
      optim::ZneSettings z;
      try {
        z.scale_factors = kraus::mitigation::parse_scale_factors(scales);
      } catch (const std::exception& e) {
        throw ex::UsageError("--zne-scales: " + std::string(e.what()));
      }
      try {
        z.extrapolator = kraus::mitigation::ExtrapolatorSpec::parse(o.get_string("zne-extrapolator"));
      } catch (const std::exception& e) {
        throw ex::UsageError("--zne-extrapolator: " + std::string(e.what()));
      }
      std::string why;
      if (!z.IsValid(&why)) throw ex::UsageError("--zne-scales/--zne-extrapolator: " + why);
      s.zne_label = z.extrapolator.name() + " " + scales;
      s.zne = z;
      for (const ex::NamedNoiseModel& m : models) {
        try {
          (void)m.model.scaled(z.scale_factors.back());
        } catch (const std::exception& e) {
          throw ex::UsageError("--zne-scales: noise model '" + m.name + "' cannot be scaled: " + e.what());
        }
      }
    }
    // Every data set loads (a missing package is named before anything is written).
    for (const std::string& name : o.category) {
      for (std::uint64_t seed : o.seeds) {
        try {
          task_for(s, name, seed);
        } catch (const std::exception& e) {
          throw ex::UsageError("--dataset " + name + ": " + e.what());
        }
      }
    }
  };
  hooks.describe = [settings](const ex::Options& o) {
    nlohmann::ordered_json d;
    for (const std::string& name : o.category) {
      const ex::Task& t = task_for(*settings, name, o.seeds.front());
      d["datasets"][name] = {{"preparation", t.description},
                             {"train_samples", t.train.size()},
                             {"test_samples", t.test.size()},
                             {"classes", t.train.num_classes},
                             {"model", ex::classifier_model(t, 1).description}};
      if (settings->training.classical) d["datasets"][name]["classical"] = describe_classical(t, o.depth);
    }
    d["training"] = "Adam (learning rate " + o.extra.at("learning-rate") + ", betas 0.9, 0.999) on mini-batches of " +
                    o.extra.at("batch-size") + " with a seeded reshuffle per epoch, " + o.extra.at("epochs") +
                    " epochs; initial parameters from the point's seed";
    d["evaluation"] = "loss (mean cross-entropy, without the L2 term) and accuracy on the full training and test "
                      "sets after each epoch, by a second objective whose circuit evaluations are not counted";
    d["zne"] = settings->zne_label == "none"
                   ? std::string("none")
                   : "readouts sum_j gamma_j <Z>(s_j) under the noise model scaled by s_j (" + settings->zne_label + ")";
    const Settings& st = *settings;
    d["method"] = st.training.method;
    if (st.training.method == "density-matrix") {
      d["method_detail"] = "exact density matrices; adjoint gradients (batches as data mixtures where the model allows)";
      d["readout_errors"] = "not applied: the readouts are exact <Z_q> of the noisy state";
    } else if (st.training.method == "trajectories") {
      d["method_detail"] = "trajectory SGD (optim::GradientOptions::trajectories = " + std::to_string(st.training.trajectories) +
                           "): each sample's readouts and loss gradient from that many state-vector trajectories, "
                           "seeded by the point's seed and the call; the evaluation's loss and accuracy are "
                           "estimated the same way; a nonlinear head's loss is biased at order 1/T";
      d["trajectories"] = st.training.trajectories;
      d["readout_errors"] = "not applied: the readouts are trajectory estimates of <Z_q>";
    } else {
      d["method_detail"] = "shots (optim::GradientOptions::shots = " + std::to_string(st.training.shots) +
                           "): every circuit's readouts from that many shots of its output distribution with the "
                           "model's readout errors, gradients by parameter shift (each shifted circuit its own "
                           "shots), seeded by the point's seed and the call; the evaluation's loss and accuracy "
                           "from shots too";
      d["shots"] = st.training.shots;
      d["readout_errors"] = "applied to every shot (the noise model's readout errors)";
    }
    d["latency"] = "simulated, not slept: every training step's circuits (per sample, per ZNE-scaled circuit, the "
                   "circuit and its parameter-shift pair per parametrised rotation, as hardware would run them) go "
                   "out in submissions of " + std::to_string(st.training.batch_circuits) + " circuits, each charged " +
                   o.extra.at("qpu-latency") + " ms";
    d["models"] = o.get_string("model");
    if (settings->training.classical) {
      d["classical"] =
          "softmax regression (logits W x + b) and a one-hidden-layer MLP (tanh(W1 x + b1), then W2 h + b2) on the "
          "raw features, the quantum head's loss (binary: one logit, logistic loss) and L2 penalty on the weight "
          "matrices, trained with the same Adam options, mini-batches (the same seeded shuffles), epochs and seeds; "
          "weights uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)] from the point's seed, biases 0. The MLP has the "
          "most hidden units whose parameter count does not exceed the quantum model's at that depth (none fits: "
          "no MLP rows). Their rows do not depend on the noise model.";
    }
    return d;
  };
  hooks.run_point = [settings](const ex::GridPoint& p) {
    Settings& s = *settings;
    ex::reset_peak_rss();
    const ex::Task& task = task_for(s, p.category, p.seed);
    ex::ClassifierModel m = ex::classifier_model(task, p.depth);
    m.options.batch_size = s.batch_size;
    m.options.batch_seed = p.seed;
    m.options.zne = s.zne;
    s.training.apply(&m.options.gradient, p.seed);
    m.options.gradient.data_parallel = s.data_parallel;
    const optim::Ansatz ansatz(m.ansatz);
    const kraus::engine::Circuit circuit = ansatz.circuit(m.encoding);
    const kraus::noise::NoiseModel model = ex::fit_to_register(*p.model, m.ansatz.num_qubits);
    // Built for every --model: its parameter count is the classical MLP's budget.
    optim::ClassifierObjective train(circuit, task.train, m.options, &model);

    std::vector<ex::Row> rows;
    if (s.training.quantum) {
      optim::ClassifierOptions eval_options = m.options;
      eval_options.batch_size = 0;
      const optim::ClassifierObjective eval(circuit, task.train, eval_options, &model);
      ModelRows info{"quantum", m.ansatz.num_qubits, s.zne_label};
      for (int j = 0; j < train.function().num_functions(); ++j) {
        info.circuits_per_sample += 1 + 2LL * train.function().function(j).num_parametrized_rotations();
      }
      train_and_record(s, task, info, train, eval, ex::initial_parameters(ansatz, train, p.seed), &rows);
    }
    if (s.training.classical) {
      for (const ex::ClassicalOptions& o : ex::classical_baselines(task.train, m.options, train.num_parameters())) {
        ex::ClassicalClassifier c(task.train, o);
        // Its evaluations count nothing and ignore the batch: the training objective evaluates.
        const ModelRows info{ex::to_string(o.kind), 0, "none"};
        train_and_record(s, task, info, c, c, c.initial_parameters(p.seed), &rows);
      }
    }
    return rows;
  };
  return ex::run_study(spec, argc, argv, hooks);
}
