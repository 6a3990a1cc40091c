#pragma once
// Store: every durable fact hydrate keeps — jobs, the content they generated, the model-call log,
// locks and metrics — behind one interface, so the engine, reconcile and the CLI never know which
// database is underneath. One SQL implementation (sql_store*.cpp) serves SQLite and PostgreSQL
// through their drivers; the conformance suite in tests/integration/store_*_test.cpp pins its
// behaviour for both.
//
// Every method that changes state does so in one transaction. Methods that write a step's result
// are fenced: they apply only while the job is still `running` under the caller's lease token, and
// otherwise return ErrorKind::conflict having written nothing.
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/estimate.hpp"
#include "core/model.hpp"
#include "core/rate_bucket.hpp"
#include "core/result.hpp"

namespace hydrate::store {

// Identifies a claimed step: the job and the lease token its claim received.
struct LeaseRef {
  std::string job_id;
  std::string token;
};

struct NewRoot {
  NewJob job;  // the subject job; job.root_id == job.id
  Slot slot;
  RootOptions options;
  std::string dedupe_key;  // roots with the same key, while pending or running, are one root
  std::string trace_id;
  std::string estimates_json;  // the estimate at submit time, returned by status
  double estimated_cost_usd = 0;
  double budget_usd = 0;  // 0 = no budget
  Millis now = 0;
};

// A root as operators see it: the tree's status, which differs from its subject step's status.
struct RootRecord {
  Job job;  // the subject job
  JobStatus status = JobStatus::pending;
  std::string reason;  // why it failed or was cancelled
  Slot slot;
  RootOptions options;
  std::string trace_id;
  std::string estimates_json;
  double estimated_cost_usd = 0;
  double budget_usd = 0;  // 0 = no budget
  double spent_usd = 0;   // what the tree's logged model calls cost so far
  Millis created_at = 0, started_at = 0, finished_at = 0;
};

// How the error of a logged call begins when it answered a step whose result the store refused
// (its lease was lost): the call was paid for and its answer thrown away. The operations report
// counts these apart from the answers the validator rejected.
inline constexpr const char* kResultNotSaved = "result not saved: ";

// The reason a root ends failed when its budget could not cover the next model call.
inline constexpr const char* kBudgetExhausted = "budget_exhausted";

enum class Reservation {
  granted,           // the call may be sent
  deferred,          // calls in flight hold the rest of the budget: the step went back to pending
  budget_exhausted,  // what the tree spent leaves too little for the call: the tree stops
};

struct SubmitOutcome {
  RootRecord root;
  bool deduplicated = false;  // true: a live root with the same key was returned instead
};

struct ClaimRequest {
  std::string holder;  // worker identity, e.g. host:pid
  int limit = 1;
  Millis lease_ms = 60000;
  Millis now = 0;
};

// A validated step result with the children it creates; see core/cascade.hpp.
struct StepOutput {
  std::vector<ChapterPlan> chapters;  // subject step
  std::vector<TopicPlan> topics;      // chapter step
  std::optional<Note> note;           // note step
  std::vector<Question> questions;    // questions step
  std::vector<NewJob> children;
  // The call whose answer this is: logged (used) in the same transaction, so a crash can never
  // keep the content and lose the bill. When the write is refused, log it with log_call.
  std::optional<CallRecord> call;
};

// A held step's result, for Store::complete_steps.
struct CompletedStep {
  LeaseRef lease;
  const StepOutput* output = nullptr;
};

// Raw counts of a tree, from which core/progress.hpp derives per-level progress.
struct TreeCounts {
  bool subject_succeeded = false;
  std::int64_t chapter_rows = 0;  // chapters written by the subject step
  std::int64_t chapter_jobs_succeeded = 0;
  std::int64_t topic_rows = 0;        // topics written by succeeded chapter steps
  std::int64_t topics_completed = 0;  // topics whose every leaf job succeeded
  std::int64_t note_jobs_succeeded = 0;
  std::int64_t questions_jobs_succeeded = 0;
  std::int64_t question_rows = 0;
  std::int64_t jobs_pending = 0, jobs_running = 0, jobs_succeeded = 0, jobs_failed = 0,
               jobs_cancelled = 0;
  TokenUsage tokens;  // every logged call of the tree, used or not
  double actual_cost_usd = 0;
  std::array<double, 4> cost_by_kind{};  // actual cost of the calls of each JobKind's steps
  std::int64_t calls = 0;
};

// --- batch mode (sql/sqlite/009_batches.sql) ---
// Where hydrate's record of one provider batch stands; see the migration for each state.
enum class BatchState { claimed, uploaded, created, applied, abandoned };
const char* to_string(BatchState state);
std::optional<BatchState> parse_batch_state(std::string_view text);

// One batch record: the steps of one root held under lease_token, and what the provider said of
// the batch so far (empty until known).
struct BatchRecord {
  std::string id;  // hydrate's; sent as the batch's metadata hydrate_batch
  std::string root_id;
  std::string model;
  std::string lease_token;
  BatchState state = BatchState::claimed;
  std::string provider_status;  // validating … cancelled, as the provider spells it
  std::string input_file_id, provider_batch_id, output_file_id, error_file_id;
  int lines = 0;  // steps the batch was claimed with; once fitted, the lines it sends
  int completed = 0, failed = 0;
  double reserved_usd = 0;         // the sent lines' worst case, held against the root's budget
  std::int64_t prompt_tokens = 0;  // the sent lines' prompt tokens, in the model's batch queue
  std::string error;               // the latest problem with the batch, one line
  bool cancel_requested = false;
  Millis next_poll_at = 0;
  Millis created_at = 0, updated_at = 0, finished_at = 0;
};

struct BatchClaimRequest {
  std::string holder;   // the worker that will drive the batch
  int limit = 50000;    // steps at most (the Batch API's lines per file)
  Millis lease_ms = 0;  // the steps' lease: the completion window and a margin
  Millis hold_ms = 0;   // the worker's hold on the record
  Millis now = 0;
};

// A new batch record and the steps it holds.
struct BatchClaim {
  BatchRecord batch;
  std::vector<Job> jobs;
};

// One line a batch would send: its step, the call's worst-case cost and its prompt tokens as
// the provider counts them against the model's enqueued-token limit.
struct BatchLinePlan {
  std::string job_id;
  double worst_case_usd = 0;
  std::int64_t prompt_tokens = 0;
};

struct BatchFitRequest {
  std::string holder;
  std::string model;
  std::vector<BatchLinePlan> lines;  // in the order of the file; the batch's other steps go back
  std::int64_t queue_limit = 0;      // the model's enqueued prompt tokens at most; 0: no limit
  Millis now = 0;
  Millis retry_at = 0;  // when steps held back by the budget or the queue are due again
};

// What fit_batch kept: the first `kept` lines of the request. budget is granted unless the
// budget kept nothing: deferred (calls and batches in flight hold what it needs) or
// budget_exhausted (the tree stopped, as an online call's reservation stops it).
struct BatchFit {
  int kept = 0;
  Reservation budget = Reservation::granted;
  std::int64_t queued_tokens = 0;  // the model's other uploaded or created batches hold these
};

// What `status` shows of one job: the job; for a root, also its record, its counts and its most
// recent errors.
struct JobView {
  Job job;
  std::optional<RootRecord> root;  // set when the job is a root
  TreeCounts counts;
  std::vector<Job> errors;
  std::vector<BatchRecord> batches;  // a batch-mode root's open batches, newest first
  // A batch-mode root's logged calls (used or not) summed by model, in model order; empty for
  // an online root.
  std::vector<CallTotals> calls_by_model;
};

struct TopicContent {
  int position = 0;
  TopicPlan plan;
  std::optional<Note> note;
  std::vector<Question> questions;
};
struct ChapterContent {
  int position = 0;
  ChapterPlan plan;
  std::vector<TopicContent> topics;
};

// What --until-idle and the idle back-off need to know about the queue.
struct QueueOutlook {
  bool ready = false;         // some step is pending and due, or running under an expired lease
  bool waiting = false;       // some step is pending with run_after in the future (a backoff wait)
  bool running = false;       // some step is running under a live lease
  Millis next_run_after = 0;  // earliest future run_after, 0 when none
  bool idle() const { return !ready && !waiting && !running; }
};

// Content a succeeded parent wrote whose child job is missing (cascade repair).
struct OrphanedContent {
  Job parent;
  int position = 0;
  std::optional<ChapterPlan> chapter;  // parent is a subject job
  std::optional<TopicPlan> topic;      // parent is a chapter job
};

struct LockOutcome {
  bool acquired = false;
  std::string holder;  // the current holder (us when acquired)
  Millis expires_at = 0;
};

struct MetricSample {
  std::string name;    // e.g. hydrate_jobs_created_total
  std::string labels;  // Prometheus label set without braces, e.g. target="chapter"; may be empty
  double value = 0;
};

struct ReconcileRun {
  Millis started_at = 0, finished_at = 0;
  std::int64_t rescued = 0, repaired = 0, rolled_up = 0, closed = 0, stuck = 0;
};

// What `hydrate report` reads of a window (core/ops_report.hpp computes the figures from it).
struct FinishedRoot {
  std::string id;
  JobStatus status = JobStatus::succeeded;
  CallMode mode = CallMode::online;
  Slot slot;
  double estimated_cost_usd = 0, spent_usd = 0;
  Millis created_at = 0, finished_at = 0;
};
struct RejectionCount {
  JobKind kind = JobKind::subject;
  std::string error;  // the call log's error text, as the worker wrote it
  std::int64_t count = 0;
};
struct HeldLock {
  std::string name, holder;
  Millis expires_at = 0;
};
struct OpsFacts {
  std::vector<FinishedRoot> roots;   // finished (any final status) within the window, oldest first
  std::vector<Millis> reconcile_ms;  // the duration of each reconcile run started in the window
  Millis last_reconcile_at = 0;      // when the latest run of all finished; 0 when none ever did
  // Claims made in the window by how they ended (sql/sqlite/006_attempts.sql: succeeded,
  // retried, failed, lease_lost, cancelled), "in_flight" while they have not.
  std::map<std::string, std::int64_t> attempts;
  // Answers of the window whose result write the store refused, the lease being lost: logged
  // unused by the worker as "result not saved: …".
  std::int64_t results_refused = 0;
  // Answers the model gave (HTTP 200) that were not used, within the window, by step kind and
  // error text, most frequent first (at most 1000 texts).
  std::vector<RejectionCount> rejections;
  std::vector<HeldLock> locks;  // the locks held at now, by name
  // The logged calls (used or not) of the window's finished roots, all of each root's calls
  // whenever they were made: the batch-mode roots' by model, in model order, then the online
  // roots' in one entry (mode online, model empty, no reasoning tokens: their tree counters).
  std::vector<CallTotals> calls;
  // The batch records of the window's finished roots by status (batch::status_label).
  std::map<std::string, std::int64_t> batches;
};

class Store {
 public:
  virtual ~Store() = default;

  // Applies every migration newer than the recorded version; safe to call concurrently and again.
  // Returns the schema version now in force.
  virtual Result<int> migrate() = 0;

  // Creates the root, or returns the live root with the same dedupe_key (deduplicated = true).
  virtual Result<SubmitOutcome> submit_root(const NewRoot& root) = 0;

  // Claims up to limit runnable steps of open trees, highest priority and oldest run_after first:
  // pending ones due by now, and running ones whose lease expired with attempts left. Each claimed
  // job gets attempts + 1, a fresh lease token and lease expiry now + lease_ms.
  virtual Result<std::vector<Job>> claim_batch(const ClaimRequest& request) = 0;

  // Moves the lease expiry of the given leases to new_expiry; returns how many are still held.
  virtual Result<int> extend_leases(const std::vector<LeaseRef>& leases, Millis new_expiry) = 0;

  // Counts one more attempt on a held step before a re-ask. Returns false when attempts are
  // exhausted (nothing changed); conflict when the lease is lost.
  virtual Result<bool> begin_reask(const LeaseRef& lease) = 0;

  // Writes the step's content, its children and its success in one transaction, then closes the
  // root when nothing runnable is left in its tree. Fenced.
  Status complete_step(const LeaseRef& lease, const StepOutput& output, Millis now) {
    auto saved = complete_steps({{lease, &output}}, now);
    if (!saved) return saved.error();
    return saved->front();
  }

  // A group commit: writes several steps' results as complete_step does, in one transaction, so
  // that what they share (their trees' rows, the metrics, the commit itself) is written once.
  // Each result stays all or nothing, fenced by its own lease: one status per result, in order,
  // ok or conflict (the lease was lost, nothing of it written). An error saves none of them.
  virtual Result<std::vector<Status>> complete_steps(const std::vector<CompletedStep>& steps,
                                                     Millis now) = 0;

  // Puts a held step back to pending, due at run_after, remembering error. Fenced.
  virtual Status release_step(const LeaseRef& lease, const std::string& error, Millis run_after,
                              Millis now) = 0;

  // After a transient fault (rate limit, 5xx, timeout, dropped connection): puts a held step back
  // to pending, due at run_after, giving back the attempt its claim counted and counting one
  // transient retry instead (the first one's time kept); error becomes its last transient error.
  // Fenced.
  virtual Status release_transient(const LeaseRef& lease, const std::string& error,
                                   Millis run_after, Millis now) = 0;

  // Puts a held step back to pending, due at once, giving back the attempt its claim counted:
  // for a call the model did no work on (the account was out of quota). Fenced. Counts
  // hydrate_quota_stops_total.
  virtual Status return_step(const LeaseRef& lease, const std::string& error, Millis now) = 0;

  // Marks a held step failed for good with error, then closes the root if it is done. Fenced.
  virtual Status fail_step(const LeaseRef& lease, const std::string& error, Millis now) = 0;

  // Logs one model call and adds its cost to the job and the root's spend; a call whose call_id
  // is logged already (by complete_step or an earlier log_call) is not logged again. Not fenced:
  // late calls are billed too. The job's reservation is released when call.lease_token still holds
  // it.
  virtual Status log_call(const CallRecord& call) = 0;

  // Before a held step sends a model call: reserves worst_case_usd, the most the call can cost,
  // against its root's budget; concurrent reservations of one tree are serialised, so calls that
  // reserved can never pass the budget together. Roots without a budget: granted, nothing
  // written. Otherwise, with spent what the tree's logged calls cost and in_flight the
  // reservations of its other running steps under live leases:
  // - spent + in_flight + worst_case_usd <= budget: granted, the reservation kept on the step;
  // - spent + worst_case_usd <= budget: deferred, the step back to pending without the attempt
  //   counting, due at retry_at, when calls in flight may have released their reservations;
  // - else budget_exhausted, in one transaction: the step fails without the attempt counting,
  //   the tree's pending steps fail unstarted, the root's reason becomes kBudgetExhausted, and
  //   it closes as failed once its steps in flight finish.
  // Fenced for roots with a budget: conflict when the lease is lost.
  virtual Result<Reservation> reserve_call(const LeaseRef& lease, double worst_case_usd, Millis now,
                                           Millis retry_at) = 0;

  // Which of the roots have a budget now: one read for a round of calls, so that the steps of
  // the others, which reserve_call would grant without a write, need not ask one by one.
  virtual Result<std::set<std::string>> budgeted_roots(
      const std::vector<std::string>& root_ids) = 0;

  // Sets a root's budget (0 = none) and returns the root. over_budget when budget_usd is not
  // above what the tree already spent; not_found unless root_id is a root.
  virtual Result<RootRecord> set_budget(const std::string& root_id, double budget_usd) = 0;

  // --- reads ---
  virtual Result<Job> find_job(const std::string& id) = 0;              // not_found when absent
  virtual Result<RootRecord> find_root(const std::string& id) = 0;      // not_found unless a root
  virtual Result<std::vector<RootRecord>> recent_roots(int limit) = 0;  // newest first
  // A page of roots, newest first: offset roots skipped, at most limit returned, only those of
  // status when it is given.
  virtual Result<std::vector<RootRecord>> list_roots(std::optional<JobStatus> status, int limit,
                                                     int offset) = 0;
  virtual Result<TreeCounts> tree_counts(const std::string& root_id) = 0;
  // Jobs of the tree that carry a last_error, most recently changed first.
  virtual Result<std::vector<Job>> recent_errors(const std::string& root_id, int limit) = 0;
  // find_job, and for a root find_root, tree_counts and recent_errors (at most error_limit), in
  // one read transaction: one snapshot, and the fewest round trips (the admin API's hot path).
  virtual Result<JobView> view_job(const std::string& id, int error_limit) = 0;
  virtual Result<std::vector<ChapterContent>> load_content(const std::string& root_id) = 0;
  virtual Result<QueueOutlook> queue_outlook(Millis now) = 0;
  // An idle worker's wait: returns true as soon as new work was announced (a submit, a requeue,
  // children repaired, leases rescued: PostgreSQL NOTIFY on channel hydrate_work, delivered when
  // the writing transaction commits), false after timeout_ms without one. SQLite announces
  // nothing: the wait is a sleep, and its workers find work by polling.
  virtual bool wait_for_work(Millis timeout_ms) = 0;
  // What the most recent max_roots succeeded trees whose options name model say about tokens
  // per step and, for those of slot's board and grade, about the counts the model writes.
  virtual Result<History> history(const std::string& model, const Slot& slot, int max_roots) = 0;

  // --- operator actions ---
  // Cancels the job and every unfinished descendant; on a root also the tree (status, reason).
  // Returns how many jobs changed. not_found when absent.
  virtual Result<int> cancel(const std::string& job_id, const std::string& reason, Millis now) = 0;
  // Moves failed and cancelled jobs back to pending with attempts reset and reopens their roots.
  // job_id: that job, or the whole tree when it is a root; root_id empty and job_id empty: every
  // failed job in the database. Returns how many jobs moved.
  virtual Result<int> requeue(const std::string& job_id, Millis now) = 0;

  // --- reconcile ---
  virtual Result<LockOutcome> try_lock(const std::string& name, const std::string& holder,
                                       Millis ttl_ms, Millis now) = 0;
  // Gives the lock up: at once (keep_until 0), or keeps it until keep_until so that another
  // holder cannot take it before then (a minimum interval between runs).
  virtual Status release_lock(const std::string& name, const std::string& holder,
                              Millis keep_until = 0) = 0;
  // Expired leases: back to pending, or failed once attempts are exhausted. Returns how many.
  virtual Result<int> rescue_expired_leases(Millis now) = 0;
  virtual Result<std::vector<OrphanedContent>> find_orphaned_content(int limit) = 0;
  // Inserts jobs, ignoring any that already exist on (parent, kind, position). Returns inserted.
  virtual Result<int> insert_jobs(const std::vector<NewJob>& jobs, Millis now) = 0;
  virtual Result<std::vector<std::string>> open_root_ids(int limit) = 0;
  // The open roots (oldest first, at most limit) whose tree counters say nothing is pending or
  // running: the ones close_root_if_finished may close. A read, so that a reconcile with nothing
  // to close takes no write lock per open tree.
  virtual Result<std::vector<std::string>> settled_open_root_ids(int limit) = 0;
  // Closes the root as succeeded or failed when nothing in its tree is pending or running.
  // Returns the status it closed with, or nullopt when it stays open.
  virtual Result<std::optional<JobStatus>> close_root_if_finished(const std::string& root_id,
                                                                  Millis now) = 0;
  // Pending steps of open trees that have been due for longer than threshold_ms.
  virtual Result<std::vector<Job>> find_stuck(Millis now, Millis threshold_ms, int limit) = 0;
  virtual Status record_reconcile_run(const ReconcileRun& run) = 0;

  // --- what workers learn about endpoints, shared through the database ---
  // The structured-output mode (json_schema, json_object, prompt) remembered for endpoint and
  // model; "" when none is.
  virtual Result<std::string> learned_output_mode(const std::string& endpoint,
                                                  const std::string& model) = 0;
  // Remembers mode for endpoint and model (the latest write wins).
  virtual Status remember_output_mode(const std::string& endpoint, const std::string& model,
                                      const std::string& mode, Millis now) = 0;

  // The account's rate limit, shared by every worker of the database: in one transaction,
  // refills the named bucket, applies what answers said and the refund, and grants the requests
  // that fit now (see core/rate_bucket.hpp), so the limit holds whatever the number of workers.
  virtual Result<RateGrant> take_rate(const RateRequest& request) = 0;

  // --- metrics ---
  // The stored counters and histograms, then the gauges computed at `now` from the job tables
  // (see core/metrics.hpp): queue lag, steps by kind and status (all 20), trees by status (all
  // 5), steps in flight, pending steps of open trees due for longer than stuck_after_ms, and
  // batch records by status (batch::kStatuses, then any other status some record has).
  virtual Result<std::vector<MetricSample>> read_metrics(Millis now, Millis stuck_after_ms) = 0;

  // --- operations report ---
  // The facts of the window [since, now] that `hydrate report` measures against its targets.
  virtual Result<OpsFacts> ops_facts(Millis since, Millis now) = 0;
  // --- batch mode ---
  // Whether the batch cycle has anything to do at now: an open batch record due a visit, or a
  // batch-mode step due. A read, so that an idle cycle takes no write lock.
  virtual Result<bool> batch_work_due(Millis now) = 0;
  // Claims the due steps (up to limit) of the batch-mode root whose step has waited longest into
  // a new batch record held by holder, in state claimed; nullopt when no batch-mode step is due.
  // Each step gets attempts + 1 and the batch's lease token, held by "batch:ID".
  virtual Result<std::optional<BatchClaim>> claim_for_batch(const BatchClaimRequest& request) = 0;
  // The open batch records due a visit by now (next_poll_at) that holder may drive: unheld, its
  // own, or held past their hold; each taken until now + hold_ms. Oldest first, at most limit.
  virtual Result<std::vector<BatchRecord>> take_open_batches(const std::string& holder,
                                                             Millis hold_ms, Millis now,
                                                             int limit) = 0;
  // The steps still held under the batch's token, in position order.
  virtual Result<std::vector<Job>> batch_steps(const BatchRecord& batch) = 0;
  // Fits a claimed batch before its file is uploaded (sql/sqlite/010_batch_fit.sql): keeps the
  // longest run of request.lines that the root's budget covers at their worst case (with what
  // its other calls and batches in flight reserve) and that the model's batch queue has room for
  // (at least one line when no other batch of the model is queued), reserves their worst case
  // on the record, and gives every other step of the batch back to pending, its attempt given
  // back: due at once when it had no line, at retry_at when the budget or the queue held it back.
  // A record that keeps nothing is removed (nothing of it reached the provider); when the budget
  // cannot cover the first line even with nothing in flight the tree stops (budget_exhausted).
  // Fitting again after a crash gives the same answer. Fenced on holder's hold; batch is updated.
  virtual Result<BatchFit> fit_batch(BatchRecord& batch, const BatchFitRequest& request) = 0;
  // Writes the record's state, provider fields, counts, error and next_poll_at while holder
  // holds it (taking the hold until next_poll_at + hold_ms); conflict when another took it.
  virtual Status update_batch(const BatchRecord& batch, const std::string& holder, Millis now) = 0;
  // Ends the batch (state applied or abandoned, with its error) and puts the steps it still
  // holds back to pending, due now, their attempt given back: a step no line answered is asked
  // again in a later batch. Returns how many went back. Fenced on holder's hold.
  virtual Result<int> close_batch(const BatchRecord& batch, const std::string& holder,
                                  Millis now) = 0;
  // The root's batch records, newest first (status).
  virtual Result<std::vector<BatchRecord>> root_batches(const std::string& root_id, int limit) = 0;
};

struct OpenOptions {
  bool create_if_missing = true;  // false: a missing SQLite file is ErrorKind::not_found
  bool migrate = true;            // apply pending migrations on open
  int busy_timeout_ms = 30000;
};

// Opens the store named by url: "sqlite:PATH", a plain path, or "postgresql://…".
// invalid_input for an unknown scheme; unavailable (or transient) when the database cannot be
// opened for now, permanent when it never will be (a wrong password, not a database file).
Result<std::unique_ptr<Store>> open_store(const std::string& url, const OpenOptions& options);

// The database URL as messages show it: postgresql://user:secret@host/db becomes
// postgresql://user:***@host/db; other URLs are returned as they are.
std::string without_password(const std::string& url);

}  // namespace hydrate::store
