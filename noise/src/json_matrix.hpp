// JSON helpers shared by the noise-model readers and writers (internal header): the bounded parse
// and the checked readers that turn every malformed value into a NoiseModelError naming the source
// and the JSON path. Implemented in noise_model.cpp.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kraus/noise/matrix.hpp"
#include "kraus/noise/noise_model.hpp"

namespace kraus::noise {

using json = nlohmann::ordered_json;

// A complex matrix as a list of rows of [re, im] pairs.
inline json matrix_json(const Matrix& m) {
  json rows = json::array();
  for (int r = 0; r < m.rows(); ++r) {
    json row = json::array();
    for (int c = 0; c < m.cols(); ++c) row.push_back({m(r, c).real(), m(r, c).imag()});
    rows.push_back(row);
  }
  return rows;
}

namespace detail {

// The bytes of the file at `path`, at most kMaxNoiseModelBytes (reading stops there: /dev/zero is
// refused too); errors name the path and `what` ("noise model file", "device file").
std::string read_bounded_file(const std::string& path, const std::string& what);

// Parses `text` within the limits of noise_model.hpp (size, nesting depth, numbers within double's
// range, no duplicate keys); syntax errors as "source:line:col: invalid JSON (...)".
json parse_json(std::string_view text, const std::string& source);

// Checked reads of a parsed document; each failure throws NoiseModelError("source: path: message").
struct JsonReader {
  std::string source;

  [[noreturn]] void fail(const std::string& path, const std::string& message) const;
  // path + "." + key, with the key made printable.
  static std::string member(const std::string& path, const std::string& key);
  static std::string element(const std::string& path, std::size_t i);

  void only_keys(const json& j, const std::string& path, std::initializer_list<const char*> keys) const;
  const json& object(const json& j, const std::string& path) const;
  // The member `key` of object j, or a "missing" error naming what it should be.
  const json& required(const json& j, const std::string& path, const char* key, const std::string& what) const;
  const json& array(const json& j, const std::string& path, const std::string& what) const;
  std::string string(const json& j, const std::string& path, const std::string& what) const;
  // A gate name: letters, digits and _, not starting with a digit, or "*" when `wildcard`.
  std::string gate_name(const json& j, const std::string& path, bool wildcard = false) const;
  double number(const json& j, const std::string& path) const;
  // An integer literal in [lo, hi] (no wrap-around, no truncation of 2.5).
  long long integer(const json& j, const std::string& path, long long lo, long long hi) const;
  int index(const json& j, const std::string& path) const;  // a qubit index in [0, kMaxQubitIndex]
  std::vector<int> qubit_list(const json& j, const std::string& path) const;
  // A d x d complex matrix (rows of numbers or [re, im] pairs) with d one of `dims`; the shape is
  // checked before anything is allocated.
  Matrix complex_matrix(const json& j, const std::string& path, std::initializer_list<int> dims) const;
  // A d x d real matrix (row-major) of probabilities in [0, 1], shape checked first.
  std::vector<double> probability_matrix(const json& j, const std::string& path, std::size_t d) const;
};

}  // namespace detail
}  // namespace kraus::noise
