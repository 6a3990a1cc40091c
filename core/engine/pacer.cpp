#include "core/engine/pacer.hpp"

#include "core/log.hpp"

namespace hydrate::engine {
namespace {

constexpr std::size_t kMaxObservations = 8;  // the newest matter; 429s are kept among them
constexpr Millis kStoreErrorWaitMs = 200;

bool below_half(const std::optional<std::int64_t>& remaining,
                const std::optional<std::int64_t>& limit) {
  return remaining && limit && *limit > 0 && *remaining * 2 < *limit;
}

}  // namespace

std::int64_t reserved_tokens(std::size_t prompt_bytes, int max_tokens) {
  return static_cast<std::int64_t>(prompt_bytes / 4) + max_tokens;
}

Pacer::Bucket& Pacer::bucket(const std::string& model) {
  auto [it, created] = buckets_.try_emplace(model);
  if (created) it->second.engaged = cap_rpm_ > 0 || cap_tpm_ > 0;
  return it->second;
}

bool Pacer::engaged(const std::string& model) const {
  auto it = buckets_.find(model);
  return it != buckets_.end() ? it->second.engaged : cap_rpm_ > 0 || cap_tpm_ > 0;
}

int Pacer::admit(const std::string& model, const std::vector<std::int64_t>& tokens, Millis now) {
  Bucket& b = bucket(model);
  if (!b.engaged) return static_cast<int>(tokens.size());
  if (tokens.empty() || now < b.retry_at) return 0;
  RateRequest request;
  request.name = endpoint_ + " " + model;
  request.cap_rpm = cap_rpm_;
  request.cap_tpm = cap_tpm_;
  request.tokens = tokens;
  request.refund_tokens = b.refund;
  request.observed = b.observed;
  request.now = now;
  auto grant = store_.take_rate(request);
  if (!grant) {
    log::warn("{}; not sending for {} ms", grant.error().message, kStoreErrorWaitMs);
    b.retry_at = now + kStoreErrorWaitMs;
    return 0;
  }
  b.refund = 0;
  b.observed.clear();
  if (grant->granted < static_cast<int>(tokens.size())) b.retry_at = grant->retry_at;
  return grant->granted;
}

void Pacer::on_answer(const std::string& model, const llm::ChatResult& result,
                      std::int64_t reserved, std::int64_t billed, Millis now) {
  Bucket& b = bucket(model);
  const llm::RateLimitHeaders& h = result.rate_limits;
  const bool limited = result.outcome == llm::ChatOutcome::rate_limited;
  const bool said = h.any() || limited;
  if (said && !b.engaged &&
      (limited || below_half(h.remaining_requests, h.limit_requests) ||
       below_half(h.remaining_tokens, h.limit_tokens))) {
    b.engaged = true;
    log::debug("pacing {} through the shared rate limit", model);
  }
  if (!b.engaged) return;
  if (reserved > billed) b.refund += reserved - billed;
  if (!said) return;
  RateObservation o{
      h.limit_requests,    h.limit_tokens,    h.remaining_requests, h.remaining_tokens,
      h.reset_requests_ms, h.reset_tokens_ms, std::nullopt,         now};
  if (limited) o.rate_limited_retry_ms = result.retry_after_ms.value_or(1000);
  if (b.observed.size() >= kMaxObservations) b.observed.erase(b.observed.begin());
  b.observed.push_back(o);
  if (limited) b.retry_at = std::max(b.retry_at, now + *o.rate_limited_retry_ms);
}

}  // namespace hydrate::engine
