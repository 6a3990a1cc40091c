#pragma once
// The batch cycle: how `work` answers the steps of batch-mode roots through the provider's Batch
// API (../shared/openai/BATCH.md), level by level. Each visit
//   1. advances the open batch records it may hold (store::take_open_batches), each from the
//      state the database says it is in, so a worker killed at any point is taken over where it
//      stopped: claimed → upload the steps' request lines; uploaded → find the provider's batch
//      by its metadata (created before a crash) or create it; created → poll with backoff, and
//      once final apply the output and error lines;
//   2. claims the due steps of batch-mode roots into new batch records (one root's steps per
//      batch, at most max_lines), which step 1 carries on with at once.
// A line is applied exactly as an online answer is: validated, then written with the step's
// children and its call in one fenced transaction (complete_step under the batch's lease). Its
// call is logged with an id made of the batch and the line, so applying a batch again after a
// crash bills nothing twice. An invalid or cut-off answer spends the attempt and the step waits
// for the next batch; steps no line answered go back to pending with their attempt given back.
// Before its file is uploaded, a batch is fitted (store::fit_batch): it sends the lines its
// root's budget covers at their worst case and its model's batch queue has room for; the rest
// wait for a later batch, and a budget that cannot cover one more line stops the tree.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "core/engine/worker.hpp"
#include "core/llm/batch_client.hpp"
#include "core/validate.hpp"

namespace hydrate::engine {

struct BatchOptions {
  std::string holder;                    // as the worker's: host:pid
  int max_lines = 50000;                 // request lines per batch (the Batch API's limit)
  std::size_t max_bytes = 200u << 20;    // bytes per input file (the Batch API's limit)
  Millis lease_ms = 25LL * 3600 * 1000;  // the steps' lease: the 24 h window and an hour
  Millis hold_ms = 5 * 60 * 1000;        // a worker's hold on a batch it drives
  Millis poll_min_ms = 1000;             // the first poll after a create; doubling…
  Millis poll_max_ms = 60000;            // …up to this
  std::int64_t queue_tokens = 0;         // a model's enqueued prompt tokens at most (0: learned)
  bool delete_files = true;              // a closed batch's input, output and error files deleted
  RetryPolicy retry;
  TextLimits limits;
};

struct BatchReport {
  std::int64_t created = 0, applied = 0, abandoned = 0;
  std::int64_t succeeded = 0, retried = 0, failed = 0, unanswered = 0;
  std::int64_t budget_stops = 0, queue_refusals = 0, files_deleted = 0;
  double cost_usd = 0;
};

struct BatchContext {
  store::Store& store;
  llm::BatchClient& client;
  const PromptSet& prompts;
  const PriceTable& prices;
  Endpoint endpoint;
  BatchOptions options;
  std::function<Millis()> clock;  // wall clock unless a test says otherwise
};

class BatchCycle {
 public:
  explicit BatchCycle(BatchContext context) : ctx_(std::move(context)) {}
  // One visit (see above). Errors: a store error that stops the visit; the next visit starts
  // again from the database. Provider errors are kept on the batch record and tried again later.
  Status visit();
  const BatchReport& report() const { return report_; }

 private:
  Millis now() const;
  // The enqueued prompt tokens a model's batches may hold at once: the configured limit, or
  // less once the provider refused a batch for it (0: no limit known).
  std::int64_t queue_limit(const std::string& model) const;
  Status advance(store::BatchRecord batch, bool resumed);
  Status upload(store::BatchRecord& batch);
  Status create(store::BatchRecord& batch, bool resumed);
  Status poll(store::BatchRecord& batch);
  Status apply(store::BatchRecord& batch, const llm::BatchInfo& info);
  void apply_lines(const store::BatchRecord& batch, const std::string& content,
                   std::map<std::string, Job>& held);
  // held: the step is still held under the batch's lease (else the line is only logged).
  void apply_line(const store::BatchRecord& batch, const llm::BatchLine& line, const Job& job,
                  bool held);
  // store::close_batch, then (batch.delete_files) the batch's files deleted at the provider.
  Result<int> close(const store::BatchRecord& batch);
  // A provider call failed: remembered on the record, the batch visited again after a backoff.
  Status postpone(store::BatchRecord& batch, const llm::BatchCallError& failure);
  // Closes the record abandoned (its error replaced when one is given); the steps it still
  // holds go back to pending, their attempt given back.
  Status abandon(store::BatchRecord& batch, const std::string& error = "");
  // The batch will never answer: its steps retried by the retry rules, the record abandoned.
  Status give_up(store::BatchRecord& batch, const std::string& error);
  // Back to pending for a later batch after a backoff, spending a transient retry and not the
  // attempt (failed once the retry policy's transient budget is spent).
  void retry_transient_step(const store::BatchRecord& batch, const Job& job,
                            const std::string& error);
  // Back to pending for the next batch, the attempt spent (failed once its attempts are spent).
  void retry_step(const store::BatchRecord& batch, const Job& job, const std::string& error);

  BatchContext ctx_;
  BatchReport report_;
  std::map<std::string, std::int64_t> learned_queue_limit_;  // by model, from refusals
};

// Set once, by the thread that owns a batch cycle, when the cycle is to end: a wait between
// visits ends at once instead of at its next 50 ms look at the flags.
class CycleEnd {
 public:
  void set();
  bool is_set() const;
  // Waits at most ms, or until set.
  void wait_for(Millis ms);

 private:
  mutable std::mutex mutex_;
  std::condition_variable set_cv_;
  bool set_ = false;
};

// Visits every interval_ms until stop (a signal's flag, looked at every 50 ms) or done is set; a
// visit's error is logged and the next visit starts again from the database.
void run_batch_cycle(BatchCycle& cycle, const std::atomic<bool>& stop, CycleEnd& done,
                     Millis interval_ms);

// The custom_id of a step's line: the job and its attempt, unique within a file.
std::string batch_custom_id(const Job& job);

}  // namespace hydrate::engine
