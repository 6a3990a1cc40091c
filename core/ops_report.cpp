// The operations report: figures, verdicts and their text and JSON (see ops_report.hpp).
#include "core/ops_report.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <numeric>

#include "core/clock.hpp"
#include "core/duration.hpp"
#include "core/report.hpp"

namespace hydrate::ops {

namespace {

constexpr std::size_t kMaxPatterns = 10;
constexpr std::size_t kMaxVarianceRows = 5;
constexpr std::size_t kMaxReasonBytes = 160;

std::size_t characters(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

std::string padded(std::string_view text, std::size_t width) {
  std::string out(text);
  out.append(width - std::min(width, characters(text)), ' ');
  return out;
}

// "1 root", "2 roots".
std::string count_of(std::int64_t n, const char* noun) {
  return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}

double mean(const std::vector<double>& values) {
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

std::string percent(double fraction) {
  return fmt::format("{:.1f}%", fraction * 100);
}

// The target's number as the table prints it: 120, 0.5, 99.9 (no trailing zeros).
std::string number(double value) {
  std::string text = fmt::format("{:.3f}", value);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

Measure measure(const char* key, const char* name, std::string target, double threshold) {
  Measure m;
  m.key = key;
  m.name = name;
  m.value = "no data";
  m.target = std::move(target);
  m.threshold = threshold;
  return m;
}

Measure completion_time(const store::OpsFacts& facts, const Targets& targets) {
  std::vector<double> minutes;
  for (const auto& root : facts.roots) {
    if (root.status != JobStatus::succeeded) continue;
    minutes.push_back(static_cast<double>(root.finished_at - root.created_at) / 60000.0);
  }
  Measure m = measure("rootCompletionMinutes", "root completion time",
                      "< " + number(targets.max_root_minutes) + " min", targets.max_root_minutes);
  m.samples = static_cast<std::int64_t>(minutes.size());
  if (minutes.empty()) return m;
  double average = mean(minutes), p95 = *percentile(minutes, 0.95);
  m.figures = {{"average", average}, {"p95", p95}};
  m.value =
      fmt::format("avg {:.2f} min, p95 {:.2f} min ({})", average, p95, count_of(m.samples, "root"));
  m.verdict = average < targets.max_root_minutes ? Verdict::holds : Verdict::missed;
  return m;
}

Measure success_rate(const Report& report, const Targets& targets) {
  Measure m =
      measure("rootSuccessRate", "root success rate",
              "> " + number(targets.min_success_rate * 100) + "%", targets.min_success_rate);
  m.samples = report.roots_succeeded + report.roots_failed;
  if (m.samples == 0) return m;
  double rate = static_cast<double>(report.roots_succeeded) / static_cast<double>(m.samples);
  m.figures = {{"rate", rate}};
  m.value = fmt::format("{} ({} of {}{})", percent(rate), report.roots_succeeded,
                        count_of(m.samples, "root"),
                        report.roots_cancelled > 0
                            ? fmt::format("; {} cancelled, not counted", report.roots_cancelled)
                            : "");
  m.verdict = rate > targets.min_success_rate ? Verdict::holds : Verdict::missed;
  return m;
}

Measure cost_accuracy(const store::OpsFacts& facts, const Targets& targets) {
  std::vector<double> errors;
  for (const auto& root : facts.roots) {
    if (root.status != JobStatus::succeeded || root.estimated_cost_usd <= 0) continue;
    errors.push_back(std::abs(root.spent_usd - root.estimated_cost_usd) / root.estimated_cost_usd);
  }
  Measure m = measure("costEstimateError", "cost estimation accuracy",
                      "±" + number(targets.max_cost_error * 100) + "%", targets.max_cost_error);
  m.samples = static_cast<std::int64_t>(errors.size());
  if (errors.empty()) return m;
  double average = mean(errors), worst = *std::max_element(errors.begin(), errors.end());
  m.figures = {{"mean", average}, {"worst", worst}};
  m.value = fmt::format("mean {}, worst {} ({})", percent(average), percent(worst),
                        count_of(m.samples, "root"));
  m.verdict = average <= targets.max_cost_error ? Verdict::holds : Verdict::missed;
  return m;
}

Measure reconcile_time(const store::OpsFacts& facts, const Targets& targets) {
  std::vector<double> seconds;
  for (Millis ms : facts.reconcile_ms) seconds.push_back(static_cast<double>(ms) / 1000.0);
  Measure m =
      measure("reconcileSeconds", "reconcile execution time",
              "< " + number(targets.max_reconcile_seconds) + " s", targets.max_reconcile_seconds);
  m.samples = static_cast<std::int64_t>(seconds.size());
  if (seconds.empty()) return m;
  double p50 = *percentile(seconds, 0.5),
         longest = *std::max_element(seconds.begin(), seconds.end());
  m.figures = {{"p50", p50}, {"max", longest}};
  m.value =
      fmt::format("p50 {:.2f} s, max {:.2f} s ({})", p50, longest, count_of(m.samples, "run"));
  m.verdict = longest < targets.max_reconcile_seconds ? Verdict::holds : Verdict::missed;
  return m;
}

Measure claim_success(const store::OpsFacts& facts, const Targets& targets) {
  auto count = [&](const char* outcome) {
    auto it = facts.attempts.find(outcome);
    return it == facts.attempts.end() ? std::int64_t{0} : it->second;
  };
  std::int64_t written = count("succeeded") + count("retried") + count("failed");
  std::int64_t lost = count("lease_lost");
  Measure m = measure("claimSuccessRate", "worker claim success rate",
                      "> " + number(targets.min_claim_success_rate * 100) + "%",
                      targets.min_claim_success_rate);
  m.samples = written + lost;
  if (m.samples == 0) return m;
  double rate = static_cast<double>(written) / static_cast<double>(m.samples);
  m.figures = {{"rate", rate},
               {"written", static_cast<double>(written)},
               {"leaseLost", static_cast<double>(lost)},
               {"refusedWrites", static_cast<double>(facts.results_refused)}};
  m.value = fmt::format("{} ({} of {} claims; {} leases lost, {} results refused)", percent(rate),
                        written, m.samples, lost, facts.results_refused);
  m.verdict = rate > targets.min_claim_success_rate ? Verdict::holds : Verdict::missed;
  return m;
}

std::vector<RejectionPattern> patterns(const std::vector<store::RejectionCount>& rejections) {
  std::map<std::pair<JobKind, std::string>, RejectionPattern> grouped;
  for (const auto& r : rejections) {
    std::string reason = normalise_reason(r.error);
    auto& pattern = grouped[{r.kind, reason}];
    if (pattern.count == 0) pattern = RejectionPattern{r.kind, reason, 0, r.error};
    pattern.count += r.count;
  }
  std::vector<RejectionPattern> out;
  for (auto& [key, pattern] : grouped) out.push_back(std::move(pattern));
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.count > b.count; });
  if (out.size() > kMaxPatterns) out.resize(kMaxPatterns);
  return out;
}

std::vector<CostVariance> variances(const std::vector<store::FinishedRoot>& roots) {
  std::vector<CostVariance> out;
  for (const auto& root : roots) {
    if (root.status != JobStatus::succeeded || root.estimated_cost_usd <= 0) continue;
    out.push_back({root.id, root.slot, root.estimated_cost_usd, root.spent_usd,
                   (root.spent_usd - root.estimated_cost_usd) / root.estimated_cost_usd});
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::abs(a.variance) > std::abs(b.variance);
  });
  if (out.size() > kMaxVarianceRows) out.resize(kMaxVarianceRows);
  return out;
}

std::string slot_text(const Slot& slot) {
  return fmt::format("{}/{}/{}/{}", slot.language, slot.board, slot.grade, slot.subject);
}

std::string signed_percent(double fraction) {
  return fmt::format("{:+.1f}%", fraction * 100);
}

}  // namespace

Result<Millis> window_ms(const Config& config, const std::string& since, const char* what) {
  constexpr Millis kMaxWindowMs = 3660LL * 24 * 3600 * 1000;  // ten years
  if (since.empty()) {
    auto configured = config.get_duration_ms("report.since", 1000, kMaxWindowMs);
    if (!configured) return configured.error();
    return static_cast<Millis>(*configured);
  }
  auto ms = parse_duration_ms(since);
  if (!ms || *ms < 1000 || *ms > kMaxWindowMs) {
    return make_error(ErrorKind::invalid_input,
                      fmt::format("{} must be a duration from 1s to ten years, such as 24h or 168h "
                                  "(got '{}')",
                                  what, since.substr(0, 32)));
  }
  return *ms;
}

Result<Targets> targets_from(const Config& config) {
  Targets t;
  struct Key {
    const char* name;
    double max;
    double* into;
  };
  const Key keys[] = {{"report.max_root_minutes", 1e9, &t.max_root_minutes},
                      {"report.min_success_rate", 1, &t.min_success_rate},
                      {"report.max_cost_error", 1e6, &t.max_cost_error},
                      {"report.max_reconcile_seconds", 1e9, &t.max_reconcile_seconds},
                      {"report.min_claim_success_rate", 1, &t.min_claim_success_rate}};
  for (const auto& key : keys) {
    auto value = config.get_number(key.name, 0, key.max);
    if (!value) return value.error();
    *key.into = *value;
  }
  return t;
}

const char* to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::holds:
      return "ok";
    case Verdict::missed:
      return "missed";
    case Verdict::no_data:
      return "no data";
  }
  return "no data";
}

bool Report::targets_met() const {
  return std::none_of(measures.begin(), measures.end(),
                      [](const Measure& m) { return m.verdict == Verdict::missed; });
}

std::optional<double> percentile(std::vector<double> values, double p) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

std::string normalise_reason(std::string_view error) {
  std::string out;
  for (std::size_t i = 0; i < error.size();) {
    char c = error[i];
    if (c == '[') {
      std::size_t close = error.find(']', i);
      bool index = close != std::string_view::npos && close > i + 1 &&
                   std::all_of(error.begin() + i + 1, error.begin() + close,
                               [](char d) { return std::isdigit(static_cast<unsigned char>(d)); });
      if (index) {
        out += "[]";
        i = close + 1;
        continue;
      }
    }
    if (c == '"') {
      std::size_t close = error.find('"', i + 1);
      if (close != std::string_view::npos) {
        out += "\"…\"";
        i = close + 1;
        continue;
      }
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      while (i < error.size() && (std::isdigit(static_cast<unsigned char>(error[i])) ||
                                  (error[i] == '.' && i + 1 < error.size() &&
                                   std::isdigit(static_cast<unsigned char>(error[i + 1])))))
        ++i;
      out += 'N';
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      while (i < error.size() && std::isspace(static_cast<unsigned char>(error[i]))) ++i;
      out += ' ';
      continue;
    }
    out += c;
    ++i;
  }
  if (out.size() > kMaxReasonBytes) {
    std::size_t cut = kMaxReasonBytes;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out = out.substr(0, cut) + "…";
  }
  return out;
}

Report build_report(const store::OpsFacts& facts, const Targets& targets, Millis since, Millis now,
                    const PriceTable& prices) {
  Report report;
  report.since = since;
  report.now = now;
  for (const auto& root : facts.roots) {
    if (root.status == JobStatus::succeeded) ++report.roots_succeeded;
    if (root.status == JobStatus::failed) ++report.roots_failed;
    if (root.status == JobStatus::cancelled) ++report.roots_cancelled;
  }
  report.measures = {completion_time(facts, targets), success_rate(report, targets),
                     cost_accuracy(facts, targets), reconcile_time(facts, targets),
                     claim_success(facts, targets)};
  report.rejections = patterns(facts.rejections);
  report.cost_variance = variances(facts.roots);
  report.locks = facts.locks;
  report.last_reconcile_at = facts.last_reconcile_at;
  report.modes = batch::split_by_mode(facts, prices);
  return report;
}

std::string render_text(const Report& report) {
  std::string out =
      fmt::format("hydrate report: {} to {}\n\n", format_utc(report.since), format_utc(report.now));
  // Columns as wide as their widest cell, counted in characters (the target may hold a "±").
  std::size_t widths[3] = {6, 5, 6};
  for (const auto& m : report.measures) {
    widths[0] = std::max(widths[0], characters(m.name));
    widths[1] = std::max(widths[1], characters(m.value));
    widths[2] = std::max(widths[2], characters(m.target));
  }
  out += padded("METRIC", widths[0]) + "  " + padded("VALUE", widths[1]) + "  " +
         padded("TARGET", widths[2]) + "  STATUS\n";
  for (const auto& m : report.measures) {
    out += padded(m.name, widths[0]) + "  " + padded(m.value, widths[1]) + "  " +
           padded(m.target, widths[2]) + "  " +
           (m.verdict == Verdict::missed ? "MISSED" : to_string(m.verdict)) + "\n";
  }
  out += "\nValidation failures, most frequent first:\n";
  if (report.rejections.empty()) out += "  none in this window\n";
  for (const auto& r : report.rejections)
    out += fmt::format("  {:>6}  {:<9}  {}\n", r.count, to_string(r.kind), r.reason);

  out += "\nLargest cost variance (succeeded roots):\n";
  if (report.cost_variance.empty()) out += "  none in this window\n";
  for (const auto& v : report.cost_variance) {
    out +=
        fmt::format("  {}  {:<28}  estimated ${:.4f}  actual ${:.4f}  {}\n", v.root_id,
                    slot_text(v.slot), v.estimated_usd, v.actual_usd, signed_percent(v.variance));
  }

  out += "\nReconcile: ";
  out += report.last_reconcile_at > 0 ? "last run finished " + format_utc(report.last_reconcile_at)
                                      : "has never run";
  auto lock = std::find_if(report.locks.begin(), report.locks.end(),
                           [](const auto& l) { return l.name == "reconcile"; });
  out += lock == report.locks.end() ? "; its lock is free\n"
                                    : fmt::format("; its lock is held by {} until {}\n",
                                                  lock->holder, format_utc(lock->expires_at));

  const batch::ModeSplit& m = report.modes;
  out += "\nModes (the finished roots and their calls):\n";
  out += fmt::format("  online  {}, {}, ${:.4f}\n", count_of(m.online.roots, "root"),
                     count_of(m.online.calls, "call"), m.online.cost_usd);
  out += fmt::format("  batch   {}, {}, ${:.4f}", count_of(m.batch.roots, "root"),
                     count_of(m.batch.calls, "call"), m.batch.cost_usd);
  if (m.savings.calls > 0) {
    out += fmt::format(" at the batch price; ${:.4f} online, ${:.4f} saved",
                       m.savings.online_cost_usd, m.savings.saving_usd);
  }
  for (const auto& model : m.savings.unpriced) out += fmt::format(" ({} has no price)", model);
  std::string batches;
  std::int64_t total = 0;
  for (const auto& [status, count] : m.batches) {
    total += count;
    if (count > 0) batches += fmt::format("{}{} {}", batches.empty() ? "" : ", ", count, status);
  }
  out += fmt::format("\n  batches {}{}\n", total, batches.empty() ? "" : ": " + batches);
  return out;
}

std::string render_json(const Report& report) {
  using nlohmann::json;
  json measures = json::array();
  for (const auto& m : report.measures) {
    json item = {
        {"key", m.key},        {"name", m.name},           {"value", m.value},
        {"target", m.target},  {"threshold", m.threshold}, {"status", to_string(m.verdict)},
        {"samples", m.samples}};
    for (const auto& [name, figure] : m.figures) item[name] = figure;
    measures.push_back(std::move(item));
  }
  json rejections = json::array();
  for (const auto& r : report.rejections) {
    rejections.push_back({{"kind", to_string(r.kind)},
                          {"reason", r.reason},
                          {"count", r.count},
                          {"example", r.example}});
  }
  json variance = json::array();
  for (const auto& v : report.cost_variance) {
    variance.push_back({{"rootJobId", v.root_id},
                        {"language", v.slot.language},
                        {"boardCode", v.slot.board},
                        {"grade", v.slot.grade},
                        {"subjectCode", v.slot.subject},
                        {"estimatedCostUsd", v.estimated_usd},
                        {"actualCostUsd", v.actual_usd},
                        {"variance", v.variance}});
  }
  json locks = json::array();
  for (const auto& l : report.locks) {
    locks.push_back(
        {{"name", l.name}, {"holder", l.holder}, {"expiresAt", format_utc(l.expires_at)}});
  }
  const batch::ModeSplit& m = report.modes;
  json batch_counts = json::object();
  for (const auto& [status, count] : m.batches) batch_counts[status] = count;
  json modes = {
      {"online",
       {{"roots", m.online.roots}, {"calls", m.online.calls}, {"costUsd", m.online.cost_usd}}},
      {"batch",
       {{"roots", m.batch.roots},
        {"calls", m.batch.calls},
        {"costUsd", m.batch.cost_usd},
        {"savings", json::parse(report::savings_json(m.savings))},
        {"batches", batch_counts}}}};
  json out = {
      {"since", format_utc(report.since)},
      {"until", format_utc(report.now)},
      {"targetsMet", report.targets_met()},
      {"metrics", measures},
      {"validationFailures", rejections},
      {"costVariance", variance},
      {"roots",
       {{"succeeded", report.roots_succeeded},
        {"failed", report.roots_failed},
        {"cancelled", report.roots_cancelled}}},
      {"reconcile",
       {{"lastRunAt",
         report.last_reconcile_at > 0 ? json(format_utc(report.last_reconcile_at)) : json(nullptr)},
        {"locks", locks}}},
      {"modes", modes}};
  return out.dump();
}

}  // namespace hydrate::ops
