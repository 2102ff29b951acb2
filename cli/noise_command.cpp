// `kraus noise convert`: noise models between kraus' format, Qiskit Aer's NoiseModel.to_dict() and
// IBM device files (BackendProperties + BackendConfiguration JSON).
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "kraus/noise/ibm_backend.hpp"
#include "kraus/noise/noise_model.hpp"
#include "kraus/noise/text.hpp"

namespace kraus::cli {

const char* const kNoiseUsage =
    "usage: kraus noise convert IN [--from kraus|aer|ibm] [--conf CONF.json] [--to kraus|aer] [--num-qubits N]\n"
    "\n"
    "Reads a noise model and prints it as JSON on stdout (docs/devices.md):\n"
    "  --from kraus|aer  IN is a kraus model or an Aer NoiseModel.to_dict() file (default; the two are\n"
    "                    told apart by their content, as kraus simulate --noise does)\n"
    "  --from ibm        IN is an IBM BackendProperties file (props_*.json) and --conf names its\n"
    "                    BackendConfiguration (conf_*.json): the model Qiskit Aer's\n"
    "                    NoiseModel.from_backend builds at temperature 0, with the device's basis gates\n"
    "                    and coupling map\n"
    "  --to kraus        kraus' format (default)\n"
    "  --to aer          Aer's NoiseModel.to_dict() format (rules on named gates and readout only);\n"
    "                    --num-qubits N sets the register (default: the model's device size)\n"
    "Warnings (such as a T2 clipped to 2 T1) go to stderr.\n";

int run_noise(int argc, char** argv) {
  using kraus::noise::printable;
  if (argc >= 1 && (std::string(argv[0]) == "--help" || std::string(argv[0]) == "-h")) {
    write_out(kNoiseUsage);
    finish_output();
    return 0;
  }
  if (argc < 1 || std::string(argv[0]) != "convert") {
    throw UsageError(argc < 1 ? std::string("kraus noise: missing subcommand (convert; see kraus noise --help)")
                              : "kraus noise: unknown subcommand '" + printable(argv[0]) + "' (see kraus noise --help)");
  }
  std::optional<std::string> in, conf;
  std::string from = "kraus", to = "kraus";
  std::optional<int> num_qubits;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      write_out(kNoiseUsage);
      finish_output();
      return 0;
    }
    if (arg == "--from") {
      from = option_value(argc, argv, i, "noise");
      if (from != "kraus" && from != "aer" && from != "ibm") {
        throw UsageError("--from: '" + printable(from) + "' is not kraus, aer or ibm");
      }
    } else if (arg == "--to") {
      to = option_value(argc, argv, i, "noise");
      if (to != "kraus" && to != "aer") throw UsageError("--to: '" + printable(to) + "' is not kraus or aer");
    } else if (arg == "--conf") {
      conf = option_value(argc, argv, i, "noise");
    } else if (arg == "--num-qubits") {
      num_qubits = static_cast<int>(parse_integer(arg, option_value(argc, argv, i, "noise"), 1, 63));
    } else if (arg.rfind("--", 0) == 0) {
      throw UsageError("unknown option '" + printable(arg) + "' (see kraus noise --help)");
    } else if (!in) {
      in = arg;
    } else {
      throw UsageError("unexpected argument '" + printable(arg) + "': one input file only");
    }
  }
  if (!in) throw UsageError("kraus noise convert: missing the input file (see kraus noise --help)");
  if (from == "ibm" && !conf) throw UsageError("--from ibm needs --conf CONF.json (the device's configuration)");
  if (from != "ibm" && conf) throw UsageError("--conf is for --from ibm only");

  g_stage = "reading the noise model";
  std::vector<std::string> warnings;
  const kraus::noise::NoiseModel model = from == "ibm" ? kraus::noise::from_ibm_backend_files(*in, *conf, &warnings)
                                                       : kraus::noise::NoiseModel::from_json_file(*in);
  std::string text;
  if (to == "kraus") {
    text = model.to_json();
  } else {
    const int n = num_qubits ? *num_qubits : model.device_qubits();
    if (n <= 0) throw UsageError("--to aer needs --num-qubits N: the model names no device size");
    text = model.to_aer_json(n);
  }
  for (const std::string& w : warnings) warn(w);
  write_out(text + "\n");
  finish_output();
  return 0;
}

}  // namespace kraus::cli
