// kraus.Circuit (OpenQASM 2 through kraus' reader); kraus.simulate, gradient and zne are in run.cpp.
#include <memory>
#include <sstream>

#include "arrays.hpp"
#include "kraus/engine/qasm2.hpp"

namespace kraus::python {

namespace {

using engine::Circuit;

}  // namespace

void bind_circuit(py::module_& m) {
  // QasmError is a std::runtime_error in C++; in Python a bad program is bad input: ValueError.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const engine::QasmError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  py::class_<Circuit>(m, "Circuit", R"doc(
A circuit read by kraus' OpenQASM 2 reader (Qiskit's extended qelib1.inc; kraus/engine/qasm2.hpp).
Only building from OpenQASM is bound so far.)doc")
      .def_static(
          "from_qasm",
          [](const py::handle& text_or_path) {
            if (py::isinstance<py::str>(text_or_path)) {
              const std::string s = text_or_path.cast<std::string>();
              if (s.find("OPENQASM") != std::string::npos) {
                py::gil_scoped_release release;
                return engine::parse_qasm2(s, "<string>");
              }
            }
            if (py::isinstance<py::str>(text_or_path) || py::hasattr(text_or_path, "__fspath__")) {
              const std::string path = py::module_::import("os").attr("fspath")(text_or_path).cast<std::string>();
              py::gil_scoped_release release;
              return engine::read_qasm2_file(path);
            }
            fail("Circuit.from_qasm", "expected OpenQASM 2 text (containing 'OPENQASM') or a path");
          },
          py::arg("text_or_path"),
          "Reads OpenQASM 2: a str containing 'OPENQASM' is the program's text, any other str or "
          "os.PathLike a file path. Errors (ValueError) name the file, line and column.")
      .def_property_readonly("num_qubits", &Circuit::num_qubits)
      .def_property_readonly("num_clbits", &Circuit::num_clbits)
      .def_property_readonly("num_parameters", &Circuit::num_parameters)
      .def_property_readonly("parameter_names", &Circuit::parameter_names,
                             "The names of the circuit's `input float[64]` parameters, in declaration order.")
      .def_property_readonly("num_operations", [](const Circuit& c) { return c.operations().size(); })
      .def("__repr__", [](const Circuit& c) {
        std::ostringstream s;
        s << "Circuit(num_qubits=" << c.num_qubits() << ", num_clbits=" << c.num_clbits()
          << ", num_operations=" << c.operations().size() << ")";
        return s.str();
      });

}

}  // namespace kraus::python
