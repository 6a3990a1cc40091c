#pragma once
// Private: the Store implemented once over a SqlConnection, for SQLite and PostgreSQL alike.
// Split over sql_store.cpp (schema, submit, claims, step results), sql_reads.cpp (queries) and
// sql_admin.cpp (operator and reconcile work); sql_common.cpp holds the shared pieces.
#include <map>
#include <memory>
#include <optional>

#include "core/store/sql_connection.hpp"
#include "core/store/store.hpp"

namespace hydrate::store::sql {

// Parameters of a statement, converting the integer types to 64 bits.
inline Value value(const std::string& v) {
  return v;
}
inline Value value(const char* v) {
  return std::string(v);
}
inline Value value(double v) {
  return v;
}
inline Value value(bool v) {
  return static_cast<std::int64_t>(v ? 1 : 0);
}
inline Value value(int v) {
  return static_cast<std::int64_t>(v);
}
inline Value value(long v) {
  return static_cast<std::int64_t>(v);
}
inline Value value(long long v) {
  return static_cast<std::int64_t>(v);
}
inline Value value(std::size_t v) {
  return static_cast<std::int64_t>(v);
}
// NULL when absent.
inline Value value(const std::optional<std::int64_t>& v) {
  return v ? Value(*v) : Value(nullptr);
}
template <class... Args>
std::vector<Value> params(const Args&... args) {
  return {value(args)...};
}
// Appends args' values to values: one row's share of a multi-row statement's parameters.
template <class... Args>
void append_params(std::vector<Value>& values, const Args&... args) {
  (values.push_back(value(args)), ...);
}

extern const char* const kJobColumns;  // the columns read_job expects, in order
inline constexpr std::size_t kJobColumnCount = 23;
// kJobColumns with every column prefixed by alias and a dot.
std::string job_columns(const char* alias);

// An IN list of values[first..] for the texts keys: "?N, ?N+1, …", padded to a power of two
// by repeating the last key, so that the statement cache holds a handful of texts whatever
// the count. Appends the keys (padded) to values.
std::string in_list(const std::vector<std::string>& keys, std::vector<Value>& values);
Job read_job(const Row& row, std::size_t offset = 0);
// Runs a statement over many rows, by statements of "<head> <row>, <row>, … <tail>": head ends
// where the rows begin ("INSERT INTO t (a, b) VALUES", "UPDATE t … FROM (VALUES"), row is a
// template such as "(?, NULLIF(?, ''))" whose every '?' takes the next of values (one row's
// count of them per row, row after row), numbered after the shared values, which head and tail
// name as ?1 … ?N. Each statement holds a power of two of rows, at most 64, so that a
// connection prepares a handful of texts whatever the count: a short one repeats its last row
// (a statement must therefore take a repeated row as it takes the row once: an INSERT ... ON
// CONFLICT DO NOTHING, or an UPDATE ... FROM (VALUES ...) joining on a key). Returns every
// statement's result rows (RETURNING) and the rows affected, summed.
Rows run_rows(Connection& db, std::string_view head, std::string_view row, std::string_view tail,
              const std::vector<Value>& values, const std::vector<Value>& shared = {});

// Inside a write transaction: adds delta to a counter, written when the transaction commits.
void add_metric(Connection& db, const std::string& name, const std::string& labels, double delta);
// Writes the transaction's metric deltas (Connection::metric_deltas) in one statement, in key
// order (two writers lock shared rows in the same order), and forgets them.
void write_metrics(Connection& db);
void set_metric(Connection& db, const std::string& name, const std::string& labels, double value);
// Inside a transaction: closes the root when nothing of its tree is pending or running. On
// PostgreSQL it locks the root row first, so of two closers finishing a tree's last steps at once
// the second sees the first's commit.
std::optional<JobStatus> close_root(Connection& db, const std::string& root_id, Millis now);
// Inside a transaction: the first of a tree's open statuses as this transaction sees it, pending
// before running, or nothing when none is open (one probe of jobs_root; no lock).
std::optional<JobStatus> first_open_status(Connection& db, const std::string& root_id);
// Inside a transaction: inserts jobs, skipping existing (parent, kind, position). Returns count.
int insert_job_rows(Connection& db, const std::vector<NewJob>& jobs, Millis now);

// The strings of a JSON array stored as text (objectives, options, key points); empty when the
// text is not an array, non-string items skipped.
std::vector<std::string> string_list(const std::string& text);

// Inside a transaction: ends the attempt of a step held under lease — back to pending due at
// run_after (retry) or failed — clearing the lease and the reservation, the attempt given back
// when uncounted; error becomes the last error unless empty. The step's kind and root, or nullopt
// when the lease is no longer held (nothing changed).
struct EndedAttempt {
  JobKind kind;
  std::string root_id;
};
std::optional<EndedAttempt> end_held_attempt(Connection& db, const LeaseRef& lease, bool retry,
                                             const std::string& error, Millis run_after, Millis now,
                                             bool uncounted);

// Inside a claim's transaction: the attempt log of the claimed steps (found through the running
// index by token and lease expiry): a step claimed again after its lease expired ends its
// previous claim as lost, then one open row per claim. Only a step started before now can have
// an open claim, so a claim of steps all started now skips the first.
void open_attempts(Connection& db, const std::vector<Job>& claimed, const std::string& token,
                   Millis now, Millis expiry);

// Inside a read (sql_batch_reads.cpp): appends hydrate_batches{status} for every status of
// batch::kStatuses and any other some record has, counted from the batches_status index.
void append_batch_gauges(Connection& db, std::vector<MetricSample>& out);
// Inside a read (sql_batch_reads.cpp): the calls and the batch records of the roots finished
// within [since, now], found from the roots' finished_at index.
void read_window_modes(Connection& db, Millis since, Millis now, OpsFacts& facts);

// Inside a transaction: ends the attempt-log row of the claim behind lease with outcome (see
// sql/sqlite/006_attempts.sql); nothing when that row is ended already.
void end_attempt(Connection& db, const LeaseRef& lease, const char* outcome, Millis now);
// The same for the claims behind several leases, by statements of up to 64 (run_rows).
void end_attempts(Connection& db, const std::vector<LeaseRef>& leases, const char* outcome,
                  Millis now);

// The tree stops for its budget (the held steps already ended by the caller): its pending steps
// fail unstarted, the root's reason becomes kBudgetExhausted, and it closes once nothing runs.
void stop_for_budget(Connection& db, const std::string& root_id, Millis now);

// What counts against a root's budget at now, read by one statement: its spend (its counters'
// cost_usd) and what its calls and batches in flight hold, the reservations of its steps under a
// live lease and of its open batches, but for the step or the batch (and its steps) being
// reserved for. One snapshot sees a call's commit (its cost in, its reservation out) whole or not
// at all; the caller holds the root's row lock, which orders the reservations of one tree.
struct InFlightExcept {
  std::string job_id;       // an online step
  std::string batch_token;  // a batch's lease token
};
struct RootSpend {
  double spent_usd = 0;
  double reserved_usd = 0;
};
RootSpend root_spend(Connection& db, const std::string& root_id, Millis now,
                     const InFlightExcept& except);

// Inside a transaction: adds each delta to the named column of root_id's row of tree_counts
// (sql/sqlite/007_tree_counts.sql). SQLite writes the row; PostgreSQL appends the moves, folded
// into the row when the transaction commits (sql/postgres/008_tree_count_moves.sql). Column
// names are hydrate's own, never input.
struct CountDelta {
  std::string column;
  Value delta;
};
void add_tree_counts(Connection& db, const std::string& root_id,
                     const std::vector<CountDelta>& deltas);
// The counter moves of several statements of one transaction, added up by tree and column and
// written by one add_tree_counts a tree, in root order.
class TreeMoves {
 public:
  void add(const std::string& root_id, const std::string& column, std::int64_t delta);
  void add(const std::string& root_id, const std::string& column, double delta);
  void write(Connection& db) const;

 private:
  std::map<std::string, std::map<std::string, Value>> by_root_;
};

// Inside a transaction: logs a model call, adds its cost to the job and counts it in metrics;
// nothing when a call with its call_id is logged already.
void insert_call(Connection& db, const CallRecord& call);
// The same for the calls of several steps (one call a step), by a statement for them all where
// one would do: the calls in one INSERT, their jobs' costs in one UPDATE, each tree's totals
// added to moves (written by the caller).
void insert_calls(Connection& db, const std::vector<const CallRecord*>& calls, TreeMoves& moves);

class SqlStore final : public Store {
 public:
  explicit SqlStore(std::unique_ptr<Connection> connection) : db_(std::move(connection)) {}

  Result<int> migrate() override;
  Result<SubmitOutcome> submit_root(const NewRoot& root) override;
  Result<std::vector<Job>> claim_batch(const ClaimRequest& request) override;
  Result<int> extend_leases(const std::vector<LeaseRef>& leases, Millis new_expiry) override;
  Result<bool> begin_reask(const LeaseRef& lease) override;
  Result<std::set<std::string>> budgeted_roots(const std::vector<std::string>& root_ids) override;
  Result<std::vector<Status>> complete_steps(const std::vector<CompletedStep>& steps,
                                             Millis now) override;
  Status release_step(const LeaseRef& lease, const std::string& error, Millis run_after,
                      Millis now) override;
  Status return_step(const LeaseRef& lease, const std::string& error, Millis now) override;
  Result<std::string> learned_output_mode(const std::string& endpoint,
                                          const std::string& model) override;
  Status remember_output_mode(const std::string& endpoint, const std::string& model,
                              const std::string& mode, Millis now) override;
  Result<RateGrant> take_rate(const RateRequest& request) override;
  Status release_transient(const LeaseRef& lease, const std::string& error, Millis run_after,
                           Millis now) override;
  Status fail_step(const LeaseRef& lease, const std::string& error, Millis now) override;
  Status log_call(const CallRecord& call) override;
  Result<Reservation> reserve_call(const LeaseRef& lease, double worst_case_usd, Millis now,
                                   Millis retry_at) override;
  Result<RootRecord> set_budget(const std::string& root_id, double budget_usd) override;

  Result<Job> find_job(const std::string& id) override;
  Result<RootRecord> find_root(const std::string& id) override;
  Result<std::vector<RootRecord>> recent_roots(int limit) override;
  Result<std::vector<RootRecord>> list_roots(std::optional<JobStatus> status, int limit,
                                             int offset) override;
  Result<TreeCounts> tree_counts(const std::string& root_id) override;
  Result<std::vector<Job>> recent_errors(const std::string& root_id, int limit) override;
  Result<JobView> view_job(const std::string& id, int error_limit) override;
  Result<std::vector<ChapterContent>> load_content(const std::string& root_id) override;
  Result<QueueOutlook> queue_outlook(Millis now) override;
  bool wait_for_work(Millis timeout_ms) override;
  Result<History> history(const std::string& model, const Slot& slot, int max_roots) override;

  Result<int> cancel(const std::string& job_id, const std::string& reason, Millis now) override;
  Result<int> requeue(const std::string& job_id, Millis now) override;

  Result<LockOutcome> try_lock(const std::string& name, const std::string& holder, Millis ttl_ms,
                               Millis now) override;
  Status release_lock(const std::string& name, const std::string& holder,
                      Millis keep_until) override;
  Result<int> rescue_expired_leases(Millis now) override;
  Result<std::vector<OrphanedContent>> find_orphaned_content(int limit) override;
  Result<int> insert_jobs(const std::vector<NewJob>& jobs, Millis now) override;
  Result<std::vector<std::string>> open_root_ids(int limit) override;
  Result<std::vector<std::string>> settled_open_root_ids(int limit) override;
  Result<std::optional<JobStatus>> close_root_if_finished(const std::string& root_id,
                                                          Millis now) override;
  Result<std::vector<Job>> find_stuck(Millis now, Millis threshold_ms, int limit) override;
  Status record_reconcile_run(const ReconcileRun& run) override;
  Result<std::vector<MetricSample>> read_metrics(Millis now, Millis stuck_after_ms) override;
  Result<OpsFacts> ops_facts(Millis since, Millis now) override;

  Result<bool> batch_work_due(Millis now) override;
  Result<std::optional<BatchClaim>> claim_for_batch(const BatchClaimRequest& request) override;
  Result<std::vector<BatchRecord>> take_open_batches(const std::string& holder, Millis hold_ms,
                                                     Millis now, int limit) override;
  Result<std::vector<Job>> batch_steps(const BatchRecord& batch) override;
  Result<BatchFit> fit_batch(BatchRecord& batch, const BatchFitRequest& request) override;
  Status update_batch(const BatchRecord& batch, const std::string& holder, Millis now) override;
  Result<int> close_batch(const BatchRecord& batch, const std::string& holder, Millis now) override;
  Result<std::vector<BatchRecord>> root_batches(const std::string& root_id, int limit) override;

 private:
  // Runs body in a transaction (a write one unless read_only), committing when it returns a
  // value and rolling back when it returns an error or throws. Deadlocks and serialization
  // failures are retried; a lost connection is re-established on the next call.
  template <class F>
  auto transaction(const std::string& what, bool read_only, F&& body) -> decltype(body());
  template <class F>
  auto write(const std::string& what, F&& body) -> decltype(body()) {
    return transaction(what, false, std::forward<F>(body));
  }
  template <class F>
  auto read(const std::string& what, F&& body) -> decltype(body()) {
    return transaction(what, true, std::forward<F>(body));
  }
  // Ends the held attempt (retry: back to pending at run_after; else failed); uncounted gives
  // the attempt back; also_count names a counter to add 1 to in the same transaction.
  Status finish_attempt(const LeaseRef& lease, const std::string& error, bool retry,
                        Millis run_after, Millis now, bool uncounted = false,
                        const char* also_count = nullptr);
  std::optional<RootRecord> read_root(const std::string& id);
  std::optional<Job> read_job_row(const std::string& id);
  // Announces new work to idle workers, inside the caller's write (PostgreSQL; none on SQLite).
  void announce_work();
  // The bodies of tree_counts and recent_errors, inside the caller's transaction.
  TreeCounts read_counts(const std::string& root_id);
  std::vector<Job> read_errors(const std::string& root_id, int limit);
  // The root's open batch records, newest first, inside the caller's transaction.
  std::vector<BatchRecord> read_open_batches(const std::string& root_id);
  // The root's logged calls summed by model, inside the caller's transaction
  // (sql_batch_reads.cpp).
  std::vector<CallTotals> read_call_totals(const std::string& root_id, CallMode mode);
  Rows run(std::string_view sql, const std::vector<Value>& values = {}) {
    return db_->run(sql, values);
  }

  std::unique_ptr<Connection> db_;
};

template <class F>
auto SqlStore::transaction(const std::string& what, bool read_only, F&& body) -> decltype(body()) {
  for (int attempt = 1;; ++attempt) {
    try {
      db_->reconnect_if_broken();
      db_->metric_deltas.clear();
      if (read_only)
        db_->begin_read();
      else
        db_->begin_write();
      auto result = body();
      if (result) {
        write_metrics(*db_);
        db_->commit();
      } else {
        db_->metric_deltas.clear();
        db_->rollback();
      }
      return result;
    } catch (const std::exception& e) {
      db_->metric_deltas.clear();
      db_->rollback();
      Error error = db_->classify(e, what);
      if (!db_->should_retry(e) || attempt >= 5) return error;
    }
  }
}

}  // namespace hydrate::store::sql
