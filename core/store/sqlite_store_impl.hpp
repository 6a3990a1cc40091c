#pragma once
// Private: the SQLite Store implementation, split over sqlite_store.cpp (schema, submit, claims,
// step results), sqlite_reads.cpp (queries) and sqlite_admin.cpp (operator and reconcile work).
#include "core/store/sqlite_db.hpp"

namespace hydrate::store::sqlite {

class SqliteStore final : public Store {
 public:
  SqliteStore(const std::string& path, int flags, int busy_timeout_ms);

  Result<int> migrate() override;
  Result<SubmitOutcome> submit_root(const NewRoot& root) override;
  Result<std::vector<Job>> claim_batch(const ClaimRequest& request) override;
  Result<int> extend_leases(const std::vector<LeaseRef>& leases, Millis new_expiry) override;
  Result<bool> begin_reask(const LeaseRef& lease) override;
  Status complete_step(const LeaseRef& lease, const StepOutput& output, Millis now) override;
  Status release_step(const LeaseRef& lease, const std::string& error, Millis run_after) override;
  Status fail_step(const LeaseRef& lease, const std::string& error, Millis now) override;
  Status log_call(const CallRecord& call) override;

  Result<Job> find_job(const std::string& id) override;
  Result<RootRecord> find_root(const std::string& id) override;
  Result<std::vector<RootRecord>> recent_roots(int limit) override;
  Result<TreeCounts> tree_counts(const std::string& root_id) override;
  Result<std::vector<Job>> recent_errors(const std::string& root_id, int limit) override;
  Result<std::vector<ChapterContent>> load_content(const std::string& root_id) override;
  Result<QueueOutlook> queue_outlook(Millis now) override;

  Result<int> cancel(const std::string& job_id, const std::string& reason, Millis now) override;
  Result<int> requeue(const std::string& job_id, Millis now) override;

  Result<LockOutcome> try_lock(const std::string& name, const std::string& holder, Millis ttl_ms,
                               Millis now) override;
  Status release_lock(const std::string& name, const std::string& holder) override;
  Result<int> rescue_expired_leases(Millis now) override;
  Result<std::vector<OrphanedContent>> find_orphaned_content(int limit) override;
  Result<int> insert_jobs(const std::vector<NewJob>& jobs, Millis now) override;
  Result<std::vector<std::string>> open_root_ids(int limit) override;
  Result<std::optional<JobStatus>> close_root_if_finished(const std::string& root_id,
                                                          Millis now) override;
  Result<std::vector<Job>> find_stuck(Millis now, Millis threshold_ms, int limit) override;
  Status record_reconcile_run(const ReconcileRun& run) override;
  Result<std::vector<MetricSample>> read_metrics() override;

 private:
  // Marks a held step with a terminal or retry state; shared by release_step and fail_step.
  Status finish_attempt(const LeaseRef& lease, const std::string& error, bool retry,
                        Millis run_after, Millis now);
  std::optional<RootRecord> read_root(const std::string& id);

  SQLite::Database db_;
};

}  // namespace hydrate::store::sqlite
