// What an answer does in the worker: checked and set aside for the group commit, re-asked,
// retried or failed, and logged as a call (worker_impl.hpp has the class).
#include <algorithm>
#include <map>
#include <random>
#include <thread>

#include "core/cascade.hpp"
#include "core/clock.hpp"
#include "core/engine/worker_impl.hpp"
#include "core/ids.hpp"

namespace hydrate::engine::detail {

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

void Worker::note_store_error(const Error& error, const Step& step) {
  if (error.kind == ErrorKind::conflict) {
    ++report_.lost_leases;
    log::debug(fields(step), "{} {}: {}", to_string(step.job.kind), step.job.id, error.message);
  } else {
    log::warn(fields(step), "{} {}: {}", to_string(step.job.kind), step.job.id, error.message);
  }
}

}  // namespace hydrate::engine::detail
