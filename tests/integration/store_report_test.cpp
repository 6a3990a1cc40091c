// Store contract, operations report: the attempt log ends every claim exactly once with what
// ended it (migration 006), and ops_facts reads the window's finished roots, reconcile runs,
// claims, rejected answers, refused results and held locks, and nothing outside the window.
#include <map>

#include "tests/integration/store_contract.hpp"

using namespace hydrate;
using namespace hydrate::testing;

namespace {

store::OpsFacts facts(store::Store& store, Millis since, Millis now) {
  auto read = store.ops_facts(since, now);
  if (!read) FAIL("ops_facts: " << read.error().message);
  return *read;
}

std::int64_t outcome(const store::OpsFacts& f, const std::string& name) {
  auto it = f.attempts.find(name);
  return it == f.attempts.end() ? 0 : it->second;
}

}  // namespace

STORE_CONTRACT("the attempt log ends every claim once, with what ended it") {
  // A: its subject succeeds; chapter 1 is released, retried after a transient fault, then
  // fails; chapter 2's lease expires and another worker claims it, and that claim's lease
  // expires too and reconcile rescues it. B is cancelled while its subject is held. C's subject
  // is still held at the end.
  std::string a = submit_small(*fx, "A", kT0);
  Job subject = claim_one(*fx, kT0 + 10);
  REQUIRE(subject.id == a);
  complete(*fx, subject, kT0 + 20);  // succeeded

  Millis t = kT0 + 100;
  auto chapters = claim(*fx, 2, t);
  REQUIRE(chapters.size() == 2);
  Job c1 = pick(chapters, JobKind::chapter, 1), c2 = pick(chapters, JobKind::chapter, 2);
  REQUIRE_OK(fx->release_step(lease_of(c1), "invalid answer", t + 1, t + 1));  // retried
  // c2's claim expires at t + kLease: a claim after that takes it over (lease lost).
  Job c1_again = claim_one(*fx, t + 2);
  REQUIRE(c1_again.id == c1.id);
  REQUIRE_OK(fx->release_transient(lease_of(c1_again), "HTTP 503", t + 3, t + 3));  // retried
  Job c1_third = claim_one(*fx, t + 4);
  REQUIRE(c1_third.id == c1.id);
  REQUIRE_OK(fx->fail_step(lease_of(c1_third), "HTTP 400", t + 5));  // failed

  Millis later = t + kLease + 1000;
  Job c2_again = claim_one(*fx, later, 1000, "worker-b");  // c2's first claim: lease lost
  REQUIRE(c2_again.id == c2.id);
  // The first holder's late write is refused and changes nothing in the log.
  CHECK_FALSE(fx->complete_step(lease_of(c2), output_for(c2, later + 1), later + 1).ok());
  REQUIRE(*fx->rescue_expired_leases(later + 5000) == 1);  // c2's second claim: lease lost

  // B and C go first: A's chapter 2 is pending again, and older.
  std::string b = submit_small(*fx, "B", later + 6000, 5, 9);
  Job b_subject = claim_one(*fx, later + 6001);
  REQUIRE(b_subject.id == b);
  REQUIRE_OK(fx->cancel(b, "not wanted", later + 6002));  // cancelled
  CHECK_FALSE(
      fx->complete_step(lease_of(b_subject), output_for(b_subject, later + 6003), later + 6003)
          .ok());

  std::string c = submit_small(*fx, "C", later + 7000, 5, 9);
  Job c_subject = claim_one(*fx, later + 7001);  // in flight
  REQUIRE(c_subject.id == c);

  auto all = facts(*fx, kT0, later + 8000);
  const std::map<std::string, std::int64_t> expected = {{"succeeded", 1}, {"retried", 2},
                                                        {"failed", 1},    {"lease_lost", 2},
                                                        {"cancelled", 1}, {"in_flight", 1}};
  CHECK(all.attempts == expected);

  // A claim counts in the window it was made in: from `later`, only c2's second claim, B's and
  // C's.
  auto recent = facts(*fx, later, later + 8000);
  CHECK(outcome(recent, "lease_lost") == 1);
  CHECK(outcome(recent, "cancelled") == 1);
  CHECK(outcome(recent, "in_flight") == 1);
  CHECK(outcome(recent, "succeeded") == 0);
  CHECK(outcome(recent, "retried") == 0);

  // Cancelling one step of a tree ends its held claim as cancelled, not the tree's others.
  auto c_chapters = [&] {
    complete(*fx, c_subject, later + 9000);
    return claim(*fx, 2, later + 9001);
  }();
  REQUIRE(c_chapters.size() == 2);
  CHECK(c_chapters[0].root_id == c);
  CHECK(c_chapters[1].root_id == c);
  REQUIRE_OK(fx->cancel(c_chapters[0].id, "this chapter only", later + 9002));
  auto after = facts(*fx, later + 9001, later + 9003);
  CHECK(outcome(after, "cancelled") == 1);
  CHECK(outcome(after, "in_flight") == 1);
}

STORE_CONTRACT("ops_facts reads the window's roots, runs, rejections and locks, nothing older") {
  // Before the window: an old root finishes and an old reconcile run and rejection happen.
  std::string old_root = submit_small(*fx, "OLD", kT0);
  run_to_end(*fx, kT0 + 1000);
  REQUIRE(root_of(*fx, old_root).status == JobStatus::succeeded);
  REQUIRE_OK(fx->record_reconcile_run({kT0 + 1000, kT0 + 1400, 0, 0, 0, 0, 0}));

  const Millis since = kT0 + 3'600'000;
  Millis t = since + 1000;
  // In the window: a root whose subject logs a rejected answer, a cut-off one, a 500 and a
  // refused result before it succeeds with a used call of $0.40 (estimated $0.25).
  std::string good = submit_small(*fx, "GOOD", t);
  Job subject = claim_one(*fx, t + 1);
  REQUIRE(subject.id == good);
  auto logged = [&](CallRecord call, Millis at, const std::string& error, int status = 200) {
    call.created_at = at;
    call.error = error;
    call.http_status = status;
    REQUIRE_OK(fx->log_call(call));
  };
  CallRecord unused = call_for(subject, 100, 50, 0, 0.001, false);
  logged(unused, t + 2, "invalid answer: chapters[2].title is empty");
  logged(unused, t + 3, "invalid answer: chapters[5].title is empty");
  logged(unused, t + 4, "output cut short: finish_reason length (max tokens reached)");
  logged(unused, t + 5, "HTTP 500: server error", 500);
  logged(unused, t + 6, "result not saved: job x: lease lost, result discarded");
  logged(unused, kT0 + 5, "invalid answer: before the window");
  store::StepOutput output = output_for(subject, t + 10);
  output.call = call_for(subject, 1000, 500, 0, 0.40, true);
  output.call->created_at = t + 10;
  REQUIRE_OK(fx->complete_step(lease_of(subject), output, t + 10));
  run_to_end(*fx, t + 20);
  REQUIRE(root_of(*fx, good).status == JobStatus::succeeded);
  // A root that fails and one that is cancelled.
  std::string bad = submit_small(*fx, "BAD", t + 30, 1);
  Job bad_subject = claim_one(*fx, t + 31);
  REQUIRE(bad_subject.id == bad);
  REQUIRE_OK(fx->fail_step(lease_of(bad_subject), "HTTP 400", t + 32));
  std::string gone = submit_small(*fx, "GONE", t + 40);
  REQUIRE_OK(fx->cancel(gone, "not wanted", t + 41));
  // Two reconcile runs in the window; the lock held now, another lock expired.
  REQUIRE_OK(fx->record_reconcile_run({t + 50, t + 250, 0, 0, 0, 0, 0}));
  REQUIRE_OK(fx->record_reconcile_run({t + 60, t + 1060, 0, 0, 0, 0, 0}));
  REQUIRE(fx->try_lock("reconcile", "host-a:42", 300'000, t + 70)->acquired);
  REQUIRE(fx->try_lock("stale", "host-b:7", 10, t + 70)->acquired);

  Millis now = t + 100;
  auto f = facts(*fx, since, now);
  REQUIRE(f.roots.size() == 3);
  CHECK(f.roots[0].id == good);
  CHECK(f.roots[0].status == JobStatus::succeeded);
  CHECK(f.roots[0].slot == test_slot("GOOD"));
  CHECK(f.roots[0].estimated_cost_usd == doctest::Approx(0.25));
  CHECK(f.roots[0].spent_usd == doctest::Approx(0.40 + 6 * 0.001));
  CHECK(f.roots[0].created_at == t);
  CHECK(f.roots[0].finished_at == t + 20);
  CHECK(f.roots[1].id == bad);
  CHECK(f.roots[1].status == JobStatus::failed);
  CHECK(f.roots[2].id == gone);
  CHECK(f.roots[2].status == JobStatus::cancelled);

  CHECK(f.reconcile_ms == std::vector<Millis>{200, 1000});
  CHECK(f.last_reconcile_at == t + 1060);

  REQUIRE(f.rejections.size() == 3);
  std::map<std::string, std::int64_t> by_error;
  for (const auto& r : f.rejections) {
    CHECK(r.kind == JobKind::subject);
    by_error[r.error] += r.count;
  }
  CHECK(by_error["invalid answer: chapters[2].title is empty"] == 1);
  CHECK(by_error["invalid answer: chapters[5].title is empty"] == 1);
  CHECK(by_error["output cut short: finish_reason length (max tokens reached)"] == 1);
  CHECK(f.results_refused == 1);

  REQUIRE(f.locks.size() == 1);
  CHECK(f.locks[0].name == "reconcile");
  CHECK(f.locks[0].holder == "host-a:42");
  CHECK(f.locks[0].expires_at == t + 70 + 300'000);

  // An empty window reads nothing.
  auto none = facts(*fx, now + 1, now + 2);
  CHECK(none.roots.empty());
  CHECK(none.reconcile_ms.empty());
  CHECK(none.rejections.empty());
  CHECK(none.attempts.empty());
  CHECK(none.last_reconcile_at == t + 1060);
}
