// The operations report (core/ops_report.hpp): each figure and its verdict at and around its
// target, "no data" never failing, percentiles, the grouping of rejection reasons, the cost
// variance ranking and the JSON shape.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "core/ops_report.hpp"

namespace {

using namespace hydrate;

constexpr Millis kNow = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr Millis kMinute = 60'000;

store::FinishedRoot root(const std::string& id, JobStatus status, Millis minutes,
                         double estimated = 1.0, double spent = 1.0) {
  store::FinishedRoot r;
  r.id = id;
  r.status = status;
  r.slot = Slot{"en", "CBSE", "10", "MATH"};
  r.estimated_cost_usd = estimated;
  r.spent_usd = spent;
  r.created_at = kNow - minutes * kMinute - kMinute;
  r.finished_at = kNow - kMinute;
  return r;
}

const ops::Measure& measure(const ops::Report& report, const std::string& key) {
  for (const auto& m : report.measures) {
    if (m.key == key) return m;
  }
  FAIL("no measure " << key);
  return report.measures.front();
}

double figure(const ops::Measure& m, const std::string& name) {
  for (const auto& [key, value] : m.figures) {
    if (key == name) return value;
  }
  FAIL("no figure " << name << " in " << m.key);
  return 0;
}

ops::Report build(const store::OpsFacts& facts, const ops::Targets& targets = {}) {
  return ops::build_report(facts, targets, kNow - 168 * 60 * kMinute, kNow, PriceTable::builtin());
}

}  // namespace

TEST_CASE("ops report: an empty window is no data everywhere and meets its targets") {
  auto report = build({});
  REQUIRE(report.measures.size() == 5);
  for (const auto& m : report.measures) {
    CAPTURE(m.key);
    CHECK(m.verdict == ops::Verdict::no_data);
    CHECK(m.value == "no data");
    CHECK(m.samples == 0);
  }
  CHECK(report.targets_met());
  std::string text = ops::render_text(report);
  CHECK(text.find("none in this window") != std::string::npos);
  CHECK(text.find("has never run") != std::string::npos);
  CHECK(text.find("its lock is free") != std::string::npos);
}

TEST_CASE("ops report: nearest-rank percentiles") {
  CHECK_FALSE(ops::percentile({}, 0.5).has_value());
  CHECK(*ops::percentile({7}, 0.95) == 7);
  CHECK(*ops::percentile({4, 1, 3, 2}, 0.5) == 2);  // ceil(0.5 * 4) = 2nd
  std::vector<double> hundred;
  for (int i = 100; i >= 1; --i) hundred.push_back(i);
  CHECK(*ops::percentile(hundred, 0.95) == 95);
  CHECK(*ops::percentile(hundred, 0.951) == 96);
  CHECK(*ops::percentile(hundred, 1.0) == 100);
}

TEST_CASE("ops report: completion time is judged on the average of succeeded roots") {
  store::OpsFacts facts;
  // 19 roots of 100 minutes and one of 300: average 110 (holds), p95 the 19th = 100.
  for (int i = 0; i < 19; ++i)
    facts.roots.push_back(root("r" + std::to_string(i), JobStatus::succeeded, 100));
  facts.roots.push_back(root("slow", JobStatus::succeeded, 300));
  facts.roots.push_back(root("failed", JobStatus::failed, 5000));  // not a completion
  auto m = measure(build(facts), "rootCompletionMinutes");
  CHECK(m.samples == 20);
  CHECK(figure(m, "average") == doctest::Approx(110));
  CHECK(figure(m, "p95") == doctest::Approx(100));
  CHECK(m.verdict == ops::Verdict::holds);
  CHECK(m.target == "< 120 min");

  ops::Targets strict;
  strict.max_root_minutes = 110;  // the average must be under the target: equal misses
  CHECK(measure(build(facts, strict), "rootCompletionMinutes").verdict == ops::Verdict::missed);
  strict.max_root_minutes = 110.5;
  CHECK(measure(build(facts, strict), "rootCompletionMinutes").verdict == ops::Verdict::holds);
}

TEST_CASE("ops report: success rate leaves cancelled roots out and must be above the target") {
  store::OpsFacts facts;
  for (int i = 0; i < 19; ++i)
    facts.roots.push_back(root("s" + std::to_string(i), JobStatus::succeeded, 10));
  facts.roots.push_back(root("f", JobStatus::failed, 10));
  for (int i = 0; i < 30; ++i)
    facts.roots.push_back(root("c" + std::to_string(i), JobStatus::cancelled, 10));
  auto report = build(facts);
  auto m = measure(report, "rootSuccessRate");
  CHECK(m.samples == 20);
  CHECK(figure(m, "rate") == doctest::Approx(0.95));
  CHECK(m.verdict == ops::Verdict::missed);  // 95% is not above 95%
  CHECK(m.value.find("30 cancelled, not counted") != std::string::npos);
  CHECK_FALSE(report.targets_met());
  CHECK(report.roots_cancelled == 30);

  facts.roots.push_back(root("s19", JobStatus::succeeded, 10));
  CHECK(measure(build(facts), "rootSuccessRate").verdict == ops::Verdict::holds);  // 20 of 21
}

TEST_CASE("ops report: cost accuracy is the mean absolute error; the worst is shown") {
  store::OpsFacts facts;
  facts.roots.push_back(root("under", JobStatus::succeeded, 10, 1.00, 0.80));  // -20%
  facts.roots.push_back(root("over", JobStatus::succeeded, 10, 2.00, 2.10));   // +5%
  facts.roots.push_back(root("exact", JobStatus::succeeded, 10, 0.50, 0.50));  // 0%
  facts.roots.push_back(root("free", JobStatus::succeeded, 10, 0.0, 0.30));    // no estimate
  facts.roots.push_back(root("stopped", JobStatus::failed, 10, 1.0, 0.10));    // not finished
  auto report = build(facts);
  auto m = measure(report, "costEstimateError");
  CHECK(m.samples == 3);
  CHECK(figure(m, "mean") == doctest::Approx(0.25 / 3));
  CHECK(figure(m, "worst") == doctest::Approx(0.20));
  CHECK(m.verdict == ops::Verdict::holds);
  CHECK(m.target == "±10%");

  ops::Targets strict;
  strict.max_cost_error = 0.05;
  CHECK(measure(build(facts, strict), "costEstimateError").verdict == ops::Verdict::missed);

  REQUIRE(report.cost_variance.size() == 3);
  CHECK(report.cost_variance[0].root_id == "under");
  CHECK(report.cost_variance[0].variance == doctest::Approx(-0.20));
  CHECK(report.cost_variance[1].root_id == "over");
  CHECK(report.cost_variance[1].variance == doctest::Approx(0.05));
  CHECK(report.cost_variance[2].root_id == "exact");
  CHECK(ops::render_text(report).find("-20.0%") != std::string::npos);
}

TEST_CASE("ops report: at most five cost variance rows, largest first") {
  store::OpsFacts facts;
  for (int i = 1; i <= 8; ++i)
    facts.roots.push_back(
        root("r" + std::to_string(i), JobStatus::succeeded, 10, 1.0, 1.0 + 0.01 * i));
  auto report = build(facts);
  REQUIRE(report.cost_variance.size() == 5);
  CHECK(report.cost_variance.front().root_id == "r8");
  CHECK(report.cost_variance.back().root_id == "r4");
}

TEST_CASE("ops report: reconcile time is judged on its longest run") {
  store::OpsFacts facts;
  facts.reconcile_ms = {200, 400, 300, 29'999};
  auto m = measure(build(facts), "reconcileSeconds");
  CHECK(m.samples == 4);
  CHECK(figure(m, "p50") == doctest::Approx(0.3));
  CHECK(figure(m, "max") == doctest::Approx(29.999));
  CHECK(m.verdict == ops::Verdict::holds);
  facts.reconcile_ms.push_back(30'000);
  CHECK(measure(build(facts), "reconcileSeconds").verdict == ops::Verdict::missed);
}

TEST_CASE("ops report: claim success counts accepted writes against lost leases") {
  store::OpsFacts facts;
  facts.attempts = {{"succeeded", 900}, {"retried", 80},    {"failed", 10},
                    {"lease_lost", 10}, {"cancelled", 500}, {"in_flight", 40}};
  facts.results_refused = 3;
  auto m = measure(build(facts), "claimSuccessRate");
  CHECK(m.samples == 1000);
  CHECK(figure(m, "rate") == doctest::Approx(0.99));
  CHECK(figure(m, "leaseLost") == 10);
  CHECK(figure(m, "refusedWrites") == 3);
  CHECK(m.verdict == ops::Verdict::missed);  // 99% is not above 99%
  CHECK(m.value.find("10 leases lost, 3 results refused") != std::string::npos);
  facts.attempts["succeeded"] = 901;
  CHECK(measure(build(facts), "claimSuccessRate").verdict == ops::Verdict::holds);
}

TEST_CASE("ops report: rejection reasons group what varies between answers") {
  CHECK(ops::normalise_reason("invalid answer: questions[3].options has 7 items; it must have "
                              "between 2 and 6") ==
        "invalid answer: questions[].options has N items; it must have between N and N");
  CHECK(ops::normalise_reason("invalid answer: two topics have the same title \"Fractions\"") ==
        "invalid answer: two topics have the same title \"…\"");
  CHECK(ops::normalise_reason("output cut short:  finish_reason length\n(max tokens reached)") ==
        "output cut short: finish_reason length (max tokens reached)");
  CHECK(ops::normalise_reason("score 0.75 of 12.5") == "score N of N");
  CHECK(ops::normalise_reason("[not an index] and [12a]") == "[not an index] and [Na]");
  std::string long_reason(400, 'x');
  CHECK(ops::normalise_reason(long_reason).size() <= 160 + std::string("…").size());

  store::OpsFacts facts;
  facts.rejections = {
      {JobKind::questions, "invalid answer: questions[1].prompt is empty", 4},
      {JobKind::questions, "invalid answer: questions[7].prompt is empty", 3},
      {JobKind::note, "invalid answer: answer.markdown is shorter than 400 bytes", 5},
      {JobKind::chapter, "invalid answer: questions[1].prompt is empty", 1},  // another kind
  };
  auto report = build(facts);
  REQUIRE(report.rejections.size() == 3);
  CHECK(report.rejections[0].kind == JobKind::questions);
  CHECK(report.rejections[0].count == 7);
  CHECK(report.rejections[0].reason == "invalid answer: questions[].prompt is empty");
  CHECK(report.rejections[0].example == "invalid answer: questions[1].prompt is empty");
  CHECK(report.rejections[1].kind == JobKind::note);
  CHECK(report.rejections[1].count == 5);
  CHECK(report.rejections[2].kind == JobKind::chapter);
}

TEST_CASE("ops report: the reconcile lock and last run in the text") {
  store::OpsFacts facts;
  facts.last_reconcile_at = kNow - 5 * kMinute;
  facts.locks = {{"other", "x:1", kNow + kMinute}, {"reconcile", "host-a:4242", kNow + kMinute}};
  std::string text = ops::render_text(build(facts));
  CHECK(text.find("last run finished 2025-12-31T23:55:00Z") != std::string::npos);
  CHECK(text.find("its lock is held by host-a:4242 until 2026-01-01T00:01:00Z") !=
        std::string::npos);
}

TEST_CASE("ops report: the JSON carries every measure, its figures and the week-1 lists") {
  store::OpsFacts facts;
  facts.roots.push_back(root("r1", JobStatus::succeeded, 30, 1.0, 1.3));
  facts.roots.push_back(root("r2", JobStatus::failed, 30));
  facts.rejections = {{JobKind::note, "invalid answer: answer.markdown is empty", 2}};
  facts.attempts = {{"succeeded", 5}};
  facts.locks = {{"reconcile", "h:1", kNow + kMinute}};
  auto j = nlohmann::json::parse(ops::render_json(build(facts)));
  CHECK(j["since"] == "2025-12-25T00:00:00Z");
  CHECK(j["until"] == "2026-01-01T00:00:00Z");
  CHECK(j["targetsMet"] == false);  // 1 of 2 roots succeeded, and cost is 30% over
  REQUIRE(j["metrics"].size() == 5);
  CHECK(j["metrics"][0]["key"] == "rootCompletionMinutes");
  CHECK(j["metrics"][0]["average"].get<double>() == doctest::Approx(30));
  CHECK(j["metrics"][0]["threshold"] == 120);
  CHECK(j["metrics"][1]["status"] == "missed");
  CHECK(j["metrics"][2]["worst"].get<double>() == doctest::Approx(0.3));
  CHECK(j["metrics"][3]["status"] == "no data");
  CHECK(j["metrics"][4]["rate"] == 1.0);
  CHECK(j["validationFailures"][0]["kind"] == "note");
  CHECK(j["validationFailures"][0]["count"] == 2);
  CHECK(j["costVariance"][0]["rootJobId"] == "r1");
  CHECK(j["costVariance"][0]["variance"].get<double>() == doctest::Approx(0.3));
  CHECK(j["costVariance"][0]["subjectCode"] == "MATH");
  CHECK(j["roots"]["failed"] == 1);
  CHECK(j["reconcile"]["lastRunAt"].is_null());
  CHECK(j["reconcile"]["locks"][0]["holder"] == "h:1");
}

TEST_CASE("ops report: the window comes from since, else report.since, 1 s to ten years") {
  auto config = Config::resolve(
      {}, [](const char*) -> const char* { return nullptr; }, "report.since = 24h\n", "f.conf");
  REQUIRE(config);
  CHECK(*ops::window_ms(*config, "", "--since") == 24 * 60 * kMinute);
  CHECK(*ops::window_ms(*config, "90m", "--since") == 90 * kMinute);
  CHECK(*ops::window_ms(*config, "1s", "--since") == 1000);
  for (const char* bad : {"soon", "0s", "999ms", "100000000h"}) {
    CAPTURE(bad);
    auto window = ops::window_ms(*config, bad, "--since");
    REQUIRE_FALSE(window);
    CHECK(window.error().kind == ErrorKind::invalid_input);
    CHECK(window.error().message.find("--since") != std::string::npos);
  }
  auto wrong = Config::resolve(
      {}, [](const char*) -> const char* { return nullptr; }, "report.since = never\n", "f.conf");
  REQUIRE(wrong);
  auto window = ops::window_ms(*wrong, "", "--since");
  REQUIRE_FALSE(window);
  CHECK(window.error().message.find("report.since") != std::string::npos);
}

TEST_CASE("ops report: the modes section splits roots and calls and shows the batch saving") {
  store::OpsFacts facts;
  facts.roots = {root("R1", JobStatus::succeeded, 10), root("R2", JobStatus::succeeded, 10)};
  facts.roots[1].mode = CallMode::batch;
  CallTotals online;
  online.model = "gpt-4o-mini";
  online.calls = 16;
  online.tokens = {1'000'000, 1'000'000, 0, 0};  // $0.15 + $0.60 at gpt-4o-mini's online price
  online.cost_usd = 0.75;
  CallTotals batched = online;
  batched.mode = CallMode::batch;
  batched.cost_usd = 0.375;
  facts.calls = {online, batched};
  facts.batches = {{"completed", 3}};
  auto report = build(facts);
  CHECK(report.modes.savings.online_cost_usd == doctest::Approx(0.75));
  CHECK(report.modes.savings.saving_usd == doctest::Approx(0.375));

  std::string text = ops::render_text(report);
  CHECK(text.find("  online  1 root, 16 calls, $0.7500\n") != std::string::npos);
  CHECK(text.find("  batch   1 root, 16 calls, $0.3750 at the batch price; $0.7500 online, "
                  "$0.3750 saved\n") != std::string::npos);
  CHECK(text.find("  batches 3: 3 completed\n") != std::string::npos);

  auto j = nlohmann::json::parse(ops::render_json(report));
  const auto& modes = j.at("modes");
  CHECK(modes.at("online").at("roots") == 1);
  CHECK(modes.at("online").at("calls") == 16);
  CHECK(modes.at("batch").at("costUsd") == doctest::Approx(0.375));
  CHECK(modes.at("batch").at("savings").at("onlineCostUsd") == doctest::Approx(0.75));
  CHECK(modes.at("batch").at("savings").at("savingUsd") == doctest::Approx(0.375));
  CHECK(modes.at("batch").at("batches").at("completed") == 3);
  CHECK(modes.at("batch").at("batches").at("expired") == 0);
  CHECK(modes.at("batch").at("batches").size() == std::size(batch::kStatuses));
}
