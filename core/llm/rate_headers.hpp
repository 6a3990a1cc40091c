#pragma once
// The account's rate limits as a provider states them on every answer: OpenAI's (and Azure's)
// x-ratelimit-limit-requests, -limit-tokens, -remaining-requests, -remaining-tokens,
// -reset-requests and -reset-tokens (durations like "6m0s", "1.5s", "20ms"). Pure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/model.hpp"

namespace hydrate::llm {

using HeaderList = std::vector<std::pair<std::string, std::string>>;  // lower-case names

struct RateLimitHeaders {
  std::optional<std::int64_t> limit_requests, limit_tokens;          // per minute
  std::optional<std::int64_t> remaining_requests, remaining_tokens;  // left in the window now
  std::optional<Millis> reset_requests_ms, reset_tokens_ms;  // until the window is full again
  bool any() const {
    return limit_requests || limit_tokens || remaining_requests || remaining_tokens;
  }
};

// Reads the x-ratelimit-* headers; a header that is absent or does not parse stays nullopt.
RateLimitHeaders parse_rate_limit_headers(const HeaderList& headers);

// The value of the first header called name (lower case), or "" when absent.
std::string_view header_value(const HeaderList& headers, std::string_view name);

}  // namespace hydrate::llm
