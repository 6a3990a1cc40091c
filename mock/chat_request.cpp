#include "mock/chat_request.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <span>

#include "mock/ascii.hpp"
#include "mock/json_reader.hpp"
#include "mock/utf8.hpp"

namespace hydrate::mock {

using namespace std::string_view_literals;
namespace {

ApiError invalid(std::string message, std::optional<std::string> param,
                 std::optional<std::string> code) {
  return ApiError{400, std::move(message), "invalid_request_error", std::move(param),
                  std::move(code)};
}

ApiError missing(const std::string& param) {
  return invalid("Missing required parameter: '" + param + "'.", param,
                 "missing_required_parameter");
}

ApiError wrong_type(const std::string& param, const std::string& expected) {
  return invalid("Invalid type for '" + param + "': expected " + expected + ".", param,
                 "invalid_type");
}

// Message content: a string, null, or an array of {"type":"text","text":…} parts.
std::optional<std::string> content_text(const Json& content) {
  if (content.is_string()) return content.get<std::string>();
  if (content.is_null()) return std::string();
  if (!content.is_array()) return std::nullopt;
  std::string text;
  for (const auto& part : content) {
    if (part.is_object() && string_keyword(part, "type") == "text" && part.contains("text"sv) &&
        part["text"].is_string()) {
      text += (text.empty() ? "" : "\n") + part["text"].get<std::string>();
    }
  }
  return text;
}

bool valid_schema_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return ascii::is_alnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

// A type this server does not take, refused as OpenAI refuses an unknown one.
ApiError unsupported_format(const std::string& type, const FormatSet& formats) {
  const std::vector<std::string> names = formats.names();
  std::string supported;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const bool last = i + 1 == names.size();
    supported += (i == 0 ? "" : (last ? (names.size() > 2 ? ", and " : " and ") : ", ")) +
                 ("'" + names[i] + "'");
  }
  return invalid("Invalid value: '" + type +
                     "'. Supported values are: " + (supported.empty() ? "none" : supported) + ".",
                 "response_format.type", "invalid_value");
}

// Reads body.response_format into `request`, moving the schema out of `body`; `read_schema` is
// the schema the reader's stand-in holds for it, if the body holds a discarded value there.
std::optional<ApiError> read_response_format(Json& body, const RequestRules& rules,
                                             std::shared_ptr<const ResponseSchema> read_schema,
                                             ChatRequest& request) {
  const auto format = body.find("response_format"sv);
  if (format == body.end() || format->is_null()) return std::nullopt;
  if (!format->is_object()) return wrong_type("response_format", "an object");
  const std::string type = string_keyword(*format, "type");
  const std::optional<ResponseFormat> known =
      type == "text"          ? std::optional(ResponseFormat::text)
      : type == "json_object" ? std::optional(ResponseFormat::json_object)
      : type == "json_schema" ? std::optional(ResponseFormat::json_schema)
                              : std::nullopt;
  if (known && !rules.formats.accepts(*known)) return unsupported_format(type, rules.formats);
  if (type == "text") return std::nullopt;
  if (type == "json_object") {
    if (!mentions_json(request)) {
      return invalid(
          "'messages' must contain the word 'json' in some form, to use 'response_format' of "
          "type 'json_object'.",
          "messages", std::nullopt);
    }
    request.format = ResponseFormat::json_object;
    return std::nullopt;
  }
  if (type != "json_schema") {
    return invalid("Invalid value: '" + type +
                       "'. Supported values are: 'json_object', 'json_schema', and 'text'.",
                   "response_format.type", "invalid_value");
  }
  const auto spec = format->find("json_schema");
  if (spec == format->end() || !spec->is_object()) {
    return missing("response_format.json_schema");
  }
  request.format = ResponseFormat::json_schema;
  request.schema_name = string_keyword(*spec, "name");
  if (!spec->contains("name")) return missing("response_format.json_schema.name");
  if (!valid_schema_name(request.schema_name)) {
    return invalid(
        "Invalid 'response_format.json_schema.name': string does not match pattern. "
        "Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
        "response_format.json_schema.name", "invalid_value");
  }
  const auto schema = spec->find("schema");
  if (schema == spec->end()) {
    request.schema = empty_response_schema();
  } else if (schema->is_discarded()) {
    request.schema = std::move(read_schema);  // an object the reader left to the stand-in
  } else {
    request.schema = make_response_schema(std::move(*schema));
  }
  if (!request.schema->value().is_object())
    return wrong_type("response_format.json_schema.schema", "an object");
  if (rules.strict_schema_rules && spec->contains("strict") && (*spec)["strict"] == true) {
    if (request.schema->type() != "object") {
      return invalid("Invalid schema for response_format '" + request.schema_name +
                         "': schema must be a JSON Schema of 'type: \"object\"', got 'type: \"" +
                         request.schema->type() + "\"'.",
                     "response_format", "invalid_json_schema");
    }
    if (const auto& problem = request.schema->strict_problem()) {
      return invalid(
          "Invalid schema for response_format '" + request.schema_name + "': " + *problem,
          "response_format", "invalid_json_schema");
    }
  }
  return std::nullopt;
}

std::optional<ApiError> read_messages(const Json& body, ChatRequest& request) {
  const auto messages = body.find("messages"sv);
  if (messages == body.end()) return missing("messages");
  if (!messages->is_array()) return wrong_type("messages", "an array");
  if (messages->empty()) {
    return invalid(
        "Invalid 'messages': empty array. Expected an array with minimum length 1, but "
        "got an empty array instead.",
        "messages", "empty_array");
  }
  for (std::size_t i = 0; i < messages->size(); ++i) {
    const Json& message = (*messages)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!message.is_object()) return wrong_type(where, "an object");
    if (!message.contains("role"sv) || !message["role"].is_string()) {
      return missing(where + ".role");
    }
    const auto text = content_text(message.value("content", Json()));
    if (!text) return wrong_type(where + ".content", "a string or an array of content parts");
    request.messages.push_back({message["role"].get<std::string>(), *text});
  }
  return std::nullopt;
}

SchemaCache& schema_cache() {
  static SchemaCache cache;
  return cache;
}

// Stands in for the reader at response_format.json_schema.schema: a schema text read before is
// not read again.
class SchemaStandIn final : public ValueStandIn {
 public:
  std::span<const std::string_view> path() const override { return kPath; }
  bool recognise(std::string_view text) override {
    schema_ = schema_cache().find(text);
    return schema_ != nullptr;
  }
  void keep(std::string_view text, Json&& value) override {
    schema_ = make_response_schema(std::move(value));
    if (schema_->value().is_object()) schema_cache().remember(text, schema_);
  }
  // The schema last recognised or kept; null when none was.
  std::shared_ptr<const ResponseSchema> take() { return std::move(schema_); }

 private:
  static constexpr std::array<std::string_view, 3> kPath = {"response_format", "json_schema",
                                                            "schema"};
  std::shared_ptr<const ResponseSchema> schema_;
};

}  // namespace

bool FormatSet::accepts(ResponseFormat format) const {
  switch (format) {
    case ResponseFormat::text:
      return text;
    case ResponseFormat::json_object:
      return json_object;
    case ResponseFormat::json_schema:
      return json_schema;
  }
  return false;
}

std::vector<std::string> FormatSet::names() const {
  std::vector<std::string> out;
  if (json_schema) out.emplace_back("json_schema");
  if (json_object) out.emplace_back("json_object");
  if (text) out.emplace_back("text");
  return out;
}

std::variant<ChatRequest, ApiError> parse_chat_request(std::string_view text,
                                                       const RequestRules& rules) {
  SchemaStandIn stand_in;
  Json parsed = parse_json(text, stand_in);
  const Json& body = parsed;  // read only, but for the schema read_response_format moves out
  if (body.is_discarded() || !body.is_object()) {
    return invalid(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
        "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
        "sent was not valid JSON.)",
        std::nullopt, std::nullopt);
  }
  ChatRequest request;
  if (!body.contains("model"sv) && !rules.default_model.empty()) {
    request.model = rules.default_model;
  } else if (!body.contains("model"sv) || !body["model"].is_string() || body["model"] == "") {
    return invalid("you must provide a model parameter", std::nullopt, std::nullopt);
  } else {
    request.model = body["model"].get<std::string>();
  }
  if (auto error = read_messages(body, request)) return *error;
  if (body.contains("stream"sv) && body["stream"] == true) {
    return invalid("This endpoint does not stream; send 'stream': false.", "stream",
                   "unsupported_value");
  }
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    const auto limit = body.find(key);
    if (limit == body.end() || limit->is_null()) continue;
    if (!limit->is_number_integer()) return wrong_type(key, "an integer");
    if (limit->get<std::int64_t>() < 1) {
      return invalid("Invalid '" + std::string(key) +
                         "': integer below minimum value. Expected a value >= 1, but got " +
                         limit->dump() + " instead.",
                     key, "integer_below_min_value");
    }
    request.max_tokens = limit->get<std::int64_t>();  // max_completion_tokens wins: read last
    if (std::string_view(key) == "max_tokens") request.legacy_max_tokens = request.max_tokens;
  }
  if (const auto temperature = body.find("temperature"sv); temperature != body.end()) {
    if (!temperature->is_null() && !temperature->is_number()) {
      return wrong_type("temperature", "a number");
    }
    request.temperature = *temperature;
  }
  if (auto error = read_response_format(parsed, rules, stand_in.take(), request)) return *error;
  return request;
}

std::int64_t prompt_tokens(const ChatRequest& request) {
  std::size_t chars = 0;
  for (const auto& message : request.messages) {
    chars += count_chars(message.content);
  }
  return static_cast<std::int64_t>((chars + 3) / 4 + 4 * request.messages.size());
}

const std::string& last_user_text(const ChatRequest& request) {
  for (auto it = request.messages.rbegin(); it != request.messages.rend(); ++it) {
    if (it->role == "user") {
      return it->content;
    }
  }
  return request.messages.back().content;
}

std::string all_message_text(const ChatRequest& request) {
  std::string text;
  for (const auto& message : request.messages) {
    text += message.role + "\n" + message.content + "\n";
  }
  return text;
}

bool mentions_json(const ChatRequest& request) {
  // Each role and content apart: the newlines all_message_text puts between them cannot be part
  // of "json".
  const auto has_json = [](std::string_view text) {
    for (std::size_t i = 0; i + 4 <= text.size(); ++i) {
      if (ascii::to_lower(text[i]) == 'j' && ascii::to_lower(text[i + 1]) == 's' &&
          ascii::to_lower(text[i + 2]) == 'o' && ascii::to_lower(text[i + 3]) == 'n') {
        return true;
      }
    }
    return false;
  };
  return std::any_of(request.messages.begin(), request.messages.end(),
                     [&](const ChatMessage& message) {
                       return has_json(message.role) || has_json(message.content);
                     });
}

}  // namespace hydrate::mock
