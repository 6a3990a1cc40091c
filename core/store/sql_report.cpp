// The operations report's reads of the SQL store: one read transaction over the window's
// finished roots, reconcile runs, attempt log, rejected answers, held locks and the finished
// roots' calls and batches by mode (sql_batch_reads.cpp), each query driven by an index on its
// time column (sql/sqlite/006_attempts.sql, 012_history_reads.sql).
#include <fmt/format.h>

#include <string_view>

#include "core/store/sql_store_impl.hpp"

namespace hydrate::store::sql {

namespace {

constexpr int kMaxRejectionTexts = 1000;

// What ends a claim (the CHECK of attempts.outcome, sql/sqlite/006_attempts.sql), and
// "in_flight" for a claim not ended (outcome NULL).
constexpr const char* kAttemptOutcomes[] = {"succeeded",  "retried",   "failed",
                                            "lease_lost", "cancelled", "in_flight"};

// The roots whose finished_at is in the window: only closing or cancelling a root sets it, and
// reopening one clears it, so each is final. No status filter: SQLite would take roots_status
// for it and read every succeeded root of the database instead of the window's.
std::vector<FinishedRoot> finished_roots(Connection& db, Millis since, Millis now) {
  std::vector<FinishedRoot> out;
  auto rows = db.run(
      "SELECT job_id, status, language, board, grade, subject, estimated_cost_usd, "
      "(SELECT c.cost_usd FROM tree_counts c WHERE c.root_id = roots.job_id), "
      "created_at, finished_at, mode FROM roots "
      "WHERE finished_at >= ?1 AND finished_at <= ?2 ORDER BY finished_at, job_id",
      params(since, now));
  for (const auto& row : rows.rows) {
    FinishedRoot root;
    root.id = row.text(0);
    root.status = parse_job_status(row.text(1)).value_or(JobStatus::failed);
    root.slot = Slot{row.text(2), row.text(3), row.text(4), row.text(5)};
    root.estimated_cost_usd = row.real(6);
    root.spent_usd = row.real(7);
    root.created_at = row.int64(8);
    root.finished_at = row.int64(9);
    root.mode = parse_call_mode(row.text(10)).value_or(CallMode::online);
    out.push_back(std::move(root));
  }
  return out;
}

}  // namespace

Result<OpsFacts> SqlStore::ops_facts(Millis since, Millis now) {
  return read("reading the operations report", [&]() -> Result<OpsFacts> {
    OpsFacts facts;
    facts.roots = finished_roots(*db_, since, now);

    for (const auto& row : run("SELECT finished_at - started_at FROM reconcile_runs "
                               "WHERE started_at >= ?1 AND started_at <= ?2 ORDER BY started_at",
                               params(since, now))
                               .rows) {
      facts.reconcile_ms.push_back(row.int64(0));
    }
    facts.last_reconcile_at =
        run("SELECT coalesce(max(finished_at), 0) FROM reconcile_runs").front().int64(0);

    // One count per outcome the schema allows, each a range of attempts_outcome_claimed read in
    // the index alone (migration 012): grouping the window's claims instead sorted every one of
    // them on SQLite (0.3 s of CPU for a million).
    for (const char* outcome : kAttemptOutcomes) {
      const bool in_flight = outcome == std::string_view("in_flight");
      std::int64_t n =
          run(in_flight ? "SELECT count(*) FROM attempts WHERE outcome IS NULL "
                          "AND claimed_at >= ?1 AND claimed_at <= ?2"
                        : "SELECT count(*) FROM attempts WHERE outcome = ?3 "
                          "AND claimed_at >= ?1 AND claimed_at <= ?2",
              in_flight ? params(since, now) : params(since, now, std::string(outcome)))
              .front()
              .int64(0);
      if (n > 0) facts.attempts[outcome] = n;
    }

    // Answers the model gave that were not used: rejected by the validator or cut off. The
    // worker's record of a result the store refused (kResultNotSaved) is not one.
    const std::string refused = std::string(kResultNotSaved) + "%";
    auto rejected =
        run(fmt::format("SELECT j.kind, c.error, count(*) FROM llm_calls c "
                        "JOIN jobs j ON j.id = c.job_id "
                        "WHERE c.used = 0 AND c.created_at >= ?1 AND c.created_at <= ?2 "
                        "AND c.http_status = 200 AND c.error IS NOT NULL "
                        "AND c.error NOT LIKE ?3 "
                        "GROUP BY j.kind, c.error ORDER BY count(*) DESC, j.kind, "
                        "c.error LIMIT {}",
                        kMaxRejectionTexts),
            params(since, now, refused));
    for (const auto& row : rejected.rows) {
      facts.rejections.push_back(RejectionCount{
          parse_job_kind(row.text(0)).value_or(JobKind::subject), row.text(1), row.int64(2)});
    }

    facts.results_refused = run("SELECT count(*) FROM llm_calls WHERE used = 0 "
                                "AND created_at >= ?1 AND created_at <= ?2 "
                                "AND error LIKE ?3",
                                params(since, now, refused))
                                .front()
                                .int64(0);

    for (const auto& row : run("SELECT name, holder, expires_at FROM locks "
                               "WHERE expires_at >= ?1 ORDER BY name",
                               params(now))
                               .rows) {
      facts.locks.push_back(HeldLock{row.text(0), row.text(1), row.int64(2)});
    }
    read_window_modes(*db_, since, now, facts);
    return facts;
  });
}

}  // namespace hydrate::store::sql
