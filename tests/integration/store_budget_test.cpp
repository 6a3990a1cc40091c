// Store contract, part 4: budgets — reservations before each call, deferral while calls in
// flight hold the budget, the stop when the spend leaves too little, and raising the budget.
#include "tests/integration/store_contract.hpp"

using namespace hydrate;
using namespace hydrate::testing;

namespace {

// A root like submit_small's with the given budget (0 = none); returns its id.
std::string submit_budgeted(store::Store& store, const std::string& subject, double budget) {
  store::NewRoot root = new_root(test_slot(subject), small_options(), kT0);
  root.budget_usd = budget;
  return submit(store, root).root.job.id;
}

// A model call of job under its current lease, costing cost.
CallRecord bill(const Job& job, double cost) {
  return call_for(job, 1000, 100, 0, cost, false);
}

store::Reservation reserve(store::Store& store, const Job& job, double worst, Millis now) {
  auto reservation = store.reserve_call(lease_of(job), worst, now, now + 1000);
  if (!reservation) FAIL("reserve_call: " << reservation.error().message);
  return *reservation;
}

// Submits a budgeted tree, completes its subject step and claims both chapter steps.
std::vector<Job> two_chapters_in_flight(store::Store& store, double budget) {
  submit_budgeted(store, "MATH", budget);
  complete(store, claim_one(store, kT0), kT0 + 10);
  auto chapters = claim(store, 10, kT0 + 20);
  REQUIRE(chapters.size() == 2);
  return chapters;
}

}  // namespace

STORE_CONTRACT("a root without a budget grants every reservation") {
  submit_budgeted(*fx, "MATH", 0);
  Job subject = claim_one(*fx, kT0);
  CHECK(reserve(*fx, subject, 1e6, kT0) == store::Reservation::granted);
  CHECK(find(*fx, subject.id).status == JobStatus::running);
}

STORE_CONTRACT("budgeted_roots names the roots that have a budget now, in one read") {
  std::string none = submit_budgeted(*fx, "MATH", 0);
  std::string one = submit_budgeted(*fx, "PHYSICS", 2.5);
  std::string two = submit_budgeted(*fx, "BIOLOGY", 0.5);
  const std::string unknown = "j_0000000000000000000000000";
  auto budgeted = fx->budgeted_roots({none, one, unknown, two, one});
  REQUIRE_OK(budgeted);
  CHECK(*budgeted == std::set<std::string>{one, two});
  REQUIRE_OK(fx->set_budget(two, 0));
  REQUIRE_OK(fx->set_budget(none, 1.0));
  budgeted = fx->budgeted_roots({none, one, two});
  REQUIRE_OK(budgeted);
  CHECK(*budgeted == std::set<std::string>{none, one});
  // Three lists of different lengths (1, 3 and 5 ids: padded to 1, 4 and 8) read the same.
  CHECK(fx->budgeted_roots({one})->size() == 1);
  CHECK(fx->budgeted_roots({})->empty());
}

STORE_CONTRACT("reservations of live steps and the tree's spend share the budget") {
  auto chapters = two_chapters_in_flight(*fx, 1.0);
  CHECK(reserve(*fx, chapters[0], 0.6, kT0 + 30) == store::Reservation::granted);
  // 0.6 reserved by the other chapter: 0.5 more would pass 1.0, but alone it fits: wait.
  CHECK(reserve(*fx, chapters[1], 0.5, kT0 + 30) == store::Reservation::deferred);
  Job waiting = find(*fx, chapters[1].id);
  CHECK(waiting.status == JobStatus::pending);
  CHECK(waiting.attempts == chapters[1].attempts - 1);  // the deferral costs no attempt
  CHECK(waiting.run_after == kT0 + 1030);
  CHECK(root_of(*fx, chapters[0].root_id).status == JobStatus::running);

  // The first call cost 0.1: its reservation is released and the spend recorded.
  REQUIRE_OK(fx->log_call(bill(chapters[0], 0.1)));
  CHECK(root_of(*fx, chapters[0].root_id).spent_usd == doctest::Approx(0.1));
  Job again = claim_one(*fx, kT0 + 2000);
  REQUIRE(again.id == chapters[1].id);
  CHECK(reserve(*fx, again, 0.5, kT0 + 2000) == store::Reservation::granted);
  // A step's own earlier reservation does not count against its next call (a re-ask).
  CHECK(reserve(*fx, chapters[0], 0.4, kT0 + 2000) == store::Reservation::granted);
}

STORE_CONTRACT("an expired lease's reservation no longer holds the budget") {
  auto chapters = two_chapters_in_flight(*fx, 1.0);
  CHECK(reserve(*fx, chapters[0], 0.9, kT0 + 30) == store::Reservation::granted);
  // The holder died: once its lease expires, the reservation stops counting.
  Millis later = chapters[0].lease_expires_at + 1;
  CHECK(reserve(*fx, chapters[1], 0.9, later) == store::Reservation::granted);
}

STORE_CONTRACT("a zombie's late call is billed but frees nothing of the new holder's") {
  submit_budgeted(*fx, "MATH", 1.0);
  complete(*fx, claim_one(*fx, kT0), kT0 + 10);
  auto zombies = claim(*fx, 10, kT0 + 20, 1000, "worker-a");
  REQUIRE(zombies.size() == 2);
  CHECK(reserve(*fx, zombies[0], 0.3, kT0 + 20) == store::Reservation::granted);
  // worker-a stalls past its leases; worker-b takes both steps over.
  auto holders = claim(*fx, 10, kT0 + 2000, kLease, "worker-b");
  REQUIRE(holders.size() == 2);
  Job first = pick(holders, zombies[0].id), second = pick(holders, zombies[1].id);
  CHECK(reserve(*fx, first, 0.5, kT0 + 2000) == store::Reservation::granted);
  REQUIRE_OK(fx->log_call(bill(zombies[0], 0.2)));  // the zombie's call comes back late
  CHECK(root_of(*fx, first.root_id).spent_usd == doctest::Approx(0.2));
  CHECK(find(*fx, first.id).actual_cost_usd == doctest::Approx(0.2));
  // first's 0.5 still holds: 0.2 spent + 0.5 + 0.4 passes 1.0, so second waits.
  CHECK(reserve(*fx, second, 0.4, kT0 + 2000) == store::Reservation::deferred);
}

STORE_CONTRACT("a spend that leaves too little stops the tree as budget_exhausted") {
  auto chapters = two_chapters_in_flight(*fx, 1.0);
  CHECK(reserve(*fx, chapters[0], 0.5, kT0 + 30) == store::Reservation::granted);
  REQUIRE_OK(fx->log_call(bill(chapters[0], 0.8)));  // the subject's tree spent 0.8
  // 0.8 spent + 0.3 > 1.0: no call in flight can give that back.
  CHECK(reserve(*fx, chapters[1], 0.3, kT0 + 40) == store::Reservation::budget_exhausted);
  Job stopped = find(*fx, chapters[1].id);
  CHECK(stopped.status == JobStatus::failed);
  CHECK(stopped.attempts == chapters[1].attempts - 1);
  CHECK(stopped.last_error.find("budget_exhausted") == 0);
  // Chapter 1 is still in flight: the root stays open until it ends.
  CHECK(root_of(*fx, chapters[0].root_id).status == JobStatus::running);
  complete(*fx, chapters[0], kT0 + 50);  // its leaf jobs are created pending
  Job leaf = claim_one(*fx, kT0 + 60);
  CHECK(reserve(*fx, leaf, 0.3, kT0 + 60) == store::Reservation::budget_exhausted);
  store::RootRecord root = root_of(*fx, chapters[0].root_id);
  CHECK(root.status == JobStatus::failed);
  CHECK(root.reason == store::kBudgetExhausted);
  store::TreeCounts c = counts(*fx, root.job.id);
  CHECK(c.jobs_pending == 0);
  CHECK(c.jobs_running == 0);
  CHECK(c.jobs_failed == 5);  // chapter 2, the leaf refused and the three never started
  auto samples = fx->read_metrics(kT0, 15 * 60'000);
  REQUIRE_OK(samples);
  CHECK(metric(*samples, "hydrate_budget_stops_total") == 2);
}

STORE_CONTRACT("raising the budget and requeueing continues a stopped tree") {
  auto chapters = two_chapters_in_flight(*fx, 1.0);
  REQUIRE_OK(fx->log_call(bill(chapters[0], 0.9)));
  CHECK(reserve(*fx, chapters[1], 0.3, kT0 + 30) == store::Reservation::budget_exhausted);
  CHECK(reserve(*fx, chapters[0], 0.3, kT0 + 30) == store::Reservation::budget_exhausted);
  std::string root_id = chapters[0].root_id;
  REQUIRE(root_of(*fx, root_id).reason == store::kBudgetExhausted);

  // Not above what was spent: refused, nothing changed.
  auto low = fx->set_budget(root_id, 0.9);
  REQUIRE_FALSE(low.ok());
  CHECK(low.error().kind == ErrorKind::over_budget);
  CHECK(root_of(*fx, root_id).budget_usd == doctest::Approx(1.0));
  auto missing = fx->set_budget("j_0000000000000000000000000", 5);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::not_found);

  auto raised = fx->set_budget(root_id, 5.0);
  REQUIRE_OK(raised);
  CHECK(raised->budget_usd == doctest::Approx(5.0));
  CHECK(raised->spent_usd == doctest::Approx(0.9));
  auto moved = fx->requeue(root_id, kT0 + 100);
  REQUIRE_OK(moved);
  CHECK(*moved == 2);
  store::RootRecord reopened = root_of(*fx, root_id);
  CHECK(reopened.status == JobStatus::running);
  CHECK(reopened.reason.empty());
  CHECK(run_to_end(*fx, kT0 + 200) > 0);
  CHECK(root_of(*fx, root_id).status == JobStatus::succeeded);
}
