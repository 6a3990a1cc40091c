#include "core/estimate.hpp"

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
  double critical = in.seconds_per_step * (e.chapters > 0 ? (e.topics > 0 ? 3 : 2) : 1);
  double bulk = static_cast<double>(std::max<std::int64_t>(0, e.steps - 3)) * in.seconds_per_step /
                std::max(1, in.concurrency);
  e.duration_mins = std::ceil((critical + bulk) / 60.0 * 10) / 10;
  e.basis = in.tokens.basis;
  e.samples = in.tokens.samples;
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
  };
  return j.dump();
}

}  // namespace hydrate
