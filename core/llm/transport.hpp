#pragma once
// Transport: sends HTTP POSTs concurrently and hands back whatever has finished. It exists so the
// engine can keep many model calls in flight from one thread (libcurl multi behind it) without
// knowing libcurl; another transport is one new file behind this interface.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hydrate::llm {

struct HttpRequest {
  std::uint64_t tag = 0;             // caller's id, returned on the response
  std::string url;                   // full URL, e.g. http://127.0.0.1:8080/v1/chat/completions
  std::vector<std::string> headers;  // "Name: value" lines; may carry the API key, never logged.
                                     // Content-Type defaults to application/json when absent.
  std::string body;                  // sent as the POST body
  long timeout_ms = 120000;          // whole-transfer limit; past it the response has timed_out
  long connect_timeout_ms = 10000;
  std::size_t max_response_bytes = 1 << 20;  // past it the transfer is cut and too_large is set
};

struct HttpResponse {
  std::uint64_t tag = 0;
  int status = 0;  // HTTP status, 0 when no whole HTTP answer came (timeout, refused, reset);
                   // a too_large answer keeps the status it arrived with
  std::string body;
  std::optional<std::int64_t> retry_after_ms;  // from retry-after-ms, else retry-after (seconds)
  // The answer's headers that say who answered and what limits remain: x-request-id (or
  // apim-request-id), x-ratelimit-*; names lower-cased, values trimmed, each at most 200 bytes.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string transport_error;  // empty when a whole HTTP answer arrived; never holds header values
  bool timed_out = false;
  bool too_large = false;
  std::int64_t latency_ms = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Queues the request; it starts at once. Never blocks on the network.
  virtual void start(HttpRequest request) = 0;
  // Waits at most max_wait for progress and returns every response that finished (maybe none):
  // it returns as soon as at least one has finished, and at once when nothing is in flight.
  virtual std::vector<HttpResponse> poll(std::chrono::milliseconds max_wait) = 0;
  // Requests started and not yet returned by poll.
  virtual std::size_t in_flight() const = 0;
};

// The libcurl multi transport. Requests to loopback bypass any configured proxy.
std::unique_ptr<Transport> make_curl_transport();

// The wait a server asked for, in milliseconds: the retry-after-ms value (milliseconds) when it
// parses, else the retry-after value (delay-seconds, or an HTTP-date counted from now; a date in
// the past gives 0). Pass "" for an absent header. nullopt when neither parses.
std::optional<std::int64_t> parse_retry_after_ms(std::string_view retry_after_ms,
                                                 std::string_view retry_after,
                                                 std::chrono::system_clock::time_point now);

}  // namespace hydrate::llm
