#include "harness/study.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "harness/provenance.hpp"
#include "harness/resources.hpp"
#include "harness/store.hpp"
#include "kraus/dist/dist.hpp"
#include "kraus/noise/text.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/simulator.hpp"

namespace kraus::experiments {
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

// ---- Row ---------------------------------------------------------------------------------------

Row& Row::set(const std::string& column, double value) {
  values_[column] = format_number(value);
  return *this;
}
Row& Row::set(const std::string& column, long long value) {
  values_[column] = std::to_string(value);
  return *this;
}
Row& Row::set(const std::string& column, unsigned long long value) {
  values_[column] = std::to_string(value);
  return *this;
}
Row& Row::set(const std::string& column, const std::string& value) {
  values_[column] = value;
  return *this;
}

// ---- columns -----------------------------------------------------------------------------------

std::vector<std::string> key_columns(const StudySpec& spec) {
  std::vector<std::string> k = {"noise_model"};
  if (spec.category.used()) k.push_back(spec.category.name);
  if (spec.noise_scale.used()) k.push_back("noise_scale");
  if (spec.qubits.used()) k.push_back("qubits");
  if (spec.depth.used()) k.push_back("depth");
  if (spec.seeds.used()) k.push_back("seed");
  return k;
}

std::vector<std::string> grid_columns(const StudySpec& spec) {
  std::vector<std::string> g = {"study"};
  for (const std::string& k : key_columns(spec)) g.push_back(k);
  return g;
}

namespace {

json options_record(const StudySpec& spec, const Options& o, const std::vector<NamedNoiseModel>& models) {
  json r;
  json names = json::array();
  for (const NamedNoiseModel& m : models) names.push_back(m.name);
  r["noise"] = names;
  if (spec.noise_scale.used()) r["noise_scale"] = o.noise_scale;
  if (spec.qubits.used()) r["qubits"] = o.qubits;
  if (spec.depth.used()) r["depth"] = o.depth;
  if (spec.seeds.used()) r["seeds"] = o.seeds;
  if (spec.category.used()) r[spec.category.name] = o.category;
  r["threads"] = engine::num_threads();
  for (const StudyOption& opt : spec.options) {
    const std::string& v = o.extra.at(opt.name);
    switch (opt.kind) {
      case StudyOption::Kind::kInt:
        r[opt.name] = o.get_int(opt.name);
        break;
      case StudyOption::Kind::kDouble:
        r[opt.name] = o.get_double(opt.name);
        break;
      case StudyOption::Kind::kFlag:
        r[opt.name] = (v == "true");
        break;
      case StudyOption::Kind::kString:
        r[opt.name] = v;
        break;
    }
  }
  return r;
}

json noise_models_record(const std::vector<NamedNoiseModel>& models) {
  json r = json::object();
  for (const NamedNoiseModel& m : models) {
    r[m.name] = {{"path", fs::absolute(m.path).lexically_normal().string()}, {"model", m.document}};
  }
  return r;
}

std::string short_dump(const json& j) {
  std::string s = j.is_null() ? std::string("(absent)") : j.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

bool nonempty_file(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec) && fs::file_size(path, ec) > 0;
}

// Refuses to mix results of different options into one set of files; returns the earlier JSON
// (null when there is none).
json check_earlier_run(const std::string& json_path, const std::string& csv_path, const std::string& progress_path,
                       const json& options, const json& noise_models) {
  std::error_code ec;
  if (!fs::exists(json_path, ec)) {
    if (nonempty_file(csv_path) || nonempty_file(progress_path)) {
      throw UsageError(csv_path + " exists but " + json_path +
                       " does not, so the options that produced it are unknown: use --fresh to discard it, or "
                       "another --out");
    }
    return nullptr;
  }
  json earlier;
  try {
    std::ifstream in(json_path);
    earlier = json::parse(in);
  } catch (const std::exception& e) {
    throw UsageError(json_path + ": cannot read the record of the earlier run (" + std::string(e.what()) +
                     "): use --fresh to discard it, or another --out");
  }
  std::vector<std::string> differences;
  const json recorded = earlier.value("options", json::object());
  for (const auto& [key, value] : options.items()) {
    if (!recorded.contains(key) || recorded[key] != value) {
      differences.push_back(key + " " + short_dump(recorded.contains(key) ? recorded[key] : json()) + " then, " +
                            short_dump(value) + " now");
    }
  }
  for (const auto& [key, value] : recorded.items()) {
    if (!options.contains(key)) differences.push_back(key + " " + short_dump(value) + " then, absent now");
  }
  const json recorded_models = earlier.value("noise_models", json::object());
  for (const auto& [name, entry] : noise_models.items()) {
    if (recorded_models.contains(name) && recorded_models[name].value("model", json()) != entry["model"]) {
      differences.push_back("noise model '" + name + "' (" + entry["path"].get<std::string>() +
                            ") has changed since");
    }
  }
  if (!differences.empty()) {
    std::string msg = json_path + " records a run with different options (";
    for (std::size_t i = 0; i < differences.size(); ++i) msg += (i ? "; " : "") + differences[i];
    msg += "): use the same options to resume it, --fresh to discard its results, or another --out";
    throw UsageError(msg);
  }
  return earlier;
}

}  // namespace

namespace {

// A measured point: its CSV lines, where and how long it ran, or why it failed.
struct MeasuredPoint {
  std::vector<std::vector<std::string>> lines;
  double seconds = 0.0;
  int rank = 0;
  std::string error;  // empty: measured
};

// Runs hooks.run_point and turns its rows into CSV lines (the grid columns first).
MeasuredPoint measure(const StudySpec& spec, const StudyHooks& hooks, const GridPoint& p) {
  MeasuredPoint m;
  m.rank = dist::rank();
  const Stopwatch point_time;
  try {
    const std::vector<Row> rows = hooks.run_point(p);
    for (const Row& row : rows) {
      std::vector<std::string> line = {spec.name, p.noise->name};
      if (spec.category.used()) line.push_back(p.category);
      if (spec.noise_scale.used()) line.push_back(format_number(p.noise_scale));
      if (spec.qubits.used()) line.push_back(std::to_string(p.qubits));
      if (spec.depth.used()) line.push_back(std::to_string(p.depth));
      if (spec.seeds.used()) line.push_back(std::to_string(p.seed));
      for (const std::string& c : spec.columns) {
        const auto it = row.values().find(c);
        if (it == row.values().end()) throw std::logic_error("the row has no value for column '" + c + "'");
        line.push_back(it->second);
      }
      if (row.values().size() != spec.columns.size()) {
        for (const auto& [c, v] : row.values()) {
          if (std::find(spec.columns.begin(), spec.columns.end(), c) == spec.columns.end()) {
            throw std::logic_error("the row sets '" + c + "', which is not a column of the study");
          }
        }
      }
      m.lines.push_back(std::move(line));
    }
  } catch (const std::exception& e) {
    m.lines.clear();
    m.error = e.what();
  }
  m.seconds = point_time.seconds();
  return m;
}

// A measured point as a message from another rank to rank 0: "ok SECONDS\n" and its CSV lines, or
// "error\n" and the message.
std::string encode(const MeasuredPoint& m) {
  if (!m.error.empty()) return "error\n" + m.error;
  char head[64];
  std::snprintf(head, sizeof head, "ok %.17g\n", m.seconds);
  std::string out = head;
  for (const auto& line : m.lines) out += csv_line(line);
  return out;
}

MeasuredPoint decode(int rank, const std::string& message) {
  MeasuredPoint m;
  m.rank = rank;
  const std::size_t eol = message.find('\n');
  const std::string head = message.substr(0, eol);
  if (head == "error") {
    m.error = message.substr(eol + 1);
    return m;
  }
  m.seconds = std::stod(head.substr(3));
  for (std::size_t at = eol + 1; at < message.size();) {
    const std::size_t end = message.find('\n', at);
    m.lines.push_back(csv_split(message.substr(at, end - at)));
    at = end + 1;
  }
  return m;
}

}  // namespace

optim::GradientOptions::DataParallel data_parallel(const Options& o) {
  optim::GradientOptions::DataParallel d;
  if (!o.data_parallel) return d;
  d.rank = dist::rank();
  d.ranks = dist::size();
  d.all_gather = dist::all_gather;
  return d;
}

int run_study(const StudySpec& spec, int argc, const char* const* argv, const StudyHooks& hooks) {
  const std::string& prog = spec.program;
  std::optional<dist::Session> session;
  try {
    session.emplace(nullptr, nullptr);
  } catch (const std::exception& e) {
    std::cerr << prog << ": " << noise::printable(e.what()) << "\n";
    return 2;
  }
  const int rank = dist::rank(), ranks = dist::size();
  Options o;
  std::vector<NamedNoiseModel> models;
  std::vector<double> scales;
  std::vector<std::vector<noise::NoiseModel>> scaled;  // [model][scale]
  json options_json, models_json, method_json, earlier;
  std::string json_path;
  std::unique_ptr<ResultStore> store;  // rank 0's
  const std::vector<std::string> grid_cols = grid_columns(spec);
  std::vector<std::string> columns = grid_cols;
  columns.insert(columns.end(), spec.columns.begin(), spec.columns.end());
  const std::vector<std::string> keys = key_columns(spec);
  std::vector<GridPoint> grid;

  // ---- 1-3: everything that can be refused, before any result is written; every rank checks the
  // options, rank 0 alone the files ----
  std::string setup_error;
  try {
    o = parse_options(spec, argc, argv);
    if (o.help) {
      if (rank != 0) return 0;
      std::cout << usage(spec) << std::flush;
      if (!std::cout) {
        std::cerr << prog << ": cannot write the usage to standard output\n";
        return 1;
      }
      return 0;
    }
    models = load_noise_models(o.noise);
    scales = spec.noise_scale.used() ? o.noise_scale : std::vector<double>{1.0};
    scaled.resize(models.size());
    for (std::size_t m = 0; m < models.size(); ++m) {
      for (double s : scales) {
        try {
          scaled[m].push_back(s == 1.0 ? models[m].model : models[m].model.scaled(s));
        } catch (const std::exception& e) {
          throw UsageError("--noise-scale " + format_number(s) + ": cannot scale noise model '" + models[m].name +
                           "': " + e.what());
        }
      }
    }
    // Capped at the cores available (with a note), the default (OMP_NUM_THREADS) too: the JSON
    // records the threads actually used.
    engine::set_num_threads(o.threads > 0 ? o.threads : engine::num_threads());
    if (hooks.validate) hooks.validate(o, models);
    options_json = options_record(spec, o, models);
    models_json = noise_models_record(models);
    method_json = hooks.describe ? hooks.describe(o) : json::object();

    // ---- the grid ----
    const std::vector<int> qubits = spec.qubits.used() ? o.qubits : std::vector<int>{0};
    const std::vector<int> depths = spec.depth.used() ? o.depth : std::vector<int>{0};
    const std::vector<std::uint64_t> seeds = spec.seeds.used() ? o.seeds : std::vector<std::uint64_t>{0};
    const std::vector<std::string> categories = spec.category.used() ? o.category : std::vector<std::string>{""};
    for (int q : qubits) {
      for (const std::string& category : categories) {
        for (std::size_t m = 0; m < models.size(); ++m) {
          for (std::size_t s = 0; s < scales.size(); ++s) {
            for (int d : depths) {
              for (std::uint64_t seed : seeds) {
                GridPoint p;
                p.noise = &models[m];
                p.model = &scaled[m][s];
                p.noise_scale = scales[s];
                p.qubits = q;
                p.depth = d;
                p.seed = seed;
                p.category = category;
                std::vector<std::string> key_values = {models[m].name};
                if (spec.category.used()) {
                  key_values.push_back(category);
                  p.label += spec.category.name + "=" + category + " ";
                }
                if (spec.noise_scale.used()) key_values.push_back(format_number(p.noise_scale));
                if (spec.qubits.used()) {
                  key_values.push_back(std::to_string(q));
                  p.label += "qubits=" + std::to_string(q) + " ";
                }
                if (spec.depth.used()) {
                  key_values.push_back(std::to_string(d));
                  p.label += "depth=" + std::to_string(d) + " ";
                }
                p.label += "noise=" + models[m].name;
                if (spec.noise_scale.used() && (scales.size() > 1 || scales[0] != 1.0)) {
                  p.label += " scale=" + format_number(p.noise_scale);
                }
                if (spec.seeds.used()) {
                  key_values.push_back(std::to_string(seed));
                  p.label += " seed=" + std::to_string(seed);
                }
                p.key = point_key(keys, key_values);
                grid.push_back(std::move(p));
              }
            }
          }
        }
      }
    }
    for (std::size_t i = 0; i < grid.size(); ++i) {
      grid[i].index = i;
      grid[i].total = grid.size();
    }

    if (rank == 0) {
      json_path = o.out_dir + "/" + spec.name + ".json";
      const std::string csv_path = o.out_dir + "/" + spec.name + ".csv";
      const std::string progress_path = o.out_dir + "/" + spec.name + ".progress";
      if (!o.fresh) earlier = check_earlier_run(json_path, csv_path, progress_path, options_json, models_json);

      std::error_code ec;
      fs::create_directories(o.out_dir, ec);
      if (ec || !fs::is_directory(o.out_dir)) {
        throw UsageError("--out " + o.out_dir + ": cannot create the folder" + (ec ? ": " + ec.message() : ""));
      }
      store = std::make_unique<ResultStore>(o.out_dir, spec.name, columns, keys, o.fresh);
    }
  } catch (const std::exception& e) {
    setup_error = noise::printable(e.what());
  }

  // Rank 0 decides whether the run goes on (status 0) and tells the other ranks; a rank whose own
  // checks failed where rank 0's passed ends the job.
  auto agree = [&](int status) {
    const int agreed = std::stoi(dist::broadcast(std::to_string(status)));
    if (rank != 0 && agreed == 0 && !setup_error.empty()) {
      std::cerr << prog << ": rank " << rank << ": " << setup_error << "\n";
      dist::abort(2);
    }
    return agreed;
  };
  // --data-parallel: every rank measures every pending point (rank 0's list), in grid order; after
  // each, rank 0 learns every rank's outcome and says whether to go on.
  const bool lockstep = o.data_parallel && ranks > 1;
  if (rank != 0) {
    if (const int status = agree(0)) return status;
    if (lockstep) {
      std::istringstream list(dist::broadcast(""));
      for (std::size_t index; list >> index;) {
        dist::gather(measure(spec, hooks, grid.at(index)).error);
        if (dist::broadcast("") != "go") break;
      }
    } else {
      dist::work([&](std::size_t item) { return encode(measure(spec, hooks, grid.at(item))); });
    }
    return agree(0);
  }
  if (!setup_error.empty()) {
    std::cerr << prog << ": " << setup_error << "\n";
    return agree(2);
  }
  std::size_t done_before = 0;
  for (const GridPoint& p : grid) done_before += store->completed().count(p.key);
  if (done_before != store->completed().size()) {
    // Only possible when the option check was bypassed (a JSON edited by hand).
    std::cerr << prog << ": " << noise::printable(store->progress_path()) << " lists points outside this grid: use --fresh\n";
    return agree(2);
  }

  // ---- the record ----
  const std::string started = utc_now();
  json runs = (!o.fresh && earlier.is_object() && earlier.contains("runs") && earlier["runs"].is_array())
                  ? earlier["runs"]
                  : json::array();
  json this_run;
  this_run["started"] = started;
  this_run["git_revision"] = git_revision();
  this_run["hostname"] = machine_info()["hostname"];
  this_run["command_line"] = o.argv;
  this_run["ranks"] = ranks;
  this_run["data_parallel"] = o.data_parallel;
  this_run["points_done_before"] = done_before;
  if (store->rows_dropped() > 0 || store->torn_line_dropped()) {
    this_run["dropped_unfinished_rows"] = store->rows_dropped() + (store->torn_line_dropped() ? 1 : 0);
  }
  runs.push_back(this_run);
  const Stopwatch wall;
  std::size_t rows_total = store->rows_kept();
  std::size_t measured = 0;

  auto write_record = [&](const std::string& status, const std::string& error) {
    json& run = runs.back();
    run["status"] = status;
    run["points_measured"] = measured;
    run["wall_seconds"] = wall.seconds();
    if (status != "running") run["finished"] = utc_now();
    if (!error.empty()) run["error"] = error;
    json doc;
    doc["study"] = spec.name;
    doc["program"] = prog;
    doc["description"] = spec.summary;
    doc["status"] = status;
    doc["options"] = options_json;
    doc["quick"] = o.quick;
    doc["noise_models"] = models_json;
    doc["method"] = method_json;
    doc["output"] = {{"csv", spec.name + ".csv"},
                     {"progress", spec.name + ".progress"},
                     {"columns", columns},
                     {"key_columns", key_columns(spec)},
                     {"rows", rows_total},
                     {"points_total", grid.size()},
                     {"points_done", store->completed().size()}};
    doc["git_revision"] = git_revision();
    doc["git_worktree_modified"] = git_worktree_modified();
    doc["versions"] = library_versions();
    doc["machine"] = machine_info();
    doc["runs"] = runs;
    write_file_atomically(json_path, doc.dump(2) + "\n");
  };

  // The JSON first: a run that cannot record itself leaves the result files as they were (and,
  // for a new study, empty), so the same command can run again.
  try {
    write_record("running", "");
  } catch (const std::exception& e) {
    std::cerr << prog << ": " << noise::printable(e.what()) << "\n";
    return agree(1);
  }
  // From here on a failure is recorded in the JSON (best effort: the disk may be full).
  auto fail = [&](const std::string& msg) {
    std::cerr << prog << ": " << noise::printable(msg) << "\n";
    try {
      write_record("failed", msg);
    } catch (const std::exception& e) {
      std::cerr << prog << ": " << noise::printable(e.what()) << "\n";
    }
    return 1;
  };
  try {
    store->begin();
  } catch (const std::exception& e) {
    return agree(fail(e.what()));
  }
  std::cerr << prog << ": " << grid.size() << " grid points";
  if (done_before > 0) std::cerr << ", " << done_before << " done earlier (resuming)";
  if (store->rows_dropped() > 0 || store->torn_line_dropped()) {
    std::cerr << "; dropped the unfinished point of an interrupted run";
  }
  if (ranks > 1) std::cerr << "; " << ranks << " ranks" << (lockstep ? ", data-parallel" : "");
  std::cerr << "; writing " << noise::printable(store->csv_path()) << "\n";
  if (agree(0) != 0) return 1;  // cannot happen: rank 0 decided 0

  // ---- measuring: every rank takes the next pending point when it is free (dist::serve on a
  // thread of rank 0, rank 0's own points on this one); the results are appended in grid order ----
  std::vector<std::size_t> pending;
  for (const GridPoint& p : grid) {
    if (!store->completed().count(p.key)) pending.push_back(p.index);
  }
  std::mutex mutex;  // guards what follows, the store and the counts
  std::size_t handed_out = 0, appended = 0;  // positions in `pending`
  std::map<std::size_t, MeasuredPoint> finished;  // measured, not yet appended
  std::string failure;
  auto label = [&](std::size_t index) {
    return "[" + std::to_string(index + 1) + "/" + std::to_string(grid.size()) + "] " + grid[index].label;
  };
  auto next = [&]() -> std::optional<std::size_t> {
    const std::lock_guard<std::mutex> lock(mutex);
    if (!failure.empty() || handed_out == pending.size()) return std::nullopt;
    return pending[handed_out++];
  };
  auto finish = [&](std::size_t index, MeasuredPoint&& m) {
    const std::lock_guard<std::mutex> lock(mutex);
    if (!failure.empty()) return;
    if (!m.error.empty()) {
      failure = "failed at " + label(index) + (ranks > 1 && !lockstep ? " (rank " + std::to_string(m.rank) + ")" : "") +
                ": " + m.error;
      return;
    }
    finished.emplace(index, std::move(m));
    try {
      for (auto it = finished.begin(); appended < pending.size() && it != finished.end() && it->first == pending[appended];
           it = finished.erase(it), ++appended) {
        store->append(grid[it->first].key, it->second.lines);
        rows_total += it->second.lines.size();
        ++measured;
        std::cerr << label(it->first) << " ... " << format_duration(it->second.seconds);
        if (ranks > 1) {
          std::cerr << (lockstep ? " (" + std::to_string(ranks) + " ranks)"
                                 : " (rank " + std::to_string(it->second.rank) + ")");
        }
        std::cerr << std::endl;
      }
    } catch (const std::exception& e) {
      failure = "failed at " + label(pending[appended]) + ": " + e.what();
    }
  };
  if (lockstep) {
    std::string list;
    for (std::size_t index : pending) list += std::to_string(index) + " ";
    dist::broadcast(list);
    for (std::size_t index : pending) {
      MeasuredPoint m = measure(spec, hooks, grid[index]);
      const std::vector<std::string> errors = dist::gather(m.error);
      std::string all;  // every rank's message: one failure shows on every rank
      for (std::size_t r = 0; r < errors.size(); ++r) {
        if (!errors[r].empty()) all += (all.empty() ? "" : "; ") + ("rank " + std::to_string(r) + ": ") + errors[r];
      }
      m.error = all;
      finish(index, std::move(m));
      if (dist::broadcast(failure.empty() ? "go" : "stop") != "go") break;
    }
  } else {
    std::thread server;
    if (ranks > 1) {
      server = std::thread([&] {
        dist::serve(next, [&](int from, std::size_t item, std::string&& result) { finish(item, decode(from, result)); });
      });
    }
    while (const std::optional<std::size_t> index = next()) finish(*index, measure(spec, hooks, grid[*index]));
    if (server.joinable()) server.join();
  }

  int status = 0;
  if (!failure.empty()) {
    status = fail(failure);
    std::cerr << prog << ": the " << store->completed().size()
              << " completed points are kept; the same command resumes after the problem is fixed\n";
  } else {
    try {
      write_record("complete", "");
      std::cerr << prog << ": " << (measured == 0 ? "nothing to do: all points were done earlier; " : "") << rows_total
                << " rows in " << noise::printable(store->csv_path()) << " (" << format_duration(wall.seconds())
                << ")\n";
    } catch (const std::exception& e) {
      status = fail(e.what());
    }
  }
  // The other ranks wait for the outcome, so that every rank exits with the same status.
  return agree(status);
}

}  // namespace kraus::experiments
