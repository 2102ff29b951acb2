// Input text as kraus' readers take it and their error messages show it. Every reader and program
// of kraus quotes file contents, JSON keys and command-line arguments through printable, so that no
// control byte or broken UTF-8 reaches a terminal raw and a message stays on one line.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kraus::noise {

// How much of a file's text the readers (OpenQASM, noise models) quote in one message.
inline constexpr std::size_t kMaxQuotedBytes = 64;

// `text` with control bytes (below 0x20), DEL and every byte that is not part of a valid UTF-8
// sequence written as \xNN (two lower-case hex digits); valid UTF-8 is kept. At most `max_bytes`
// bytes of `text` are shown (cut before a UTF-8 sequence that does not fit), followed by "..."
// when something was left out. printable("a\tb\xff") == "a\\x09b\\xff".
std::string printable(std::string_view text, std::size_t max_bytes = std::string_view::npos);

// How messages print a number: printf's "%.6g" (0.1, 1e-07, 1234.57).
std::string short_number(double v);

// 1-based "line:col" of byte `offset` of `text`; "\n", "\r" and "\r\n" each end one line.
std::string line_col(std::string_view text, std::size_t offset);

// A file that cannot be read whole: "PATH: cannot open the WHAT", "PATH: the WHAT is larger than
// N MiB", "PATH: cannot read the WHAT". Readers rethrow the message as their own error type.
struct TextFileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The bytes of the file at `path`, at most `max_bytes`: reading stops there, so that /dev/zero is
// refused too. `what` names the file in messages ("noise model file", "Hamiltonian file").
std::string read_text_file(const std::string& path, std::size_t max_bytes, const std::string& what);

}  // namespace kraus::noise
