#pragma once
// Per-level progress of a tree, derived from its raw counts: expected counts are estimates from
// the root's options until the step that decides them succeeds, then exact. Pure.
#include "core/model.hpp"
#include "core/store/store.hpp"

namespace hydrate {

// options must have its counts resolved (see resolve_counts).
Progress derive_progress(const store::TreeCounts& counts, const RootOptions& options);

// Overall percentage 0..100 of the tree's steps that succeeded, by expected step count.
int overall_percent(const Progress& progress);

}  // namespace hydrate
