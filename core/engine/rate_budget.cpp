#include "core/engine/rate_budget.hpp"

namespace hydrate::engine {

void RateBudget::expire(Millis now) {
  while (!window_.empty() && window_.front().first <= now - 60000) {
    window_tokens_ -= window_.front().second;
    window_.pop_front();
  }
}

bool RateBudget::try_take(Millis now, std::int64_t tokens) {
  expire(now);
  bool requests_fit = rpm_ <= 0 || static_cast<int>(window_.size()) < rpm_;
  bool tokens_fit = tpm_ <= 0 || window_.empty() || window_tokens_ + tokens <= tpm_;
  if (!requests_fit || !tokens_fit) return false;
  window_.emplace_back(now, tokens);
  window_tokens_ += tokens;
  return true;
}

Millis RateBudget::next_opening(Millis now) const {
  if (window_.empty()) return now;
  return std::max(now, window_.front().first + 60000);
}

}  // namespace hydrate::engine
