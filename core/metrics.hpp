#pragma once
// Prometheus metrics: counters and histograms kept in the database so they are exact and
// monotonic across short-lived processes and machines, and gauges the store computes from the
// job tables when they are read. Pure rendering; man/hydrate-metrics.1 is the reference.
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/store/store.hpp"

namespace hydrate::metrics {

// Counters, kept in the metrics table.
inline constexpr const char* kJobsCreated = "hydrate_jobs_created_total";
inline constexpr const char* kJobsClaimed = "hydrate_jobs_claimed_total";
inline constexpr const char* kJobsCompleted = "hydrate_jobs_completed_total";
inline constexpr const char* kJobsFailed = "hydrate_jobs_failed_total";
inline constexpr const char* kJobsRetried = "hydrate_jobs_retried_total";
inline constexpr const char* kRootsFinished = "hydrate_roots_finished_total";
inline constexpr const char* kLlmCalls = "hydrate_llm_calls_total";
inline constexpr const char* kPromptTokens = "hydrate_llm_prompt_tokens_total";
inline constexpr const char* kCompletionTokens = "hydrate_llm_completion_tokens_total";
inline constexpr const char* kCachedTokens = "hydrate_llm_cached_tokens_total";
inline constexpr const char* kReasoningTokens = "hydrate_llm_reasoning_tokens_total";
inline constexpr const char* kCostUsd = "hydrate_llm_cost_usd_total";
inline constexpr const char* kTransientRetries = "hydrate_transient_retries_total";
inline constexpr const char* kBudgetStops = "hydrate_budget_stops_total";
inline constexpr const char* kQuotaStops = "hydrate_quota_stops_total";
inline constexpr const char* kReconcilerLastRun = "hydrate_reconciler_last_run_timestamp";
inline constexpr const char* kReconcilerRuns = "hydrate_reconciler_runs_total";
// Histograms, kept in the metrics table as _in_bucket, _sum and _count rows (see observe).
inline constexpr const char* kJobDuration = "hydrate_job_duration_seconds";
inline constexpr const char* kReconcileDuration = "hydrate_reconcile_duration_seconds";
// Gauges, computed by Store::read_metrics from the job tables at read time.
inline constexpr const char* kQueueLag = "hydrate_queue_lag_seconds";
inline constexpr const char* kJobs = "hydrate_jobs";
inline constexpr const char* kRoots = "hydrate_roots";
inline constexpr const char* kJobsInFlight = "hydrate_jobs_in_flight";
inline constexpr const char* kStuckJobs = "hydrate_stuck_jobs";
// Batch records by status: batch::status_label of each (core/batch/accounting.hpp).
inline constexpr const char* kBatches = "hydrate_batches";

// A histogram family: its name and the upper bounds (seconds) of its buckets, +Inf implied.
struct Histogram {
  std::string name;
  std::vector<double> bounds;
};
const Histogram& job_duration();        // labels: kind
const Histogram& reconcile_duration();  // no labels
const std::vector<const Histogram*>& histograms();

// The samples to add for one observation, each with `labels` (a label set such as kind="note",
// or ""): one _in_bucket row, le the first bound at or above the value (+Inf past the last),
// then _sum and _count. Three rows to write, where Prometheus's cumulative buckets would be one
// a bound at or above the value; cumulate_histograms makes those of them when they are read.
std::vector<store::MetricSample> observe(const Histogram& histogram, const std::string& labels,
                                         double value);
// The metrics table's rows (summed by name and labels) as Prometheus wants them: each
// histogram's _in_bucket rows become cumulative _bucket rows, one a bound and +Inf, added to the
// cumulative _bucket rows that schema versions before 13 wrote; other rows pass unchanged.
std::vector<store::MetricSample> cumulate_histograms(std::vector<store::MetricSample> rows);

// The job duration histogram's bounds, and one observation of it for a step of kind.
const std::vector<double>& duration_buckets();
std::vector<store::MetricSample> duration_observation(const std::string& kind, double seconds);

// A label value escaped as the exposition format requires: backslash, double quote and line feed
// become \\, \" and \n. Label values that are operator input (a model name) must pass here.
std::string escape_label_value(std::string_view value);
// A label set without braces, values escaped: label_set({{"model", m}, {"outcome", "used"}})
// is model="…",outcome="used".
std::string label_set(std::initializer_list<std::pair<std::string_view, std::string_view>> labels);
// The (name, escaped value) pairs of a label set label_set wrote, in order.
std::vector<std::pair<std::string, std::string>> parse_labels(std::string_view labels);

// Prometheus text exposition (HELP and TYPE for every family, known or not yet observed) of the
// samples: stored counters and histogram rows and the computed gauges.
std::string render_prometheus(const std::vector<store::MetricSample>& samples);

}  // namespace hydrate::metrics
