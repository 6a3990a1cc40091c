#pragma once
// Prometheus metrics: the names the original system exposed, kept in the database so they are
// exact and monotonic across short-lived processes and machines. Pure rendering.
#include <string>
#include <vector>

#include "core/store/store.hpp"

namespace hydrate::metrics {

inline constexpr const char* kJobsCreated = "hydrate_jobs_created_total";
inline constexpr const char* kJobsClaimed = "hydrate_jobs_claimed_total";
inline constexpr const char* kJobsCompleted = "hydrate_jobs_completed_total";
inline constexpr const char* kJobsFailed = "hydrate_jobs_failed_total";
inline constexpr const char* kJobsRetried = "hydrate_jobs_retried_total";
inline constexpr const char* kJobDuration = "hydrate_job_duration_seconds";
inline constexpr const char* kRootsFinished = "hydrate_roots_finished_total";
inline constexpr const char* kLlmCalls = "hydrate_llm_calls_total";
inline constexpr const char* kPromptTokens = "hydrate_llm_prompt_tokens_total";
inline constexpr const char* kCompletionTokens = "hydrate_llm_completion_tokens_total";
inline constexpr const char* kCachedTokens = "hydrate_llm_cached_tokens_total";
inline constexpr const char* kCostUsd = "hydrate_llm_cost_usd_total";
inline constexpr const char* kTransientRetries = "hydrate_transient_retries_total";
inline constexpr const char* kBudgetStops = "hydrate_budget_stops_total";
inline constexpr const char* kReconcilerLastRun = "hydrate_reconciler_last_run_timestamp";
inline constexpr const char* kReconcilerRuns = "hydrate_reconciler_runs_total";

// Upper bounds (seconds) of the job duration histogram's buckets, +Inf implied.
const std::vector<double>& duration_buckets();

// The samples to add for one observation of a job's duration: a _bucket row per bound at or
// above it (cumulative, as Prometheus wants), +Inf, _sum and _count.
std::vector<store::MetricSample> duration_observation(const std::string& kind, double seconds);

// Prometheus text exposition (HELP and TYPE for every family) of the stored samples.
std::string render_prometheus(const std::vector<store::MetricSample>& samples);

}  // namespace hydrate::metrics
