#include "mock/azure.hpp"

#include <algorithm>
#include <array>

#include <nlohmann/json.hpp>

#include "mock/flavor.hpp"

namespace hydrate::mock {
namespace {

// The data-plane inference versions Azure OpenAI documents (GA and preview).
constexpr std::array<std::string_view, 24> kApiVersions = {
    "2022-12-01",         "2023-05-15",         "2024-02-01",         "2024-06-01",
    "2024-10-21",         "2023-03-15-preview", "2023-06-01-preview", "2023-07-01-preview",
    "2023-08-01-preview", "2023-09-01-preview", "2023-12-01-preview", "2024-02-15-preview",
    "2024-03-01-preview", "2024-04-01-preview", "2024-05-01-preview", "2024-07-01-preview",
    "2024-08-01-preview", "2024-09-01-preview", "2024-10-01-preview", "2024-12-01-preview",
    "2025-01-01-preview", "2025-02-01-preview", "2025-03-01-preview", "2025-04-01-preview"};

constexpr std::string_view kStructuredOutputsSince = "2024-08-01-preview";
constexpr std::string_view kReasoningModelsSince = "2024-12-01-preview";

// Whether `version` is `since` or later: versions compare by their date; on the same date a GA
// version counts as later than its preview.
bool at_least(std::string_view version, std::string_view since) {
  const std::string_view date = version.substr(0, 10);
  const std::string_view since_date = since.substr(0, 10);
  if (date != since_date) return date > since_date;
  return version.size() <= since.size();
}

}  // namespace

Reply azure_error(int status, std::string code, std::string message) {
  const nlohmann::ordered_json body = {{"error", {{"code", code}, {"message", message}}}};
  Reply reply;
  reply.status = status;
  reply.body = body.dump();
  return reply;
}

std::optional<Reply> refuse_api_version(const std::optional<std::string>& api_version) {
  if (!api_version || api_version->empty()) {
    return azure_error(404, "404", "Resource not found");
  }
  if (std::find(kApiVersions.begin(), kApiVersions.end(), *api_version) == kApiVersions.end()) {
    return azure_error(400, "BadRequest", "API version not supported");
  }
  return std::nullopt;
}

std::optional<Reply> refuse_azure_key(const std::string& api_key, const std::string& header) {
  if (api_key.empty() || header == api_key) {
    return std::nullopt;
  }
  return azure_error(401, "401",
                     "Access denied due to invalid subscription key or wrong API endpoint. Make "
                     "sure to provide a valid key for an active subscription and use a correct "
                     "regional API endpoint for your resource.");
}

std::optional<Reply> refuse_for_api_version(const ChatRequest& request,
                                            std::string_view api_version) {
  if (is_reasoning_model(request.model) && !at_least(api_version, kReasoningModelsSince)) {
    return azure_error(400, "BadRequest",
                       "Model " + request.model + " is enabled only for api versions " +
                           std::string(kReasoningModelsSince) + " and later");
  }
  if (request.format == ResponseFormat::json_schema &&
      !at_least(api_version, kStructuredOutputsSince)) {
    return error_reply({400,
                        "response_format value as json_schema is enabled only for api versions " +
                            std::string(kStructuredOutputsSince) + " and later",
                        "invalid_request_error", "response_format", "BadRequest"},
                       {});
  }
  return std::nullopt;
}

}  // namespace hydrate::mock
