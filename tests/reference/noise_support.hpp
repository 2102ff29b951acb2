// Test helpers for code that handles kraus::noise types: conversion to Armadillo for the dense
// references, and reading fixture files.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <armadillo>

#include "kraus/noise/matrix.hpp"

namespace kraus::test {

inline arma::cx_mat to_arma(const noise::Matrix& m) {
  arma::cx_mat a(static_cast<arma::uword>(m.rows()), static_cast<arma::uword>(m.cols()));
  for (int r = 0; r < m.rows(); ++r)
    for (int c = 0; c < m.cols(); ++c) a(static_cast<arma::uword>(r), static_cast<arma::uword>(c)) = m(r, c);
  return a;
}

// The whole file; std::runtime_error when it cannot be read.
inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace kraus::test
