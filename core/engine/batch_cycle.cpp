#include "core/engine/batch_cycle.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "core/backoff.hpp"
#include "core/cascade.hpp"
#include "core/clock.hpp"
#include "core/engine/step_request.hpp"
#include "core/failpoint.hpp"
#include "core/log.hpp"

namespace hydrate::engine {
namespace {

constexpr int kBatchesPerVisit = 16;  // open batches advanced per visit at most
constexpr int kClaimsPerVisit = 8;    // new batches per visit at most
constexpr int kListPages = 20;        // pages of GET /batches searched for a lost create
constexpr const char* kMetadataKey = "hydrate_batch";

// The job id of a custom_id made by batch_custom_id.
std::string job_of(const std::string& custom_id) {
  auto dash = custom_id.rfind("-a");
  return dash == std::string::npos ? custom_id : custom_id.substr(0, dash);
}

log::Fields fields(const store::BatchRecord& batch) {
  return {"", batch.root_id, "", 0};
}

// The request's prompt tokens as a provider's batch queue counts them, from above: four bytes a
// token (a character is at least a byte) and four per message.
std::int64_t queued_prompt_tokens(const llm::ChatRequest& request) {
  std::size_t bytes = 0;
  for (const auto& message : request.messages) bytes += message.content.size();
  return static_cast<std::int64_t>((bytes + 3) / 4 + 4 * request.messages.size());
}

bool refused_for_queue(const llm::BatchInfo& info) {
  return std::any_of(info.errors.begin(), info.errors.end(),
                     [](const llm::BatchError& e) { return e.code == "token_limit_exceeded"; });
}

}  // namespace

std::string batch_custom_id(const Job& job) {
  return fmt::format("{}-a{}", job.id, job.attempts);
}

std::int64_t BatchCycle::queue_limit(const std::string& model) const {
  std::int64_t limit = ctx_.options.queue_tokens;
  auto learned = learned_queue_limit_.find(model);
  if (learned != learned_queue_limit_.end() && (limit <= 0 || learned->second < limit))
    limit = learned->second;
  return limit;
}

Millis BatchCycle::now() const {
  return ctx_.clock ? ctx_.clock() : wall_clock_ms();
}

Status BatchCycle::visit() {
  auto due = ctx_.store.batch_work_due(now());
  if (!due) return due.error();
  if (!*due) return ok_status();
  auto open = ctx_.store.take_open_batches(ctx_.options.holder, ctx_.options.hold_ms, now(),
                                           kBatchesPerVisit);
  if (!open) return open.error();
  for (auto& batch : *open) HYDRATE_TRY(advance(std::move(batch), true));
  for (int i = 0; i < kClaimsPerVisit; ++i) {
    auto claim = ctx_.store.claim_for_batch({ctx_.options.holder, ctx_.options.max_lines,
                                             ctx_.options.lease_ms, ctx_.options.hold_ms, now()});
    if (!claim) return claim.error();
    if (!*claim) break;
    log::info(fields((*claim)->batch), "batch {}: {} step(s) of root {} claimed",
              (*claim)->batch.id, (*claim)->jobs.size(), (*claim)->batch.root_id);
    HYDRATE_TRY(advance(std::move((*claim)->batch), false));
  }
  return ok_status();
}

Status BatchCycle::advance(store::BatchRecord batch, bool resumed) {
  if (batch.cancel_requested &&
      (batch.state == store::BatchState::claimed || batch.state == store::BatchState::uploaded)) {
    // Cancelled before the provider had it: nothing to cancel there, nothing billed.
    return abandon(batch, "cancelled before it was created");
  }
  if (batch.state == store::BatchState::claimed) {
    HYDRATE_TRY(upload(batch));
    if (batch.state != store::BatchState::uploaded) return ok_status();
    resumed = false;  // uploaded just now: no batch of it can exist yet
  }
  if (batch.state == store::BatchState::uploaded) {
    HYDRATE_TRY(create(batch, resumed));
    return ok_status();  // polled on a later visit, once the provider had a moment
  }
  if (batch.state == store::BatchState::created) return poll(batch);
  return ok_status();
}

Status BatchCycle::upload(store::BatchRecord& batch) {
  auto steps = ctx_.store.batch_steps(batch);
  if (!steps) return steps.error();
  // The lines the file could hold: one model's, within the byte limit, in tree order. The steps
  // left out go back for a later batch when the record is fitted.
  std::vector<std::string> lines;
  std::vector<store::BatchLinePlan> plans;
  std::string model;
  std::size_t bytes = 0;
  for (const auto& job : *steps) {
    auto built = build_step_request(job, ctx_.endpoint, ctx_.prompts, ctx_.prices);
    if (!built) {
      auto failed = ctx_.store.fail_step({job.id, batch.lease_token}, built.error().message, now());
      if (failed) ++report_.failed;
      continue;
    }
    if (model.empty()) model = built->model;
    if (built->model != model) continue;  // a file holds one model's requests
    if (auto reason = rejection_of(job)) ask_again(built->request, *reason, "");
    std::string line = llm::batch_request_line(batch_custom_id(job), built->request);
    if (bytes + line.size() + 1 > ctx_.options.max_bytes) break;
    bytes += line.size() + 1;
    plans.push_back({job.id, worst_case_usd(built->request, built->price),
                     queued_prompt_tokens(built->request)});
    lines.push_back(std::move(line));
  }
  if (lines.empty()) {
    return abandon(batch, "no step left to send");
  }
  const std::size_t planned = plans.size();
  const std::int64_t limit = queue_limit(model);
  auto fit = ctx_.store.fit_batch(batch, {ctx_.options.holder, model, std::move(plans), limit,
                                          now(), now() + ctx_.options.poll_max_ms});
  if (!fit) return fit.error();
  if (fit->kept == 0) {
    if (fit->budget == store::Reservation::budget_exhausted) {
      ++report_.budget_stops;
      log::warn(fields(batch),
                "root {}: its budget cannot cover the next batch line; the tree "
                "stops ({})",
                batch.root_id, store::kBudgetExhausted);
    } else if (fit->budget == store::Reservation::deferred) {
      log::info(fields(batch),
                "root {}: its next batch waits for budget held by batches and "
                "calls in flight",
                batch.root_id);
    } else {
      log::info(fields(batch),
                "root {}: its next batch waits for room in {}'s batch queue "
                "({} of {} enqueued tokens in use)",
                batch.root_id, model, fit->queued_tokens, limit);
    }
    return ok_status();
  }
  if (static_cast<std::size_t>(fit->kept) < planned) {
    log::info(fields(batch),
              "batch {}: {} of {} line(s) fit the budget and the batch queue; the "
              "rest wait",
              batch.id, fit->kept, planned);
  }
  std::string jsonl;
  for (int i = 0; i < fit->kept; ++i) {
    jsonl += lines[static_cast<std::size_t>(i)];
    jsonl += '\n';
  }
  auto file = ctx_.client.upload("hydrate-" + batch.id + ".jsonl", jsonl);
  if (!file) return postpone(batch, *file.failure);
  failpoint("batch-uploaded-unrecorded");
  batch.input_file_id = *file.value;
  batch.state = store::BatchState::uploaded;
  batch.error.clear();
  log::info(fields(batch), "batch {}: {} line(s), {} bytes uploaded as {}", batch.id, fit->kept,
            jsonl.size(), batch.input_file_id);
  return ctx_.store.update_batch(batch, ctx_.options.holder, now());
}

Status BatchCycle::create(store::BatchRecord& batch, bool resumed) {
  std::optional<llm::BatchInfo> created;
  if (resumed) {
    // A worker may have created the batch and died before recording it: find it by metadata.
    std::string after;
    for (int page = 0; page < kListPages && !created; ++page) {
      auto listed = ctx_.client.list(after, 100);
      if (!listed) return postpone(batch, *listed.failure);
      for (const auto& info : listed.value->batches) {
        for (const auto& [key, value] : info.metadata) {
          if (key == kMetadataKey && value == batch.id) created = info;
        }
      }
      if (!listed.value->has_more) break;
      after = listed.value->last_id;
    }
    if (created) log::info(fields(batch), "batch {}: found as {}", batch.id, created->id);
  }
  if (!created) {
    auto made = ctx_.client.create(batch.input_file_id,
                                   {{kMetadataKey, batch.id}, {"hydrate_root", batch.root_id}});
    if (!made) {
      if (made.failure->error.kind == ErrorKind::transient) return postpone(batch, *made.failure);
      return give_up(batch, "the provider refused the batch: " + made.failure->error.message);
    }
    created = *made.value;
    failpoint("batch-created-unrecorded");
    ++report_.created;
    log::info(fields(batch), "batch {}: created as {}", batch.id, created->id);
  }
  batch.provider_batch_id = created->id;
  batch.provider_status = llm::to_string(created->status);
  batch.state = store::BatchState::created;
  batch.error.clear();
  batch.next_poll_at = now() + ctx_.options.poll_min_ms;
  return ctx_.store.update_batch(batch, ctx_.options.holder, now());
}

Status BatchCycle::poll(store::BatchRecord& batch) {
  auto info = ctx_.client.retrieve(batch.provider_batch_id);
  if (!info) {
    if (info.failure->error.kind == ErrorKind::not_found)
      return give_up(batch, "the provider no longer knows batch " + batch.provider_batch_id);
    return postpone(batch, *info.failure);
  }
  batch.provider_status = llm::to_string(info.value->status);
  batch.completed = static_cast<int>(info.value->completed);
  batch.failed = static_cast<int>(info.value->failed);
  batch.output_file_id = info.value->output_file_id;
  batch.error_file_id = info.value->error_file_id;
  if (!info.value->errors.empty()) {
    const auto& e = info.value->errors.front();
    batch.error = e.code + ": " + e.message;
  }
  if (llm::is_final(info.value->status)) return apply(batch, *info.value);
  if (batch.cancel_requested && info.value->status != llm::BatchStatus::cancelling) {
    auto cancelled = ctx_.client.cancel(batch.provider_batch_id);
    if (!cancelled) return postpone(batch, *cancelled.failure);
    batch.provider_status = llm::to_string(cancelled.value->status);
  }
  // Polled less often as the batch ages: a quarter of its age, within the configured bounds.
  Millis age = now() - batch.created_at;
  batch.next_poll_at =
      now() + std::clamp<Millis>(age / 4, ctx_.options.poll_min_ms, ctx_.options.poll_max_ms);
  return ctx_.store.update_batch(batch, ctx_.options.holder, now());
}

Status BatchCycle::apply(store::BatchRecord& batch, const llm::BatchInfo& info) {
  auto steps = ctx_.store.batch_steps(batch);
  if (!steps) return steps.error();
  if (info.status == llm::BatchStatus::failed) {
    const std::string error =
        "the batch failed: " + (batch.error.empty() ? "no reason given" : batch.error);
    if (refused_for_queue(info) && steps->size() > 1) {
      // The model's queue was full: its limit is at most what this batch would have made it,
      // so this worker fills half of that from now on, and the steps go again, spending
      // nothing: smaller batches fit, or they wait until enough of the queue is done.
      auto& learned = learned_queue_limit_[batch.model];
      const std::int64_t half = std::max<std::int64_t>(1, batch.prompt_tokens / 2);
      if (learned == 0 || half < learned) learned = half;
      log::warn(fields(batch), "batch {}: {}; {}'s batches now hold at most {} enqueued tokens",
                batch.id, error, batch.model, learned);
      ++report_.queue_refusals;
      return abandon(batch);
    }
    // The provider's own trouble (an error with no line of the input: server_error, or a lone
    // line over the queue's limit) is not the steps' fault: they wait and go again, spending
    // transient retries, not attempts. A line the provider refused spends an attempt.
    const bool provider_fault =
        std::none_of(info.errors.begin(), info.errors.end(),
                     [](const llm::BatchError& e) { return e.line.has_value(); });
    if (!provider_fault) return give_up(batch, error);
    log::warn(fields(batch), "batch {}: {}; its steps go again", batch.id, error);
    for (const auto& job : *steps) retry_transient_step(batch, job, error);
    return abandon(batch);
  }
  std::map<std::string, Job> held;
  for (auto& job : *steps) held.emplace(job.id, std::move(job));
  for (const std::string* file : {&batch.output_file_id, &batch.error_file_id}) {
    if (file->empty()) continue;
    auto content = ctx_.client.content(*file);
    if (!content) return postpone(batch, *content.failure);  // applied again, idempotently
    apply_lines(batch, *content.value, held);
  }
  batch.state = store::BatchState::applied;
  auto left = close(batch);
  if (!left) return left.error();
  ++report_.applied;
  report_.unanswered += *left;
  log::info(fields(batch), "batch {} ({}) applied: {} completed, {} failed, {} step(s) unanswered",
            batch.id, batch.provider_status, batch.completed, batch.failed, *left);
  return ok_status();
}

void BatchCycle::apply_lines(const store::BatchRecord& batch, const std::string& content,
                             std::map<std::string, Job>& held) {
  std::size_t start = 0;
  while (start < content.size()) {
    std::size_t end = content.find('\n', start);
    if (end == std::string::npos) end = content.size();
    std::string_view text(content.data() + start, end - start);
    start = end + 1;
    if (text.empty()) continue;
    auto line = llm::parse_batch_line(text);
    if (!line) {
      log::warn(fields(batch), "batch {}: {}", batch.id, line.error().message);
      continue;
    }
    const std::string id = job_of(line->custom_id);
    auto it = held.find(id);
    if (it != held.end()) {
      apply_line(batch, *line, it->second, true);
      continue;
    }
    // Not held any more (cancelled, or applied before a crash): the line is still billed.
    auto job = ctx_.store.find_job(id);
    if (job) apply_line(batch, *line, *job, false);
  }
}

void BatchCycle::apply_line(const store::BatchRecord& batch, const llm::BatchLine& line,
                            const Job& job, bool held) {
  const Millis t = now();
  llm::ChatResult result = llm::interpret_response(line.response);
  auto built = build_step_request(job, ctx_.endpoint, ctx_.prompts, ctx_.prices);
  CallRecord call;
  call.call_id = batch.id + "/" + line.custom_id;  // the same line, applied again, bills once
  call.job_id = job.id;
  call.root_id = job.root_id;
  call.attempt = job.attempts;
  call.model = batch.model;
  call.http_status = line.status_code;
  call.usage = result.usage;
  if (built) {
    call.cost_usd = call_cost_usd(built->price, result.usage);
    call.input_price = built->price.input_per_million;
    call.cached_input_price = built->price.cached_input_per_million;
    call.output_price = built->price.output_per_million;
    call.response_format = llm::to_string(built->request.mode);
  }
  call.request_id = result.request_id;
  call.started_at = batch.created_at;
  call.created_at = t;
  call.lease_token = batch.lease_token;
  const store::LeaseRef lease{job.id, batch.lease_token};
  auto log_unused = [&](const std::string& error) {
    CallRecord unused = call;
    unused.used = false;
    unused.error = error;
    report_.cost_usd += unused.cost_usd;
    auto logged = ctx_.store.log_call(unused);
    if (!logged) log::warn(fields(batch), "batch {}: {}", batch.id, logged.error().message);
  };
  if (!built) {
    log_unused(built.error().message);
    if (held) {
      auto failed = ctx_.store.fail_step(lease, built.error().message, t);
      if (failed) ++report_.failed;
    }
    return;
  }
  if (result.outcome != llm::ChatOutcome::ok) {
    std::string error = line.error_code.empty() ? result.error_message
                                                : line.error_code + ": " + line.error_message;
    log_unused(error);
    if (!held || line.error_code == "batch_expired") return;  // unanswered: given back at close
    if (result.outcome == llm::ChatOutcome::truncated ||
        result.outcome == llm::ChatOutcome::too_large ||
        result.outcome == llm::ChatOutcome::client_error) {
      retry_step(batch, job, error);
    } else {
      retry_transient_step(batch, job, error);
    }
    return;
  }
  auto output = parse_step_output(job.kind, built->input, result.content, ctx_.options.limits);
  if (!output) {
    log_unused("invalid answer: " + output.error().message);
    if (held) retry_step(batch, job, "invalid answer: " + output.error().message);
    return;
  }
  output->children = children_for(job, built->input, *output, t);
  call.used = true;
  output->call = call;
  auto saved = ctx_.store.complete_step(lease, *output, t);
  if (saved) {
    ++report_.succeeded;
    report_.cost_usd += call.cost_usd;
    failpoint("batch-line-applied");
    return;
  }
  // Cancelled meanwhile, or applied already before a crash (then the used row stays and this
  // one, with the same call id, is not logged).
  log_unused(store::kResultNotSaved + saved.error().message);
}

Result<int> BatchCycle::close(const store::BatchRecord& batch) {
  auto left = ctx_.store.close_batch(batch, ctx_.options.holder, now());
  if (!left || !ctx_.options.delete_files) return left;
  // Closed for good: its files are of no more use. One that cannot be deleted now stays at the
  // provider (it costs storage, nothing else), and the cycle does not come back for it.
  for (const std::string* file :
       {&batch.input_file_id, &batch.output_file_id, &batch.error_file_id}) {
    if (file->empty()) continue;
    auto removed = ctx_.client.remove(*file);
    if (removed) {
      ++report_.files_deleted;
    } else if (removed.failure->error.kind != ErrorKind::not_found) {
      log::warn(fields(batch), "batch {}: file {} stays at the provider: {}", batch.id, *file,
                removed.failure->error.message);
    }
  }
  return left;
}

Status BatchCycle::postpone(store::BatchRecord& batch, const llm::BatchCallError& failure) {
  batch.error = failure.error.message;
  Millis wait = std::max<Millis>(failure.retry_after_ms.value_or(0), ctx_.options.poll_min_ms);
  batch.next_poll_at = now() + std::min<Millis>(wait, ctx_.options.poll_max_ms);
  log::warn(fields(batch), "batch {}: {}; trying again in {} ms", batch.id, batch.error,
            batch.next_poll_at - now());
  return ctx_.store.update_batch(batch, ctx_.options.holder, now());
}

Status BatchCycle::give_up(store::BatchRecord& batch, const std::string& error) {
  log::warn(fields(batch), "batch {}: {}", batch.id, error);
  auto steps = ctx_.store.batch_steps(batch);
  if (!steps) return steps.error();
  for (const auto& job : *steps) retry_step(batch, job, error);
  return abandon(batch, error);
}

Status BatchCycle::abandon(store::BatchRecord& batch, const std::string& error) {
  batch.state = store::BatchState::abandoned;
  if (!error.empty()) batch.error = error;
  ++report_.abandoned;
  auto closed = close(batch);
  return closed ? ok_status() : Status(closed.error());
}

void BatchCycle::retry_transient_step(const store::BatchRecord& batch, const Job& job,
                                      const std::string& error) {
  const store::LeaseRef lease{job.id, batch.lease_token};
  const Millis t = now();
  if (!transient_retry_left(ctx_.options.retry, job.transient_retries, job.first_transient_at, t)) {
    auto failed = ctx_.store.fail_step(
        lease, fmt::format("gave up after {} transient retries: {}", job.transient_retries, error),
        t);
    if (failed) ++report_.failed;
    return;
  }
  Millis delay = retry_delay(ctx_.options.retry, job.transient_retries + 1, 0.5, std::nullopt);
  auto released = ctx_.store.release_transient(lease, error, t + delay, t);
  if (released) ++report_.retried;
}

void BatchCycle::retry_step(const store::BatchRecord& batch, const Job& job,
                            const std::string& error) {
  const store::LeaseRef lease{job.id, batch.lease_token};
  if (job.attempts >= job.max_attempts) {
    auto failed = ctx_.store.fail_step(
        lease, fmt::format("gave up after {} attempts: {}", job.attempts, error), now());
    if (failed) ++report_.failed;
    return;
  }
  auto released = ctx_.store.release_step(lease, error, now(), now());
  if (released) ++report_.retried;
}

void CycleEnd::set() {
  {
    std::lock_guard lock(mutex_);
    set_ = true;
  }
  set_cv_.notify_all();
}

bool CycleEnd::is_set() const {
  std::lock_guard lock(mutex_);
  return set_;
}

void CycleEnd::wait_for(Millis ms) {
  std::unique_lock lock(mutex_);
  set_cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return set_; });
}

void run_batch_cycle(BatchCycle& cycle, const std::atomic<bool>& stop, CycleEnd& done,
                     Millis interval_ms) {
  while (!stop.load() && !done.is_set()) {
    auto visited = cycle.visit();
    if (!visited) log::warn("batch cycle: {}", visited.error().message);
    for (Millis slept = 0; slept < interval_ms && !stop.load() && !done.is_set(); slept += 50) {
      done.wait_for(std::min<Millis>(50, interval_ms - slept));
    }
  }
}

}  // namespace hydrate::engine
