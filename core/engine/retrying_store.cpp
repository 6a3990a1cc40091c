#include "core/engine/retrying_store.hpp"

#include <chrono>
#include <thread>

#include "core/log.hpp"

namespace hydrate::engine {
namespace {

// Outages are measured on the monotonic clock: a wall-clock step must not end or stretch one.
Millis monotonic_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

bool stopping(const std::atomic<bool>* stop) {
  return stop && stop->load();
}

// The outcome of one try: an answer, or the error to retry after.
template <class R>
const Error* retryable_error(const R& result) {
  return !result && is_retryable_store_error(result.error()) ? &result.error() : nullptr;
}

}  // namespace

RetryingStore::RetryingStore(store::Store& inner, StoreRetryPolicy policy,
                             const std::atomic<bool>* stop)
    : inner_(inner), policy_(std::move(policy)), stop_(stop), outage_(policy_.outage_ms) {}

template <class F>
auto RetryingStore::ride_out(F&& call, const std::function<bool()>& keep_waiting)
    -> decltype(call()) {
  while (true) {
    auto result = call();
    const Error* error = retryable_error(result);
    if (!error) {
      outage_.end();  // an answer, even a refusal, means the database is there
      return result;
    }
    Millis now = monotonic_ms();
    double unit = std::uniform_real_distribution<double>(0, 1)(random_);
    auto delay = outage_.next_delay(policy_.backoff, now, unit);
    if (!delay) {
      Error given_up = outage_error(policy_, outage_.elapsed(now), *error);
      if (!gave_up_) gave_up_ = given_up;
      return given_up;
    }
    if (keep_waiting && !keep_waiting()) return result;
    log::warn("{}; retrying in {} ms", error->message, *delay);
    std::this_thread::sleep_for(std::chrono::milliseconds(*delay));
  }
}

Result<int> RetryingStore::migrate() {
  return ride_out([&] { return inner_.migrate(); });
}

Result<std::vector<Job>> RetryingStore::claim_batch(const store::ClaimRequest& request) {
  // A lease runs from the claim that got it, not from the first try.
  Millis first_try = monotonic_ms();
  auto claimed = ride_out(
      [&] {
        store::ClaimRequest retried = request;
        retried.now += monotonic_ms() - first_try;
        return inner_.claim_batch(retried);
      },
      [&] { return !stopping(stop_); });
  // Stopped while the database was out: nothing was claimed that the worker knows of.
  if (!claimed && stopping(stop_) && is_retryable_store_error(claimed.error())) {
    return std::vector<Job>{};
  }
  return claimed;
}

Result<int> RetryingStore::extend_leases(const std::vector<store::LeaseRef>& leases,
                                         Millis new_expiry) {
  Millis first_try = monotonic_ms();
  return ride_out(
      [&] { return inner_.extend_leases(leases, new_expiry + (monotonic_ms() - first_try)); });
}

Result<bool> RetryingStore::begin_reask(const store::LeaseRef& lease) {
  // The step stays running after a re-ask, so the fence cannot tell a second count from the
  // first: after a failed try, the attempts read back say whether it committed.
  auto before = ride_out([&] { return inner_.find_job(lease.job_id); });
  if (!before) return before.error();
  bool tried = false;
  return ride_out([&]() -> Result<bool> {
    if (tried) {
      auto job = inner_.find_job(lease.job_id);
      if (!job) return job.error();
      if (job->status != JobStatus::running || job->lease_token != lease.token) {
        return make_error(ErrorKind::conflict, "job " + lease.job_id + ": the lease was lost");
      }
      if (job->attempts > before->attempts) return true;  // the failed try had committed
    }
    tried = true;
    return inner_.begin_reask(lease);
  });
}

Result<std::set<std::string>> RetryingStore::budgeted_roots(
    const std::vector<std::string>& root_ids) {
  return ride_out([&] { return inner_.budgeted_roots(root_ids); });
}

Result<std::vector<Status>> RetryingStore::complete_steps(
    const std::vector<store::CompletedStep>& steps, Millis now) {
  return ride_out([&] { return inner_.complete_steps(steps, now); });
}

Status RetryingStore::release_step(const store::LeaseRef& lease, const std::string& error,
                                   Millis run_after, Millis now) {
  return ride_out([&] { return inner_.release_step(lease, error, run_after, now); });
}

Status RetryingStore::return_step(const store::LeaseRef& lease, const std::string& error,
                                  Millis now) {
  return ride_out([&] { return inner_.return_step(lease, error, now); });
}

Status RetryingStore::release_transient(const store::LeaseRef& lease, const std::string& error,
                                        Millis run_after, Millis now) {
  return ride_out([&] { return inner_.release_transient(lease, error, run_after, now); });
}

Result<std::string> RetryingStore::learned_output_mode(const std::string& endpoint,
                                                       const std::string& model) {
  return ride_out([&] { return inner_.learned_output_mode(endpoint, model); });
}

Status RetryingStore::remember_output_mode(const std::string& endpoint, const std::string& model,
                                           const std::string& mode, Millis now) {
  return ride_out([&] { return inner_.remember_output_mode(endpoint, model, mode, now); });
}

Status RetryingStore::fail_step(const store::LeaseRef& lease, const std::string& error,
                                Millis now) {
  return ride_out([&] { return inner_.fail_step(lease, error, now); });
}

Status RetryingStore::log_call(const CallRecord& call) {
  return ride_out([&] { return inner_.log_call(call); });
}

Result<store::Reservation> RetryingStore::reserve_call(const store::LeaseRef& lease,
                                                       double worst_case_usd, Millis now,
                                                       Millis retry_at) {
  return ride_out([&] { return inner_.reserve_call(lease, worst_case_usd, now, retry_at); });
}

Result<Job> RetryingStore::find_job(const std::string& id) {
  return ride_out([&] { return inner_.find_job(id); });
}

Result<store::QueueOutlook> RetryingStore::queue_outlook(Millis now) {
  return ride_out([&] { return inner_.queue_outlook(now); });
}

Result<std::unique_ptr<store::Store>> open_store_riding_out(const std::string& url,
                                                            const store::OpenOptions& options,
                                                            const StoreRetryPolicy& policy,
                                                            const std::atomic<bool>* stop) {
  StoreOutage outage(policy.outage_ms);
  std::mt19937_64 random{std::random_device{}()};
  while (true) {
    if (stopping(stop)) return std::unique_ptr<store::Store>();
    auto opened = store::open_store(url, options);
    if (opened || !is_retryable_store_error(opened.error())) return opened;
    Millis now = monotonic_ms();
    auto delay = outage.next_delay(policy.backoff, now,
                                   std::uniform_real_distribution<double>(0, 1)(random));
    if (!delay) return outage_error(policy, outage.elapsed(now), opened.error());
    log::warn("{}; retrying in {} ms", opened.error().message, *delay);
    std::this_thread::sleep_for(std::chrono::milliseconds(*delay));
  }
}

Result<bool> RetryingStore::batch_work_due(Millis now) {
  return ride_out([&] { return inner_.batch_work_due(now); }, [&] { return !stopping(stop_); });
}

Result<std::optional<store::BatchClaim>> RetryingStore::claim_for_batch(
    const store::BatchClaimRequest& request) {
  return ride_out([&] { return inner_.claim_for_batch(request); },
                  [&] { return !stopping(stop_); });
}

Result<std::vector<store::BatchRecord>> RetryingStore::take_open_batches(const std::string& holder,
                                                                         Millis hold_ms, Millis now,
                                                                         int limit) {
  return ride_out([&] { return inner_.take_open_batches(holder, hold_ms, now, limit); },
                  [&] { return !stopping(stop_); });
}

Result<std::vector<Job>> RetryingStore::batch_steps(const store::BatchRecord& batch) {
  return ride_out([&] { return inner_.batch_steps(batch); }, [&] { return !stopping(stop_); });
}

Result<store::BatchFit> RetryingStore::fit_batch(store::BatchRecord& batch,
                                                 const store::BatchFitRequest& request) {
  return ride_out([&] { return inner_.fit_batch(batch, request); });
}

Status RetryingStore::update_batch(const store::BatchRecord& batch, const std::string& holder,
                                   Millis now) {
  return ride_out([&] { return inner_.update_batch(batch, holder, now); });
}

Result<int> RetryingStore::close_batch(const store::BatchRecord& batch, const std::string& holder,
                                       Millis now) {
  return ride_out([&] { return inner_.close_batch(batch, holder, now); });
}

}  // namespace hydrate::engine
