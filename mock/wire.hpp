#pragma once
// OpenAI's wire shapes as this endpoint sends them: error bodies, the chat.completion object, the
// token arithmetic behind usage, and the identifiers real responses carry.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hydrate::mock {

// An error answer: {"error":{"message","type","param","code"}} with an HTTP status.
struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::optional<std::string> param;
  std::optional<std::string> code;
};

std::string error_body(const ApiError& error);

struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;  // reasoning tokens included, as OpenAI bills them
  std::int64_t reasoning_tokens = 0;
};

// How a completion reports usage: OpenAI's, with prompt_ and completion_tokens_details; the
// three counts alone (llama.cpp, vLLM); not at all (Ollama, at times).
enum class UsageShape { detailed, plain, omitted };

// ceil(code points / 4): the endpoint's stand-in for a tokenizer.
std::int64_t tokens_for(std::string_view text);

// What one choice of a chat.completion carries.
struct Completion {
  std::string id;  // chatcmpl-…
  std::int64_t created = 0;
  std::string model;
  std::string content;
  std::string finish_reason = "stop";
  Usage usage;
  UsageShape usage_shape = UsageShape::detailed;
};

// The chat.completion object, shaped like OpenAI's (usage with its details, refusal null …).
std::string completion_body(const Completion& completion);

// `length` letters and digits (A-Z, a-z, 0-9) derived from the hash.
std::string derived_alnum(std::uint64_t hash, std::size_t length);

// "chatcmpl-" and 29 letters and digits derived from the hash.
std::string completion_id(std::uint64_t hash);
// "req_" and 32 hex digits derived from the hash, for the x-request-id header.
std::string request_id(std::uint64_t hash);

}  // namespace hydrate::mock
