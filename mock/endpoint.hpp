#pragma once
// The HTTP face of the endpoint: the OpenAI routes (chat completions, models, and under the openai
// flavor the Batch API's files and batches), /health and /stats,
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

#include "mock/batch_api.hpp"
#include "mock/chat_request.hpp"
#include "mock/faults.hpp"
#include "mock/flavor.hpp"
#include "mock/options.hpp"
#include "mock/rate_limiter.hpp"
#include "mock/stats.hpp"

namespace hydrate::mock {

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
  // The Files and Batches routes (endpoint_batch.cpp), answered by batches_.
  void install_batch_routes(httplib::Server& server);
  // One line of a batch answered as the online route answers its body, with the content faults
  // (--rate-truncated, --rate-invalid) and no other.
  LineAnswer answer_batch_line(const std::string& body, std::uint64_t hash, std::int64_t created);
  // The refusal Azure itself sends before the model sees the request (api-version, api-key,
  // deployment), or nothing.
  std::optional<Reply> refuse_at_azure_gate(const httplib::Request& request,
                                            const std::string& deployment) const;
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
  BatchApi batches_;
};

}  // namespace hydrate::mock
