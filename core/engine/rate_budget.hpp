#pragma once
// Requests-per-minute and tokens-per-minute budget over a sliding 60-second window. Pure: the
// caller passes the time. A limit of 0 means unlimited.
#include <cstdint>
#include <deque>

#include "core/model.hpp"

namespace hydrate::engine {

class RateBudget {
 public:
  RateBudget(int requests_per_minute, std::int64_t tokens_per_minute)
      : rpm_(requests_per_minute), tpm_(tokens_per_minute) {}
  // True, and the request is counted, when one more request of `tokens` fits the window at now.
  // A single request larger than the whole token budget is let through on an empty window.
  bool try_take(Millis now, std::int64_t tokens);
  // The earliest time a request could fit again (now when it already fits).
  Millis next_opening(Millis now) const;

 private:
  void expire(Millis now);
  int rpm_;
  std::int64_t tpm_;
  std::deque<std::pair<Millis, std::int64_t>> window_;
  std::int64_t window_tokens_ = 0;
};

}  // namespace hydrate::engine
