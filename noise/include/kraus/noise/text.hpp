// Input text as kraus' error messages show it. Every reader and program of kraus quotes file
// contents, JSON keys and command-line arguments through this one function, so that no control
// byte or broken UTF-8 reaches a terminal raw and a message stays on one line.
#pragma once

#include <cstddef>
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

}  // namespace kraus::noise
