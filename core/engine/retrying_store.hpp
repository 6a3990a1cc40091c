#pragma once
// RetryingStore: the Store a worker uses, so that a database's transient faults — a lost
// connection, a server restarting, a busy SQLite file — never end it. Every call on the worker's
// path (migrate, claims, the idle check, budget reads, result writes, lease extensions, the call
// log) that fails with a retryable error (is_retryable_store_error) is tried again with backoff
// until it gets an answer or the database has failed for policy.outage_ms in a row
// (StoreOutage); it then returns outage_error, kind unavailable. Other errors come back at once.
// Operator and reconcile calls are passed through untouched. A claim or a lease extension tried
// again has its times moved on by the wait, so a lease runs from the write that made it.
//
// Retrying a write whose commit is in doubt is safe: result writes are fenced on the lease token
// and status running, so a second apply after a first that committed is a conflict, and a call's
// log row is unique on its call_id. begin_reask, which leaves the step running, reads the step's
// attempts back instead of counting a second time.
#include <atomic>
#include <functional>
#include <optional>
#include <random>

#include "core/engine/store_outage.hpp"
#include "core/store/store.hpp"

namespace hydrate::engine {

class RetryingStore final : public store::Store {
 public:
  // stop (optional): once set, a claim stops waiting out an outage and claims nothing; result
  // writes still wait, so that work done is not lost.
  RetryingStore(store::Store& inner, StoreRetryPolicy policy,
                const std::atomic<bool>* stop = nullptr);

  Result<int> migrate() override;
  Result<std::vector<Job>> claim_batch(const store::ClaimRequest& request) override;
  Result<int> extend_leases(const std::vector<store::LeaseRef>& leases, Millis new_expiry) override;
  Result<bool> begin_reask(const store::LeaseRef& lease) override;
  Result<std::set<std::string>> budgeted_roots(const std::vector<std::string>& root_ids) override;
  Result<std::vector<Status>> complete_steps(const std::vector<store::CompletedStep>& steps,
                                             Millis now) override;
  Status release_step(const store::LeaseRef& lease, const std::string& error, Millis run_after,
                      Millis now) override;
  Status return_step(const store::LeaseRef& lease, const std::string& error, Millis now) override;
  Status release_transient(const store::LeaseRef& lease, const std::string& error, Millis run_after,
                           Millis now) override;
  Result<std::string> learned_output_mode(const std::string& endpoint,
                                          const std::string& model) override;
  Status remember_output_mode(const std::string& endpoint, const std::string& model,
                              const std::string& mode, Millis now) override;
  // Not ridden out: the pacer waits a moment on a failed take and asks again, so the worker keeps
  // polling its calls in flight meanwhile.
  Result<RateGrant> take_rate(const RateRequest& request) override {
    return inner_.take_rate(request);
  }
  Status fail_step(const store::LeaseRef& lease, const std::string& error, Millis now) override;
  Status log_call(const CallRecord& call) override;
  Result<store::Reservation> reserve_call(const store::LeaseRef& lease, double worst_case_usd,
                                          Millis now, Millis retry_at) override;
  Result<Job> find_job(const std::string& id) override;
  Result<store::QueueOutlook> queue_outlook(Millis now) override;
  bool wait_for_work(Millis timeout_ms) override { return inner_.wait_for_work(timeout_ms); }

  // The first outage_error any call returned, if one did: the worker must then exit non-zero
  // even when it stopped for another reason, since a result may have been dropped.
  const std::optional<Error>& gave_up() const { return gave_up_; }

  // Passed through without retries.
  Result<store::SubmitOutcome> submit_root(const store::NewRoot& root) override {
    return inner_.submit_root(root);
  }
  Result<store::RootRecord> set_budget(const std::string& root_id, double budget_usd) override {
    return inner_.set_budget(root_id, budget_usd);
  }
  Result<store::RootRecord> find_root(const std::string& id) override {
    return inner_.find_root(id);
  }
  Result<std::vector<store::RootRecord>> recent_roots(int limit) override {
    return inner_.recent_roots(limit);
  }
  Result<std::vector<store::RootRecord>> list_roots(std::optional<JobStatus> status, int limit,
                                                    int offset) override {
    return inner_.list_roots(status, limit, offset);
  }
  Result<store::TreeCounts> tree_counts(const std::string& root_id) override {
    return inner_.tree_counts(root_id);
  }
  Result<std::vector<Job>> recent_errors(const std::string& root_id, int limit) override {
    return inner_.recent_errors(root_id, limit);
  }
  Result<store::JobView> view_job(const std::string& id, int error_limit) override {
    return inner_.view_job(id, error_limit);
  }
  Result<std::vector<store::ChapterContent>> load_content(const std::string& root_id) override {
    return inner_.load_content(root_id);
  }
  Result<History> history(const std::string& model, const Slot& slot, int max_roots) override {
    return inner_.history(model, slot, max_roots);
  }
  Result<int> cancel(const std::string& job_id, const std::string& reason, Millis now) override {
    return inner_.cancel(job_id, reason, now);
  }
  Result<int> requeue(const std::string& job_id, Millis now) override {
    return inner_.requeue(job_id, now);
  }
  Result<store::LockOutcome> try_lock(const std::string& name, const std::string& holder,
                                      Millis ttl_ms, Millis now) override {
    return inner_.try_lock(name, holder, ttl_ms, now);
  }
  Status release_lock(const std::string& name, const std::string& holder,
                      Millis keep_until) override {
    return inner_.release_lock(name, holder, keep_until);
  }
  Result<int> rescue_expired_leases(Millis now) override {
    return inner_.rescue_expired_leases(now);
  }
  Result<std::vector<store::OrphanedContent>> find_orphaned_content(int limit) override {
    return inner_.find_orphaned_content(limit);
  }
  Result<int> insert_jobs(const std::vector<NewJob>& jobs, Millis now) override {
    return inner_.insert_jobs(jobs, now);
  }
  Result<std::vector<std::string>> open_root_ids(int limit) override {
    return inner_.open_root_ids(limit);
  }
  Result<std::vector<std::string>> settled_open_root_ids(int limit) override {
    return inner_.settled_open_root_ids(limit);
  }
  Result<std::optional<JobStatus>> close_root_if_finished(const std::string& root_id,
                                                          Millis now) override {
    return inner_.close_root_if_finished(root_id, now);
  }
  Result<std::vector<Job>> find_stuck(Millis now, Millis threshold_ms, int limit) override {
    return inner_.find_stuck(now, threshold_ms, limit);
  }
  Status record_reconcile_run(const store::ReconcileRun& run) override {
    return inner_.record_reconcile_run(run);
  }
  Result<std::vector<store::MetricSample>> read_metrics(Millis now,
                                                        Millis stuck_after_ms) override {
    return inner_.read_metrics(now, stuck_after_ms);
  }
  Result<store::OpsFacts> ops_facts(Millis since, Millis now) override {
    return inner_.ops_facts(since, now);
  }
  // The batch cycle's calls, ridden out as the worker's are (each is safe to run again: the
  // cycle picks up from what the database says); a stop ends the wait.
  Result<bool> batch_work_due(Millis now) override;
  Result<std::optional<store::BatchClaim>> claim_for_batch(
      const store::BatchClaimRequest& request) override;
  Result<std::vector<store::BatchRecord>> take_open_batches(const std::string& holder,
                                                            Millis hold_ms, Millis now,
                                                            int limit) override;
  Result<std::vector<Job>> batch_steps(const store::BatchRecord& batch) override;
  Result<store::BatchFit> fit_batch(store::BatchRecord& batch,
                                    const store::BatchFitRequest& request) override;
  Status update_batch(const store::BatchRecord& batch, const std::string& holder,
                      Millis now) override;
  Result<int> close_batch(const store::BatchRecord& batch, const std::string& holder,
                          Millis now) override;
  Result<std::vector<store::BatchRecord>> root_batches(const std::string& root_id,
                                                       int limit) override {
    return inner_.root_batches(root_id, limit);
  }

 private:
  // Runs call until it returns a value or a non-retryable error, or the outage passes its limit.
  // keep_waiting (optional) is asked before each wait; false returns the last error.
  template <class F>
  auto ride_out(F&& call, const std::function<bool()>& keep_waiting = nullptr) -> decltype(call());

  store::Store& inner_;
  StoreRetryPolicy policy_;
  const std::atomic<bool>* stop_;
  StoreOutage outage_;
  std::optional<Error> gave_up_;
  std::mt19937_64 random_{std::random_device{}()};
};

// Opens (and migrates) the store at url like store::open_store, riding out an unreachable or
// failing database the same way. Returns nullptr, not an error, when stop was set while it
// waited (a stop asked for at start-up is an orderly exit).
Result<std::unique_ptr<store::Store>> open_store_riding_out(const std::string& url,
                                                            const store::OpenOptions& options,
                                                            const StoreRetryPolicy& policy,
                                                            const std::atomic<bool>* stop);

}  // namespace hydrate::engine
