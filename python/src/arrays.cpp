#include "arrays.hpp"

#include <climits>
#include <cmath>
#include <set>

#include "kraus/noise/kernels.hpp"
#include "kraus/noise/vector_kernels.hpp"

namespace kraus::python {

void fail(const std::string& what, const std::string& message) { throw py::value_error(what + ": " + message); }

namespace {

// n with 2^n == d, or -1.
int log2_exact(py::ssize_t d) {
  if (d < 1) return -1;
  int n = 0;
  while ((py::ssize_t{1} << n) < d) ++n;
  return (py::ssize_t{1} << n) == d ? n : -1;
}

std::string type_name(const py::handle& object) {
  return py::str(py::type::handle_of(object).attr("__name__")).cast<std::string>();
}

}  // namespace

StateBuffer state_buffer(const py::handle& object, const std::string& what) {
  if (!py::isinstance<py::array>(object))
    fail(what, "expected a numpy array of complex128, got " + type_name(object) +
                   " (kraus works in place on the caller's buffer, so it converts nothing)");
  auto array = py::reinterpret_borrow<py::array>(object);
  const py::dtype dtype = array.dtype();
  if (dtype.kind() != 'c' || dtype.itemsize() != 16 || !dtype.attr("isnative").cast<bool>())
    fail(what, "expected dtype complex128 (native byte order), got " + py::str(static_cast<const py::handle&>(dtype)).cast<std::string>() +
                   "; convert with np.asarray(a, dtype=np.complex128, order=...) and keep the result");
  const py::object flags = array.attr("flags");
  if (!flags.attr("writeable").cast<bool>()) fail(what, "the array is read-only");
  if (!flags.attr("aligned").cast<bool>()) fail(what, "the array is not aligned to its dtype");
  StateBuffer buffer;
  if (array.ndim() == 1) {
    if (!flags.attr("c_contiguous").cast<bool>())
      fail(what, "a state vector must be contiguous (this one has stride " + std::to_string(array.strides(0)) +
                     " bytes); pass np.ascontiguousarray(psi) and keep the result");
    const py::ssize_t d = array.shape(0);
    const int n = log2_exact(d);
    if (n < 1 || n > noise::kMaxVectorQubits)
      fail(what, "a state vector needs 2^n entries, 1 <= n <= " + std::to_string(noise::kMaxVectorQubits) +
                     ", got length " + std::to_string(d));
    buffer.num_qubits = n;
  } else if (array.ndim() == 2) {
    const py::ssize_t rows = array.shape(0), cols = array.shape(1);
    const int n = log2_exact(rows);
    if (rows != cols || n < 1 || n > noise::kMaxQubits)
      fail(what, "a density matrix must have shape (2^n, 2^n), 1 <= n <= " + std::to_string(noise::kMaxQubits) +
                     ", got (" + std::to_string(rows) + ", " + std::to_string(cols) + ")");
    if (!flags.attr("f_contiguous").cast<bool>()) {
      if (flags.attr("c_contiguous").cast<bool>())
        fail(what, "a density matrix must be Fortran-ordered (column-major, kraus' layout: rho[r, c] at "
                   "r + c * 2^n); this one is C-ordered. Create it with order='F' or pass "
                   "np.asfortranarray(rho) and keep the result (kraus never transposes silently)");
      fail(what, "a density matrix must be a contiguous Fortran-ordered (column-major) array; this one is "
                 "not contiguous (a slice?): pass np.asfortranarray(rho) and keep the result");
    }
    buffer.num_qubits = n;
    buffer.density_matrix = true;
  } else {
    fail(what, "expected a state vector (1-D) or a density matrix (2-D), got a " + std::to_string(array.ndim()) +
                   "-D array");
  }
  buffer.data = static_cast<Complex*>(array.mutable_data());
  return buffer;
}

noise::Matrix matrix_from_array(const py::handle& object, const std::string& what) {
  using ComplexArray = py::array_t<Complex, py::array::c_style | py::array::forcecast>;
  ComplexArray array;
  try {
    array = ComplexArray::ensure(object);
  } catch (const py::error_already_set&) {
  }
  if (!array) {
    PyErr_Clear();
    fail(what, "expected a 2-D array of complex numbers, got " + type_name(object));
  }
  if (array.ndim() != 2) fail(what, "expected a 2-D matrix, got a " + std::to_string(array.ndim()) + "-D array");
  constexpr py::ssize_t kMaxDim = 4096;  // a 3-qubit channel's Choi matrix is 64 x 64
  const py::ssize_t rows = array.shape(0), cols = array.shape(1);
  if (rows < 1 || cols < 1 || rows > kMaxDim || cols > kMaxDim)
    fail(what, "matrix shape (" + std::to_string(rows) + ", " + std::to_string(cols) + ") is not supported");
  noise::Matrix m(static_cast<int>(rows), static_cast<int>(cols));
  const auto view = array.unchecked<2>();
  for (py::ssize_t r = 0; r < rows; ++r)
    for (py::ssize_t c = 0; c < cols; ++c) {
      const Complex v = view(r, c);
      if (!std::isfinite(v.real()) || !std::isfinite(v.imag()))
        fail(what, "entry (" + std::to_string(r) + ", " + std::to_string(c) + ") is not finite");
      m(static_cast<int>(r), static_cast<int>(c)) = v;
    }
  return m;
}

py::array_t<Complex> array_from_matrix(const noise::Matrix& m) {
  py::array_t<Complex> array({static_cast<py::ssize_t>(m.rows()), static_cast<py::ssize_t>(m.cols())});
  auto view = array.mutable_unchecked<2>();
  for (int r = 0; r < m.rows(); ++r)
    for (int c = 0; c < m.cols(); ++c) view(r, c) = m(r, c);
  return array;
}

namespace {

// An integer (int, numpy integer: anything with __index__ but bool); LLONG_MAX when it overflows.
long long to_index(const py::handle& item, const std::string& what) {
  if (py::isinstance<py::bool_>(item) || py::isinstance<py::float_>(item))
    fail(what, "qubits must be integers, got " + type_name(item));
  PyObject* index = PyNumber_Index(item.ptr());
  if (index == nullptr) {
    PyErr_Clear();
    fail(what, "qubits must be integers, got " + type_name(item));
  }
  int overflow = 0;
  const long long value = PyLong_AsLongLongAndOverflow(index, &overflow);
  Py_DECREF(index);
  return overflow != 0 ? LLONG_MAX : value;
}

}  // namespace

std::vector<int> qubit_list(const py::handle& qubits, int num_qubits, int count, const std::string& what) {
  std::vector<long long> raw;
  if (py::isinstance<py::sequence>(qubits) && !py::isinstance<py::str>(qubits) && !py::isinstance<py::bytes>(qubits)) {
    for (const py::handle item : qubits) raw.push_back(to_index(item, what));
  } else if (py::hasattr(qubits, "__index__")) {
    raw.push_back(to_index(qubits, what));
  } else {
    fail(what, "qubits must be an int or a sequence of ints, got " + type_name(qubits));
  }
  if (count >= 0 && static_cast<int>(raw.size()) != count)
    fail(what, "expected " + std::to_string(count) + " qubit" + (count == 1 ? "" : "s") + ", got " +
                   std::to_string(raw.size()));
  std::vector<int> out;
  std::set<long long> seen;
  for (const long long q : raw) {
    if (q < 0 || q >= num_qubits)
      fail(what, "qubit " + std::to_string(q) + " is out of range for " + std::to_string(num_qubits) + " qubit" +
                     (num_qubits == 1 ? "" : "s"));
    if (!seen.insert(q).second) fail(what, "qubit " + std::to_string(q) + " is listed twice");
    out.push_back(static_cast<int>(q));
  }
  return out;
}

}  // namespace kraus::python
