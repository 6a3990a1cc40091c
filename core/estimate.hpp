#pragma once
// Estimation: counts, tokens, cost and duration of a subject before anything is spent. Pure.
#include <array>
#include <string>

#include "core/catalog.hpp"
#include "core/model.hpp"
#include "core/pricing.hpp"

namespace hydrate {

// Mean tokens of one successful step of a kind.
struct StepTokens {
  double prompt = 0;
  double completion = 0;
};

// Token means per step kind (indexed by JobKind) and their basis.
struct TokenProfile {
  std::array<StepTokens, 4> by_kind{};
  std::string basis = "defaults";  // or "history"
  std::int64_t samples = 0;        // calls behind a history basis
};

// The built-in means, used until the database holds history for the model.
TokenProfile default_token_profile(const RootOptions& options);

struct EstimateInput {
  RootOptions options;  // counts resolved
  Price price;
  TokenProfile tokens;
  int concurrency = 8;
  double seconds_per_step = 8.0;  // observed latency of one call
};

struct Estimate {
  std::int64_t chapters = 0, topics = 0, notes = 0, questions = 0, steps = 0;
  double prompt_tokens = 0, completion_tokens = 0;
  double cost_usd = 0;
  std::array<double, 4> cost_by_kind{};  // the steps of each JobKind
  double worst_case_usd = 0;             // the most the tree can cost (see worst_case_cost_usd)
  double duration_mins = 0;
  std::string basis;
  std::int64_t samples = 0;
};

Estimate estimate_subject(const EstimateInput& input);

// The progress level a step kind's cost counts under: the subject step plans the chapters,
// a chapter step the topics; notes and questions are their own.
const char* cost_level(JobKind kind);

// The estimates object of the original API: totalChapters, estimatedTopics, estimatedNotes,
// estimatedQuestions, estimatedCostUsd, estimatedDurationMins, plus hydrate's own fields.
std::string estimate_json(const Estimate& estimate, const std::string& model);

}  // namespace hydrate
