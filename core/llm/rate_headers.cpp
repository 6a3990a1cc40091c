#include "core/llm/rate_headers.hpp"

#include <charconv>

#include "core/duration.hpp"

namespace hydrate::llm {
namespace {

std::optional<std::int64_t> count(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < 0) {
    return std::nullopt;
  }
  return value;
}

std::optional<Millis> duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  return parse_duration_ms(text);
}

}  // namespace

std::string_view header_value(const HeaderList& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return {};
}

RateLimitHeaders parse_rate_limit_headers(const HeaderList& headers) {
  RateLimitHeaders out;
  out.limit_requests = count(header_value(headers, "x-ratelimit-limit-requests"));
  out.limit_tokens = count(header_value(headers, "x-ratelimit-limit-tokens"));
  out.remaining_requests = count(header_value(headers, "x-ratelimit-remaining-requests"));
  out.remaining_tokens = count(header_value(headers, "x-ratelimit-remaining-tokens"));
  out.reset_requests_ms = duration(header_value(headers, "x-ratelimit-reset-requests"));
  out.reset_tokens_ms = duration(header_value(headers, "x-ratelimit-reset-tokens"));
  return out;
}

}  // namespace hydrate::llm
