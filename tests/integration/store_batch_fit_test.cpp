// Fitting a batch before its file is uploaded, on both backends (sql/sqlite/010_batch_fit.sql):
// a batch keeps the longest run of its lines that the root's budget covers at their worst case
// and the model's batch queue has room for, holds their worst case against the budget while it
// is open, and gives every other step back; a record that keeps nothing is removed, and a budget
// that cannot cover one line with nothing in flight stops the tree.
#include <doctest/doctest.h>

#include "tests/integration/store_contract.hpp"

using namespace hydrate;
using namespace hydrate::testing;

namespace {

constexpr const char* kModel = "gpt-4o-mini";

// One line per held step, each with the same worst case and prompt tokens.
std::vector<store::BatchLinePlan> lines_of(const std::vector<Job>& jobs, double worst,
                                           std::int64_t tokens) {
  std::vector<store::BatchLinePlan> lines;
  for (const auto& job : jobs) lines.push_back({job.id, worst, tokens});
  return lines;
}

store::BatchFit fit(store::Store& s, store::BatchRecord& batch,
                    std::vector<store::BatchLinePlan> lines, std::int64_t queue_limit, Millis now) {
  auto fitted =
      s.fit_batch(batch, {"worker-a", kModel, std::move(lines), queue_limit, now, now + 500});
  REQUIRE_OK(fitted);
  return *fitted;
}

// Answers every step the batch holds and closes it applied.
void answer_all(store::Store& s, const store::BatchRecord& batch, Millis now) {
  auto held = s.batch_steps(batch);
  REQUIRE_OK(held);
  for (const auto& job : *held) complete(s, job, now);
  store::BatchRecord done = batch;
  done.state = store::BatchState::applied;
  REQUIRE_OK(s.close_batch(done, "worker-a", now + 1));
}

bool listed(store::Store& s, const std::string& root, const std::string& batch_id) {
  auto batches = s.root_batches(root, 100);
  REQUIRE_OK(batches);
  for (const auto& b : *batches)
    if (b.id == batch_id) return true;
  return false;
}

// Runs the root's subject and chapter steps through batches of their own, unfitted.
void through_chapters(store::Store& s, Millis now) {
  for (int level = 0; level < 2; ++level) {
    auto claim = claim_batch_of(s, now + level * 10);
    answer_all(s, claim.batch, now + level * 10 + 5);
  }
}

}  // namespace

STORE_CONTRACT("a batch keeps the lines its budget covers and holds their worst case") {
  const std::string root = submit_batch_root(*fx, "FIT", kT0, 1.0);
  through_chapters(*fx, kT0);
  const double spent = root_of(*fx, root).spent_usd;
  REQUIRE(spent < 0.05);

  auto leaves = claim_batch_of(*fx, kT0 + 100);
  REQUIRE(leaves.jobs.size() == 8);
  auto lines = lines_of(leaves.jobs, 0.3, 100);
  lines.insert(lines.begin() + 2, {"no-such-step", 0.3, 100});  // not held: ignored
  store::BatchRecord batch = leaves.batch;
  auto kept = fit(*fx, batch, lines, 0, kT0 + 110);
  CHECK(kept.kept == 3);  // 3 × 0.3 and what was spent fit 1.0; a fourth does not
  CHECK(kept.budget == store::Reservation::granted);
  CHECK(batch.lines == 3);
  CHECK(batch.reserved_usd == doctest::Approx(0.9));
  CHECK(batch.prompt_tokens == 300);
  auto held = fx->batch_steps(batch);
  REQUIRE_OK(held);
  REQUIRE(held->size() == 3);
  for (int i = 0; i < 3; ++i) CHECK((*held)[i].id == leaves.jobs[i].id);
  for (std::size_t i = 3; i < leaves.jobs.size(); ++i) {
    Job back = find(*fx, leaves.jobs[i].id);
    CHECK(back.status == JobStatus::pending);
    CHECK(back.attempts == 0);
    CHECK(back.run_after == kT0 + 610);  // the budget held them back until retry_at
    CHECK(back.lease_token.empty());
  }
  CHECK(counts(*fx, root).jobs_running == 3);

  // Fitted again (a retry after a lost commit, a restart): the same answer, nothing moved.
  auto again = fit(*fx, batch, lines, 0, kT0 + 120);
  CHECK(again.kept == 3);
  CHECK(batch.reserved_usd == doctest::Approx(0.9));
  CHECK(counts(*fx, root).jobs_running == 3);

  // The next batch waits: the first one's reservation leaves room for no line.
  auto second = claim_batch_of(*fx, kT0 + 700);
  REQUIRE(second.jobs.size() == 5);
  auto waits = fit(*fx, second.batch, lines_of(second.jobs, 0.3, 100), 0, kT0 + 710);
  CHECK(waits.kept == 0);
  CHECK(waits.budget == store::Reservation::deferred);
  CHECK_FALSE(listed(*fx, root, second.batch.id));  // nothing of it reached the provider
  for (const auto& job : second.jobs) {
    Job back = find(*fx, job.id);
    CHECK(back.status == JobStatus::pending);
    CHECK(back.attempts == 0);
    CHECK(back.run_after == kT0 + 1210);
  }

  // Once the first batch is closed its reservation is released (and kept on the record); a line
  // whose worst case the rest of the budget cannot cover, with nothing in flight, stops the tree.
  answer_all(*fx, batch, kT0 + 800);
  auto closed = fx->root_batches(root, 100);
  REQUIRE_OK(closed);
  CHECK(closed->front().reserved_usd == doctest::Approx(0.9));
  auto last = claim_batch_of(*fx, kT0 + 1300);
  REQUIRE(last.jobs.size() == 5);
  auto stop = fit(*fx, last.batch, lines_of(last.jobs, 2.0, 100), 0, kT0 + 1310);
  CHECK(stop.kept == 0);
  CHECK(stop.budget == store::Reservation::budget_exhausted);
  CHECK_FALSE(listed(*fx, root, last.batch.id));
  auto record = root_of(*fx, root);
  CHECK(record.status == JobStatus::failed);
  CHECK(record.reason == store::kBudgetExhausted);
  const auto c = counts(*fx, root);
  CHECK(c.jobs_pending + c.jobs_running == 0);
  CHECK(c.jobs_failed == 5);
  for (const auto& job : last.jobs) {
    Job stopped = find(*fx, job.id);
    CHECK(stopped.status == JobStatus::failed);
    CHECK(stopped.last_error.rfind(store::kBudgetExhausted, 0) == 0);
    CHECK(stopped.attempts == 0);  // the attempt was never sent
  }
}

STORE_CONTRACT("a batch keeps the lines its model's batch queue has room for") {
  const std::string first_root = submit_batch_root(*fx, "QUEUE-A", kT0, 0);
  const std::string second_root = submit_batch_root(*fx, "QUEUE-B", kT0, 0);
  auto first = claim_batch_of(*fx, kT0 + 10);
  auto second = claim_batch_of(*fx, kT0 + 20);
  REQUIRE(first.batch.root_id != second.batch.root_id);

  // The first subject takes 60 of a 100-token queue and is uploaded.
  CHECK(fit(*fx, first.batch, lines_of(first.jobs, 0, 60), 100, kT0 + 30).kept == 1);
  first.batch.state = store::BatchState::uploaded;
  first.batch.input_file_id = "file-1";
  REQUIRE_OK(fx->update_batch(first.batch, "worker-a", kT0 + 31));

  // The second finds no room: it waits, its record removed, its step back at retry_at.
  auto full = fit(*fx, second.batch, lines_of(second.jobs, 0, 60), 100, kT0 + 40);
  CHECK(full.kept == 0);
  CHECK(full.budget == store::Reservation::granted);
  CHECK(full.queued_tokens == 60);
  CHECK_FALSE(listed(*fx, second_root, second.batch.id));
  Job waiting = find(*fx, second.jobs[0].id);
  CHECK(waiting.status == JobStatus::pending);
  CHECK(waiting.attempts == 0);
  CHECK(waiting.run_after == kT0 + 540);

  // Without a limit it would have gone; with the first closed, a lone line over the limit goes
  // (nothing else is queued: the provider judges it).
  answer_all(*fx, first.batch, kT0 + 600);
  auto retried = claim_batch_of(*fx, kT0 + 700);
  CHECK(retried.batch.root_id == second_root);
  auto lone = fit(*fx, retried.batch, lines_of(retried.jobs, 0, 150), 100, kT0 + 710);
  CHECK(lone.kept == 1);
  CHECK(lone.queued_tokens == 0);
  CHECK(retried.batch.prompt_tokens == 150);
  retried.batch.state = store::BatchState::created;
  retried.batch.provider_batch_id = "batch_2";
  REQUIRE_OK(fx->update_batch(retried.batch, "worker-a", kT0 + 711));
  answer_all(*fx, retried.batch, kT0 + 720);

  // A level of the first tree: its two chapters of 60 tokens, against a queue of 100 holding
  // nothing, go one now and one later.
  auto chapters = claim_batch_of(*fx, kT0 + 800);
  REQUIRE(chapters.jobs.size() == 2);
  auto half = fit(*fx, chapters.batch, lines_of(chapters.jobs, 0, 60), 100, kT0 + 810);
  CHECK(half.kept == 1);
  CHECK(find(*fx, chapters.jobs[1].id).status == JobStatus::pending);
  CHECK(find(*fx, chapters.jobs[1].id).run_after == kT0 + 1310);

  // A held step the file leaves out (another model's, past the byte limit) is due again at once.
  auto more = claim_batch_of(*fx, kT0 + 1400);
  REQUIRE(more.jobs.size() == 2);  // the second tree's chapters, due longest
  CHECK(more.batch.root_id == second_root);
  auto partial = fit(*fx, more.batch, lines_of({more.jobs[0]}, 0, 10), 0, kT0 + 1410);
  CHECK(partial.kept == 1);
  CHECK(find(*fx, more.jobs[1].id).status == JobStatus::pending);
  CHECK(find(*fx, more.jobs[1].id).run_after == kT0 + 1410);
}
