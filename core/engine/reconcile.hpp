#pragma once
// Reconcile: the idempotent pass cron runs every few minutes. One reconciler at a time holds the
// lock row; the others return at once with skipped set, naming the holder.
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/store/store.hpp"

namespace hydrate::engine {

struct ReconcileOptions {
  std::string holder;              // e.g. host:pid
  Millis lock_ttl_ms = 300000;     // a holder that died frees the lock after this
  Millis stuck_after_ms = 900000;  // pending and due for longer than this counts as stuck
  int batch = 10000;               // rows examined per step at most
  // Keep the lock this long after the run started, so reconcilers fired together from several
  // machines' crons do the work once; 0 frees it as soon as the run ends.
  Millis min_interval_ms = 0;
};

struct ReconcileReport {
  bool skipped = false;     // another reconciler holds the lock
  std::string lock_holder;  // the holder when skipped
  Millis lock_expires_at = 0;
  std::int64_t rescued = 0;    // expired leases put back (or failed when out of attempts)
  std::int64_t repaired = 0;   // missing children created
  std::int64_t rolled_up = 0;  // open roots examined: those with nothing pending or running
  std::int64_t closed = 0;     // roots closed as succeeded or failed
  std::vector<Job> stuck;
};

// Runs the five steps of ../shared/DESIGN.md "Reconcile" under the lock, then releases it.
// `now` is when the caller asked; the run itself is timed from when it got the lock.
Result<ReconcileReport> reconcile(store::Store& store, const ReconcileOptions& options, Millis now);

}  // namespace hydrate::engine
