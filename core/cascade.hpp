#pragma once
// The generation tree's fan-out: what each step is given (its input, stored on the job as JSON)
// and which children its validated output creates. Pure.
#include <string>
#include <string_view>
#include <vector>

#include "core/catalog.hpp"
#include "core/model.hpp"
#include "core/result.hpp"
#include "core/store/store.hpp"

namespace hydrate {

// Everything a step needs to render its prompt, so a step never reads its ancestors.
struct StepInput {
  Slot slot;
  RootOptions options;       // counts resolved: chapters and topics_per_chapter are > 0
  int chapter_position = 0;  // chapter, note and questions steps
  ChapterPlan chapter;
  int topic_position = 0;  // note and questions steps
  TopicPlan topic;
};

std::string encode_step_input(const StepInput& input);
// invalid_input when the text is not a step input this version wrote.
Result<StepInput> decode_step_input(std::string_view json);

// Root options as stored on the root row (JSON text), and back; decode gives defaults for
// fields the text lacks.
std::string encode_root_options(const RootOptions& options);
RootOptions decode_root_options(std::string_view json);

// The root's options with the catalog's counts filled in where the caller left 0.
RootOptions resolve_counts(RootOptions options, const CatalogEntry& entry);

// The subject job of a new root.
NewJob make_root_job(const StepInput& input, int priority, int max_attempts, Millis now);

// Children a parent's output creates: a chapter job per chapter of a subject step; a note job
// and/or a questions job per topic of a chapter step (as the root's options ask); none for leaves.
// Positions are 1-based and follow the output's order.
std::vector<NewJob> children_for(const Job& parent, const StepInput& parent_input,
                                 const store::StepOutput& output, Millis now);

// Children for content whose child job went missing (cascade repair), as children_for would
// have created them.
std::vector<NewJob> children_for_orphan(const store::OrphanedContent& orphan, Millis now);

}  // namespace hydrate
