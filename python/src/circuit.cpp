// kraus.Circuit (OpenQASM 2 through kraus' reader); kraus.simulate, gradient and zne are in run.cpp.
#include <memory>
#include <sstream>

#include "arrays.hpp"
#include "kraus/engine/circuit.hpp"
#include "kraus/engine/gates.hpp"
#include "kraus/engine/qasm2.hpp"

namespace kraus::python {

namespace {

using engine::Circuit;

engine::Gate gate_named(const std::string& name, const std::string& what) {
  const auto gate = engine::gate_from_name(name);
  if (!gate) fail(what, "unknown gate '" + name + "' (kraus.gate_names() lists them)");
  return *gate;
}

// The index of parameter `name`, declared (appended to the names) when new.
int parameter_index(Circuit& c, const std::string& name) {
  std::vector<std::string> names = c.parameter_names();
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<int>(i);
  if (static_cast<int>(names.size()) != c.num_parameters())
    fail("Circuit.rotation", "the circuit has unnamed parameters");
  names.push_back(name);
  c.set_parameter_names(names);
  return static_cast<int>(names.size()) - 1;
}

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
A circuit: read by kraus' OpenQASM 2 reader (Qiskit's extended qelib1.inc; kraus/engine/qasm2.hpp)
with Circuit.from_qasm, or built gate by gate: Circuit(num_qubits, num_clbits=0) then .gate(name,
qubits, params=[]), .rotation(name, qubits, parameter, coeff=1, offset=0) (an angle
offset + coeff * parameter, parameters declared by name in order of first use), .measure(qubit,
clbit), .reset(qubit), .barrier(qubits); each returns the circuit, so calls chain, and the
shortcuts h, x, y, z, s, sdg, t, tdg, sx, cx, cz, swap, rx, ry, rz, rzz (rotations take a number or
a parameter name) call them. Qubit 0 is the least significant bit.)doc")
      .def(py::init<int, int>(), py::arg("num_qubits"), py::arg("num_clbits") = 0)
      .def(
          "gate",
          [](Circuit& c, const std::string& name, const std::vector<int>& qubits, const std::vector<double>& params)
              -> Circuit& {
            c.add_gate(gate_named(name, "Circuit.gate"), qubits, params);
            return c;
          },
          py::arg("name"), py::arg("qubits"), py::arg("params") = std::vector<double>{},
          py::return_value_policy::reference_internal, "Appends gate `name` (kraus.gate_names()) on `qubits`.")
      .def(
          "rotation",
          [](Circuit& c, const std::string& name, const std::vector<int>& qubits, const std::string& parameter,
             double coeff, double offset) -> Circuit& {
            const engine::Gate gate = gate_named(name, "Circuit.rotation");
            if (!engine::is_pauli_rotation(gate))
              fail("Circuit.rotation", "'" + name + "' is not a Pauli rotation (rx, ry, rz, rxx, ryy, rzz, ...)");
            if (parameter.empty()) fail("Circuit.rotation", "the parameter needs a name");
            // Checked before the parameter is declared, so that a refused rotation leaves no trace.
            Circuit probe(c.num_qubits());
            probe.add_rotation(gate, qubits, engine::Angle::parameter(0, coeff, offset));
            c.add_rotation(gate, qubits, engine::Angle::parameter(parameter_index(c, parameter), coeff, offset));
            return c;
          },
          py::arg("name"), py::arg("qubits"), py::arg("parameter"), py::arg("coeff") = 1.0, py::arg("offset") = 0.0,
          py::return_value_policy::reference_internal,
          "Appends the Pauli rotation `name` on `qubits` by the angle offset + coeff * parameter.")
      .def(
          "measure",
          [](Circuit& c, int qubit, int clbit) -> Circuit& {
            c.add_measure(qubit, clbit);
            return c;
          },
          py::arg("qubit"), py::arg("clbit"), py::return_value_policy::reference_internal)
      .def(
          "reset",
          [](Circuit& c, int qubit) -> Circuit& {
            c.add_reset(qubit);
            return c;
          },
          py::arg("qubit"), py::return_value_policy::reference_internal)
      .def(
          "barrier",
          [](Circuit& c, const std::vector<int>& qubits) -> Circuit& {
            c.add_barrier(qubits);
            return c;
          },
          py::arg("qubits"), py::return_value_policy::reference_internal)
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
