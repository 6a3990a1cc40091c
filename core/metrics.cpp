#include "core/metrics.hpp"

#include <map>

#include <fmt/format.h>

namespace hydrate::metrics {
namespace {

struct Family {
  const char* type;
  const char* help;
};

// Counters without labels: exposed as 0 before their first count, so that increase() sees the
// first event (a series that appears at 1 has no earlier sample to increase from).
bool unlabelled_counter(const std::string& name) {
  return name == kJobsClaimed || name == kTransientRetries || name == kBudgetStops ||
         name == kQuotaStops || name == kReconcilerRuns;
}

const std::map<std::string, Family>& families() {
  static const std::map<std::string, Family> table = {
      {kJobsCreated, {"counter", "Jobs created, by target kind."}},
      {kJobsClaimed, {"counter", "Job claims by workers (a retry is claimed again)."}},
      {kJobsCompleted, {"counter", "Jobs that succeeded, by kind."}},
      {kJobsFailed, {"counter", "Jobs that failed for good, by kind."}},
      {kJobsRetried, {"counter", "Job attempts put back to pending for a retry, by kind."}},
      {kJobDuration, {"histogram", "Seconds from a job's first claim to its success, by kind."}},
      {kRootsFinished, {"counter", "Subject trees that finished, by status."}},
      {kLlmCalls, {"counter", "Calls to the model, by model, outcome and HTTP status."}},
      {kPromptTokens, {"counter", "Prompt tokens billed, by model."}},
      {kCompletionTokens, {"counter", "Completion tokens billed, by model."}},
      {kCachedTokens, {"counter", "Prompt tokens served from the provider's cache, by model."}},
      {kReasoningTokens,
       {"counter", "Completion tokens the model spent reasoning (billed as output), by model."}},
      {kCostUsd, {"counter", "Cost of the model calls in US dollars, by model."}},
      {kTransientRetries,
       {"counter",
        "Steps put back after a transient fault (429, 5xx, timeout, dropped "
        "connection), which spends no attempt."}},
      {kBudgetStops, {"counter", "Trees stopped because their budget could not cover a call."}},
      {kQuotaStops, {"counter", "Steps handed back because the model account was out of quota."}},
      {kReconcilerLastRun, {"gauge", "Unix time of the last reconcile run."}},
      {kReconcilerRuns, {"counter", "Reconcile runs that did the work (held the lock)."}},
      {kReconcileDuration, {"histogram", "Seconds a reconcile run took while holding the lock."}},
      {kQueueLag,
       {"gauge", "Seconds the oldest due pending step of an open tree has waited; 0 when none."}},
      {kJobs, {"gauge", "Steps by kind and status."}},
      {kRoots, {"gauge", "Subject trees by status."}},
      {kJobsInFlight, {"gauge", "Steps running under a live lease (model calls in flight)."}},
      {kStuckJobs,
       {"gauge", "Pending steps of open trees due for longer than reconcile.stuck_after."}},
      {kBatches,
       {"gauge",
        "Batch records by status: the provider's once it has one, else hydrate's record state."}},
  };
  return table;
}

const Histogram* histogram_named(const std::string& name) {
  for (const Histogram* h : histograms()) {
    if (h->name == name) return h;
  }
  return nullptr;
}

// The family a sample belongs to: a histogram's _bucket, _sum and _count rows share its name.
std::string family_of(const std::string& name) {
  for (std::string suffix : {"_bucket", "_sum", "_count"}) {
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      std::string base = name.substr(0, name.size() - suffix.size());
      if (histogram_named(base) != nullptr) return base;
    }
  }
  return name;
}

std::string with_braces(const std::string& labels) {
  return labels.empty() ? std::string() : "{" + labels + "}";
}

std::string joined(const std::string& labels, const std::string& more) {
  return labels.empty() ? more : labels + "," + more;
}

// A histogram row's label set split into its le and the rest (the series it belongs to).
std::pair<std::string, std::string> split_le(const std::string& labels) {
  std::string le, rest;
  for (const auto& [name, value] : parse_labels(labels)) {
    if (name == "le")
      le = value;
    else
      rest = joined(rest, name + "=\"" + value + "\"");
  }
  return {le, rest};
}

// A histogram's series, per label set (without le): every bucket in increasing order (0 where
// nothing was observed), then +Inf, _sum and _count, as the exposition format requires.
std::string render_histogram(const Histogram& h,
                             const std::vector<const store::MetricSample*>& rows) {
  struct Series {
    std::map<std::string, double> buckets;  // by le
    double sum = 0, count = 0;
  };
  std::map<std::string, Series> by_labels;
  for (const auto* sample : rows) {
    const auto [le, rest] = split_le(sample->labels);
    Series& series = by_labels[rest];
    if (sample->name == h.name + "_bucket")
      series.buckets[le] = sample->value;
    else if (sample->name == h.name + "_sum")
      series.sum = sample->value;
    else if (sample->name == h.name + "_count")
      series.count = sample->value;
  }
  std::string out;
  for (const auto& [labels, series] : by_labels) {
    for (double bound : h.bounds) {
      auto it = series.buckets.find(fmt::format("{}", bound));
      out += fmt::format("{}_bucket{{{}}} {}\n", h.name,
                         joined(labels, fmt::format("le=\"{}\"", bound)),
                         it == series.buckets.end() ? 0.0 : it->second);
    }
    out += fmt::format("{}_bucket{{{}}} {}\n", h.name, joined(labels, "le=\"+Inf\""), series.count);
    out += fmt::format("{}_sum{} {}\n", h.name, with_braces(labels), series.sum);
    out += fmt::format("{}_count{} {}\n", h.name, with_braces(labels), series.count);
  }
  return out;
}

}  // namespace

const Histogram& job_duration() {
  static const Histogram h{kJobDuration, {0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800}};
  return h;
}

const Histogram& reconcile_duration() {
  static const Histogram h{kReconcileDuration, {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}};
  return h;
}

const std::vector<const Histogram*>& histograms() {
  static const std::vector<const Histogram*> all = {&job_duration(), &reconcile_duration()};
  return all;
}

std::vector<store::MetricSample> observe(const Histogram& histogram, const std::string& labels,
                                         double value) {
  std::string le = "+Inf";
  for (double bound : histogram.bounds) {
    if (value <= bound) {
      le = fmt::format("{}", bound);
      break;
    }
  }
  return {{histogram.name + "_in_bucket", joined(labels, fmt::format("le=\"{}\"", le)), 1},
          {histogram.name + "_sum", labels, value},
          {histogram.name + "_count", labels, 1}};
}

std::vector<store::MetricSample> cumulate_histograms(std::vector<store::MetricSample> rows) {
  const std::string suffix = "_in_bucket";
  // By histogram and label set (without le): the observations in each bucket, by le.
  std::map<std::pair<const Histogram*, std::string>, std::map<std::string, double>> in_buckets;
  std::vector<store::MetricSample> out;
  for (auto& row : rows) {
    const Histogram* h = nullptr;
    if (row.name.size() > suffix.size() &&
        row.name.compare(row.name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      h = histogram_named(row.name.substr(0, row.name.size() - suffix.size()));
    }
    if (h == nullptr) {
      out.push_back(std::move(row));
      continue;
    }
    const auto [le, rest] = split_le(row.labels);
    in_buckets[{h, rest}][le] += row.value;
  }
  std::map<std::pair<std::string, std::string>, std::size_t> at;  // out's index by name, labels
  for (std::size_t i = 0; i < out.size(); ++i) at[{out[i].name, out[i].labels}] = i;
  for (const auto& [series, counts] : in_buckets) {
    const auto& [h, rest] = series;
    double below = 0;  // the observations at or below this bound
    auto cumulate = [&, h = h, &rest = rest](const std::string& le) {
      if (auto it = counts.find(le); it != counts.end()) below += it->second;
      std::string labels = joined(rest, fmt::format("le=\"{}\"", le));
      auto [slot, added] = at.try_emplace({h->name + "_bucket", labels}, out.size());
      if (added)
        out.push_back({h->name + "_bucket", labels, below});
      else
        out[slot->second].value += below;
    };
    for (double bound : h->bounds) cumulate(fmt::format("{}", bound));
    cumulate("+Inf");
  }
  return out;
}

const std::vector<double>& duration_buckets() {
  return job_duration().bounds;
}

std::vector<store::MetricSample> duration_observation(const std::string& kind, double seconds) {
  return observe(job_duration(), label_set({{"kind", kind}}), seconds);
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string label_set(std::initializer_list<std::pair<std::string_view, std::string_view>> labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    out = joined(out, fmt::format("{}=\"{}\"", name, escape_label_value(value)));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_labels(std::string_view labels) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 0;
  while (i < labels.size()) {
    auto eq = labels.find("=\"", i);
    if (eq == std::string_view::npos) break;
    std::string name(labels.substr(i, eq - i));
    std::size_t j = eq + 2;
    std::string value;
    while (j < labels.size() && labels[j] != '"') {
      if (labels[j] == '\\' && j + 1 < labels.size()) value += labels[j++];
      value += labels[j++];
    }
    out.emplace_back(std::move(name), std::move(value));
    i = j + 1;  // past the closing quote
    if (i < labels.size() && labels[i] == ',') ++i;
  }
  return out;
}

std::string render_prometheus(const std::vector<store::MetricSample>& samples) {
  // Every known family is announced, so a fresh database still exposes the full set.
  std::map<std::string, std::vector<const store::MetricSample*>> by_family;
  for (const auto& [name, family] : families()) by_family[name];
  for (const auto& sample : samples) by_family[family_of(sample.name)].push_back(&sample);
  std::string out;
  for (const auto& [name, rows] : by_family) {
    auto known = families().find(name);
    if (known != families().end()) {
      out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, known->second.help, name,
                         known->second.type);
    }
    if (const Histogram* h = histogram_named(name)) {
      out += render_histogram(*h, rows);
      continue;
    }
    if (rows.empty() && unlabelled_counter(name)) out += name + " 0\n";
    for (const auto* sample : rows) {
      out += fmt::format("{}{} {}\n", sample->name, with_braces(sample->labels), sample->value);
    }
  }
  return out;
}

}  // namespace hydrate::metrics
