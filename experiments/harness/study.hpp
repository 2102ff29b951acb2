// The shared driver of every experiment binary: a binary describes its study (StudySpec,
// options.hpp) and how to measure one grid point; run_study does everything else.
//
//   int main(int argc, char** argv) {
//     kraus::experiments::StudyHooks hooks;
//     hooks.validate = [](const Options& o, const std::vector<NamedNoiseModel>& m) { ... };
//     hooks.run_point = [](const GridPoint& p) { ...; return std::vector<Row>{row}; };
//     return kraus::experiments::run_study(spec, argc, argv, hooks);
//   }
//
// run_study:
//  1. parses the options (--help prints the usage and returns 0), loads the noise models, scales
//     each by each --noise-scale value, and calls hooks.validate (memory, model/circuit fit). Any
//     problem: one message on stderr, return 2, nothing written.
//  2. compares the options with DIR/<study>.json from an earlier run, if any: different options
//     (or noise-model files that changed) are refused (return 2) unless --fresh.
//  3. opens the result files (store.hpp: lock, read, check every done point's rows; damaged
//     results are refused, return 2), writes DIR/<study>.json (status "running"; if that fails,
//     return 1 with the result files untouched), then lets the store drop the unfinished point of
//     an interrupted run and measures every grid point not yet done, in grid order, appending each
//     point's rows as soon as it completes, with a progress line on stderr:
//     "[12/40] qubits=8 depth=4 noise=depolarizing seed=1 ... 1.2 s".
//  4. rewrites DIR/<study>.json with status "complete" and returns 0. A failure after the first
//     JSON write (out of memory while measuring, a write error naming its file) is reported,
//     recorded in the JSON as far as the disk allows (status "failed" and the error), and returns
//     1; the completed points are kept and a re-run resumes.
//
// Under mpirun or srun (docs/distributed.md) every rank checks the options and builds the grid,
// rank 0 alone opens the files and writes them; a rank that is free takes the next pending point
// (dist::serve / dist::work), so the points run in any order, but rank 0 appends their rows (and
// prints their progress lines, with the rank that measured each) in grid order, buffering the points
// finished ahead of a slower one: the CSV is the one-process CSV whatever the rank count. A kill
// loses the buffered points, which a re-run measures again. The JSON's runs[] record the ranks.
// With --data-parallel (a study that offers it, StudySpec::data_parallel) every rank measures every
// pending point together, in grid order, its training batches of trajectories split across the
// ranks (data_parallel() below: each rank returns the whole batch's results, bit for bit), and rank
// 0 writes the rows; after each point the ranks agree to go on or to stop on any rank's failure.
//
// Grid: the Cartesian product of the used axes, in the order qubits (outermost), the study's
// category, noise model, noise scale, depth, seed (innermost), so that a study can allocate its
// state once per qubit count.
//
// CSV columns: study, noise_model, then the used axes among the category, noise_scale, qubits,
// depth, seed (these identify the point: its key), then the study's columns (StudySpec::columns),
// in that order.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/noise.hpp"
#include "harness/options.hpp"
#include "kraus/optim/gradients.hpp"

namespace kraus::experiments {

struct GridPoint {
  std::size_t index = 0;  // 0-based position in the full grid
  std::size_t total = 0;  // grid size
  const NamedNoiseModel* noise = nullptr;
  const noise::NoiseModel* model = nullptr;  // noise->model scaled by noise_scale
  double noise_scale = 1.0;                  // 1 when the study has no noise-scale axis
  int qubits = 0;                            // 0 when the study has no qubits axis
  int depth = 0;                             // 0 when the study has no depth axis
  std::uint64_t seed = 0;                    // 0 when the study has no seeds axis
  std::string category;                      // empty when the study has no category axis
  std::string key;                           // the point's line in DIR/<study>.progress
  std::string label;                         // "qubits=8 depth=4 noise=depolarizing seed=1"
};

// One CSV row: a value for each of the study's columns (the harness adds the grid columns).
class Row {
 public:
  Row& set(const std::string& column, double value);
  Row& set(const std::string& column, long long value);
  Row& set(const std::string& column, unsigned long long value);
  Row& set(const std::string& column, int value) { return set(column, static_cast<long long>(value)); }
  Row& set(const std::string& column, unsigned long value) { return set(column, static_cast<unsigned long long>(value)); }
  Row& set(const std::string& column, long value) { return set(column, static_cast<long long>(value)); }
  Row& set(const std::string& column, const std::string& value);
  Row& set(const std::string& column, const char* value) { return set(column, std::string(value)); }
  const std::map<std::string, std::string>& values() const { return values_; }

 private:
  std::map<std::string, std::string> values_;
};

struct StudyHooks {
  // Optional: checks before anything is written; throw UsageError (or any exception) to refuse.
  std::function<void(const Options&, const std::vector<NamedNoiseModel>&)> validate;
  // Measures one grid point and returns its rows (usually one). Called in grid order (with several
  // MPI ranks: each rank's points in grid order); its results must depend on the point only.
  std::function<std::vector<Row>(const GridPoint&)> run_point;
  // Optional: study-specific facts for the JSON's "study" object (circuit, methods), read after
  // validate.
  std::function<nlohmann::ordered_json(const Options&)> describe;
};

// With --data-parallel, this process's place in the MPI job and dist::all_gather, for
// optim::GradientOptions::data_parallel; otherwise the default (rank 0 of 1).
optim::GradientOptions::DataParallel data_parallel(const Options& o);

// Runs the study (see above) and returns the process exit status: 0, 1 or 2.
int run_study(const StudySpec& spec, int argc, const char* const* argv, const StudyHooks& hooks);

// The grid columns a study's CSV starts with (study, noise_model, used axes), and its key columns.
std::vector<std::string> grid_columns(const StudySpec& spec);
std::vector<std::string> key_columns(const StudySpec& spec);

}  // namespace kraus::experiments
