// The local endpoint's rate limits (--rpm, --tpm) as a client meets them: the real binary over
// loopback. Limits replenish continuously, so every count below is bounded by what could have
// refilled in the measured time, never by how fast the test ran.
#include <doctest/doctest.h>
#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/mock_requests.hpp"
#include "tests/support/mock_process.hpp"

namespace {

using hydrate::testing::MockProcess;
using namespace hydrate::testing::mock_requests;
using Clock = std::chrono::steady_clock;

const std::regex kGoDuration(R"(^(\d+ms|(\d+h)?(\d+m)?\d+(\.\d{1,3})?s)$)");

// Whole refills of one unit possible in `elapsed` at `per_minute`, plus one for rounding.
std::int64_t refills(Clock::duration elapsed, std::int64_t per_minute) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  return ms * per_minute / 60000 + 1;
}

Json stats_of(const MockProcess& mock) {
  auto client = client_for(mock);
  auto result = client.Get("/stats");
  REQUIRE(result);
  return Json::parse(result->body);
}

}  // namespace

TEST_CASE("mock-llm: every openai answer carries x-ratelimit-* headers, with high default limits") {
  MockProcess mock;
  auto client = client_for(mock);
  const Json body = chapters_request(kPrompt);
  auto answered = post_chat(client, body);
  REQUIRE(answered);
  REQUIRE(answered->status == 200);
  CHECK(header_number(answered, "x-ratelimit-limit-requests") == 30000);
  CHECK(header_number(answered, "x-ratelimit-limit-tokens") == 150000000);
  CHECK(header_number(answered, "x-ratelimit-remaining-requests") == 29999);
  const std::int64_t counted = prompt_tokens_of(body) + 8000;  // the prompt plus max_tokens
  CHECK(header_number(answered, "x-ratelimit-remaining-tokens") == 150000000 - counted);
  // Until full again, written as OpenAI writes durations: one request at 500 a second refills in
  // 2 ms, the tokens at 2,500 a millisecond in ceil(counted / 2500) ms.
  CHECK(answered->get_header_value("x-ratelimit-reset-requests") == "2ms");
  CHECK(answered->get_header_value("x-ratelimit-reset-tokens") ==
        std::to_string((counted + 2499) / 2500) + "ms");
  // A refused request (here a 400) reports the limits too, and takes nothing from them.
  auto refused = client.Post("/v1/chat/completions", "{not json", "application/json");
  REQUIRE(refused);
  CHECK(refused->status == 400);
  CHECK(refused->has_header("x-request-id"));
  // Nothing taken: what was left, or more once the bucket refilled (one request refills in 2 ms,
  // which a loaded machine easily spends between the two requests).
  const auto remaining_requests = header_number(refused, "x-ratelimit-remaining-requests");
  CHECK(remaining_requests >= 29999);
  CHECK(remaining_requests <= 30000);
  CHECK(header_number(refused, "x-ratelimit-remaining-tokens") >= 150000000 - counted);
}

TEST_CASE("mock-llm: --rpm counts down, answers 429 past the limit, admits again after the wait") {
  constexpr std::int64_t kRpm = 30;
  MockProcess mock({"--rpm", std::to_string(kRpm)});
  auto client = client_for(mock);
  const auto started = Clock::now();
  std::vector<std::int64_t> remaining;
  std::optional<httplib::Result> limited;
  for (int i = 0; i < 200 && !limited; ++i) {
    auto result =
        post_chat(client, chapters_request(kPrompt + std::string(" #") + std::to_string(i)));
    REQUIRE(result);
    if (result->status == 429) {
      limited.emplace(std::move(result));
      break;
    }
    REQUIRE(result->status == 200);
    CHECK(header_number(result, "x-ratelimit-limit-requests") == kRpm);
    if (i == 0) CHECK(result->get_header_value("x-ratelimit-reset-requests") == "2s");
    remaining.push_back(header_number(result, "x-ratelimit-remaining-requests"));
  }
  const std::int64_t slack = refills(Clock::now() - started, kRpm);
  REQUIRE(limited.has_value());
  REQUIRE_FALSE(remaining.empty());
  const httplib::Result& refused = *limited;
  CHECK(remaining.front() == kRpm - 1);  // the bucket starts full
  for (std::size_t i = 0; i < remaining.size(); ++i) {
    CAPTURE(i);
    CHECK(remaining[i] >= kRpm - 1 - static_cast<std::int64_t>(i));
    CHECK(remaining[i] <= kRpm - 1 - static_cast<std::int64_t>(i) + slack);
  }
  CHECK(static_cast<std::int64_t>(remaining.size()) >= kRpm);
  CHECK(static_cast<std::int64_t>(remaining.size()) <= kRpm + slack);

  // The 429 of the limit itself: OpenAI's wording, its headers, a wait of at most one refill.
  const Json error = Json::parse(refused->body)["error"];
  CHECK(error["code"] == "rate_limit_exceeded");
  CHECK(error["type"] == "requests");
  CHECK(error["param"].is_null());
  const std::string message = error["message"];
  CHECK(
      message.rfind("Rate limit reached for gpt-4o-mini in organization org-hydrate-mock on "
                    "requests per min (RPM): Limit 30, Used 30, Requested 1. Please try again in ",
                    0) == 0);
  CHECK(header_number(refused, "x-ratelimit-remaining-requests") == 0);
  CHECK(header_number(refused, "x-ratelimit-limit-requests") == kRpm);
  CHECK(std::regex_match(refused->get_header_value("x-ratelimit-reset-requests"), kGoDuration));
  const std::int64_t wait_ms = header_number(refused, "retry-after-ms");
  CHECK(wait_ms >= 1);
  CHECK(wait_ms <= 60000 / kRpm);
  CHECK(header_number(refused, "retry-after") == (wait_ms + 999) / 1000);

  // The limit replenishes continuously: after the advertised wait one more request fits.
  std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms + 1));
  auto again = post_chat(client, chapters_request(std::string(kPrompt) + " after the wait"));
  REQUIRE(again);
  CHECK(again->status == 200);
}

TEST_CASE(
    "mock-llm: --tpm counts the prompt plus max_tokens, and a refused request takes nothing") {
  constexpr std::int64_t kTpm = 20000;
  MockProcess mock({"--tpm", std::to_string(kTpm)});
  auto client = client_for(mock);
  Json big = chapters_request(kPrompt);
  big["max_tokens"] = 15000;
  const std::int64_t big_cost = prompt_tokens_of(big) + 15000;
  Json small = chapters_request(kPrompt);
  small["max_tokens"] = 2000;
  const std::int64_t small_cost = prompt_tokens_of(small) + 2000;

  const auto started = Clock::now();
  auto first = post_chat(client, big);
  auto second = post_chat(client, big);  // 2 x 15,000 > 20,000: refused for the next 30 s
  auto third = post_chat(client, small);
  const std::int64_t slack = refills(Clock::now() - started, kTpm);
  REQUIRE(first);
  REQUIRE(second);
  REQUIRE(third);
  CHECK(first->status == 200);
  CHECK(header_number(first, "x-ratelimit-remaining-tokens") == kTpm - big_cost);
  REQUIRE(second->status == 429);
  const Json error = Json::parse(second->body)["error"];
  CHECK(error["type"] == "tokens");
  CHECK(error["code"] == "rate_limit_exceeded");
  CHECK(error["message"].get<std::string>().find("on tokens per min (TPM): Limit 20000") !=
        std::string::npos);
  CHECK(error["message"].get<std::string>().find("Requested " + std::to_string(big_cost)) !=
        std::string::npos);
  CHECK(header_number(second, "retry-after-ms") > 0);
  // Had the refused request taken its tokens, this one would not fit at all.
  CHECK(third->status == 200);
  const std::int64_t left = header_number(third, "x-ratelimit-remaining-tokens");
  CHECK(left >= kTpm - big_cost - small_cost);
  CHECK(left <= kTpm - big_cost - small_cost + slack);

  // A request larger than the whole limit can never fit: refused without a retry-after.
  Json huge = chapters_request(kPrompt);
  huge["max_tokens"] = 30000;
  auto too_large = post_chat(client, huge);
  REQUIRE(too_large);
  CHECK(too_large->status == 429);
  CHECK(Json::parse(too_large->body)["error"]["message"].get<std::string>().rfind(
            "Request too large for gpt-4o-mini", 0) == 0);
  CHECK_FALSE(too_large->has_header("retry-after"));

  const Json limiter = stats_of(mock)["limiter"];
  CHECK(limiter["admitted"]["requests"] == 2);
  CHECK(limiter["admitted"]["tokens"] == big_cost + small_cost);
  CHECK(limiter["refused"]["tokens"] == 2);
  CHECK(limiter["refused"]["requests"] == 0);
}

TEST_CASE("mock-llm: /stats tells the limit's 429s from injected ones and from quota errors") {
  constexpr std::int64_t kRpm = 6;
  MockProcess mock({"--rpm", std::to_string(kRpm), "--rate-429", "0.5", "--seed", "4"});
  auto client = client_for(mock);
  constexpr int kRequests = 16;
  const auto started = Clock::now();
  int limited_429 = 0;
  int injected_429 = 0;
  for (int i = 0; i < kRequests; ++i) {
    auto result =
        post_chat(client, chapters_request(kPrompt + std::string(" ~") + std::to_string(i)));
    REQUIRE(result);
    if (result->status != 429) continue;
    // Only an injected fault says so; both are rate_limit_exceeded, neither insufficient_quota.
    ++(result->has_header("x-mock-fault") ? injected_429 : limited_429);
    CHECK(Json::parse(result->body)["error"]["code"] == "rate_limit_exceeded");
  }
  const std::int64_t slack = refills(Clock::now() - started, kRpm);
  const Json stats = stats_of(mock);
  const Json& limiter = stats["limiter"];
  CHECK(limiter["refused"]["total"] == limited_429);
  CHECK(limiter["refused"]["requests"] == limited_429);
  CHECK(stats["requests"]["byFault"]["429"] == injected_429);
  CHECK(stats["requests"]["byStatus"]["429"] == limited_429 + injected_429);
  CHECK(limiter["admitted"]["requests"].get<int>() + limited_429 == kRequests);
  CHECK(limiter["admitted"]["requests"] >= kRpm);
  CHECK(limiter["admitted"]["requests"] <= kRpm + slack);
  CHECK(injected_429 > 0);  // the injected fault still fires on admitted requests
  CHECK(limited_429 > 0);
}
