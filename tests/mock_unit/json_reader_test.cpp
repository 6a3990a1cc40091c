// read_json against nlohmann's parser, the reference it stands in for: on every text it accepts,
// the same value with the same key order and number types; on every text nlohmann refuses,
// nothing. Hand-written edge cases, then every prefix and a seeded series of byte mutations of a
// request body like hydrate's.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mock/hash.hpp"
#include "mock/json_reader.hpp"

namespace {

using hydrate::mock::Json;
using hydrate::mock::parse_json;
using hydrate::mock::read_json;

// Remembers every schema it is given, as the endpoint's schema cache does, and counts the times
// it recognised one.
class SchemaMemory final : public hydrate::mock::ValueStandIn {
 public:
  std::span<const std::string_view> path() const override { return kPath; }
  bool recognise(std::string_view text) override {
    const auto found = known_.find(std::string(text));
    if (found == known_.end()) return false;
    last_ = found->second;
    ++recognised;
    return true;
  }
  void keep(std::string_view text, Json&& value) override {
    last_ = value;
    known_[std::string(text)] = std::move(value);
  }
  // `document` with the member the reader left to this stand-in put back.
  Json restore(Json document) const {
    Json* at = &document;
    for (const std::string_view key : kPath) {
      if (!at->is_object() || !at->contains(key)) return document;
      at = &(*at)[std::string(key)];
    }
    if (at->is_discarded()) *at = last_;
    return document;
  }
  int recognised = 0;

 private:
  static constexpr std::array<std::string_view, 3> kPath = {"response_format", "json_schema",
                                                            "schema"};
  std::map<std::string, Json> known_;
  Json last_;
};

// Equal values of equal types all the way down (nlohmann's == holds 1 and 1u and 1.0 equal).
bool same(const Json& a, const Json& b) {
  if (a.type() != b.type()) return false;
  if (a.is_discarded()) return true;  // nlohmann's == holds no discarded value equal
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    auto left = a.items().begin();
    auto right = b.items().begin();
    for (; left != a.items().end(); ++left, ++right) {
      if (left.key() != right.key() || !same(left.value(), right.value())) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!same(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b;
}

// The reader's contract on one text, checked; true when the reader read it itself.
bool check_against_nlohmann(const std::string& text) {
  const Json reference = Json::parse(text, nullptr, false);
  const auto read = read_json(text);
  CAPTURE(text);
  if (reference.is_discarded()) {
    CHECK_FALSE(read.has_value());
  } else if (read) {
    CHECK(same(*read, reference));
  }
  CHECK(same(parse_json(text), reference));
  return read.has_value();
}

const std::string kBody =
    R"({"max_tokens":2650,"messages":[{"content":"Plan the syllabus of GEOGRAPHY, \"in the )"
    R"(language with code \"hi\"\".\nRéponds en français — भूगोल \u00e9\ud83d\ude00\t/\/","role":)"
    R"("system"}],"model":"gpt-4o-mini","response_format":{"json_schema":{"name":"hydrate_subject",)"
    R"("schema":{"additionalProperties":false,"properties":{"chapters":{"items":{"properties":)"
    R"({"title":{"maxLength":80,"type":"string"}},"type":"object"},"maxItems":11,"minItems":7,)"
    R"("type":"array"}},"required":["chapters"],"type":"object"},"strict":true},"type":)"
    R"("json_schema"},"temperature":0.2,"top_p":-1.5e-3,"n":-7,"x":[true,false,null,[],{}]})";

}  // namespace

TEST_CASE("read_json reads a request body as nlohmann does") {
  const auto read = read_json(kBody);
  REQUIRE(read.has_value());
  CHECK(same(*read, Json::parse(kBody)));
  CHECK((*read)["max_tokens"].is_number_unsigned());
  CHECK((*read)["n"].is_number_integer());
  CHECK_FALSE((*read)["n"].is_number_unsigned());
  CHECK((*read)["temperature"].is_number_float());
}

TEST_CASE("read_json agrees with nlohmann on edge cases") {
  const std::vector<std::string> texts = {"",
                                          " ",
                                          "{}",
                                          "[]",
                                          " {\"a\" : 1 } ",
                                          "{\"a\":1,}",
                                          "[1,]",
                                          "[,1]",
                                          "{\"a\"}",
                                          "{1:2}",
                                          R"({"a":1,"b":2,"a":3})",
                                          R"({"b":{"x":1},"b":[2]})",
                                          "0",
                                          "-0",
                                          "01",
                                          "-01",
                                          "1.",
                                          ".5",
                                          "1e",
                                          "1e+",
                                          "1E5",
                                          "1e-400",
                                          "1e400",
                                          "-1e400",
                                          "18446744073709551615",
                                          "18446744073709551616",
                                          "-9223372036854775808",
                                          "-9223372036854775809",
                                          "1.5e308",
                                          "123456789012345678901234567890",
                                          "true",
                                          "tru",
                                          "truex",
                                          "nul",
                                          "null ",
                                          "[null,false]",
                                          "\"\\u0000\"",
                                          "\"\\uD83D\"",
                                          "\"\\uDE00\"",
                                          "\"\\uD83D\\u0041\"",
                                          "\"\\uD83D\\uDE00\"",
                                          "\"\\uZZZZ\"",
                                          "\"\\x\"",
                                          "\"a\tb\"",
                                          "\"\x7f\"",
                                          "\"\xc3\xa9\"",
                                          "\"\xc3\"",
                                          "\"\xc0\xaf\"",
                                          "\"\xed\xa0\x80\"",
                                          "\"\xf4\x90\x80\x80\"",
                                          "\"\xef\xbb\xbf\"",
                                          "\xef\xbb\xbf{}",
                                          "\"abc",
                                          "[[[[[[]]]]]]",
                                          "{\"a\":[{\"b\":[{\"c\":{}}]}]}",
                                          "[1]x",
                                          "[1] [2]",
                                          "\v[]",
                                          "[\f]",
                                          std::string(300, '[') + std::string(300, ']'),
                                          std::string("[\0]", 3),
                                          "[1,\n2\r,\t3]"};
  for (const auto& text : texts) check_against_nlohmann(text);
}

TEST_CASE("read_json agrees with nlohmann on every prefix and on mutated bodies") {
  for (std::size_t length = 0; length <= kBody.size(); ++length) {
    check_against_nlohmann(kBody.substr(0, length));
  }
  int valid = 0, read = 0;
  const std::string bytes = "{}[]\",:\\-+.0123456789eEtfnu \n\x80\xc3\xa9\xe0\x01";
  for (std::uint64_t round = 0; round < 4000; ++round) {
    std::string text = kBody;
    const std::uint64_t hash = hydrate::mock::derive(42, round);
    for (std::uint64_t edit = 0; edit <= hash % 3; ++edit) {
      const std::uint64_t choice = hydrate::mock::derive(hash, edit);
      const std::size_t at = choice % text.size();
      const char byte = bytes[(choice >> 20) % bytes.size()];
      switch ((choice >> 40) % 3) {
        case 0:
          text[at] = byte;
          break;
        case 1:
          text.insert(at, 1, byte);
          break;
        default:
          text.erase(at, 1);
      }
    }
    valid += Json::parse(text, nullptr, false).is_discarded() ? 0 : 1;
    read += check_against_nlohmann(text) ? 1 : 0;
  }
  // The mutations make no form the reader leaves to nlohmann: it reads every valid one itself.
  CHECK(valid > 100);
  CHECK(read == valid);
}

TEST_CASE("parse_json with a stand-in reads what nlohmann reads, the named member left to it") {
  SchemaMemory memory;
  const std::vector<std::string> texts = {
      kBody, kBody,
      // A repeated key: the later value in the first one's place.
      R"({"response_format":{"json_schema":{"schema":{"a":1},"schema":{"b":[2]}}}})",
      R"({"response_format":{"json_schema":{"schema":{"b":[2]}}},"response_format":{}})",
      R"({"response_format":{"json_schema":{"schema":[{"a":1}]}}})",
      R"({"response_format":{"json_schema":{"schema":{"a":"}"}}}})",
      R"({"x":{"response_format":{"json_schema":{"schema":{"a":1}}}}})",
      R"({"response_format":{"json_schema":{"schema":{"a":1}}}} trailing)"};
  for (const std::string& text : texts) {
    CAPTURE(text);
    CHECK(same(memory.restore(parse_json(text, memory)), Json::parse(text, nullptr, false)));
  }
  // kBody's schema the second time, {"b":[2]} the second time, {"a":1} before the trailing text.
  CHECK(memory.recognised == 3);
  // Every mutation of the body, each one's schema text recognised when it was seen before.
  for (int pass = 0; pass < 2; ++pass) {
    for (std::uint64_t round = 0; round < 2000; ++round) {
      std::string text = kBody;
      const std::uint64_t choice = hydrate::mock::derive(7, round);
      const std::string bytes = "{}[]\",:\\0 \x80";
      text[choice % text.size()] = bytes[(choice >> 20) % bytes.size()];
      CAPTURE(text);
      CHECK(same(memory.restore(parse_json(text, memory)), Json::parse(text, nullptr, false)));
    }
  }
  CHECK(memory.recognised > 1500);
}
