// Store contract, metrics: the gauges read_metrics computes from the job tables (exact values
// for a known set of jobs), the model-labelled call counters, quota stops, the reconcile
// histogram, and migration 005, which re-derives the call counters of a version-4 database.
#include <map>

#include <fmt/format.h>

#include "core/clock.hpp"
#include "core/engine/reconcile.hpp"
#include "core/metrics.hpp"
#include "tests/integration/store_contract.hpp"

using namespace hydrate;
using namespace hydrate::testing;

namespace {

constexpr Millis kStuck = 15 * 60'000;

std::vector<store::MetricSample> read_all(store::Store& store, Millis now,
                                          Millis stuck_after = kStuck) {
  auto samples = store.read_metrics(now, stuck_after);
  if (!samples) FAIL("read_metrics: " << samples.error().message);
  return *samples;
}

// The hydrate_jobs series as kind/status -> value; FAILs on a series seen twice.
std::map<std::string, double> jobs_gauge(const std::vector<store::MetricSample>& samples) {
  std::map<std::string, double> out;
  for (const auto& s : samples) {
    if (s.name != metrics::kJobs) continue;
    auto labels = metrics::parse_labels(s.labels);
    REQUIRE(labels.size() == 2);
    CHECK(labels[0].first == "kind");
    CHECK(labels[1].first == "status");
    std::string key = labels[0].second + "/" + labels[1].second;
    if (out.count(key)) FAIL("hydrate_jobs has " << key << " twice");
    out[key] = s.value;
  }
  return out;
}

int count_series(const std::vector<store::MetricSample>& samples, const std::string& name) {
  int n = 0;
  for (const auto& s : samples) n += s.name == name ? 1 : 0;
  return n;
}

}  // namespace

STORE_CONTRACT("metrics gauges on an empty database: every series, all zero") {
  auto samples = read_all(*fx, kT0);
  auto jobs = jobs_gauge(samples);
  CHECK(jobs.size() == 20);
  for (const auto& [key, value] : jobs) {
    CAPTURE(key);
    CHECK(value == 0);
  }
  CHECK(count_series(samples, metrics::kRoots) == 5);
  for (const char* status : {"pending", "running", "succeeded", "failed", "cancelled"}) {
    CHECK(metric(samples, metrics::kRoots, fmt::format("status=\"{}\"", status)) == 0);
  }
  CHECK(count_series(samples, metrics::kQueueLag) == 1);
  CHECK(metric(samples, metrics::kQueueLag) == 0);
  CHECK(count_series(samples, metrics::kJobsInFlight) == 1);
  CHECK(count_series(samples, metrics::kStuckJobs) == 1);
}

STORE_CONTRACT("metrics gauges count a known set of jobs exactly") {
  // D fails its subject, C is cancelled, A's subject succeeds and its two chapters are claimed,
  // one under a live lease and one whose lease runs out; B waits, due; E is not due yet.
  std::string d = submit_small(*fx, "D", kT0, 1, 9);
  Job d_subject = claim_one(*fx, kT0);
  REQUIRE(d_subject.id == d);
  REQUIRE_OK(fx->fail_step(lease_of(d_subject), "HTTP 400", kT0 + 100));
  std::string c = submit_small(*fx, "C", kT0, 5, 8);
  REQUIRE_OK(fx->cancel(c, "not wanted", kT0 + 200));
  std::string a = submit_small(*fx, "A", kT0, 5, 7);
  Job a_subject = claim_one(*fx, kT0 + 300);
  REQUIRE(a_subject.id == a);
  complete(*fx, a_subject, kT0 + 1000);
  std::string b = submit_small(*fx, "B", kT0 + 500, 5, 0);
  Job live = claim_one(*fx, kT0 + 2000, 60'000, "worker-live");     // until kT0 + 62 s
  Job expiring = claim_one(*fx, kT0 + 2000, 1'000, "worker-dead");  // until kT0 + 3 s
  CHECK(live.kind == JobKind::chapter);
  CHECK(expiring.kind == JobKind::chapter);
  submit_small(*fx, "E", kT0 + 20'000, 5, 0);

  Millis now = kT0 + 10'000;
  auto samples = read_all(*fx, now);
  std::map<std::string, double> expected;
  for (const char* kind : {"subject", "chapter", "note", "questions"}) {
    for (const char* status : {"pending", "running", "succeeded", "failed", "cancelled"}) {
      expected[std::string(kind) + "/" + status] = 0;
    }
  }
  expected["subject/pending"] = 2;  // B, E
  expected["subject/succeeded"] = 1;
  expected["subject/failed"] = 1;
  expected["subject/cancelled"] = 1;
  expected["chapter/running"] = 2;
  CHECK(jobs_gauge(samples) == expected);

  CHECK(metric(samples, metrics::kRoots, "status=\"pending\"") == 2);  // B, E
  CHECK(metric(samples, metrics::kRoots, "status=\"running\"") == 1);  // A
  CHECK(metric(samples, metrics::kRoots, "status=\"succeeded\"") == 0);
  CHECK(metric(samples, metrics::kRoots, "status=\"failed\"") == 1);     // D
  CHECK(metric(samples, metrics::kRoots, "status=\"cancelled\"") == 1);  // C

  // B is the oldest due step: due at kT0 + 0.5 s, read at kT0 + 10 s. E is not due.
  CHECK(metric(samples, metrics::kQueueLag) == doctest::Approx(9.5));
  // Only the live lease is in flight; the expired one is still 'running' until rescued.
  CHECK(metric(samples, metrics::kJobsInFlight) == 1);
  CHECK(metric(read_all(*fx, kT0 + 2500), metrics::kJobsInFlight) == 2);
  CHECK(metric(read_all(*fx, kT0 + 62'000), metrics::kJobsInFlight) == 1);  // up to expiry
  CHECK(metric(read_all(*fx, kT0 + 62'001), metrics::kJobsInFlight) == 0);

  // Stuck: pending and due for longer than the threshold. B has been due 9.5 s.
  CHECK(metric(samples, metrics::kStuckJobs) == 0);
  CHECK(metric(read_all(*fx, now, 9'000), metrics::kStuckJobs) == 1);
  CHECK(metric(read_all(*fx, now, 9'500), metrics::kStuckJobs) == 0);  // exactly: not longer
  CHECK(metric(read_all(*fx, kT0 + 30'000, 9'000), metrics::kStuckJobs) == 2);  // E too

  // Nothing waits once B is cancelled and E is not due: lag 0. (E becomes due later.)
  REQUIRE_OK(fx->cancel(b, "not wanted", now));
  CHECK(metric(read_all(*fx, now), metrics::kQueueLag) == 0);
  CHECK(metric(read_all(*fx, kT0 + 21'000), metrics::kQueueLag) == doctest::Approx(1.0));
}

STORE_CONTRACT("call counters are by model, with reasoning tokens and escaped names") {
  submit_small(*fx, "MATH", kT0);
  Job subject = claim_one(*fx, kT0);
  CallRecord mini = call_for(subject, 400, 100, 50, 0.25, true);
  mini.call_id = "call-1";
  CallRecord odd = call_for(subject, 1000, 300, 0, 1.5, false);
  odd.call_id = "call-2";
  odd.model = "o3 \"mini\"\\eu";
  odd.usage.reasoning = 200;
  CallRecord mini_error = call_for(subject, 0, 0, 0, 0, false);
  mini_error.call_id = "call-3";
  mini_error.http_status = 500;
  for (const auto& call : {mini, odd, mini_error}) REQUIRE_OK(fx->log_call(call));
  REQUIRE_OK(fx->log_call(mini));  // logged again: counted once

  auto samples = read_all(*fx, kT0);
  std::string m = "model=\"gpt-4o-mini\"";
  std::string o = "model=\"o3 \\\"mini\\\"\\\\eu\"";
  CHECK(metric(samples, metrics::kPromptTokens, m) == 400);
  CHECK(metric(samples, metrics::kPromptTokens, o) == 1000);
  CHECK(metric(samples, metrics::kCompletionTokens, m) == 100);
  CHECK(metric(samples, metrics::kCompletionTokens, o) == 300);
  CHECK(metric(samples, metrics::kCachedTokens, m) == 50);
  CHECK(metric(samples, metrics::kCachedTokens, o) == 0);
  CHECK(metric(samples, metrics::kReasoningTokens, m) == 0);
  CHECK(metric(samples, metrics::kReasoningTokens, o) == 200);
  CHECK(metric(samples, metrics::kCostUsd, m) == doctest::Approx(0.25));
  CHECK(metric(samples, metrics::kCostUsd, o) == doctest::Approx(1.5));
  CHECK(metric(samples, metrics::kLlmCalls, m + ",outcome=\"used\",status=\"200\"") == 1);
  CHECK(metric(samples, metrics::kLlmCalls, m + ",outcome=\"error\",status=\"500\"") == 1);
  CHECK(metric(samples, metrics::kLlmCalls, o + ",outcome=\"rejected\",status=\"200\"") == 1);
  CHECK(count_series(samples, metrics::kLlmCalls) == 3);
  CHECK(count_series(samples, metrics::kPromptTokens) == 2);
  // No unlabelled series is left beside them.
  CHECK(metric(samples, metrics::kPromptTokens, "") == 0);
}

STORE_CONTRACT("a step handed back for quota counts a quota stop, a retry does not") {
  submit_small(*fx, "MATH", kT0);
  Job subject = claim_one(*fx, kT0);
  REQUIRE_OK(fx->release_step(lease_of(subject), "HTTP 429", kT0 + 10, kT0 + 10));
  CHECK(metric(read_all(*fx, kT0), metrics::kQuotaStops) == 0);
  Job again = claim_one(*fx, kT0 + 20);
  REQUIRE_OK(fx->return_step(lease_of(again), "insufficient_quota", kT0 + 30));
  CHECK(metric(read_all(*fx, kT0), metrics::kQuotaStops) == 1);
  // Fenced: a stale lease hands nothing back and counts nothing.
  CHECK_FALSE(fx->return_step(lease_of(again), "insufficient_quota", kT0 + 40).ok());
  CHECK(metric(read_all(*fx, kT0), metrics::kQuotaStops) == 1);
}

STORE_CONTRACT("every reconcile run that held the lock is observed by the duration histogram") {
  const std::string h = metrics::kReconcileDuration;
  store::ReconcileRun run;
  run.started_at = kT0;
  run.finished_at = kT0 + 300;  // 0.3 s
  REQUIRE_OK(fx->record_reconcile_run(run));
  auto samples = read_all(*fx, kT0);
  CHECK(metric(samples, h + "_bucket", "le=\"0.25\"") == 0);
  CHECK(metric(samples, h + "_bucket", "le=\"0.5\"") == 1);
  CHECK(metric(samples, h + "_bucket", "le=\"120\"") == 1);
  CHECK(metric(samples, h + "_bucket", "le=\"+Inf\"") == 1);
  CHECK(metric(samples, h + "_sum") == doctest::Approx(0.3));
  CHECK(metric(samples, h + "_count") == 1);

  // The real reconcile observes its run; one that finds the lock taken does not.
  engine::ReconcileOptions options;
  options.holder = "reconciler-1";
  auto report = engine::reconcile(*fx, options, kT0);
  REQUIRE_OK(report);
  CHECK_FALSE(report->skipped);
  CHECK(metric(read_all(*fx, kT0), h + "_count") == 2);
  REQUIRE_OK(fx->try_lock("reconcile", "someone-else", 600'000, wall_clock_ms()));
  auto skipped = engine::reconcile(*fx, options, kT0);
  REQUIRE_OK(skipped);
  CHECK(skipped->skipped);
  CHECK(metric(read_all(*fx, kT0), h + "_count") == 2);
  CHECK(metric(read_all(*fx, kT0), metrics::kReconcilerRuns) == 2);
}
