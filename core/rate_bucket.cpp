#include "core/rate_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace hydrate {
namespace {

constexpr double kBurstShare = 0.1;  // of a minute's limit

double burst(std::int64_t per_minute) {
  return std::max(1.0, static_cast<double>(per_minute) * kBurstShare);
}

void refill(RateBucketState& s, std::int64_t rpm, std::int64_t tpm, Millis now) {
  const double elapsed = static_cast<double>(std::max<Millis>(0, now - s.refilled_at));
  if (rpm > 0) s.requests = std::min(burst(rpm), s.requests + rpm * elapsed / 60000.0);
  if (tpm > 0) s.tokens = std::min(burst(tpm), s.tokens + tpm * elapsed / 60000.0);
  s.refilled_at = std::max(s.refilled_at, now);
}

// Clamps what is left to what the provider said (the limits were read before the refill).
void observe(RateBucketState& s, const RateObservation& o) {
  // The provider's count is the truth: never believe in more than it has left.
  if (o.remaining_requests)
    s.requests = std::min(s.requests, static_cast<double>(*o.remaining_requests));
  if (o.remaining_tokens) s.tokens = std::min(s.tokens, static_cast<double>(*o.remaining_tokens));
  // An empty window is not waited out until its reset header (the time until it is full again,
  // up to a minute): the clamp above leaves nothing, and the refill lets the next one go.
  if (o.rate_limited_retry_ms) {
    s.blocked_until = std::max(s.blocked_until, o.at + *o.rate_limited_retry_ms);
    s.requests = std::min(s.requests, 0.0);
  }
}

}  // namespace

std::int64_t effective_limit(std::int64_t cap, std::int64_t header) {
  if (cap > 0 && header > 0) return std::min(cap, header);
  return cap > 0 ? cap : header;
}

RateGrant take_from_bucket(RateBucketState& s, const RateRequest& r) {
  for (const auto& o : r.observed) {
    if (o.limit_requests && *o.limit_requests > 0) s.header_rpm = *o.limit_requests;
    if (o.limit_tokens && *o.limit_tokens > 0) s.header_tpm = *o.limit_tokens;
  }
  const std::int64_t rpm = effective_limit(r.cap_rpm, s.header_rpm);
  const std::int64_t tpm = effective_limit(r.cap_tpm, s.header_tpm);
  if (!s.exists) {
    s.exists = true;
    s.requests = rpm > 0 ? burst(rpm) : 0;
    s.tokens = tpm > 0 ? burst(tpm) : 0;
    s.refilled_at = r.now;
  }
  refill(s, rpm, tpm, r.now);
  // Refunds first, then what the provider said: its count is newer, and it wins.
  if (tpm > 0) s.tokens = std::min(burst(tpm), s.tokens + static_cast<double>(r.refund_tokens));
  for (const auto& o : r.observed) observe(s, o);
  RateGrant grant;
  grant.retry_at = r.now;
  if (r.now < s.blocked_until) {
    grant.retry_at = s.blocked_until;
    return grant;
  }
  for (std::int64_t tokens : r.tokens) {
    const bool request_fits = rpm <= 0 || s.requests >= 1.0;
    const bool full = s.tokens >= burst(tpm) - 1e-9;
    const bool tokens_fit =
        tpm <= 0 || s.tokens >= static_cast<double>(tokens) || (full && grant.granted == 0);
    if (!request_fits || !tokens_fit) {
      double wait_ms = 0;
      if (rpm > 0 && s.requests < 1.0) wait_ms = (1.0 - s.requests) * 60000.0 / rpm;
      if (tpm > 0 && !tokens_fit) {
        const double need = std::min(static_cast<double>(tokens), burst(tpm)) - s.tokens;
        wait_ms = std::max(wait_ms, need * 60000.0 / tpm);
      }
      grant.retry_at = r.now + static_cast<Millis>(std::ceil(wait_ms));
      return grant;
    }
    if (rpm > 0) s.requests -= 1.0;
    if (tpm > 0) s.tokens -= static_cast<double>(tokens);
    ++grant.granted;
  }
  return grant;
}

}  // namespace hydrate
