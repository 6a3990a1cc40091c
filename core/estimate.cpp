#include "core/estimate.hpp"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

namespace hydrate {

TokenProfile default_token_profile(const RootOptions& options) {
  TokenProfile profile;
  auto& by = profile.by_kind;
  by[static_cast<int>(JobKind::subject)] = {420, 45.0 * options.chapters + 20};
  by[static_cast<int>(JobKind::chapter)] = {470, 60.0 * options.topics_per_chapter + 20};
  by[static_cast<int>(JobKind::note)] = {520, 700};
  by[static_cast<int>(JobKind::questions)] = {600, 110.0 * options.questions_per_topic + 20};
  return profile;
}

TokenProfile calibrated_token_profile(const History& history, const RootOptions& options) {
  TokenProfile profile = default_token_profile(options);
  // Items each step of a kind asks for; notes are one item.
  const std::array<double, 4> items_asked = {static_cast<double>(options.chapters),
                                             static_cast<double>(options.topics_per_chapter), 1.0,
                                             static_cast<double>(options.questions_per_topic)};
  for (std::size_t kind = 0; kind < profile.by_kind.size(); ++kind) {
    const KindHistory& h = history.by_kind[kind];
    if (h.steps <= 0 || h.items <= 0) continue;
    double per_item = h.completion_tokens / static_cast<double>(h.items);
    double items_per_step = kind == static_cast<std::size_t>(JobKind::note)
                                ? static_cast<double>(h.items) / static_cast<double>(h.steps)
                                : items_asked[kind];
    profile.by_kind[kind] = {h.prompt_tokens / static_cast<double>(h.steps),
                             per_item * items_per_step};
    profile.basis = "history";
    profile.samples += h.calls;
  }
  return profile;
}

RootOptions calibrated_counts(const History& history, RootOptions options) {
  if (history.slot_roots <= 0) return options;
  auto scaled = [](int asked, double ratio_asked, double ratio_written) {
    if (ratio_asked <= 0 || ratio_written <= 0) return asked;
    return std::max(1, static_cast<int>(std::lround(asked * ratio_written / ratio_asked)));
  };
  options.chapters = scaled(options.chapters, history.chapters_asked, history.chapters_written);
  options.topics_per_chapter =
      scaled(options.topics_per_chapter, history.topics_asked, history.topics_written);
  return options;
}

Estimate estimate_subject(const EstimateInput& in) {
  Estimate e;
  const RootOptions& o = in.options;
  e.chapters = o.chapters;
  e.topics = static_cast<std::int64_t>(o.chapters) * o.topics_per_chapter;
  e.notes = o.notes ? e.topics : 0;
  std::int64_t question_steps = o.questions ? e.topics : 0;
  e.questions = question_steps * o.questions_per_topic;
  e.steps = 1 + e.chapters + e.notes + question_steps;

  const std::array<std::int64_t, 4> steps_by_kind = {1, e.chapters, e.notes, question_steps};
  for (std::size_t kind = 0; kind < steps_by_kind.size(); ++kind) {
    auto count = static_cast<double>(steps_by_kind[kind]);
    double prompt = count * in.tokens.by_kind[kind].prompt;
    double completion = count * in.tokens.by_kind[kind].completion;
    e.prompt_tokens += prompt;
    e.completion_tokens += completion;
    e.cost_by_kind[kind] =
        (prompt * in.price.input_per_million + completion * in.price.output_per_million) / 1e6;
    e.cost_usd += e.cost_by_kind[kind];
  }

  // Critical path: subject, then a chapter, then a leaf; the rest spread over the concurrency.
  const double levels = e.chapters > 0 ? (e.topics > 0 ? 3 : 2) : 1;
  double critical = in.seconds_per_step * levels;
  double bulk = static_cast<double>(std::max<std::int64_t>(0, e.steps - 3)) * in.seconds_per_step /
                std::max(1, in.concurrency);
  e.duration_mins = std::ceil((critical + bulk) / 60.0 * 10) / 10;
  e.mode = in.mode;
  e.online_cost_usd = e.cost_usd;
  if (in.mode == CallMode::batch) e.duration_mins = levels * kBatchWindowMins;
  e.basis = in.tokens.basis;
  e.samples = in.tokens.samples;
  e.history_roots = in.history_roots;
  return e;
}

const char* cost_level(JobKind kind) {
  switch (kind) {
    case JobKind::subject:
      return "chapters";
    case JobKind::chapter:
      return "topics";
    case JobKind::note:
      return "notes";
    case JobKind::questions:
      return "questions";
  }
  return "";
}

std::string estimate_json(const Estimate& e, const std::string& model) {
  nlohmann::json by_level = nlohmann::json::object();
  for (auto kind : {JobKind::subject, JobKind::chapter, JobKind::note, JobKind::questions}) {
    by_level[cost_level(kind)] = std::round(e.cost_by_kind[static_cast<int>(kind)] * 1e6) / 1e6;
  }
  nlohmann::json j = {
      {"totalChapters", e.chapters},
      {"estimatedTopics", e.topics},
      {"estimatedNotes", e.notes},
      {"estimatedQuestions", e.questions},
      {"estimatedSteps", e.steps},
      {"estimatedPromptTokens", std::llround(e.prompt_tokens)},
      {"estimatedCompletionTokens", std::llround(e.completion_tokens)},
      {"estimatedCostUsd", std::round(e.cost_usd * 1e6) / 1e6},
      {"estimatedCostByLevelUsd", by_level},
      {"worstCaseCostUsd", std::ceil(e.worst_case_usd * 1e6) / 1e6},
      {"estimatedDurationMins", e.duration_mins},
      {"model", model},
      {"basis", e.basis},
      {"samples", e.samples},
      {"historyRoots", e.history_roots},
      {"mode", to_string(e.mode)},
  };
  if (e.mode == CallMode::batch) {
    j["onlineCostUsd"] = std::round(e.online_cost_usd * 1e6) / 1e6;
    j["savingsUsd"] = std::round((e.online_cost_usd - e.cost_usd) * 1e6) / 1e6;
  }
  return j.dump();
}

}  // namespace hydrate
