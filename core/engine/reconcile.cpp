#include "core/engine/reconcile.hpp"

#include <algorithm>

#include "core/cascade.hpp"
#include "core/clock.hpp"

namespace hydrate::engine {

namespace {
constexpr const char* kLockName = "reconcile";
}

Result<ReconcileReport> reconcile(store::Store& store, const ReconcileOptions& options,
                                  Millis now) {
  ReconcileReport report;
  auto lock = store.try_lock(kLockName, options.holder, options.lock_ttl_ms, now);
  if (!lock) return lock.error();
  if (!lock->acquired) {
    report.skipped = true;
    report.lock_holder = lock->holder;
    report.lock_expires_at = lock->expires_at;
    return report;
  }
  // The run starts once the lock is ours: the time recorded for it, and the "now" its steps
  // compare leases against, must not predate the previous holder's release.
  now = std::max(now, wall_clock_ms());
  auto body = [&]() -> Status {
    // 1. Expired leases.
    auto rescued = store.rescue_expired_leases(now);
    if (!rescued) return rescued.error();
    report.rescued = *rescued;
    // 2. Cascade repair: content whose child job is missing.
    auto orphans = store.find_orphaned_content(options.batch);
    if (!orphans) return orphans.error();
    std::vector<NewJob> children;
    for (const auto& orphan : *orphans) {
      for (auto& child : children_for_orphan(orphan, now)) children.push_back(std::move(child));
    }
    if (!children.empty()) {
      auto inserted = store.insert_jobs(children, now);
      if (!inserted) return inserted.error();
      report.repaired = *inserted;
    }
    // 3. Roll-up: close every open root whose tree has nothing runnable left (its counters say
    // so; close_root_if_finished checks the jobs themselves before it closes one).
    auto roots = store.settled_open_root_ids(options.batch);
    if (!roots) return roots.error();
    for (const auto& root : *roots) {
      ++report.rolled_up;
      auto closed = store.close_root_if_finished(root, now);
      if (!closed) return closed.error();
      if (closed->has_value()) ++report.closed;
    }
    // 4. Stuck work.
    auto stuck = store.find_stuck(now, options.stuck_after_ms, 100);
    if (!stuck) return stuck.error();
    report.stuck = std::move(*stuck);
    // 5. The run itself, for metrics.
    store::ReconcileRun run{now,
                            wall_clock_ms(),
                            report.rescued,
                            report.repaired,
                            report.rolled_up,
                            report.closed,
                            static_cast<std::int64_t>(report.stuck.size())};
    return store.record_reconcile_run(run);
  };
  auto done = body();
  Millis keep_until = options.min_interval_ms > 0 ? now + options.min_interval_ms : 0;
  auto released =
      store.release_lock(kLockName, options.holder, keep_until > wall_clock_ms() ? keep_until : 0);
  if (!done) return done.error();
  if (!released) return released.error();
  return report;
}

}  // namespace hydrate::engine
