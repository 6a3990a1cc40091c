#pragma once
// What the command line sets for the endpoint. Plain values, free of HTTP, so that the parts
// that answer without a connection can read them.
#include <cstdint>
#include <string>
#include <vector>

#include "mock/chat_request.hpp"
#include "mock/faults.hpp"
#include "mock/flavor.hpp"
#include "mock/hostile.hpp"

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

}  // namespace hydrate::mock
