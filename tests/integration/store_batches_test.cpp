// Batch mode in the store, on both backends (sql/sqlite/009_batches.sql): batch-mode steps are
// claimed only into batch records, one root's due steps at a time, never by an online claim;
// a worker drives a record only while it holds it; closing a record gives the steps no line
// answered back to pending with their attempt, and the tree goes on to its end.
#include <doctest/doctest.h>

#include "core/cascade.hpp"
#include "tests/integration/store_contract.hpp"

using namespace hydrate;
using namespace hydrate::testing;

namespace {

std::optional<store::BatchClaim> try_claim_batch(store::Store& s, const std::string& holder,
                                                 Millis now, int limit = 50000) {
  auto claim = s.claim_for_batch({holder, limit, kBatchWindow, kBatchHold, now});
  REQUIRE_OK(claim);
  return *claim;
}

}  // namespace

STORE_CONTRACT(
    "batch-mode steps are claimed into batch records only, a root's due steps at a time") {
  const std::string online = submit_small(*fx, "ONLINE", kT0);
  const std::string batch_root = submit_batch_root(*fx, "BATCHED", kT0 + 1);
  CHECK(root_of(*fx, batch_root).options.mode == CallMode::batch);
  CHECK(find(*fx, batch_root).input.find("\"mode\":\"batch\"") != std::string::npos);

  // The online claim takes the online root's subject and nothing of the batch root.
  auto online_claim = claim(*fx, 10, kT0 + 10);
  REQUIRE(online_claim.size() == 1);
  CHECK(online_claim[0].id == online);

  auto first = try_claim_batch(*fx, "worker-a", kT0 + 20);
  REQUIRE(first);
  REQUIRE(first->jobs.size() == 1);
  CHECK(first->jobs[0].id == batch_root);
  CHECK(first->jobs[0].status == JobStatus::running);
  CHECK(first->jobs[0].attempts == 1);
  CHECK(first->jobs[0].lease_holder == "batch:" + first->batch.id);
  CHECK(first->jobs[0].lease_expires_at == kT0 + 20 + kBatchWindow);
  CHECK(first->batch.state == store::BatchState::claimed);
  CHECK(first->batch.lines == 1);
  CHECK(root_of(*fx, batch_root).status == JobStatus::running);
  CHECK_FALSE(try_claim_batch(*fx, "worker-a", kT0 + 21));  // nothing else of batch mode is due

  // The subject's result, written under the batch's lease, creates batch-mode chapters.
  Job subject = first->jobs[0];
  subject.lease_token = first->batch.lease_token;
  auto written = complete(*fx, subject, kT0 + 30);
  CHECK(claim(*fx, 10, kT0 + 31).empty());  // the online tree waits on its own subject's result
  auto chapters = try_claim_batch(*fx, "worker-a", kT0 + 40);
  REQUIRE(chapters);
  CHECK(chapters->jobs.size() == 2);
  for (const auto& job : chapters->jobs) {
    CHECK(job.kind == JobKind::chapter);
    CHECK(job.lease_token == chapters->batch.lease_token);
  }
  // A lapsed batch lease is never taken by an online claim (the online subject's lapsed one is).
  auto lapsed = claim(*fx, 10, kT0 + 40 + kBatchWindow + 1);
  REQUIRE(lapsed.size() == 1);
  CHECK(lapsed[0].id == online);

  auto listed = fx->root_batches(batch_root, 10);
  REQUIRE_OK(listed);
  REQUIRE(listed->size() == 2);
  CHECK((*listed)[0].id == chapters->batch.id);  // newest first
  CHECK((*listed)[1].id == first->batch.id);
  (void)written;
}

STORE_CONTRACT("a batch record is driven only by the worker holding it") {
  const std::string root = submit_batch_root(*fx, "HELD", kT0);
  auto claimed = try_claim_batch(*fx, "worker-a", kT0);
  REQUIRE(claimed);
  store::BatchRecord batch = claimed->batch;

  // Held by worker-a: worker-b neither takes nor writes it until the hold has passed.
  auto taken = fx->take_open_batches("worker-b", kBatchHold, kT0 + 1000, 10);
  REQUIRE_OK(taken);
  CHECK(taken->empty());
  batch.state = store::BatchState::uploaded;
  batch.input_file_id = "file-1";
  batch.model = "gpt-4o-mini";
  auto refused = fx->update_batch(batch, "worker-b", kT0 + 1000);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::conflict);
  REQUIRE_OK(fx->update_batch(batch, "worker-a", kT0 + 1000));

  // worker-a takes its own record again at once; worker-b once the hold lapsed.
  taken = fx->take_open_batches("worker-a", kBatchHold, kT0 + 2000, 10);
  REQUIRE_OK(taken);
  REQUIRE(taken->size() == 1);
  CHECK((*taken)[0].state == store::BatchState::uploaded);
  CHECK((*taken)[0].input_file_id == "file-1");
  CHECK((*taken)[0].model == "gpt-4o-mini");
  taken = fx->take_open_batches("worker-b", kBatchHold, kT0 + 2000 + kBatchHold + 1, 10);
  REQUIRE_OK(taken);
  REQUIRE(taken->size() == 1);
  CHECK_FALSE(fx->update_batch(batch, "worker-a", kT0 + 2000 + kBatchHold + 2).ok());

  // A record whose next poll is due later is not taken before then.
  store::BatchRecord later = (*taken)[0];
  later.state = store::BatchState::created;
  later.provider_batch_id = "batch_1";
  later.next_poll_at = kT0 + 3'600'000;
  REQUIRE_OK(fx->update_batch(later, "worker-b", kT0 + 2000 + kBatchHold + 3));
  taken = fx->take_open_batches("worker-b", kBatchHold, kT0 + 3'599'999, 10);
  REQUIRE_OK(taken);
  CHECK(taken->empty());
  taken = fx->take_open_batches("worker-b", kBatchHold, kT0 + 3'600'000, 10);
  REQUIRE_OK(taken);
  CHECK(taken->size() == 1);
  (void)root;
}

STORE_CONTRACT(
    "closing a batch gives unanswered steps back with their attempt, and the tree ends") {
  const std::string root = submit_batch_root(*fx, "CLOSE", kT0);
  auto subject_batch = try_claim_batch(*fx, "worker-a", kT0);
  REQUIRE(subject_batch);
  Job subject = subject_batch->jobs[0];
  complete(*fx, subject, kT0 + 10);
  store::BatchRecord closed = subject_batch->batch;
  closed.state = store::BatchState::applied;
  auto given_back = fx->close_batch(closed, "worker-a", kT0 + 11);
  REQUIRE_OK(given_back);
  CHECK(*given_back == 0);
  // Closed: nobody takes or writes it again.
  auto taken = fx->take_open_batches("worker-a", kBatchHold, kT0 + 12, 10);
  REQUIRE_OK(taken);
  CHECK(taken->empty());
  CHECK_FALSE(fx->close_batch(closed, "worker-a", kT0 + 13).ok());

  // The chapters' batch answers one chapter; the other goes back to pending, attempt restored.
  auto chapters = try_claim_batch(*fx, "worker-a", kT0 + 20);
  REQUIRE(chapters);
  REQUIRE(chapters->jobs.size() == 2);
  complete(*fx, chapters->jobs[0], kT0 + 30);
  auto held = fx->batch_steps(chapters->batch);
  REQUIRE_OK(held);
  REQUIRE(held->size() == 1);
  CHECK(held->front().id == chapters->jobs[1].id);
  store::BatchRecord expired = chapters->batch;
  expired.state = store::BatchState::applied;
  expired.provider_status = "expired";
  given_back = fx->close_batch(expired, "worker-a", kT0 + 40);
  REQUIRE_OK(given_back);
  CHECK(*given_back == 1);
  Job back = find(*fx, chapters->jobs[1].id);
  CHECK(back.status == JobStatus::pending);
  CHECK(back.attempts == 0);
  CHECK(back.lease_token.empty());
  CHECK(counts(*fx, root).jobs_running == 0);

  // Batch by batch to the end: the root closes succeeded, every step once.
  for (Millis t = kT0 + 100;; t += 100) {
    auto next = try_claim_batch(*fx, "worker-a", t);
    if (!next) break;
    for (const auto& job : next->jobs) complete(*fx, job, t + 10);
    store::BatchRecord done = next->batch;
    done.state = store::BatchState::applied;
    given_back = fx->close_batch(done, "worker-a", t + 20);
    REQUIRE_OK(given_back);
    CHECK(*given_back == 0);
  }
  CHECK(root_of(*fx, root).status == JobStatus::succeeded);
  const auto c = counts(*fx, root);
  CHECK(c.jobs_succeeded == c.jobs_pending + c.jobs_running + c.jobs_succeeded);
  auto batches = fx->root_batches(root, 100);
  REQUIRE_OK(batches);
  CHECK(batches->size() == 4);  // subject, chapters, the chapter given back, the leaves
  for (const auto& b : *batches) CHECK(b.state == store::BatchState::applied);
}
