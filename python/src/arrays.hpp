// Conversions between numpy arrays and kraus' types, and the checks every function that touches a
// caller's buffer makes first (dtype, layout, size, qubits), so that bad input is a ValueError and
// never a read or write outside the buffer.
#pragma once

#include <complex>
#include <cstdint>
#include <string>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "kraus/noise/matrix.hpp"

namespace kraus::python {

namespace py = pybind11;
using Complex = std::complex<double>;

// A caller's state buffer, checked: complex128 in native byte order, writeable, aligned, contiguous
// in kraus' layout. A 1-D array of 2^n entries is a state vector; a 2-D (2^n, 2^n) array is a
// density matrix and must be Fortran-ordered (column-major: rho[r, c] at r + c * 2^n), since a
// C-ordered array holds the transpose in kraus' layout and is refused rather than silently
// transposed.
struct StateBuffer {
  Complex* data = nullptr;
  int num_qubits = 0;
  bool density_matrix = false;
};
// `what` names the calling function in messages ("apply_channel: ...").
StateBuffer state_buffer(const py::handle& array, const std::string& what);

// A small dense matrix (a gate, Kraus operator, superoperator, Choi matrix, PTM) from anything numpy
// turns into a 2-D complex array; copied, so any layout is fine. Entries must be finite.
noise::Matrix matrix_from_array(const py::handle& object, const std::string& what);
// A new C-ordered complex128 array with a[r, c] = m(r, c).
py::array_t<Complex> array_from_matrix(const noise::Matrix& m);

// Qubit indices from an int or a sequence of ints: `count` of them (when count >= 0), each in
// [0, num_qubits), distinct.
std::vector<int> qubit_list(const py::handle& qubits, int num_qubits, int count, const std::string& what);

// Throws py::value_error(what + ": " + message).
[[noreturn]] void fail(const std::string& what, const std::string& message);

void bind_channels(py::module_& m);
void bind_states(py::module_& m);
void bind_noise_model(py::module_& m);
void bind_circuit(py::module_& m);
void bind_run(py::module_& m);

}  // namespace kraus::python
