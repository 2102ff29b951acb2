// noise::printable, the one way kraus quotes input text in messages: control bytes, DEL and
// broken UTF-8 as \xNN, valid UTF-8 kept, cut at a byte limit on a character boundary; line_col and
// the bounded file reader the JSON readers share.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "reference/test_support.hpp"

#include "kraus/noise/text.hpp"

using kraus::noise::printable;
using kraus::noise::line_col;
using kraus::noise::read_text_file;
using kraus::noise::TextFileError;

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

TEST_CASE("line_col counts LF, CR and CRLF as one line end each", "[noise][text]") {
  CHECK(line_col("abc", 0) == "1:1");
  CHECK(line_col("abc", 2) == "1:3");
  CHECK(line_col("a\nb\r\nc\rd", 2) == "2:1");   // 'b'
  CHECK(line_col("a\nb\r\nc\rd", 5) == "3:1");   // 'c': CRLF is one line end
  CHECK(line_col("a\nb\r\nc\rd", 7) == "4:1");   // 'd'
  CHECK(line_col("ab", 100) == "1:3");              // past the end: the end
}

TEST_CASE("read_text_file reads whole files up to a byte limit and names the file", "[noise][text]") {
  const std::string path = "/tmp/kraus_test_text_" + std::to_string(::getpid()) + ".txt";
  std::ofstream(path, std::ios::binary) << std::string(3000, 'x');
  CHECK(read_text_file(path, 3000, "test file") == std::string(3000, 'x'));
  try {
    read_text_file(path, 2999, "test file");
    FAIL("no error");
  } catch (const TextFileError& e) {
    CHECK(std::string(e.what()) == path + ": the test file is larger than 0 MiB");
  }
  std::remove(path.c_str());
  CHECK_THROWS_WITH(read_text_file(path, 100, "test file"), path + ": cannot open the test file");
  // /dev/zero never ends: reading stops at the limit.
  CHECK_THROWS_WITH(read_text_file("/dev/zero", std::size_t{1} << 20, "noise model file"),
                    "/dev/zero: the noise model file is larger than 1 MiB");
  CHECK_THROWS_WITH(read_text_file("/", 100, "test file"), "/: cannot read the test file");
}
