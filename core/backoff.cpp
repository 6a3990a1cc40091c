#include "core/backoff.hpp"

#include <algorithm>

namespace hydrate {

Millis retry_delay(const RetryPolicy& policy, int attempt, double unit_random,
                   std::optional<std::int64_t> retry_after_ms) {
  int exponent = std::clamp(attempt - 1, 0, 30);
  double ceiling = std::min<double>(static_cast<double>(policy.max_ms),
                                    static_cast<double>(policy.base_ms) * double(1LL << exponent));
  double jitter = std::clamp(unit_random, 0.0, 1.0);
  auto delay = static_cast<Millis>(ceiling / 2 + jitter * ceiling / 2);
  if (retry_after_ms && *retry_after_ms > delay) delay = *retry_after_ms;
  return delay;
}

bool transient_retry_left(const RetryPolicy& policy, int retries, Millis first_at, Millis now) {
  if (retries >= policy.max_transient) return false;
  return first_at <= 0 || now - first_at < policy.max_elapsed_ms;
}

}  // namespace hydrate
