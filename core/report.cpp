#include "core/report.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/progress.hpp"

namespace hydrate::report {

using nlohmann::json;

namespace {

json level(const LevelCount& count) {
  return {{"completed", count.completed}, {"expected", count.expected}};
}

json nullable_time(Millis when) {
  return when > 0 ? json(format_utc(when)) : json(nullptr);
}

double usd(double value) {
  return std::round(value * 1e6) / 1e6;
}

json slot_json(const Slot& slot) {
  return {{"language", slot.language},
          {"board", slot.board},
          {"grade", slot.grade},
          {"subject", slot.subject}};
}

// The markdown with every ATX heading pushed `levels` deeper (at most ######), so a note's own
// headings sit under its topic's heading in the export.
std::string nest_headings(const std::string& markdown, int levels) {
  std::string out;
  std::size_t start = 0;
  while (start <= markdown.size()) {
    std::size_t end = markdown.find('\n', start);
    if (end == std::string::npos) end = markdown.size();
    std::string line = markdown.substr(start, end - start);
    if (!line.empty() && line[0] == '#') {
      std::size_t depth = line.find_first_not_of('#');
      if (depth != std::string::npos && line[depth] == ' ') {
        line = std::string(std::min<std::size_t>(6, depth + levels), '#') + line.substr(depth);
      }
    }
    out += line;
    if (end < markdown.size()) out += '\n';
    start = end + 1;
  }
  return out;
}

}  // namespace

std::string savings_json(const batch::Savings& savings) {
  return json{{"calls", savings.calls},
              {"batchCostUsd", usd(savings.batch_cost_usd)},
              {"onlineCostUsd", usd(savings.online_cost_usd)},
              {"savingUsd", usd(savings.saving_usd)},
              {"unpricedModels", savings.unpriced}}
      .dump();
}

std::string root_status_json(const store::RootRecord& root, const store::TreeCounts& counts,
                             const std::vector<Job>& errors,
                             const std::vector<store::BatchRecord>& batches,
                             const batch::Savings* savings) {
  Progress p = derive_progress(counts, root.options);
  json error_list = json::array();
  for (const auto& job : errors) {
    error_list.push_back({{"jobId", job.id},
                          {"kind", to_string(job.kind)},
                          {"status", to_string(job.status)},
                          {"attempts", job.attempts},
                          {"transientRetries", job.transient_retries},
                          {"error", job.last_error},
                          {"lastTransientError", job.last_transient_error}});
  }
  json j = {
      {"jobId", root.job.id},
      {"kind", "subject"},
      {"status", to_string(root.status)},
      {"slot", slot_json(root.slot)},
      {"progress",
       {{"overall", overall_percent(p)},
        {"levels",
         {{"chapters", level(p.chapters)},
          {"topics", level(p.topics)},
          {"notes", level(p.notes)},
          {"questions", level(p.questions)}}},
        {"steps",
         {{"expected", p.steps.expected},
          {"succeeded", counts.jobs_succeeded},
          {"pending", counts.jobs_pending},
          {"running", counts.jobs_running},
          {"failed", counts.jobs_failed},
          {"cancelled", counts.jobs_cancelled}}}}},
      {"costs",
       {{"estimatedUsd", usd(root.estimated_cost_usd)},
        {"actualUsd", usd(counts.actual_cost_usd)},
        {"budgetUsd", root.budget_usd > 0 ? json(usd(root.budget_usd)) : json(nullptr)},
        {"budgetRemainingUsd", root.budget_usd > 0
                                   ? json(usd(std::max(0.0, root.budget_usd - root.spent_usd)))
                                   : json(nullptr)}}},
      {"tokens",
       {{"prompt", counts.tokens.prompt},
        {"completion", counts.tokens.completion},
        {"cached", counts.tokens.cached}}},
      {"calls", counts.calls},
      {"model", root.options.model},
      {"traceId", root.trace_id},
      {"createdAt", nullable_time(root.created_at)},
      {"startedAt", nullable_time(root.started_at)},
      {"finishedAt", nullable_time(root.finished_at)},
      {"errors", error_list},
  };
  if (!root.reason.empty()) j["reason"] = root.reason;
  j["mode"] = to_string(root.options.mode);
  if (root.options.mode == CallMode::batch) {
    json open = json::array();
    for (const auto& b : batches) {
      open.push_back({{"id", b.id},
                      {"providerBatchId", b.provider_batch_id},
                      {"state", store::to_string(b.state)},
                      {"providerStatus", b.provider_status},
                      {"lines", b.lines},
                      {"completed", b.completed},
                      {"failed", b.failed},
                      {"createdAt", nullable_time(b.created_at)},
                      {"error", b.error}});
    }
    j["batches"] = open;
    if (savings) j["savings"] = json::parse(savings_json(*savings));
  }
  json estimates = json::parse(root.estimates_json, nullptr, false);
  if (estimates.is_object()) j["estimates"] = estimates;
  // Estimated (at submit) and actual cost per level.
  json levels = json::object();
  for (auto kind : {JobKind::subject, JobKind::chapter, JobKind::note, JobKind::questions}) {
    const char* name = cost_level(kind);
    double estimated = 0;
    if (estimates.is_object() && estimates.contains("estimatedCostByLevelUsd")) {
      estimated = estimates["estimatedCostByLevelUsd"].value(name, 0.0);
    }
    levels[name] = {{"estimatedUsd", usd(estimated)},
                    {"actualUsd", usd(counts.cost_by_kind[static_cast<int>(kind)])}};
  }
  j["costs"]["levels"] = levels;
  // The original HydrationJob table's columns, flat, for the consumers of its shape.
  j["hierarchyLevel"] = "subject";
  const std::pair<const char*, const LevelCount*> flat[] = {{"chapters", &p.chapters},
                                                            {"topics", &p.topics},
                                                            {"notes", &p.notes},
                                                            {"questions", &p.questions}};
  for (const auto& [name, count] : flat) {
    j[std::string(name) + "Expected"] = count->expected;
    j[std::string(name) + "Completed"] = count->completed;
  }
  j["estimatedCostUsd"] = usd(root.estimated_cost_usd);
  j["actualCostUsd"] = usd(counts.actual_cost_usd);
  j["estimatedDurationMins"] = estimates.is_object() && estimates.contains("estimatedDurationMins")
                                   ? estimates["estimatedDurationMins"]
                                   : json(nullptr);
  j["actualDurationMins"] =
      root.finished_at > 0
          ? json(std::round(static_cast<double>(root.finished_at - root.created_at) / 6000.0) /
                 10.0)
          : json(nullptr);
  return j.dump();
}

std::string job_status_json(const Job& job) {
  json j = {{"jobId", job.id},
            {"kind", to_string(job.kind)},
            {"status", to_string(job.status)},
            {"rootJobId", job.root_id},
            {"parentJobId", job.parent_id},
            {"position", job.position},
            {"attempts", job.attempts},
            {"maxAttempts", job.max_attempts},
            {"transientRetries", job.transient_retries},
            {"costs", {{"actualUsd", usd(job.actual_cost_usd)}}},
            {"createdAt", nullable_time(job.created_at)},
            {"startedAt", nullable_time(job.started_at)},
            {"finishedAt", nullable_time(job.finished_at)}};
  if (!job.last_error.empty()) j["lastError"] = job.last_error;
  if (!job.last_transient_error.empty()) j["lastTransientError"] = job.last_transient_error;
  return j.dump();
}

std::string submit_json(const store::SubmitOutcome* outcome, const Estimate& estimate,
                        const std::string& model) {
  json estimates = json::parse(estimate_json(estimate, model));
  if (!outcome) {
    return json{{"rootJobId", "dry-run"}, {"status", "dry-run"}, {"estimates", estimates}}.dump();
  }
  return json{{"rootJobId", outcome->root.job.id},
              {"status", to_string(outcome->root.status)},
              {"estimates", estimates},
              {"traceId", outcome->root.trace_id},
              {"createdAt", format_utc(outcome->root.created_at)},
              {"deduplicated", outcome->deduplicated}}
      .dump();
}

std::string export_json(const store::RootRecord& root,
                        const std::vector<store::ChapterContent>& chapters) {
  json chapter_list = json::array();
  for (const auto& chapter : chapters) {
    json topics = json::array();
    for (const auto& topic : chapter.topics) {
      json t = {{"position", topic.position},
                {"title", topic.plan.title},
                {"objectives", topic.plan.objectives}};
      t["note"] = topic.note ? json{{"markdown", topic.note->markdown},
                                    {"keyPoints", topic.note->key_points}}
                             : json(nullptr);
      json questions = json::array();
      for (const auto& q : topic.questions) {
        questions.push_back({{"type", q.type},
                             {"prompt", q.prompt},
                             {"options", q.options},
                             {"answer", q.answer},
                             {"explanation", q.explanation},
                             {"difficulty", q.difficulty}});
      }
      t["questions"] = questions;
      topics.push_back(std::move(t));
    }
    chapter_list.push_back({{"position", chapter.position},
                            {"title", chapter.plan.title},
                            {"summary", chapter.plan.summary},
                            {"topics", topics}});
  }
  return json{{"jobId", root.job.id},
              {"status", to_string(root.status)},
              {"slot", slot_json(root.slot)},
              {"chapters", chapter_list}}
      .dump(2, ' ', false, json::error_handler_t::replace);
}

std::string export_markdown(const store::RootRecord& root,
                            const std::vector<store::ChapterContent>& chapters) {
  std::string out = fmt::format("# {} — {} grade {} ({})\n\n", root.slot.subject, root.slot.board,
                                root.slot.grade, root.slot.language);
  for (const auto& chapter : chapters) {
    out += fmt::format("## {}. {}\n\n{}\n\n", chapter.position, chapter.plan.title,
                       chapter.plan.summary);
    for (const auto& topic : chapter.topics) {
      out += fmt::format("### {}.{} {}\n\n", chapter.position, topic.position, topic.plan.title);
      for (const auto& objective : topic.plan.objectives) out += "- " + objective + "\n";
      out += "\n";
      if (topic.note) {
        out += nest_headings(topic.note->markdown, 3) + "\n\n**Key points**\n\n";
        for (const auto& point : topic.note->key_points) out += "- " + point + "\n";
        out += "\n";
      }
      if (!topic.questions.empty()) out += "**Practice questions**\n\n";
      int number = 0;
      for (const auto& q : topic.questions) {
        out += fmt::format("{}. ({}, {}) {}\n", ++number, q.type, q.difficulty, q.prompt);
        for (const auto& option : q.options) out += "   - " + option + "\n";
        out += fmt::format("   *Answer:* {} — {}\n", q.answer, q.explanation);
      }
      if (!topic.questions.empty()) out += "\n";
    }
  }
  return out;
}

}  // namespace hydrate::report
