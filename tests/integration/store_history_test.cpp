// Store contract, part 5: the finished history estimates calibrate on.
#include "tests/integration/store_contract.hpp"

using namespace hydrate;
using namespace hydrate::testing;

namespace {

// Submits a small tree of slot with model, runs it to the end and bills one call of its subject
// step: 1000 prompt and 300 completion tokens, used, 2 s.
std::string finished_tree(store::Store& store, const Slot& slot, const std::string& model,
                          Millis now) {
  RootOptions options = small_options();
  options.model = model;
  std::string root = submit(store, new_root(slot, options, now)).root.job.id;
  CHECK(run_to_end(store, now) == 1 + 2 + 4 + 4);
  CallRecord call = call_for(find(store, root), 1000, 300, 0, 0.001, true);
  call.model = model;
  call.latency_ms = 2000;
  REQUIRE_OK(store.log_call(call));
  return root;
}

}  // namespace

STORE_CONTRACT("history reads the finished trees of the model, and counts for the slot") {
  Slot slot = test_slot("MATH");
  finished_tree(*fx, slot, "gpt-4o-mini", kT0);
  finished_tree(*fx, Slot{"en", "ICSE", "1", "MATH"}, "gpt-4o-mini", kT0 + 1);
  finished_tree(*fx, slot, "gpt-4o", kT0 + 2);  // another model: not in its history
  submit_small(*fx, "SCIENCE", kT0 + 3);        // not finished: not history yet

  auto history = fx->history("gpt-4o-mini", test_slot("ENGLISH"), 20);
  REQUIRE_OK(history);
  const History& h = *history;
  CHECK(h.roots == 2);
  const KindHistory& subject = h.by_kind[static_cast<int>(JobKind::subject)];
  CHECK(subject.steps == 2);
  CHECK(subject.items == 4);  // chapters written
  CHECK(subject.calls == 2);
  CHECK(subject.prompt_tokens == 2000);
  CHECK(subject.completion_tokens == 600);
  CHECK(h.by_kind[static_cast<int>(JobKind::chapter)].items == 8);  // topics
  CHECK(h.by_kind[static_cast<int>(JobKind::note)].items == 8);     // one per note step
  CHECK(h.by_kind[static_cast<int>(JobKind::questions)].items == 16);
  CHECK(h.used_calls == 2);
  CHECK(h.used_latency_ms == 4000);
  // Only the CBSE grade 1 tree speaks for the slot's counts.
  CHECK(h.slot_roots == 1);
  CHECK(h.chapters_asked == 2);
  CHECK(h.chapters_written == 2);
  CHECK(h.topics_asked == 4);
  CHECK(h.topics_written == 4);

  auto newest = fx->history("gpt-4o-mini", slot, 1);
  REQUIRE_OK(newest);
  CHECK(newest->roots == 1);
  CHECK(newest->slot_roots == 0);  // the newest finished tree is the ICSE one
  auto none = fx->history("o3", slot, 20);
  REQUIRE_OK(none);
  CHECK(none->roots == 0);
}
