#include "kraus/engine/simulator.hpp"

#include <algorithm>
#include <cctype>
#include <numeric>
#include <stdexcept>
#include <unordered_map>

#include "kraus/engine/program.hpp"
#include "kraus/engine/qasm2.hpp"
#include "kraus/noise/channel.hpp"
#include "kraus/noise/kernels.hpp"
#include "kraus/noise/text.hpp"

namespace kraus::engine {
namespace {

bool is_gate(const Operation& op) { return op.kind == OpKind::kGate || op.kind == OpKind::kUnitary; }

// The channels that follow `op`: the one place that decides where gate noise goes (simulate,
// validate_noise and noise_coverage all ask here).
std::vector<noise::PlacedChannel> channels_after(const Operation& op, const noise::NoiseModel& model) {
  if (!is_gate(op)) return {};
  return model.channels_after(op.name(), op.qubits);
}

// Where name k of rule i was written.
std::string name_path(const noise::GateNoiseRule& rule, std::size_t i, std::size_t k) {
  if (k < rule.gate_paths.size()) return rule.gate_paths[k];
  return "gate_noise[" + std::to_string(i) + "].gates[" + std::to_string(k) + "]";
}

// Where rule i was written: its first name's path less the last member ("gate_noise[2]",
// "errors[1]", "calibration.gates[3]").
std::string rule_path(const noise::GateNoiseRule& rule, std::size_t i) {
  const std::string p = name_path(rule, i, 0);
  return p.substr(0, p.rfind('.'));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean 'cx'?)" with up to 3 names at the smallest edit distance (at most 2, compared
// case-insensitively) among table names, aliases (shown as their gate's name) and "unitary";
// otherwise the list of known names.
std::string suggestion(const std::string& name) {
  std::vector<std::pair<std::string_view, std::string_view>> known;  // (spelling, name to suggest)
  for (const GateInfo& info : gate_table()) known.emplace_back(info.name, info.name);
  for (const GateAlias& a : gate_aliases()) known.emplace_back(a.alias, gate_info(a.gate).name);
  known.emplace_back("unitary", "unitary");
  const std::string key = lower(name);
  std::size_t best = 0;
  std::vector<std::string_view> nearest;
  for (const auto& [spelling, target] : known) {
    const std::size_t d = edit_distance(key, lower(spelling));
    if (d > 2 || d >= key.size() || (!nearest.empty() && d > best)) continue;
    if (nearest.empty() || d < best) nearest.clear();
    best = d;
    if (std::find(nearest.begin(), nearest.end(), target) == nearest.end()) nearest.push_back(target);
  }
  if (nearest.empty()) {
    std::string all;
    for (const GateInfo& info : gate_table()) all += std::string(info.name) + ", ";
    return " (gate names: " + all + "\"unitary\" or \"*\"; names are case-sensitive)";
  }
  if (nearest.size() > 3) nearest.resize(3);
  std::string out = " (did you mean ";
  for (std::size_t i = 0; i < nearest.size(); ++i) {
    if (i > 0) out += i + 1 == nearest.size() ? " or " : ", ";
    out += "'" + std::string(nearest[i]) + "'";
  }
  return out + "?)";
}

// The name operations carry for rule name `name` written at `path`: a table name, "*" or "unitary"
// as they are, an alias as its gate's name when `resolve_aliases`; throws NoiseModelError otherwise.
std::string checked_name(const std::string& name, const std::string& path, bool resolve_aliases) {
  if (name == "*" || name == "unitary") return name;
  for (const GateInfo& info : gate_table()) {
    if (info.name == name) return name;
  }
  const std::string quoted = "'" + noise::printable(name, noise::kMaxQuotedBytes) + "'";
  for (const GateAlias& a : gate_aliases()) {
    if (a.alias != name) continue;
    const std::string target(gate_info(a.gate).name);
    if (resolve_aliases) return target;
    throw noise::NoiseModelError(path + ": " + quoted + " is an alias of '" + target +
                                 "': rules must name the gate '" + target +
                                 "' (engine::resolve_gate_names rewrites aliases)");
  }
  if (name == "measure") {
    throw noise::NoiseModelError(path + ": noise rules apply after gates; 'measure' is not a gate: measurement " +
                                 "errors go in the readout section");
  }
  if (name == "reset" || name == "barrier" || name == "delay") {
    throw noise::NoiseModelError(path + ": noise rules apply after gates; '" + name +
                                 "' is not a gate: noise on waiting qubits is idle_noise");
  }
  for (const ExpandedGate& e : qasm2_expanded_gates()) {
    if (e.name == name) {
      throw noise::NoiseModelError(path + ": '" + name + "' never reaches the simulator: the reader expands it into " +
                                   std::string(e.expansion) + "; put the noise on those gates");
    }
  }
  throw noise::NoiseModelError(path + ": " + quoted + " is not a gate" + suggestion(name));
}

std::string qubit_list(const std::vector<int>& qubits) {
  std::string s;
  for (int q : qubits) s += (s.empty() ? "" : ",") + std::to_string(q);
  return s;
}

}  // namespace

std::vector<int> asap_layers(const Circuit& circuit, int* num_layers) {
  const auto& ops = circuit.operations();
  const auto n = static_cast<std::size_t>(circuit.num_qubits());
  // Resources: the qubits, then the classical bits a condition reads (a condition waits for the
  // measurements that write its bits, and a later measurement for the conditions before it).
  std::vector<bool> read(static_cast<std::size_t>(circuit.num_clbits()), false);
  for (const Operation& op : ops)
    for (int b = 0; b < op.condition.size; ++b) read[static_cast<std::size_t>(op.condition.clbit + b)] = true;
  std::vector<int> next_free(n + read.size(), 0);
  std::vector<std::size_t> used;
  std::vector<int> layer(ops.size(), 0);
  int layers = 0;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Operation& op = ops[i];
    used.assign(op.qubits.begin(), op.qubits.end());
    for (int b = 0; b < op.condition.size; ++b) used.push_back(n + static_cast<std::size_t>(op.condition.clbit + b));
    if (op.kind == OpKind::kMeasure && read[static_cast<std::size_t>(op.clbit)]) used.push_back(n + static_cast<std::size_t>(op.clbit));
    int l = 0;
    for (const std::size_t r : used) l = std::max(l, next_free[r]);
    layer[i] = l;
    if (op.kind == OpKind::kBarrier || op.kind == OpKind::kChannel) {
      for (const std::size_t r : used) next_free[r] = l;
    } else {
      for (const std::size_t r : used) next_free[r] = l + 1;
      layers = std::max(layers, l + 1);
    }
  }
  if (num_layers) *num_layers = layers;
  return layer;
}

void resolve_gate_names(noise::NoiseModel& model) {
  for (std::size_t i = 0; i < model.gate_noise.size(); ++i) {
    noise::GateNoiseRule& rule = model.gate_noise[i];
    for (std::size_t k = 0; k < rule.gates.size(); ++k) rule.gates[k] = checked_name(rule.gates[k], name_path(rule, i, k), true);
  }
}

void validate_noise(const Circuit& circuit, const noise::NoiseModel& model) {
  const int n = circuit.num_qubits();
  for (std::size_t i = 0; i < model.gate_noise.size(); ++i) {
    const noise::GateNoiseRule& rule = model.gate_noise[i];
    for (std::size_t k = 0; k < rule.gates.size(); ++k) checked_name(rule.gates[k], name_path(rule, i, k), false);
    auto check_qubits = [&](const std::vector<int>& qubits, const std::string& path) {
      for (int q : qubits) {
        if (q < 0 || q >= n) {
          throw noise::NoiseModelError(path + ": qubit " + std::to_string(q) + " does not exist (the circuit has " +
                                       std::to_string(n) + " qubit" + (n == 1 ? "" : "s") + ")");
        }
      }
    };
    const std::string where = rule_path(rule, i);
    check_qubits(rule.qubits, where + ".qubits");
    // A calibrated gate's tuple is written as its `qubits`.
    const bool calibrated = where.rfind("calibration.", 0) == 0;
    for (std::size_t t = 0; t < rule.gate_qubits.size(); ++t) {
      check_qubits(rule.gate_qubits[t], calibrated ? where + ".qubits" : where + ".gate_qubits[" + std::to_string(t) + "]");
    }
  }
  for (const Operation& op : circuit.operations()) channels_after(op, model);  // throws on an arity mismatch
  model.idle_channel();
  model.readout_model(n);
}

NoiseCoverage noise_coverage(const Circuit& circuit, const noise::NoiseModel& model) {
  NoiseCoverage coverage;
  std::unordered_map<std::string, std::size_t> index;
  std::vector<std::vector<int>> example;  // per name: the qubits of its first gate without noise
  // A device model has rules for every gate of the device, most of which a circuit does not use:
  // unused rules are reported for other models only.
  const bool report_unused_rules = model.device_qubits() == 0;
  std::vector<bool> rule_used(model.gate_noise.size(), false);
  for (const Operation& op : circuit.operations()) {
    if (!is_gate(op)) continue;
    for (std::size_t r = 0; report_unused_rules && r < model.gate_noise.size(); ++r) {
      rule_used[r] = rule_used[r] || model.gate_noise[r].matches(op.name(), op.qubits);
    }
    const std::string name = op.name();
    const auto [it, added] = index.emplace(name, coverage.gates.size());
    if (added) {
      coverage.gates.push_back({name, 0, 0});
      example.emplace_back();
    }
    NoiseCoverage::Gate& g = coverage.gates[it->second];
    ++g.instances;
    if (!channels_after(op, model).empty()) {
      ++g.with_noise;
    } else if (g.instances - g.with_noise == 1) {
      example[it->second] = op.qubits;
    }
  }
  if (model.gate_noise.empty()) return coverage;

  std::vector<std::string> rule_names;  // every name the rules use, in order of first use
  for (const noise::GateNoiseRule& rule : model.gate_noise) {
    for (const std::string& name : rule.gates) {
      if (std::find(rule_names.begin(), rule_names.end(), name) == rule_names.end()) rule_names.push_back(name);
    }
  }
  const bool star = std::find(rule_names.begin(), rule_names.end(), "*") != rule_names.end();
  // A basis gate of the device without rules was calibrated error-free (IBM's virtual rz).
  const std::vector<std::string> native = model.device ? model.device->basis_gates : std::vector<std::string>{};
  for (std::size_t i = 0; i < coverage.gates.size(); ++i) {
    const NoiseCoverage::Gate& g = coverage.gates[i];
    if (g.with_noise == g.instances) continue;
    if (g.with_noise == 0 && std::find(native.begin(), native.end(), g.name) != native.end()) continue;
    const std::string quoted = "'" + g.name + "'";
    const std::string e_g = "no rule for their qubits, e.g. " + g.name + " " + qubit_list(example[i]);
    if (g.with_noise > 0) {
      const long missing = g.instances - g.with_noise;
      coverage.warnings.push_back(std::to_string(missing) + " of " + std::to_string(g.instances) + " " + quoted +
                                  " gates " + (missing == 1 ? "gets" : "get") + " no noise: " + e_g);
      continue;
    }
    const std::string head = g.instances == 1
                                 ? "no noise on the " + quoted + " gate: "
                                 : "no noise on any of the " + std::to_string(g.instances) + " " + quoted + " gates: ";
    if (star || std::find(rule_names.begin(), rule_names.end(), g.name) != rule_names.end()) {
      coverage.warnings.push_back(head + e_g);
    } else {
      std::string names;
      for (const std::string& name : rule_names) names += (names.empty() ? "" : ", ") + name;
      coverage.warnings.push_back(head + "the model has no rule for " + quoted + " (rules name: " + names +
                                  "); translate to the model's basis with --basis, or add a rule");
    }
  }
  for (std::size_t r = 0; report_unused_rules && r < model.gate_noise.size(); ++r) {
    if (rule_used[r]) continue;
    const noise::GateNoiseRule& rule = model.gate_noise[r];
    std::string what;
    for (const std::string& name : rule.gates) what += (what.empty() ? "" : ", ") + name;
    if (!rule.qubits.empty()) what += " on qubits " + qubit_list(rule.qubits);
    for (std::size_t t = 0; t < rule.gate_qubits.size(); ++t) {
      what += (t == 0 ? " on " : " or ") + qubit_list(rule.gate_qubits[t]);
    }
    coverage.warnings.push_back(rule_path(rule, r) + " (" + what + ") matches no gate of this circuit");
  }
  return coverage;
}

void simulate(const Circuit& circuit, const noise::NoiseModel* model, DensityMatrix& rho,
              const CompileOptions& options) {
  if (circuit.is_parametrized()) {
    throw std::invalid_argument("the circuit has parametrised angles or an amplitude-encoded initial state: run its "
                                "compiled program with parameter values (engine::run), or bind it first");
  }
  run(compile(circuit, model, options), nullptr, nullptr, rho);  // refuses conditions
}

std::vector<double> probabilities_with_readout(const DensityMatrix& rho, const noise::NoiseModel* model) {
  std::vector<double> p = rho.probabilities();
  if (model) model->readout_model(rho.num_qubits()).apply(p, rho.num_qubits());
  return p;
}

}  // namespace kraus::engine
