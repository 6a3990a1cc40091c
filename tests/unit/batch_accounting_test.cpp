// Batch mode's operator figures (core/batch/accounting.hpp): the status a record is counted
// under, the savings of batch-mode calls against the online price, the report's split by mode;
// and how a submit's mode is resolved (complete_request, shared by the CLI and the admin API).
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "core/batch/accounting.hpp"
#include "core/submit.hpp"

namespace {

using namespace hydrate;

CallTotals totals(const std::string& model, CallMode mode, std::int64_t calls, TokenUsage tokens,
                  double cost_usd) {
  CallTotals t;
  t.model = model;
  t.mode = mode;
  t.calls = calls;
  t.tokens = tokens;
  t.cost_usd = cost_usd;
  return t;
}

Config config_with(const std::map<std::string, std::string>& env,
                   const std::string& file_text = "") {
  auto getenv = [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  auto config = Config::resolve({}, getenv, file_text, "hydrate.conf");
  REQUIRE(config.ok());
  return *config;
}

}  // namespace

TEST_CASE("batch accounting: a record counts under the provider's status once it has one") {
  CHECK(batch::status_label("", store::BatchState::claimed) == "claimed");
  CHECK(batch::status_label("", store::BatchState::uploaded) == "uploaded");
  CHECK(batch::status_label("validating", store::BatchState::created) == "validating");
  CHECK(batch::status_label("completed", store::BatchState::created) == "completed");
  CHECK(batch::status_label("completed", store::BatchState::applied) == "completed");
  CHECK(batch::status_label("expired", store::BatchState::applied) == "expired");
  CHECK(batch::status_label("failed", store::BatchState::abandoned) == "failed");
  CHECK(batch::status_label("", store::BatchState::abandoned) == "abandoned");
}

TEST_CASE("batch accounting: savings price the batch calls' tokens online, model by model") {
  PriceTable prices = PriceTable::builtin();
  REQUIRE(prices.set_from_text("m-a", "2,1,8").ok());  // batch: half
  REQUIRE(prices.set_from_text("m-b", "1,4").ok());
  const TokenUsage a{1'000'000, 500'000, 200'000, 0};  // 800k fresh, 200k cached, 500k out
  const TokenUsage b{2'000'000, 1'000'000, 0, 100};
  auto batch_a = *prices.find("m-a", CallMode::batch);
  auto batch_b = *prices.find("m-b", CallMode::batch);
  std::vector<CallTotals> calls = {
      totals("m-a", CallMode::batch, 10, a, call_cost_usd(batch_a, a)),
      totals("m-b", CallMode::batch, 5, b, call_cost_usd(batch_b, b)),
      totals("m-a", CallMode::online, 99, a, 123.0),  // online calls are not batch work
  };
  auto s = batch::savings_of(calls, prices);
  CHECK(s.calls == 15);
  CHECK(s.tokens.prompt == 3'000'000);
  CHECK(s.tokens.completion == 1'500'000);
  CHECK(s.tokens.cached == 200'000);
  // online: m-a 0.8*2 + 0.2*1 + 0.5*8 = 5.8; m-b 2*1 + 1*4 = 6; batch: half of each.
  CHECK(s.online_cost_usd == doctest::Approx(11.8).epsilon(1e-12));
  CHECK(s.batch_cost_usd == doctest::Approx(5.9).epsilon(1e-12));
  CHECK(s.saving_usd == doctest::Approx(5.9).epsilon(1e-12));
  CHECK(s.unpriced.empty());
}

TEST_CASE("batch accounting: a model with no online price now is left out and named") {
  PriceTable prices = PriceTable::builtin();
  REQUIRE(prices.set_from_text("m-a", "2,8").ok());
  auto s = batch::savings_of({totals("m-a", CallMode::batch, 1, {1'000'000, 0, 0, 0}, 1.0),
                              totals("gone", CallMode::batch, 3, {5, 5, 0, 0}, 0.5)},
                             prices);
  CHECK(s.calls == 1);
  CHECK(s.batch_cost_usd == doctest::Approx(1.0));
  CHECK(s.online_cost_usd == doctest::Approx(2.0));
  CHECK(s.saving_usd == doctest::Approx(1.0));
  REQUIRE(s.unpriced.size() == 1);
  CHECK(s.unpriced[0] == "gone");
  CHECK(batch::savings_of({}, prices).saving_usd == 0);
}

TEST_CASE("batch accounting: the report's split counts roots, calls and batches by mode") {
  store::OpsFacts facts;
  facts.roots.resize(3);
  facts.roots[1].mode = CallMode::batch;
  facts.calls = {totals("gpt-4o-mini", CallMode::batch, 16, {4000, 4000, 0, 0}, 0.0015),
                 totals("gpt-4o-mini", CallMode::online, 20, {5000, 5000, 0, 0}, 0.004)};
  facts.batches = {{"completed", 3}, {"expired", 1}, {"created", 2}};
  auto split = batch::split_by_mode(facts, PriceTable::builtin());
  CHECK(split.online.roots == 2);
  CHECK(split.batch.roots == 1);
  CHECK(split.online.calls == 20);
  CHECK(split.batch.calls == 16);
  CHECK(split.online.cost_usd == doctest::Approx(0.004));
  CHECK(split.batch.cost_usd == doctest::Approx(0.0015));
  CHECK(split.savings.calls == 16);
  // Every known status in order, then the others found.
  REQUIRE(split.batches.size() == std::size(batch::kStatuses) + 1);
  CHECK(split.batches.front() == std::pair<std::string, std::int64_t>{"claimed", 0});
  CHECK(split.batches[5] == std::pair<std::string, std::int64_t>{"completed", 3});
  CHECK(split.batches[7] == std::pair<std::string, std::int64_t>{"expired", 1});
  CHECK(split.batches.back() == std::pair<std::string, std::int64_t>{"created", 2});
}

TEST_CASE("submit request: the mode is the caller's, else submit.mode as configured") {
  SubmitRequest r;
  REQUIRE(complete_request(r, config_with({}), "").ok());
  CHECK(r.options.mode == CallMode::online);
  CHECK(r.options.model == "gpt-4o-mini");
  CHECK(r.concurrency == 8);
  CHECK(r.max_attempts == 5);

  SubmitRequest from_env;
  REQUIRE(complete_request(from_env, config_with({{"HYDRATE_MODE", "batch"}}), "").ok());
  CHECK(from_env.options.mode == CallMode::batch);
  SubmitRequest from_file;
  REQUIRE(complete_request(from_file, config_with({}, "submit.mode = batch\n"), "").ok());
  CHECK(from_file.options.mode == CallMode::batch);
  SubmitRequest given;  // the caller's mode wins over the configuration
  REQUIRE(complete_request(given, config_with({{"HYDRATE_MODE", "batch"}}), "online").ok());
  CHECK(given.options.mode == CallMode::online);
}

TEST_CASE("submit request: a bad mode is invalid input naming where it came from") {
  SubmitRequest r;
  auto bad = complete_request(r, config_with({}), "fast\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::invalid_input);
  CHECK(bad.error().message == "mode must be online or batch (got 'fast?')");
  auto configured = complete_request(r, config_with({{"HYDRATE_MODE", "later"}}), "");
  REQUIRE_FALSE(configured.ok());
  CHECK(configured.error().message ==
        "submit.mode must be online or batch (got 'later' from environment HYDRATE_MODE)");
  auto long_value = complete_request(r, config_with({}), std::string(100, 'x'));
  REQUIRE_FALSE(long_value.ok());
  CHECK(long_value.error().message.size() < 100);
}
