// Prometheus metrics (core/metrics.hpp): HELP and TYPE for every family, cumulative histogram
// buckets, and the text exposition of stored samples.
#include <doctest/doctest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/metrics.hpp"

namespace {

using namespace hydrate;

const char* const kFamilies[] = {
    metrics::kJobsCreated,       metrics::kJobsClaimed,   metrics::kJobsCompleted,
    metrics::kJobsFailed,        metrics::kJobsRetried,   metrics::kJobDuration,
    metrics::kRootsFinished,     metrics::kLlmCalls,      metrics::kPromptTokens,
    metrics::kCompletionTokens,  metrics::kCachedTokens,  metrics::kCostUsd,
    metrics::kReconcilerLastRun, metrics::kReconcilerRuns};

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
  return out;
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
  for (const char* family : kFamilies) {
    CAPTURE(family);
    CHECK(text.find(std::string("# HELP ") + family + " ") != std::string::npos);
    CHECK(text.find(std::string("# TYPE ") + family + " ") != std::string::npos);
  }
  CHECK(text.find("# TYPE hydrate_jobs_created_total counter") != std::string::npos);
  CHECK(text.find("# TYPE hydrate_job_duration_seconds histogram") != std::string::npos);
  CHECK(text.find("# TYPE hydrate_reconciler_last_run_timestamp gauge") != std::string::npos);
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

TEST_CASE("metrics: one duration observation fills the buckets at or above it") {
  auto samples = metrics::duration_observation("chapter", 3.0);
  std::map<std::string, double> buckets;
  double sum = -1, count = -1;
  for (const auto& s : samples) {
    if (s.name == "hydrate_job_duration_seconds_bucket") buckets[s.labels] = s.value;
    if (s.name == "hydrate_job_duration_seconds_sum") sum = s.value;
    if (s.name == "hydrate_job_duration_seconds_count") count = s.value;
  }
  CHECK_FALSE(buckets.count("kind=\"chapter\",le=\"0.5\""));
  CHECK_FALSE(buckets.count("kind=\"chapter\",le=\"2.5\""));
  CHECK(buckets.count("kind=\"chapter\",le=\"5\""));
  CHECK(buckets.count("kind=\"chapter\",le=\"1800\""));
  CHECK(buckets.count("kind=\"chapter\",le=\"+Inf\""));
  CHECK(sum == doctest::Approx(3.0));
  CHECK(count == 1);
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
