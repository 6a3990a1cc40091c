#pragma once
// Server flavors: the endpoint can answer as OpenAI, Azure OpenAI, the llama.cpp server, vLLM or
// Ollama's OpenAI-compatible API. Each differs in its error shape, its headers, its usage, the
// response_format types it accepts and how its structured output treats a schema; everything a
// flavor changes is decided here, from data, so the routes stay flavor-blind.
#include <optional>
#include <string>
#include <string_view>

#include "mock/chat_request.hpp"
#include "mock/rate_limiter.hpp"
#include "mock/wire.hpp"

namespace hydrate::mock {

enum class Flavor { openai, azure, llamacpp, vllm, ollama };

// "openai", "azure", "llamacpp", "vllm", "ollama"; empty for any other name.
std::optional<Flavor> parse_flavor(std::string_view name);
const char* flavor_name(Flavor flavor);

// The response_format types a server accepts. Defaults: all three, except Ollama, whose
// OpenAI-compatibility page lists JSON mode (json_object) and no structured outputs.
FormatSet default_formats(Flavor flavor);
// "json_schema", "json_object" or "text"; empty for any other name.
std::optional<ResponseFormat> parse_format(std::string_view name);

// What the flavor's server does by itself (before any flag changes it).
struct FlavorTraits {
  bool rate_limit_headers = false;          // sends x-ratelimit-* (OpenAI, Azure)
  bool strict_schema_rules = false;         // refuses strict schemas outside OpenAI's subset
  bool reasoning_rules = false;             // o1/o3/o4/gpt-5 refuse max_tokens and temperature != 1
  bool grammar_output = false;              // a grammar bounds strings only where maxLength says
  bool reports_usage = true;                // a completion carries "usage"
  bool usage_details = false;               // usage has prompt_ and completion_tokens_details
  bool reads_max_completion_tokens = true;  // Ollama reads only max_tokens
};
FlavorTraits traits_of(Flavor flavor);

// The limits a flavor enforces when --rpm/--tpm are not given: OpenAI's and Azure's accounts
// always have some (high ones here), the local servers none. Either flag overrides its half;
// Azure derives RPM from TPM (6 per 1000) and enforces it over 10-second windows.
std::optional<RateLimits> effective_limits(Flavor flavor, std::int64_t rpm, std::int64_t tpm);

// The error body in the flavor's shape: OpenAI's (Azure passes request errors through in it and
// sends its own {"error":{"code":"429","message"}} for a rate limit),
// llama.cpp's {"error":{"code":<int>,"message","type"}}, vLLM's {"object":"error","message",
// "type","param","code":<int>}, Ollama's {"error":{"message","type","param","code"}}.
std::string flavor_error_body(Flavor flavor, const ApiError& error);

// True for the reasoning model families: names starting with o1, o3, o4 or gpt-5.
bool is_reasoning_model(std::string_view model);
// The 400 a reasoning model gives (under a flavor that has them) to max_tokens, or to a
// temperature other than 1; empty when the request may pass.
std::optional<ApiError> refuse_reasoning_parameters(Flavor flavor, const ChatRequest& request);

}  // namespace hydrate::mock
