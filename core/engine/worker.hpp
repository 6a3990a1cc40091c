#pragma once
// The worker: claims steps in batches, keeps many model calls in flight from one thread through
// the Transport, validates each answer, and writes each result in one fenced transaction. It
// knows the Store and Transport interfaces only.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "core/backoff.hpp"
#include "core/llm/model_profile.hpp"
#include "core/llm/transport.hpp"
#include "core/pricing.hpp"
#include "core/prompts.hpp"
#include "core/result.hpp"
#include "core/store/store.hpp"
#include "core/validate.hpp"

namespace hydrate::engine {

struct Endpoint {
  std::string chat_url;  // e.g. http://127.0.0.1:8080/v1/chat/completions (with api-version)
  std::string api_key;   // sent as a bearer token (azure: the api-key header); never logged
  llm::Flavor flavor = llm::Flavor::openai;
  std::string default_model;
  long timeout_ms = 120000;
  llm::ProfileTable profiles = llm::ProfileTable::builtin();
  // Operator overrides of every model's profile (llm.max_tokens_field, llm.response_format).
  std::optional<bool> max_completion_tokens;
  std::optional<llm::OutputMode> output_mode;
  std::size_t max_response_bytes = 1 << 20;
};

struct WorkerOptions {
  std::string holder;          // lease holder identity, e.g. host:pid
  int concurrency = 8;         // model calls in flight at most
  bool until_idle = false;     // return once no open tree has pending or running steps anywhere
  std::int64_t max_steps = 0;  // claims to make at most; 0 = no limit
  Millis lease_ms = 60000;
  Millis idle_poll_ms = 250;
  RetryPolicy retry;
  // Caps of the account's rate limit, shared by every worker of the database through the store
  // (0 = none; the provider's x-ratelimit-* headers pace the workers either way).
  int requests_per_minute = 0;
  std::int64_t tokens_per_minute = 0;
  TextLimits limits;
};

struct WorkerReport {
  std::int64_t claimed = 0, succeeded = 0, retried = 0, reasked = 0, failed = 0;
  std::int64_t lost_leases = 0;       // results discarded because the lease was taken or cancelled
  std::int64_t budget_stops = 0;      // steps not sent because their root's budget was exhausted
  std::int64_t budget_waits = 0;      // steps put back because calls in flight held the budget
  std::int64_t rate_waits = 0;        // times sending waited for the shared rate limit
  std::int64_t format_fallbacks = 0;  // times an endpoint refused a structured-output mode
  std::int64_t calls = 0;
  TokenUsage tokens;
  double cost_usd = 0;
  std::size_t in_flight = 0;
  std::string stop_reason;  // why the worker stopped early (quota), empty otherwise
};

struct WorkerContext {
  // A RetryingStore (retrying_store.hpp) in production: the worker retries no store call itself,
  // so a store error that reaches it ends the run (claims, the idle check) or drops the step.
  store::Store& store;
  llm::Transport& transport;
  const PromptSet& prompts;
  const PriceTable& prices;
  Endpoint endpoint;
  WorkerOptions options;
  const std::atomic<bool>* stop = nullptr;  // set by a signal: stop claiming, finish in flight
  std::function<Millis()> clock;            // wall clock unless a test says otherwise
  std::function<void(const WorkerReport&)> on_progress;  // called when counts change
};

// Runs until stopped, idle (with until_idle), max_steps reached, or the account is out of quota
// (stop_reason set; the caller exits non-zero). Errors: what a claim or the idle check returned
// (a permanent store error, or a RetryingStore's outage past its limit).
Result<WorkerReport> run_worker(WorkerContext& context);

}  // namespace hydrate::engine
