#pragma once
// A CreateChatCompletionRequest as the endpoint reads it, and the checks OpenAI makes before it
// answers (a JSON body, a model, at least one message, a usable response_format, strict schemas
// that follow the structured-outputs rules), each failing with OpenAI's own kind of 400.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "mock/response_schema.hpp"
#include "mock/schema_keywords.hpp"
#include "mock/wire.hpp"

namespace hydrate::mock {

struct ChatMessage {
  std::string role;
  std::string content;  // text parts joined; empty for a null content
};

enum class ResponseFormat { text, json_object, json_schema };

// Which response_format types a server accepts.
struct FormatSet {
  bool text = true;
  bool json_object = true;
  bool json_schema = true;
  bool accepts(ResponseFormat format) const;
  // The names of those accepted: "json_schema", "json_object", "text", in that order.
  std::vector<std::string> names() const;
};

// How a server reads a request, beyond what every server checks.
struct RequestRules {
  std::string default_model;        // for a body without "model" (Azure: the deployment)
  bool strict_schema_rules = true;  // refuse strict schemas outside OpenAI's subset
  FormatSet formats;                // others are refused with a 400 naming response_format
};

struct ChatRequest {
  std::string model;
  std::vector<ChatMessage> messages;
  std::optional<std::int64_t> max_tokens;         // max_completion_tokens, else max_tokens
  std::optional<std::int64_t> legacy_max_tokens;  // the "max_tokens" field alone
  Json temperature;                               // as sent; null when absent
  ResponseFormat format = ResponseFormat::text;
  std::string schema_name;  // json_schema only
  // Never null; its value is null unless the format is json_schema, an empty object when a
  // json_schema request gave none.
  std::shared_ptr<const ResponseSchema> schema = no_response_schema();
};

// The parsed request, or the 400 OpenAI would send for this body under these rules.
std::variant<ChatRequest, ApiError> parse_chat_request(std::string_view body,
                                                       const RequestRules& rules = {});

// ceil(code points of all message contents / 4) + 4 per message.
std::int64_t prompt_tokens(const ChatRequest& request);

// The content of the last user message; of the last message when no user spoke.
const std::string& last_user_text(const ChatRequest& request);

// Every message's content, one after another, for hashing and for looking for "json".
std::string all_message_text(const ChatRequest& request);

// True when any message mentions JSON (in any letter case).
bool mentions_json(const ChatRequest& request);

}  // namespace hydrate::mock
