// JSON helpers shared by the noise-model readers and writers (internal header).
#pragma once

#include <nlohmann/json.hpp>

#include "kraus/noise/matrix.hpp"

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

}  // namespace kraus::noise
