// The chat-completions wire format: request bodies out, classified results in. Pure functions;
// nlohmann::json stays in this file.
#include "core/llm/chat_protocol.hpp"

#include "core/memo.hpp"
#include "core/text_guard.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace hydrate::llm {
namespace {

constexpr std::size_t kMaxMessageBytes = 300;

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
         c == '*';
}

// Hides anything that looks like an API key ("sk-…", "Bearer …") that a server echoed back.
std::string redact_keys(std::string text) {
  for (const std::string_view marker :
       {std::string_view("sk-"), std::string_view("Bearer "), std::string_view("bearer ")}) {
    for (std::size_t at = text.find(marker); at != std::string::npos;
         at = text.find(marker, at + 1)) {
      if (at > 0 && is_token_char(text[at - 1]) && marker == "sk-") continue;
      const std::size_t start = at + marker.size();
      std::size_t end = start;
      while (end < text.size() && is_token_char(text[end])) ++end;
      if (end - start < 8) continue;
      text.replace(start, end - start, "[redacted]");
    }
  }
  return text;
}

}  // namespace

std::string one_line(std::string_view raw) {
  const std::string text = replace_invalid_utf8(raw);
  std::string line;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const bool c1 = c == 0xC2 && i + 1 < text.size() &&
                    static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(text[i + 1]) <= 0x9F;
    if (c < 0x20 || c == 0x7f || c == ' ' || c1) {
      if (!line.empty() && line.back() != ' ') line += ' ';
      if (c1) ++i;
    } else {
      line += text[i];
    }
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  line = redact_keys(std::move(line));
  if (line.size() > kMaxMessageBytes) {
    std::size_t cut = kMaxMessageBytes;
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
    line.resize(cut);
    line += "…";
  }
  return line;
}

namespace {

using nlohmann::json;

// A chat completion nests 4 levels deep, an error body 3 (the message content is a string, so
// its own nesting does not count). Anything past this is refused before it is parsed.
constexpr int kMaxBodyDepth = 64;

// OpenAI's structured outputs refuse string length keywords; grammar-driven servers need them.
void drop_string_lengths(json& schema) {
  if (schema.is_object()) {
    schema.erase("maxLength");
    schema.erase("minLength");
    for (auto& [key, value] : schema.items()) {
      if (key != "enum" && key != "const") drop_string_lengths(value);
    }
  } else if (schema.is_array()) {
    for (auto& item : schema) drop_string_lengths(item);
  }
}

// A 400 whose error names response_format (or json_schema / json_object) refuses the mode.
bool refuses_response_format(int status, const std::string& code, const std::string& message,
                             const std::string& param) {
  if (status != 400 && status != 422) return false;
  auto names = [](const std::string& text) {
    std::string lower = text;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lower.find("response_format") != std::string::npos ||
           lower.find("json_schema") != std::string::npos ||
           lower.find("json_object") != std::string::npos;
  };
  return names(param) || names(message) || names(code);
}

// [a-zA-Z0-9_-]{1,64}, as response_format.json_schema.name demands.
std::string fit_schema_name(std::string_view name) {
  std::string fitted;
  for (char c : name.substr(0, 64)) {
    const bool allowed = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    fitted += allowed ? c : '_';
  }
  return fitted.empty() ? "response" : fitted;
}

// A string or number field as text ("" when absent, null or of another type).
std::string text_of(const json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto found = object.find(key);
  if (found == object.end()) return {};
  if (found->is_string()) return found->get<std::string>();
  if (found->is_number()) return found->dump();
  return {};
}

std::int64_t count_of(const json& object, const char* key) {
  if (!object.is_object()) return 0;
  const auto found = object.find(key);
  if (found == object.end()) return 0;
  if (found->is_number_integer()) return found->get<std::int64_t>();
  if (found->is_number_float()) return std::llround(found->get<double>());
  return 0;
}

struct ErrorBody {
  std::string code;  // error.code, else error.type
  std::string type;
  std::string message;
  std::string param;  // error.param: the request field the error is about
};

// The error an endpoint described: OpenAI's {"error":{…}}, a bare {"error":"…"}, vLLM's
// {"object":"error","message":…}, or the same wrapped in an array (Gemini).
ErrorBody read_error(const json& body) {
  const json& top = body.is_array() && !body.empty() ? body.front() : body;
  ErrorBody error;
  if (!top.is_object()) return error;
  const auto found = top.find("error");
  if (found != top.end() && found->is_string()) {
    error.message = found->get<std::string>();
    return error;
  }
  const json& details = found != top.end() && found->is_object() ? *found : top;
  error.type = text_of(details, "type");
  error.code = text_of(details, "code");
  if (error.code.empty()) error.code = error.type;
  error.message = text_of(details, "message");
  if (error.message.empty()) error.message = text_of(details, "detail");
  error.param = text_of(details, "param");
  return error;
}

bool is_quota_code(std::string_view code) {
  std::string lower(code);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.find("quota") != std::string::npos || lower.starts_with("billing") ||
         lower.find("spending_limit") != std::string::npos ||
         lower.find("spend_limit") != std::string::npos;
}

ChatOutcome outcome_of_status(int status, const ErrorBody& error) {
  if (status == 429) {
    return is_quota_code(error.code) || is_quota_code(error.type) ? ChatOutcome::quota_exhausted
                                                                  : ChatOutcome::rate_limited;
  }
  // 408 and 409 are transient (OpenAI's own clients retry them), like 5xx.
  if (status == 408 || status == 409 || status >= 500) return ChatOutcome::server_error;
  return ChatOutcome::client_error;
}

std::string http_error_message(int status, const ErrorBody& error) {
  std::string message = "HTTP " + std::to_string(status);
  if (!error.code.empty() && error.code != std::to_string(status))
    message += " (" + error.code + ")";
  if (!error.message.empty()) message += ": " + error.message;
  return one_line(message);
}

void read_usage(const json& body, ChatResult& result) {
  const auto usage = body.find("usage");
  if (usage == body.end() || !usage->is_object()) return;
  result.usage_reported = true;
  result.usage.prompt = count_of(*usage, "prompt_tokens");
  result.usage.completion = count_of(*usage, "completion_tokens");
  const auto details = usage->find("prompt_tokens_details");
  if (details != usage->end()) result.usage.cached = count_of(*details, "cached_tokens");
  const auto completion = usage->find("completion_tokens_details");
  if (completion != usage->end()) {
    result.usage.reasoning = count_of(*completion, "reasoning_tokens");
  }
}

// message.content as text: a string, or the text parts of an array; nullopt when there is none.
std::optional<std::string> content_of(const json& message) {
  const auto content = message.find("content");
  if (content == message.end()) return std::nullopt;
  if (content->is_string()) return content->get<std::string>();
  if (!content->is_array()) return std::nullopt;
  std::optional<std::string> text;
  for (const json& part : *content) {
    if (part.is_object() && part.value("type", "") == "text") {
      text = text.value_or("") + text_of(part, "text");
    }
  }
  return text;
}

void read_completion(const json& body, ChatResult& result) {
  if (body.is_object()) read_usage(body, result);  // billed even when the rest is unusable
  const auto choices = body.is_object() ? body.find("choices") : body.end();
  if (!body.is_object() || choices == body.end() || !choices->is_array() || choices->empty() ||
      !choices->front().is_object()) {
    const ErrorBody error = read_error(body);
    result.error_code = one_line(error.code);
    result.error_message = one_line(
        error.message.empty() ? "HTTP 200 body is not a chat completion (no choices)"
                              : "HTTP 200 body is not a chat completion: " + error.message);
    return;
  }
  const json& choice = choices->front();
  result.finish_reason = text_of(choice, "finish_reason");
  const auto message = choice.find("message");
  if (message == choice.end() || !message->is_object()) {
    result.error_message = "HTTP 200 chat completion has no message";
    return;
  }
  const std::optional<std::string> content = content_of(*message);
  const std::string& reason = result.finish_reason;
  if (content) result.content = *content;
  if (reason == "length" || reason == "content_filter" || reason == "tool_calls" ||
      reason == "function_call") {
    result.outcome = ChatOutcome::truncated;
    result.error_message = std::string(kCutShort) + "finish_reason " + reason +
                           (reason == "length" ? " (max tokens reached)" : "");
  } else if (!content) {
    result.outcome = ChatOutcome::truncated;
    const std::string refusal = text_of(*message, "refusal");
    result.error_message =
        one_line(refusal.empty() ? "the answer has no content" : "the model refused: " + refusal);
  } else {
    result.outcome = ChatOutcome::ok;
  }
}

}  // namespace

namespace {

// The schema text as it goes out in a dialect: parsed, made to fit the dialect and dumped again;
// nullopt when it is not the text of a JSON object. A worker sends the same few schemas with
// every request, so each is made once, kept by its exact text (64 at most).
std::optional<std::string> schema_text(const std::string& schema, SchemaDialect dialect) {
  static Memo<std::pair<std::string, SchemaDialect>, std::optional<std::string>> texts(64);
  return texts.get({schema, dialect}, [&]() -> std::optional<std::string> {
    json value = json::parse(schema, nullptr, /*allow_exceptions=*/false);
    if (!value.is_object()) return std::nullopt;
    if (dialect == SchemaDialect::strict) drop_string_lengths(value);
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
  });
}

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string build_chat_body(const ChatRequest& request) {
  std::optional<std::string> schema;
  if (!request.json_schema.empty()) {
    schema = schema_text(request.json_schema, request.dialect);
    if (!schema) {
      throw std::invalid_argument("the JSON schema of response format '" + request.schema_name +
                                  "' is not a JSON object");
    }
  }
  json messages = json::array();
  for (const ChatMessage& message : request.messages) {
    messages.push_back({{"role", message.role}, {"content", message.content}});
  }
  if (schema && request.mode != OutputMode::json_schema && !messages.empty()) {
    std::string& first = messages.front()["content"].get_ref<std::string&>();
    first += "\n\nThe JSON schema your answer must follow:\n" + *schema;
  }
  // The members in the order nlohmann::json keeps an object's (sorted by name), as the body was
  // once dumped whole: the schema's text goes in as made, not parsed and dumped again.
  std::string body = "{\"";
  body += request.use_max_completion_tokens ? "max_completion_tokens" : "max_tokens";
  body += "\":";
  body += std::to_string(request.max_tokens);
  body += ",\"messages\":";
  body += dump(messages);
  body += ",\"model\":";
  body += dump(json(request.model));
  if (schema && request.mode == OutputMode::json_schema) {
    body += ",\"response_format\":{\"json_schema\":{\"name\":";
    body += dump(json(fit_schema_name(request.schema_name)));
    body += ",\"schema\":";
    body += *schema;
    body += request.strict ? ",\"strict\":true}" : ",\"strict\":false}";
    body += ",\"type\":\"json_schema\"}";
  } else if (schema && request.mode == OutputMode::json_object) {
    body += ",\"response_format\":{\"type\":\"json_object\"}";
  }
  if (request.send_temperature) {
    body += ",\"temperature\":";
    body += dump(json(request.temperature));
  }
  body += '}';
  return body;
}

const char* to_string(ChatOutcome outcome) {
  switch (outcome) {
    case ChatOutcome::ok:
      return "ok";
    case ChatOutcome::truncated:
      return "truncated";
    case ChatOutcome::rate_limited:
      return "rate_limited";
    case ChatOutcome::quota_exhausted:
      return "quota_exhausted";
    case ChatOutcome::server_error:
      return "server_error";
    case ChatOutcome::timeout:
      return "timeout";
    case ChatOutcome::network_error:
      return "network_error";
    case ChatOutcome::malformed:
      return "malformed";
    case ChatOutcome::client_error:
      return "client_error";
    case ChatOutcome::too_large:
      return "too_large";
  }
  return "unknown";
}

bool is_retryable(ChatOutcome outcome) {
  switch (outcome) {
    case ChatOutcome::rate_limited:
    case ChatOutcome::server_error:
    case ChatOutcome::timeout:
    case ChatOutcome::network_error:
    case ChatOutcome::malformed:
    case ChatOutcome::truncated:
      return true;
    case ChatOutcome::ok:
    case ChatOutcome::quota_exhausted:
    case ChatOutcome::client_error:
    case ChatOutcome::too_large:
      return false;
  }
  return false;
}

ChatResult interpret_response(const HttpResponse& response) {
  ChatResult result;
  result.retry_after_ms = response.retry_after_ms;
  result.rate_limits = parse_rate_limit_headers(response.headers);
  std::string_view request_id = header_value(response.headers, "x-request-id");
  if (request_id.empty()) request_id = header_value(response.headers, "apim-request-id");
  result.request_id = one_line(request_id.substr(0, 100));
  if (response.too_large || response.timed_out || response.status == 0) {
    result.outcome = response.too_large   ? ChatOutcome::too_large
                     : response.timed_out ? ChatOutcome::timeout
                                          : ChatOutcome::network_error;
    result.error_message =
        one_line(response.transport_error.empty() ? "no HTTP answer" : response.transport_error);
    return result;
  }
  // A body nested deeper than any real one is treated as unreadable, not parsed: nlohmann::json
  // parses iteratively but copies and prints recursively, and a 1 MiB body of '[' would also
  // build a million values for nothing. Invalid UTF-8 inside a string fails the parse.
  const bool too_deep = json_nesting_depth(response.body, kMaxBodyDepth) > kMaxBodyDepth;
  const json body = too_deep ? json(json::value_t::discarded)
                             : json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (response.status >= 200 && response.status < 300) {
    result.outcome = ChatOutcome::malformed;
    if (body.is_discarded()) {
      result.error_message =
          "HTTP " + std::to_string(response.status) +
          (too_deep ? " body nests deeper than " + std::to_string(kMaxBodyDepth) + " levels"
                    : " body is not JSON (or not valid UTF-8)");
      return result;
    }
    read_completion(body, result);
    return result;
  }
  const ErrorBody error = body.is_discarded() ? ErrorBody{} : read_error(body);
  result.outcome = outcome_of_status(response.status, error);
  result.error_code = one_line(error.code);
  result.error_message = http_error_message(response.status, error);
  result.refused_response_format =
      refuses_response_format(response.status, error.code, error.message, error.param);
  return result;
}

}  // namespace hydrate::llm
