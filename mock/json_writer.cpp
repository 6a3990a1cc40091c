#include "mock/json_writer.hpp"

#include <cstdint>
#include <cstring>

#include "mock/utf8.hpp"

namespace hydrate::mock {
namespace {

// Appends `value` compactly; false when some part needs nlohmann's own dump.
bool append_value(std::string& out, const Json& value) {
  switch (value.type()) {
    case Json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, member] : value.items()) {
        if (!first) out += ',';
        first = false;
        if (!append_json_string(out, key)) return false;
        out += ':';
        if (!append_value(out, member)) return false;
      }
      out += '}';
      return true;
    }
    case Json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& item : value) {
        if (!first) out += ',';
        first = false;
        if (!append_value(out, item)) return false;
      }
      out += ']';
      return true;
    }
    case Json::value_t::string:
      return append_json_string(out, value.get_ref<const std::string&>());
    case Json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return true;
    case Json::value_t::null:
      out += "null";
      return true;
    case Json::value_t::number_integer:
      out += std::to_string(value.get<std::int64_t>());
      return true;
    case Json::value_t::number_unsigned:
      out += std::to_string(value.get<std::uint64_t>());
      return true;
    case Json::value_t::number_float:
      out += value.dump();  // nlohmann's shortest round-trip form, which no printf matches
      return true;
    default:
      return false;  // binary, discarded
  }
}

}  // namespace

std::size_t skip_plain_json(std::string_view text, std::size_t i) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
  // Whether any byte of x is below n (n <= 0x80), and whether any is zero: the classic
  // word-at-a-time tests, exact in what they say of the word as a whole.
  const auto any_below = [](std::uint64_t x, std::uint64_t n) {
    return (x - kOnes * n) & ~x & kHighs;
  };
  const auto any_zero = [&](std::uint64_t x) { return any_below(x, 1); };
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, text.data() + i, sizeof(word));
    if ((word & kHighs) | any_below(word, 0x20) | any_zero(word ^ (kOnes * '"')) |
        any_zero(word ^ (kOnes * '\\'))) {
      break;
    }
  }
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80 || c < 0x20 || c == '"' || c == '\\') break;
    ++i;
  }
  return i;
}

bool append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::size_t size = out.size();
  out.reserve(size + text.size() + text.size() / 8 + 2);  // room for an escape every 8 bytes
  out += '"';
  std::size_t run = 0;  // start of the bytes not yet copied
  for (std::size_t i = skip_plain_json(text, 0); i < text.size(); i = skip_plain_json(text, i)) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t length = utf8_sequence_length(text, i);
      if (length == 0) {
        out.resize(size);
        return false;
      }
      i += length;
      continue;
    }
    out.append(text.data() + run, i - run);
    const char escaped = c == '"'    ? '"'
                         : c == '\\' ? '\\'
                         : c == '\b' ? 'b'
                         : c == '\f' ? 'f'
                         : c == '\n' ? 'n'
                         : c == '\r' ? 'r'
                         : c == '\t' ? 't'
                                     : 'u';
    const char pair[2] = {'\\', escaped};
    out.append(pair, 2);
    if (escaped == 'u') {
      const char hex[4] = {'0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out.append(hex, 4);
    }
    run = ++i;
  }
  out.append(text.data() + run, text.size() - run);
  out += '"';
  return true;
}

std::string dump_json(const Json& value, Json::error_handler_t handler) {
  std::string out;
  if (append_value(out, value)) return out;
  return value.dump(-1, ' ', false, handler);
}

}  // namespace hydrate::mock
