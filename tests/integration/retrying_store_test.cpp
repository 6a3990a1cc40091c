// RetryingStore (core/engine/retrying_store.hpp) over a real SQLite file whose write lock another
// process — the sqlite3 shell, inside BEGIN IMMEDIATE — holds: a write a plain store refuses as
// busy goes through once the lock is released; a lock held past the outage limit gives up naming
// the database and the limit, and the next answer ends the outage; a stop ends a claim's wait but
// not a write's; a permanent error comes back at once; opening rides out nothing permanent.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "core/engine/retrying_store.hpp"
#include "core/store/store.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace hydrate;
using hydrate::engine::RetryingStore;
using hydrate::engine::StoreRetryPolicy;
using hydrate::testing::TempDir;

// A store whose busy timeout is short, so that a held lock shows as a transient error at once.
std::unique_ptr<store::Store> open_impatient(const std::string& url) {
  store::OpenOptions options;
  options.busy_timeout_ms = 20;
  auto opened = store::open_store(url, options);
  REQUIRE_MESSAGE(opened, (opened ? "" : opened.error().message));
  return std::move(*opened);
}

bool busy(store::Store& plain) {
  auto claimed = plain.claim_batch({"probe:1", 1, 1000, 1});
  return !claimed && claimed.error().kind == ErrorKind::transient;
}

// The sqlite3 shell holding the database's write lock until release() or destruction.
class WriteLockHolder {
 public:
  WriteLockHolder(const std::string& path, store::Store& probe) {
    shell_ = popen(("sqlite3 -batch '" + path + "' >/dev/null 2>&1").c_str(), "w");
    REQUIRE(shell_ != nullptr);
    // The shell waits for the lock when the probe holds it at that moment: without a timeout its
    // BEGIN would fail at once, leaving nothing held (the probe writes every 10 ms).
    std::fputs(".timeout 30000\nBEGIN IMMEDIATE;\n", shell_);
    std::fflush(shell_);
    // Held once a plain store's write is refused as busy (bounded: the shell starts in ms).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!busy(probe)) {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~WriteLockHolder() { release(); }
  void release() {
    if (!shell_) return;
    std::fputs("COMMIT;\n.quit\n", shell_);
    pclose(shell_);  // waits for the shell to exit, its lock given up
    shell_ = nullptr;
  }

 private:
  FILE* shell_ = nullptr;
};

StoreRetryPolicy policy_for(const std::string& path, Millis outage_ms) {
  StoreRetryPolicy policy;
  policy.outage_ms = outage_ms;
  policy.database = "database '" + path + "'";
  return policy;
}

}  // namespace

TEST_CASE("retrying store: a write refused as busy goes through once the lock is released") {
  REQUIRE(std::system("command -v sqlite3 >/dev/null") == 0);
  TempDir dir("hydrate-retrying-store");
  std::string path = dir.file("busy.db");
  auto plain = open_impatient("sqlite:" + path);
  RetryingStore retrying(*plain, policy_for(path, 60000));
  WriteLockHolder lock(path, *plain);
  CHECK(busy(*plain));  // what the worker saw before: an error
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // hold it for a while
    lock.release();
  });
  auto claimed = retrying.claim_batch({"worker:1", 4, 1000, 1});
  releaser.join();
  REQUIRE_MESSAGE(claimed, (claimed ? "" : claimed.error().message));
  CHECK(claimed->empty());
  CHECK(retrying.queue_outlook(1).ok());
  CHECK_FALSE(retrying.gave_up());
}

TEST_CASE("retrying store: a lock held past the limit gives up, naming the database") {
  REQUIRE(std::system("command -v sqlite3 >/dev/null") == 0);
  TempDir dir("hydrate-retrying-store");
  std::string path = dir.file("held.db");
  auto plain = open_impatient("sqlite:" + path);
  RetryingStore retrying(*plain, policy_for(path, 300));
  WriteLockHolder lock(path, *plain);
  auto claimed = retrying.claim_batch({"worker:1", 4, 1000, 1});
  REQUIRE_FALSE(claimed);
  CHECK(claimed.error().kind == ErrorKind::unavailable);
  CHECK(claimed.error().message.find("gave up on database '" + path + "' after") == 0);
  CHECK(claimed.error().message.find("work.store_outage_seconds") != std::string::npos);
  CHECK(claimed.error().message.find("claiming steps: the database is busy") != std::string::npos);
  // The outage is not over: the next call that fails gives up at once, whatever it is.
  auto migrated = retrying.migrate();
  REQUIRE_FALSE(migrated);
  CHECK(migrated.error().kind == ErrorKind::unavailable);
  lock.release();
  // An answer ends the outage; that one happened is remembered (the worker exits 1).
  CHECK(retrying.claim_batch({"worker:1", 4, 1000, 1}).ok());
  REQUIRE(retrying.gave_up());
  CHECK(retrying.gave_up()->message == claimed.error().message);
}

TEST_CASE("retrying store: a stop ends a claim's wait, not a write's") {
  REQUIRE(std::system("command -v sqlite3 >/dev/null") == 0);
  TempDir dir("hydrate-retrying-store");
  std::string path = dir.file("stop.db");
  auto plain = open_impatient("sqlite:" + path);
  std::atomic<bool> stop{true};
  RetryingStore retrying(*plain, policy_for(path, 300), &stop);
  WriteLockHolder lock(path, *plain);
  auto claimed = retrying.claim_batch({"worker:1", 4, 1000, 1});
  REQUIRE_MESSAGE(claimed, (claimed ? "" : claimed.error().message));
  CHECK(claimed->empty());  // nothing claimed, no error: the worker just stops
  CallRecord call;
  call.call_id = "c1";
  call.job_id = "no-such-job";
  call.root_id = "no-such-root";
  auto logged = retrying.log_call(call);  // a write still waits, up to the limit
  REQUIRE_FALSE(logged);
  CHECK(logged.error().kind == ErrorKind::unavailable);
}

TEST_CASE("retrying store: a permanent error comes back at once") {
  REQUIRE(std::system("command -v sqlite3 >/dev/null") == 0);
  TempDir dir("hydrate-retrying-store");
  std::string path = dir.file("newer.db");
  auto plain = open_impatient("sqlite:" + path);
  REQUIRE(std::system(("sqlite3 '" + path +
                       "' 'INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)'")
                          .c_str()) == 0);
  // With an hour's limit, a retried error would hang the test: permanent is returned as it is.
  RetryingStore retrying(*plain, policy_for(path, 3600000));
  auto migrated = retrying.migrate();
  REQUIRE_FALSE(migrated);
  CHECK(migrated.error().kind == ErrorKind::permanent);
  CHECK(migrated.error().message.find("newer than this hydrate knows") != std::string::npos);
}

TEST_CASE("retrying store: opening gives up at once on what no wait can mend") {
  TempDir dir("hydrate-retrying-store");
  StoreRetryPolicy policy = policy_for("x", 3600000);
  // A file in a directory that does not exist: permanent, not an hour of retries.
  auto missing =
      engine::open_store_riding_out("sqlite:" + dir.file("no/such/dir/x.db"), {}, policy, nullptr);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::permanent);
  CHECK(missing.error().message.find("cannot open database") == 0);
  // A stop asked for before (or while) opening: no store and no error.
  std::atomic<bool> stop{true};
  auto stopped = engine::open_store_riding_out("sqlite:" + dir.file("x.db"), {}, policy, &stop);
  REQUIRE(stopped);
  CHECK(*stopped == nullptr);
  auto opened = engine::open_store_riding_out("sqlite:" + dir.file("x.db"), {}, policy, nullptr);
  REQUIRE(opened);
  CHECK(*opened != nullptr);
}
