#include "mock/wire.hpp"

#include <nlohmann/json.hpp>

#include "mock/hash.hpp"
#include "mock/json_writer.hpp"
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

namespace {

// The completion through nlohmann::json: what completion_body writes, and its fallback for text
// that is not UTF-8 (the dump throws, as it always did).
std::string dumped_completion_body(const Completion& completion) {
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

}  // namespace

std::string completion_body(const Completion& completion) {
  const Usage& usage = completion.usage;
  std::string out;
  out.reserve(completion.content.size() + completion.content.size() / 8 + 640);
  out += R"({"id":)";
  bool written = append_json_string(out, completion.id);
  out += R"(,"object":"chat.completion","created":)" + std::to_string(completion.created) +
         R"(,"model":)";
  written = written && append_json_string(out, completion.model);
  out += R"(,"choices":[{"index":0,"message":{"role":"assistant","content":)";
  written = written && append_json_string(out, completion.content);
  out += R"(,"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":)";
  written = written && append_json_string(out, completion.finish_reason);
  out += "}]";
  if (completion.usage_shape != UsageShape::omitted) {
    out += R"(,"usage":{"prompt_tokens":)" + std::to_string(usage.prompt_tokens) +
           R"(,"completion_tokens":)" + std::to_string(usage.completion_tokens) +
           R"(,"total_tokens":)" + std::to_string(usage.prompt_tokens + usage.completion_tokens);
    if (completion.usage_shape == UsageShape::detailed) {
      out += R"(,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0})"
             R"(,"completion_tokens_details":{"reasoning_tokens":)" +
             std::to_string(usage.reasoning_tokens) +
             R"(,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0})";
    }
    out += "}";
  }
  out += R"(,"service_tier":"default","system_fingerprint":"fp_hydrate_mock"})";
  return written ? out : dumped_completion_body(completion);
}

std::string derived_alnum(std::uint64_t hash, std::size_t length) {
  return derived_chars(hash, length,
                       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
}

std::string completion_id(std::uint64_t hash) {
  return "chatcmpl-" + derived_alnum(hash, 29);
}

std::string request_id(std::uint64_t hash) {
  return "req_" + derived_chars(derive(hash, 0x1D), 32, "0123456789abcdef");
}

}  // namespace hydrate::mock
