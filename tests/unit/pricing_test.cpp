// Model prices (core/pricing.hpp): the cost of a call with cached tokens, the built-in table,
// unknown models, and price overrides from text (also through the config file).
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "core/config.hpp"
#include "core/pricing.hpp"

namespace {

using namespace hydrate;

TokenUsage usage(std::int64_t prompt, std::int64_t completion, std::int64_t cached) {
  TokenUsage u;
  u.prompt = prompt;
  u.completion = completion;
  u.cached = cached;
  return u;
}

const char* no_env(const char*) {
  return nullptr;
}

}  // namespace

TEST_CASE("pricing: a call costs fresh input, cached input and output at their own prices") {
  Price price{2.0, 0.5, 8.0, "test"};
  // (1000 - 400) x 2 + 400 x 0.5 + 500 x 8 = 5400 per million.
  CHECK(call_cost_usd(price, usage(1000, 500, 400)) == doctest::Approx(0.0054));
  CHECK(call_cost_usd(price, usage(1000, 500, 0)) == doctest::Approx((2000 + 4000) / 1e6));
  CHECK(call_cost_usd(price, usage(0, 0, 0)) == 0);
  // A provider reporting more cached than prompt tokens never makes the cost negative.
  CHECK(call_cost_usd(price, usage(1000, 0, 5000)) == doctest::Approx(1000 * 0.5 / 1e6));
}

TEST_CASE("pricing: the built-in table prices the common models") {
  PriceTable table = PriceTable::builtin();
  auto mini = table.find("gpt-4o-mini");
  REQUIRE(mini.ok());
  CHECK(mini->input_per_million == doctest::Approx(0.15));
  CHECK(mini->cached_input_per_million == doctest::Approx(0.075));
  CHECK(mini->output_per_million == doctest::Approx(0.60));
  CHECK_FALSE(mini->taken.empty());
  CHECK(table.all().size() >= 5);
}

TEST_CASE("pricing: an unknown model is invalid input naming the model") {
  auto missing = PriceTable::builtin().find("acme-llm-9000");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::invalid_input);
  CHECK(missing.error().message.find("acme-llm-9000") != std::string::npos);
  // The message says how to fix it.
  CHECK(missing.error().message.find("price.acme-llm-9000") != std::string::npos);
}

TEST_CASE("pricing: set_from_text takes INPUT,CACHED,OUTPUT or INPUT,OUTPUT") {
  PriceTable table;
  REQUIRE(table.set_from_text("three", "1.5,0.25,6").ok());
  auto three = table.find("three");
  REQUIRE(three.ok());
  CHECK(three->input_per_million == doctest::Approx(1.5));
  CHECK(three->cached_input_per_million == doctest::Approx(0.25));
  CHECK(three->output_per_million == doctest::Approx(6));
  CHECK(three->taken == "config");

  REQUIRE(table.set_from_text("two", " 3 , 12 ").ok());
  auto two = table.find("two");
  REQUIRE(two.ok());
  CHECK(two->input_per_million == doctest::Approx(3));
  CHECK(two->cached_input_per_million == doctest::Approx(3));  // cached = input
  CHECK(two->output_per_million == doctest::Approx(12));

  // Replacing a built-in price.
  PriceTable builtin = PriceTable::builtin();
  REQUIRE(builtin.set_from_text("gpt-4o-mini", "9,9,9").ok());
  CHECK(builtin.find("gpt-4o-mini")->input_per_million == doctest::Approx(9));
}

TEST_CASE("pricing: set_from_text rejects bad text, naming the model, and keeps the table") {
  PriceTable table;
  for (const char* bad :
       {"", "1", "1,2,3,4", "a,b", "-1,2", "1,,2", "nan,1", "1,inf", "1e9,1", "1;2", "1,2x"}) {
    CAPTURE(bad);
    auto status = table.set_from_text("my-model", bad);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind == ErrorKind::invalid_input);
    CHECK(status.error().message.find("my-model") != std::string::npos);
  }
  CHECK_FALSE(table.find("my-model").ok());
}

TEST_CASE("pricing: the config file prices any model with price.MODEL") {
  auto config = Config::resolve({}, no_env, "price.local-llama = 0.1, 0.05, 0.2\n", "hydrate.conf");
  REQUIRE(config.ok());
  auto price = config->prices().find("local-llama");
  REQUIRE(price.ok());
  CHECK(price->input_per_million == doctest::Approx(0.1));
  CHECK(price->cached_input_per_million == doctest::Approx(0.05));
  CHECK(price->output_per_million == doctest::Approx(0.2));
  // The built-in prices are still there.
  CHECK(config->prices().find("gpt-4o-mini").ok());

  auto rejected = Config::resolve({}, no_env, "price.local-llama = cheap\n", "hydrate.conf");
  REQUIRE_FALSE(rejected.ok());
  CHECK(rejected.error().kind == ErrorKind::invalid_input);
  CHECK(rejected.error().message.find("local-llama") != std::string::npos);
}

TEST_CASE("pricing: a call's worst case is every byte a token at full price, and all its output") {
  CHECK(prompt_token_bound(1000, 2) == 1000 + 8 * 3);
  Price price{2.0, 0.5, 10.0, "test"};
  CHECK(worst_case_call_usd(price, 1'000'000, 0) == doctest::Approx(2.0));
  CHECK(worst_case_call_usd(price, 1000, 500) == doctest::Approx(0.002 + 0.005));
  // Never below the cost of a call within those limits, cached or not.
  CHECK(worst_case_call_usd(price, 1000, 500) >= call_cost_usd(price, TokenUsage{1000, 500, 400}));
}

TEST_CASE("pricing: the batch price is the table's batch columns, else half of the online one") {
  PriceTable table = PriceTable::builtin();
  auto online = table.find("gpt-4o", CallMode::online);
  auto batch = table.find("gpt-4o", CallMode::batch);
  REQUIRE(online.ok());
  REQUIRE(batch.ok());
  CHECK(batch->input_per_million == doctest::Approx(1.25));  // data/prices.tsv's batch columns
  CHECK(batch->cached_input_per_million == doctest::Approx(0.625));
  CHECK(batch->output_per_million == doctest::Approx(5.0));
  // Every built-in model has its batch price, each at most the online one.
  for (const auto& [model, price] : table.all()) {
    CAPTURE(model);
    auto b = table.find(model, CallMode::batch);
    REQUIRE(b.ok());
    CHECK(b->input_per_million <= price.input_per_million);
    CHECK(b->output_per_million <= price.output_per_million);
    CHECK(b->output_per_million > 0);
  }
  // A price from the config file replaces the table's batch price too: half of it.
  REQUIRE(table.set_from_text("gpt-4o", "4,2,16").ok());
  auto configured = table.find("gpt-4o", CallMode::batch);
  REQUIRE(configured.ok());
  CHECK(configured->input_per_million == doctest::Approx(2));
  CHECK(configured->cached_input_per_million == doctest::Approx(1));
  CHECK(configured->output_per_million == doctest::Approx(8));
  CHECK(table.find("no-such-model", CallMode::batch).error().kind == ErrorKind::invalid_input);
  CHECK(parse_call_mode("batch") == CallMode::batch);
  CHECK(parse_call_mode("online") == CallMode::online);
  CHECK_FALSE(parse_call_mode("Batch").has_value());
}
