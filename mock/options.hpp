#pragma once
// What the command line sets for the endpoint: the online chat route's behaviour and faults
// (EndpointOptions) and the Batch API's timings, limits and faults (BatchOptions). Plain values,
// free of HTTP, so the parts that answer without a connection (a batch's lines) can read them.
#include <cstdint>
#include <string>
#include <vector>

#include "mock/chat_request.hpp"
#include "mock/faults.hpp"
#include "mock/flavor.hpp"
#include "mock/hostile.hpp"

namespace hydrate::mock {

// The Batch API (/v1/files, /v1/batches): how long each stage lasts, OpenAI's limits, and the
// batch faults, each a probability in [0, 1] drawn per batch (per line for error_line).
struct BatchOptions {
  std::int64_t validating_ms = 50;   // validating, before in_progress (or failed)
  std::int64_t processing_ms = 200;  // in_progress: the whole batch's lines, answered evenly
  std::int64_t finalizing_ms = 50;   // finalizing, before completed
  std::int64_t cancelling_ms = 50;   // cancelling, before cancelled
  double rate_failed = 0;            // the batch fails in validation
  double rate_expired = 0;           // the batch expires part way through in_progress
  double rate_error_line = 0;        // a line is answered 500 (in the error file)
  double rate_slow_finalizing = 0;   // finalizing takes slow_finalizing_ms longer
  std::int64_t slow_finalizing_ms = 2000;
  std::int64_t token_limit = 0;          // enqueued prompt tokens per model; 0: no limit
  std::int64_t max_requests = 50000;     // lines per input file
  std::int64_t max_bytes = 200LL << 20;  // bytes per input file
};

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
  BatchOptions batch;
};

}  // namespace hydrate::mock
