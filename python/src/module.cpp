// The extension module kraus._kraus; the package kraus (python/kraus/__init__.py) re-exports it.
// C++ exceptions reach Python with their message: std::invalid_argument (kraus' input errors,
// NoiseModelError included) as ValueError, std::runtime_error (e.g. not enough memory) as
// RuntimeError, std::bad_alloc as MemoryError (pybind11's standard translations).
#include "arrays.hpp"

PYBIND11_MODULE(_kraus, m) {
  m.doc() = "kraus: noisy quantum circuits (C++17 engine), Python bindings. See docs/python.md.";
  m.attr("__version__") = KRAUS_VERSION_STRING;
  kraus::python::bind_channels(m);
  kraus::python::bind_states(m);
  kraus::python::bind_noise_model(m);
  kraus::python::bind_circuit(m);
  kraus::python::bind_run(m);
}
