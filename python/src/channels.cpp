// kraus.Channel and the standard channels of kraus' channel table (channel_table.hpp).
#include <map>
#include <memory>
#include <sstream>

#include "arrays.hpp"
#include "kraus/noise/channel.hpp"
#include "kraus/noise/channel_table.hpp"
#include "kraus/noise/kernel_call.hpp"

namespace kraus::python {

namespace {

using noise::Channel;

std::string kernel_name(noise::KernelKind kind) {
  switch (kind) {
    case noise::KernelKind::kUnitary: return "unitary";
    case noise::KernelKind::kSuperoperator: return "superoperator";
    case noise::KernelKind::kDepolarizing: return "depolarizing";
    case noise::KernelKind::kRealBlock1q: return "real_block_1q";
    case noise::KernelKind::kRealGroups2q: return "real_groups_2q";
  }
  return "?";
}

std::shared_ptr<Channel> shared(Channel c) { return std::make_shared<Channel>(std::move(c)); }

std::vector<noise::Matrix> operator_list(const py::handle& operators) {
  if (py::isinstance<py::array>(operators) && py::reinterpret_borrow<py::array>(operators).ndim() == 2)
    return {matrix_from_array(operators, "Channel.from_kraus")};
  if (!py::isinstance<py::sequence>(operators) || py::isinstance<py::str>(operators))
    fail("Channel.from_kraus", "expected a list of Kraus matrices");
  std::vector<noise::Matrix> out;
  std::size_t i = 0;
  for (const py::handle op : operators)
    out.push_back(matrix_from_array(op, "Channel.from_kraus: operator " + std::to_string(i++)));
  if (out.empty()) fail("Channel.from_kraus", "no Kraus operators given");
  return out;
}

}  // namespace

void bind_channels(py::module_& m) {
  py::class_<Channel, std::shared_ptr<Channel>> channel(m, "Channel", R"doc(
A quantum channel on k = 1 to 3 qubits, as data: Kraus operators, superoperator, Choi matrix and
Pauli transfer matrix (kraus/noise/channel.hpp). Matrices are 2-D numpy arrays indexed [row, col];
bit j of a k-qubit matrix index belongs to the j-th qubit the channel is applied to (the first listed
qubit is the least significant bit). Superoperators act on the column-stacked block,
S = sum_i conj(K_i) (x) K_i; Choi = sum_ij |i><j| (x) E(|i><j|) (Qiskit's); PTM R[i, j] =
2^-k Tr[P_i E(P_j)], Pauli index with base-4 digit j (0 I, 1 X, 2 Y, 3 Z) on the j-th qubit.
Every constructor checks the shape and that the map is CPTP (ValueError otherwise).)doc");
  channel
      .def_static(
          "from_kraus",
          [](const py::handle& operators, double tolerance) {
            return shared(Channel::from_kraus(operator_list(operators), tolerance));
          },
          py::arg("operators"), py::arg("tolerance") = noise::kDefaultCptpTolerance,
          "The channel rho -> sum_i K_i rho K_i^dagger from a list of 2^k x 2^k Kraus matrices "
          "(sum_i K_i^dagger K_i = I to `tolerance`).")
      .def_static(
          "from_unitary",
          [](const py::handle& u, double tolerance) {
            return shared(Channel::from_unitary(matrix_from_array(u, "Channel.from_unitary"), tolerance));
          },
          py::arg("unitary"), py::arg("tolerance") = noise::kDefaultCptpTolerance, "rho -> U rho U^dagger.")
      .def_static(
          "from_superoperator",
          [](const py::handle& s, double tolerance) {
            return shared(Channel::from_superoperator(matrix_from_array(s, "Channel.from_superoperator"), tolerance));
          },
          py::arg("superoperator"), py::arg("tolerance") = noise::kDefaultCptpTolerance,
          "From the 4^k x 4^k column-stacking superoperator (checked CPTP).")
      .def_static(
          "from_choi",
          [](const py::handle& c, double tolerance) {
            return shared(Channel::from_choi(matrix_from_array(c, "Channel.from_choi"), tolerance));
          },
          py::arg("choi"), py::arg("tolerance") = noise::kDefaultCptpTolerance,
          "From the 4^k x 4^k Choi matrix (checked CPTP).")
      .def_static(
          "from_ptm",
          [](const py::handle& r, double tolerance) {
            return shared(Channel::from_ptm(matrix_from_array(r, "Channel.from_ptm"), tolerance));
          },
          py::arg("ptm"), py::arg("tolerance") = noise::kDefaultCptpTolerance,
          "From the 4^k x 4^k Pauli transfer matrix (checked CPTP).")
      .def_property_readonly("num_qubits", &Channel::num_qubits, "Number of qubits k the channel acts on.")
      .def(
          "kraus",
          [](const Channel& c) {
            py::list out;
            for (const auto& k : c.kraus()) out.append(array_from_matrix(k));
            return out;
          },
          "The Kraus operators, a list of 2^k x 2^k arrays (new copies).")
      .def("superoperator", [](const Channel& c) { return array_from_matrix(c.superoperator()); },
           "The 4^k x 4^k column-stacking superoperator (a new array).")
      .def("choi", [](const Channel& c) { return array_from_matrix(c.choi()); }, "The 4^k x 4^k Choi matrix.")
      .def("ptm", [](const Channel& c) { return array_from_matrix(c.ptm()); },
           "The 4^k x 4^k Pauli transfer matrix (real for a Hermiticity-preserving map; returned complex).")
      .def("then", [](const Channel& c, const Channel& after) { return shared(c.then(after)); }, py::arg("after"),
           "This channel followed by `after` (same qubits).")
      .def("tensor", [](const Channel& c, const Channel& other) { return shared(c.tensor(other)); },
           py::arg("other"),
           "This channel on the first qubits and `other` on the next ones (other's qubits are the more "
           "significant bits).")
      .def_property_readonly(
          "kernel", [](const Channel& c) { return kernel_name(noise::detect_kernel(c)); },
          "The kernel kraus uses to apply it to a density matrix: 'unitary', 'depolarizing', "
          "'real_block_1q' or 'superoperator'.")
      .def("__repr__", [](const Channel& c) {
        std::ostringstream s;
        s << "Channel(num_qubits=" << c.num_qubits() << ", kraus_operators=" << c.kraus().size()
          << ", kernel='" << kernel_name(noise::detect_kernel(c)) << "')";
        return s.str();
      });

  m.def("depolarizing", [](double p, int num_qubits) { return shared(noise::depolarizing(num_qubits, p)); },
        py::arg("p"), py::arg("num_qubits") = 1,
        "rho -> (1 - p) rho + p / (4^k - 1) sum_{P != I} P rho P on k = num_qubits qubits: p is the total "
        "probability of a non-identity Pauli error, 0 <= p <= 1 (Qiskit's lambda: depolarizing_p_from_lambda).");
  m.def("depolarizing_p_from_lambda", &noise::depolarizing_p_from_lambda, py::arg("num_qubits"), py::arg("lam"),
        "kraus' p for Qiskit's lambda (rho -> (1 - lambda) rho + lambda I / 2^k): p = lambda (4^k - 1) / 4^k.");
  m.def("amplitude_damping", [](double gamma) { return shared(noise::amplitude_damping(gamma)); },
        py::arg("gamma"), "K0 = diag(1, sqrt(1 - gamma)), K1 = sqrt(gamma) |0><1|, 0 <= gamma <= 1.");
  m.def("generalized_amplitude_damping",
        [](double gamma, double excited_population) {
          return shared(noise::generalized_amplitude_damping(gamma, excited_population));
        },
        py::arg("gamma"), py::arg("excited_population"),
        "Qiskit Aer's generalized amplitude damping; fixed point diag(1 - e, e).");
  m.def("phase_damping", [](double lam) { return shared(noise::phase_damping(lam)); }, py::arg("lam"),
        "K0 = diag(1, sqrt(1 - lam)), K1 = diag(0, sqrt(lam)), 0 <= lam <= 1.");
  m.def("bit_flip", [](double p) { return shared(noise::bit_flip(p)); }, py::arg("p"), "sqrt(1 - p) I, sqrt(p) X.");
  m.def("phase_flip", [](double p) { return shared(noise::phase_flip(p)); }, py::arg("p"), "sqrt(1 - p) I, sqrt(p) Z.");
  m.def("bit_phase_flip", [](double p) { return shared(noise::bit_phase_flip(p)); }, py::arg("p"),
        "sqrt(1 - p) I, sqrt(p) Y.");
  m.def("pauli_channel",
        [](const std::map<std::string, double>& probabilities) {
          return shared(noise::pauli_channel(probabilities));
        },
        py::arg("probabilities"),
        "A Pauli channel from {'X': px, ...} or {'XZ': p, ...} (character j acts on the j-th qubit); "
        "probabilities >= 0 summing to at most 1, the identity takes the rest.");
  m.def("thermal_relaxation",
        [](double t1, double t2, double time, double excited_population) {
          return shared(noise::thermal_relaxation(t1, t2, time, excited_population));
        },
        py::arg("t1"), py::arg("t2"), py::arg("time"), py::arg("excited_population") = 0.0,
        "Relaxation for `time` (t1 > 0, 0 < t2 <= 2 t1, any one time unit) towards diag(1 - e, e); "
        "coherences shrink by exp(-time / t2).");
  m.def("reset_channel", [](double p0, double p1) { return shared(noise::reset_channel(p0, p1)); }, py::arg("p0"),
        py::arg("p1"), "rho -> (1 - p0 - p1) rho + p0 Tr(rho) |0><0| + p1 Tr(rho) |1><1|.");
  m.def("coherent_overrotation",
        [](const std::string& axis, double angle) {
          if (axis != "x" && axis != "y" && axis != "z")
            fail("coherent_overrotation", "axis must be 'x', 'y' or 'z', got '" + axis + "'");
          return shared(noise::coherent_overrotation(axis[0], angle));
        },
        py::arg("axis"), py::arg("angle"), "The unitary exp(-i angle P / 2), P = X, Y or Z.");
  m.def(
      "channel_types",
      [] {
        py::list out;
        for (const auto& type : noise::channel_types()) {
          py::list params;
          for (const auto& p : type.params)
            params.append(py::dict(py::arg("name") = std::string(p.name), py::arg("min") = p.min,
                                   py::arg("max") = p.max, py::arg("required") = p.required,
                                   py::arg("default") = p.default_value, py::arg("doc") = std::string(p.doc)));
          out.append(py::dict(py::arg("name") = std::string(type.name), py::arg("num_qubits") = type.num_qubits,
                              py::arg("params") = params, py::arg("formula") = std::string(type.formula),
                              py::arg("kraus") = std::string(type.kraus),
                              py::arg("kernel") = kernel_name(type.kernel)));
        }
        return out;
      },
      "kraus' channel table (the noise-model JSON types): one dict per type with its name, num_qubits "
      "(0: set by the gate or the data), parameters and ranges, formula and Kraus operators.");
}

}  // namespace kraus::python
