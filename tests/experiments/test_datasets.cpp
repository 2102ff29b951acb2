// Data loaders: files written here are read back exactly (plain and gzip), malformed files give
// messages with file and line or byte offset, missing Debian data names its package, pooling and
// the synthetic sets are checked by hand.
#include <catch2/catch.hpp>

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "data/datasets.hpp"

using namespace kraus::experiments;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;
namespace optim = kraus::optim;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "kraus_data_XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write_plain(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void write_gzip(const fs::path& p, const std::string& bytes) {
  gzFile f = gzopen(p.string().c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

std::string u32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>((v >> 16) & 0xFF), static_cast<char>((v >> 8) & 0xFF),
          static_cast<char>(v & 0xFF)};
}

// An IDX file of unsigned bytes with the given dimensions and data.
std::string idx(const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& data) {
  std::string b = {0, 0, 0x08, static_cast<char>(dims.size())};
  for (std::uint32_t d : dims) b += u32(d);
  b.append(data.begin(), data.end());
  return b;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}

// Three 8x8 digit rows: pixels (i * 7 + j) % 17 and label i + 3.
std::string digits_csv(int rows) {
  std::ostringstream s;
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < 64; ++j) s << (i * 7 + j) % 17 << ",";
    s << i + 3 << "\n";
  }
  return s.str();
}

}  // namespace

TEST_CASE("IDX files written here are read back exactly, plain and gzip", "[experiments][data]") {
  TempDir dir;
  std::vector<std::uint8_t> pixels(3 * 4 * 6);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>((i * 37 + 5) % 256);
  const std::vector<std::uint8_t> labels = {7, 0, 2};
  for (bool gz : {false, true}) {
    CAPTURE(gz);
    const fs::path images_path = dir.path / (gz ? "images.gz" : "images");
    const fs::path labels_path = dir.path / (gz ? "labels.gz" : "labels");
    (gz ? write_gzip : write_plain)(images_path, idx({3, 4, 6}, pixels));
    (gz ? write_gzip : write_plain)(labels_path, idx({3}, labels));

    const IdxArray a = load_idx(images_path.string());
    CHECK(a.dims == std::vector<std::uint32_t>{3, 4, 6});
    CHECK(a.data == pixels);

    const Dataset d = load_idx_dataset(images_path.string(), labels_path.string());
    CHECK(d.size() == 3);
    CHECK(d.num_features == 24);
    CHECK(d.image_rows == 4);
    CHECK(d.image_cols == 6);
    CHECK(d.num_classes == 8);
    CHECK(d.labels == std::vector<int>{7, 0, 2});
    for (std::size_t i = 0; i < pixels.size(); ++i) CHECK(d.features[i] == pixels[i]);
  }
}

TEST_CASE("malformed IDX files name the file and the byte offset", "[experiments][data]") {
  TempDir dir;
  const fs::path p = dir.path / "bad.idx";
  auto error = [&](const std::string& bytes) {
    write_plain(p, bytes);
    return error_of([&] { load_idx(p.string()); });
  };
  CHECK_THAT(error(std::string("\x01\x00\x08\x01", 4) + u32(1) + "x"),
             Contains("bad.idx: byte offset 0") && Contains("not an IDX file"));
  CHECK_THAT(error(std::string("\x00\x00\x0D\x01", 4) + u32(1) + "abcd"),
             Contains("byte offset 2") && Contains("0x0D is not supported"));
  CHECK_THAT(error(std::string("\x00\x00\x08\x07", 4)), Contains("byte offset 3") && Contains("7 dimensions"));
  CHECK_THAT(error(std::string("\x00\x00", 2)), Contains("truncated IDX header"));
  CHECK_THAT(error(std::string("\x00\x00\x08\x03", 4) + u32(2)), Contains("truncated IDX header: 3 dimensions need 16"));
  CHECK_THAT(error(idx({2, 0, 3}, {})), Contains("byte offset 8") && Contains("dimension 1 is 0"));
  std::string truncated = idx({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  truncated.resize(truncated.size() - 3);
  CHECK_THAT(error(truncated), Contains("byte offset 21") && Contains("expected 8 data bytes from offset 16, found 5"));
  CHECK_THAT(error(idx({2}, {1, 2}) + "zz"), Contains("byte offset 10") && Contains("2 unexpected bytes after the data"));

  // gzip: offsets are in the decompressed data; a truncated stream is named as such.
  const fs::path gz = dir.path / "bad.gz";
  write_gzip(gz, truncated);
  CHECK_THAT(error_of([&] { load_idx(gz.string()); }), Contains("offsets in the decompressed data") && Contains("found 5"));
  std::string compressed;
  {
    write_gzip(gz, idx({1000}, std::vector<std::uint8_t>(1000, 9)));
    std::ifstream in(gz, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    compressed = s.str();
  }
  write_plain(gz, compressed.substr(0, compressed.size() / 2));
  CHECK_THAT(error_of([&] { load_idx(gz.string()); }), Contains("bad.gz: corrupt or truncated gzip data"));

  // Image and label files that do not belong together.
  const fs::path images = dir.path / "i", labels = dir.path / "l";
  write_plain(images, idx({2, 1, 1}, {1, 2}));
  write_plain(labels, idx({3}, {1, 2, 3}));
  CHECK_THAT(error_of([&] { load_idx_dataset(images.string(), labels.string()); }),
             Contains("has 2 images but") && Contains("has 3 labels"));
  CHECK_THAT(error_of([&] { load_idx_dataset(labels.string(), labels.string()); }), Contains("3 dimensions"));
  CHECK_THAT(error_of([&] { load_idx(dir.path.string() + "/missing.idx"); }), Contains("missing.idx: no such file"));
}

TEST_CASE("Fashion-MNIST: the split's files from a folder, or a message naming dataset-fashion-mnist",
          "[experiments][data]") {
  TempDir dir;
  CHECK_THAT(error_of([&] { load_fashion_mnist("train", (dir.path / "nowhere").string()); }),
             Contains("train-images-idx3-ubyte.gz: no such file") && Contains("dataset-fashion-mnist"));
  CHECK_THAT(error_of([&] { load_fashion_mnist("validation", dir.path.string()); }), Contains("\"train\" or \"t10k\""));
  // A miniature copy of the package's layout (gzip images, plain labels).
  std::vector<std::uint8_t> pixels(2 * 28 * 28);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>(i % 251);
  write_gzip(dir.path / "t10k-images-idx3-ubyte.gz", idx({2, 28, 28}, pixels));
  write_plain(dir.path / "t10k-labels-idx1-ubyte", idx({2}, {9, 4}));
  const Dataset d = load_fashion_mnist("t10k", dir.path.string());
  CHECK(d.size() == 2);
  CHECK(d.num_classes == 10);
  CHECK(d.image_rows == 28);
  CHECK(d.labels == std::vector<int>{9, 4});
  CHECK(d.feature(1, 5) == pixels[784 + 5]);
}

TEST_CASE("digits CSV written here is read back exactly, plain and gzip", "[experiments][data]") {
  TempDir dir;
  const std::string text = digits_csv(3);
  write_plain(dir.path / "digits.csv", text);
  write_gzip(dir.path / "digits.csv.gz", text);
  write_plain(dir.path / "crlf.csv", [&] {
    std::string t;
    for (char c : text) t += c == '\n' ? std::string("\r\n") : std::string(1, c);
    return t;
  }());
  for (const char* name : {"digits.csv", "digits.csv.gz", "crlf.csv"}) {
    CAPTURE(name);
    const Dataset d = load_digits((dir.path / name).string());
    REQUIRE(d.size() == 3);
    CHECK(d.num_features == 64);
    CHECK(d.num_classes == 10);
    CHECK(d.image_rows == 8);
    CHECK(d.labels == std::vector<int>{3, 4, 5});
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 64; ++j) CHECK(d.feature(i, j) == (i * 7 + j) % 17);
    }
  }
}

TEST_CASE("malformed digits files name the file and line", "[experiments][data]") {
  TempDir dir;
  const fs::path p = dir.path / "digits.csv";
  auto error = [&](const std::string& text) {
    write_plain(p, text);
    return error_of([&] { load_digits(p.string()); });
  };
  const std::string good = digits_csv(1);
  std::string short_line = good;
  short_line.erase(0, 2);  // drops the first field
  CHECK_THAT(error(good + short_line), Contains("digits.csv:2: expected 65 comma-separated integers") &&
                                           Contains("found 64 fields"));
  std::string word = good;
  word.replace(0, 1, "x");
  CHECK_THAT(error(good + good + word), Contains("digits.csv:3: field 1 ('x') is not an integer"));
  std::string big = good;
  big.replace(0, 1, "17");
  CHECK_THAT(error(big), Contains("digits.csv:1: pixel 1 = 17 is outside 0..16"));
  std::string label = good;
  label.replace(label.rfind(',') + 1, 1, "12");
  CHECK_THAT(error(label), Contains("digits.csv:1: label 12 is outside 0..9"));
  CHECK_THAT(error(good + "\n" + good), Contains("digits.csv:2: empty line"));
  CHECK_THAT(error(""), Contains("digits.csv: the file is empty"));
  CHECK_THAT(error("1.5" + good.substr(1)), Contains("field 1 ('1.5') is not an integer"));
  CHECK(error("5.0" + good.substr(1)) == "no error");  // integers written as reals are accepted
}

TEST_CASE("a missing digits file names python3-sklearn", "[experiments][data]") {
  const std::string msg = error_of([] { load_digits("/nonexistent/sklearn/datasets/data/digits.csv.gz"); });
  CHECK_THAT(msg, Contains("/nonexistent/sklearn/datasets/data/digits.csv.gz: no such file") &&
                      Contains("Debian package python3-sklearn"));
}

TEST_CASE("the digits Debian ships: 1797 images, 2x2 pooling to 4x4", "[experiments][data]") {
  if (!fs::exists(kDigitsPath)) {
    WARN("skipped: " << kDigitsPath << " is not installed (Debian package python3-sklearn)");
    return;
  }
  const Dataset d = load_digits();
  REQUIRE(d.size() == 1797);
  std::vector<int> counts(10, 0);
  for (int label : d.labels) ++counts[label];
  CHECK(counts == std::vector<int>{178, 182, 177, 183, 181, 182, 181, 179, 174, 180});
  const Dataset pooled = mean_pool(d, 2);
  CHECK(pooled.num_features == 16);
  CHECK(pooled.image_rows == 4);
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 4; ++c) {
      const double expected = (d.feature(0, 16 * r + 2 * c) + d.feature(0, 16 * r + 2 * c + 1) +
                               d.feature(0, 16 * r + 8 + 2 * c) + d.feature(0, 16 * r + 8 + 2 * c + 1)) /
                              4.0;
      CHECK(pooled.feature(0, 4 * r + c) == expected);
    }
  }
  const Dataset unit = scale_features(pooled, 1.0 / 16.0);
  CHECK(*std::max_element(unit.features.begin(), unit.features.end()) <= 1.0);
}

TEST_CASE("k x k mean pooling", "[experiments][data]") {
  Dataset img;
  img.source = "test";
  img.image_rows = img.image_cols = 28;
  img.num_features = 784;
  img.num_classes = 1;
  img.labels = {0};
  for (int r = 0; r < 28; ++r) {
    for (int c = 0; c < 28; ++c) img.features.push_back(r * 28 + c);
  }
  const Dataset p = mean_pool(img, 7);
  CHECK(p.num_features == 16);
  CHECK(p.image_rows == 4);
  CHECK(p.image_cols == 4);
  for (int R = 0; R < 4; ++R) {
    for (int C = 0; C < 4; ++C) {
      // Mean of r*28 + c over a 7x7 block = (7R + 3)*28 + 7C + 3.
      CHECK(p.feature(0, 4 * R + C) == Approx((7 * R + 3) * 28 + 7 * C + 3).epsilon(1e-15));
    }
  }
  CHECK(mean_pool(img, 1).features == img.features);
  CHECK_THAT(error_of([&] { mean_pool(img, 5); }), Contains("28x28 images cannot be pooled in 5x5 blocks"));
  Dataset flat = img;
  flat.image_rows = flat.image_cols = 0;
  CHECK_THAT(error_of([&] { mean_pool(flat, 2); }), Contains("holds no images"));
}

TEST_CASE("select_classes relabels by position", "[experiments][data]") {
  Dataset d;
  d.num_features = 1;
  d.num_classes = 10;
  d.labels = {3, 8, 1, 8, 3};
  d.features = {0, 1, 2, 3, 4};
  const Dataset s = select_classes(d, {8, 3});
  CHECK(s.labels == std::vector<int>{1, 0, 0, 1});
  CHECK(s.features == std::vector<double>{0, 1, 3, 4});
  CHECK(s.num_classes == 2);
  CHECK_THROWS_AS(select_classes(d, {10}), std::invalid_argument);
  CHECK_THROWS_AS(select_classes(d, {3, 3}), std::invalid_argument);
}

TEST_CASE("synthetic sets are reproducible by seed and have their shape", "[experiments][data]") {
  for (auto make : {+[](std::uint64_t s) { return make_moons(101, 0.1, s); },
                    +[](std::uint64_t s) { return make_circles(101, 0.05, 0.5, s); },
                    +[](std::uint64_t s) { return make_xor(101, 0.1, s); }}) {
    const Dataset a = make(7), b = make(7), c = make(8);
    CHECK(a.size() == 101);
    CHECK(a.num_features == 2);
    CHECK(a.num_classes == 2);
    CHECK(a.features == b.features);
    CHECK(a.labels == b.labels);
    CHECK(a.features != c.features);
    CHECK(std::set<int>(a.labels.begin(), a.labels.end()) == std::set<int>{0, 1});
  }
  // Without noise the points lie on their curves.
  const Dataset moons = make_moons(50, 0.0, 1);
  CHECK(std::count(moons.labels.begin(), moons.labels.end(), 0) == 25);
  for (int i = 0; i < moons.size(); ++i) {
    const double x = moons.feature(i, 0), y = moons.feature(i, 1);
    if (moons.labels[i] == 0) {
      CHECK(std::hypot(x, y) == Approx(1.0));
      CHECK(y >= -1e-12);
    } else {
      CHECK(std::hypot(x - 1.0, y - 0.5) == Approx(1.0));
      CHECK(y <= 0.5 + 1e-12);
    }
  }
  const Dataset circles = make_circles(40, 0.0, 0.3, 2);
  for (int i = 0; i < circles.size(); ++i) {
    CHECK(std::hypot(circles.feature(i, 0), circles.feature(i, 1)) == Approx(circles.labels[i] == 0 ? 1.0 : 0.3));
  }
  const Dataset x = make_xor(200, 0.0, 3);
  for (int i = 0; i < x.size(); ++i) {
    CHECK(x.labels[i] == (x.feature(i, 0) * x.feature(i, 1) < 0 ? 1 : 0));
    CHECK(std::fabs(x.feature(i, 0)) <= 1.0);
  }
  // Shuffled: the first half is not all one class.
  CHECK(std::count(moons.labels.begin(), moons.labels.begin() + 25, 0) < 25);
  CHECK_THROWS_AS(make_moons(1, 0.1, 1), std::invalid_argument);
  CHECK_THROWS_AS(make_circles(10, 0.1, 1.5, 1), std::invalid_argument);
  CHECK_THROWS_AS(make_xor(10, -1.0, 1), std::invalid_argument);
}

TEST_CASE("classification tasks: sizes, feature ranges, caps, seeds", "[experiments][data]") {
  // The digits Debian ships: 178 zeros and 182 ones; round(0.3 x class) of each go to the test set.
  const Task d01 = load_task("digits01", 7);
  CHECK(d01.train.size() == 252);
  CHECK(d01.test.size() == 108);
  CHECK(d01.train.num_features == 16);
  CHECK(d01.train.num_classes == 2);
  CHECK(d01.image_side == 4);
  for (const optim::Dataset* part : {&d01.train, &d01.test}) {
    CHECK(*std::min_element(part->features.begin(), part->features.end()) >= 0.0);
    CHECK(*std::max_element(part->features.begin(), part->features.end()) <= 1.0);
  }
  // The same split as optim::train_test_split of the prepared set with that seed.
  optim::Dataset train, test;
  optim::train_test_split(select_classes(scale_features(mean_pool(load_digits(), 2), 1.0 / 16.0), {0, 1}), 0.3, 7,
                          &train, &test);
  CHECK(train.features == d01.train.features);
  CHECK(test.labels == d01.test.labels);
  CHECK(load_task("digits01", 8).train.features != d01.train.features);

  // At most 20 training and ceil(60/7) = 9 test samples per class.
  const Task d10 = load_task("digits10", 7, 20);
  CHECK(d10.train.num_classes == 10);
  CHECK(d10.train.size() == 200);
  CHECK(d10.test.size() == 90);
  std::vector<int> per_class(10, 0);
  for (int y : d10.test.labels) ++per_class[static_cast<std::size_t>(y)];
  CHECK(per_class == std::vector<int>(10, 9));

  const Task moons = load_task("moons", 3);
  CHECK(moons.train.size() + moons.test.size() == 300);
  CHECK(moons.test.size() == 90);
  CHECK(moons.train.num_features == 2);
  CHECK(moons.image_side == 0);
  double lo = 1.0, hi = 0.0;
  for (const optim::Dataset* part : {&moons.train, &moons.test}) {
    for (double x : part->features) {
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
  }
  CHECK(lo == 0.0);  // min-max scaled over the whole generated set
  CHECK(hi == 1.0);
  CHECK(load_task("moons", 3).train.features == moons.train.features);

  if (std::filesystem::exists(std::string(kFashionMnistDir) + "/t10k-images-idx3-ubyte.gz")) {
    const Task f = load_task("fashion", 1, 30);
    CHECK(f.train.size() == 300);
    CHECK(f.test.size() == 130);
    CHECK(f.train.num_features == 16);
    CHECK(*std::max_element(f.train.features.begin(), f.train.features.end()) <= 1.0);
  } else {
    WARN("Fashion-MNIST is not installed (dataset-fashion-mnist): its task is not checked");
  }
  CHECK_THROWS_WITH(load_task("mnist", 1), Contains("unknown task 'mnist'") && Contains("digits01"));
}
