// Small labelled data sets for the classifiers: the 8x8 handwritten digits that Debian's
// python3-sklearn ships, pooling, class selection and seeded train/test splits.
#pragma once

#include <cstdint>
#include <string>
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

// Where Debian 12's python3-sklearn puts the digits (UCI optdigits test part, 1797 rows).
inline constexpr const char* kDigitsPath = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";

// Reads the gzip CSV (no header; 64 pixel values 0..16, row-major 8x8, then the label 0..9) with
// zlib. Features are the raw pixel values 0..16; 10 classes. A missing file is a std::runtime_error
// naming the path and the Debian package python3-sklearn; a malformed line names its number.
Dataset load_digits(const std::string& path = kDigitsPath);

// Mean pooling of square images: side x side pixels (side^2 = num_features) to (side/pool)^2
// features, each the mean of a pool x pool block, then multiplied by `scale` (1/16 maps digits'
// 0..16 to [0, 1]). 8x8 digits with pool 2 give the 4x4 images (16 features).
Dataset mean_pool(const Dataset& images, int pool = 2, double scale = 1.0 / 16.0);

// The samples whose label is in `classes`, relabelled by position in `classes` (classes {3, 8}:
// 3 -> 0, 8 -> 1); order kept.
Dataset select_classes(const Dataset& data, const std::vector<int>& classes);

// Seeded stratified split: within each class the samples are shuffled (Fisher-Yates, 53-bit
// uniforms from std::mt19937_64(seed)) and round(test_fraction · class size) go to the test set;
// both sets keep the original order of their samples. 0 < test_fraction < 1.
void train_test_split(const Dataset& data, double test_fraction, std::uint64_t seed, Dataset* train, Dataset* test);

// A seeded permutation of 0..n-1 (same generator as above).
std::vector<int> shuffled_indices(int n, std::uint64_t seed);

}  // namespace kraus::optim
