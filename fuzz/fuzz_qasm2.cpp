// libFuzzer target: any byte string given to the OpenQASM 2 reader either parses or is refused with
// a QasmError. Any other exception, a crash, a sanitizer report, a time-out or running out of the
// memory limit is a finding (scripts/fuzz.sh sets the limits).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kraus/engine/qasm2.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    kraus::engine::parse_qasm2(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.qasm");
  } catch (const kraus::engine::QasmError&) {
  }
  return 0;
}
