// The checks on text from outside (core/text_guard.hpp): JSON nesting depth, UTF-8 validity,
// control characters, newline normalisation.
#include <doctest/doctest.h>

#include <string>

#include "core/text_guard.hpp"

using hydrate::first_control_character;
using hydrate::is_valid_utf8;
using hydrate::json_nesting_depth;
using hydrate::normalize_newlines;

TEST_CASE("text guard: JSON nesting depth, strings not counted, bounded by the limit") {
  CHECK(json_nesting_depth("", 10) == 0);
  CHECK(json_nesting_depth("42", 10) == 0);
  CHECK(json_nesting_depth(R"({"a": [1, {"b": []}]})", 10) == 4);
  CHECK(json_nesting_depth(R"({"a": "[[[[[[\"[[[["})", 3) == 1);
  CHECK(json_nesting_depth(R"(["\\", [[]]])", 10) == 3);  // an escaped backslash ends no string
  CHECK(json_nesting_depth("[[[]]] [[]]", 10) == 3);
  // Past the limit the scan stops: limit + 1, however deep the rest goes.
  const std::string deep(1 << 20, '[');
  CHECK(json_nesting_depth(deep, 32) == 33);
}

TEST_CASE("text guard: UTF-8 validity follows RFC 3629") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ASCII\n"));
  CHECK(is_valid_utf8("h\xC3\xA9llo \xE0\xA4\xB9\xE0\xA4\xBF \xF0\x9F\x98\x80"));  // é, हि, 😀
  CHECK(is_valid_utf8("\xEF\xBF\xBD"));                                            // U+FFFD
  CHECK(is_valid_utf8("\xF4\x8F\xBF\xBF"));                                        // U+10FFFF
  CHECK(is_valid_utf8(std::string("a\0b", 3)));  // NUL is UTF-8; control checks catch it
  for (const std::string bad : {
           "\x80",              // stray continuation byte
           "\xFF", "\xFE",      // never valid
           "\xC0\xAF",          // overlong '/'
           "\xC1\xBF",          // overlong
           "\xE0\x80\xAF",      // overlong
           "\xF0\x80\x80\xAF",  // overlong
           "\xED\xA0\x80",      // U+D800, a surrogate
           "\xED\xBF\xBF",      // U+DFFF
           "\xF4\x90\x80\x80",  // past U+10FFFF
           "\xF5\x80\x80\x80",  // past U+10FFFF
           "\xC3",              // cut short
           "\xE2\x82",          // cut short
           "\xE2\x28\xA1",      // bad continuation
       }) {
    CAPTURE(bad);
    CHECK_FALSE(is_valid_utf8(bad));
    CHECK_FALSE(is_valid_utf8("ok " + bad + " ok"));
  }
}

TEST_CASE("text guard: invalid UTF-8 is replaced byte by byte, valid text kept") {
  using hydrate::replace_invalid_utf8;
  CHECK(replace_invalid_utf8("h\xC3\xA9llo") == "h\xC3\xA9llo");
  CHECK(replace_invalid_utf8("a\xFF"
                             "b") ==
        "a\xEF\xBF\xBD"
        "b");
  CHECK(replace_invalid_utf8("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(replace_invalid_utf8("cut \xE2\x82") == "cut \xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(is_valid_utf8(replace_invalid_utf8("\xED\xA0\x80\xF4\x90\x80\x80 ok")));
}

TEST_CASE("text guard: C0, DEL and C1 control characters are found unless allowed") {
  CHECK_FALSE(first_control_character("plain text, é and 😀", ""));
  CHECK(first_control_character(std::string("a\0b", 3), "") == U'\0');
  CHECK(first_control_character("a\x1b[2Jb", "") == U'\x1b');
  CHECK(first_control_character("a\x7f", "") == U'\x7f');
  CHECK(first_control_character("a\xC2\x9B"
                                "31m",
                                "") == U'\x9b');               // C1 CSI
  CHECK(first_control_character("a\xC2\x85", "") == U'\x85');  // C1 NEL
  CHECK_FALSE(
      first_control_character("a\xC2\xA0"
                              "b",
                              ""));  // U+00A0 is no control
  CHECK(first_control_character("line\nnext", "") == U'\n');
  CHECK_FALSE(first_control_character("line\nnext\tcell", "\n\t"));
  CHECK(first_control_character("line\r\n", "\n\t") == U'\r');
}

TEST_CASE("text guard: CRLF and lone CR become LF") {
  CHECK(normalize_newlines("a\r\nb\rc\nd") == "a\nb\nc\nd");
  CHECK(normalize_newlines("\r\r\n") == "\n\n");
  CHECK(normalize_newlines("none") == "none");
}
