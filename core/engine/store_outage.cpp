#include "core/engine/store_outage.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace hydrate::engine {

bool is_retryable_store_error(const Error& error) {
  return error.kind == ErrorKind::transient || error.kind == ErrorKind::unavailable;
}

std::optional<Millis> StoreOutage::next_delay(const RetryPolicy& backoff, Millis now,
                                              double unit_random) {
  if (!started_at_) started_at_ = now;
  ++failures_;
  Millis left = *started_at_ + outage_ms_ - now;
  if (left <= 0) return std::nullopt;
  // The last try falls on the limit itself, so an outage of exactly outage_ms is survived.
  return std::min(left, retry_delay(backoff, failures_, unit_random, std::nullopt));
}

Error outage_error(const StoreRetryPolicy& policy, Millis elapsed, const Error& last) {
  return make_error(
      ErrorKind::unavailable,
      fmt::format("gave up on {} after {:.1f} s of failures in a row (the limit, "
                  "work.store_outage_seconds, is {} s); the last one: {}",
                  policy.database.empty() ? "the database" : policy.database,
                  static_cast<double>(elapsed) / 1000.0, policy.outage_ms / 1000, last.message));
}

}  // namespace hydrate::engine
