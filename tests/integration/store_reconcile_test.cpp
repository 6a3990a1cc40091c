// Store contract, part 3: what reconcile, the worker's idle loop, status, export and metrics
// read: locks, lease rescue, cascade repair, stuck work, the queue's outlook, content, metrics.
// Written against store::Store only (see store_contract.hpp).
#include <algorithm>
#include <set>

#include "core/ids.hpp"
#include "core/metrics.hpp"
#include "tests/integration/store_contract.hpp"

using namespace hydrate;
using namespace hydrate::testing;

STORE_CONTRACT("try_lock: one holder at a time, taken over after expiry, released by its holder") {
  auto first = fx->try_lock("reconcile", "host-a:1", 60'000, kT0);
  REQUIRE_OK(first);
  CHECK(first->acquired);
  CHECK(first->holder == "host-a:1");
  CHECK(first->expires_at == kT0 + 60'000);

  auto refused = fx->try_lock("reconcile", "host-b:2", 60'000, kT0 + 1000);
  REQUIRE_OK(refused);
  CHECK_FALSE(refused->acquired);
  CHECK(refused->holder == "host-a:1");  // names who holds it
  CHECK(refused->expires_at == kT0 + 60'000);

  // Other lock names are independent.
  CHECK(fx->try_lock("other", "host-b:2", 60'000, kT0 + 1000)->acquired);
  // The holder may renew.
  auto renewed = fx->try_lock("reconcile", "host-a:1", 60'000, kT0 + 2000);
  CHECK(renewed->acquired);
  CHECK(renewed->expires_at == kT0 + 62'000);

  // Expired: the next one takes it.
  auto taken = fx->try_lock("reconcile", "host-b:2", 60'000, kT0 + 62'001);
  CHECK(taken->acquired);
  CHECK(taken->holder == "host-b:2");

  // Only the holder releases it.
  REQUIRE_OK(fx->release_lock("reconcile", "host-a:1"));
  CHECK_FALSE(fx->try_lock("reconcile", "host-c:3", 60'000, kT0 + 63'000)->acquired);
  REQUIRE_OK(fx->release_lock("reconcile", "host-b:2"));
  CHECK(fx->try_lock("reconcile", "host-c:3", 60'000, kT0 + 63'000)->acquired);
}

STORE_CONTRACT("release_lock with keep_until keeps others out until then") {
  REQUIRE(fx->try_lock("reconcile", "host-a:1", 60'000, kT0)->acquired);
  REQUIRE_OK(fx->release_lock("reconcile", "host-a:1", kT0 + 300'000));
  auto early = fx->try_lock("reconcile", "host-b:2", 60'000, kT0 + 100'000);
  REQUIRE_OK(early);
  CHECK_FALSE(early->acquired);
  CHECK(early->holder == "host-a:1");
  CHECK(fx->try_lock("reconcile", "host-b:2", 60'000, kT0 + 300'001)->acquired);
}

STORE_CONTRACT("rescue_expired_leases: pending with attempts left, failed once exhausted") {
  std::string retryable = submit_small(*fx, "A", kT0, 3);
  std::string exhausted = submit_small(*fx, "B", kT0, 1);
  REQUIRE(claim(*fx, 2, kT0, 1000, "worker-gone").size() == 2);
  auto early = fx->rescue_expired_leases(kT0 + 500);
  REQUIRE_OK(early);
  CHECK(*early == 0);

  auto rescued = fx->rescue_expired_leases(kT0 + 2000);
  REQUIRE_OK(rescued);
  CHECK(*rescued == 2);
  Job back = find(*fx, retryable);
  CHECK(back.status == JobStatus::pending);
  CHECK(back.lease_token.empty());
  CHECK(back.attempts == 1);
  CHECK(back.last_error.find("expired") != std::string::npos);
  CHECK(back.run_after <= kT0 + 2000);
  CHECK(root_of(*fx, retryable).status == JobStatus::running);

  Job dead = find(*fx, exhausted);
  CHECK(dead.status == JobStatus::failed);
  CHECK_FALSE(dead.last_error.empty());
  CHECK(root_of(*fx, exhausted).status == JobStatus::failed);

  CHECK(*fx->rescue_expired_leases(kT0 + 3000) == 0);
  CHECK(claim_one(*fx, kT0 + 3000).id == retryable);
}

STORE_CONTRACT("a rescued step keeps its place before work that came due while it was held") {
  // A's subject is claimed and its worker dies; B is submitted meanwhile. Rescued, A's step is
  // still the one due the longest, and the next claim takes it first.
  const std::string a = submit_small(*fx, "A", kT0);
  REQUIRE(claim_one(*fx, kT0 + 10).id == a);
  const std::string b = submit_small(*fx, "B", kT0 + 20);
  REQUIRE(*fx->rescue_expired_leases(kT0 + kLease + 1000) == 1);
  CHECK(find(*fx, a).run_after <= kT0 + 10);
  CHECK(claim_one(*fx, kT0 + kLease + 2000).id == a);
  CHECK(claim_one(*fx, kT0 + kLease + 3000).id == b);
}

STORE_CONTRACT("a rescued leaf goes before the leaves that came due with it") {
  // A tree's leaves all come due at the instant their chapter succeeded: rescued, a dead
  // worker's leaves are claimed before the others, not in whatever order equals come.
  submit_small(*fx, "MATH", kT0);
  complete(*fx, claim_one(*fx, kT0), kT0 + 1);
  for (const auto& chapter : claim(*fx, 10, kT0 + 2)) complete(*fx, chapter, kT0 + 3);
  auto held = claim(*fx, 3, kT0 + 4, 1000, "worker-gone");
  REQUIRE(held.size() == 3);
  REQUIRE(*fx->rescue_expired_leases(kT0 + 2000) == 3);
  auto next = claim(*fx, 3, kT0 + 2001);
  REQUIRE(next.size() == 3);
  for (const auto& job : next) {
    CAPTURE(job.id);
    CHECK(std::any_of(held.begin(), held.end(), [&](const Job& h) { return h.id == job.id; }));
  }
}

STORE_CONTRACT("cascade repair: a chapter whose job went missing is found and recreated once") {
  std::string root = submit_small(*fx, "MATH", kT0);
  Job subject = claim_one(*fx, kT0);
  store::StepOutput out = output_for(subject, kT0);
  std::erase_if(out.children, [](const NewJob& child) { return child.position == 2; });
  REQUIRE_OK(fx->complete_step(lease_of(subject), out, kT0));  // a lost fan-out
  REQUIRE(root_of(*fx, root).status == JobStatus::running);    // chapter 1 is pending

  auto orphans = fx->find_orphaned_content(100);
  REQUIRE_OK(orphans);
  REQUIRE(orphans->size() == 1);
  const store::OrphanedContent& orphan = (*orphans)[0];
  CHECK(orphan.parent.id == root);
  CHECK(orphan.position == 2);
  REQUIRE(orphan.chapter.has_value());
  CHECK(orphan.chapter->title == "Chapter 2");
  CHECK_FALSE(orphan.topic.has_value());

  auto repaired = fx->insert_jobs(children_for_orphan(orphan, kT0 + 10), kT0 + 10);
  REQUIRE_OK(repaired);
  CHECK(*repaired == 1);
  CHECK(fx->find_orphaned_content(100)->empty());
  CHECK(*fx->insert_jobs(children_for_orphan(orphan, kT0 + 20), kT0 + 20) == 0);

  auto chapters = claim(*fx, 10, kT0 + 30);
  REQUIRE(chapters.size() == 2);
  Job recreated = pick(chapters, JobKind::chapter, 2);
  auto input = decode_step_input(recreated.input);
  REQUIRE_OK(input);
  CHECK(input->chapter.title == "Chapter 2");
  for (const auto& chapter : chapters) complete(*fx, chapter, kT0 + 50);
  run_to_end(*fx, kT0 + 60);
  CHECK(root_of(*fx, root).status == JobStatus::succeeded);
  CHECK(counts(*fx, root).topic_rows == 4);
}

STORE_CONTRACT("cascade repair: a topic missing its note or questions job gets what it lacks") {
  std::string root = submit_small(*fx, "MATH", kT0);
  store::StepOutput plan = complete(*fx, claim_one(*fx, kT0), kT0);
  Job chapter = pick(claim(*fx, 10, kT0 + 1), child_id(plan, JobKind::chapter, 2));
  store::StepOutput out = output_for(chapter, kT0 + 2);
  // Topic 1 lost both leaves, topic 2 its note only.
  std::erase_if(out.children, [](const NewJob& child) {
    return child.position == 1 || child.kind == JobKind::note;
  });
  REQUIRE(out.children.size() == 1);
  REQUIRE_OK(fx->complete_step(lease_of(chapter), out, kT0 + 2));

  auto orphans = fx->find_orphaned_content(100);
  REQUIRE_OK(orphans);
  REQUIRE(orphans->size() == 2);
  std::vector<NewJob> children;
  std::set<int> positions;
  for (const auto& orphan : *orphans) {
    CHECK(orphan.parent.id == chapter.id);
    REQUIRE(orphan.topic.has_value());
    CHECK(orphan.topic->title == "Topic 2." + std::to_string(orphan.position));
    CHECK(orphan.topic->objectives.size() == 2);
    positions.insert(orphan.position);
    for (auto& child : children_for_orphan(orphan, kT0 + 3)) children.push_back(child);
  }
  CHECK(positions == std::set<int>{1, 2});
  auto inserted = fx->insert_jobs(children, kT0 + 3);
  REQUIRE_OK(inserted);
  CHECK(*inserted == 3);  // topic 2's questions job already existed
  CHECK(fx->find_orphaned_content(100)->empty());
  CHECK(*fx->insert_jobs(children, kT0 + 4) == 0);
  store::TreeCounts c = counts(*fx, root);
  CHECK(c.jobs_pending == 4);  // the four leaves of chapter 2's topics
  CHECK(c.jobs_running == 1);  // chapter 1
}

STORE_CONTRACT("find_orphaned_content finds nothing in healthy trees") {
  submit_small(*fx, "MATH", kT0);
  submit_small(*fx, "SCIENCE", kT0);
  complete(*fx, claim_one(*fx, kT0), kT0);
  for (const auto& job : claim(*fx, 1, kT0 + 1)) complete(*fx, job, kT0 + 1);
  auto orphans = fx->find_orphaned_content(100);
  REQUIRE_OK(orphans);
  CHECK(orphans->empty());
}

STORE_CONTRACT("find_stuck lists pending steps due for longer than the threshold") {
  std::string a = submit_small(*fx, "A", kT0);
  std::string b = submit_small(*fx, "B", kT0 + 100);
  std::string c = submit_small(*fx, "C", kT0 + 200);
  CHECK(fx->find_stuck(kT0 + 1000, 5000, 10)->empty());
  auto stuck = fx->find_stuck(kT0 + 5150, 5000, 10);
  REQUIRE_OK(stuck);
  std::set<std::string> ids;
  for (const auto& job : *stuck) ids.insert(job.id);
  CHECK(ids == std::set<std::string>{a, b});
  CHECK(fx->find_stuck(kT0 + 60'000, 5000, 2)->size() == 2);

  // Running steps and steps waiting for a retry are not stuck.
  auto jobs = claim(*fx, 10, kT0 + 60'000);
  REQUIRE(jobs.size() == 3);
  CHECK(fx->find_stuck(kT0 + 60'000, 5000, 10)->empty());
  REQUIRE_OK(fx->release_step(lease_of(pick(jobs, c)), "HTTP 429", kT0 + 120'000, kT0));
  CHECK(fx->find_stuck(kT0 + 100'000, 5000, 10)->empty());
  CHECK(fx->find_stuck(kT0 + 130'000, 5000, 10)->size() == 1);
}

STORE_CONTRACT("queue_outlook tells idle, ready, waiting and running apart") {
  auto empty = fx->queue_outlook(kT0);
  REQUIRE_OK(empty);
  CHECK(empty->idle());
  CHECK(empty->next_run_after == 0);

  std::string root = submit_small(*fx, "MATH", kT0);
  CHECK(fx->queue_outlook(kT0)->ready);
  CHECK_FALSE(fx->queue_outlook(kT0)->idle());

  Job job = claim_one(*fx, kT0, 1000);
  store::QueueOutlook held = *fx->queue_outlook(kT0 + 10);
  CHECK_FALSE(held.ready);
  CHECK(held.running);
  CHECK_FALSE(held.waiting);
  store::QueueOutlook expired = *fx->queue_outlook(kT0 + 2000);
  CHECK(expired.ready);  // its lease can be taken over
  CHECK_FALSE(expired.running);

  REQUIRE_OK(fx->release_step(lease_of(job), "HTTP 503", kT0 + 5000, kT0));
  store::QueueOutlook waiting = *fx->queue_outlook(kT0 + 100);
  CHECK_FALSE(waiting.ready);
  CHECK_FALSE(waiting.running);
  CHECK(waiting.waiting);
  CHECK(waiting.next_run_after == kT0 + 5000);
  CHECK_FALSE(waiting.idle());
  CHECK(fx->queue_outlook(kT0 + 5000)->ready);

  run_to_end(*fx, kT0 + 5000);
  REQUIRE(root_of(*fx, root).status == JobStatus::succeeded);
  CHECK(fx->queue_outlook(kT0 + 6000)->idle());
}

STORE_CONTRACT("two handles on one database never claim the same step") {
  for (const char* subject : {"A", "B", "C", "D", "E"}) submit_small(*fx, subject, kT0);
  auto other = fx.reopen();
  auto mine = claim(*fx, 3, kT0, kLease, "process-1");
  auto theirs = claim(*other, 3, kT0, kLease, "process-2");
  CHECK(mine.size() == 3);
  CHECK(theirs.size() == 2);
  std::set<std::string> ids;
  for (const auto& job : mine) ids.insert(job.id);
  for (const auto& job : theirs) ids.insert(job.id);
  CHECK(ids.size() == 5);
  CHECK(find(*other, mine[0].id).lease_holder == "process-1");
}

STORE_CONTRACT("read_metrics counts created, claimed, completed, retried, failed and calls") {
  auto before = fx->read_metrics(kT0, 15 * 60'000);
  REQUIRE_OK(before);
  auto delta = [&](const char* name, const std::string& labels) {
    auto now = fx->read_metrics(kT0, 15 * 60'000);
    REQUIRE_OK(now);
    return metric(*now, name, labels) - metric(*before, name, labels);
  };
  std::string root = submit_small(*fx, "MATH", kT0, 1);
  CHECK(delta(metrics::kJobsCreated, "target=\"subject\"") == 1);

  Job subject = claim_one(*fx, kT0);
  CHECK(delta(metrics::kJobsClaimed, "") == 1);
  complete(*fx, subject, kT0 + 2000);
  CHECK(delta(metrics::kJobsCompleted, "kind=\"subject\"") == 1);
  CHECK(delta(metrics::kJobsCreated, "target=\"chapter\"") == 2);
  CHECK(delta("hydrate_job_duration_seconds_count", "kind=\"subject\"") == 1);
  CHECK(delta("hydrate_job_duration_seconds_sum", "kind=\"subject\"") == doctest::Approx(2.0));
  CHECK(delta("hydrate_job_duration_seconds_bucket", "kind=\"subject\",le=\"+Inf\"") == 1);

  auto chapters = claim(*fx, 10, kT0 + 3000);
  REQUIRE(chapters.size() == 2);
  CHECK(delta(metrics::kJobsClaimed, "") == 3);
  REQUIRE_OK(fx->release_step(lease_of(chapters[0]), "HTTP 429", kT0 + 4000, kT0));
  CHECK(delta(metrics::kJobsRetried, "kind=\"chapter\"") == 1);
  REQUIRE_OK(fx->fail_step(lease_of(chapters[1]), "HTTP 400", kT0 + 4000));
  CHECK(delta(metrics::kJobsFailed, "kind=\"chapter\"") == 1);

  CallRecord call;
  call.job_id = subject.id;
  call.root_id = root;
  call.attempt = 1;
  call.model = "gpt-4o-mini";
  call.http_status = 200;
  call.usage = TokenUsage{400, 100, 50};
  call.cost_usd = 0.25;
  call.used = true;
  call.created_at = kT0;
  REQUIRE_OK(fx->log_call(call));
  CHECK(delta(metrics::kPromptTokens, "model=\"gpt-4o-mini\"") == 400);
  CHECK(delta(metrics::kCompletionTokens, "model=\"gpt-4o-mini\"") == 100);
  CHECK(delta(metrics::kCachedTokens, "model=\"gpt-4o-mini\"") == 50);
  CHECK(delta(metrics::kCostUsd, "model=\"gpt-4o-mini\"") == doctest::Approx(0.25));

  store::ReconcileRun run;
  run.started_at = kT0 + 5000;
  run.finished_at = kT0 + 6000;
  REQUIRE_OK(fx->record_reconcile_run(run));
  CHECK(delta(metrics::kReconcilerRuns, "") == 1);
  auto now = fx->read_metrics(kT0, 15 * 60'000);
  CHECK(metric(*now, metrics::kReconcilerLastRun) == doctest::Approx((kT0 + 6000) / 1000.0));
}

STORE_CONTRACT("load_content returns chapters, topics, notes and questions in position order") {
  std::string root = submit_small(*fx, "MATH", kT0);
  CHECK(fx->load_content(root)->empty());
  complete(*fx, claim_one(*fx, kT0), kT0);
  // Work finishes out of order: later positions first.
  auto chapters = claim(*fx, 10, kT0 + 1);
  complete(*fx, pick(chapters, JobKind::chapter, 2), kT0 + 2);
  complete(*fx, pick(chapters, JobKind::chapter, 1), kT0 + 3);
  auto leaves = claim(*fx, 10, kT0 + 4);
  REQUIRE(leaves.size() == 8);
  for (auto it = leaves.rbegin(); it != leaves.rend(); ++it) {
    if (it->kind == JobKind::questions || it->position == 2) complete(*fx, *it, kT0 + 5);
  }
  // Topic 1's notes are still in flight: the content has no note for them yet.
  auto partial = fx->load_content(root);
  REQUIRE_OK(partial);
  REQUIRE(partial->size() == 2);
  CHECK_FALSE((*partial)[0].topics[0].note.has_value());
  CHECK((*partial)[0].topics[1].note.has_value());
  for (const auto& leaf : leaves) {
    if (leaf.kind == JobKind::note && leaf.position == 1) complete(*fx, leaf, kT0 + 6);
  }

  auto content = fx->load_content(root);
  REQUIRE_OK(content);
  REQUIRE(content->size() == 2);
  for (int c = 1; c <= 2; ++c) {
    const store::ChapterContent& chapter = (*content)[c - 1];
    CAPTURE(c);
    CHECK(chapter.position == c);
    CHECK(chapter.plan.title == "Chapter " + std::to_string(c));
    CHECK(chapter.plan.summary == "Summary of chapter " + std::to_string(c));
    REQUIRE(chapter.topics.size() == 2);
    for (int t = 1; t <= 2; ++t) {
      const store::TopicContent& topic = chapter.topics[t - 1];
      std::string where = std::to_string(c) + "." + std::to_string(t);
      CAPTURE(t);
      CHECK(topic.position == t);
      CHECK(topic.plan.title == "Topic " + where);
      CHECK(topic.plan.objectives == std::vector<std::string>{"objective one", "objective two"});
      REQUIRE(topic.note.has_value());
      CHECK(topic.note->markdown == "# Note " + where);
      CHECK(topic.note->key_points ==
            std::vector<std::string>{"point one", "point two", "point three"});
      REQUIRE(topic.questions.size() == 2);
      CHECK(topic.questions[0].prompt == "Question 1 of topic " + where);
      CHECK(topic.questions[0].type == "mcq");
      CHECK(topic.questions[0].options == std::vector<std::string>{"a", "b", "c", "d"});
      CHECK(topic.questions[0].answer == "b");
      CHECK(topic.questions[1].prompt == "Question 2 of topic " + where);
      CHECK(topic.questions[1].options.empty());
      CHECK(topic.questions[1].difficulty == "easy");
    }
  }
}

STORE_CONTRACT("recent_roots lists the newest roots first") {
  std::string a = submit_small(*fx, "A", kT0);
  std::string b = submit_small(*fx, "B", kT0 + 1000);
  std::string c = submit_small(*fx, "C", kT0 + 2000);
  auto roots = fx->recent_roots(2);
  REQUIRE_OK(roots);
  REQUIRE(roots->size() == 2);
  CHECK((*roots)[0].job.id == c);
  CHECK((*roots)[1].job.id == b);
  CHECK(fx->recent_roots(10)->back().job.id == a);
}

STORE_CONTRACT("recent_errors lists the tree's errors, the most recently changed first") {
  std::string a = submit_small(*fx, "A", kT0);
  std::string b = submit_small(*fx, "B", kT0);
  store::StepOutput plan = complete(*fx, pick(claim(*fx, 10, kT0 + 3000), a), kT0 + 3000);
  auto chapters = claim(*fx, 10, kT0 + 4000);
  std::string one = child_id(plan, JobKind::chapter, 1);
  std::string two = child_id(plan, JobKind::chapter, 2);
  // Chapter 1 is put back for a retry a minute later; then chapter 2 fails.
  REQUIRE_OK(fx->release_step(lease_of(pick(chapters, one)), "HTTP 429", kT0 + 64'000, kT0 + 4000));
  REQUIRE_OK(fx->fail_step(lease_of(pick(chapters, two)), "HTTP 400", kT0 + 5000));
  auto errors = fx->recent_errors(a, 10);
  REQUIRE_OK(errors);
  REQUIRE(errors->size() == 2);
  CHECK((*errors)[0].id == two);
  CHECK((*errors)[0].last_error == "HTTP 400");
  CHECK((*errors)[1].id == one);
  CHECK(fx->recent_errors(b, 10)->empty());
}
