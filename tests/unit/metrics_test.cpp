// Prometheus metrics (core/metrics.hpp): HELP and TYPE for every family, cumulative histogram
// buckets, and the text exposition of stored samples.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/metrics.hpp"

namespace {

using namespace hydrate;

// Every family and its type: what man/hydrate-metrics.1 documents.
const std::pair<const char*, const char*> kFamilies[] = {
    {metrics::kJobsCreated, "counter"},
    {metrics::kJobsClaimed, "counter"},
    {metrics::kJobsCompleted, "counter"},
    {metrics::kJobsFailed, "counter"},
    {metrics::kJobsRetried, "counter"},
    {metrics::kJobDuration, "histogram"},
    {metrics::kRootsFinished, "counter"},
    {metrics::kLlmCalls, "counter"},
    {metrics::kPromptTokens, "counter"},
    {metrics::kCompletionTokens, "counter"},
    {metrics::kCachedTokens, "counter"},
    {metrics::kReasoningTokens, "counter"},
    {metrics::kCostUsd, "counter"},
    {metrics::kTransientRetries, "counter"},
    {metrics::kBudgetStops, "counter"},
    {metrics::kQuotaStops, "counter"},
    {metrics::kReconcilerLastRun, "gauge"},
    {metrics::kReconcilerRuns, "counter"},
    {metrics::kReconcileDuration, "histogram"},
    {metrics::kQueueLag, "gauge"},
    {metrics::kJobs, "gauge"},
    {metrics::kRoots, "gauge"},
    {metrics::kJobsInFlight, "gauge"},
    {metrics::kStuckJobs, "gauge"},
    {metrics::kBatches, "gauge"},
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

// Adds observations the way the store does: summing values per (name, labels).
std::vector<store::MetricSample> accumulate(const std::vector<double>& seconds) {
  std::map<std::pair<std::string, std::string>, double> sums;
  for (double s : seconds) {
    for (const auto& sample : metrics::duration_observation("note", s)) {
      sums[{sample.name, sample.labels}] += sample.value;
    }
  }
  std::vector<store::MetricSample> out;
  for (const auto& [key, value] : sums) out.push_back({key.first, key.second, value});
  return metrics::cumulate_histograms(out);
}

double value_of(const std::vector<store::MetricSample>& samples, const std::string& name,
                const std::string& labels) {
  for (const auto& s : samples) {
    if (s.name == name && s.labels == labels) return s.value;
  }
  return 0;
}

}  // namespace

TEST_CASE("metrics: every family has HELP and TYPE, even on an empty database") {
  std::string text = metrics::render_prometheus({});
  int types = 0;
  for (const auto& [family, type] : kFamilies) {
    CAPTURE(family);
    CHECK(text.find(std::string("# HELP ") + family + " ") != std::string::npos);
    CHECK(text.find(std::string("# TYPE ") + family + " " + type + "\n") != std::string::npos);
  }
  for (const auto& line : lines_of(text)) types += line.rfind("# TYPE ", 0) == 0 ? 1 : 0;
  CHECK(types == static_cast<int>(std::size(kFamilies)));  // and no family more
  CHECK(text.find("# TYPE hydrate_jobs_created_total counter") != std::string::npos);
  CHECK(text.find("# TYPE hydrate_job_duration_seconds histogram") != std::string::npos);
  CHECK(text.find("# TYPE hydrate_reconciler_last_run_timestamp gauge") != std::string::npos);
}

TEST_CASE("metrics: counters without labels show 0 before their first count, once after") {
  auto empty = lines_of(metrics::render_prometheus({}));
  for (const char* counter :
       {metrics::kJobsClaimed, metrics::kTransientRetries, metrics::kBudgetStops,
        metrics::kQuotaStops, metrics::kReconcilerRuns}) {
    CAPTURE(counter);
    CHECK(std::count(empty.begin(), empty.end(), std::string(counter) + " 0") == 1);
    auto counted = lines_of(metrics::render_prometheus({{counter, "", 2}}));
    CHECK(std::count(counted.begin(), counted.end(), std::string(counter) + " 2") == 1);
    CHECK(std::count(counted.begin(), counted.end(), std::string(counter) + " 0") == 0);
  }
  // A labelled counter has no series until a label set is counted: no made-up labels.
  for (const auto& line : empty) CHECK(line.rfind("hydrate_jobs_created_total", 0) != 0);
}

TEST_CASE("metrics: samples render as name{labels} value under their family") {
  std::vector<store::MetricSample> samples = {
      {metrics::kJobsCreated, "target=\"chapter\"", 12},
      {metrics::kJobsClaimed, "", 3},
  };
  auto lines = lines_of(metrics::render_prometheus(samples));
  auto find = [&](const std::string& line) {
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (lines[i] == line) return static_cast<long>(i);
    }
    return -1L;
  };
  long created = find("hydrate_jobs_created_total{target=\"chapter\"} 12");
  long claimed = find("hydrate_jobs_claimed_total 3");
  CHECK(created >= 0);
  CHECK(claimed >= 0);
  long type_line = find("# TYPE hydrate_jobs_created_total counter");
  REQUIRE(type_line >= 0);
  CHECK(type_line < created);
}

TEST_CASE("metrics: one duration observation writes its bucket, its sum and its count") {
  auto samples = metrics::duration_observation("chapter", 3.0);
  REQUIRE(samples.size() == 3);
  CHECK(samples[0].name == "hydrate_job_duration_seconds_in_bucket");
  CHECK(samples[0].labels == "kind=\"chapter\",le=\"5\"");  // the first bound at or above 3
  CHECK(samples[0].value == 1);
  CHECK(samples[1].name == "hydrate_job_duration_seconds_sum");
  CHECK(samples[1].value == doctest::Approx(3.0));
  CHECK(samples[2].name == "hydrate_job_duration_seconds_count");
  CHECK(samples[2].value == 1);
  // Past the last bound: +Inf.
  CHECK(metrics::duration_observation("chapter", 5000)[0].labels == "kind=\"chapter\",le=\"+Inf\"");
}

TEST_CASE("metrics: cumulated buckets add the rows older versions wrote cumulative") {
  // Schema versions before 13 stored cumulative _bucket rows; a database keeps them beside the
  // _in_bucket rows written since, and a read adds the two.
  std::vector<store::MetricSample> rows = {
      {"hydrate_job_duration_seconds_bucket", "kind=\"note\",le=\"5\"", 2},
      {"hydrate_job_duration_seconds_bucket", "kind=\"note\",le=\"1800\"", 3},
      {"hydrate_job_duration_seconds_bucket", "kind=\"note\",le=\"+Inf\"", 3},
      {"hydrate_job_duration_seconds_in_bucket", "kind=\"note\",le=\"0.5\"", 1},
      {"hydrate_job_duration_seconds_in_bucket", "kind=\"note\",le=\"+Inf\"", 4},
      {metrics::kJobsClaimed, "", 9},
  };
  auto samples = metrics::cumulate_histograms(rows);
  const std::string h = "hydrate_job_duration_seconds_bucket";
  CHECK(value_of(samples, h, "kind=\"note\",le=\"0.5\"") == 1);
  CHECK(value_of(samples, h, "kind=\"note\",le=\"2.5\"") == 1);
  CHECK(value_of(samples, h, "kind=\"note\",le=\"5\"") == 3);
  CHECK(value_of(samples, h, "kind=\"note\",le=\"1800\"") == 4);
  CHECK(value_of(samples, h, "kind=\"note\",le=\"+Inf\"") == 8);
  CHECK(value_of(samples, metrics::kJobsClaimed, "") == 9);
  for (const auto& s : samples) CHECK(s.name != "hydrate_job_duration_seconds_in_bucket");
}

TEST_CASE("metrics: accumulated histogram buckets are cumulative and end at the count") {
  std::vector<double> observations = {0.2, 0.7, 3, 3, 45, 700, 5000};
  auto samples = accumulate(observations);
  double previous = 0;
  for (double bound : metrics::duration_buckets()) {
    std::ostringstream labels;
    labels << "kind=\"note\",le=\"" << bound << "\"";
    double value = value_of(samples, "hydrate_job_duration_seconds_bucket", labels.str());
    CAPTURE(bound);
    CHECK(value >= previous);
    previous = value;
  }
  CHECK(value_of(samples, "hydrate_job_duration_seconds_bucket", "kind=\"note\",le=\"0.5\"") == 1);
  CHECK(value_of(samples, "hydrate_job_duration_seconds_bucket", "kind=\"note\",le=\"5\"") == 4);
  CHECK(value_of(samples, "hydrate_job_duration_seconds_bucket", "kind=\"note\",le=\"1800\"") == 6);
  CHECK(value_of(samples, "hydrate_job_duration_seconds_bucket", "kind=\"note\",le=\"+Inf\"") == 7);
  CHECK(value_of(samples, "hydrate_job_duration_seconds_count", "kind=\"note\"") == 7);
  CHECK(value_of(samples, "hydrate_job_duration_seconds_sum", "kind=\"note\"") ==
        doctest::Approx(0.2 + 0.7 + 3 + 3 + 45 + 700 + 5000));

  // Rendered, the histogram's rows sit under one HELP/TYPE pair.
  std::string text = metrics::render_prometheus(samples);
  auto first = text.find("# TYPE hydrate_job_duration_seconds histogram");
  REQUIRE(first != std::string::npos);
  CHECK(text.find("# TYPE hydrate_job_duration_seconds", first + 1) == std::string::npos);
  CHECK(text.find("hydrate_job_duration_seconds_bucket{kind=\"note\",le=\"+Inf\"} 7") > first);
  CHECK(text.find("hydrate_job_duration_seconds_count{kind=\"note\"} 7") != std::string::npos);
}

TEST_CASE("metrics: duration buckets are increasing") {
  const auto& bounds = metrics::duration_buckets();
  REQUIRE_FALSE(bounds.empty());
  for (std::size_t i = 1; i < bounds.size(); ++i) CHECK(bounds[i] > bounds[i - 1]);
}

TEST_CASE("metrics: label values escape backslash, double quote and line feed") {
  CHECK(metrics::escape_label_value("gpt-4o-mini") == "gpt-4o-mini");
  CHECK(metrics::escape_label_value("a\\b") == "a\\\\b");
  CHECK(metrics::escape_label_value("say \"hi\"") == "say \\\"hi\\\"");
  CHECK(metrics::escape_label_value("two\nlines") == "two\\nlines");
  CHECK(metrics::escape_label_value("tab\there") == "tab\there");  // only those three
  CHECK(metrics::label_set({{"model", "m\"1"}, {"outcome", "used"}}) ==
        "model=\"m\\\"1\",outcome=\"used\"");
  CHECK(metrics::label_set({}).empty());
}

TEST_CASE("metrics: parse_labels reads back what label_set wrote, escapes and all") {
  std::string labels = metrics::label_set({{"model", "we\\ird\",le=\"1\nx"}, {"le", "2.5"}});
  auto parsed = metrics::parse_labels(labels);
  REQUIRE(parsed.size() == 2);
  CHECK(parsed[0].first == "model");
  CHECK(parsed[0].second == "we\\\\ird\\\",le=\\\"1\\nx");  // still escaped
  CHECK(parsed[1].first == "le");
  CHECK(parsed[1].second == "2.5");
  CHECK(metrics::parse_labels("").empty());
}

TEST_CASE("metrics: a model name with quotes and a newline renders as one valid sample line") {
  std::string model = "evil\"} 1\nhydrate_fake 2";
  std::vector<store::MetricSample> samples = {
      {metrics::kPromptTokens, metrics::label_set({{"model", model}}), 10}};
  auto lines = lines_of(metrics::render_prometheus(samples));
  int found = 0;
  for (const auto& line : lines) {
    CHECK(line.rfind("hydrate_fake", 0) != 0);  // no line of its own injected
    if (line.rfind("hydrate_llm_prompt_tokens_total{", 0) == 0) {
      ++found;
      CHECK(line == "hydrate_llm_prompt_tokens_total{model=\"evil\\\"} 1\\nhydrate_fake 2\"} 10");
    }
  }
  CHECK(found == 1);
}

TEST_CASE("metrics: the reconcile histogram has its own buckets and no labels") {
  const auto& h = metrics::reconcile_duration();
  CHECK(h.name == "hydrate_reconcile_duration_seconds");
  CHECK(h.bounds == std::vector<double>{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120});
  std::map<std::pair<std::string, std::string>, double> sums;
  for (double s : {0.0625, 0.25, 3.0, 500.0}) {  // exact in binary; 0.25 is on a bound
    for (const auto& sample : metrics::observe(h, "", s))
      sums[{sample.name, sample.labels}] += sample.value;
  }
  std::vector<store::MetricSample> samples;
  for (const auto& [key, value] : sums) samples.push_back({key.first, key.second, value});
  auto lines = lines_of(metrics::render_prometheus(metrics::cumulate_histograms(samples)));
  std::vector<std::string> series;
  for (const auto& line : lines) {
    if (line.rfind("hydrate_reconcile_duration_seconds", 0) == 0) series.push_back(line);
  }
  std::vector<std::string> expected = {
      "hydrate_reconcile_duration_seconds_bucket{le=\"0.05\"} 0",
      "hydrate_reconcile_duration_seconds_bucket{le=\"0.1\"} 1",
      "hydrate_reconcile_duration_seconds_bucket{le=\"0.25\"} 2",
      "hydrate_reconcile_duration_seconds_bucket{le=\"0.5\"} 2",
      "hydrate_reconcile_duration_seconds_bucket{le=\"1\"} 2",
      "hydrate_reconcile_duration_seconds_bucket{le=\"2.5\"} 2",
      "hydrate_reconcile_duration_seconds_bucket{le=\"5\"} 3",
      "hydrate_reconcile_duration_seconds_bucket{le=\"10\"} 3",
      "hydrate_reconcile_duration_seconds_bucket{le=\"30\"} 3",
      "hydrate_reconcile_duration_seconds_bucket{le=\"60\"} 3",
      "hydrate_reconcile_duration_seconds_bucket{le=\"120\"} 3",
      "hydrate_reconcile_duration_seconds_bucket{le=\"+Inf\"} 4",
      "hydrate_reconcile_duration_seconds_sum 503.3125",
      "hydrate_reconcile_duration_seconds_count 4",
  };
  CHECK(series == expected);
}

TEST_CASE("metrics: a histogram renders each label set as its own complete series") {
  std::vector<store::MetricSample> samples;
  for (const auto& sample : metrics::duration_observation("chapter", 3.0))
    samples.push_back(sample);
  for (const auto& sample : metrics::duration_observation("note", 0.2)) samples.push_back(sample);
  std::string text = metrics::render_prometheus(metrics::cumulate_histograms(samples));
  // Both kinds have every bound, the ones nothing fell in as 0.
  CHECK(text.find("hydrate_job_duration_seconds_bucket{kind=\"chapter\",le=\"0.5\"} 0\n") !=
        std::string::npos);
  CHECK(text.find("hydrate_job_duration_seconds_bucket{kind=\"chapter\",le=\"5\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("hydrate_job_duration_seconds_bucket{kind=\"note\",le=\"0.5\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("hydrate_job_duration_seconds_count{kind=\"note\"} 1\n") != std::string::npos);
  CHECK(text.find("hydrate_job_duration_seconds_sum{kind=\"chapter\"} 3\n") != std::string::npos);
  int buckets = 0;
  for (const auto& line : lines_of(text)) {
    buckets += line.rfind("hydrate_job_duration_seconds_bucket{", 0) == 0 ? 1 : 0;
  }
  CHECK(buckets == 2 * static_cast<int>(metrics::duration_buckets().size() + 1));
}

TEST_CASE("metrics: gauges render with their labels under one TYPE gauge line") {
  std::vector<store::MetricSample> samples = {
      {metrics::kJobs, metrics::label_set({{"kind", "note"}, {"status", "pending"}}), 4},
      {metrics::kRoots, metrics::label_set({{"status", "running"}}), 1},
      {metrics::kQueueLag, "", 12.5},
      {metrics::kJobsInFlight, "", 3},
      {metrics::kStuckJobs, "", 0},
  };
  std::string text = metrics::render_prometheus(samples);
  for (const char* line :
       {"# TYPE hydrate_jobs gauge\nhydrate_jobs{kind=\"note\",status=\"pending\"} 4\n",
        "# TYPE hydrate_roots gauge\nhydrate_roots{status=\"running\"} 1\n",
        "# TYPE hydrate_queue_lag_seconds gauge\nhydrate_queue_lag_seconds 12.5\n",
        "# TYPE hydrate_jobs_in_flight gauge\nhydrate_jobs_in_flight 3\n",
        "# TYPE hydrate_stuck_jobs gauge\nhydrate_stuck_jobs 0\n"}) {
    CAPTURE(line);
    CHECK(text.find(line) != std::string::npos);
  }
}
