#include "mock/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace hydrate::mock {
namespace {

constexpr double kMillisPerMinute = 60000.0;

// Milliseconds until `level` reaches `wanted` at `per_ms`; 0 when it already has.
std::int64_t millis_until(double level, double wanted, double per_ms) {
  if (level >= wanted) return 0;
  return static_cast<std::int64_t>(std::ceil((wanted - level) / per_ms));
}

}  // namespace

RateLimiter::RateLimiter(RateLimits limits, Clock::time_point start)
    : limits_(limits),
      last_(start),
      requests_(static_cast<double>(limits.request_burst)),
      tokens_(static_cast<double>(limits.tokens_per_minute)) {}

void RateLimiter::refill(Clock::time_point now) {
  if (now <= last_) return;
  const double elapsed_ms = std::chrono::duration<double, std::milli>(now - last_).count();
  last_ = now;
  requests_ = std::min(
      static_cast<double>(limits_.request_burst),
      requests_ + elapsed_ms * static_cast<double>(limits_.requests_per_minute) / kMillisPerMinute);
  tokens_ = std::min(
      static_cast<double>(limits_.tokens_per_minute),
      tokens_ + elapsed_ms * static_cast<double>(limits_.tokens_per_minute) / kMillisPerMinute);
}

LimitState RateLimiter::state() const {
  const double request_rate = static_cast<double>(limits_.requests_per_minute) / kMillisPerMinute;
  const double token_rate = static_cast<double>(limits_.tokens_per_minute) / kMillisPerMinute;
  LimitState state;
  state.limit_requests = limits_.requests_per_minute;
  state.limit_tokens = limits_.tokens_per_minute;
  state.remaining_requests = static_cast<std::int64_t>(std::floor(requests_));
  state.remaining_tokens = static_cast<std::int64_t>(std::floor(tokens_));
  state.reset_requests_ms =
      millis_until(requests_, static_cast<double>(limits_.request_burst), request_rate);
  state.reset_tokens_ms =
      millis_until(tokens_, static_cast<double>(limits_.tokens_per_minute), token_rate);
  return state;
}

Admission RateLimiter::admit(Clock::time_point now, std::int64_t tokens) {
  const std::lock_guard lock(mutex_);
  refill(now);
  const double request_rate = static_cast<double>(limits_.requests_per_minute) / kMillisPerMinute;
  const double token_rate = static_cast<double>(limits_.tokens_per_minute) / kMillisPerMinute;
  const auto wanted = static_cast<double>(tokens);
  Admission result;
  if (requests_ >= 1.0 && tokens_ >= wanted) {
    requests_ -= 1.0;
    tokens_ -= wanted;
    result.admitted = true;
    result.state = state();
    return result;
  }
  result.state = state();
  if (requests_ < 1.0) {
    result.refused_by = LimitKind::requests;
    result.used = limits_.request_burst - result.state.remaining_requests;
    result.requested = 1;
  } else {
    result.refused_by = LimitKind::tokens;
    result.used = limits_.tokens_per_minute - result.state.remaining_tokens;
    result.requested = tokens;
  }
  if (tokens > limits_.tokens_per_minute) {
    result.refused_by = LimitKind::tokens;
    result.used = limits_.tokens_per_minute - result.state.remaining_tokens;
    result.requested = tokens;
    result.retry_after_ms = -1;
    return result;
  }
  result.retry_after_ms = std::max({millis_until(requests_, 1.0, request_rate),
                                    millis_until(tokens_, wanted, token_rate), std::int64_t{1}});
  return result;
}

LimitState RateLimiter::peek(Clock::time_point now) {
  const std::lock_guard lock(mutex_);
  refill(now);
  return state();
}

std::string go_duration(std::int64_t milliseconds) {
  if (milliseconds <= 0) return "0s";
  if (milliseconds < 1000) return std::to_string(milliseconds) + "ms";
  const std::int64_t hours = milliseconds / 3600000;
  const std::int64_t minutes = milliseconds / 60000 % 60;
  const std::int64_t seconds = milliseconds / 1000 % 60;
  const std::int64_t millis = milliseconds % 1000;
  std::string out;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  out += std::to_string(seconds);
  if (millis > 0) {
    std::string fraction = std::to_string(1000 + millis).substr(1);  // three digits
    while (fraction.back() == '0') fraction.pop_back();
    out += "." + fraction;
  }
  return out + "s";
}

}  // namespace hydrate::mock
