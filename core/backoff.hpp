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
  // The transient-fault budget of a step, apart from its attempts: it fails once either is spent.
  Millis max_elapsed_ms = 30 * 60 * 1000;  // from the step's first transient fault
  int max_transient = 200;                 // transient retries in all
};

// Whether a step may retry one more transient fault at now, having retried `retries` of them
// since the first at first_at (0 = none yet).
bool transient_retry_left(const RetryPolicy& policy, int retries, Millis first_at, Millis now);

// Delay before the next try after `attempt` failed tries (attempt >= 1). The exponential part is
// min(max_ms, base_ms * 2^(attempt-1)); "equal jitter" draws uniformly from its upper half
// (unit_random in [0,1)), so delays grow but never synchronise. A server retry-after is a floor.
Millis retry_delay(const RetryPolicy& policy, int attempt, double unit_random,
                   std::optional<std::int64_t> retry_after_ms);

}  // namespace hydrate
