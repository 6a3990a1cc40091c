// Retry delays (core/backoff.hpp): exponential growth, the cap, the jitter's bounds, and the
// server's retry-after as a floor.
#include <doctest/doctest.h>

#include <algorithm>
#include <optional>

#include "core/backoff.hpp"

namespace {

using hydrate::Millis;
using hydrate::retry_delay;
using hydrate::RetryPolicy;

RetryPolicy policy(Millis base, Millis max) {
  RetryPolicy p;
  p.base_ms = base;
  p.max_ms = max;
  return p;
}

}  // namespace

TEST_CASE("backoff: the first retry waits between half and all of base_ms") {
  RetryPolicy p = policy(1000, 60000);
  CHECK(retry_delay(p, 1, 0.0, std::nullopt) == 500);
  CHECK(retry_delay(p, 1, 0.5, std::nullopt) == 750);
  CHECK(retry_delay(p, 1, 0.999, std::nullopt) >= 999);
  CHECK(retry_delay(p, 1, 0.999, std::nullopt) <= 1000);
}

TEST_CASE("backoff: delays double with every failed attempt") {
  RetryPolicy p = policy(1000, 1'000'000);
  Millis previous = retry_delay(p, 1, 0.5, std::nullopt);
  for (int attempt = 2; attempt <= 8; ++attempt) {
    Millis delay = retry_delay(p, attempt, 0.5, std::nullopt);
    CAPTURE(attempt);
    CHECK(delay == previous * 2);
    previous = delay;
  }
  // attempt 4: ceiling 8000, upper half [4000, 8000).
  CHECK(retry_delay(p, 4, 0.0, std::nullopt) == 4000);
}

TEST_CASE("backoff: no delay passes max_ms, however many attempts failed") {
  RetryPolicy p = policy(1000, 60000);
  for (int attempt : {7, 8, 10, 31, 64, 1000}) {
    CAPTURE(attempt);
    Millis low = retry_delay(p, attempt, 0.0, std::nullopt);
    Millis high = retry_delay(p, attempt, 0.999999, std::nullopt);
    CHECK(low == 30000);
    CHECK(high <= 60000);
    CHECK(high >= 59999);
  }
}

TEST_CASE("backoff: full jitter stays in the upper half of the exponential ceiling") {
  RetryPolicy p = policy(250, 20000);
  for (int attempt = 1; attempt <= 12; ++attempt) {
    double ceiling = std::min(20000.0, 250.0 * static_cast<double>(1 << (attempt - 1)));
    for (double r = 0.0; r < 1.0; r += 0.0625) {
      Millis delay = retry_delay(p, attempt, r, std::nullopt);
      CAPTURE(attempt);
      CAPTURE(r);
      CHECK(static_cast<double>(delay) >= ceiling / 2 - 1);
      CHECK(static_cast<double>(delay) <= ceiling);
    }
  }
  // Out-of-range draws are clamped rather than escaping the bounds.
  CHECK(retry_delay(p, 1, -3.0, std::nullopt) == 125);
  CHECK(retry_delay(p, 1, 7.0, std::nullopt) == 250);
}

TEST_CASE("backoff: a server retry-after is a floor, never a ceiling") {
  RetryPolicy p = policy(1000, 60000);
  // Longer than the computed delay: wait for the server.
  CHECK(retry_delay(p, 1, 0.0, 5000) == 5000);
  // Longer even than the cap: the server still wins.
  CHECK(retry_delay(p, 10, 0.5, 120000) == 120000);
  // Shorter than the computed delay: the backoff stands.
  CHECK(retry_delay(p, 3, 0.0, 10) == 2000);
  CHECK(retry_delay(p, 3, 0.0, 0) == 2000);
}
