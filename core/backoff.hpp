#pragma once
// When a retryable failure may run again: exponential backoff with jitter, never earlier than
// the server's retry-after. Pure: the caller supplies the random draw.
#include <cstdint>
#include <optional>

#include "core/model.hpp"

namespace hydrate {

struct RetryPolicy {
  Millis base_ms = 1000;  // delay scale of the first retry
  Millis max_ms = 60000;  // cap of any computed delay
};

// Delay before the next try after `attempt` failed tries (attempt >= 1). The exponential part is
// min(max_ms, base_ms * 2^(attempt-1)); "equal jitter" draws uniformly from its upper half
// (unit_random in [0,1)), so delays grow but never synchronise. A server retry-after is a floor.
Millis retry_delay(const RetryPolicy& policy, int attempt, double unit_random,
                   std::optional<std::int64_t> retry_after_ms);

}  // namespace hydrate
