#pragma once
// Fault injection: which request gets which fault, and what each fault sends. A fault is decided
// from a hash of (seed, request body, how often this same body came before), never from arrival
// order, so concurrency does not move faults between requests and a retried request can succeed.
#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mock/wire.hpp"

namespace hydrate::mock {

// In the order they are decided; the first whose draw falls under its rate wins.
enum class Fault {
  none,
  rate_limited,
  server_error,
  unavailable,
  timeout,
  malformed,
  truncated,
  invalid,
  hostile,  // see mock/hostile.hpp
  runaway   // see mock/runaway.hpp
};
constexpr std::array<Fault, 10> kAllFaults = {
    Fault::none,      Fault::rate_limited, Fault::server_error, Fault::unavailable, Fault::timeout,
    Fault::malformed, Fault::truncated,    Fault::invalid,      Fault::hostile,     Fault::runaway};

// The name /stats uses: "none", "429", "500", "503", "timeout", "malformed", "truncated",
// "invalid", "hostile", "runaway".
const char* fault_name(Fault fault);

// Each a probability in [0, 1], applied per request.
struct FaultRates {
  double rate_limited = 0;
  double server_error = 0;
  double unavailable = 0;
  double timeout = 0;
  double malformed = 0;
  double truncated = 0;
  double invalid = 0;
  double hostile = 0;
  // A string the schema does not bound runs away to max_tokens; only grammar-driven flavors
  // (llama.cpp, vLLM) have it, and there it defaults to 1 (a negative rate: the flavor's default).
  double runaway = -1;
};

// Counts how often each request body has been seen. Thread-safe.
class RepeatCounter {
 public:
  // How many times `body_hash` came before this call (0 the first time); counts this one.
  std::uint64_t seen_before(std::uint64_t body_hash);

 private:
  std::mutex mutex_;
  std::unordered_map<std::uint64_t, std::uint64_t> counts_;
};

std::uint64_t fault_hash(std::uint64_t seed, std::uint64_t body_hash, std::uint64_t repeat);
Fault decide_fault(const FaultRates& rates, std::uint64_t fault_hash);

// An HTTP answer built by a fault.
struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  // Set for an error answer: the endpoint sends it in its flavor's shape instead of `body`.
  std::optional<ApiError> error = std::nullopt;
};

// An error answer with these headers (its body in OpenAI's shape until a flavor renders it).
Reply error_reply(ApiError error, std::vector<std::pair<std::string, std::string>> headers);
// 429 rate_limit_exceeded with retry-after: 1 and retry-after-ms between 50 and 200 (a limit
// the provider enforces besides the account's RPM and TPM, such as a burst of requests).
Reply rate_limit_reply(const std::string& model, std::uint64_t hash);
// 500 server_error.
Reply server_error_reply();
// 503 service_unavailable with retry-after.
Reply unavailable_reply();
// 504 after a held request.
Reply gateway_timeout_reply();
// Whether a held request ends with its connection dropped (else with a 504).
bool timeout_drops_connection(std::uint64_t hash);
// A 200 whose body is not JSON: a cut-off prefix of `completion_body`, or an HTML error page.
Reply malformed_reply(const std::string& completion_body, std::uint64_t hash);
// `content` cut between 30 % and 80 % of its code points, always at least one shorter.
std::string truncated_content(std::string_view content, std::uint64_t hash);

}  // namespace hydrate::mock
