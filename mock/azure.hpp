#pragma once
// What Azure OpenAI itself decides before a request reaches the model: the api-version query
// parameter of POST /openai/deployments/{deployment}/chat/completions, the api-key header, which
// features an api-version has, and Azure's own error shape {"error":{"code","message"}} (errors
// from the model's request checks pass through in OpenAI's shape).
#include <optional>
#include <string>
#include <string_view>

#include "mock/chat_request.hpp"
#include "mock/faults.hpp"

namespace hydrate::mock {

// An Azure-native error answer: {"error":{"code":CODE,"message":MESSAGE}}.
Reply azure_error(int status, std::string code, std::string message);

// The refusal for a missing api-version (404 Resource not found) or one Azure does not serve
// (400 BadRequest, "API version not supported"); empty when the version is served.
std::optional<Reply> refuse_api_version(const std::optional<std::string>& api_version);

// 401 when `api_key` is set and the api-key header is not exactly it; empty otherwise.
std::optional<Reply> refuse_azure_key(const std::string& api_key, const std::string& header);

// What an api-version refuses of a valid request: json_schema before 2024-08-01-preview (a 400
// naming response_format) and reasoning models before 2024-12-01-preview; empty when it passes.
std::optional<Reply> refuse_for_api_version(const ChatRequest& request,
                                            std::string_view api_version);

}  // namespace hydrate::mock
