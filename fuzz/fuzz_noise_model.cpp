// libFuzzer target: any byte string given to the noise-model readers (kraus' JSON format and Qiskit
// Aer's dict form) either gives a model or is refused with a NoiseModelError. Any other exception, a
// crash, a sanitizer report, a time-out or running out of the memory limit is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kraus/noise/noise_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const kraus::noise::NoiseModel model = kraus::noise::NoiseModel::from_json(text, "fuzz.json");
    // A model that was read must also write and read back.
    kraus::noise::NoiseModel::from_json(model.to_json(), "fuzz.json (written back)");
  } catch (const kraus::noise::NoiseModelError&) {
  }
  try {
    kraus::noise::NoiseModel::from_aer_json(text, "fuzz-aer.json");
  } catch (const kraus::noise::NoiseModelError&) {
  }
  return 0;
}
