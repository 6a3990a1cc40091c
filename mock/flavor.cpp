#include "mock/flavor.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <nlohmann/json.hpp>

namespace hydrate::mock {
namespace {

using OrderedJson = nlohmann::ordered_json;

constexpr std::array<std::pair<Flavor, const char*>, 5> kFlavorNames = {
    {{Flavor::openai, "openai"},
     {Flavor::azure, "azure"},
     {Flavor::llamacpp, "llamacpp"},
     {Flavor::vllm, "vllm"},
     {Flavor::ollama, "ollama"}}};

// OpenAI tier-5 limits for gpt-4o-mini, as its headers report them (30,000 RPM, 150M TPM).
constexpr std::int64_t kOpenAiRpm = 30000;
constexpr std::int64_t kOpenAiTpm = 150000000;
// An Azure deployment of 1,000 capacity units (1M TPM, 6 RPM per 1000 TPM).
constexpr std::int64_t kAzureTpm = 1000000;

// llama.cpp's error types (tools/server: format_error_response).
const char* llamacpp_type(int status) {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 501:
      return "not_supported_error";
    case 503:
      return "unavailable_error";
    default:
      return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

// vLLM names its error types after the exception class behind the status.
const char* vllm_type(int status) {
  switch (status) {
    case 400:
      return "BadRequestError";
    case 404:
      return "NotFoundError";
    case 429:
      return "RateLimitError";
    case 501:
      return "NotImplementedError";
    case 503:
      return "ServiceUnavailableError";
    default:
      return status >= 500 ? "InternalServerError" : "BadRequestError";
  }
}

OrderedJson optional_string(const std::optional<std::string>& value) {
  return value ? OrderedJson(*value) : OrderedJson(nullptr);
}

}  // namespace

std::optional<Flavor> parse_flavor(std::string_view name) {
  for (const auto& [flavor, flavor_text] : kFlavorNames) {
    if (name == flavor_text) return flavor;
  }
  return std::nullopt;
}

const char* flavor_name(Flavor flavor) {
  for (const auto& [known, name] : kFlavorNames) {
    if (known == flavor) return name;
  }
  return "openai";
}

FormatSet default_formats(Flavor flavor) {
  FormatSet formats;
  formats.json_schema = flavor != Flavor::ollama;
  return formats;
}

std::optional<ResponseFormat> parse_format(std::string_view name) {
  if (name == "json_schema") return ResponseFormat::json_schema;
  if (name == "json_object") return ResponseFormat::json_object;
  if (name == "text") return ResponseFormat::text;
  return std::nullopt;
}

FlavorTraits traits_of(Flavor flavor) {
  FlavorTraits traits;
  const bool openai_like = flavor == Flavor::openai || flavor == Flavor::azure;
  traits.rate_limit_headers = openai_like;
  traits.strict_schema_rules = openai_like;
  traits.reasoning_rules = openai_like;
  traits.usage_details = openai_like;
  traits.grammar_output = flavor == Flavor::llamacpp || flavor == Flavor::vllm;
  traits.reports_usage = flavor != Flavor::ollama;
  traits.reads_max_completion_tokens = flavor != Flavor::ollama;
  return traits;
}

std::optional<RateLimits> effective_limits(Flavor flavor, std::int64_t rpm, std::int64_t tpm) {
  RateLimits limits;
  if (flavor == Flavor::openai) {
    limits.requests_per_minute = rpm > 0 ? rpm : kOpenAiRpm;
    limits.tokens_per_minute = tpm > 0 ? tpm : kOpenAiTpm;
    limits.request_burst = limits.requests_per_minute;
    return limits;
  }
  if (flavor == Flavor::azure) {
    limits.tokens_per_minute = tpm > 0 ? tpm : kAzureTpm;
    limits.requests_per_minute =
        rpm > 0 ? rpm : std::max<std::int64_t>(1, limits.tokens_per_minute * 6 / 1000);
    limits.request_burst = std::max<std::int64_t>(1, limits.requests_per_minute / 6);
    return limits;
  }
  if (rpm <= 0 && tpm <= 0) {
    return std::nullopt;  // a local server limits nothing by itself
  }
  // A proxy in front of a local server: only the given half limits anything.
  constexpr std::int64_t kUnlimited = std::int64_t{1} << 50;
  limits.requests_per_minute = rpm > 0 ? rpm : kUnlimited;
  limits.tokens_per_minute = tpm > 0 ? tpm : kUnlimited;
  limits.request_burst = limits.requests_per_minute;
  return limits;
}

std::string flavor_error_body(Flavor flavor, const ApiError& error) {
  OrderedJson body;
  switch (flavor) {
    case Flavor::openai:
      return error_body(error);
    case Flavor::azure:
      // Request errors (and OpenAI's insufficient_quota) pass through; a rate limit is Azure's.
      if (error.code != "rate_limit_exceeded") return error_body(error);
      body = {{"error", {{"code", "429"}, {"message", error.message}}}};
      break;
    case Flavor::llamacpp:
      body = {{"error",
               {{"code", error.status},
                {"message", error.message},
                {"type", llamacpp_type(error.status)}}}};
      break;
    case Flavor::vllm:
      if (error.status == 401) {
        body = {{"error", "Unauthorized"}};  // vLLM's API-key middleware
        break;
      }
      body = {{"object", "error"},
              {"message", error.message},
              {"type", vllm_type(error.status)},
              {"param", optional_string(error.param)},
              {"code", error.status}};
      break;
    case Flavor::ollama:
      body = {{"error",
               {{"message", error.message},
                {"type", error.status == 400   ? "invalid_request_error"
                         : error.status == 404 ? "not_found_error"
                                               : "api_error"},
                {"param", nullptr},
                {"code", nullptr}}}};
      break;
  }
  return body.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

bool is_reasoning_model(std::string_view model) {
  for (const std::string_view family : {"o1", "o3", "o4", "gpt-5"}) {
    if (model.substr(0, family.size()) == family) return true;
  }
  return false;
}

std::optional<ApiError> refuse_reasoning_parameters(Flavor flavor, const ChatRequest& request) {
  if (!traits_of(flavor).reasoning_rules || !is_reasoning_model(request.model)) {
    return std::nullopt;
  }
  if (request.legacy_max_tokens) {
    return ApiError{400,
                    "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                    "'max_completion_tokens' instead.",
                    "invalid_request_error", "max_tokens", "unsupported_parameter"};
  }
  const Json& temperature = request.temperature;
  if (temperature.is_number() && temperature.get<double>() != 1.0) {
    return ApiError{400,
                    "Unsupported value: 'temperature' does not support " + temperature.dump() +
                        " with this model. Only the default (1) value is supported.",
                    "invalid_request_error", "temperature", "unsupported_value"};
  }
  return std::nullopt;
}

}  // namespace hydrate::mock
