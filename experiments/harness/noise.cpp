#include "harness/noise.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <sstream>

#include "harness/options.hpp"
#include "kraus/engine/simulator.hpp"

#ifndef KRAUS_EXPERIMENTS_NOISE_DIR
#define KRAUS_EXPERIMENTS_NOISE_DIR "experiments/noise_models"
#endif

namespace kraus::experiments {
namespace fs = std::filesystem;

std::string shipped_noise_model_dir() { return KRAUS_EXPERIMENTS_NOISE_DIR; }

namespace {

std::vector<std::string> shipped_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(shipped_noise_model_dir(), ec)) {
    if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool valid_name(const std::string& name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.' || c == '+';
  });
}

NamedNoiseModel load_one(const std::string& argument, const fs::path& path) {
  NamedNoiseModel m;
  m.name = path.stem().string();
  m.path = path.string();
  if (!valid_name(m.name)) {
    throw UsageError("--noise " + argument + ": the model name '" + m.name +
                     "' (the file name without .json) may use only letters, digits and _ - . +");
  }
  // The file is read once, at most kMaxNoiseModelBytes of it, and both the model and the recorded
  // document come from that text (a file changed between two reads cannot slip through).
  std::ifstream in(m.path, std::ios::binary);
  if (!in) throw UsageError("--noise " + argument + ": cannot read " + m.path);
  std::string text;
  char chunk[1 << 16];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (text.size() > noise::kMaxNoiseModelBytes) {
      throw UsageError("--noise " + argument + ": " + m.path + " is larger than " +
                       std::to_string(noise::kMaxNoiseModelBytes >> 20) + " MiB");
    }
  }
  if (in.bad()) throw UsageError("--noise " + argument + ": cannot read " + m.path);
  try {
    m.model = noise::NoiseModel::from_json(text, m.path);
  } catch (const std::exception& e) {
    throw UsageError("--noise " + argument + ": " + e.what());
  }
  try {
    engine::resolve_gate_names(m.model);  // u1 -> p, ...; unknown names refused
  } catch (const noise::NoiseModelError& e) {
    throw UsageError("--noise " + argument + ": " + m.path + ": " + e.what());
  }
  // from_json accepted the text, so it is JSON within the nesting bound.
  m.document = nlohmann::ordered_json::parse(text);
  return m;
}

}  // namespace

std::vector<NamedNoiseModel> load_noise_models(const std::vector<std::string>& arguments) {
  std::vector<NamedNoiseModel> models;
  for (const std::string& arg : arguments) {
    std::error_code ec;
    const fs::path p(arg);
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(p, ec)) {
        if (e.path().extension() == ".json" && fs::is_regular_file(e.path(), ec)) files.push_back(e.path());
      }
      if (ec) throw UsageError("--noise " + arg + ": cannot list the folder: " + ec.message());
      if (files.empty()) throw UsageError("--noise " + arg + ": the folder has no *.json noise models");
      std::sort(files.begin(), files.end());
      for (const fs::path& f : files) models.push_back(load_one(arg, f));
    } else if (fs::exists(p, ec)) {
      models.push_back(load_one(arg, p));
    } else if (arg.find('/') == std::string::npos) {
      fs::path shipped = fs::path(shipped_noise_model_dir()) / arg;
      if (shipped.extension() != ".json") shipped += ".json";
      if (!fs::exists(shipped, ec)) {
        std::string known;
        for (const std::string& n : shipped_names()) known += (known.empty() ? "" : ", ") + n;
        throw UsageError("--noise " + arg + ": no such file, and not a shipped model (shipped: " + known + ")");
      }
      models.push_back(load_one(arg, shipped));
    } else {
      throw UsageError("--noise " + arg + ": no such file or folder");
    }
  }
  std::set<std::string> names;
  for (const NamedNoiseModel& m : models) {
    if (!names.insert(m.name).second) {
      throw UsageError("--noise: two models are named '" + m.name + "' (" + m.path +
                       "); names come from file names and must differ");
    }
  }
  return models;
}

noise::NoiseModel fit_to_register(const noise::NoiseModel& model, int num_qubits) {
  const int m = model.device_qubits() > 0 ? std::min(num_qubits, model.device_qubits()) : num_qubits;
  std::vector<int> physical(static_cast<std::size_t>(m));
  std::iota(physical.begin(), physical.end(), 0);
  return model.fitted(physical);
}

}  // namespace kraus::experiments
