// Riding out a failing database (core/engine/store_outage.hpp): which errors are retried, the
// backoff over one outage, its limit, the outage shared by successive calls, and the message a
// worker gives up with; how a PostgreSQL connection failure is classified
// (core/store/sql_connection.hpp).
#include <doctest/doctest.h>

#include <string>

#include "core/engine/store_outage.hpp"
#include "core/store/sql_connection.hpp"

namespace {

using hydrate::Error;
using hydrate::ErrorKind;
using hydrate::make_error;
using hydrate::Millis;
using hydrate::RetryPolicy;
using hydrate::engine::is_retryable_store_error;
using hydrate::engine::outage_error;
using hydrate::engine::StoreOutage;
using hydrate::engine::StoreRetryPolicy;

const RetryPolicy kBackoff{50, 2000};

}  // namespace

TEST_CASE("store outage: a lost connection, a busy or unreachable database are retried") {
  CHECK(is_retryable_store_error(make_error(ErrorKind::transient, "lost the connection")));
  CHECK(is_retryable_store_error(make_error(ErrorKind::unavailable, "connection refused")));
  for (auto kind : {ErrorKind::permanent, ErrorKind::conflict, ErrorKind::not_found,
                    ErrorKind::invalid_input, ErrorKind::over_budget}) {
    CHECK_FALSE(is_retryable_store_error(make_error(kind, "an answer")));
  }
}

TEST_CASE("store outage: delays grow from the first failure and are capped") {
  StoreOutage outage(120000);
  CHECK_FALSE(outage.ongoing());
  // Three quarters of 50, 100, 200 … (the middle of each jitter range), then of the 2000 ms cap.
  Millis expected[] = {37, 75, 150, 300, 600, 1200, 1500, 1500};
  Millis now = 1000;
  for (Millis want : expected) {
    auto delay = outage.next_delay(kBackoff, now, 0.5);
    REQUIRE(delay);
    CHECK(*delay == want);
    now += *delay;
  }
  CHECK(outage.ongoing());
  CHECK(outage.failures() == 8);
  CHECK(outage.elapsed(now) == now - 1000);
  // The lower end: half of each.
  StoreOutage low(120000);
  CHECK(*low.next_delay(kBackoff, 0, 0.0) == 25);
  CHECK(*low.next_delay(kBackoff, 25, 0.0) == 50);
}

TEST_CASE("store outage: the last try falls on the limit, a failure at or past it gives up") {
  StoreOutage outage(5000);
  REQUIRE(outage.next_delay(kBackoff, 10000, 0.5));  // the outage starts at 10000
  auto last = outage.next_delay(kBackoff, 14990, 0.5);
  REQUIRE(last);
  CHECK(*last == 10);  // not the 75 ms of backoff, past the limit: exactly up to it
  CHECK_FALSE(outage.next_delay(kBackoff, 15000, 0.5));
  CHECK_FALSE(outage.next_delay(kBackoff, 99999, 0.5));
  CHECK(outage.elapsed(15000) == 5000);
}

TEST_CASE("store outage: one answer ends it; an outage past its limit ends every later call") {
  StoreOutage outage(1000);
  REQUIRE(outage.next_delay(kBackoff, 0, 0.5));
  REQUIRE(outage.next_delay(kBackoff, 900, 0.5));
  outage.end();  // a call got an answer
  CHECK_FALSE(outage.ongoing());
  CHECK(outage.elapsed(5000) == 0);
  // A new outage starts from its own first failure, with the first delay again.
  auto fresh = outage.next_delay(kBackoff, 5000, 0.0);
  REQUIRE(fresh);
  CHECK(*fresh == 25);
  CHECK(outage.failures() == 1);
  // Past its limit, the next call that fails (any call: they share the outage) gives up at once.
  CHECK_FALSE(outage.next_delay(kBackoff, 6000, 0.5));
  CHECK_FALSE(outage.next_delay(kBackoff, 6001, 0.5));
}

TEST_CASE("store outage: the give-up error names the database, the outage and the limit") {
  StoreRetryPolicy policy;
  policy.outage_ms = 120000;
  policy.database = "postgresql://hydrate:***@db.internal/hydrate";
  Error error = outage_error(
      policy, 120400,
      make_error(ErrorKind::transient, "claiming steps: lost the connection to PostgreSQL"));
  CHECK(error.kind == ErrorKind::unavailable);
  CHECK(error.message ==
        "gave up on postgresql://hydrate:***@db.internal/hydrate after 120.4 s of failures in a "
        "row (the limit, work.store_outage_seconds, is 120 s); the last one: claiming steps: lost "
        "the connection to PostgreSQL");
  policy.database.clear();
  CHECK(outage_error(policy, 0, make_error(ErrorKind::transient, "x"))
            .message.rfind("gave up on the database after 0.0 s", 0) == 0);
}

TEST_CASE("store outage: a PostgreSQL server that refuses for good is permanent, not waited for") {
  using hydrate::store::sql::postgres_open_failure_kind;
  const char* permanent[] = {
      "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication "
      "failed for user \"hydrate\"",
      "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  database \"nope\" does "
      "not exist",
      "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  role \"x\" does not exist",
      "connection to server at \"10.0.0.1\", port 5432 failed: FATAL:  no pg_hba.conf entry for "
      "host \"10.0.0.2\", user \"x\", database \"y\", no encryption",
      "connection to server at \"127.0.0.1\", port 5432 failed: fe_sendauth: no password supplied",
      "invalid URI query parameter: \"bogus\"",
      "invalid connection option \"bogus\"",
  };
  for (const char* message : permanent) {
    CAPTURE(message);
    CHECK(postgres_open_failure_kind(message) == ErrorKind::permanent);
  }
  const char* waitable[] = {
      "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused",
      "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  the database system is "
      "starting up",
      "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  the database system is "
      "shutting down",
      "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  sorry, too many clients "
      "already",
      "connection to server at \"127.0.0.1\", port 5432 failed: server closed the connection "
      "unexpectedly",
      "could not receive data from server: Connection reset by peer",
      "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  ein unbekannter Fehler",
  };
  for (const char* message : waitable) {
    CAPTURE(message);
    CHECK(postgres_open_failure_kind(message) == ErrorKind::unavailable);
  }
}
