#pragma once
// How long to keep trying a database that fails: a lost connection or a busy database is retried
// with exponential backoff and jitter until it has failed for outage_ms in a row; then the caller
// gives up, naming the database and the outage. Pure: the caller supplies time and randomness.
#include <optional>
#include <string>

#include "core/backoff.hpp"
#include "core/model.hpp"
#include "core/result.hpp"

namespace hydrate::engine {

struct StoreRetryPolicy {
  Millis outage_ms = 120000;      // give up once the database has failed this long in a row
  RetryPolicy backoff{50, 2000};  // delay scale of the first retry, cap of any retry delay
  std::string database;           // the database as messages name it, any password masked
};

// Errors a retry can fix: a busy database, a lost connection, a server that cannot be reached.
// Everything else (permanent, conflict, not_found …) is an answer from the database.
bool is_retryable_store_error(const Error& error);

// One outage: the failures in a row of any store calls, from the first until a call gets an
// answer. Calls run one at a time, so one outage is shared by all of them: once it has lasted
// outage_ms, every call that still fails gives up at once instead of starting a new wait.
class StoreOutage {
 public:
  explicit StoreOutage(Millis outage_ms) : outage_ms_(outage_ms) {}

  // After a retryable failure at now: how long to wait before the next try (backoff over the
  // failures of this outage, never past its limit), or nullopt when the outage has lasted
  // outage_ms, so the caller gives up. unit_random is a draw from [0, 1).
  std::optional<Millis> next_delay(const RetryPolicy& backoff, Millis now, double unit_random);
  // The database answered: the outage, if any, is over.
  void end() {
    started_at_.reset();
    failures_ = 0;
  }
  bool ongoing() const { return started_at_.has_value(); }
  int failures() const { return failures_; }
  // How long the outage has lasted at now; 0 when there is none.
  Millis elapsed(Millis now) const { return started_at_ ? now - *started_at_ : 0; }

 private:
  Millis outage_ms_;
  std::optional<Millis> started_at_;
  int failures_ = 0;
};

// The error a caller gives up with: unavailable, naming the database, how long it failed and the
// limit, then the last failure.
Error outage_error(const StoreRetryPolicy& policy, Millis elapsed, const Error& last);

}  // namespace hydrate::engine
