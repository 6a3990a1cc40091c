#pragma once
// The HTTP face of the endpoint: the OpenAI routes (chat completions, models), /health and /stats,
// OpenAI-style errors for everything else, API-key checks, latency and fault injection.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <httplib.h>

#include "mock/chat_request.hpp"
#include "mock/faults.hpp"
#include "mock/flavor.hpp"
#include "mock/hostile.hpp"
#include "mock/rate_limiter.hpp"
#include "mock/stats.hpp"

namespace hydrate::mock {

struct EndpointOptions {
  std::uint64_t seed = 1;
  std::int64_t latency_ms = 0;  // added before every /v1 answer
  FaultRates rates;
  // The kinds a hostile fault picks from (all of them by default); never empty.
  std::vector<HostileKind> hostile_kinds{kAllHostileKinds.begin(), kAllHostileKinds.end()};
  std::int64_t timeout_hold_ms = 30000;  // how long a "timeout" fault holds its request
  std::string api_key;                   // empty: no Authorization required
  std::int64_t quota_after = -1;         // answer 429 insufficient_quota after this many; -1 never
  Flavor flavor = Flavor::openai;
  std::int64_t rpm = 0;  // requests per minute; 0: the flavor's own limit (none for local ones)
  std::int64_t tpm = 0;  // tokens per minute; 0: likewise
  FormatSet formats;     // the response_format types accepted
  bool report_usage = true;
  std::int64_t loading_ms = 0;           // /health and chat answer 503 "Loading model" this long
  std::vector<std::string> deployments;  // Azure deployments that exist; empty: any name
  // Probability that an answer free of other faults is written in another language than the
  // prompt asks for (see draws_wrong_language).
  double wrong_language_rate = 0;
};

// Lets handlers that wait (latency, held requests) wake at once when the server stops.
class Stopper {
 public:
  void stop();
  // Sleeps for `duration`; false when stop() cut the sleep short (or had already been called).
  bool sleep_for(std::chrono::milliseconds duration);

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopped_ = false;
};

class Endpoint {
 public:
  Endpoint(EndpointOptions options, Stopper& stopper);

  // Registers every route and the error and exception handlers on `server`.
  void install(httplib::Server& server);

 private:
  // `deployment` is the Azure route's; empty on /v1/chat/completions.
  void chat_completions(const httplib::Request& request, httplib::Response& response,
                        const std::string& deployment);
  // The refusal Azure itself sends before the model sees the request (api-version, api-key,
  // deployment), or nothing.
  std::optional<Reply> refuse_at_azure_gate(const httplib::Request& request,
                                            const std::string& deployment) const;
  // Sends the completion (or the malformed body standing in for it) for a request that passed
  // every check; returns the HTTP status recorded for it. `fault` comes back as the fault that
  // took effect (a runaway needs an unbounded string, else it is none).
  int answer(const ChatRequest& chat, Fault& fault, std::uint64_t hash,
             httplib::Response& response);
  // The 401 to send, or nothing when the request may pass.
  std::optional<ApiError> refuse_unauthorized(const httplib::Request& request) const;
  void pause_for_latency();
  bool still_loading() const;
  void send_error(httplib::Response& response, const ApiError& error) const;
  void send_reply(httplib::Response& response, const Reply& reply) const;

  const EndpointOptions options_;
  const FlavorTraits traits_;
  Stopper& stopper_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::optional<RateLimiter> limiter_;  // empty: the flavor limits nothing
  Stats stats_;
  SeenModels models_;
  RepeatCounter repeats_;
  std::atomic<std::uint64_t> sequence_{0};
  std::atomic<std::int64_t> accepted_{0};  // well-formed chat requests, for --quota-after
};

}  // namespace hydrate::mock
