// Store contract, part 2: retries, failures, how trees close, per-level counts, the call log,
// cancel and requeue. Written against store::Store only (see store_contract.hpp).
#include "core/ids.hpp"
#include "core/store/sql_connection.hpp"
#include "tests/integration/store_contract.hpp"

using namespace hydrate;
using namespace hydrate::testing;

STORE_CONTRACT("release_step puts a step back to pending, due at run_after, with its error") {
  std::string root = submit_small(*fx, "MATH", kT0);
  Job job = claim_one(*fx, kT0);
  REQUIRE_OK(fx->release_step(lease_of(job), "HTTP 503 from the endpoint", kT0 + 30'000, kT0));
  Job stored = find(*fx, root);
  CHECK(stored.status == JobStatus::pending);
  CHECK(stored.run_after == kT0 + 30'000);
  CHECK(stored.last_error == "HTTP 503 from the endpoint");
  CHECK(stored.lease_token.empty());
  CHECK(stored.attempts == 1);
  CHECK(root_of(*fx, root).status == JobStatus::running);

  CHECK(claim(*fx, 10, kT0 + 29'999).empty());
  Job again = claim_one(*fx, kT0 + 30'000);
  CHECK(again.id == root);
  CHECK(again.attempts == 2);
  // The old lease is gone for good.
  CHECK(fx->release_step(lease_of(job), "late", kT0 + 40'000, kT0).error().kind ==
        ErrorKind::conflict);
}

STORE_CONTRACT("fail_step fails the step; the root closes failed once nothing else can run") {
  SUBCASE("a failed subject closes the tree at once") {
    std::string root = submit_small(*fx, "MATH", kT0);
    Job job = claim_one(*fx, kT0);
    REQUIRE_OK(fx->fail_step(lease_of(job), "HTTP 400: bad request", kT0 + 100));
    Job stored = find(*fx, root);
    CHECK(stored.status == JobStatus::failed);
    CHECK(stored.last_error == "HTTP 400: bad request");
    CHECK(stored.finished_at == kT0 + 100);
    store::RootRecord closed = root_of(*fx, root);
    CHECK(closed.status == JobStatus::failed);
    CHECK(closed.finished_at == kT0 + 100);
    CHECK_FALSE(closed.reason.empty());
    CHECK(fx->open_root_ids(10)->empty());
  }
  SUBCASE("a failed chapter waits for the rest of the tree") {
    std::string root = submit_small(*fx, "MATH", kT0);
    store::StepOutput plan = complete(*fx, claim_one(*fx, kT0), kT0);
    auto chapters = claim(*fx, 10, kT0 + 1);
    REQUIRE(chapters.size() == 2);
    Job bad = pick(chapters, child_id(plan, JobKind::chapter, 1));
    Job good = pick(chapters, child_id(plan, JobKind::chapter, 2));
    REQUIRE_OK(fx->fail_step(lease_of(bad), "permanent", kT0 + 2));
    CHECK(root_of(*fx, root).status == JobStatus::running);
    auto still_open = fx->close_root_if_finished(root, kT0 + 3);
    REQUIRE_OK(still_open);
    CHECK_FALSE(still_open->has_value());
    complete(*fx, good, kT0 + 4);
    CHECK(run_to_end(*fx, kT0 + 5) == 4);
    CHECK(root_of(*fx, root).status == JobStatus::failed);
    CHECK(counts(*fx, root).jobs_failed == 1);
  }
}

STORE_CONTRACT("a tree whose every step succeeds closes succeeded") {
  std::string root = submit_small(*fx, "MATH", kT0);
  std::string other = submit_small(*fx, "SCIENCE", kT0);
  CHECK(run_to_end(*fx, kT0 + 1000) == 2 * (1 + 2 + 4 + 4));
  store::RootRecord done = root_of(*fx, root);
  CHECK(done.status == JobStatus::succeeded);
  CHECK(done.finished_at == kT0 + 1000);
  CHECK(done.reason.empty());
  CHECK(root_of(*fx, other).status == JobStatus::succeeded);
  store::TreeCounts c = counts(*fx, root);
  CHECK(c.jobs_succeeded == 11);
  CHECK(c.jobs_pending + c.jobs_running + c.jobs_failed + c.jobs_cancelled == 0);
  auto open = fx->open_root_ids(10);
  REQUIRE_OK(open);
  CHECK(open->empty());
  // Closing is done once: asking again changes nothing.
  auto again = fx->close_root_if_finished(root, kT0 + 5000);
  REQUIRE_OK(again);
  CHECK_FALSE(again->has_value());
  CHECK(root_of(*fx, root).finished_at == kT0 + 1000);
}

STORE_CONTRACT("tree_counts counts each level and bills every logged call") {
  std::string root = submit_small(*fx, "MATH", kT0);
  Job subject = claim_one(*fx, kT0);
  store::StepOutput plan = complete(*fx, subject, kT0 + 10);
  Job chapter1 = pick(claim(*fx, 10, kT0 + 20), child_id(plan, JobKind::chapter, 1));
  store::StepOutput topics = complete(*fx, chapter1, kT0 + 30);
  auto leaves = claim(*fx, 10, kT0 + 40);  // chapter 2 is running: not among them
  REQUIRE(leaves.size() == 4);
  complete(*fx, pick(leaves, child_id(topics, JobKind::note, 1)), kT0 + 50);
  complete(*fx, pick(leaves, child_id(topics, JobKind::questions, 1)), kT0 + 50);
  complete(*fx, pick(leaves, child_id(topics, JobKind::note, 2)), kT0 + 50);
  Job questions2 = pick(leaves, child_id(topics, JobKind::questions, 2));
  REQUIRE_OK(fx->release_step(lease_of(questions2), "HTTP 429", kT0 + 60'000, kT0));

  REQUIRE_OK(fx->log_call(call_for(subject, 400, 120, 0, 0.001, true)));
  REQUIRE_OK(fx->log_call(call_for(chapter1, 500, 200, 100, 0.002, false)));
  REQUIRE_OK(fx->log_call(call_for(questions2, 600, 0, 300, 0.0005, false)));

  store::TreeCounts c = counts(*fx, root);
  CHECK(c.subject_succeeded);
  CHECK(c.chapter_rows == 2);
  CHECK(c.chapter_jobs_succeeded == 1);
  CHECK(c.topic_rows == 2);
  CHECK(c.topics_completed == 1);  // topic 2's questions are not written yet
  CHECK(c.note_jobs_succeeded == 2);
  CHECK(c.questions_jobs_succeeded == 1);
  CHECK(c.question_rows == 2);
  CHECK(c.jobs_succeeded == 5);
  CHECK(c.jobs_running == 1);  // chapter 2
  CHECK(c.jobs_pending == 1);  // topic 2's questions, waiting for a retry
  CHECK(c.jobs_failed == 0);
  CHECK(c.calls == 3);
  CHECK(c.tokens == TokenUsage{1500, 320, 400});
  CHECK(c.actual_cost_usd == doctest::Approx(0.0035));
  CHECK(find(*fx, chapter1.id).actual_cost_usd == doctest::Approx(0.002));

  // Another tree's counts are its own.
  std::string other = submit_small(*fx, "SCIENCE", kT0);
  store::TreeCounts fresh = counts(*fx, other);
  CHECK(fresh.jobs_pending == 1);
  CHECK(fresh.chapter_rows == 0);
  CHECK(fresh.calls == 0);
}

STORE_CONTRACT("a topic whose leaf jobs are missing is not counted as completed") {
  std::string root = submit_small(*fx, "MATH", kT0);
  store::StepOutput plan = complete(*fx, claim_one(*fx, kT0), kT0);
  Job chapter = pick(claim(*fx, 10, kT0 + 1), child_id(plan, JobKind::chapter, 1));
  // Topic 2's note and questions jobs are lost from the fan-out.
  store::StepOutput out = output_for(chapter, kT0 + 2);
  std::erase_if(out.children, [](const NewJob& child) { return child.position == 2; });
  REQUIRE(out.children.size() == 2);
  REQUIRE_OK(fx->complete_step(lease_of(chapter), out, kT0 + 2));
  store::TreeCounts c = counts(*fx, root);
  CHECK(c.topic_rows == 2);
  // Topic 1's leaves are pending and topic 2 has none: no leaf it asked for has succeeded.
  CHECK(c.topics_completed == 0);
}

STORE_CONTRACT("log_call needs no lease: calls of lost, finished or cancelled steps are billed") {
  std::string root = submit_small(*fx, "MATH", kT0);
  Job zombie = claim_one(*fx, kT0, 1000, "worker-a");
  Job holder = claim_one(*fx, kT0 + 2000, kLease, "worker-b");
  REQUIRE(holder.id == zombie.id);
  // The zombie's call finished after its lease was taken over.
  REQUIRE_OK(fx->log_call(call_for(zombie, 1000, 500, 0, 0.01, false)));
  complete(*fx, holder, kT0 + 3000);
  REQUIRE_OK(fx->log_call(call_for(holder, 1000, 700, 200, 0.02, true)));
  // A call logged after the step succeeded (a slow duplicate) is billed too.
  REQUIRE_OK(fx->log_call(call_for(find(*fx, root), 10, 10, 0, 0.001, false)));
  REQUIRE_OK(fx->cancel(root, "stop", kT0 + 4000));
  REQUIRE_OK(fx->log_call(call_for(find(*fx, root), 5, 5, 0, 0.002, false)));

  store::TreeCounts c = counts(*fx, root);
  CHECK(c.calls == 4);
  CHECK(c.tokens == TokenUsage{2015, 1215, 200});
  CHECK(c.actual_cost_usd == doctest::Approx(0.033));
  CHECK(find(*fx, root).actual_cost_usd == doctest::Approx(0.033));
}

STORE_CONTRACT("cancelling a root cancels every unfinished job, and its workers write nothing") {
  std::string root = submit_small(*fx, "MATH", kT0);
  store::StepOutput plan = complete(*fx, claim_one(*fx, kT0), kT0);
  Job in_flight = claim_one(*fx, kT0 + 1);
  std::string waiting = child_id(plan, JobKind::chapter, 2);
  if (in_flight.id == waiting) waiting = child_id(plan, JobKind::chapter, 1);

  auto changed = fx->cancel(root, "operator asked", kT0 + 2);
  REQUIRE_OK(changed);
  CHECK(*changed == 2);
  CHECK(find(*fx, in_flight.id).status == JobStatus::cancelled);
  CHECK(find(*fx, waiting).status == JobStatus::cancelled);
  CHECK(find(*fx, root).status == JobStatus::succeeded);  // finished steps stay as they are
  store::RootRecord cancelled = root_of(*fx, root);
  CHECK(cancelled.status == JobStatus::cancelled);
  CHECK(cancelled.reason.find("operator asked") != std::string::npos);
  CHECK(cancelled.finished_at == kT0 + 2);

  auto late = fx->complete_step(lease_of(in_flight), output_for(in_flight, kT0 + 3), kT0 + 3);
  REQUIRE_FALSE(late.ok());
  CHECK(late.error().kind == ErrorKind::conflict);
  store::TreeCounts c = counts(*fx, root);
  CHECK(c.topic_rows == 0);
  CHECK(c.jobs_cancelled == 2);
  CHECK(c.jobs_pending + c.jobs_running == 0);
  CHECK(claim(*fx, 10, kT0 + 10).empty());
  CHECK(*fx->cancel(root, "again", kT0 + 20) == 0);
  CHECK(fx->cancel(new_job_id(kT0), "nothing", kT0).error().kind == ErrorKind::not_found);
}

STORE_CONTRACT("cancelling a subtree cancels only its unfinished jobs") {
  std::string root = submit_small(*fx, "MATH", kT0);
  store::StepOutput plan = complete(*fx, claim_one(*fx, kT0), kT0);
  auto chapters = claim(*fx, 10, kT0 + 1);
  Job chapter1 = pick(chapters, child_id(plan, JobKind::chapter, 1));
  Job chapter2 = pick(chapters, child_id(plan, JobKind::chapter, 2));
  store::StepOutput topics1 = complete(*fx, chapter1, kT0 + 2);
  store::StepOutput topics2 = complete(*fx, chapter2, kT0 + 2);

  auto changed = fx->cancel(chapter1.id, "bad chapter", kT0 + 3);
  REQUIRE_OK(changed);
  CHECK(*changed == 4);
  CHECK(find(*fx, chapter1.id).status == JobStatus::succeeded);
  for (const auto& leaf : topics1.children)
    CHECK(find(*fx, leaf.id).status == JobStatus::cancelled);
  for (const auto& leaf : topics2.children) CHECK(find(*fx, leaf.id).status == JobStatus::pending);
  CHECK(root_of(*fx, root).status == JobStatus::running);

  CHECK(run_to_end(*fx, kT0 + 4) == 4);
  store::TreeCounts c = counts(*fx, root);
  CHECK(c.jobs_cancelled == 4);
  CHECK(c.jobs_succeeded == 1 + 2 + 4);
  // A tree with cancelled parts is not a success.
  CHECK(root_of(*fx, root).status == JobStatus::failed);
}

STORE_CONTRACT("requeue of a failed root puts its failed jobs back and reopens it") {
  std::string root = submit_small(*fx, "MATH", kT0, 1);
  store::StepOutput plan = complete(*fx, claim_one(*fx, kT0), kT0);
  auto chapters = claim(*fx, 10, kT0 + 1);
  REQUIRE(chapters.size() == 2);
  for (const auto& chapter : chapters) {
    REQUIRE_OK(fx->fail_step(lease_of(chapter), "HTTP 400", kT0 + 2));
  }
  REQUIRE(root_of(*fx, root).status == JobStatus::failed);

  auto moved = fx->requeue(root, kT0 + 100);
  REQUIRE_OK(moved);
  CHECK(*moved == 2);
  for (const auto& chapter : chapters) {
    Job stored = find(*fx, chapter.id);
    CHECK(stored.status == JobStatus::pending);
    CHECK(stored.attempts == 0);
    CHECK(stored.finished_at == 0);
    CHECK(stored.run_after <= kT0 + 100);
  }
  CHECK(find(*fx, root).status == JobStatus::succeeded);
  store::RootRecord reopened = root_of(*fx, root);
  CHECK((reopened.status == JobStatus::pending || reopened.status == JobStatus::running));
  CHECK(reopened.finished_at == 0);
  CHECK(reopened.reason.empty());
  CHECK(*fx->open_root_ids(10) == std::vector<std::string>{root});

  CHECK(claim(*fx, 10, kT0 + 100).size() == 2);
  CHECK(run_to_end(*fx, kT0 + 200) == 0);  // the claimed two are still running
  CHECK(*fx->requeue(root, kT0 + 300) == 0);
  CHECK(fx->requeue(new_job_id(kT0), kT0).error().kind == ErrorKind::not_found);
}

STORE_CONTRACT("requeue of one job moves only that job") {
  std::string root = submit_small(*fx, "MATH", kT0, 1);
  store::StepOutput plan = complete(*fx, claim_one(*fx, kT0), kT0);
  auto chapters = claim(*fx, 10, kT0 + 1);
  for (const auto& chapter : chapters) REQUIRE_OK(fx->fail_step(lease_of(chapter), "x", kT0 + 2));
  std::string one = child_id(plan, JobKind::chapter, 1);
  std::string two = child_id(plan, JobKind::chapter, 2);
  CHECK(*fx->requeue(one, kT0 + 3) == 1);
  CHECK(find(*fx, one).status == JobStatus::pending);
  CHECK(find(*fx, two).status == JobStatus::failed);
  CHECK(root_of(*fx, root).status != JobStatus::failed);
}

STORE_CONTRACT("requeue with no job moves every failed job in the database") {
  std::string a = submit_small(*fx, "A", kT0, 1);
  std::string b = submit_small(*fx, "B", kT0, 1);
  std::string c = submit_small(*fx, "C", kT0, 1);
  auto jobs = claim(*fx, 10, kT0);
  REQUIRE(jobs.size() == 3);
  for (const auto& job : jobs) {
    if (job.id == c) {
      complete(*fx, job, kT0 + 1);
    } else {
      REQUIRE_OK(fx->fail_step(lease_of(job), "HTTP 401", kT0 + 1));
    }
  }
  REQUIRE(root_of(*fx, a).status == JobStatus::failed);

  auto moved = fx->requeue("", kT0 + 10);
  REQUIRE_OK(moved);
  CHECK(*moved == 2);
  for (const auto& id : {a, b}) {
    CHECK(find(*fx, id).status == JobStatus::pending);
    CHECK(find(*fx, id).attempts == 0);
    CHECK(root_of(*fx, id).status != JobStatus::failed);
  }
  CHECK(root_of(*fx, c).status == JobStatus::running);  // its chapters are pending
  CHECK(claim(*fx, 10, kT0 + 10).size() == 2 + 2);
}

STORE_CONTRACT("return_step puts a step back with its attempt given back, and is fenced") {
  std::string root = submit_small(*fx, "MATH", kT0);
  Job subject = claim_one(*fx, kT0);
  REQUIRE(subject.attempts == 1);
  REQUIRE_OK(fx->return_step(lease_of(subject), "out of quota", kT0 + 10));
  Job back = find(*fx, subject.id);
  CHECK(back.status == JobStatus::pending);
  CHECK(back.attempts == 0);
  CHECK(back.run_after == kT0 + 10);
  CHECK(back.last_error == "out of quota");
  // The lease is gone with it: a second return changes nothing.
  auto again = fx->return_step(lease_of(subject), "out of quota", kT0 + 20);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().kind == ErrorKind::conflict);
  CHECK(find(*fx, subject.id).attempts == 0);
  CHECK(claim_one(*fx, kT0 + 30).attempts == 1);
}

STORE_CONTRACT("a call logged again by its id is kept once and billed once") {
  std::string root = submit_small(*fx, "MATH", kT0);
  Job subject = claim_one(*fx, kT0);
  // The result committed, but the worker lost the connection during the commit and, unable to
  // tell, logs the same call again as unused: the used row stays, billed once.
  store::StepOutput out = output_for(subject, kT0 + 10);
  out.call = call_for(subject, 400, 120, 0, 0.001, true);
  out.call->call_id = "call-subject-1";
  REQUIRE_OK(fx->complete_step(lease_of(subject), out, kT0 + 10));
  CallRecord again = *out.call;
  again.used = false;
  again.error = "connection lost during the commit";
  REQUIRE_OK(fx->log_call(again));
  // An unused call logged twice (a retried log) is one row too; calls without ids are each kept.
  CallRecord retried = call_for(subject, 50, 10, 0, 0.002, false);
  retried.call_id = "call-subject-0";
  REQUIRE_OK(fx->log_call(retried));
  REQUIRE_OK(fx->log_call(retried));
  REQUIRE_OK(fx->log_call(call_for(subject, 1, 1, 0, 0.004, false)));
  REQUIRE_OK(fx->log_call(call_for(subject, 1, 1, 0, 0.004, false)));

  store::TreeCounts c = counts(*fx, root);
  CHECK(c.calls == 4);
  CHECK(c.tokens == TokenUsage{452, 132, 0});
  CHECK(c.actual_cost_usd == doctest::Approx(0.011));
  CHECK(find(*fx, subject.id).actual_cost_usd == doctest::Approx(0.011));
  auto samples = fx->read_metrics(kT0, 15 * 60'000);
  REQUIRE_OK(samples);
  CHECK(metric(*samples, "hydrate_llm_prompt_tokens_total", "model=\"gpt-4o-mini\"") == 452);
}

STORE_CONTRACT("settled_open_root_ids lists the open roots with nothing pending or running") {
  const std::string busy = submit_small(*fx, "BUSY", kT0);
  const std::string done = submit_small(*fx, "DONE", kT0 + 1);
  CHECK(fx->settled_open_root_ids(10)->empty());  // both have their subject pending
  // One tree worked to its end, then its root opened again behind the store's back, as a
  // crash between two writes of an older version could have left it.
  REQUIRE(run_to_end(*fx, kT0 + 100) > 0);
  CHECK(root_of(*fx, done).status == JobStatus::succeeded);
  auto db = open_raw(fx.url());
  db->run("UPDATE roots SET status = 'running', finished_at = NULL WHERE job_id IN (?1, ?2)",
          {busy, done});
  db->run(
      "UPDATE jobs SET status = 'pending', finished_at = NULL "
      "WHERE root_id = ?1 AND kind = 'questions' AND position = 1",
      {busy});
  CHECK(*fx->settled_open_root_ids(10) == std::vector<std::string>{done});
  CHECK(*fx->open_root_ids(10) == std::vector<std::string>{busy, done});
  auto closed = fx->close_root_if_finished(done, kT0 + 200);
  REQUIRE_OK(closed);
  CHECK(*closed == JobStatus::succeeded);
  CHECK(fx->settled_open_root_ids(10)->empty());
}
