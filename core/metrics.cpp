#include "core/metrics.hpp"

#include <map>

#include <fmt/format.h>

namespace hydrate::metrics {
namespace {

struct Family {
  const char* type;
  const char* help;
};

const std::map<std::string, Family>& families() {
  static const std::map<std::string, Family> table = {
      {kJobsCreated, {"counter", "Jobs created, by target kind."}},
      {kJobsClaimed, {"counter", "Job claims by workers (a retry is claimed again)."}},
      {kJobsCompleted, {"counter", "Jobs that succeeded, by kind."}},
      {kJobsFailed, {"counter", "Jobs that failed for good, by kind."}},
      {kJobsRetried, {"counter", "Job attempts put back to pending for a retry, by kind."}},
      {kJobDuration, {"histogram", "Seconds from a job's first claim to its success, by kind."}},
      {kRootsFinished, {"counter", "Subject trees that finished, by status."}},
      {kLlmCalls, {"counter", "Calls to the model, by outcome."}},
      {kPromptTokens, {"counter", "Prompt tokens billed by the model."}},
      {kCompletionTokens, {"counter", "Completion tokens billed by the model."}},
      {kCachedTokens, {"counter", "Prompt tokens served from the provider's cache."}},
      {kCostUsd, {"counter", "Cost of every model call in US dollars."}},
      {kTransientRetries,
       {"counter",
        "Steps put back after a transient fault (429, 5xx, timeout, dropped "
        "connection), which spends no attempt."}},
      {kBudgetStops, {"counter", "Trees stopped because their budget could not cover a call."}},
      {kReconcilerLastRun, {"gauge", "Unix time of the last reconcile run."}},
      {kReconcilerRuns, {"counter", "Reconcile runs that did the work (held the lock)."}},
  };
  return table;
}

std::string family_of(const std::string& name) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      std::string base = name.substr(0, name.size() - s.size());
      if (base == kJobDuration) return base;
    }
  }
  return name;
}

}  // namespace

const std::vector<double>& duration_buckets() {
  static const std::vector<double> bounds = {0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800};
  return bounds;
}

std::vector<store::MetricSample> duration_observation(const std::string& kind, double seconds) {
  std::vector<store::MetricSample> out;
  std::string base = std::string(kJobDuration);
  for (double bound : duration_buckets()) {
    if (seconds <= bound) {
      out.push_back({base + "_bucket", fmt::format("kind=\"{}\",le=\"{}\"", kind, bound), 1});
    }
  }
  out.push_back({base + "_bucket", fmt::format("kind=\"{}\",le=\"+Inf\"", kind), 1});
  out.push_back({base + "_sum", fmt::format("kind=\"{}\"", kind), seconds});
  out.push_back({base + "_count", fmt::format("kind=\"{}\"", kind), 1});
  return out;
}

namespace {

// The value of label `name` in a label set such as kind="note",le="2.5"; empty when absent.
std::string label_value(const std::string& labels, const std::string& name) {
  std::string key = name + "=\"";
  auto start = labels.find(key);
  if (start == std::string::npos) return {};
  start += key.size();
  return labels.substr(start, labels.find('"', start) - start);
}

// A histogram's series, per kind: every bucket in increasing order (0 where nothing was
// observed), then +Inf, _sum and _count, as the exposition format requires.
std::string render_histogram(const std::string& name,
                             const std::vector<const store::MetricSample*>& rows) {
  struct Series {
    std::map<std::string, double> buckets;
    double sum = 0, count = 0;
  };
  std::map<std::string, Series> by_kind;
  for (const auto* sample : rows) {
    Series& series = by_kind[label_value(sample->labels, "kind")];
    if (sample->name == name + "_bucket")
      series.buckets[label_value(sample->labels, "le")] = sample->value;
    else if (sample->name == name + "_sum")
      series.sum = sample->value;
    else if (sample->name == name + "_count")
      series.count = sample->value;
  }
  std::string out;
  for (const auto& [kind, series] : by_kind) {
    for (double bound : duration_buckets()) {
      auto it = series.buckets.find(fmt::format("{}", bound));
      out += fmt::format("{}_bucket{{kind=\"{}\",le=\"{}\"}} {}\n", name, kind, bound,
                         it == series.buckets.end() ? 0.0 : it->second);
    }
    out += fmt::format("{}_bucket{{kind=\"{}\",le=\"+Inf\"}} {}\n", name, kind, series.count);
    out += fmt::format("{}_sum{{kind=\"{}\"}} {}\n", name, kind, series.sum);
    out += fmt::format("{}_count{{kind=\"{}\"}} {}\n", name, kind, series.count);
  }
  return out;
}

}  // namespace

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
    if (name == kJobDuration) {
      out += render_histogram(name, rows);
      continue;
    }
    for (const auto* sample : rows) {
      out += sample->labels.empty() ? sample->name : sample->name + "{" + sample->labels + "}";
      out += fmt::format(" {}\n", sample->value);
    }
  }
  return out;
}

}  // namespace hydrate::metrics
