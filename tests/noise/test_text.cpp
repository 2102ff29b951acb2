// noise::printable, the one way kraus quotes input text in messages: control bytes, DEL and
// broken UTF-8 as \xNN, valid UTF-8 kept, cut at a byte limit on a character boundary.
#include <string>

#include "reference/test_support.hpp"

#include "kraus/noise/text.hpp"

using kraus::noise::printable;

TEST_CASE("printable escapes control bytes and DEL, keeps printable ASCII and valid UTF-8", "[noise][text]") {
  CHECK(printable("plain text, ünïcode ∑ 𝄞") == "plain text, ünïcode ∑ 𝄞");
  CHECK(printable(std::string("a\0b", 3)) == "a\\x00b");
  CHECK(printable("\x1b[31mred\t\r\n\x7f") == "\\x1b[31mred\\x09\\x0d\\x0a\\x7f");
}

TEST_CASE("printable escapes every byte of broken UTF-8", "[noise][text]") {
  CHECK(printable("\xff") == "\\xff");
  CHECK(printable("a\xc3") == "a\\xc3");              // a lead byte without its continuation
  CHECK(printable("\x80z") == "\\x80z");              // a lone continuation byte
  CHECK(printable("\xc0\xaf") == "\\xc0\\xaf");       // overlong '/'
  CHECK(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a UTF-16 surrogate
  CHECK(printable("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  // Every single byte alone: printable ASCII or an escape, never a raw control or high byte.
  for (int b = 0; b < 256; ++b) {
    const std::string shown = printable(std::string(1, static_cast<char>(b)));
    for (const char c : shown) {
      const auto u = static_cast<unsigned char>(c);
      CHECK((u >= 0x20 && u < 0x7f));
    }
  }
}

TEST_CASE("printable cuts at the byte limit, before a character that does not fit", "[noise][text]") {
  CHECK(printable("abcdef", 4) == "abcd...");
  CHECK(printable("abcd", 4) == "abcd");
  CHECK(printable("abü", 3) == "ab...");  // ü takes two bytes
  CHECK(printable("", 0).empty());
  CHECK(printable(std::string(1000, 'x'), 64) == std::string(64, 'x') + "...");
}
