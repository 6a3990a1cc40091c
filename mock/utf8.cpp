#include "mock/utf8.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "mock/ascii.hpp"

namespace hydrate::mock {
namespace {

bool is_unicode_punctuation(char32_t cp) {
  return (cp >= 0x80 && cp <= 0xBF) || cp == 0xD7 || cp == 0xF7 ||        // Latin-1 signs, « » ¿
         cp == 0x060C || cp == 0x061B || cp == 0x061F || cp == 0x06D4 ||  // Arabic
         cp == 0x0964 || cp == 0x0965 ||                                  // Devanagari danda
         (cp >= 0x2000 && cp <= 0x206F) || (cp >= 0x2E00 && cp <= 0x2E7F) ||  // “ ” — …
         (cp >= 0x3000 && cp <= 0x303F) ||                                    // CJK 、。「」
         (cp >= 0xFF01 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20);    // fullwidth
}

}  // namespace

std::size_t word_char_at(std::string_view text, std::size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  if (lead < 0x80) {
    return ascii::is_alnum(lead) ? 1 : 0;
  }
  const std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
  if (length == 0 || i + length > text.size()) {
    return 0;
  }
  char32_t cp = lead & (0xFFu >> (length + 1));
  for (std::size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xC0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (next & 0x3Fu);
  }
  return is_unicode_punctuation(cp) ? 0 : length;
}

std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) {
    return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0u;
  };
  const auto tail = [&](std::size_t k) { return (byte(k) & 0xC0u) == 0x80u; };
  const unsigned lead = byte(0);
  if (lead >= 0xC2 && lead <= 0xDF) return tail(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    const unsigned second = byte(1);
    const bool ok = lead == 0xE0   ? second >= 0xA0 && second <= 0xBF
                    : lead == 0xED ? second >= 0x80 && second <= 0x9F
                                   : tail(1);
    return ok && tail(2) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    const unsigned second = byte(1);
    const bool ok = lead == 0xF0   ? second >= 0x90 && second <= 0xBF
                    : lead == 0xF4 ? second >= 0x80 && second <= 0x8F
                                   : tail(1);
    return ok && tail(2) && tail(3) ? 4 : 0;
  }
  return 0;
}

std::size_t count_chars(std::string_view utf8) {
  // Eight bytes at a time: a continuation byte is 10xxxxxx (its top bit set, the next one clear).
  std::size_t continuation = 0, i = 0;
  for (; i + 8 <= utf8.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, utf8.data() + i, sizeof(word));
    // One bit per byte, moved to the byte's bottom; the multiply sums the eight bytes into the top.
    const std::uint64_t marks = (word & ~(word << 1) & 0x8080808080808080ULL) >> 7;
    continuation += static_cast<std::size_t>((marks * 0x0101010101010101ULL) >> 56);
  }
  for (; i < utf8.size(); ++i) {
    continuation += (static_cast<unsigned char>(utf8[i]) & 0xC0) == 0x80 ? 1 : 0;
  }
  return utf8.size() - continuation;
}

std::string take_chars(std::string_view utf8, std::size_t chars) {
  std::size_t seen = 0;
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    if ((static_cast<unsigned char>(utf8[i]) & 0xC0) != 0x80) {
      if (seen == chars) {
        return std::string(utf8.substr(0, i));
      }
      ++seen;
    }
  }
  return std::string(utf8);
}

}  // namespace hydrate::mock
