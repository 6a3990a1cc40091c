#pragma once
// The operations report (`hydrate report`): the original deployment checklist's "Metrics to
// Track", computed from the facts the store read for a window, each against its target, then its
// week-1 questions (validation failure patterns, the roots with the largest cost variance) and
// the reconcile lock. Pure: facts and targets in, figures and text or JSON out.
//
// How each figure is judged (a figure with no samples is "no data", which never fails):
//   root completion time   succeeded roots, submit to finish; holds when the average is under
//                          max_root_minutes (p95 shown beside it)
//   root success rate      succeeded / (succeeded + failed) roots; cancelled ones are not
//                          counted; holds when above min_success_rate
//   cost estimation        |actual - estimated| / estimated of succeeded roots with an estimate;
//                          holds when the mean is at most max_cost_error (worst shown beside it)
//   reconcile time         runs started in the window; holds when the longest is under
//                          max_reconcile_seconds (p50 shown beside it)
//   claim success rate     claims whose holder's write was accepted (succeeded, retried, failed)
//                          / those plus claims whose lease was lost; cancelled and in-flight
//                          claims are not counted; holds when above min_claim_success_rate. The
//                          results the store refused to write (each the answer of a claim that
//                          lost its lease) are shown beside it.
// Percentiles are nearest-rank: p of n sorted samples is the ceil(p * n)-th.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/batch/accounting.hpp"
#include "core/config.hpp"
#include "core/store/store.hpp"

namespace hydrate::ops {

struct Targets {
  double max_root_minutes = 120;
  double min_success_rate = 0.95;
  double max_cost_error = 0.10;
  double max_reconcile_seconds = 30;
  double min_claim_success_rate = 0.99;
};

// The report's window in milliseconds: since (a duration the caller names what in its error,
// e.g. "--since") when not empty, else report.since; from 1 s to ten years, invalid_input
// otherwise.
Result<Millis> window_ms(const Config& config, const std::string& since, const char* what);

// The targets the report.* config keys set; invalid_input naming the key when one is out of
// range (rates from 0 to 1).
Result<Targets> targets_from(const Config& config);

enum class Verdict { holds, missed, no_data };
const char* to_string(Verdict verdict);  // "ok", "missed", "no data"

// One row of the table.
struct Measure {
  std::string key;     // JSON name, e.g. rootCompletionMinutes
  std::string name;    // table name, e.g. "root completion time"
  std::string value;   // e.g. "avg 41.2 min, p95 87.0 min (39 roots)"; "no data" when none
  std::string target;  // e.g. "< 120 min"
  Verdict verdict = Verdict::no_data;
  std::int64_t samples = 0;
  std::vector<std::pair<std::string, double>> figures;  // e.g. {average, 41.2}, {p95, 87.0}
  double threshold = 0;                                 // the target's number, as configured
};

struct RejectionPattern {
  JobKind kind = JobKind::subject;
  std::string reason;  // normalise_reason of the errors it groups
  std::int64_t count = 0;
  std::string example;  // one error text it groups, as logged
};

struct CostVariance {
  std::string root_id;
  Slot slot;
  double estimated_usd = 0, actual_usd = 0;
  double variance = 0;  // (actual - estimated) / estimated: +0.25 is 25% over the estimate
};

struct Report {
  Millis since = 0, now = 0;
  std::vector<Measure> measures;
  std::vector<RejectionPattern> rejections;  // most frequent first, at most 10
  std::vector<CostVariance> cost_variance;   // largest |variance| first, at most 5
  std::int64_t roots_succeeded = 0, roots_failed = 0, roots_cancelled = 0;
  std::vector<store::HeldLock> locks;
  Millis last_reconcile_at = 0;
  batch::ModeSplit modes;    // the finished roots and their calls by mode; batch-mode savings
  bool targets_met() const;  // no measure missed
};

// The report of the facts; prices are the online prices batch-mode savings are measured with.
Report build_report(const store::OpsFacts& facts, const Targets& targets, Millis since, Millis now,
                    const PriceTable& prices);

// An error text with what varies between occurrences taken out, so one rule broken by many
// answers counts as one pattern: array indices become [], quoted text "…", other digit runs N,
// whitespace runs one space; at most 160 bytes (cut at a UTF-8 boundary).
std::string normalise_reason(std::string_view error);

// Nearest-rank percentile (0 < p <= 1) of the values; nullopt when there are none.
std::optional<double> percentile(std::vector<double> values, double p);

std::string render_text(const Report& report);
// {"since","until","targetsMet","metrics":[…],"validationFailures":[…],"costVariance":[…],
//  "roots":{…},"reconcile":{"lastRunAt","locks":[…]},"modes":{"online":{roots,calls,costUsd},
//  "batch":{roots,calls,costUsd,savings:{…},batches:{STATUS: n}}}}; man/hydrate-report.1 lists
//  the fields.
std::string render_json(const Report& report);

}  // namespace hydrate::ops
