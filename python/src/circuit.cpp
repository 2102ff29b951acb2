// kraus.Circuit (OpenQASM 2 through kraus' reader) and kraus.simulate: a circuit under a noise
// model on an exact density matrix (engine::simulate), with Pauli-sum expectations.
#include <memory>
#include <optional>
#include <sstream>

#include "arrays.hpp"
#include "kraus/engine/observables.hpp"
#include "kraus/engine/qasm2.hpp"
#include "kraus/engine/simulator.hpp"
#include "kraus/noise/noise_model.hpp"

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
      .def_property_readonly("num_operations", [](const Circuit& c) { return c.operations().size(); })
      .def("__repr__", [](const Circuit& c) {
        std::ostringstream s;
        s << "Circuit(num_qubits=" << c.num_qubits() << ", num_clbits=" << c.num_clbits()
          << ", num_operations=" << c.operations().size() << ")";
        return s.str();
      });

  m.def(
      "simulate",
      [](const Circuit& circuit, const noise::NoiseModel* noise_model, const py::object& observables,
         bool readout_in_expectations, const std::string& method) -> py::object {
        if (method != "density-matrix")
          fail("simulate", "method '" + method +
                               "' is not bound yet: only 'density-matrix' (the kraus command offers the others)");
        std::vector<engine::PauliSum> sums;
        if (!observables.is_none()) {
          if (py::isinstance<py::str>(observables)) fail("simulate", "observables must be a list of strings");
          for (const py::handle o : observables) {
            if (!py::isinstance<py::str>(o)) fail("simulate", "observables must be a list of strings");
            const auto sum = engine::PauliSum::parse(o.cast<std::string>());
            if (sum.min_qubits() > circuit.num_qubits())
              fail("simulate", "observable '" + o.cast<std::string>() + "' acts on qubits the circuit (" +
                                   std::to_string(circuit.num_qubits()) + " qubits) lacks");
            sums.push_back(sum);
          }
        }
        const int n = circuit.num_qubits();
        std::optional<noise::NoiseModel> model;
        if (noise_model) {
          model = *noise_model;
          engine::resolve_gate_names(*model);
          if (model->device_qubits() > 0) {
            if (model->device_qubits() < n)
              fail("simulate", "the model is for a device of " + std::to_string(model->device_qubits()) +
                                   " qubits but the circuit has " + std::to_string(n));
            std::vector<int> physical(static_cast<std::size_t>(n));
            for (int q = 0; q < n; ++q) physical[static_cast<std::size_t>(q)] = q;
            model = model->fitted(physical);
          }
          engine::validate_noise(circuit, *model);
        }
        auto rho = std::make_unique<engine::DensityMatrix>(n);
        std::vector<double> values;
        {
          py::gil_scoped_release release;
          engine::simulate(circuit, model ? &*model : nullptr, *rho);
          const noise::ReadoutModel readout = model ? model->readout_model(n) : noise::ReadoutModel{};
          for (const auto& sum : sums)
            values.push_back(readout_in_expectations && model ? engine::expectation_with_readout(*rho, sum, readout)
                                                              : engine::expectation(*rho, sum));
        }
        if (observables.is_none()) return py::cast(std::move(rho));
        py::array_t<double> out(static_cast<py::ssize_t>(values.size()));
        std::copy(values.begin(), values.end(), out.mutable_data());
        return std::move(out);
      },
      py::arg("circuit"), py::arg("noise") = nullptr, py::arg("observables") = py::none(),
      py::arg("readout_in_expectations") = false, py::arg("method") = "density-matrix",
      R"doc(
Runs `circuit` from |0...0> under the noise model `noise` (None: noiseless) on an exact density
matrix, placing the noise as `kraus simulate` does (the model's gate names resolved and checked
against the circuit; a device model fitted to qubits 0..n-1). With `observables` (a list of Pauli
sums such as "Z0 Z1" or "0.5*X0 - Z1") returns a numpy array of their exact expectations Tr(O rho)
(with the model's readout errors when readout_in_expectations=True); without, returns the final
DensityMatrix. Parametrised circuits and classical control are refused (ValueError). Only
method="density-matrix" is bound.)doc");
}

}  // namespace kraus::python
