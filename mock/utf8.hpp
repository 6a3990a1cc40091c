#pragma once
// UTF-8 text by characters rather than bytes: token counts, cuts and words of any script must
// never split a character (a cut in the middle of one would make the JSON body invalid).
#include <cstddef>
#include <string>
#include <string_view>

namespace hydrate::mock {

// Unicode code points in UTF-8 text (bytes that are not continuation bytes).
std::size_t count_chars(std::string_view utf8);
// The first `chars` code points of UTF-8 text (all of it when shorter).
std::string take_chars(std::string_view utf8, std::size_t chars);
// The length in bytes of the letter or digit (of any script) starting at text[i]; 0 for anything
// else: space, ASCII or Unicode punctuation, broken UTF-8.
std::size_t word_char_at(std::string_view text, std::size_t i);
// The length of the well-formed UTF-8 sequence starting at text[i] (a lead byte of 0x80 or
// more), or 0 when it is not one: no overlong forms, no surrogates, nothing past U+10FFFF, as
// nlohmann::json's parser and dump accept.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i);

}  // namespace hydrate::mock
