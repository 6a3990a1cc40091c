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

// One step kind's finished history: its succeeded steps, the items they wrote (chapters of
// subject steps, topics of chapter steps, questions of questions steps, one per note), and the
// tokens of every call made for them, failed attempts included.
struct KindHistory {
  std::int64_t steps = 0, items = 0, calls = 0;
  double prompt_tokens = 0, completion_tokens = 0;
};

// What finished trees of one model say (read by store::Store::history).
struct History {
  std::int64_t roots = 0;                // succeeded trees whose options name the model
  std::array<KindHistory, 4> by_kind{};  // indexed by JobKind
  double used_latency_ms = 0;            // summed over the calls whose answers were used
  std::int64_t used_calls = 0;
  // Of those trees, the ones of the estimated slot's board and grade: the counts they asked
  // for and the counts the model wrote (topics asked = chapters written x topics per chapter).
  std::int64_t slot_roots = 0;
  double chapters_asked = 0, chapters_written = 0;
  double topics_asked = 0, topics_written = 0;
};

// Calibrates on history: per step kind, the mean prompt tokens of a step and the mean completion
// tokens of a step (notes) or of an item, times the items options asks for (listing steps); both
// include the step's failed attempts. A kind without history keeps its default. basis "history"
// and samples (the calls behind it) when any kind had history.
TokenProfile calibrated_token_profile(const History& history, const RootOptions& options);

// The counts a tree will have: options' counts scaled by what the model wrote for the board and
// grade against what it was asked (unchanged without such history).
RootOptions calibrated_counts(const History& history, RootOptions options);

struct EstimateInput {
  RootOptions options;  // counts resolved
  Price price;
  TokenProfile tokens;
  int concurrency = 8;
  double seconds_per_step = 8.0;   // latency of one call: observed, or a guess without history
  std::int64_t history_roots = 0;  // finished trees the calibration used
  // batch: price is the batch price, and the duration is a bound, one completion window per
  // level of the tree (a level's batch must finish before its children exist).
  CallMode mode = CallMode::online;
};

struct Estimate {
  std::int64_t chapters = 0, topics = 0, notes = 0, questions = 0, steps = 0;
  double prompt_tokens = 0, completion_tokens = 0;
  double cost_usd = 0;
  std::array<double, 4> cost_by_kind{};  // the steps of each JobKind
  double worst_case_usd = 0;             // the most the tree can cost (see worst_case_cost_usd)
  double duration_mins = 0;              // batch mode: the bound (levels x the 24-hour window)
  CallMode mode = CallMode::online;
  double online_cost_usd = 0;  // the same tokens at the online price (batch mode: the saving)
  std::string basis;
  std::int64_t samples = 0;        // calls behind a history basis
  std::int64_t history_roots = 0;  // finished trees behind it
};

Estimate estimate_subject(const EstimateInput& input);

// The progress level a step kind's cost counts under: the subject step plans the chapters,
// a chapter step the topics; notes and questions are their own.
const char* cost_level(JobKind kind);

// The estimates object of the original API: totalChapters, estimatedTopics, estimatedNotes,
// estimatedQuestions, estimatedCostUsd, estimatedDurationMins, plus hydrate's own fields.
std::string estimate_json(const Estimate& estimate, const std::string& model);

}  // namespace hydrate
