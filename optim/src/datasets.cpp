#include "kraus/optim/datasets.hpp"

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
