// A small dense complex matrix (row-major), enough for channels on a few qubits. kraus::noise has
// no third-party dependency, so it carries its own.
#pragma once

#include <complex>
#include <initializer_list>
#include <vector>

namespace kraus::noise {

using Complex = std::complex<double>;

class Matrix {
 public:
  Matrix() = default;
  Matrix(int rows, int cols);  // zeros
  // Matrix::rows_of({{a, b}, {c, d}}); every row must have the same length.
  static Matrix rows_of(std::initializer_list<std::initializer_list<Complex>> rows);
  static Matrix identity(int dim);

  int rows() const { return rows_; }
  int cols() const { return cols_; }
  Complex& operator()(int r, int c) { return data_[static_cast<std::size_t>(r) * cols_ + c]; }
  const Complex& operator()(int r, int c) const { return data_[static_cast<std::size_t>(r) * cols_ + c]; }
  Complex* data() { return data_.data(); }
  const Complex* data() const { return data_.data(); }

  Matrix adjoint() const;
  Matrix conj() const;
  Complex trace() const;
  double max_abs() const;  // largest |entry|

  Matrix& operator+=(const Matrix& other);
  friend Matrix operator+(Matrix a, const Matrix& b) { return a += b; }
  friend Matrix operator-(const Matrix& a, const Matrix& b);
  friend Matrix operator*(const Matrix& a, const Matrix& b);
  friend Matrix operator*(Complex s, Matrix a);

 private:
  int rows_ = 0, cols_ = 0;
  std::vector<Complex> data_;
};

// a (x) b, with a's index the more significant part: (a (x) b)(i d_b + k, j d_b + l) = a(i, j) b(k, l).
Matrix kron(const Matrix& a, const Matrix& b);

// Eigen-decomposition of a Hermitian matrix by cyclic complex Jacobi rotations (accurate to about
// 1e-15 relative; meant for matrices up to 64 x 64). Eigenvalues ascending; column j of `vectors`
// is the eigenvector of values[j].
struct HermitianEigen {
  std::vector<double> values;
  Matrix vectors;
};
HermitianEigen eigh(const Matrix& hermitian);

// The 4^k Pauli strings on k qubits: index i has base-4 digit j (0 = I, 1 = X, 2 = Y, 3 = Z) acting
// on the j-th qubit, which is the least significant bit of the 2^k x 2^k matrix.
Matrix pauli_matrix(int index, int num_qubits);

}  // namespace kraus::noise
