// Command-line options shared by every experiment binary (exp_scaling, and later exp_barren_plateau,
// exp_zne, exp_classifier, exp_adaptive), and the study description each binary gives the harness.
//
// Every binary accepts:
//   --noise MODEL         a noise-model JSON file, a directory (all its *.json files, sorted by name)
//                         or the name of a shipped model (experiments/noise_models/NAME.json);
//                         repeatable. The model's name is its file name without ".json".
//   --qubits LIST         qubit counts, e.g. "2:12", "2:12:2", "2,4,8" or "2:4,8"
//   --depth LIST          circuit depths (layers), same syntax
//   --noise-scale LIST    factors applied to every noise strength (NoiseModel::scaled), e.g.
//                         "0,0.5,1,2" or "0:2:0.5"
//   --seeds LIST          seeds, e.g. "1,2,3" or "1:10"
//   --threads T           OpenMP threads of the kernels (default: OMP_NUM_THREADS or all cores)
//   --out DIR             output folder (default: results/<study>)
//   --quick               the study's small grid (about a minute or less); options given
//                         explicitly still override it
//   --fresh               discard earlier results of this study in DIR and start over
//   --data-parallel       (studies that offer it) under MPI, all ranks measure each point together,
//                         splitting its trajectory batches (study.hpp)
//   --help                print the usage and exit 0
// plus the study's own options (StudyOption). A sweep option of an axis the study does not use is an
// error, as is any unknown option: UsageError, exit status 2. An option's value is the next
// argument unless that starts with "--" (then the value is missing: `--out --fresh` is refused);
// --NAME=VALUE takes any value.
//
// LIST syntax: comma-separated items, each a number or a range "a:b" (a, a+1, ..., b) or
// "a:b:step" (a, a+step, ... up to b inclusive, within a relative 1e-9 of step for real numbers);
// step > 0, a <= b. Duplicates are errors (a grid point would be measured twice).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace kraus::experiments {

// A bad command line or bad input file: the binary prints the message and exits with status 2
// before writing anything.
struct UsageError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// LIST parsers (syntax above). `option` names the option in error messages, e.g.
// "--qubits: '2:x' is not a range a:b or a:b:step of integers".
std::vector<int> parse_int_list(const std::string& option, const std::string& text, int min, int max);
std::vector<double> parse_double_list(const std::string& option, const std::string& text, double min, double max);
std::vector<std::uint64_t> parse_seed_list(const std::string& option, const std::string& text);

// A study-specific option: --NAME VALUE (or --NAME alone for a flag).
struct StudyOption {
  enum class Kind { kInt, kDouble, kString, kFlag };
  std::string name;           // without the leading "--", e.g. "repetitions"
  Kind kind = Kind::kInt;
  std::string metavar;        // "N" in the usage text
  std::string help;           // one line
  std::string default_value;  // as it would be typed; flags: "false" or "true"
  std::string quick_value;    // under --quick (empty: default_value)
  double min = 0.0, max = 0.0;  // kInt and kDouble: allowed range (inclusive)
};

// Which sweep axes a study uses and their defaults (empty `full`: the axis is not used and its
// option is refused). Values as typed on the command line.
struct AxisDefaults {
  std::string full, quick;
  bool used() const { return !full.empty(); }
};

// A study's own categorical axis (at most one), e.g. the data set of a classifier study:
// --NAME LIST takes comma-separated values from `values` (duplicates refused). Its column, named
// NAME, follows noise_model in the CSV and is part of a point's key.
struct CategoryAxis {
  std::string name;                 // option and column name, e.g. "dataset"; empty: no such axis
  std::string help;                 // one line for --help
  std::vector<std::string> values;  // the allowed values
  std::string full, quick;          // defaults, comma-separated
  bool used() const { return !name.empty(); }
};

// The simulation method that studies share (docs/trajectories.md): the category axis --method LIST
// of density-matrix (exact) and trajectories (state vectors, estimates with standard errors), and
// --trajectories N per evaluation of the latter. A study that offers both makes its category these.
inline const char* const kDensityMatrix = "density-matrix";
inline const char* const kTrajectories = "trajectories";
CategoryAxis method_axis(const std::string& full, const std::string& quick);
StudyOption trajectories_option(const std::string& default_value, const std::string& quick_value);

// What a binary tells the harness about itself. Everything else (parsing, output, resume,
// provenance) is shared.
struct StudySpec {
  std::string name;     // "scaling": output files <out>/scaling.csv and <out>/scaling.json
  std::string program;  // "exp_scaling"
  std::string summary;  // one paragraph for --help
  std::vector<std::string> default_noise, quick_noise;  // shipped model names or paths
  AxisDefaults qubits, depth, noise_scale, seeds;
  CategoryAxis category;
  int min_qubits = 1, max_qubits = 30;
  int min_depth = 0, max_depth = 10000;
  std::vector<StudyOption> options;
  // The measurement columns of the CSV, after the study and grid columns (see study.hpp).
  std::vector<std::string> columns;
  // A note for --help after the options (output columns, cost), may be empty.
  std::string epilogue;
  // The study offers --data-parallel (its training batches of trajectories split across the MPI
  // ranks, every rank on every point: study.hpp).
  bool data_parallel = false;
};

// The parsed command line.
struct Options {
  std::vector<std::string> noise;  // as given (or the defaults), resolved by noise.hpp
  std::vector<int> qubits, depth;  // empty when the study does not use the axis
  std::vector<double> noise_scale;
  std::vector<std::uint64_t> seeds;
  std::vector<std::string> category;  // values of the study's category axis (empty: none)
  int threads = 0;  // 0: the engine's default
  std::string out_dir;
  bool quick = false;
  bool fresh = false;
  bool data_parallel = false;  // --data-parallel (StudySpec::data_parallel)
  bool help = false;
  std::vector<std::string> argv;          // the command line, for the record
  std::map<std::string, std::string> extra;  // study options, validated, as typed or defaulted

  // Typed access to a study option (throws std::logic_error for a name the spec lacks).
  long long get_int(const std::string& name) const;
  double get_double(const std::string& name) const;
  const std::string& get_string(const std::string& name) const;
  bool get_flag(const std::string& name) const;
};

// Parses the command line against the spec; throws UsageError. With --help, returns
// options.help = true and leaves the rest unvalidated.
Options parse_options(const StudySpec& spec, int argc, const char* const* argv);

// The --help text of a study.
std::string usage(const StudySpec& spec);

// Formats a double the shortest way that reads back exactly ("0.5", "1e-05", "2").
std::string format_number(double value);

}  // namespace kraus::experiments
