#include "kraus/noise/matrix.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

namespace kraus::noise {

Matrix::Matrix(int rows, int cols) : rows_(rows), cols_(cols) {
  if (rows < 0 || cols < 0) throw std::invalid_argument("negative matrix size");
  data_.assign(static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols), Complex(0.0, 0.0));
}

Matrix Matrix::rows_of(std::initializer_list<std::initializer_list<Complex>> rows) {
  const int r = static_cast<int>(rows.size());
  const int c = r == 0 ? 0 : static_cast<int>(rows.begin()->size());
  Matrix m(r, c);
  int i = 0;
  for (const auto& row : rows) {
    if (static_cast<int>(row.size()) != c) throw std::invalid_argument("ragged matrix rows");
    int j = 0;
    for (const Complex& v : row) m(i, j++) = v;
    ++i;
  }
  return m;
}

Matrix Matrix::identity(int dim) {
  Matrix m(dim, dim);
  for (int i = 0; i < dim; ++i) m(i, i) = 1.0;
  return m;
}

Matrix Matrix::adjoint() const {
  Matrix m(cols_, rows_);
  for (int r = 0; r < rows_; ++r)
    for (int c = 0; c < cols_; ++c) m(c, r) = std::conj((*this)(r, c));
  return m;
}

Matrix Matrix::conj() const {
  Matrix m = *this;
  for (Complex& v : m.data_) v = std::conj(v);
  return m;
}

Complex Matrix::trace() const {
  Complex t = 0.0;
  for (int i = 0; i < std::min(rows_, cols_); ++i) t += (*this)(i, i);
  return t;
}

double Matrix::max_abs() const {
  double m = 0.0;
  for (const Complex& v : data_) m = std::max(m, std::abs(v));
  return m;
}

Matrix& Matrix::operator+=(const Matrix& other) {
  if (rows_ != other.rows_ || cols_ != other.cols_) throw std::invalid_argument("matrix sizes differ in +");
  for (std::size_t i = 0; i < data_.size(); ++i) data_[i] += other.data_[i];
  return *this;
}

Matrix operator-(const Matrix& a, const Matrix& b) {
  if (a.rows_ != b.rows_ || a.cols_ != b.cols_) throw std::invalid_argument("matrix sizes differ in -");
  Matrix m = a;
  for (std::size_t i = 0; i < m.data_.size(); ++i) m.data_[i] -= b.data_[i];
  return m;
}

Matrix operator*(const Matrix& a, const Matrix& b) {
  if (a.cols_ != b.rows_) throw std::invalid_argument("matrix sizes do not match in *");
  Matrix m(a.rows_, b.cols_);
  for (int r = 0; r < a.rows_; ++r)
    for (int k = 0; k < a.cols_; ++k) {
      const Complex x = a(r, k);
      if (x == 0.0) continue;
      for (int c = 0; c < b.cols_; ++c) m(r, c) += x * b(k, c);
    }
  return m;
}

Matrix operator*(Complex s, Matrix a) {
  for (Complex& v : a.data_) v *= s;
  return a;
}

Matrix kron(const Matrix& a, const Matrix& b) {
  Matrix m(a.rows() * b.rows(), a.cols() * b.cols());
  for (int i = 0; i < a.rows(); ++i)
    for (int j = 0; j < a.cols(); ++j)
      for (int k = 0; k < b.rows(); ++k)
        for (int l = 0; l < b.cols(); ++l) m(i * b.rows() + k, j * b.cols() + l) = a(i, j) * b(k, l);
  return m;
}

HermitianEigen eigh(const Matrix& hermitian) {
  const int d = hermitian.rows();
  if (hermitian.cols() != d) throw std::invalid_argument("eigh needs a square matrix");
  Matrix a = hermitian;
  Matrix v = Matrix::identity(d);
  double scale = 0.0;
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < d; ++j) scale += std::norm(a(i, j));
  scale = std::sqrt(scale);
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0.0;
    for (int p = 0; p < d; ++p)
      for (int q = p + 1; q < d; ++q) off += std::norm(a(p, q));
    if (std::sqrt(off) <= 1e-17 * scale || off == 0.0) break;
    for (int p = 0; p < d; ++p) {
      for (int q = p + 1; q < d; ++q) {
        const double r = std::abs(a(p, q));
        if (r <= 1e-300) continue;
        // 1. Phase on basis vector q makes a(p, q) real and positive: A <- D^dagger A D with
        //    D(q, q) = e^{-i phi}.
        const Complex ph = std::conj(a(p, q)) / r;  // e^{-i phi}
        for (int k = 0; k < d; ++k) a(k, q) *= ph;
        for (int k = 0; k < d; ++k) a(q, k) *= std::conj(ph);
        for (int k = 0; k < d; ++k) v(k, q) *= ph;
        // 2. Real Jacobi rotation zeroing the (p, q) entry.
        const double app = a(p, p).real(), aqq = a(q, q).real();
        const double tau = (aqq - app) / (2.0 * r);
        const double t = (tau >= 0 ? 1.0 : -1.0) / (std::abs(tau) + std::sqrt(1.0 + tau * tau));
        const double c = 1.0 / std::sqrt(1.0 + t * t), s = t * c;
        for (int k = 0; k < d; ++k) {
          const Complex x = a(k, p), y = a(k, q);
          a(k, p) = c * x - s * y;
          a(k, q) = s * x + c * y;
        }
        for (int k = 0; k < d; ++k) {
          const Complex x = a(p, k), y = a(q, k);
          a(p, k) = c * x - s * y;
          a(q, k) = s * x + c * y;
        }
        for (int k = 0; k < d; ++k) {
          const Complex x = v(k, p), y = v(k, q);
          v(k, p) = c * x - s * y;
          v(k, q) = s * x + c * y;
        }
        a(p, q) = a(q, p) = 0.0;
        a(p, p) = a(p, p).real();
        a(q, q) = a(q, q).real();
      }
    }
  }
  std::vector<int> order(static_cast<std::size_t>(d));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int i, int j) { return a(i, i).real() < a(j, j).real(); });
  HermitianEigen out{std::vector<double>(static_cast<std::size_t>(d)), Matrix(d, d)};
  for (int j = 0; j < d; ++j) {
    out.values[static_cast<std::size_t>(j)] = a(order[j], order[j]).real();
    for (int k = 0; k < d; ++k) out.vectors(k, j) = v(k, order[j]);
  }
  return out;
}

Matrix pauli_matrix(int index, int num_qubits) {
  static const Matrix kPaulis[4] = {
      Matrix::rows_of({{1, 0}, {0, 1}}), Matrix::rows_of({{0, 1}, {1, 0}}),
      Matrix::rows_of({{0, Complex(0, -1)}, {Complex(0, 1), 0}}), Matrix::rows_of({{1, 0}, {0, -1}})};
  if (num_qubits < 1 || index < 0 || index >= (1 << (2 * num_qubits))) {
    throw std::invalid_argument("Pauli index " + std::to_string(index) + " out of range for " +
                                std::to_string(num_qubits) + " qubit(s)");
  }
  Matrix m = Matrix::identity(1);
  for (int j = num_qubits - 1; j >= 0; --j) m = kron(m, kPaulis[(index >> (2 * j)) & 3]);
  return m;
}

}  // namespace kraus::noise
