#include "core/engine/worker.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <thread>

#include "core/cascade.hpp"
#include "core/clock.hpp"
#include "core/engine/rate_budget.hpp"
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
  int attempt = 0;        // attempts counted so far, this one included
  bool sent = false;      // false while waiting for the rate budget
  bool reserved = false;  // the next call's worst case is reserved against the root's budget
};

class Worker {
 public:
  explicit Worker(WorkerContext& context)
      : ctx_(context),
        budget_(context.options.requests_per_minute, context.options.tokens_per_minute) {}

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
  // Reserves the step's next call against its root's budget; false when it must not be sent
  // (the budget is exhausted or the lease lost), the step then being finished with.
  bool reserve(Step& step, Millis now);
  void handle(const llm::HttpResponse& response);
  void on_answer(Step& step, const llm::ChatResult& result, const llm::HttpResponse& response);
  void retry_or_fail(Step& step, const std::string& error, std::optional<std::int64_t> retry_after);
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
  void progress() {
    if (ctx_.on_progress) {
      report_.in_flight = steps_.size();
      ctx_.on_progress(report_);
    }
  }

  WorkerContext& ctx_;
  RateBudget budget_;
  WorkerReport report_;
  std::map<std::uint64_t, Step> steps_;  // by transport tag
  std::uint64_t next_tag_ = 1;
  std::mt19937_64 random_{std::random_device{}()};
  Millis next_claim_at_ = 0;
  Millis next_extend_at_ = 0;
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
      Millis wait = std::clamp<Millis>(next_claim_at_ - now(), 0, 200);
      std::this_thread::sleep_for(std::chrono::milliseconds(wait));
      continue;
    }
    Millis wait = std::clamp<Millis>(std::min(next_claim_at_, next_extend_at_) - now(), 1, 100);
    for (auto& response : ctx_.transport.poll(std::chrono::milliseconds(wait))) handle(response);
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

void Worker::prepare(Job job, Millis t) {
  Step step;
  step.lease = {job.id, job.lease_token};
  step.attempt = job.attempts;
  auto input = decode_step_input(job.input);
  std::string model = input ? input->options.model : "";
  if (model.empty()) model = ctx_.endpoint.default_model;
  auto price = ctx_.prices.find(model);
  if (!input || !price) {
    std::string error = !input ? input.error().message : price.error().message;
    log::warn("job {}: {}", job.id, error);
    auto failed = ctx_.store.fail_step(step.lease, error, t);
    if (failed) ++report_.failed;
    return;
  }
  step.input = std::move(*input);
  step.model = model;
  step.price = *price;
  step.rendered = ctx_.prompts.render(job.kind, step.input);
  step.request.model = model;
  step.request.messages = {{"system", step.rendered.system}, {"user", step.rendered.user}};
  step.request.max_tokens = step.rendered.max_tokens;
  step.request.use_max_completion_tokens = ctx_.endpoint.use_max_completion_tokens;
  step.request.json_object_only = ctx_.endpoint.json_object_only;
  step.request.schema_name = step.rendered.schema_name;
  step.request.json_schema = step.rendered.schema_json;
  step.job = std::move(job);
  log::debug("claimed {} {} (attempt {})", to_string(step.job.kind), step.job.id, step.attempt);
  steps_.emplace(next_tag_++, std::move(step));
}

bool Worker::reserve(Step& step, Millis t) {
  std::size_t bytes = step.request.json_schema.size();
  for (const auto& message : step.request.messages) bytes += message.content.size();
  double worst = worst_case_call_usd(
      step.price, prompt_token_bound(bytes, step.request.messages.size()), step.request.max_tokens);
  auto reservation = ctx_.store.reserve_call(step.lease, worst, t, t + kBudgetWaitMs);
  if (!reservation) {
    note_store_error(reservation.error(), step);
    if (reservation.error().kind != ErrorKind::conflict) return false;  // try again later
  } else if (*reservation == store::Reservation::granted) {
    step.reserved = true;
    return true;
  } else if (*reservation == store::Reservation::deferred) {
    ++report_.budget_waits;
    log::debug("{} {} waits for budget held by calls in flight", to_string(step.job.kind),
               step.job.id);
  } else {
    ++report_.budget_stops;
    log::warn("root {}: its budget cannot cover the next call; the tree stops ({})",
              step.job.root_id, store::kBudgetExhausted);
  }
  step.lease.job_id.clear();
  return false;
}

void Worker::send_ready(Millis t) {
  std::vector<std::uint64_t> finished;
  for (auto& [tag, step] : steps_) {
    if (step.sent) continue;
    if (!step.reserved && !reserve(step, t)) {
      if (step.lease.job_id.empty()) finished.push_back(tag);
      continue;
    }
    std::int64_t estimate = static_cast<std::int64_t>(
        (step.rendered.system.size() + step.rendered.user.size()) / 4 + step.rendered.max_tokens);
    if (!budget_.try_take(t, estimate)) break;
    llm::HttpRequest request;
    request.tag = tag;
    request.url = ctx_.endpoint.chat_url;
    request.headers = {"Content-Type: application/json"};
    if (!ctx_.endpoint.api_key.empty()) {
      request.headers.push_back("Authorization: Bearer " + ctx_.endpoint.api_key);
    }
    request.body = llm::build_chat_body(step.request);
    request.timeout_ms = ctx_.endpoint.timeout_ms;
    request.max_response_bytes = ctx_.endpoint.max_response_bytes;
    ctx_.transport.start(std::move(request));
    step.sent = true;
    step.reserved = false;  // the call spends the reservation; the next one reserves anew
  }
  for (auto tag : finished) steps_.erase(tag);
  if (!finished.empty()) {
    next_claim_at_ = 0;
    progress();
  }
}

void Worker::handle(const llm::HttpResponse& response) {
  auto it = steps_.find(response.tag);
  if (it == steps_.end()) return;
  Step& step = it->second;
  step.sent = false;
  llm::ChatResult result = llm::interpret_response(response);
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
      auto saved = ctx_.store.complete_step(step.lease, *output, t);
      if (saved) {
        count_call(*output->call);
        ++report_.succeeded;
        log::debug("{} {} succeeded", to_string(step.job.kind), step.job.id);
      } else {
        // The same call, by its id: if the commit happened after all (the connection was lost
        // during it), the store keeps the used row and this one is not logged twice.
        CallRecord unused = *output->call;
        unused.used = false;
        unused.error = saved.error().message;
        log_record(step, unused);
        note_store_error(saved.error(), step);
      }
      step.lease.job_id.clear();
      return;
    }
    case ChatOutcome::truncated:
    case ChatOutcome::too_large:
      log_call(step, response, result, false, result.error_message);
      reask(step,
            result.outcome == ChatOutcome::truncated
                ? "your answer was cut off; answer again, more concisely"
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
    case ChatOutcome::client_error: {
      log_call(step, response, result, false, result.error_message);
      auto failed = ctx_.store.fail_step(step.lease, result.error_message, t);
      if (failed)
        ++report_.failed;
      else
        note_store_error(failed.error(), step);
      log::warn("{} {} failed: {}", to_string(step.job.kind), step.job.id, result.error_message);
      step.lease.job_id.clear();
      return;
    }
    default:  // rate_limited, server_error, timeout, network_error, malformed
      log_call(step, response, result, false, result.error_message);
      retry_or_fail(step, result.error_message, result.retry_after_ms);
      return;
  }
}

void Worker::retry_or_fail(Step& step, const std::string& error,
                           std::optional<std::int64_t> retry_after) {
  Millis t = now();
  Status saved = ok_status();
  if (step.attempt >= step.job.max_attempts) {
    std::string final_error = fmt::format("gave up after {} attempts: {}", step.attempt, error);
    saved = ctx_.store.fail_step(step.lease, final_error, t);
    if (saved) {
      ++report_.failed;
      log::warn("{} {} failed: {}", to_string(step.job.kind), step.job.id, final_error);
    }
  } else {
    double unit = std::uniform_real_distribution<double>(0, 1)(random_);
    Millis delay = retry_delay(ctx_.options.retry, step.attempt, unit, retry_after);
    saved = ctx_.store.release_step(step.lease, error, t + delay, t);
    if (saved) ++report_.retried;
    log::debug("{} {} retries in {} ms: {}", to_string(step.job.kind), step.job.id, delay, error);
  }
  if (!saved) note_store_error(saved.error(), step);
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
    retry_or_fail(step, "invalid answer: " + reason, std::nullopt);
    return;
  }
  ++step.attempt;
  ++report_.reasked;
  step.request.messages.resize(2);  // keep system and user; show only the latest rejection
  if (!bad_answer.empty()) {
    step.request.messages.push_back({"assistant", reask_answer(bad_answer)});
  }
  step.request.messages.push_back({"user", reask_prompt(reason)});
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
    log::warn("could not log a model call of job {}: {}", step.job.id, logged.error().message);
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
    log::debug("{} {}: {}", to_string(step.job.kind), step.job.id, error.message);
  } else {
    log::warn("{} {}: {}", to_string(step.job.kind), step.job.id, error.message);
  }
}

}  // namespace

Result<WorkerReport> run_worker(WorkerContext& context) {
  return Worker(context).run();
}

}  // namespace hydrate::engine
