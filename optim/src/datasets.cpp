#include "kraus/optim/datasets.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "random_detail.hpp"

namespace kraus::optim {

Dataset Dataset::subset(const std::vector<int>& indices) const {
  Dataset out;
  out.num_features = num_features;
  out.num_classes = num_classes;
  out.features.reserve(indices.size() * static_cast<std::size_t>(num_features));
  out.labels.reserve(indices.size());
  for (int i : indices) {
    if (i < 0 || i >= size()) throw std::out_of_range("sample index " + std::to_string(i) + " out of range");
    out.features.insert(out.features.end(), row(i), row(i) + num_features);
    out.labels.push_back(labels[static_cast<std::size_t>(i)]);
  }
  return out;
}

Dataset load_digits(const std::string& path) {
  {
    std::ifstream probe(path, std::ios::binary);
    if (!probe) {
      throw std::runtime_error("digits data not found at " + path +
                               ": install the Debian package python3-sklearn (apt-get install python3-sklearn), "
                               "which ships sklearn/datasets/data/digits.csv.gz");
    }
  }
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw std::runtime_error("cannot open " + path + " with zlib");
  Dataset data;
  data.num_features = 64;
  data.num_classes = 10;
  std::string line;
  char buf[4096];
  int line_number = 0;
  auto parse_line = [&](const std::string& text) {
    ++line_number;
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) return;
    std::vector<double> values;
    const char* p = text.c_str();
    while (*p) {
      char* end = nullptr;
      const double v = std::strtod(p, &end);
      if (end == p) break;
      values.push_back(v);
      p = end;
      while (*p == ',' || *p == ' ' || *p == '\r' || *p == '\n' || *p == '\t') ++p;
    }
    if (values.size() != 65 || *p != '\0') {
      gzclose(file);
      throw std::runtime_error(path + ":" + std::to_string(line_number) + ": expected 65 comma-separated numbers, got " +
                               std::to_string(values.size()));
    }
    const double label = values[64];
    if (label < 0 || label > 9 || label != std::floor(label)) {
      gzclose(file);
      throw std::runtime_error(path + ":" + std::to_string(line_number) + ": label " + std::to_string(label) +
                               " is not an integer in [0, 9]");
    }
    data.features.insert(data.features.end(), values.begin(), values.begin() + 64);
    data.labels.push_back(static_cast<int>(label));
  };
  while (gzgets(file, buf, sizeof buf) != nullptr) {
    line += buf;
    if (!line.empty() && line.back() == '\n') {
      parse_line(line);
      line.clear();
    }
  }
  int err = 0;
  const char* msg = gzerror(file, &err);
  if (err != Z_OK && err != Z_STREAM_END) {
    const std::string m = msg ? msg : "?";
    gzclose(file);
    throw std::runtime_error(path + ": gzip error: " + m);
  }
  if (!line.empty()) parse_line(line);
  gzclose(file);
  if (data.labels.empty()) throw std::runtime_error(path + ": no samples");
  return data;
}

Dataset mean_pool(const Dataset& images, int pool, double scale) {
  const int side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(images.num_features))));
  if (side * side != images.num_features) {
    throw std::invalid_argument("mean_pool: " + std::to_string(images.num_features) + " features are not a square image");
  }
  if (pool < 1 || side % pool != 0) {
    throw std::invalid_argument("mean_pool: pool " + std::to_string(pool) + " does not divide the side " +
                                std::to_string(side));
  }
  const int out_side = side / pool;
  Dataset out;
  out.num_features = out_side * out_side;
  out.num_classes = images.num_classes;
  out.labels = images.labels;
  out.features.resize(static_cast<std::size_t>(images.size()) * out.num_features);
  const double norm = scale / static_cast<double>(pool * pool);
  for (int i = 0; i < images.size(); ++i) {
    const double* src = images.row(i);
    double* dst = out.features.data() + static_cast<std::size_t>(i) * out.num_features;
    for (int r = 0; r < out_side; ++r) {
      for (int c = 0; c < out_side; ++c) {
        double s = 0.0;
        for (int dr = 0; dr < pool; ++dr)
          for (int dc = 0; dc < pool; ++dc) s += src[(r * pool + dr) * side + (c * pool + dc)];
        dst[r * out_side + c] = s * norm;
      }
    }
  }
  return out;
}

Dataset select_classes(const Dataset& data, const std::vector<int>& classes) {
  if (classes.empty()) throw std::invalid_argument("select_classes: no classes given");
  std::vector<int> map(static_cast<std::size_t>(std::max(data.num_classes, 1)), -1);
  for (std::size_t j = 0; j < classes.size(); ++j) {
    const int c = classes[j];
    if (c < 0 || c >= data.num_classes) throw std::invalid_argument("select_classes: class " + std::to_string(c) + " out of range");
    if (map[static_cast<std::size_t>(c)] >= 0) throw std::invalid_argument("select_classes: class listed twice");
    map[static_cast<std::size_t>(c)] = static_cast<int>(j);
  }
  std::vector<int> keep;
  for (int i = 0; i < data.size(); ++i)
    if (map[static_cast<std::size_t>(data.labels[static_cast<std::size_t>(i)])] >= 0) keep.push_back(i);
  Dataset out = data.subset(keep);
  out.num_classes = static_cast<int>(classes.size());
  for (int& l : out.labels) l = map[static_cast<std::size_t>(l)];
  return out;
}

std::vector<int> shuffled_indices(int n, std::uint64_t seed) {
  std::vector<int> idx(static_cast<std::size_t>(std::max(n, 0)));
  for (int i = 0; i < n; ++i) idx[static_cast<std::size_t>(i)] = i;
  std::mt19937_64 rng(seed);
  detail::shuffle(idx, rng);
  return idx;
}

void train_test_split(const Dataset& data, double test_fraction, std::uint64_t seed, Dataset* train, Dataset* test) {
  if (!(test_fraction > 0.0 && test_fraction < 1.0)) {
    throw std::invalid_argument("train_test_split: test_fraction must be in (0, 1)");
  }
  std::mt19937_64 rng(seed);
  std::vector<bool> in_test(static_cast<std::size_t>(data.size()), false);
  for (int c = 0; c < data.num_classes; ++c) {
    std::vector<int> members;
    for (int i = 0; i < data.size(); ++i)
      if (data.labels[static_cast<std::size_t>(i)] == c) members.push_back(i);
    detail::shuffle(members, rng);
    const std::size_t n_test = static_cast<std::size_t>(std::lround(test_fraction * static_cast<double>(members.size())));
    for (std::size_t k = 0; k < n_test && k < members.size(); ++k) in_test[static_cast<std::size_t>(members[k])] = true;
  }
  std::vector<int> tr, te;
  for (int i = 0; i < data.size(); ++i) (in_test[static_cast<std::size_t>(i)] ? te : tr).push_back(i);
  if (train) *train = data.subset(tr);
  if (test) *test = data.subset(te);
}

}  // namespace kraus::optim
