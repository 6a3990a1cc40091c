// Store contract, the idle worker's wait (Store::wait_for_work): PostgreSQL announces new work
// with NOTIFY at the commit of the write that made it; SQLite announces nothing.
#include "tests/integration/store_contract.hpp"

using namespace hydrate;
using namespace hydrate::testing;

STORE_CONTRACT(
    "wait_for_work wakes on PostgreSQL when work is announced, and is a sleep on SQLite") {
  auto idle = fx.reopen();               // an idle worker's store
  CHECK_FALSE(idle->wait_for_work(20));  // nothing announced; on PostgreSQL it now listens
  const std::string root = submit_small(*fx, "MATH", kT0);
  const bool postgres = fx.backend() == "postgresql";
  // Generous: the announcement is delivered at the submit's commit, before this call.
  CHECK(idle->wait_for_work(10'000) == postgres);
  CHECK_FALSE(idle->wait_for_work(20));  // delivered once

  // Children written by a step, a failed tree requeued: announced too.
  complete(*fx, claim_one(*fx, kT0), kT0 + 1);
  CHECK(idle->wait_for_work(10'000) == postgres);
  auto chapters = claim(*fx, 10, kT0 + 2);
  for (const auto& job : chapters) REQUIRE_OK(fx->fail_step(lease_of(job), "HTTP 400", kT0 + 3));
  CHECK_FALSE(idle->wait_for_work(20));  // failures announce nothing
  REQUIRE_OK(fx->requeue(root, kT0 + 4));
  CHECK(idle->wait_for_work(10'000) == postgres);
}
