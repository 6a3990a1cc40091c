// The account's rate limit as a shared bucket (core/rate_bucket.hpp): pure arithmetic, driven
// here by hand-picked times.
#include <doctest/doctest.h>

#include "core/rate_bucket.hpp"

using namespace hydrate;

namespace {

RateRequest asking(std::vector<std::int64_t> tokens, Millis now, int rpm = 0,
                   std::int64_t tpm = 0) {
  RateRequest request;
  request.name = "http://x/v1/chat/completions gpt-4o-mini";
  request.cap_rpm = rpm;
  request.cap_tpm = tpm;
  request.tokens = std::move(tokens);
  request.now = now;
  return request;
}

}  // namespace

TEST_SUITE("rate bucket") {
  TEST_CASE("no limit known: everything is granted") {
    RateBucketState state;
    auto grant = take_from_bucket(state, asking({100, 100, 100}, 0));
    CHECK(grant.granted == 3);
  }

  TEST_CASE("a cap paces requests: a tenth of a minute's worth at once, then the refill rate") {
    RateBucketState state;
    auto grant = take_from_bucket(state, asking(std::vector<std::int64_t>(20, 1), 0, 600));
    CHECK(grant.granted == 20);  // a burst of 60 (a tenth of 600) covers the 20 asked
    grant = take_from_bucket(state, asking(std::vector<std::int64_t>(60, 1), 0, 600));
    CHECK(grant.granted == 40);    // what is left of the burst
    CHECK(grant.retry_at == 100);  // then one every 100 ms
  }

  TEST_CASE("requests over a minute at the cap equal the cap") {
    RateBucketState state;
    int sent = 0;
    // Ask for 5 every 100 ms for 60 s at 120 rpm: the bucket lets through 12 + 120.
    for (Millis t = 0; t < 60000; t += 100) {
      sent += take_from_bucket(state, asking(std::vector<std::int64_t>(5, 1), t, 120)).granted;
    }
    CHECK(sent >= 120);
    CHECK(sent <= 120 + 12);
  }

  TEST_CASE("the token limit holds, and refunds of unused reservations count") {
    RateBucketState state;
    // 6,000 tokens a minute: a burst of 600, refilled at 100 a second.
    auto grant = take_from_bucket(state, asking({400, 400}, 0, 0, 6000));
    CHECK(grant.granted == 1);
    CHECK(grant.retry_at == 2000);  // 200 more tokens are needed, at 100 a second
    RateRequest later = asking({400}, 1000, 0, 6000);
    later.refund_tokens = 300;  // the first call used 100 of its 400
    CHECK(take_from_bucket(state, later).granted == 1);
  }

  TEST_CASE("a request larger than the burst is let through alone on a full bucket") {
    RateBucketState state;
    auto grant = take_from_bucket(state, asking({5000, 10}, 0, 0, 6000));
    CHECK(grant.granted == 1);
    CHECK(state.tokens < 0);  // the debt is paid by the refill before anything else goes
    CHECK(take_from_bucket(state, asking({10}, 10000, 0, 6000)).granted == 0);
    CHECK(take_from_bucket(state, asking({10}, 60000, 0, 6000)).granted == 1);
  }

  TEST_CASE("the provider's headers set the limit and bound what is left") {
    RateBucketState state;
    RateRequest first = asking({1, 1, 1}, 0);
    RateObservation seen;
    seen.limit_requests = 60;
    seen.remaining_requests = 1;  // the account is almost dry: other clients use it too
    seen.at = 0;
    first.observed = {seen};
    CHECK(take_from_bucket(state, first).granted == 1);
    CHECK(state.header_rpm == 60);
    // A lower cap wins over the header's limit.
    CHECK(effective_limit(30, 60) == 30);
    CHECK(effective_limit(0, 60) == 60);
    CHECK(effective_limit(30, 0) == 30);
  }

  TEST_CASE("an empty window waits for the refill and a 429 for its retry-after") {
    RateBucketState state;
    RateRequest request = asking({1}, 1000, 600);
    RateObservation empty;
    empty.remaining_requests = 0;
    empty.reset_requests_ms = 1500;
    empty.at = 1000;
    request.observed = {empty};
    auto grant = take_from_bucket(state, request);
    CHECK(grant.granted == 0);
    CHECK(grant.retry_at == 1100);  // one request refills in 100 ms at 600 a minute, not 1.5 s
    CHECK(take_from_bucket(state, asking({1}, 1100, 600)).granted == 1);

    RateRequest limited = asking({1}, 3000, 600);
    RateObservation too_many;
    too_many.rate_limited_retry_ms = 700;
    too_many.at = 3000;
    limited.observed = {too_many};
    grant = take_from_bucket(state, limited);
    CHECK(grant.granted == 0);
    CHECK(grant.retry_at == 3700);
  }
}
