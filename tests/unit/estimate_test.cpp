// Estimation (core/estimate.hpp) and the curriculum catalog it reads counts from
// (core/catalog.hpp): counts with notes/questions on and off, tokens x price, duration.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/cascade.hpp"
#include "core/catalog.hpp"
#include "core/estimate.hpp"
#include "core/submit.hpp"

namespace {

using namespace hydrate;

RootOptions counts(int chapters, int topics, int questions_per_topic, bool notes = true,
                   bool questions = true) {
  RootOptions o;
  o.chapters = chapters;
  o.topics_per_chapter = topics;
  o.questions_per_topic = questions_per_topic;
  o.notes = notes;
  o.questions = questions;
  o.model = "test-model";
  return o;
}

// Every step kind costs the same tokens, so token totals are steps x means.
TokenProfile flat_profile(double prompt, double completion) {
  TokenProfile profile;
  for (auto& kind : profile.by_kind) kind = {prompt, completion};
  return profile;
}

EstimateInput input_for(const RootOptions& options) {
  EstimateInput in;
  in.options = options;
  in.price = Price{2.0, 0.5, 10.0, "test"};
  in.tokens = flat_profile(1000, 500);
  return in;
}

Slot slot(const char* board, const char* grade, const char* subject) {
  return Slot{"en", board, grade, subject};
}

}  // namespace

TEST_CASE("estimate: counts of the default tree (12 chapters x 5 topics, notes and 10 questions)") {
  Estimate e = estimate_subject(input_for(counts(12, 5, 10)));
  CHECK(e.chapters == 12);
  CHECK(e.topics == 60);
  CHECK(e.notes == 60);
  CHECK(e.questions == 600);  // questions, not steps
  CHECK(e.steps == 1 + 12 + 60 + 60);
}

TEST_CASE("estimate: notes and questions can each be switched off") {
  SUBCASE("no notes") {
    Estimate e = estimate_subject(input_for(counts(12, 5, 10, false, true)));
    CHECK(e.topics == 60);
    CHECK(e.notes == 0);
    CHECK(e.questions == 600);
    CHECK(e.steps == 1 + 12 + 60);
  }
  SUBCASE("no questions") {
    Estimate e = estimate_subject(input_for(counts(12, 5, 10, true, false)));
    CHECK(e.notes == 60);
    CHECK(e.questions == 0);
    CHECK(e.steps == 1 + 12 + 60);
  }
  SUBCASE("neither: only the plan is generated") {
    Estimate e = estimate_subject(input_for(counts(12, 5, 10, false, false)));
    CHECK(e.topics == 60);
    CHECK(e.notes == 0);
    CHECK(e.questions == 0);
    CHECK(e.steps == 1 + 12);
  }
  SUBCASE("questions per topic scales the question count only") {
    Estimate e = estimate_subject(input_for(counts(3, 4, 7)));
    CHECK(e.questions == 3 * 4 * 7);
    CHECK(e.steps == 1 + 3 + 12 + 12);
  }
}

TEST_CASE("estimate: cost is tokens times the price per million") {
  // 2 chapters x 3 topics: 1 + 2 + 6 + 6 = 15 steps of 1000 prompt and 500 completion tokens.
  Estimate e = estimate_subject(input_for(counts(2, 3, 10)));
  REQUIRE(e.steps == 15);
  CHECK(e.prompt_tokens == doctest::Approx(15000));
  CHECK(e.completion_tokens == doctest::Approx(7500));
  CHECK(e.cost_usd == doctest::Approx((15000 * 2.0 + 7500 * 10.0) / 1e6));

  SUBCASE("per-kind means are weighted by each kind's step count") {
    EstimateInput in = input_for(counts(2, 3, 10));
    in.tokens.by_kind[static_cast<int>(JobKind::subject)] = {100, 10};
    in.tokens.by_kind[static_cast<int>(JobKind::chapter)] = {200, 20};
    in.tokens.by_kind[static_cast<int>(JobKind::note)] = {300, 30};
    in.tokens.by_kind[static_cast<int>(JobKind::questions)] = {400, 40};
    Estimate w = estimate_subject(in);
    CHECK(w.prompt_tokens == doctest::Approx(100 + 2 * 200 + 6 * 300 + 6 * 400));
    CHECK(w.completion_tokens == doctest::Approx(10 + 2 * 20 + 6 * 30 + 6 * 40));
  }
  SUBCASE("a free model costs nothing") {
    EstimateInput in = input_for(counts(2, 3, 10));
    in.price = Price{};
    CHECK(estimate_subject(in).cost_usd == 0);
  }
}

TEST_CASE("estimate: duration is the critical path plus the rest spread over the concurrency") {
  EstimateInput in = input_for(counts(2, 3, 10));  // 15 steps
  in.seconds_per_step = 60;
  in.concurrency = 1;
  // 3 steps on the critical path (180 s) + 12 more one after another (720 s) = 15 minutes.
  CHECK(estimate_subject(in).duration_mins == doctest::Approx(15.0));
  in.concurrency = 4;
  // 180 s + 12 x 60 / 4 = 360 s.
  CHECK(estimate_subject(in).duration_mins == doctest::Approx(6.0));
  in.concurrency = 0;  // treated as 1, never a division by zero
  CHECK(estimate_subject(in).duration_mins == doctest::Approx(15.0));
}

TEST_CASE("estimate: the basis and sample count of the token profile are reported") {
  EstimateInput in = input_for(counts(2, 3, 10));
  in.tokens.basis = "history";
  in.tokens.samples = 42;
  Estimate e = estimate_subject(in);
  CHECK(e.basis == "history");
  CHECK(e.samples == 42);
  CHECK(default_token_profile(counts(12, 5, 10)).basis == "defaults");
}

TEST_CASE("estimate: default token means grow with the counts they generate") {
  auto small = default_token_profile(counts(4, 2, 5));
  auto large = default_token_profile(counts(16, 8, 20));
  for (int kind : {0, 1, 3}) {
    CAPTURE(kind);
    CHECK(large.by_kind[kind].completion > small.by_kind[kind].completion);
  }
  for (const auto& kind : small.by_kind) CHECK(kind.prompt > 0);
}

TEST_CASE("estimate: estimate_json keeps the original API's field names") {
  Estimate e = estimate_subject(input_for(counts(12, 5, 10, true, false)));
  auto j = nlohmann::json::parse(estimate_json(e, "gpt-4o-mini"));
  CHECK(j.at("totalChapters") == 12);
  CHECK(j.at("estimatedTopics") == 60);
  CHECK(j.at("estimatedNotes") == 60);
  CHECK(j.at("estimatedQuestions") == 0);
  CHECK(j.at("estimatedCostUsd").is_number());
  CHECK(j.at("estimatedDurationMins").is_number());
  CHECK(j.at("model") == "gpt-4o-mini");
  CHECK(j.at("basis") == "defaults");
}

TEST_CASE("catalog: built-in entries are found whatever the case of board and subject") {
  Catalog catalog = Catalog::builtin();
  CatalogEntry exact = catalog.lookup(slot("CBSE", "1", "MATH"));
  CHECK(exact.listed);
  CHECK(exact.chapters == 13);
  CHECK(exact.topics_per_chapter == 4);
  CatalogEntry lower = catalog.lookup(slot("cbse", "1", "math"));
  CHECK(lower.listed);
  CHECK(lower.chapters == 13);
  CHECK(catalog.lookup(slot("Icse", "10", "Physics")).chapters == 12);
}

TEST_CASE("catalog: unknown slots get the defaults 12 chapters and 5 topics") {
  CatalogEntry entry = Catalog::builtin().lookup(slot("NOBOARD", "99", "ALCHEMY"));
  CHECK_FALSE(entry.listed);
  CHECK(entry.chapters == 12);
  CHECK(entry.topics_per_chapter == 5);
  CHECK(Catalog{}.lookup(slot("CBSE", "1", "MATH")).chapters == 12);
}

TEST_CASE("catalog: parse reads rows, skips comments, and names the first bad row") {
  auto parsed = Catalog::parse("# comment\n\nSTATE\t3\tHistory\t7\t3\n");
  REQUIRE(parsed.ok());
  CatalogEntry entry = parsed->lookup(slot("state", "3", "HISTORY"));
  CHECK(entry.listed);
  CHECK(entry.chapters == 7);
  CHECK(entry.topics_per_chapter == 3);

  for (const char* bad :
       {"A\t1\tB\t0\t3\n", "A\t1\tB\tx\t3\n", "A\t1\tB\t3\n", "A\t1\tB\t3\t2000\n"}) {
    CAPTURE(bad);
    auto rejected = Catalog::parse(std::string("OK\t1\tS\t2\t2\n") + bad);
    REQUIRE_FALSE(rejected.ok());
    CHECK(rejected.error().kind == ErrorKind::invalid_input);
    CHECK(rejected.error().message.find("row 2") != std::string::npos);
  }
}

TEST_CASE("catalog: resolve_counts fills only the counts the caller left at 0") {
  CatalogEntry entry{9, 4, true};
  RootOptions from_catalog = resolve_counts(counts(0, 0, 10), entry);
  CHECK(from_catalog.chapters == 9);
  CHECK(from_catalog.topics_per_chapter == 4);
  RootOptions explicit_counts = resolve_counts(counts(3, 2, 10), entry);
  CHECK(explicit_counts.chapters == 3);
  CHECK(explicit_counts.topics_per_chapter == 2);
}

TEST_CASE("estimate: the worst case bounds the expected cost and scales with attempts") {
  auto prompts = hydrate::PromptSet::load("");
  REQUIRE(prompts.ok());
  hydrate::Price price{0.15, 0.075, 0.60, "test"};
  hydrate::StepInput root;
  root.slot = {"en", "CBSE", "1", "MATH"};
  root.options.chapters = 12;
  root.options.topics_per_chapter = 5;
  double once = hydrate::worst_case_cost_usd(root, price, *prompts, 1);
  double five = hydrate::worst_case_cost_usd(root, price, *prompts, 5);
  CHECK(five == doctest::Approx(5 * once));
  root.options.notes = false;
  CHECK(hydrate::worst_case_cost_usd(root, price, *prompts, 1) < once);

  hydrate::SubmitRequest request;
  request.slot = root.slot;
  request.options.model = "gpt-4o-mini";
  auto estimate = hydrate::estimate_request(request, hydrate::Catalog::builtin(),
                                            hydrate::PriceTable::builtin(), *prompts);
  REQUIRE(estimate.ok());
  CHECK(estimate->worst_case_usd > estimate->cost_usd * 10);
}

namespace {

// History of one finished tree: 2 chapters asked and written, 3 topics written of 2 x 2 asked.
History one_tree() {
  History h;
  h.roots = 1;
  h.by_kind[static_cast<int>(JobKind::subject)] = {1, 2, 2, 900, 300};      // a failed attempt
  h.by_kind[static_cast<int>(JobKind::chapter)] = {2, 3, 2, 1000, 600};     // 200 per topic
  h.by_kind[static_cast<int>(JobKind::note)] = {3, 3, 3, 1500, 2400};       // 800 per note
  h.by_kind[static_cast<int>(JobKind::questions)] = {3, 9, 4, 2000, 1800};  // 200 per question
  h.slot_roots = 1;
  h.chapters_asked = 2;
  h.chapters_written = 2;
  h.topics_asked = 4;
  h.topics_written = 3;
  return h;
}

}  // namespace

TEST_CASE("estimate: history gives the mean prompt per step and completion per item asked") {
  RootOptions options = counts(5, 4, 3);
  TokenProfile profile = calibrated_token_profile(one_tree(), options);
  CHECK(profile.basis == "history");
  CHECK(profile.samples == 2 + 2 + 3 + 4);
  const auto& by = profile.by_kind;
  CHECK(by[static_cast<int>(JobKind::subject)].prompt == doctest::Approx(900));
  CHECK(by[static_cast<int>(JobKind::subject)].completion == doctest::Approx(150 * 5));
  CHECK(by[static_cast<int>(JobKind::chapter)].prompt == doctest::Approx(500));
  CHECK(by[static_cast<int>(JobKind::chapter)].completion == doctest::Approx(200 * 4));
  CHECK(by[static_cast<int>(JobKind::note)].completion == doctest::Approx(800));
  CHECK(by[static_cast<int>(JobKind::questions)].prompt == doctest::Approx(2000.0 / 3));
  CHECK(by[static_cast<int>(JobKind::questions)].completion == doctest::Approx(200 * 3));
}

TEST_CASE("estimate: a kind without history keeps its default means") {
  History h = one_tree();
  h.by_kind[static_cast<int>(JobKind::note)] = {};
  RootOptions options = counts(5, 4, 3);
  TokenProfile profile = calibrated_token_profile(h, options);
  TokenProfile defaults = default_token_profile(options);
  CHECK(profile.basis == "history");
  CHECK(profile.by_kind[static_cast<int>(JobKind::note)].completion ==
        defaults.by_kind[static_cast<int>(JobKind::note)].completion);
  CHECK(calibrated_token_profile(History{}, options).basis == "defaults");
}

TEST_CASE("estimate: counts scale by what the model wrote for the board and grade") {
  RootOptions asked = counts(8, 4, 3);
  RootOptions expected = calibrated_counts(one_tree(), asked);
  CHECK(expected.chapters == 8);            // 2 written of 2 asked
  CHECK(expected.topics_per_chapter == 3);  // 3 written of 4 asked: 4 x 0.75
  History elsewhere = one_tree();
  elsewhere.slot_roots = 0;  // history of other boards and grades only
  CHECK(calibrated_counts(elsewhere, asked).topics_per_chapter == 4);
}

TEST_CASE("estimate: a request estimated on history says so, and keeps the worst case") {
  SubmitRequest request;
  request.slot = {"en", "CBSE", "1", "MATH"};
  request.options = counts(5, 4, 3);
  request.options.model = "gpt-4o-mini";
  auto prompts = PromptSet::load("");
  REQUIRE(prompts.ok());
  Catalog catalog = Catalog::builtin();
  History h = one_tree();
  h.used_calls = 10;
  h.used_latency_ms = 20'000;
  auto blind = estimate_request(request, catalog, PriceTable::builtin(), *prompts);
  auto calibrated = estimate_request(request, catalog, PriceTable::builtin(), *prompts, &h);
  REQUIRE(blind.ok());
  REQUIRE(calibrated.ok());
  CHECK(blind->basis == "defaults");
  CHECK(calibrated->basis == "history");
  CHECK(calibrated->history_roots == 1);
  CHECK(calibrated->topics == 5 * 3);
  CHECK(calibrated->cost_usd != doctest::Approx(blind->cost_usd));
  CHECK(calibrated->worst_case_usd == doctest::Approx(blind->worst_case_usd));
  auto j = nlohmann::json::parse(estimate_json(*calibrated, "gpt-4o-mini"));
  CHECK(j["basis"] == "history");
  CHECK(j["historyRoots"] == 1);
  CHECK(j["samples"] == 11);
}

TEST_CASE("estimate: batch mode prices the same tokens at the batch price, its duration a bound") {
  auto prompts = hydrate::PromptSet::load("");
  REQUIRE(prompts.ok());
  hydrate::SubmitRequest request;
  request.slot = {"en", "CBSE", "1", "MATH"};
  request.options.model = "gpt-4o-mini";
  const auto table = hydrate::PriceTable::builtin();
  auto online = hydrate::estimate_request(request, hydrate::Catalog::builtin(), table, *prompts);
  request.options.mode = hydrate::CallMode::batch;
  auto batch = hydrate::estimate_request(request, hydrate::Catalog::builtin(), table, *prompts);
  REQUIRE(online.ok());
  REQUIRE(batch.ok());
  CHECK(batch->steps == online->steps);
  CHECK(batch->prompt_tokens == doctest::Approx(online->prompt_tokens));
  CHECK(batch->cost_usd == doctest::Approx(online->cost_usd / 2));  // data/prices.tsv: half
  CHECK(batch->worst_case_usd == doctest::Approx(online->worst_case_usd / 2));
  CHECK(batch->online_cost_usd == doctest::Approx(online->cost_usd));
  CHECK(online->online_cost_usd == doctest::Approx(online->cost_usd));
  // Subject, chapters, leaves: three levels, each at most one 24-hour window.
  CHECK(batch->duration_mins == doctest::Approx(3 * 24 * 60));
  CHECK(online->duration_mins < 60);

  auto json = nlohmann::json::parse(hydrate::estimate_json(*batch, "gpt-4o-mini"));
  CHECK(json["mode"] == "batch");
  CHECK(json["onlineCostUsd"].get<double>() == doctest::Approx(online->cost_usd).epsilon(1e-5));
  CHECK(json["savingsUsd"].get<double>() ==
        doctest::Approx(online->cost_usd - batch->cost_usd).epsilon(1e-5));
  auto plain = nlohmann::json::parse(hydrate::estimate_json(*online, "gpt-4o-mini"));
  CHECK(plain["mode"] == "online");
  CHECK_FALSE(plain.contains("savingsUsd"));
}
