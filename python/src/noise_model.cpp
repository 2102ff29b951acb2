// kraus.NoiseModel: kraus' noise-model JSON (docs/noise-model.md) and Qiskit Aer's
// NoiseModel.to_dict() form, read and written through the C++ readers (which validate every
// channel); Python dicts go through the json module as text.
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "kraus/noise/ibm_backend.hpp"
#include "kraus/noise/noise_model.hpp"

namespace kraus::python {

namespace {

using noise::NoiseModel;

std::string dumps(const py::handle& d) {
  return py::module_::import("json").attr("dumps")(d, py::arg("allow_nan") = false).cast<std::string>();
}
py::object loads(const std::string& text) { return py::module_::import("json").attr("loads")(text); }

// A device file given as a path (read by the C++ reader) or a dict (as JSON text): its text and name.
std::pair<std::string, std::string> device_document(const py::handle& source, const std::string& what) {
  if (py::isinstance<py::dict>(source)) {
    try {
      return {dumps(source), "<" + what + " dict>"};
    } catch (const py::error_already_set& e) {
      fail("NoiseModel.from_device", what + ": the dict is not JSON: " + py::str(e.value()).cast<std::string>());
    }
  }
  if (py::isinstance<py::str>(source) || py::hasattr(source, "__fspath__"))
    return {std::string(), py::module_::import("os").attr("fspath")(source).cast<std::string>()};
  fail("NoiseModel.from_device", what + ": expected a path (str or os.PathLike) or a dict");
}

}  // namespace

void bind_noise_model(py::module_& m) {
  py::class_<NoiseModel>(m, "NoiseModel", R"doc(
A kraus noise model (kraus/noise/noise_model.hpp, docs/noise-model.md): channels after gates, idle
noise, readout errors. Every channel is validated when the model is read; a bad model raises
ValueError with the C++ message (the JSON path of the first problem).)doc")
      .def(py::init<>(), "An empty model (no noise).")
      .def_static(
          "from_json",
          [](const py::handle& source) {
            if (py::isinstance<py::dict>(source)) {
              std::string text;
              try {
                text = dumps(source);
              } catch (const py::error_already_set& e) {
                fail("NoiseModel.from_json", "the dict is not JSON: " + py::str(e.value()).cast<std::string>());
              }
              return NoiseModel::from_json(text, "<dict>");
            }
            if (py::isinstance<py::str>(source) || py::hasattr(source, "__fspath__")) {
              const std::string path = py::module_::import("os").attr("fspath")(source).cast<std::string>();
              return NoiseModel::from_json_file(path);
            }
            fail("NoiseModel.from_json", "expected a path (str or os.PathLike) or a dict");
          },
          py::arg("path_or_dict"),
          "Reads a model from a JSON file (a path) or from a dict of the same content. A Qiskit Aer "
          "NoiseModel.to_dict() document is recognised and read as from_aer_dict reads it.")
      .def_static(
          "from_device",
          [](const py::handle& properties, const py::handle& configuration) {
            auto [props_text, props_name] = device_document(properties, "properties");
            auto [conf_text, conf_name] = device_document(configuration, "configuration");
            const bool files = props_text.empty() && conf_text.empty();
            // A path beside a dict: its text read here (the C++ reader reads two files or two texts).
            const auto read = [](const std::string& path) {
              return py::module_::import("pathlib").attr("Path")(path).attr("read_text")().cast<std::string>();
            };
            if (!files && props_text.empty()) props_text = read(props_name);
            if (!files && conf_text.empty()) conf_text = read(conf_name);
            std::vector<std::string> warnings;
            NoiseModel model;
            {
              py::gil_scoped_release release;
              model = files ? noise::from_ibm_backend_files(props_name, conf_name, &warnings)
                            : noise::from_ibm_backend(props_text, conf_text, props_name, conf_name, &warnings);
            }
            const py::object warn = py::module_::import("warnings").attr("warn");
            for (const std::string& w : warnings) warn(w, py::module_::import("builtins").attr("UserWarning"), 2);
            return model;
          },
          py::arg("properties"), py::arg("configuration"),
          "The noise model of an IBM device from its BackendProperties (props_*.json) and "
          "BackendConfiguration (conf_*.json) documents, each a path or a dict: the model Qiskit Aer's "
          "NoiseModel.from_backend builds at temperature 0, with the device block (name, qubits, basis "
          "gates, coupling map), as `kraus noise convert --from ibm` reads them (docs/devices.md). "
          "Clipped values (T2 > 2 T1, gate errors above the maximum) are UserWarnings.")
      .def_static(
          "from_json_string",
          [](const std::string& text, const std::string& source) { return NoiseModel::from_json(text, source); },
          py::arg("text"), py::arg("source") = "<noise model>",
          "Reads a model from JSON text; `source` names it in error messages.")
      .def(
          "to_json", [](const NoiseModel& model) { return loads(model.to_json()); },
          "The model's JSON as a dict (NoiseModel.from_json(model.to_json()) gives the same model).")
      .def("to_json_string", &NoiseModel::to_json, "The model's JSON text.")
      .def_static(
          "from_aer_dict",
          [](const py::dict& d) {
            std::string text;
            try {
              text = dumps(d);
            } catch (const py::error_already_set& e) {
              fail("NoiseModel.from_aer_dict", "the dict is not JSON: " + py::str(e.value()).cast<std::string>());
            }
            return NoiseModel::from_aer_json(text, "<aer dict>");
          },
          py::arg("d"),
          "Reads Qiskit Aer's NoiseModel.to_dict() (JSON-serialisable form: complex numbers as [re, im] "
          "pairs): 'qerror' (pauli, kraus, unitary, reset, Pauli/identity gates) and 'roerror'.")
      .def(
          "to_aer_dict", [](const NoiseModel& model, int num_qubits) { return loads(model.to_aer_json(num_qubits)); },
          py::arg("num_qubits"),
          "Qiskit Aer's NoiseModel.to_dict() form for a register of num_qubits qubits; '*' rules and idle "
          "noise have no Aer form (ValueError).")
      .def("scaled", &NoiseModel::scaled, py::arg("s"),
           "Every error strength multiplied by s >= 0 (readout is not scaled); see ChannelSpec::scaled.")
      .def(
          "channels_after",
          [](const NoiseModel& model, const std::string& gate, const std::vector<int>& qubits) {
            py::list out;
            for (const auto& placed : model.channels_after(gate, qubits))
              out.append(py::make_tuple(std::make_shared<noise::Channel>(*placed.channel), placed.qubits));
            return out;
          },
          py::arg("gate"), py::arg("qubits"),
          "The channels to apply after gate `gate` on `qubits`, in order: a list of (Channel, qubits) "
          "pairs, each ready for apply_channel.")
      .def_property_readonly("num_gate_rules", [](const NoiseModel& model) { return model.gate_noise.size(); })
      .def_property_readonly("has_idle_noise", [](const NoiseModel& model) { return model.idle_noise.has_value(); })
      .def_property_readonly("device_qubits", &NoiseModel::device_qubits)
      .def("__repr__", [](const NoiseModel& model) {
        std::ostringstream s;
        s << "NoiseModel(gate_rules=" << model.gate_noise.size()
          << ", idle_noise=" << (model.idle_noise ? "True" : "False") << ", readout=" << model.readout.size();
        if (model.device) s << ", device='" << model.device->name << "' (" << model.device->num_qubits << " qubits)";
        s << ")";
        return s.str();
      });
}

}  // namespace kraus::python
