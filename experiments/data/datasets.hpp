// Data sets for the classifier studies: the 8x8 digits that Debian's python3-sklearn ships,
// MNIST-format IDX files (Fashion-MNIST from Debian's dataset-fashion-mnist, or any other), k x k
// mean pooling to 4x4 images, and seeded synthetic sets (moons, circles, XOR).
//
// Files are read through zlib, so every loader takes gzip-compressed or plain files alike. Errors
// are DataError with a message that names the file and, for a malformed file, the line (CSV) or the
// byte offset (IDX, counted in the decompressed data); a missing file of a Debian data set names the
// package that provides it.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "kraus/optim/datasets.hpp"

namespace kraus::experiments {

struct DataError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Labelled samples (kraus::optim::Dataset: features row-major, labels in [0, num_classes)) with
// where they came from and their image shape.
struct Dataset : optim::Dataset {
  std::string source;                  // file(s) read or generator with its parameters
  int image_rows = 0, image_cols = 0;  // image shape (rows * cols = num_features); 0 for non-images

  double feature(int i, int j) const { return row(i)[j]; }
};

// ---- sklearn digits (python3-sklearn) ---------------------------------------------------------

// Where Debian 12's python3-sklearn installs the digits: UCI optdigits (test part), 1797 rows.
inline constexpr const char* kDigitsPath = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";

// Reads the digits CSV (gzip or plain; no header; each line 64 integer pixels 0..16 of an 8x8 image,
// row-major, then the label 0..9). Features are the raw pixel values; 10 classes; 8x8 images.
// Errors: a missing file names python3-sklearn ("apt-get install python3-sklearn"); a malformed
// line gives "<path>:<line>: ..." (wrong field count, a field that is not an integer, a value
// out of range); an empty file or corrupt gzip data is named as such.
Dataset load_digits(const std::string& path = kDigitsPath);

// ---- IDX (MNIST format) -----------------------------------------------------------------------

// An IDX array: magic 00 00 <type> <ndims>, ndims big-endian uint32 dimensions, then the data.
// Only unsigned bytes (type 0x08), as MNIST and Fashion-MNIST use, are supported.
struct IdxArray {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> data;  // row-major, product(dims) bytes
};

// Reads an IDX file (gzip or plain). Errors name the file and the byte offset: a bad magic number,
// an unsupported data type, a dimension of 0 (offset of that dimension), a file shorter than its
// header says ("expected N data bytes from offset 16, found M"), extra bytes after the data.
IdxArray load_idx(const std::string& path);

// An image file (3 dims: count, rows, cols) and a label file (1 dim: count) as a data set:
// raw pixel values 0..255, num_classes = largest label + 1. The counts must agree.
Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path);

// Where Debian's dataset-fashion-mnist installs Fashion-MNIST.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Fashion-MNIST's "train" (60000) or "t10k" (10000) split from `dir`: <split>-images-idx3-ubyte.gz
// and <split>-labels-idx1-ubyte.gz (or the same names without .gz). 10 classes, 28x28 images. A
// missing file names the package dataset-fashion-mnist. Debian ships no original MNIST; its IDX
// files load with load_idx_dataset.
Dataset load_fashion_mnist(const std::string& split = "train", const std::string& dir = kFashionMnistDir);

// ---- transforms -------------------------------------------------------------------------------

// k x k mean pooling of images: each output pixel is the mean of a k x k block; image_rows and
// image_cols must be multiples of k. 8x8 digits with k = 2 and 28x28 (Fashion-)MNIST with k = 7
// give 4x4 images (16 features). Throws std::invalid_argument otherwise.
Dataset mean_pool(const Dataset& images, int k);

// Every feature multiplied by `factor` (1/16 maps digits to [0, 1], 1/255 maps IDX images).
Dataset scale_features(const Dataset& data, double factor);

// The samples whose label is in `classes`, relabelled by position (classes {3, 8}: 3 -> 0, 8 -> 1),
// order kept.
Dataset select_classes(const Dataset& data, const std::vector<int>& classes);

// ---- synthetic sets (2 features, 2 classes), reproducible by seed ------------------------------
//
// Random numbers: std::mt19937_64(seed) (fully specified by the standard), 53-bit uniforms, normal
// deviates by Box-Muller: the same seed gives the same set on every platform. Samples are shuffled
// (Fisher-Yates) so that the classes are interleaved.

// Two interleaved half circles (as sklearn.datasets.make_moons): n/2 points (rounded up) on the
// upper unit half circle (label 0), the rest on the lower one shifted by (1, -0.5) (label 1),
// evenly spaced in angle, plus Gaussian noise of standard deviation `noise` on each coordinate.
Dataset make_moons(int n, double noise, std::uint64_t seed);

// Two concentric circles (as sklearn.datasets.make_circles): the outer of radius 1 (label 0), the
// inner of radius `factor` in (0, 1) (label 1), evenly spaced in angle, plus Gaussian noise.
Dataset make_circles(int n, double noise, double factor, std::uint64_t seed);

// XOR: points uniform in [-1, 1]^2, label 1 when exactly one coordinate is positive (x * y < 0),
// plus Gaussian noise of standard deviation `noise` added after labelling.
Dataset make_xor(int n, double noise, std::uint64_t seed);

// ---- classification tasks of the classifier studies ---------------------------------------------
//
//   digits01, digits38  digits 0 vs 1, 3 vs 8: 8x8 -> 4x4 mean pooling, pixels / 16 (16 features in
//                       [0, 1]), 2 classes; stratified seeded 70/30 split (optim::train_test_split)
//   digits10            all ten digits, the same preparation, 10 classes
//   fashion             Fashion-MNIST 28x28 -> 4x4 (7x7 pooling), pixels / 255, 10 classes; train
//                       samples from its "train" file, test samples from its "t10k" file
//   moons, circles, xor 2 features min-max scaled to [0, 1] over the generated set, 2 classes;
//                       300 points (noise 0.1; circles factor 0.5) from the seed; 70/30 split
// `max_per_class` > 0 keeps at most that many training samples per class (the first ones of a
// seeded per-class shuffle) and at most ceil(3/7 of it) test samples per class; 0 keeps all.
struct Task {
  std::string name;
  std::string description;  // the preparation, for the study's JSON record
  optim::Dataset train, test;
  int image_side = 0;       // 4 for the image tasks, 0 for the synthetic sets
};

// The task names above, in that order.
const std::vector<std::string>& task_names();

// Prepares a task. `seed` drives the split, the per-class subsampling and the synthetic sets.
// Throws std::invalid_argument for an unknown name, DataError for missing or malformed files.
Task load_task(const std::string& name, std::uint64_t seed, int max_per_class = 0);

// zlib's version string, for the provenance record.
const char* zlib_library_version();

}  // namespace kraus::experiments
