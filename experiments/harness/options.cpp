#include "harness/options.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>

namespace kraus::experiments {
namespace {

// The most values one LIST may expand to (a typo like 1:1e9 fails instead of exhausting memory).
constexpr std::size_t kMaxListValues = 1000000;

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string::size_type start = 0;
  while (true) {
    const auto pos = s.find(sep, start);
    parts.push_back(trim(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start)));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return parts;
}

bool to_long_long(const std::string& s, long long* v) {
  if (s.empty()) return false;
  const char* first = s.data();
  const char* last = s.data() + s.size();
  if (*first == '+') ++first;
  const auto [ptr, ec] = std::from_chars(first, last, *v);
  return ec == std::errc() && ptr == last;
}

bool to_uint64(const std::string& s, std::uint64_t* v) {
  if (s.empty() || s[0] == '-') return false;
  const char* first = s.data();
  const char* last = s.data() + s.size();
  if (*first == '+') ++first;
  const auto [ptr, ec] = std::from_chars(first, last, *v);
  return ec == std::errc() && ptr == last;
}

bool to_double(const std::string& s, double* v) {
  if (s.empty()) return false;
  char* end = nullptr;
  *v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(*v);
}

[[noreturn]] void fail(const std::string& option, const std::string& message) {
  throw UsageError(option + ": " + message);
}

// Splits a LIST item into 1 (a number) or 2-3 (a range) parts.
std::vector<std::string> range_parts(const std::string& option, const std::string& item, const char* what) {
  if (item.empty()) fail(option, "empty item in the list (write e.g. 2:8 or 2,4,8)");
  std::vector<std::string> parts = split(item, ':');
  if (parts.size() > 3) fail(option, "'" + item + "' is not a number or a range a:b or a:b:step of " + what);
  return parts;
}

template <typename T>
void check_unique(const std::string& option, const std::vector<T>& values) {
  std::set<T> seen;
  for (const T& v : values) {
    if (!seen.insert(v).second) {
      std::ostringstream os;
      os << v;
      fail(option, os.str() + " is listed twice (each grid point is measured once)");
    }
  }
}

}  // namespace

std::string format_number(double value) {
  char buf[64];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) return std::to_string(value);
  return std::string(buf, ptr);
}

std::vector<int> parse_int_list(const std::string& option, const std::string& text, int min, int max) {
  std::vector<int> values;
  for (const std::string& item : split(text, ',')) {
    const std::vector<std::string> parts = range_parts(option, item, "integers");
    long long a = 0, b = 0, step = 1;
    if (!to_long_long(parts[0], &a) || (parts.size() > 1 && !to_long_long(parts[1], &b)) ||
        (parts.size() > 2 && !to_long_long(parts[2], &step))) {
      fail(option, "'" + item + "' is not " + (parts.size() == 1 ? "an integer" : "a range a:b or a:b:step of integers"));
    }
    if (parts.size() == 1) b = a;
    if (step <= 0) fail(option, "'" + item + "': the step must be positive");
    if (a > b) fail(option, "'" + item + "': the range is empty (a > b)");
    for (long long v = a; v <= b; v += step) {
      if (v < min || v > max) {
        fail(option, std::to_string(v) + " is outside " + std::to_string(min) + ".." + std::to_string(max));
      }
      values.push_back(static_cast<int>(v));
      if (values.size() > kMaxListValues) fail(option, "more than " + std::to_string(kMaxListValues) + " values");
    }
  }
  check_unique(option, values);
  return values;
}

std::vector<double> parse_double_list(const std::string& option, const std::string& text, double min, double max) {
  std::vector<double> values;
  for (const std::string& item : split(text, ',')) {
    const std::vector<std::string> parts = range_parts(option, item, "numbers");
    double a = 0, b = 0, step = 1;
    if (!to_double(parts[0], &a) || (parts.size() > 1 && !to_double(parts[1], &b)) ||
        (parts.size() > 2 && !to_double(parts[2], &step))) {
      fail(option, "'" + item + "' is not " + (parts.size() == 1 ? "a number" : "a range a:b or a:b:step of numbers"));
    }
    if (parts.size() == 1) {
      b = a;
    } else if (parts.size() == 2) {
      step = 1;
    }
    if (!(step > 0)) fail(option, "'" + item + "': the step must be positive");
    if (a > b) fail(option, "'" + item + "': the range is empty (a > b)");
    const double count = std::floor((b - a) / step + 1e-9) + 1;
    if (count > static_cast<double>(kMaxListValues)) fail(option, "more than " + std::to_string(kMaxListValues) + " values");
    for (long long i = 0; i < static_cast<long long>(count); ++i) {
      double v = a + static_cast<double>(i) * step;
      if (std::fabs(v - b) <= 1e-9 * step) v = b;  // land exactly on the end point
      if (v < min || v > max) {
        fail(option, format_number(v) + " is outside [" + format_number(min) + ", " + format_number(max) + "]");
      }
      values.push_back(v);
    }
  }
  check_unique(option, values);
  return values;
}

std::vector<std::uint64_t> parse_seed_list(const std::string& option, const std::string& text) {
  std::vector<std::uint64_t> values;
  for (const std::string& item : split(text, ',')) {
    const std::vector<std::string> parts = range_parts(option, item, "seeds");
    std::uint64_t a = 0, b = 0, step = 1;
    if (!to_uint64(parts[0], &a) || (parts.size() > 1 && !to_uint64(parts[1], &b)) ||
        (parts.size() > 2 && !to_uint64(parts[2], &step))) {
      fail(option, "'" + item + "' is not " +
                       (parts.size() == 1 ? "a seed (an integer 0..2^64-1)" : "a range a:b or a:b:step of seeds"));
    }
    if (parts.size() == 1) b = a;
    if (step == 0) fail(option, "'" + item + "': the step must be positive");
    if (a > b) fail(option, "'" + item + "': the range is empty (a > b)");
    if ((b - a) / step >= kMaxListValues) fail(option, "more than " + std::to_string(kMaxListValues) + " values");
    for (std::uint64_t v = a;; v += step) {
      values.push_back(v);
      if (b - v < step) break;
    }
  }
  check_unique(option, values);
  return values;
}

// ---- Options ------------------------------------------------------------------------------------

namespace {

const std::string& extra_value(const Options& o, const std::string& name) {
  const auto it = o.extra.find(name);
  if (it == o.extra.end()) throw std::logic_error("the study has no option --" + name);
  return it->second;
}

}  // namespace

long long Options::get_int(const std::string& name) const {
  long long v = 0;
  to_long_long(extra_value(*this, name), &v);
  return v;
}

double Options::get_double(const std::string& name) const {
  double v = 0;
  to_double(extra_value(*this, name), &v);
  return v;
}

const std::string& Options::get_string(const std::string& name) const { return extra_value(*this, name); }

bool Options::get_flag(const std::string& name) const { return extra_value(*this, name) == "true"; }

namespace {

void validate_study_option(const StudyOption& opt, const std::string& value) {
  const std::string flag = "--" + opt.name;
  switch (opt.kind) {
    case StudyOption::Kind::kInt: {
      long long v = 0;
      if (!to_long_long(value, &v)) fail(flag, "'" + value + "' is not an integer");
      if (static_cast<double>(v) < opt.min || static_cast<double>(v) > opt.max) {
        fail(flag, value + " is outside " + format_number(opt.min) + ".." + format_number(opt.max));
      }
      break;
    }
    case StudyOption::Kind::kDouble: {
      double v = 0;
      if (!to_double(value, &v)) fail(flag, "'" + value + "' is not a number");
      if (v < opt.min || v > opt.max) {
        fail(flag, value + " is outside [" + format_number(opt.min) + ", " + format_number(opt.max) + "]");
      }
      break;
    }
    case StudyOption::Kind::kString:
      if (value.empty()) fail(flag, "empty value");
      break;
    case StudyOption::Kind::kFlag:
      break;
  }
}

}  // namespace

Options parse_options(const StudySpec& spec, int argc, const char* const* argv) {
  Options o;
  for (int i = 0; i < argc; ++i) o.argv.emplace_back(argv[i]);

  std::map<std::string, std::string> given;  // sweep options and study options, as typed
  std::vector<std::string> noise;
  std::string threads_text;
  bool have_out = false;

  const std::set<std::string> axes = {"qubits", "depth", "noise-scale", "seeds"};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_inline_value = false;
    if (arg.rfind("--", 0) == 0) {
      const auto eq = arg.find('=');
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        has_inline_value = true;
      }
    }
    auto take_value = [&]() -> std::string {
      if (has_inline_value) return value;
      if (i + 1 >= argc) fail(arg, "missing value");
      const std::string next = argv[i + 1];
      if (next.rfind("--", 0) == 0) {
        fail(arg, "missing value (the next argument, '" + next + "', is an option; write " + arg + "=" + next +
                      " if it is the value)");
      }
      ++i;
      return next;
    };
    auto no_value = [&]() {
      if (has_inline_value) fail(arg, "takes no value");
    };

    if (arg == "--help" || arg == "-h") {
      o.help = true;
      return o;
    } else if (arg == "--quick") {
      no_value();
      o.quick = true;
    } else if (arg == "--fresh") {
      no_value();
      o.fresh = true;
    } else if (arg == "--data-parallel" && spec.data_parallel) {
      no_value();
      o.data_parallel = true;
    } else if (arg == "--noise") {
      noise.push_back(take_value());
      if (noise.back().empty()) fail(arg, "empty value");
    } else if (arg == "--threads") {
      threads_text = take_value();
    } else if (arg == "--out") {
      o.out_dir = take_value();
      if (o.out_dir.empty()) fail(arg, "empty value");
      have_out = true;
    } else if (arg.rfind("--", 0) == 0 && (axes.count(arg.substr(2)) ||
                                           (spec.category.used() && arg.substr(2) == spec.category.name))) {
      const std::string name = arg.substr(2);
      if (given.count(name)) fail(arg, "given twice (write one list, e.g. 2,4,8)");
      given[name] = take_value();
    } else if (arg.rfind("--", 0) == 0) {
      const std::string name = arg.substr(2);
      const auto it = std::find_if(spec.options.begin(), spec.options.end(),
                                   [&](const StudyOption& s) { return s.name == name; });
      if (it == spec.options.end()) {
        throw UsageError("unknown option '" + arg + "' (" + spec.program + " --help lists the options)");
      }
      if (given.count(name)) fail(arg, "given twice");
      if (it->kind == StudyOption::Kind::kFlag) {
        no_value();
        given[name] = "true";
      } else {
        given[name] = take_value();
      }
    } else {
      throw UsageError("unexpected argument '" + arg + "' (" + spec.program + " takes options only; see --help)");
    }
  }

  // Sweep axes.
  auto axis_text = [&](const std::string& name, const AxisDefaults& axis) -> std::string {
    const auto it = given.find(name);
    if (!axis.used()) {
      if (it != given.end()) fail("--" + name, spec.program + " has no " + name + " axis; the option does not apply");
      return "";
    }
    if (it != given.end()) return it->second;
    return o.quick && !axis.quick.empty() ? axis.quick : axis.full;
  };
  if (const std::string t = axis_text("qubits", spec.qubits); !t.empty()) {
    o.qubits = parse_int_list("--qubits", t, spec.min_qubits, spec.max_qubits);
  }
  if (const std::string t = axis_text("depth", spec.depth); !t.empty()) {
    o.depth = parse_int_list("--depth", t, spec.min_depth, spec.max_depth);
  }
  if (const std::string t = axis_text("noise-scale", spec.noise_scale); !t.empty()) {
    o.noise_scale = parse_double_list("--noise-scale", t, 0.0, 1e6);
  }
  if (const std::string t = axis_text("seeds", spec.seeds); !t.empty()) {
    o.seeds = parse_seed_list("--seeds", t);
  }

  if (spec.category.used()) {
    const CategoryAxis& c = spec.category;
    const auto it = given.find(c.name);
    const std::string text = it != given.end() ? it->second : (o.quick && !c.quick.empty() ? c.quick : c.full);
    std::stringstream items(text);
    std::string item;
    while (std::getline(items, item, ',')) {
      if (std::find(c.values.begin(), c.values.end(), item) == c.values.end()) {
        std::string allowed;
        for (const std::string& v : c.values) allowed += (allowed.empty() ? "" : ", ") + v;
        fail("--" + c.name, "'" + item + "' is not one of " + allowed);
      }
      if (std::find(o.category.begin(), o.category.end(), item) != o.category.end()) {
        fail("--" + c.name, "'" + item + "' is listed twice");
      }
      o.category.push_back(item);
    }
    if (o.category.empty() || text.back() == ',') fail("--" + c.name, "an empty item in '" + text + "'");
  }

  o.noise = !noise.empty() ? noise : (o.quick && !spec.quick_noise.empty() ? spec.quick_noise : spec.default_noise);
  if (o.noise.empty()) throw UsageError("--noise: no noise model given (the study has no default)");

  if (!threads_text.empty()) {
    long long t = 0;
    if (!to_long_long(threads_text, &t) || t < 1 || t > 1024) {
      fail("--threads", "'" + threads_text + "' is not a thread count 1..1024");
    }
    o.threads = static_cast<int>(t);
  }
  if (!have_out) o.out_dir = "results/" + spec.name;

  for (const StudyOption& opt : spec.options) {
    const auto it = given.find(opt.name);
    std::string v;
    if (it != given.end()) {
      v = it->second;
    } else {
      v = o.quick && !opt.quick_value.empty() ? opt.quick_value : opt.default_value;
    }
    if (opt.kind == StudyOption::Kind::kFlag && v.empty()) v = "false";
    validate_study_option(opt, v);
    o.extra[opt.name] = v;
  }
  return o;
}

CategoryAxis method_axis(const std::string& full, const std::string& quick) {
  return {"method", "how a point's circuits run: density-matrix (exact) or trajectories (--trajectories of them)",
          {kDensityMatrix, kTrajectories}, full, quick};
}

StudyOption trajectories_option(const std::string& default_value, const std::string& quick_value) {
  return {kTrajectories, StudyOption::Kind::kInt, "N", "trajectories per evaluation of --method trajectories",
          default_value, quick_value, 2, 1e9};
}

std::string usage(const StudySpec& spec) {
  std::ostringstream os;
  os << "usage: " << spec.program << " [options]\n\n" << spec.summary << "\n\n";
  os << "Results go to DIR/" << spec.name << ".csv (one row per measurement) and DIR/" << spec.name
     << ".json (options, noise models,\n"
        "git revision, library versions, machine). Rows are written as they complete; running the same\n"
        "command again resumes an interrupted run (docs/experiments.md).\n\n";
  os << "options (LIST: comma-separated numbers and ranges a:b or a:b:step, e.g. 2:12, 0,0.5,1, 2:4,8):\n";
  auto line = [&](const std::string& flag, const std::string& help) {
    os << "  " << flag;
    if (flag.size() < 24) {
      os << std::string(24 - flag.size(), ' ');
    } else {
      os << "\n" << std::string(26, ' ');
    }
    os << help << "\n";
  };
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  auto defaults = [](const AxisDefaults& a) {
    std::string s = " (default " + a.full;
    if (!a.quick.empty() && a.quick != a.full) s += "; --quick: " + a.quick;
    return s + ")";
  };
  std::string noise_help = "noise model: a JSON file, a folder of *.json, or a shipped model name; repeatable (default " +
                           join(spec.default_noise);
  if (!spec.quick_noise.empty() && spec.quick_noise != spec.default_noise) noise_help += "; --quick: " + join(spec.quick_noise);
  line("--noise MODEL", noise_help + ")");
  if (spec.qubits.used()) line("--qubits LIST", "qubit counts" + defaults(spec.qubits));
  if (spec.depth.used()) line("--depth LIST", "circuit depths (layers)" + defaults(spec.depth));
  if (spec.noise_scale.used()) line("--noise-scale LIST", "factors on every noise strength" + defaults(spec.noise_scale));
  if (spec.seeds.used()) line("--seeds LIST", "seeds of the random choices" + defaults(spec.seeds));
  if (spec.category.used()) {
    line("--" + spec.category.name + " LIST",
         spec.category.help + ": any of " + join(spec.category.values) + defaults({spec.category.full, spec.category.quick}));
  }
  line("--threads T", "OpenMP threads (default: OMP_NUM_THREADS or all cores)");
  line("--out DIR", "output folder (default results/" + spec.name + ")");
  line("--quick", "a small grid that runs in about a minute or less");
  line("--fresh", "discard earlier results of this study in DIR and start over");
  if (spec.data_parallel) {
    line("--data-parallel", "under MPI, all ranks measure each point together, each a slice of its trajectory batches");
  }
  line("--help", "print this text");
  for (const StudyOption& opt : spec.options) {
    std::string flag = "--" + opt.name;
    if (opt.kind != StudyOption::Kind::kFlag) flag += " " + (opt.metavar.empty() ? std::string("V") : opt.metavar);
    std::string help = opt.help;
    if (opt.kind != StudyOption::Kind::kFlag) {
      help += " (default " + opt.default_value;
      if (!opt.quick_value.empty() && opt.quick_value != opt.default_value) help += "; --quick: " + opt.quick_value;
      help += ")";
    }
    line(flag, help);
  }
  if (!spec.epilogue.empty()) os << "\n" << spec.epilogue << "\n";
  os << "\nErrors in options or input files print one message and exit with status 2 before anything is\n"
        "written.\n";
  return os.str();
}

}  // namespace kraus::experiments
