#pragma once
// JSON text read into the same nlohmann::ordered_json that Json::parse builds, several times
// faster: nlohmann's lexer keeps a copy of every byte for its error messages and takes each one
// through a virtual-like input adapter, which made parsing the request a third of the endpoint's
// CPU. This reader takes strict RFC 8259 JSON, the only kind hydrate sends; wherever it is not
// sure (the text is not JSON, or uses a form it leaves alone: a byte order mark, an integer past
// 64 bits, a number too large for a double, nesting deeper than kMaxReadDepth), it gives up and
// nlohmann's parser decides, so both accept exactly the same texts with the same values.
#include <optional>
#include <span>
#include <string_view>

#include "mock/schema_keywords.hpp"

namespace hydrate::mock {

// How deep arrays and objects may nest before the reader leaves the text to nlohmann's parser,
// which has no recursion to run out of.
constexpr int kMaxReadDepth = 256;

// Json::parse(text, nullptr, false): the value, or a discarded value when `text` is not JSON.
Json parse_json(std::string_view text);

// Lets a caller stand in for the reader at one member of a document, named by the object keys
// from the root to it: a request's response_format schema, which a client sends again and again
// with the same text, need not be read every time.
class ValueStandIn {
 public:
  virtual ~ValueStandIn() = default;
  // The keys from the root to the member; not empty.
  virtual std::span<const std::string_view> path() const = 0;
  // Called with the text of an object found there (from its '{' to its '}', as the brackets
  // balance; the text is JSON only when the caller knows it to be): true when the caller holds the
  // value of exactly this text, and the reader then skips the text.
  virtual bool recognise(std::string_view text) = 0;
  // Called, when recognise said no, with the value the reader read there and its text.
  virtual void keep(std::string_view text, Json&& value) = 0;
};

// parse_json, except at the member `stand_in` names: where the reader finds an object there, the
// document holds a discarded value, and the value is the one `stand_in` last recognised or was
// given to keep (a repeated key's last value is the one kept). Any other value there, or a text the
// reader leaves to nlohmann's parser, is in the document as parse_json reads it.
Json parse_json(std::string_view text, ValueStandIn& stand_in);

// The value when this reader is sure of it: equal to Json::parse(text), with the same order of
// keys (a repeated key keeps its first place and its last value) and the same number types
// (non-negative integers unsigned, negative ones signed, the rest double). Empty when the text is
// not JSON or is of a form left to nlohmann (see above).
std::optional<Json> read_json(std::string_view text);

}  // namespace hydrate::mock
