// Labelled data for the classifiers, and seeded train/test splits. The loaders (digits,
// Fashion-MNIST, synthetic sets) and transforms (pooling, class selection) are kraus::experiments'
// (experiments/data/datasets.hpp), whose Dataset extends this one.
#pragma once

#include <cstdint>
#include <vector>

namespace kraus::optim {

struct Dataset {
  int num_features = 0;
  int num_classes = 0;
  std::vector<double> features;  // size() x num_features, row-major
  std::vector<int> labels;       // in [0, num_classes)

  int size() const { return static_cast<int>(labels.size()); }
  const double* row(int i) const { return features.data() + static_cast<std::size_t>(i) * num_features; }
  // The rows `indices`, in that order.
  Dataset subset(const std::vector<int>& indices) const;
};

// Seeded stratified split: within each class the samples are shuffled (Fisher-Yates, 53-bit
// uniforms from std::mt19937_64(seed)) and round(test_fraction · class size) go to the test set;
// both sets keep the original order of their samples. 0 < test_fraction < 1.
void train_test_split(const Dataset& data, double test_fraction, std::uint64_t seed, Dataset* train, Dataset* test);

// A seeded permutation of 0..n-1 (same generator as above).
std::vector<int> shuffled_indices(int n, std::uint64_t seed);

}  // namespace kraus::optim
