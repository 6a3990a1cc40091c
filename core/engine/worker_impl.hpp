#pragma once
// The worker's internals (core/engine/worker.hpp has its interface), shared by the files that
// implement it: worker.cpp (the loop: claims, requests, sends, lease renewals) and
// worker_answers.cpp (what an answer does: checks, re-asks, retries, the group commit, the call
// log). Included by those two files only.
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/engine/pacer.hpp"
#include "core/engine/step_request.hpp"
#include "core/engine/worker.hpp"
#include "core/llm/chat_protocol.hpp"
#include "core/log.hpp"

namespace hydrate::engine::detail {

// How long a step waits, back in the queue, when calls in flight hold its root's remaining budget.
inline constexpr Millis kBudgetWaitMs = 1000;

// One claimed step and its current model call.
struct Step {
  Job job;
  store::LeaseRef lease;
  StepInput input;
  RenderedStep rendered;
  llm::ChatRequest request;
  std::string model;
  Price price;
  int attempt = 0;               // attempts counted so far, this one included
  std::string trace_id;          // the root's, for every log line about the step
  Millis sent_at = 0;            // when the current call was sent
  std::size_t prompt_bytes = 0;  // of the current call's body
  bool sent = false;             // false while waiting for the rate limit
  bool reserved = false;         // the next call's worst case is reserved against the root's budget
  std::optional<store::StepOutput> output;  // a valid answer's result, until it is saved
};

class Worker {
 public:
  explicit Worker(WorkerContext& context)
      : ctx_(context),
        pacer_(context.store, context.endpoint.chat_url, context.options.requests_per_minute,
               context.options.tokens_per_minute) {}

  Result<WorkerReport> run();

 private:
  Millis now() const { return ctx_.clock ? ctx_.clock() : wall_clock_ms(); }
  bool stopping() const { return (ctx_.stop && ctx_.stop->load()) || !report_.stop_reason.empty(); }
  bool may_claim() const {
    return !stopping() && (ctx_.options.max_steps <= 0 || report_.claimed < ctx_.options.max_steps);
  }
  Status claim(Millis now);
  void prepare(Job job, Millis now);
  void send_ready(Millis now);
  void send(Step& step, std::uint64_t tag, Millis now);
  std::int64_t reservation_tokens(const Step& step) const;
  // Reserves the step's next call against its root's budget; false when it must not be sent
  // (the budget is exhausted or the lease lost), the step then being finished with.
  bool reserve(Step& step, Millis now);
  void handle(const llm::HttpResponse& response);
  // Saves the valid answers handle() set aside, in one group commit (Store::complete_steps),
  // then finishes with their steps.
  void save_results();
  void on_answer(Step& step, const llm::ChatResult& result, const llm::HttpResponse& response);
  // A transient fault: the step goes back to the queue, due after the backoff (never sooner than
  // the server's retry-after), spending no attempt; it fails once its transient budget is spent.
  void retry_transient(Step& step, const std::string& error,
                       std::optional<std::int64_t> retry_after);
  void fail(Step& step, const std::string& error);
  void reask(Step& step, const std::string& reason, const std::string& bad_answer);
  CallRecord call_record(const Step& step, const llm::HttpResponse& response,
                         const llm::ChatResult& result, bool used, const std::string& error) const;
  void count_call(const CallRecord& call);
  // Logs a call whose answer was not used (retries, rejections, lost leases).
  void log_record(const Step& step, const CallRecord& call);
  void log_call(const Step& step, const llm::HttpResponse& response, const llm::ChatResult& result,
                bool used, const std::string& error);
  void extend_leases(Millis now);
  void note_store_error(const Error& error, const Step& step);
  // The structured-output mode for model: the operator's override, else what this endpoint was
  // found to accept (remembered in the database), else the profile's.
  llm::OutputMode output_mode(const std::string& model, const llm::ModelProfile& profile);
  // The endpoint refused the step's mode: the next one, remembered for every worker; false when
  // none is left.
  bool fall_back(Step& step);
  // The trace id of a root, read once per root (empty when it cannot be read: logs go on).
  const std::string& trace_id_of(const std::string& root_id);
  static log::Fields fields(const Step& step) {
    return {step.trace_id, step.job.root_id, step.job.id, step.attempt};
  }
  void progress() {
    if (ctx_.on_progress) {
      report_.in_flight = steps_.size();
      ctx_.on_progress(report_);
    }
  }

  WorkerContext& ctx_;
  Pacer pacer_;
  std::map<std::string, llm::OutputMode> output_modes_;  // by model: what the endpoint accepts
  std::map<std::string, std::string> trace_ids_;         // by root id
  WorkerReport report_;
  std::map<std::uint64_t, Step> steps_;  // by transport tag
  std::vector<std::uint64_t> to_save_;   // tags of steps whose output waits for save_results
  std::uint64_t next_tag_ = 1;
  std::mt19937_64 random_{std::random_device{}()};
  Millis next_claim_at_ = 0;
  Millis next_extend_at_ = 0;
  // Group commits: a valid answer waits for others to share its transaction at most 1/200 of
  // the calls' mean latency (so the pool loses at most 0.5 % of its room to the wait), 20 ms at
  // most, and not at all when no other call is out or the worker stops. Answers that come at
  // once share a group anyway; with no latency nothing waits.
  static constexpr Millis kMaxSaveWaitMs = 20;
  static constexpr std::size_t kMaxGroup = 256;
  double call_latency_ms_ = 0;  // moving mean of valid answers' latency
  Millis save_due_at_ = 0;      // when to_save_ is saved at the latest
  bool save_now() const {
    return !to_save_.empty() && (now() >= save_due_at_ || stopping() ||
                                 ctx_.transport.in_flight() == 0 || to_save_.size() >= kMaxGroup);
  }
};

}  // namespace hydrate::engine::detail
