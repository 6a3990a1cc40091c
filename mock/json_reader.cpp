#include "mock/json_reader.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "mock/json_writer.hpp"
#include "mock/utf8.hpp"

namespace hydrate::mock {
namespace {

constexpr bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// The value of a hex digit, or -1.
constexpr int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Recursive descent over the text; every method returns false where nlohmann must decide.
class Reader {
 public:
  explicit Reader(std::string_view text, ValueStandIn* stand_in = nullptr)
      : at_(text.data()), end_(text.data() + text.size()), stand_in_(stand_in) {
    if (stand_in_ != nullptr) path_ = stand_in_->path();
  }

  bool document(Json& out) {
    skip_space();
    if (!value(out, 0)) return false;
    skip_space();
    return at_ == end_;
  }

 private:
  // JSON's white space: nlohmann skips exactly these four.
  void skip_space() {
    while (at_ != end_ && (*at_ == ' ' || *at_ == '\n' || *at_ == '\r' || *at_ == '\t')) ++at_;
  }

  bool take(char c) {
    if (at_ == end_ || *at_ != c) return false;
    ++at_;
    return true;
  }

  bool value(Json& out, int depth) {
    if (at_ == end_) return false;
    switch (*at_) {
      case '{':
        return object(out, depth);
      case '[':
        return array(out, depth);
      case '"':
        out = Json::value_t::string;
        return string(out.get_ref<std::string&>());
      case 't':
        out = true;
        return literal("true");
      case 'f':
        out = false;
        return literal("false");
      case 'n':
        out = nullptr;
        return literal("null");
      default:
        return number(out);
    }
  }

  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - at_) < word.size() ||
        std::memcmp(at_, word.data(), word.size()) != 0) {
      return false;
    }
    at_ += word.size();
    return true;
  }

  bool object(Json& out, int depth) {
    if (depth >= kMaxReadDepth) return false;
    ++at_;
    // The members gather in a vector of this depth's, reused from object to object, and move into
    // the object once counted: ordered_map's keys are const, so a growing ordered_map copies
    // every member, each with its whole subtree, where this vector moves them.
    if (members_.size() <= static_cast<std::size_t>(depth)) members_.resize(depth + 1);
    auto& members = members_[depth];
    members.clear();
    skip_space();
    if (!take('}')) {
      while (true) {
        if (at_ == end_ || *at_ != '"') return false;
        std::string key;
        if (!string(key)) return false;
        skip_space();
        if (!take(':')) return false;
        skip_space();
        const auto step = static_cast<std::size_t>(depth);
        const bool on_path = depth == path_depth_ && step < path_.size() && key == path_[step];
        // As nlohmann's DOM parser: a repeated key keeps its place and takes the later value.
        Json* slot = nullptr;
        for (auto& member : members) {
          if (member.first == key) slot = &member.second;
        }
        if (slot == nullptr) slot = &members.emplace_back(std::move(key), nullptr).second;
        if (!on_path) {
          if (!value(*slot, depth + 1)) return false;
        } else if (step + 1 < path_.size()) {
          ++path_depth_;  // the value, if an object, is the next step's
          const bool read = value(*slot, depth + 1);
          --path_depth_;
          if (!read) return false;
        } else if (!stand_in_value(*slot, depth + 1)) {
          return false;
        }
        skip_space();
        if (take('}')) break;
        if (!take(',')) return false;
        skip_space();
      }
    }
    out = Json::value_t::object;
    auto& object = out.get_ref<Json::object_t&>();
    object.reserve(members.size());
    for (auto& [key, member] : members) object.emplace_back(std::move(key), std::move(member));
    return true;
  }

  bool array(Json& out, int depth) {
    if (depth >= kMaxReadDepth) return false;
    ++at_;
    out = Json::value_t::array;
    auto& items = out.get_ref<Json::array_t&>();
    skip_space();
    if (take(']')) return true;
    while (true) {
      if (!value(items.emplace_back(), depth + 1)) return false;
      skip_space();
      if (take(']')) return true;
      if (!take(',')) return false;
      skip_space();
    }
  }

  // The member stand_in_ names: an object is recognised by its text, or read and handed over.
  bool stand_in_value(Json& out, int depth) {
    if (at_ == end_ || *at_ != '{') return value(out, depth);
    const char* start = at_;
    const std::size_t length = balanced_length();
    if (length > 0 && stand_in_->recognise(std::string_view(start, length))) {
      at_ += length;
    } else {
      if (!value(out, depth)) return false;
      stand_in_->keep(std::string_view(start, static_cast<std::size_t>(at_ - start)),
                      std::move(out));
    }
    out = Json(Json::value_t::discarded);
    return true;
  }

  // The length of the object or array at at_ up to its closing bracket, skipping strings; 0 when
  // it never closes. Only the brackets are looked at: whether it is JSON is not.
  std::size_t balanced_length() const {
    const std::string_view rest(at_, static_cast<std::size_t>(end_ - at_));
    int nesting = 0;
    for (std::size_t i = 0; i < rest.size(); ++i) {
      const char c = rest[i];
      if (c == '"') {
        for (++i;; ++i) {
          if (i < rest.size()) i = skip_plain_json(rest, i);
          if (i >= rest.size()) return 0;
          if (rest[i] == '"') break;
          if (rest[i] == '\\') ++i;  // and the byte it escapes
        }
      } else if (c == '{' || c == '[') {
        ++nesting;
      } else if ((c == '}' || c == ']') && --nesting == 0) {
        return i + 1;
      }
    }
    return 0;
  }

  // A string from its opening quote; appends its text to `out`.
  bool string(std::string& out) {
    ++at_;
    const char* run = at_;  // the bytes not yet copied
    while (true) {
      at_ += skip_plain_json(std::string_view(at_, static_cast<std::size_t>(end_ - at_)), 0);
      if (at_ == end_) return false;
      const auto c = static_cast<unsigned char>(*at_);
      if (c == '"') {
        out.append(run, at_);
        ++at_;
        return true;
      }
      if (c == '\\') {
        out.append(run, at_);
        if (!escape(out)) return false;
        run = at_;
      } else if (c < 0x80) {
        return false;  // a control character, which must be escaped
      } else {
        const std::size_t length =
            utf8_sequence_length(std::string_view(at_, static_cast<std::size_t>(end_ - at_)), 0);
        if (length == 0) return false;
        at_ += length;
      }
    }
  }

  bool escape(std::string& out) {
    ++at_;
    if (at_ == end_) return false;
    const char c = *at_++;
    switch (c) {
      case '"':
      case '\\':
      case '/':
        out += c;
        return true;
      case 'b':
        out += '\b';
        return true;
      case 'f':
        out += '\f';
        return true;
      case 'n':
        out += '\n';
        return true;
      case 'r':
        out += '\r';
        return true;
      case 't':
        out += '\t';
        return true;
      case 'u':
        return unicode_escape(out);
      default:
        return false;
    }
  }

  // Four hex digits after "\u"; -1 when they are not.
  long hex4() {
    if (end_ - at_ < 4) return -1;
    long value = 0;
    for (int i = 0; i < 4; ++i) {
      const int digit = hex_value(*at_++);
      if (digit < 0) return -1;
      value = value * 16 + digit;
    }
    return value;
  }

  // "\uXXXX", or a surrogate pair of two; a lone surrogate is not JSON nlohmann accepts.
  bool unicode_escape(std::string& out) {
    const long first = hex4();
    if (first < 0 || (first >= 0xDC00 && first <= 0xDFFF)) return false;
    char32_t cp = static_cast<char32_t>(first);
    if (first >= 0xD800 && first <= 0xDBFF) {
      if (!take('\\') || !take('u')) return false;
      const long second = hex4();
      if (second < 0xDC00 || second > 0xDFFF) return false;
      cp = 0x10000 + ((static_cast<char32_t>(first) - 0xD800) << 10) +
           (static_cast<char32_t>(second) - 0xDC00);
    }
    append_utf8(out, cp);
    return true;
  }

  bool digits() {
    const char* start = at_;
    while (at_ != end_ && is_digit(*at_)) ++at_;
    return at_ != start;
  }

  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, typed as nlohmann types it.
  bool number(Json& out) {
    const char* start = at_;
    const bool negative = take('-');
    if (at_ == end_ || !is_digit(*at_)) return false;
    if (!take('0')) digits();
    const char* integer_end = at_;
    bool integer = true;
    if (take('.')) {
      integer = false;
      if (!digits()) return false;
    }
    if (at_ != end_ && (*at_ == 'e' || *at_ == 'E')) {
      integer = false;
      ++at_;
      if (!take('+')) take('-');
      if (!digits()) return false;
    }
    if (integer) return integer_value(start + (negative ? 1 : 0), integer_end, negative, out);
    // nlohmann reads a fraction or an exponent with strtod, and refuses what overflows it.
    std::array<char, 64> token{};
    const auto length = static_cast<std::size_t>(at_ - start);
    if (length >= token.size()) return false;
    std::memcpy(token.data(), start, length);
    const double value = std::strtod(token.data(), nullptr);
    if (!std::isfinite(value)) return false;
    out = value;
    return true;
  }

  // Digits as nlohmann keeps them: unsigned when not negative, signed when negative; past 64
  // bits nlohmann makes a double, which is left to it.
  static bool integer_value(const char* first, const char* last, bool negative, Json& out) {
    constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t magnitude = 0;
    for (const char* digit = first; digit != last; ++digit) {
      const auto d = static_cast<std::uint64_t>(*digit - '0');
      if (magnitude > (kMax - d) / 10) return false;
      magnitude = magnitude * 10 + d;
    }
    if (!negative) {
      out = magnitude;
      return true;
    }
    constexpr auto kMinMagnitude = std::uint64_t{1} << 63;  // |INT64_MIN|
    if (magnitude > kMinMagnitude) return false;
    out = magnitude == kMinMagnitude ? std::numeric_limits<std::int64_t>::min()
                                     : -static_cast<std::int64_t>(magnitude);
    return true;
  }

  const char* at_;
  const char* end_;
  ValueStandIn* stand_in_;
  std::span<const std::string_view> path_;  // stand_in_'s; empty without one
  int path_depth_ = 0;                      // the depth of the object that path_ goes through
  // Per depth, see object(); a deque, whose elements stay put as it grows.
  std::deque<std::vector<std::pair<std::string, Json>>> members_;
};

}  // namespace

std::optional<Json> read_json(std::string_view text) {
  Json value;
  if (!Reader(text).document(value)) return std::nullopt;
  return value;
}

Json parse_json(std::string_view text) {
  if (auto value = read_json(text)) return std::move(*value);
  return Json::parse(text, nullptr, /*allow_exceptions=*/false);
}

Json parse_json(std::string_view text, ValueStandIn& stand_in) {
  Json value;
  if (Reader(text, &stand_in).document(value)) return value;
  return Json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace hydrate::mock
