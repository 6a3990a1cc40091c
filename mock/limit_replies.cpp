#include "mock/limit_replies.hpp"

#include "mock/azure.hpp"

namespace hydrate::mock {
namespace {

constexpr const char* kOrganization = "org-hydrate-mock";

std::string openai_message(const std::string& model, const Admission& refused) {
  const bool requests = refused.refused_by == LimitKind::requests;
  const std::string which = requests ? "requests per min (RPM)" : "tokens per min (TPM)";
  const std::int64_t limit = requests ? refused.state.limit_requests : refused.state.limit_tokens;
  if (refused.retry_after_ms < 0) {
    return "Request too large for " + model + " in organization " + kOrganization + " on " + which +
           ": Limit " + std::to_string(limit) + ", Requested " + std::to_string(refused.requested) +
           ". The input or output tokens must be reduced in order to run successfully. Visit "
           "https://platform.openai.com/account/rate-limits to learn more.";
  }
  return "Rate limit reached for " + model + " in organization " + kOrganization + " on " + which +
         ": Limit " + std::to_string(limit) + ", Used " + std::to_string(refused.used) +
         ", Requested " + std::to_string(refused.requested) + ". Please try again in " +
         go_duration(refused.retry_after_ms) +
         ". Visit https://platform.openai.com/account/rate-limits to learn more.";
}

}  // namespace

Headers limit_headers(Flavor flavor, const LimitState& state) {
  if (flavor == Flavor::azure) {
    return {{"x-ratelimit-remaining-requests", std::to_string(state.remaining_requests)},
            {"x-ratelimit-remaining-tokens", std::to_string(state.remaining_tokens)}};
  }
  if (!traits_of(flavor).rate_limit_headers) {
    return {};
  }
  return {{"x-ratelimit-limit-requests", std::to_string(state.limit_requests)},
          {"x-ratelimit-limit-tokens", std::to_string(state.limit_tokens)},
          {"x-ratelimit-remaining-requests", std::to_string(state.remaining_requests)},
          {"x-ratelimit-remaining-tokens", std::to_string(state.remaining_tokens)},
          {"x-ratelimit-reset-requests", go_duration(state.reset_requests_ms)},
          {"x-ratelimit-reset-tokens", go_duration(state.reset_tokens_ms)}};
}

Reply limit_refusal(Flavor flavor, const std::string& model, const Admission& refused,
                    const std::string& api_version) {
  // A request larger than the whole limit never fits: no retry-after would help it.
  const std::int64_t wait_ms = refused.retry_after_ms < 0 ? 60000 : refused.retry_after_ms;
  const std::int64_t wait_s = std::max<std::int64_t>(1, (wait_ms + 999) / 1000);
  Reply reply;
  if (flavor == Flavor::azure) {
    const bool requests = refused.refused_by == LimitKind::requests;
    reply = azure_error(
        429, "429",
        "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version " +
            api_version + " have exceeded " + (requests ? "call" : "token") +
            " rate limit of your current OpenAI S0 pricing tier. Please retry after " +
            std::to_string(wait_s) +
            " seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to "
            "further increase the default rate limit.");
  } else {
    reply = error_reply({429, openai_message(model, refused),
                         refused.refused_by == LimitKind::requests ? "requests" : "tokens",
                         std::nullopt, "rate_limit_exceeded"},
                        {});
  }
  reply.headers = limit_headers(flavor, refused.state);
  if (refused.retry_after_ms >= 0) {
    reply.headers.emplace_back("retry-after", std::to_string(wait_s));
    reply.headers.emplace_back("retry-after-ms", std::to_string(wait_ms));
  }
  return reply;
}

}  // namespace hydrate::mock
