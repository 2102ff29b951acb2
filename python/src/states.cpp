// In-place application to a caller's numpy buffer (raw-buffer kernels, no copy), and the
// DensityMatrix and StateVector wrappers whose .array is a zero-copy view of kraus' own buffer.
#include <cmath>
#include <sstream>

#include "arrays.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/gates.hpp"
#include "kraus/engine/state_vector.hpp"
#include "kraus/noise/channel.hpp"
#include "kraus/noise/kernels.hpp"
#include "kraus/noise/vector_kernels.hpp"

namespace kraus::python {

namespace {

using engine::DensityMatrix;
using engine::StateVector;
using noise::Channel;

// Applies `channel` on `qubits` (checked against the state) to the buffer, with the GIL released.
void apply_channel_to(const StateBuffer& state, const Channel& channel, const py::handle& qubits_arg,
                      const std::string& what) {
  const std::vector<int> qubits = qubit_list(qubits_arg, state.num_qubits, channel.num_qubits(), what);
  if (state.density_matrix) {
    py::gil_scoped_release release;
    noise::apply_channel(state.data, state.num_qubits, qubits.data(), channel);
    return;
  }
  if (channel.kraus().size() != 1)
    fail(what, "a state vector takes only channels with one Kraus operator (unitaries); this channel has " +
                   std::to_string(channel.kraus().size()) +
                   ": apply it to a density matrix, or sample it with apply_trajectory_step");
  const noise::VectorCall call =
      noise::vector_call(qubits.data(), channel.num_qubits(), channel.kraus().front().data());
  py::gil_scoped_release release;
  noise::apply(call, state.data, state.num_qubits);
}

// max-abs of U U^dagger - I.
double unitarity_error(const noise::Matrix& u) {
  return (u * u.adjoint() - noise::Matrix::identity(u.rows())).max_abs();
}

void apply_unitary_to(const StateBuffer& state, const noise::Matrix& u, const py::handle& qubits_arg,
                      double tolerance, const std::string& what) {
  const int max_k = state.density_matrix ? 3 : 4;
  int k = 0;
  while (k <= max_k && (1 << k) < u.rows()) ++k;
  if (u.rows() != u.cols() || k < 1 || k > max_k || (1 << k) != u.rows())
    fail(what, "a unitary on k = 1 to " + std::to_string(max_k) + " qubits is a 2^k x 2^k matrix, got " +
                   std::to_string(u.rows()) + " x " + std::to_string(u.cols()));
  const std::vector<int> qubits = qubit_list(qubits_arg, state.num_qubits, k, what);
  if (std::isnan(tolerance)) fail(what, "tolerance must be a number (negative skips the unitarity check)");
  if (tolerance >= 0.0) {
    const double error = unitarity_error(u);
    if (!(error <= tolerance))
      fail(what, "the matrix is not unitary: max |U U^dagger - I| = " + std::to_string(error) + " > tolerance " +
                     std::to_string(tolerance));
  }
  if (state.density_matrix) {
    py::gil_scoped_release release;
    noise::apply_unitary(state.data, state.num_qubits, qubits.data(), k, u.data(), -1.0);
    return;
  }
  const noise::VectorCall call = noise::vector_call(qubits.data(), k, u.data());
  py::gil_scoped_release release;
  noise::apply(call, state.data, state.num_qubits);
}

noise::Matrix gate_matrix_of(const std::string& name, const std::vector<double>& params, int* num_qubits) {
  const auto gate = engine::gate_from_name(name);
  if (!gate) fail("gate_matrix", "unknown gate '" + name + "' (kraus.gate_names() lists them)");
  const auto& info = engine::gate_info(*gate);
  if (static_cast<int>(params.size()) != info.num_params)
    fail("gate_matrix", "gate '" + name + "' takes " + std::to_string(info.num_params) + " parameter" +
                            (info.num_params == 1 ? "" : "s") + ", got " + std::to_string(params.size()));
  for (const double p : params)
    if (!std::isfinite(p)) fail("gate_matrix", "gate parameters must be finite");
  const arma::cx_mat g = engine::gate_matrix(*gate, params);
  noise::Matrix m(static_cast<int>(g.n_rows), static_cast<int>(g.n_cols));
  for (int r = 0; r < m.rows(); ++r)
    for (int c = 0; c < m.cols(); ++c) m(r, c) = g(r, c);
  if (num_qubits) *num_qubits = info.num_qubits;
  return m;
}

StateBuffer buffer_of(DensityMatrix& rho) { return {rho.data(), rho.num_qubits(), true}; }
StateBuffer buffer_of(StateVector& psi) { return {psi.data(), psi.num_qubits(), false}; }

py::array_t<double> to_array(const std::vector<double>& v) {
  py::array_t<double> out(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

// A writeable numpy view of `data`, kept alive by (and keeping alive) `owner`.
py::array view(const py::object& owner, Complex* data, std::vector<py::ssize_t> shape,
               std::vector<py::ssize_t> strides) {
  return py::array(py::dtype::of<Complex>(), std::move(shape), std::move(strides), data, owner);
}

constexpr const char* kApplyChannelDoc = R"doc(
Applies `channel` in place on `qubits` (its first listed qubit is the least significant bit of the
channel's matrices) to `state`, a numpy complex128 array that is either
  * a density matrix: 2-D, shape (2^n, 2^n), Fortran-ordered (column-major), rho[r, c] = element
    (r, c), qubit q = bit q of r (qubit 0 least significant). A C-ordered array is refused (it would
    be the transpose in kraus' layout); or
  * a state vector: 1-D, 2^n contiguous amplitudes; only channels with a single Kraus operator
    (unitaries) make sense there (others: ValueError; see apply_trajectory_step).
No copy is made: kraus' raw-buffer kernels write into the array's memory, with the GIL released.)doc";

}  // namespace

void bind_states(py::module_& m) {
  m.def(
      "apply_channel",
      [](const py::handle& state, const Channel& channel, const py::handle& qubits) {
        apply_channel_to(state_buffer(state, "apply_channel"), channel, qubits, "apply_channel");
      },
      py::arg("state"), py::arg("channel"), py::arg("qubits"), kApplyChannelDoc);
  m.def(
      "apply_unitary",
      [](const py::handle& state, const py::handle& matrix, const py::handle& qubits, double tolerance) {
        const StateBuffer buffer = state_buffer(state, "apply_unitary");
        apply_unitary_to(buffer, matrix_from_array(matrix, "apply_unitary"), qubits, tolerance, "apply_unitary");
      },
      py::arg("state"), py::arg("matrix"), py::arg("qubits"), py::arg("tolerance") = 1e-10,
      "Applies a 2^k x 2^k unitary in place (rho <- U rho U^dagger, or psi <- U psi), k = 1 to 3 on a "
      "density matrix and 1 to 4 on a state vector; same array rules as apply_channel. Unitarity is "
      "checked to `tolerance` (max |U U^dagger - I|; negative skips the check).");
  m.def(
      "apply_trajectory_step",
      [](const py::handle& state, const Channel& channel, const py::handle& qubits_arg, double uniform) {
        const StateBuffer buffer = state_buffer(state, "apply_trajectory_step");
        if (buffer.density_matrix) fail("apply_trajectory_step", "expected a state vector (1-D array)");
        if (!(uniform >= 0.0 && uniform < 1.0)) fail("apply_trajectory_step", "uniform must be in [0, 1)");
        const std::vector<int> qubits =
            qubit_list(qubits_arg, buffer.num_qubits, channel.num_qubits(), "apply_trajectory_step");
        py::gil_scoped_release release;
        return noise::apply_trajectory_step(buffer.data, buffer.num_qubits, qubits.data(), channel, uniform);
      },
      py::arg("state"), py::arg("channel"), py::arg("qubits"), py::arg("uniform"),
      "One quantum-trajectory step in place on a normalised state vector: with the caller's uniform draw u "
      "in [0, 1) picks Kraus branch i with probability ||K_i psi||^2 (the first i whose cumulative "
      "probability exceeds u), sets psi <- K_i psi / ||K_i psi|| and returns i.");
  m.def(
      "gate_matrix",
      [](const std::string& name, const std::vector<double>& params) {
        return array_from_matrix(gate_matrix_of(name, params, nullptr));
      },
      py::arg("name"), py::arg("params") = std::vector<double>{},
      "The matrix of a gate of kraus' gate table (OpenQASM 2 names, Qiskit's qelib1.inc matrices, global "
      "phases included; the first qubit is the least significant bit).");
  m.def(
      "gate_names",
      [] {
        py::list out;
        for (const auto& info : engine::gate_table()) out.append(std::string(info.name));
        return out;
      },
      "The names of kraus' gate table.");

  py::class_<DensityMatrix>(m, "DensityMatrix", R"doc(
kraus' exact density matrix of n qubits (kraus/engine/density_matrix.hpp). `.array` is a writeable
zero-copy numpy view of its buffer: shape (2^n, 2^n), Fortran-ordered, array[r, c] = element (r, c),
qubit q = bit q of r. The view keeps the DensityMatrix alive.)doc")
      .def(py::init<int>(), py::arg("num_qubits"), "|0...0><0...0| on num_qubits qubits (1 to 30).")
      .def_static(
          "from_array",
          [](const py::handle& rho, double tolerance) {
            const noise::Matrix mat = matrix_from_array(rho, "DensityMatrix.from_array");
            arma::cx_mat a(static_cast<arma::uword>(mat.rows()), static_cast<arma::uword>(mat.cols()));
            for (int r = 0; r < mat.rows(); ++r)
              for (int c = 0; c < mat.cols(); ++c) a(r, c) = mat(r, c);
            return DensityMatrix::from_matrix(a, tolerance);
          },
          py::arg("rho"), py::arg("tolerance") = 1e-10,
          "A copy of a 2^n x 2^n matrix (any numpy layout: rho[r, c] is element (r, c)), checked Hermitian, "
          "trace 1 and positive semidefinite to `tolerance`.")
      .def_static(
          "from_state_vector",
          [](const py::array_t<Complex, py::array::forcecast>& psi, double tolerance) {
            if (psi.ndim() != 1) fail("DensityMatrix.from_state_vector", "expected a 1-D array");
            arma::cx_vec v(static_cast<arma::uword>(psi.shape(0)));
            const auto in = psi.unchecked<1>();
            for (py::ssize_t i = 0; i < psi.shape(0); ++i) v(static_cast<arma::uword>(i)) = in(i);
            return DensityMatrix::from_state_vector(v, tolerance);
          },
          py::arg("psi"), py::arg("tolerance") = 1e-10, "|psi><psi| from a normalised state vector.")
      .def_property_readonly("num_qubits", &DensityMatrix::num_qubits)
      .def_property_readonly("dim", &DensityMatrix::dim)
      .def_property_readonly(
          "array",
          [](py::object self) {
            auto& rho = self.cast<DensityMatrix&>();
            const auto d = static_cast<py::ssize_t>(rho.dim());
            const auto item = static_cast<py::ssize_t>(sizeof(Complex));
            return view(self, rho.data(), {d, d}, {item, item * d});
          },
          "A writeable zero-copy numpy view of the buffer (Fortran-ordered (2^n, 2^n) complex128).")
      .def(
          "__array__",
          [](py::object self, const py::object& dtype, const py::object& copy) {
            py::object a = self.attr("array");
            if (!copy.is_none() && copy.cast<bool>()) a = a.attr("copy")(py::arg("order") = "F");
            if (!dtype.is_none()) a = a.attr("astype")(dtype, py::arg("copy") = false);
            return a;
          },
          py::arg("dtype") = py::none(), py::arg("copy") = py::none())
      .def(
          "apply_channel",
          [](DensityMatrix& rho, const Channel& channel, const py::handle& qubits) {
            apply_channel_to(buffer_of(rho), channel, qubits, "DensityMatrix.apply_channel");
          },
          py::arg("channel"), py::arg("qubits"), "rho <- E(rho) on `qubits`, in place.")
      .def(
          "apply_unitary",
          [](DensityMatrix& rho, const py::handle& matrix, const py::handle& qubits, double tolerance) {
            apply_unitary_to(buffer_of(rho), matrix_from_array(matrix, "DensityMatrix.apply_unitary"), qubits,
                             tolerance, "DensityMatrix.apply_unitary");
          },
          py::arg("matrix"), py::arg("qubits"), py::arg("tolerance") = 1e-10, "rho <- U rho U^dagger, in place.")
      .def(
          "apply_gate",
          [](DensityMatrix& rho, const std::string& name, const py::handle& qubits, const std::vector<double>& params) {
            int k = 0;
            const noise::Matrix u = gate_matrix_of(name, params, &k);
            apply_unitary_to(buffer_of(rho), u, qubits, -1.0, "DensityMatrix.apply_gate");
          },
          py::arg("name"), py::arg("qubits"), py::arg("params") = std::vector<double>{},
          "Applies a gate of kraus' gate table by name (e.g. 'h', 'cx', 'rx' with params=[theta]).")
      .def("reset_to_zero_state", &DensityMatrix::reset_to_zero_state)
      .def("trace", &DensityMatrix::trace, "Real part of Tr(rho).")
      .def("purity", &DensityMatrix::purity, "Tr(rho^2).")
      .def("probabilities", [](const DensityMatrix& rho) { return to_array(rho.probabilities()); },
           "The diagonal: entry i is the probability of basis state i (bit q = qubit q).")
      .def(
          "marginal_probabilities",
          [](const DensityMatrix& rho, const py::handle& qubits) {
            return to_array(rho.marginal_probabilities(
                qubit_list(qubits, rho.num_qubits(), -1, "DensityMatrix.marginal_probabilities")));
          },
          py::arg("qubits"), "Probabilities of the chosen qubits: entry j has bit k = value of qubits[k].")
      .def(
          "reduced",
          [](const DensityMatrix& rho, const py::handle& qubits) {
            return rho.reduced(qubit_list(qubits, rho.num_qubits(), -1, "DensityMatrix.reduced"));
          },
          py::arg("qubits"), "Partial trace keeping `qubits`; qubits[k] becomes qubit k of the result.")
      .def("__repr__", [](const DensityMatrix& rho) {
        std::ostringstream s;
        s << "DensityMatrix(num_qubits=" << rho.num_qubits() << ", trace=" << rho.trace()
          << ", purity=" << rho.purity() << ")";
        return s.str();
      });

  py::class_<StateVector>(m, "StateVector", R"doc(
kraus' state vector of n qubits (kraus/engine/state_vector.hpp). `.array` is a writeable zero-copy
numpy view of its 2^n amplitudes (qubit q = bit q of the index). The view keeps the StateVector alive.)doc")
      .def(py::init<int>(), py::arg("num_qubits"), "|0...0> on num_qubits qubits (1 to 40).")
      .def_property_readonly("num_qubits", &StateVector::num_qubits)
      .def_property_readonly("dim", &StateVector::dim)
      .def_property_readonly(
          "array",
          [](py::object self) {
            auto& psi = self.cast<StateVector&>();
            return view(self, psi.data(), {static_cast<py::ssize_t>(psi.dim())},
                        {static_cast<py::ssize_t>(sizeof(Complex))});
          },
          "A writeable zero-copy numpy view of the amplitudes (1-D complex128).")
      .def(
          "__array__",
          [](py::object self, const py::object& dtype, const py::object& copy) {
            py::object a = self.attr("array");
            if (!copy.is_none() && copy.cast<bool>()) a = a.attr("copy")();
            if (!dtype.is_none()) a = a.attr("astype")(dtype, py::arg("copy") = false);
            return a;
          },
          py::arg("dtype") = py::none(), py::arg("copy") = py::none())
      .def(
          "apply_channel",
          [](StateVector& psi, const Channel& channel, const py::handle& qubits) {
            apply_channel_to(buffer_of(psi), channel, qubits, "StateVector.apply_channel");
          },
          py::arg("channel"), py::arg("qubits"), "psi <- K psi for a channel with one Kraus operator, in place.")
      .def(
          "apply_unitary",
          [](StateVector& psi, const py::handle& matrix, const py::handle& qubits, double tolerance) {
            apply_unitary_to(buffer_of(psi), matrix_from_array(matrix, "StateVector.apply_unitary"), qubits,
                             tolerance, "StateVector.apply_unitary");
          },
          py::arg("matrix"), py::arg("qubits"), py::arg("tolerance") = 1e-10, "psi <- U psi, in place.")
      .def(
          "apply_gate",
          [](StateVector& psi, const std::string& name, const py::handle& qubits, const std::vector<double>& params) {
            int k = 0;
            const noise::Matrix u = gate_matrix_of(name, params, &k);
            apply_unitary_to(buffer_of(psi), u, qubits, -1.0, "StateVector.apply_gate");
          },
          py::arg("name"), py::arg("qubits"), py::arg("params") = std::vector<double>{},
          "Applies a gate of kraus' gate table by name.")
      .def("reset_to_zero_state", &StateVector::reset_to_zero_state)
      .def("squared_norm", &StateVector::squared_norm)
      .def("probabilities", [](const StateVector& psi) { return to_array(psi.probabilities()); })
      .def("__repr__", [](const StateVector& psi) {
        std::ostringstream s;
        s << "StateVector(num_qubits=" << psi.num_qubits() << ", squared_norm=" << psi.squared_norm() << ")";
        return s.str();
      });
}

}  // namespace kraus::python
