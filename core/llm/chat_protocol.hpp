#pragma once
// The OpenAI chat-completions wire format (../shared/openai/chat-completions.yaml), as pure
// functions: build a request body, classify a response. No I/O.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/llm/model_profile.hpp"
#include "core/llm/rate_headers.hpp"
#include "core/llm/transport.hpp"
#include "core/model.hpp"

namespace hydrate::llm {

// How the error of an answer cut short (finish_reason length, content_filter, …) begins.
inline constexpr const char* kCutShort = "output cut short: ";

struct ChatMessage {
  std::string role;  // system | user | assistant
  std::string content;
};

struct ChatRequest {
  std::string model;
  std::vector<ChatMessage> messages;
  double temperature = 0.2;
  bool send_temperature = true;  // false for models that take only their default (reasoning)
  int max_tokens = 4096;
  bool use_max_completion_tokens = false;  // send max_completion_tokens instead of max_tokens
  std::string schema_name;                 // [a-zA-Z0-9_-]{1,64}
  std::string json_schema;                 // JSON text of the schema; empty = no response_format
  bool strict = true;
  OutputMode mode = OutputMode::json_schema;
  SchemaDialect dialect = SchemaDialect::strict;
};

// A JSON body valid against CreateChatCompletionRequest, whatever the mode and dialect. With a
// json_schema: mode json_schema sends it as response_format (strict dialect: without the string
// length keywords OpenAI's structured outputs refuse); json_object sends response_format
// json_object and spells the schema out at the end of the first message; prompt does the same
// without response_format. No schema: no response_format. A schema_name outside
// [a-zA-Z0-9_-]{1,64} is made to fit. Invalid UTF-8 in messages is replaced by U+FFFD.
// Throws std::invalid_argument when json_schema is not the text of a JSON object (a bug in the
// caller's schema, not a runtime condition).
std::string build_chat_body(const ChatRequest& request);

enum class ChatOutcome {
  ok,               // 200 with content and finish_reason stop (or absent, or another non-cut value)
  truncated,        // 200 but finish_reason length / content_filter / tool_calls, or no content
                    // (a refusal): not a success
  rate_limited,     // 429 that is a rate limit: retry after retry_after_ms
  quota_exhausted,  // 429 with insufficient_quota / billing codes: stop, do not retry
  server_error,     // 5xx
  timeout,          // no answer within the timeout
  network_error,    // connection refused, reset, DNS
  malformed,        // 200 whose body is not a chat completion
  client_error,     // other 4xx: permanent
  too_large,        // the answer passed the size cap
};

const char* to_string(ChatOutcome outcome);
// rate_limited, server_error, timeout, network_error, malformed and truncated are worth a retry.
bool is_retryable(ChatOutcome outcome);

struct ChatResult {
  ChatOutcome outcome = ChatOutcome::malformed;
  std::string content;        // choices[0].message.content (ok and truncated)
  std::string finish_reason;  // as sent
  TokenUsage usage;           // from usage; zeros when absent
  bool usage_reported = false;
  std::string error_code;     // error.code or error.type from an error body, as one clean line
  std::string error_message;  // one line for the operator: valid UTF-8, no control characters,
                              // keys redacted, bounded; never contains request headers
  std::optional<std::int64_t> retry_after_ms;
  std::string request_id;        // x-request-id (apim-request-id on Azure); empty when absent
  RateLimitHeaders rate_limits;  // the x-ratelimit-* headers, when the server sends them
  // A 400 that refuses the request's response_format (json_schema or json_object unsupported):
  // the caller falls back to the next OutputMode instead of failing the step.
  bool refused_response_format = false;
};

ChatResult interpret_response(const HttpResponse& response);

// One line for an operator, safe to print and to store: valid UTF-8 (anything else becomes
// U+FFFD), no control characters (C0, DEL and C1, so no terminal escapes), runs of blanks
// collapsed, anything that looks like a key ("sk-…", "Bearer …") hidden, at most ~300 bytes,
// cut on a UTF-8 boundary. The error messages of ChatResult are made by it.
std::string one_line(std::string_view raw);

}  // namespace hydrate::llm
