#include "mock/wire.hpp"

#include <nlohmann/json.hpp>

#include "mock/hash.hpp"
#include "mock/utf8.hpp"

namespace hydrate::mock {
namespace {

using Json = nlohmann::ordered_json;

Json optional_string(const std::optional<std::string>& value) {
  return value ? Json(*value) : Json(nullptr);
}

std::string derived_chars(std::uint64_t hash, std::size_t length, std::string_view alphabet) {
  std::string out;
  for (std::size_t i = 0; i < length; ++i) {
    out += alphabet[derive(hash, i) % alphabet.size()];
  }
  return out;
}

}  // namespace

std::string error_body(const ApiError& error) {
  Json body = {{"error",
                {{"message", error.message},
                 {"type", error.type},
                 {"param", optional_string(error.param)},
                 {"code", optional_string(error.code)}}}};
  return body.dump();
}

std::int64_t tokens_for(std::string_view text) {
  return static_cast<std::int64_t>((count_chars(text) + 3) / 4);
}

std::string completion_body(const Completion& completion) {
  const Usage& usage = completion.usage;
  Json body = {{"id", completion.id},
               {"object", "chat.completion"},
               {"created", completion.created},
               {"model", completion.model},
               {"choices", Json::array({{{"index", 0},
                                         {"message",
                                          {{"role", "assistant"},
                                           {"content", completion.content},
                                           {"refusal", nullptr},
                                           {"annotations", Json::array()}}},
                                         {"logprobs", nullptr},
                                         {"finish_reason", completion.finish_reason}}})}};
  Json counts = {{"prompt_tokens", usage.prompt_tokens},
                 {"completion_tokens", usage.completion_tokens},
                 {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
  if (completion.usage_shape == UsageShape::detailed) {
    counts["prompt_tokens_details"] = {{"cached_tokens", 0}, {"audio_tokens", 0}};
    counts["completion_tokens_details"] = {{"reasoning_tokens", usage.reasoning_tokens},
                                           {"audio_tokens", 0},
                                           {"accepted_prediction_tokens", 0},
                                           {"rejected_prediction_tokens", 0}};
  }
  if (completion.usage_shape != UsageShape::omitted) {
    body["usage"] = std::move(counts);
  }
  body["service_tier"] = "default";
  body["system_fingerprint"] = "fp_hydrate_mock";
  return body.dump();
}

std::string completion_id(std::uint64_t hash) {
  return "chatcmpl-" +
         derived_chars(hash, 29, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
}

std::string request_id(std::uint64_t hash) {
  return "req_" + derived_chars(derive(hash, 0x1D), 32, "0123456789abcdef");
}

}  // namespace hydrate::mock
