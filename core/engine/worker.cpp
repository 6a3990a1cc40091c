// The worker's loop: claims, requests built and sent, lease renewals (worker_impl.hpp has the
// class; worker_answers.cpp what an answer does).
#include "core/engine/worker.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <thread>

#include "core/cascade.hpp"
#include "core/clock.hpp"
#include "core/engine/worker_impl.hpp"
#include "core/ids.hpp"

namespace hydrate::engine {
namespace detail {

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

}  // namespace detail

Result<WorkerReport> run_worker(WorkerContext& context) {
  return detail::Worker(context).run();
}

}  // namespace hydrate::engine
