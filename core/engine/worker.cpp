#include "core/engine/worker.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <thread>

#include "core/cascade.hpp"
#include "core/clock.hpp"
#include "core/engine/pacer.hpp"
#include "core/engine/step_request.hpp"
#include "core/ids.hpp"
#include "core/llm/chat_protocol.hpp"
#include "core/log.hpp"

namespace hydrate::engine {
namespace {

// How long a step waits, back in the queue, when calls in flight hold its root's remaining budget.
constexpr Millis kBudgetWaitMs = 1000;

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

Result<WorkerReport> Worker::run() {
  Millis idle_wait = ctx_.options.idle_poll_ms;
  while (true) {
    Millis t = now();
    if (stopping() && steps_.empty()) break;
    if (!may_claim() && steps_.empty()) break;
    if (may_claim() && static_cast<int>(steps_.size()) < ctx_.options.concurrency &&
        t >= next_claim_at_) {
      auto before = report_.claimed;
      auto claimed = claim(t);
      // The store rides out a failing database itself (RetryingStore): a claim error that
      // reaches the worker is permanent (read-only, corrupt) or an outage past its limit.
      if (!claimed) return claimed.error();
      if (report_.claimed > before) {
        idle_wait = ctx_.options.idle_poll_ms;
        next_claim_at_ = t;  // more may be due: claim again as soon as there is room
      } else if (steps_.empty()) {
        // Nothing to claim: finish when the whole queue is idle, else wait for work to be due.
        auto outlook = ctx_.store.queue_outlook(t);
        if (!outlook) return outlook.error();
        if (ctx_.options.until_idle && outlook->idle()) break;
        Millis wait = idle_wait;
        if (outlook->waiting && !outlook->ready && outlook->next_run_after > t) {
          wait = std::min<Millis>(outlook->next_run_after - t, 1000);
        }
        next_claim_at_ = t + std::max<Millis>(wait, 5);
        idle_wait = std::min<Millis>(idle_wait * 2, 1000);
      } else {
        next_claim_at_ = t + ctx_.options.idle_poll_ms;
      }
    }
    send_ready(now());
    if (steps_.empty()) {
      // Idle: woken at once by new work on PostgreSQL, else at the next poll.
      Millis wait = std::clamp<Millis>(next_claim_at_ - now(), 0, 200);
      if (wait > 0 && ctx_.store.wait_for_work(wait)) {
        idle_wait = ctx_.options.idle_poll_ms;
        next_claim_at_ = now();
      }
      continue;
    }
    // Wake for the next claim only when there is room to claim into: a full pool that woke every
    // millisecond for it spent a quarter of a core polling the sockets of calls still out.
    // Steps waiting for the rate limit or a budget are looked at every 10 ms.
    const bool room = may_claim() && static_cast<int>(steps_.size()) < ctx_.options.concurrency;
    const bool unsent = std::any_of(steps_.begin(), steps_.end(), [](const auto& s) {
      return !s.second.sent && !s.second.output;
    });
    Millis until = room ? std::min(next_claim_at_, next_extend_at_) : next_extend_at_;
    if (!to_save_.empty()) until = std::min(until, save_due_at_);
    Millis wait = std::clamp<Millis>(until - now(), 1, unsent ? 10 : 250);
    for (auto& response : ctx_.transport.poll(std::chrono::milliseconds(wait))) handle(response);
    if (save_now()) save_results();
    if (now() >= next_extend_at_) extend_leases(now());
  }
  report_.in_flight = steps_.size();
  return report_;
}

Status Worker::claim(Millis t) {
  int room = ctx_.options.concurrency - static_cast<int>(steps_.size());
  if (ctx_.options.max_steps > 0) {
    room = static_cast<int>(std::min<std::int64_t>(room, ctx_.options.max_steps - report_.claimed));
  }
  if (room <= 0) return ok_status();
  auto jobs = ctx_.store.claim_batch({ctx_.options.holder, room, ctx_.options.lease_ms, t});
  if (!jobs) return jobs.error();
  if (steps_.empty()) next_extend_at_ = t + ctx_.options.lease_ms / 3;
  for (auto& job : *jobs) {
    ++report_.claimed;
    prepare(std::move(job), t);
  }
  if (!jobs->empty()) progress();
  return ok_status();
}

const std::string& Worker::trace_id_of(const std::string& root_id) {
  static const std::string none;
  auto known = trace_ids_.find(root_id);
  if (known != trace_ids_.end()) return known->second;
  auto root = ctx_.store.find_root(root_id);
  if (!root) return none;
  if (trace_ids_.size() >= 4096) trace_ids_.clear();  // a long-lived worker sees many roots
  return trace_ids_.emplace(root_id, root->trace_id).first->second;
}

void Worker::prepare(Job job, Millis t) {
  Step step;
  step.lease = {job.id, job.lease_token};
  step.attempt = job.attempts;
  step.trace_id = trace_id_of(job.root_id);
  auto built = build_step_request(job, ctx_.endpoint, ctx_.prompts, ctx_.prices);
  if (!built) {
    log::warn({step.trace_id, job.root_id, job.id, step.attempt}, "job {}: {}", job.id,
              built.error().message);
    auto failed = ctx_.store.fail_step(step.lease, built.error().message, t);
    if (failed) ++report_.failed;
    return;
  }
  step.input = std::move(built->input);
  step.model = std::move(built->model);
  step.price = built->price;
  step.rendered = std::move(built->rendered);
  step.request = std::move(built->request);
  step.request.mode =
      output_mode(step.model, ctx_.endpoint.profiles.find(ctx_.endpoint.flavor, step.model));
  step.job = std::move(job);
  log::debug(fields(step), "claimed {} {} (attempt {})", to_string(step.job.kind), step.job.id,
             step.attempt);
  steps_.emplace(next_tag_++, std::move(step));
}

bool Worker::reserve(Step& step, Millis t) {
  double worst = worst_case_usd(step.request, step.price);
  auto reservation = ctx_.store.reserve_call(step.lease, worst, t, t + kBudgetWaitMs);
  if (!reservation) {
    note_store_error(reservation.error(), step);
    if (reservation.error().kind != ErrorKind::conflict) return false;  // try again later
  } else if (*reservation == store::Reservation::granted) {
    step.reserved = true;
    return true;
  } else if (*reservation == store::Reservation::deferred) {
    ++report_.budget_waits;
    log::debug(fields(step), "{} {} waits for budget held by calls in flight",
               to_string(step.job.kind), step.job.id);
  } else {
    ++report_.budget_stops;
    log::warn(fields(step), "root {}: its budget cannot cover the next call; the tree stops ({})",
              step.job.root_id, store::kBudgetExhausted);
  }
  step.lease.job_id.clear();
  return false;
}

void Worker::send_ready(Millis t) {
  // One read says which of the waiting steps' trees have a budget; the others need no
  // reservation (reserve_call would grant it without a write). Unread, every step asks.
  std::vector<std::string> roots;
  for (const auto& [tag, step] : steps_) {
    if (!step.sent && !step.output && !step.reserved) roots.push_back(step.job.root_id);
  }
  std::sort(roots.begin(), roots.end());
  roots.erase(std::unique(roots.begin(), roots.end()), roots.end());
  auto budgeted = ctx_.store.budgeted_roots(roots);
  std::vector<std::uint64_t> finished;
  std::map<std::string, std::vector<std::uint64_t>> ready;  // by model, in claim order
  for (auto& [tag, step] : steps_) {
    if (step.sent || step.output) continue;
    if (!step.reserved && budgeted && !budgeted->count(step.job.root_id)) step.reserved = true;
    if (!step.reserved && !reserve(step, t)) {
      if (step.lease.job_id.empty()) finished.push_back(tag);
      continue;
    }
    ready[step.model].push_back(tag);
  }
  for (const auto& [model, tags] : ready) {
    std::vector<std::int64_t> tokens;
    for (auto tag : tags) tokens.push_back(reservation_tokens(steps_.at(tag)));
    const int admitted = pacer_.admit(model, tokens, t);
    if (admitted < static_cast<int>(tags.size())) ++report_.rate_waits;
    for (int i = 0; i < admitted; ++i) send(steps_.at(tags[i]), tags[i], t);
  }
  for (auto tag : finished) steps_.erase(tag);
  if (!finished.empty()) {
    next_claim_at_ = 0;
    progress();
  }
}

void Worker::send(Step& step, std::uint64_t tag, Millis t) {
  llm::HttpRequest request;
  request.tag = tag;
  request.url = ctx_.endpoint.chat_url;
  request.headers = {"Content-Type: application/json"};
  if (!ctx_.endpoint.api_key.empty()) {
    request.headers.push_back(ctx_.endpoint.flavor == llm::Flavor::azure
                                  ? "api-key: " + ctx_.endpoint.api_key
                                  : "Authorization: Bearer " + ctx_.endpoint.api_key);
  }
  request.body = llm::build_chat_body(step.request);
  request.timeout_ms = ctx_.endpoint.timeout_ms;
  request.max_response_bytes = ctx_.endpoint.max_response_bytes;
  step.prompt_bytes = request.body.size();
  ctx_.transport.start(std::move(request));
  step.sent = true;
  step.sent_at = t;
  step.reserved = false;  // the call spends the reservation; the next one reserves anew
}

std::int64_t Worker::reservation_tokens(const Step& step) const {
  return engine::reserved_tokens(prompt_bytes(step.request), step.request.max_tokens);
}

llm::OutputMode Worker::output_mode(const std::string& model, const llm::ModelProfile& profile) {
  if (ctx_.endpoint.output_mode) return *ctx_.endpoint.output_mode;
  auto known = output_modes_.find(model);
  if (known != output_modes_.end()) return known->second;
  llm::OutputMode mode = profile.output_mode;
  auto learned = ctx_.store.learned_output_mode(ctx_.endpoint.chat_url, model);
  if (!learned) {
    log::warn("{}; using the profile's {}", learned.error().message, llm::to_string(mode));
    return mode;  // not cached: asked again with the next step
  }
  if (auto parsed = llm::parse_output_mode(*learned)) mode = *parsed;
  output_modes_[model] = mode;
  return mode;
}

bool Worker::fall_back(Step& step) {
  auto next = llm::fallback_mode(step.request.mode);
  if (!next || ctx_.endpoint.output_mode) return false;
  log::warn(fields(step), "the endpoint refused response format {} for {}; using {} from now on",
            llm::to_string(step.request.mode), step.model, llm::to_string(*next));
  ++report_.format_fallbacks;
  step.request.mode = *next;
  auto& cached = output_modes_[step.model];
  if (static_cast<int>(cached) < static_cast<int>(*next)) {
    cached = *next;
    auto saved = ctx_.store.remember_output_mode(ctx_.endpoint.chat_url, step.model,
                                                 llm::to_string(*next), now());
    if (!saved) log::warn("{}", saved.error().message);
  }
  return true;
}

void Worker::handle(const llm::HttpResponse& response) {
  auto it = steps_.find(response.tag);
  if (it == steps_.end()) return;
  Step& step = it->second;
  step.sent = false;
  llm::ChatResult result = llm::interpret_response(response);
  const bool completion =
      result.outcome == llm::ChatOutcome::ok || result.outcome == llm::ChatOutcome::truncated;
  if (!result.usage_reported && completion) {
    // A completion without usage (some local servers): count the text as a provider would, and
    // say so in the log (CallRecord::usage_estimated). Error and unreadable bodies bill nothing.
    result.usage.prompt = static_cast<std::int64_t>((step.prompt_bytes + 3) / 4);
    result.usage.completion = static_cast<std::int64_t>((result.content.size() + 3) / 4);
  }
  // What the answer counted against the token limit: providers (OpenAI, Azure) charge a request
  // its prompt plus its max tokens whatever it wrote, so only the prompt estimate is corrected.
  pacer_.on_answer(step.model, result, reservation_tokens(step),
                   result.usage.prompt + step.request.max_tokens, now());
  ++report_.calls;
  on_answer(step, result, response);
  if (!step.sent && step.lease.job_id.empty()) {
    steps_.erase(it);  // finished with this step: its room (and any children) can be claimed now
    next_claim_at_ = 0;
  }
  progress();
}

void Worker::on_answer(Step& step, const llm::ChatResult& result,
                       const llm::HttpResponse& response) {
  using llm::ChatOutcome;
  Millis t = now();
  switch (result.outcome) {
    case ChatOutcome::ok: {
      auto output =
          parse_step_output(step.job.kind, step.input, result.content, ctx_.options.limits);
      if (!output) {
        log_call(step, response, result, false, "invalid answer: " + output.error().message);
        reask(step, output.error().message, result.content);
        return;
      }
      output->children = children_for(step.job, step.input, *output, t);
      output->call = call_record(step, response, result, true, "");
      step.output = std::move(*output);
      const auto latency = static_cast<double>(std::max<std::int64_t>(0, response.latency_ms));
      call_latency_ms_ = call_latency_ms_ == 0 ? latency : 0.9 * call_latency_ms_ + 0.1 * latency;
      if (to_save_.empty()) {
        save_due_at_ =
            t + std::min<Millis>(kMaxSaveWaitMs, static_cast<Millis>(call_latency_ms_ / 200));
      }
      to_save_.push_back(response.tag);
      return;
    }
    case ChatOutcome::truncated:
    case ChatOutcome::too_large:
      log_call(step, response, result, false, result.error_message);
      reask(step,
            result.outcome == ChatOutcome::truncated
                ? kCutShortReason
                : "your answer was far too long; answer again, more concisely",
            "");
      return;
    case ChatOutcome::quota_exhausted:
      log_call(step, response, result, false, result.error_message);
      report_.stop_reason =
          "the model account is out of quota (" + result.error_code + "): " + result.error_message;
      {
        auto released = ctx_.store.return_step(step.lease, result.error_message, t);
        if (!released) note_store_error(released.error(), step);
      }
      step.lease.job_id.clear();
      return;
    case ChatOutcome::client_error:
      log_call(step, response, result, false, result.error_message);
      if (result.refused_response_format && fall_back(step)) {
        step.sent = false;  // asked again in this claim, in the next mode; no attempt spent
        return;
      }
      fail(step, result.error_message);
      return;
    default:  // rate_limited, server_error, timeout, network_error, malformed: transient
      log_call(step, response, result, false, result.error_message);
      retry_transient(step, result.error_message, result.retry_after_ms);
      return;
  }
}

void Worker::save_results() {
  if (to_save_.empty()) return;
  std::vector<store::CompletedStep> group;
  for (auto tag : to_save_) {
    const Step& step = steps_.at(tag);
    group.push_back({step.lease, &*step.output});
  }
  auto saved = ctx_.store.complete_steps(group, now());
  if (!saved && group.size() > 1) {
    // One result the database refuses must not cost the others theirs: each on its own.
    saved = std::vector<Status>{};
    for (const auto& one : group)
      saved->push_back(ctx_.store.complete_step(one.lease, *one.output, now()));
  }
  for (std::size_t i = 0; i < to_save_.size(); ++i) {
    Step& step = steps_.at(to_save_[i]);
    const Status& outcome = saved ? (*saved)[i] : Status(saved.error());
    if (outcome) {
      count_call(*step.output->call);
      ++report_.succeeded;
      log::debug(fields(step), "{} {} succeeded", to_string(step.job.kind), step.job.id);
    } else {
      // The same call, by its id: if the commit happened after all (the connection was lost
      // during it), the store keeps the used row and this one is not logged twice.
      CallRecord unused = *step.output->call;
      unused.used = false;
      unused.error = store::kResultNotSaved + outcome.error().message;
      log_record(step, unused);
      note_store_error(outcome.error(), step);
    }
    steps_.erase(to_save_[i]);  // its room (and any children) can be claimed now
  }
  to_save_.clear();
  next_claim_at_ = 0;
  progress();
}

void Worker::retry_transient(Step& step, const std::string& error,
                             std::optional<std::int64_t> retry_after) {
  Millis t = now();
  const RetryPolicy& policy = ctx_.options.retry;
  const int retries = step.job.transient_retries;
  if (!transient_retry_left(policy, retries, step.job.first_transient_at, t)) {
    Millis since = step.job.first_transient_at > 0 ? t - step.job.first_transient_at : 0;
    fail(step, fmt::format("gave up after {} transient retries over {} s: {}", retries,
                           since / 1000, error));
    return;
  }
  double unit = std::uniform_real_distribution<double>(0, 1)(random_);
  Millis delay = retry_delay(policy, retries + 1, unit, retry_after);
  auto saved = ctx_.store.release_transient(step.lease, error, t + delay, t);
  if (saved) {
    ++report_.retried;
    log::debug(fields(step), "{} {} retries in {} ms: {}", to_string(step.job.kind), step.job.id,
               delay, error);
  } else {
    note_store_error(saved.error(), step);
  }
  step.lease.job_id.clear();
}

void Worker::fail(Step& step, const std::string& error) {
  auto saved = ctx_.store.fail_step(step.lease, error, now());
  if (saved) {
    ++report_.failed;
    log::warn(fields(step), "{} {} failed: {}", to_string(step.job.kind), step.job.id, error);
  } else {
    note_store_error(saved.error(), step);
  }
  step.lease.job_id.clear();
}

void Worker::reask(Step& step, const std::string& reason, const std::string& bad_answer) {
  auto counted = ctx_.store.begin_reask(step.lease);
  if (!counted) {
    note_store_error(counted.error(), step);
    step.lease.job_id.clear();
    return;
  }
  if (!*counted) {
    fail(step, fmt::format("gave up after {} attempts: invalid answer: {}", step.attempt, reason));
    return;
  }
  ++step.attempt;
  ++report_.reasked;
  log::debug(fields(step), "{} {} asked again: {}", to_string(step.job.kind), step.job.id, reason);
  ask_again(step.request, reason, bad_answer);
  step.sent = false;  // the run loop sends it next, once reserved
}

CallRecord Worker::call_record(const Step& step, const llm::HttpResponse& response,
                               const llm::ChatResult& result, bool used,
                               const std::string& error) const {
  CallRecord call;
  call.call_id = new_lease_token();
  call.job_id = step.job.id;
  call.root_id = step.job.root_id;
  call.attempt = step.attempt;
  call.model = step.model;
  call.http_status = response.status;
  call.usage = result.usage;
  call.cost_usd = call_cost_usd(step.price, result.usage);
  call.input_price = step.price.input_per_million;
  call.cached_input_price = step.price.cached_input_per_million;
  call.output_price = step.price.output_per_million;
  call.latency_ms = response.latency_ms;
  call.started_at = step.sent_at;
  call.retry_after_ms = result.retry_after_ms;
  call.request_id = result.request_id;
  call.usage_estimated = !result.usage_reported && (result.outcome == llm::ChatOutcome::ok ||
                                                    result.outcome == llm::ChatOutcome::truncated);
  call.remaining_requests = result.rate_limits.remaining_requests;
  call.remaining_tokens = result.rate_limits.remaining_tokens;
  call.response_format = llm::to_string(step.request.mode);
  call.error = error;
  call.used = used;
  call.created_at = now();
  call.lease_token = step.lease.token;
  return call;
}

void Worker::count_call(const CallRecord& call) {
  report_.tokens.prompt += call.usage.prompt;
  report_.tokens.completion += call.usage.completion;
  report_.tokens.cached += call.usage.cached;
  report_.cost_usd += call.cost_usd;
}

void Worker::log_call(const Step& step, const llm::HttpResponse& response,
                      const llm::ChatResult& result, bool used, const std::string& error) {
  log_record(step, call_record(step, response, result, used, error));
}

void Worker::log_record(const Step& step, const CallRecord& call) {
  count_call(call);
  auto logged = ctx_.store.log_call(call);  // retried by the store while the database is out
  if (!logged) {
    log::warn(fields(step), "could not log a model call of job {}: {}", step.job.id,
              logged.error().message);
  }
}

void Worker::extend_leases(Millis t) {
  next_extend_at_ = t + std::max<Millis>(ctx_.options.lease_ms / 3, 10);
  std::vector<store::LeaseRef> leases;
  for (const auto& [tag, step] : steps_) leases.push_back(step.lease);
  if (leases.empty()) return;
  auto held = ctx_.store.extend_leases(leases, t + ctx_.options.lease_ms);
  if (!held) {
    log::warn("could not extend leases: {}", held.error().message);
  } else if (*held < static_cast<int>(leases.size())) {
    log::debug("{} lease(s) lost to another worker or a cancel", leases.size() - *held);
  }
}

void Worker::note_store_error(const Error& error, const Step& step) {
  if (error.kind == ErrorKind::conflict) {
    ++report_.lost_leases;
    log::debug(fields(step), "{} {}: {}", to_string(step.job.kind), step.job.id, error.message);
  } else {
    log::warn(fields(step), "{} {}: {}", to_string(step.job.kind), step.job.id, error.message);
  }
}

}  // namespace

Result<WorkerReport> run_worker(WorkerContext& context) {
  return Worker(context).run();
}

}  // namespace hydrate::engine
