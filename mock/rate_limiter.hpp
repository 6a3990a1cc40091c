#pragma once
// Requests-per-minute and tokens-per-minute limits enforced the way OpenAI documents them: each
// limit is a bucket that replenishes continuously (a full minute's worth over one minute, not in
// fixed windows); a request is admitted only when both buckets hold what it asks for, and then
// takes one request and its estimated tokens (prompt plus max_tokens). A refused request takes
// nothing. The clock is passed in, so the arithmetic is exact and testable. Thread-safe.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace hydrate::mock {

struct RateLimits {
  std::int64_t requests_per_minute = 0;  // > 0
  std::int64_t tokens_per_minute = 0;    // > 0
  // How many requests the bucket holds when full; requests_per_minute for OpenAI, a tenth of a
  // minute's worth for Azure (it enforces RPM over 10-second windows). Refill is always RPM/60 s.
  std::int64_t request_burst = 0;
};

// Which limit refused a request: OpenAI's error "type" ("requests" or "tokens").
enum class LimitKind { requests, tokens };

// Where both buckets stand, as the x-ratelimit-* headers report it.
struct LimitState {
  std::int64_t limit_requests = 0;
  std::int64_t limit_tokens = 0;
  std::int64_t remaining_requests = 0;  // whole requests left now
  std::int64_t remaining_tokens = 0;    // whole tokens left now
  std::int64_t reset_requests_ms = 0;   // until the request bucket is full again
  std::int64_t reset_tokens_ms = 0;     // until the token bucket is full again
};

struct Admission {
  bool admitted = false;
  LimitState state;  // after taking this request when admitted; unchanged when refused
  // Refused only: the limit that refused it, how much of that limit is in use, what the request
  // asked for, and how long until it would be admitted (-1: never, it asks for more than the
  // whole limit).
  LimitKind refused_by = LimitKind::requests;
  std::int64_t used = 0;
  std::int64_t requested = 0;
  std::int64_t retry_after_ms = 0;
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // Both buckets start full at `start`.
  RateLimiter(RateLimits limits, Clock::time_point start);

  // Admits a request that asks for `tokens` at `now`, or refuses it without taking anything.
  Admission admit(Clock::time_point now, std::int64_t tokens);
  // The state at `now`, taking nothing (for answers that were never admitted, such as a 400).
  LimitState peek(Clock::time_point now);
  const RateLimits& limits() const { return limits_; }

 private:
  void refill(Clock::time_point now);
  LimitState state() const;

  const RateLimits limits_;
  std::mutex mutex_;
  Clock::time_point last_;
  double requests_;  // fractional levels: refill is continuous
  double tokens_;
};

// A duration as OpenAI writes it in x-ratelimit-reset-*: Go's time.Duration format at millisecond
// precision, e.g. "0s", "20ms", "1s", "1.5s", "6m0s", "1h2m3.004s".
std::string go_duration(std::int64_t milliseconds);

}  // namespace hydrate::mock
