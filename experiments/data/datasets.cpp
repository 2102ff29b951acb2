#include "data/datasets.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

namespace kraus::experiments {
namespace fs = std::filesystem;

const char* zlib_library_version() { return zlibVersion(); }

namespace {

constexpr double kPi = 3.14159265358979323846;

// The whole file, decompressed when it is gzip (zlib reads plain files unchanged). `package`: the
// Debian package that provides the file, named when it is missing (empty: none).
struct FileBytes {
  std::string bytes;
  bool compressed = false;
};

FileBytes read_file(const std::string& path, const std::string& package) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    std::string msg = path + ": no such file";
    if (!package.empty()) {
      msg += "; it is installed by the Debian package " + package + " (apt-get install " + package + ")";
    }
    throw DataError(msg);
  }
  if (fs::is_directory(path, ec)) throw DataError(path + ": is a folder, not a data file");
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) throw DataError(path + ": cannot open: " + std::strerror(errno));
  FileBytes out;
  char buf[1 << 16];
  while (true) {
    const int n = gzread(f, buf, sizeof buf);
    if (n < 0) break;
    if (n == 0) break;
    out.bytes.append(buf, static_cast<std::size_t>(n));
  }
  int errnum = Z_OK;
  const char* message = gzerror(f, &errnum);
  const std::string error = message ? message : "zlib error";  // gzclose frees the message
  out.compressed = gzdirect(f) == 0;
  gzclose(f);
  if (errnum != Z_OK) {
    throw DataError(path + ": corrupt or truncated gzip data after " + std::to_string(out.bytes.size()) +
                    " decompressed bytes (" + error + ")");
  }
  return out;
}

// A CSV field that must hold an integer (written "5" or "5.0").
bool parse_integer_field(const std::string& text, long long* value) {
  if (text.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v) || v != std::floor(v) || std::fabs(v) > 1e15) return false;
  *value = static_cast<long long>(v);
  return true;
}

std::uint32_t big_endian_u32(const std::string& b, std::size_t offset) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(b[offset])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(b[offset + 1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(b[offset + 2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[offset + 3]));
}

// Seeded random numbers that are the same on every platform.
class Random {
 public:
  explicit Random(std::uint64_t seed) : engine_(seed) {}
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }  // [0, 1)
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * kPi * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * kPi * u2);
  }
  std::uint64_t below(std::uint64_t n) { return static_cast<std::uint64_t>(uniform() * static_cast<double>(n)); }

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

void check_synthetic_args(const char* name, int n, double noise) {
  if (n < 2) throw std::invalid_argument(std::string(name) + ": n = " + std::to_string(n) + " must be at least 2");
  if (!(noise >= 0.0) || !std::isfinite(noise)) {
    throw std::invalid_argument(std::string(name) + ": noise must be a finite standard deviation >= 0");
  }
}

// Adds noise, then shuffles the samples (Fisher-Yates) with the same generator.
void finish_synthetic(Dataset& d, double noise, Random& rng) {
  if (noise > 0.0) {
    for (double& x : d.features) x += noise * rng.normal();
  }
  for (int i = d.size() - 1; i > 0; --i) {
    const int j = static_cast<int>(rng.below(static_cast<std::uint64_t>(i) + 1));
    std::swap(d.labels[i], d.labels[j]);
    std::swap(d.features[2 * i], d.features[2 * j]);
    std::swap(d.features[2 * i + 1], d.features[2 * j + 1]);
  }
}

std::string format_param(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

// ---- digits ------------------------------------------------------------------------------------

Dataset load_digits(const std::string& path) {
  const FileBytes file = read_file(path, "python3-sklearn");
  const std::string& text = file.bytes;
  if (text.empty()) throw DataError(path + ": the file is empty (expected 65 comma-separated integers per line)");
  Dataset d;
  d.source = path;
  d.num_features = 64;
  d.num_classes = 10;
  d.image_rows = d.image_cols = 8;
  std::size_t pos = 0;
  int line_number = 0;
  while (pos < text.size()) {
    ++line_number;
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string where = path + ":" + std::to_string(line_number) + ": ";
    if (line.empty()) {
      if (pos >= text.size()) break;  // a final empty line
      throw DataError(where + "empty line (expected 65 comma-separated integers)");
    }
    std::vector<std::string> fields;
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = line.find(',', start);
      fields.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (fields.size() != 65) {
      throw DataError(where + "expected 65 comma-separated integers (64 pixels and the label), found " +
                      std::to_string(fields.size()) + " fields");
    }
    for (int j = 0; j < 65; ++j) {
      long long v = 0;
      if (!parse_integer_field(fields[j], &v)) {
        throw DataError(where + "field " + std::to_string(j + 1) + " ('" + fields[j] + "') is not an integer");
      }
      if (j < 64) {
        if (v < 0 || v > 16) {
          throw DataError(where + "pixel " + std::to_string(j + 1) + " = " + std::to_string(v) + " is outside 0..16");
        }
        d.features.push_back(static_cast<double>(v));
      } else {
        if (v < 0 || v > 9) throw DataError(where + "label " + std::to_string(v) + " is outside 0..9");
        d.labels.push_back(static_cast<int>(v));
      }
    }
  }
  if (d.labels.empty()) throw DataError(path + ": no samples");
  return d;
}

// ---- IDX ---------------------------------------------------------------------------------------

IdxArray load_idx(const std::string& path) {
  const FileBytes file = read_file(path, "");
  const std::string& b = file.bytes;
  const std::string where = file.compressed ? " (offsets in the decompressed data)" : "";
  auto fail = [&](std::size_t offset, const std::string& what) -> DataError {
    return DataError(path + ": byte offset " + std::to_string(offset) + where + ": " + what);
  };
  if (b.size() < 4) throw fail(b.size(), "truncated IDX header (the file has " + std::to_string(b.size()) + " bytes)");
  if (b[0] != 0 || b[1] != 0) throw fail(0, "not an IDX file (the magic number must start with two zero bytes)");
  const auto type = static_cast<unsigned char>(b[2]);
  const auto ndims = static_cast<unsigned char>(b[3]);
  if (type != 0x08) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", type);
    throw fail(2, std::string("data type ") + hex + " is not supported (only unsigned bytes, 0x08, as MNIST uses)");
  }
  if (ndims < 1 || ndims > 4) throw fail(3, std::to_string(ndims) + " dimensions (supported: 1 to 4)");
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(ndims);
  if (b.size() < header) {
    throw fail(b.size(), "truncated IDX header: " + std::to_string(ndims) + " dimensions need " +
                             std::to_string(header) + " bytes, the file has " + std::to_string(b.size()));
  }
  IdxArray a;
  std::uint64_t count = 1;
  for (std::size_t k = 0; k < ndims; ++k) {
    const std::uint32_t dim = big_endian_u32(b, 4 + 4 * k);
    if (dim == 0) throw fail(4 + 4 * k, "dimension " + std::to_string(k) + " is 0");
    a.dims.push_back(dim);
    count *= dim;
    if (count > (std::uint64_t{1} << 34)) throw fail(4 + 4 * k, "the dimensions describe more than 16 GiB of data");
  }
  const std::uint64_t available = b.size() - header;
  if (available < count) {
    throw fail(b.size(), "truncated: expected " + std::to_string(count) + " data bytes from offset " +
                             std::to_string(header) + ", found " + std::to_string(available));
  }
  if (available > count) {
    throw fail(header + count, std::to_string(available - count) + " unexpected bytes after the data");
  }
  a.data.assign(b.begin() + static_cast<std::ptrdiff_t>(header), b.end());
  return a;
}

Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path) {
  const IdxArray images = load_idx(images_path);
  const IdxArray labels = load_idx(labels_path);
  if (images.dims.size() != 3) {
    throw DataError(images_path + ": an image file has 3 dimensions (count, rows, columns), this one " +
                    std::to_string(images.dims.size()));
  }
  if (labels.dims.size() != 1) {
    throw DataError(labels_path + ": a label file has 1 dimension (count), this one " +
                    std::to_string(labels.dims.size()));
  }
  if (images.dims[0] != labels.dims[0]) {
    throw DataError(images_path + " has " + std::to_string(images.dims[0]) + " images but " + labels_path + " has " +
                    std::to_string(labels.dims[0]) + " labels");
  }
  Dataset d;
  d.source = images_path + " + " + labels_path;
  d.image_rows = static_cast<int>(images.dims[1]);
  d.image_cols = static_cast<int>(images.dims[2]);
  d.num_features = d.image_rows * d.image_cols;
  d.features.assign(images.data.begin(), images.data.end());
  d.labels.assign(labels.data.begin(), labels.data.end());
  d.num_classes = 1 + *std::max_element(d.labels.begin(), d.labels.end());
  return d;
}

Dataset load_fashion_mnist(const std::string& split, const std::string& dir) {
  if (split != "train" && split != "t10k") {
    throw std::invalid_argument("Fashion-MNIST split '" + split + "': expected \"train\" or \"t10k\"");
  }
  auto locate = [&](const std::string& kind) {
    const std::string base = dir + "/" + split + "-" + kind;
    std::error_code ec;
    if (fs::exists(base + ".gz", ec)) return base + ".gz";
    if (fs::exists(base, ec)) return base;
    throw DataError(base + ".gz: no such file; Fashion-MNIST is installed by the Debian package dataset-fashion-mnist "
                           "(apt-get install dataset-fashion-mnist)");
  };
  const std::string images = locate("images-idx3-ubyte");
  const std::string labels = locate("labels-idx1-ubyte");
  Dataset d = load_idx_dataset(images, labels);
  d.num_classes = 10;
  return d;
}

// ---- transforms ----------------------------------------------------------------------------------

Dataset mean_pool(const Dataset& images, int k) {
  if (images.image_rows <= 0 || images.image_cols <= 0) {
    throw std::invalid_argument("mean_pool: " + images.source + " holds no images (no image shape)");
  }
  if (k < 1 || images.image_rows % k != 0 || images.image_cols % k != 0) {
    throw std::invalid_argument("mean_pool: " + std::to_string(images.image_rows) + "x" +
                                std::to_string(images.image_cols) + " images cannot be pooled in " + std::to_string(k) +
                                "x" + std::to_string(k) + " blocks");
  }
  Dataset out;
  out.source = images.source + " | mean_pool(" + std::to_string(k) + ")";
  out.num_classes = images.num_classes;
  out.image_rows = images.image_rows / k;
  out.image_cols = images.image_cols / k;
  out.num_features = out.image_rows * out.image_cols;
  out.labels = images.labels;
  out.features.assign(static_cast<std::size_t>(images.size()) * out.num_features, 0.0);
  const double inv = 1.0 / (static_cast<double>(k) * k);
  for (int i = 0; i < images.size(); ++i) {
    const double* in = images.row(i);
    double* o = out.features.data() + static_cast<std::size_t>(i) * out.num_features;
    for (int r = 0; r < images.image_rows; ++r) {
      for (int c = 0; c < images.image_cols; ++c) {
        o[(r / k) * out.image_cols + c / k] += in[r * images.image_cols + c];
      }
    }
    for (int j = 0; j < out.num_features; ++j) o[j] *= inv;
  }
  return out;
}

Dataset scale_features(const Dataset& data, double factor) {
  Dataset out = data;
  for (double& x : out.features) x *= factor;
  out.source += " | scale(" + format_param(factor) + ")";
  return out;
}

Dataset select_classes(const Dataset& data, const std::vector<int>& classes) {
  if (classes.empty()) throw std::invalid_argument("select_classes: no classes given");
  std::vector<int> position(static_cast<std::size_t>(std::max(data.num_classes, 1)), -1);
  for (std::size_t c = 0; c < classes.size(); ++c) {
    const int label = classes[c];
    if (label < 0 || label >= data.num_classes) {
      throw std::invalid_argument("select_classes: class " + std::to_string(label) + " is outside 0.." +
                                  std::to_string(data.num_classes - 1));
    }
    if (position[label] >= 0) throw std::invalid_argument("select_classes: class " + std::to_string(label) + " twice");
    position[label] = static_cast<int>(c);
  }
  Dataset out;
  out.source = data.source + " | classes";
  for (int c : classes) out.source += " " + std::to_string(c);
  out.num_features = data.num_features;
  out.num_classes = static_cast<int>(classes.size());
  out.image_rows = data.image_rows;
  out.image_cols = data.image_cols;
  for (int i = 0; i < data.size(); ++i) {
    const int p = position[data.labels[i]];
    if (p < 0) continue;
    out.labels.push_back(p);
    out.features.insert(out.features.end(), data.row(i), data.row(i) + data.num_features);
  }
  return out;
}

// ---- synthetic -----------------------------------------------------------------------------------

Dataset make_moons(int n, double noise, std::uint64_t seed) {
  check_synthetic_args("make_moons", n, noise);
  Dataset d;
  d.source = "moons(n=" + std::to_string(n) + ", noise=" + format_param(noise) + ", seed=" + std::to_string(seed) + ")";
  d.num_features = 2;
  d.num_classes = 2;
  const int outer = (n + 1) / 2, inner = n - outer;
  for (int i = 0; i < outer; ++i) {
    const double t = outer > 1 ? kPi * i / (outer - 1) : 0.0;
    d.features.insert(d.features.end(), {std::cos(t), std::sin(t)});
    d.labels.push_back(0);
  }
  for (int i = 0; i < inner; ++i) {
    const double t = inner > 1 ? kPi * i / (inner - 1) : 0.0;
    d.features.insert(d.features.end(), {1.0 - std::cos(t), 0.5 - std::sin(t)});
    d.labels.push_back(1);
  }
  Random rng(seed);
  finish_synthetic(d, noise, rng);
  return d;
}

Dataset make_circles(int n, double noise, double factor, std::uint64_t seed) {
  check_synthetic_args("make_circles", n, noise);
  if (!(factor > 0.0 && factor < 1.0)) throw std::invalid_argument("make_circles: factor must lie in (0, 1)");
  Dataset d;
  d.source = "circles(n=" + std::to_string(n) + ", noise=" + format_param(noise) + ", factor=" + format_param(factor) +
             ", seed=" + std::to_string(seed) + ")";
  d.num_features = 2;
  d.num_classes = 2;
  const int outer = (n + 1) / 2, inner = n - outer;
  for (int i = 0; i < outer; ++i) {
    const double t = 2.0 * kPi * i / outer;
    d.features.insert(d.features.end(), {std::cos(t), std::sin(t)});
    d.labels.push_back(0);
  }
  for (int i = 0; i < inner; ++i) {
    const double t = 2.0 * kPi * i / inner;
    d.features.insert(d.features.end(), {factor * std::cos(t), factor * std::sin(t)});
    d.labels.push_back(1);
  }
  Random rng(seed);
  finish_synthetic(d, noise, rng);
  return d;
}

Dataset make_xor(int n, double noise, std::uint64_t seed) {
  check_synthetic_args("make_xor", n, noise);
  Dataset d;
  d.source = "xor(n=" + std::to_string(n) + ", noise=" + format_param(noise) + ", seed=" + std::to_string(seed) + ")";
  d.num_features = 2;
  d.num_classes = 2;
  Random rng(seed);
  for (int i = 0; i < n; ++i) {
    const double x = 2.0 * rng.uniform() - 1.0, y = 2.0 * rng.uniform() - 1.0;
    d.features.insert(d.features.end(), {x, y});
    d.labels.push_back((x > 0.0) != (y > 0.0) ? 1 : 0);
  }
  finish_synthetic(d, noise, rng);
  return d;
}

// ---- tasks -------------------------------------------------------------------------------------

namespace {

// The first `keep` samples of each class in a seeded per-class shuffle, in the original order.
optim::Dataset cap_per_class(const optim::Dataset& data, int keep, std::uint64_t seed) {
  if (keep <= 0) return data;
  const std::vector<int> order = optim::shuffled_indices(data.size(), seed);
  std::vector<int> taken(static_cast<std::size_t>(data.num_classes), 0);
  std::vector<int> rows;
  for (int i : order) {
    int& t = taken[static_cast<std::size_t>(data.labels[static_cast<std::size_t>(i)])];
    if (t < keep) {
      ++t;
      rows.push_back(i);
    }
  }
  std::sort(rows.begin(), rows.end());
  return data.subset(rows);
}

// Each feature mapped to [0, 1] by the set's own minimum and maximum.
void min_max_scale(optim::Dataset& d) {
  for (int j = 0; j < d.num_features; ++j) {
    double lo = d.row(0)[j], hi = lo;
    for (int i = 1; i < d.size(); ++i) {
      lo = std::min(lo, d.row(i)[j]);
      hi = std::max(hi, d.row(i)[j]);
    }
    for (int i = 0; i < d.size(); ++i) {
      double& x = d.features[static_cast<std::size_t>(i) * static_cast<std::size_t>(d.num_features) +
                             static_cast<std::size_t>(j)];
      x = hi > lo ? (x - lo) / (hi - lo) : 0.0;
    }
  }
}

}  // namespace

const std::vector<std::string>& task_names() {
  static const std::vector<std::string> names = {"digits01", "digits38", "digits10", "fashion",
                                                 "moons",    "circles",  "xor"};
  return names;
}

Task load_task(const std::string& name, std::uint64_t seed, int max_per_class) {
  Task t;
  t.name = name;
  const int test_cap = max_per_class > 0 ? (3 * max_per_class + 6) / 7 : 0;
  const std::string cap =
      max_per_class > 0 ? "; at most " + std::to_string(max_per_class) + " training and " +
                              std::to_string(test_cap) + " test samples per class"
                        : "";
  auto split = [&](const optim::Dataset& all) {
    optim::train_test_split(all, 0.3, seed, &t.train, &t.test);
    t.train = cap_per_class(t.train, max_per_class, seed);
    t.test = cap_per_class(t.test, test_cap, seed + 1);
  };
  if (name == "digits01" || name == "digits38" || name == "digits10") {
    const Dataset pooled = scale_features(mean_pool(load_digits(), 2), 1.0 / 16.0);
    const std::vector<int> classes = name == "digits01"   ? std::vector<int>{0, 1}
                                     : name == "digits38" ? std::vector<int>{3, 8}
                                                          : std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    split(select_classes(pooled, classes));
    t.image_side = 4;
    t.description = pooled.source + (name == "digits10" ? "" : " | classes " + name.substr(6, 1) + " " + name.substr(7, 1)) +
                    "; stratified 70/30 split, seed " + std::to_string(seed) + cap;
  } else if (name == "fashion") {
    const Dataset train = scale_features(mean_pool(load_fashion_mnist("train"), 7), 1.0 / 255.0);
    const Dataset test = scale_features(mean_pool(load_fashion_mnist("t10k"), 7), 1.0 / 255.0);
    t.train = cap_per_class(train, max_per_class, seed);
    t.test = cap_per_class(test, test_cap, seed + 1);
    t.image_side = 4;
    t.description = train.source + " (train), " + test.source + " (test)" + cap + ", seed " + std::to_string(seed);
  } else if (name == "moons" || name == "circles" || name == "xor") {
    Dataset d = name == "moons"     ? make_moons(300, 0.1, seed)
                : name == "circles" ? make_circles(300, 0.1, 0.5, seed)
                                    : make_xor(300, 0.1, seed);
    min_max_scale(d);
    split(d);
    t.description = d.source + " | min-max to [0, 1]; stratified 70/30 split, seed " + std::to_string(seed) + cap;
  } else {
    std::string known;
    for (const std::string& n : task_names()) known += (known.empty() ? "" : ", ") + n;
    throw std::invalid_argument("unknown task '" + name + "' (known: " + known + ")");
  }
  return t;
}

}  // namespace kraus::experiments
