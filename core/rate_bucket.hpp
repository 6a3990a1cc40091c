#pragma once
// The account's rate limit as one bucket of requests and tokens, refilled continuously at the
// per-minute limits (as OpenAI describes its limits), shared by every worker of a database: the
// store keeps the state, and this pure arithmetic decides what may be sent. The limits are the
// lower of the operator's caps (--rpm/--tpm) and what the provider's x-ratelimit-* headers say.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/model.hpp"

namespace hydrate {

// The bucket as stored. Limits of 0 are unknown (no header seen yet).
struct RateBucketState {
  bool exists = false;                          // false: the bucket is new, and starts full
  std::int64_t header_rpm = 0, header_tpm = 0;  // the limits the provider last stated
  double requests = 0, tokens = 0;              // available now (at refilled_at)
  Millis refilled_at = 0;
  Millis blocked_until = 0;  // nothing is sent before (a 429's retry-after)
};

// What the provider said on an answer, and whether it was a 429 rate limit.
struct RateObservation {
  std::optional<std::int64_t> limit_requests, limit_tokens, remaining_requests, remaining_tokens;
  std::optional<Millis> reset_requests_ms, reset_tokens_ms;
  std::optional<Millis> rate_limited_retry_ms;  // set by a 429 rate limit: its retry-after
  Millis at = 0;                                // when the answer came
};

struct RateRequest {
  std::string name;  // the bucket: endpoint and model
  int cap_rpm = 0;   // the operator's caps, 0 = none
  std::int64_t cap_tpm = 0;
  std::vector<std::int64_t> tokens;       // what each request waiting to be sent reserves, in order
  std::int64_t refund_tokens = 0;         // reserved by finished calls beyond what they used
  std::vector<RateObservation> observed;  // answers since the last take, oldest first
  Millis now = 0;
};

struct RateGrant {
  int granted = 0;      // the first `granted` requests may be sent now
  Millis retry_at = 0;  // when the next one could fit (now when all were granted)
};

// Refills the bucket to now, applies observations and the refund, then grants the longest
// prefix of request.tokens that fits, updating state. A bucket whose limits are all unknown
// grants everything. A request larger than the whole token limit is granted on a full bucket,
// alone. Bursts are at most a tenth of a minute's limits, so workers pace rather than surge.
RateGrant take_from_bucket(RateBucketState& state, const RateRequest& request);

// The limits in force: the lower of the cap and the header value, ignoring zeros.
std::int64_t effective_limit(std::int64_t cap, std::int64_t header);

}  // namespace hydrate
