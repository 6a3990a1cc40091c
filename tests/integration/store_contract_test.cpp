// Store contract, part 1: schema, submit, claims, leases, fencing and step results.
// Written against store::Store only; see store_contract.hpp for how it runs on each backend.
#include <algorithm>
#include <set>

#include "core/ids.hpp"
#include "tests/integration/store_contract.hpp"

using namespace hydrate;
using namespace hydrate::testing;

STORE_CONTRACT("migrate is idempotent and reports the version in force") {
  auto first = fx->migrate();
  REQUIRE_OK(first);
  CHECK(*first >= 1);
  auto second = fx->migrate();
  REQUIRE_OK(second);
  CHECK(*second == *first);
  auto other = fx.reopen();
  auto third = other->migrate();
  REQUIRE_OK(third);
  CHECK(*third == *first);
}

STORE_CONTRACT("submit_root creates a pending root and returns it") {
  store::NewRoot request = new_root(test_slot("MATH"), small_options(), kT0, 3, 4);
  store::SubmitOutcome outcome = submit(*fx, request);
  CHECK_FALSE(outcome.deduplicated);
  const store::RootRecord& root = outcome.root;
  CHECK(root.job.id == request.job.id);
  CHECK(root.status == JobStatus::pending);
  CHECK(root.slot == request.slot);
  CHECK(root.options == request.options);
  CHECK(root.trace_id == request.trace_id);
  CHECK(root.estimates_json == request.estimates_json);
  CHECK(root.estimated_cost_usd == doctest::Approx(0.25));
  CHECK(root.budget_usd == doctest::Approx(1.5));
  CHECK(root.created_at == kT0);
  CHECK(root.started_at == 0);
  CHECK(root.finished_at == 0);

  Job job = find(*fx, request.job.id);
  CHECK(job.kind == JobKind::subject);
  CHECK(job.status == JobStatus::pending);
  CHECK(job.root_id == job.id);
  CHECK(job.parent_id.empty());
  CHECK(job.priority == 3);
  CHECK(job.max_attempts == 4);
  CHECK(job.attempts == 0);
  CHECK(job.input == request.job.input);
  CHECK(job.lease_token.empty());

  CHECK(root_of(*fx, job.id).status == JobStatus::pending);
  auto open = fx->open_root_ids(10);
  REQUIRE_OK(open);
  CHECK(*open == std::vector<std::string>{job.id});
}

STORE_CONTRACT("reads of absent jobs and of non-roots are not_found") {
  auto missing = fx->find_job(new_job_id(kT0));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::not_found);
  std::string root = submit_small(*fx, "MATH", kT0);
  complete(*fx, claim_one(*fx, kT0), kT0);
  auto chapters = claim(*fx, 10, kT0 + 1);
  REQUIRE(chapters.size() == 2);
  auto not_root = fx->find_root(chapters[0].id);
  REQUIRE_FALSE(not_root.ok());
  CHECK(not_root.error().kind == ErrorKind::not_found);
  CHECK(fx->find_root(root).ok());
}

STORE_CONTRACT("a second submit with the same key while live returns the same root") {
  store::NewRoot first = new_root(test_slot("MATH"), small_options(), kT0);
  std::string id = submit(*fx, first).root.job.id;
  store::NewRoot again = new_root(test_slot("MATH"), small_options(), kT0 + 1000);
  REQUIRE(again.job.id != id);
  store::SubmitOutcome outcome = submit(*fx, again);
  CHECK(outcome.deduplicated);
  CHECK(outcome.root.job.id == id);
  CHECK(fx->find_job(again.job.id).error().kind == ErrorKind::not_found);

  SUBCASE("still while running") {
    claim_one(*fx, kT0 + 2000);
    store::SubmitOutcome running =
        submit(*fx, new_root(test_slot("MATH"), small_options(), kT0 + 3000));
    CHECK(running.deduplicated);
    CHECK(running.root.job.id == id);
  }
  SUBCASE("other options are another root") {
    store::SubmitOutcome other =
        submit(*fx, new_root(test_slot("MATH"), small_options(false), kT0));
    CHECK_FALSE(other.deduplicated);
    CHECK(other.root.job.id != id);
  }
  SUBCASE("once the live root is cancelled, the key is free again") {
    REQUIRE_OK(fx->cancel(id, "changed my mind", kT0 + 2000));
    store::SubmitOutcome fresh =
        submit(*fx, new_root(test_slot("MATH"), small_options(), kT0 + 3000));
    CHECK_FALSE(fresh.deduplicated);
    CHECK(fresh.root.job.id != id);
  }
}

STORE_CONTRACT("claim_batch respects the limit, leases what it claims, and never claims twice") {
  std::set<std::string> roots = {submit_small(*fx, "A", kT0), submit_small(*fx, "B", kT0),
                                 submit_small(*fx, "C", kT0)};
  auto first = claim(*fx, 2, kT0 + 10, 30'000, "host-1:42");
  REQUIRE(first.size() == 2);
  for (const auto& job : first) {
    CHECK(roots.count(job.id) == 1);
    CHECK(job.status == JobStatus::running);
    CHECK(job.attempts == 1);
    CHECK(job.lease_holder == "host-1:42");
    CHECK_FALSE(job.lease_token.empty());
    CHECK(job.lease_expires_at == kT0 + 10 + 30'000);
    CHECK(job.started_at == kT0 + 10);
    Job stored = find(*fx, job.id);
    CHECK(stored.status == JobStatus::running);
    CHECK(stored.lease_token == job.lease_token);
    CHECK(root_of(*fx, job.id).status == JobStatus::running);
    CHECK(root_of(*fx, job.id).started_at == kT0 + 10);
  }
  CHECK(first[0].id != first[1].id);
  auto second = claim(*fx, 5, kT0 + 20, 30'000, "host-2:7");
  REQUIRE(second.size() == 1);
  CHECK(second[0].id != first[0].id);
  CHECK(second[0].id != first[1].id);
  CHECK(second[0].lease_token != first[0].lease_token);
  CHECK(claim(*fx, 5, kT0 + 30).empty());
  CHECK(claim(*fx, 0, kT0 + 30).empty());
}

STORE_CONTRACT("claim_batch takes the highest priority, then the oldest run_after, when due") {
  std::string a = submit_small(*fx, "A", kT0 + 1, 5, 0);
  std::string c = submit_small(*fx, "C", kT0 + 2, 5, 0);
  std::string b = submit_small(*fx, "B", kT0 + 3, 5, 5);
  std::string d = submit_small(*fx, "D", kT0 + 100, 5, 9);  // not due before kT0 + 100
  CHECK(claim_one(*fx, kT0 + 50).id == b);
  CHECK(claim_one(*fx, kT0 + 50).id == a);
  CHECK(claim_one(*fx, kT0 + 50).id == c);
  CHECK(claim(*fx, 10, kT0 + 99).empty());
  CHECK(claim_one(*fx, kT0 + 100).id == d);
}

STORE_CONTRACT("an expired lease is taken over while attempts are left, never once exhausted") {
  std::string root = submit_small(*fx, "MATH", kT0, 2);
  Job first = claim_one(*fx, kT0, 1000, "worker-a");
  CHECK(first.attempts == 1);
  CHECK(claim(*fx, 10, kT0 + 999, 1000, "worker-b").empty());  // still held
  Job second = claim_one(*fx, kT0 + 2000, 1000, "worker-b");
  CHECK(second.id == root);
  CHECK(second.attempts == 2);
  CHECK(second.lease_holder == "worker-b");
  CHECK(second.lease_token != first.lease_token);
  CHECK(second.lease_expires_at == kT0 + 3000);
  // Expired again, but both attempts are used: nobody claims it (reconcile fails it).
  CHECK(claim(*fx, 10, kT0 + 10'000, 1000, "worker-c").empty());
  CHECK(find(*fx, root).attempts == 2);
}

STORE_CONTRACT("a lapsed lease is taken over before the pending steps due at the same time") {
  // A tree's leaves are all due from the instant their chapter succeeded: a worker that died
  // holding some of them must not leave them behind every other leaf until reconcile.
  submit_small(*fx, "MATH", kT0);
  complete(*fx, claim_one(*fx, kT0), kT0 + 1);
  for (const auto& chapter : claim(*fx, 10, kT0 + 2)) complete(*fx, chapter, kT0 + 3);
  auto held = claim(*fx, 3, kT0 + 4, 1000, "worker-a");  // worker-a dies holding them
  REQUIRE(held.size() == 3);
  for (int round = 0; round < 3; ++round) {
    Job next = claim_one(*fx, kT0 + 2000 + round, kLease, "worker-b");
    CAPTURE(round);
    CHECK(next.attempts == 2);  // one of worker-a's, not a pending leaf
    CHECK(std::any_of(held.begin(), held.end(), [&](const Job& j) { return j.id == next.id; }));
  }
  CHECK(claim_one(*fx, kT0 + 2010, kLease, "worker-b").attempts == 1);  // then the pending ones
}

STORE_CONTRACT("extend_leases moves the expiry of held leases and counts only those") {
  submit_small(*fx, "A", kT0);
  submit_small(*fx, "B", kT0);
  auto jobs = claim(*fx, 2, kT0, 1000);
  REQUIRE(jobs.size() == 2);
  std::vector<store::LeaseRef> leases = {lease_of(jobs[0]),
                                         lease_of(jobs[1]),
                                         {jobs[0].id, new_lease_token()},
                                         {new_job_id(kT0), new_lease_token()}};
  auto held = fx->extend_leases(leases, kT0 + 90'000);
  REQUIRE_OK(held);
  CHECK(*held == 2);
  CHECK(find(*fx, jobs[0].id).lease_expires_at == kT0 + 90'000);
  CHECK(find(*fx, jobs[1].id).lease_expires_at == kT0 + 90'000);
  // Extended, the lease is not taken over when the old expiry passes.
  CHECK(claim(*fx, 10, kT0 + 5000).empty());

  complete(*fx, jobs[0], kT0 + 6000);
  auto after = fx->extend_leases({lease_of(jobs[0]), lease_of(jobs[1])}, kT0 + 120'000);
  REQUIRE_OK(after);
  CHECK(*after == 1);
}

STORE_CONTRACT("extend_leases renews hundreds of leases of several claims, and only those held") {
  // 30 small trees: their 30 subjects, then their 60 chapters, claimed in three batches (three
  // lease tokens), with leases of completed steps and made-up ones mixed in.
  for (int i = 0; i < 30; ++i) submit_small(*fx, "S" + std::to_string(i), kT0);
  auto subjects = claim(*fx, 30, kT0, 1000);
  REQUIRE(subjects.size() == 30);
  for (const auto& job : subjects) complete(*fx, job, kT0 + 1);
  auto first = claim(*fx, 25, kT0 + 2, 1000, "worker-a");
  auto second = claim(*fx, 35, kT0 + 2, 1000, "worker-b");
  REQUIRE(first.size() == 25);
  REQUIRE(second.size() == 35);
  std::vector<store::LeaseRef> leases;
  for (const auto& job : first) leases.push_back(lease_of(job));
  for (const auto& job : second) leases.push_back(lease_of(job));
  for (const auto& job : subjects) leases.push_back(lease_of(job));  // finished: not held
  for (int i = 0; i < 7; ++i) leases.push_back({first[i].id, new_lease_token()});  // wrong token
  auto held = fx->extend_leases(leases, kT0 + 90'000);
  REQUIRE_OK(held);
  CHECK(*held == 60);
  for (const auto& job : first) CHECK(find(*fx, job.id).lease_expires_at == kT0 + 90'000);
  for (const auto& job : second) CHECK(find(*fx, job.id).lease_expires_at == kT0 + 90'000);
  CHECK(claim(*fx, 100, kT0 + 5000).empty());  // none taken over at the old expiry
  // An empty list and a list of one, the smallest statements.
  auto none = fx->extend_leases({}, kT0 + 100'000);
  REQUIRE_OK(none);
  CHECK(*none == 0);
  auto one = fx->extend_leases({lease_of(second.back())}, kT0 + 100'000);
  REQUIRE_OK(one);
  CHECK(*one == 1);
  CHECK(find(*fx, second.back().id).lease_expires_at == kT0 + 100'000);
  CHECK(find(*fx, second.front().id).lease_expires_at == kT0 + 90'000);
}

STORE_CONTRACT("fencing: a result under a lost lease is a conflict and writes nothing") {
  std::string root = submit_small(*fx, "MATH", kT0);
  Job zombie = claim_one(*fx, kT0, 1000, "worker-a");
  Job holder = claim_one(*fx, kT0 + 5000, kLease, "worker-b");  // took over the expired lease
  REQUIRE(holder.id == zombie.id);

  store::StepOutput late = output_for(zombie, kT0 + 6000);
  REQUIRE(late.chapters.size() == 2);
  REQUIRE(late.children.size() == 2);
  auto saved = fx->complete_step(lease_of(zombie), late, kT0 + 6000);
  REQUIRE_FALSE(saved.ok());
  CHECK(saved.error().kind == ErrorKind::conflict);

  Job stored = find(*fx, root);
  CHECK(stored.status == JobStatus::running);
  CHECK(stored.lease_holder == "worker-b");
  CHECK(stored.lease_token == holder.lease_token);
  store::TreeCounts c = counts(*fx, root);
  CHECK_FALSE(c.subject_succeeded);
  CHECK(c.chapter_rows == 0);
  CHECK(c.jobs_running == 1);
  CHECK(c.jobs_pending == 0);
  CHECK(c.jobs_succeeded == 0);
  for (const auto& child : late.children) {
    CHECK(fx->find_job(child.id).error().kind == ErrorKind::not_found);
  }
  auto content = fx->load_content(root);
  REQUIRE_OK(content);
  CHECK(content->empty());

  // The other fenced writes refuse the zombie too.
  CHECK(fx->release_step(lease_of(zombie), "late", kT0 + 7000, kT0).error().kind ==
        ErrorKind::conflict);
  CHECK(fx->fail_step(lease_of(zombie), "late", kT0 + 7000).error().kind == ErrorKind::conflict);
  CHECK(fx->begin_reask(lease_of(zombie)).error().kind == ErrorKind::conflict);
  CHECK(find(*fx, root).status == JobStatus::running);

  // The holder's result is written.
  complete(*fx, holder, kT0 + 8000);
  CHECK(counts(*fx, root).chapter_rows == 2);
}

STORE_CONTRACT("complete_step writes content, children and success at once, and only once") {
  std::string root = submit_small(*fx, "MATH", kT0);
  Job subject = claim_one(*fx, kT0);
  store::StepOutput out = complete(*fx, subject, kT0 + 500);

  Job done = find(*fx, root);
  CHECK(done.status == JobStatus::succeeded);
  CHECK(done.finished_at == kT0 + 500);
  CHECK(done.lease_token.empty());
  store::TreeCounts c = counts(*fx, root);
  CHECK(c.subject_succeeded);
  CHECK(c.chapter_rows == 2);
  CHECK(c.jobs_succeeded == 1);
  CHECK(c.jobs_pending == 2);
  for (const auto& child : out.children) {
    Job stored = find(*fx, child.id);
    CHECK(stored.kind == JobKind::chapter);
    CHECK(stored.status == JobStatus::pending);
    CHECK(stored.parent_id == root);
    CHECK(stored.root_id == root);
    CHECK(stored.position == child.position);
    CHECK(stored.attempts == 0);
  }
  auto content = fx->load_content(root);
  REQUIRE_OK(content);
  REQUIRE(content->size() == 2);
  CHECK((*content)[0].plan.title == "Chapter 1");

  // Repeating the same step (a retried request, a duplicate delivery) is refused.
  auto again = fx->complete_step(lease_of(subject), output_for(subject, kT0 + 600), kT0 + 600);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().kind == ErrorKind::conflict);
  store::TreeCounts after = counts(*fx, root);
  CHECK(after.chapter_rows == 2);
  CHECK(after.jobs_pending == 2);
  CHECK(after.jobs_succeeded == 1);
  CHECK(find(*fx, root).finished_at == kT0 + 500);
}

STORE_CONTRACT("children are unique on (parent, kind, position): inserting them again adds none") {
  std::string root = submit_small(*fx, "MATH", kT0);
  Job subject = claim_one(*fx, kT0);
  store::StepOutput out = complete(*fx, subject, kT0);
  // The same fan-out with new ids, as a repeated repair would make it.
  store::StepOutput again = output_for(find(*fx, root), kT0 + 1);
  REQUIRE(again.children.size() == 2);
  REQUIRE(again.children[0].id != out.children[0].id);
  auto inserted = fx->insert_jobs(again.children, kT0 + 1);
  REQUIRE_OK(inserted);
  CHECK(*inserted == 0);
  CHECK(counts(*fx, root).jobs_pending == 2);
  CHECK(fx->find_job(again.children[0].id).error().kind == ErrorKind::not_found);

  // Under a chapter, a note and a questions job share each position: the key includes the kind.
  Job chapter = pick(claim(*fx, 10, kT0 + 2), child_id(out, JobKind::chapter, 1));
  store::StepOutput topics = complete(*fx, chapter, kT0 + 3);
  CHECK(topics.children.size() == 4);
  CHECK(counts(*fx, root).jobs_pending == 4);
  auto repeated = fx->insert_jobs(output_for(find(*fx, chapter.id), kT0 + 4).children, kT0 + 4);
  REQUIRE_OK(repeated);
  CHECK(*repeated == 0);
}

STORE_CONTRACT("begin_reask counts one more attempt until attempts are exhausted") {
  std::string root = submit_small(*fx, "MATH", kT0, 3);
  Job job = claim_one(*fx, kT0);
  auto first = fx->begin_reask(lease_of(job));
  REQUIRE_OK(first);
  CHECK(*first);
  CHECK(find(*fx, root).attempts == 2);
  REQUIRE_OK(fx->begin_reask(lease_of(job)));
  CHECK(find(*fx, root).attempts == 3);
  auto exhausted = fx->begin_reask(lease_of(job));
  REQUIRE_OK(exhausted);
  CHECK_FALSE(*exhausted);
  CHECK(find(*fx, root).attempts == 3);
  CHECK(find(*fx, root).status == JobStatus::running);
}
