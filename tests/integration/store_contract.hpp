#pragma once
// The store conformance suite's frame: every contract test is written once against the
// store::Store interface and registered once per backend (SQLite always; PostgreSQL when
// HYDRATE_TEST_PG names a database and this build can open it, otherwise reported as skipped
// by doctest, never as passed). Helpers build trees the way the engine does, with
// core/cascade.hpp and core/ids.hpp.
#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/cascade.hpp"
#include "core/store/store.hpp"
#include "tests/support/temp_dir.hpp"

namespace hydrate::store::sql {
class Connection;
}

namespace hydrate::testing {

// One backend the suite runs against.
struct StoreBackend {
  std::string name;  // "sqlite", "postgresql"
  // Why the backend cannot run here ("" when it can); decided once per process.
  std::function<std::string()> unavailable;
  // Makes a fresh, empty database for one test and returns its URL for store::open_store.
  // dir is the test's own temporary directory. The tests assume the database holds nothing
  // else: claims, the queue's outlook and requeue("") see the whole database.
  std::function<std::string(const TempDir& dir)> create;
  // Removes what create made; not called when the test failed, so the evidence stays.
  std::function<void(const std::string& url)> destroy;
};

// Every backend the suite knows, SQLite first.
const std::vector<StoreBackend>& store_backends();
// The backend of that name; throws for an unknown one.
const StoreBackend& store_backend(const std::string& name);
// True when the named backend can run here; false for an unknown name.
// When the backend cannot be used, says why on stderr and ends the process with 77, which ctest
// reports as skipped (never passed). The test is registered whatever the environment was when
// it was built, so a server that is there at test time is always used.
void exit_skipped_unless_available(const std::string& name);

// A test's store: its own temporary directory and a fresh database on one backend.
class StoreFixture {
 public:
  explicit StoreFixture(const std::string& backend);
  ~StoreFixture();
  StoreFixture(const StoreFixture&) = delete;
  StoreFixture& operator=(const StoreFixture&) = delete;

  store::Store& store() { return *store_; }
  store::Store& operator*() { return *store_; }
  store::Store* operator->() { return store_.get(); }
  const std::string& backend() const { return backend_->name; }
  const std::string& url() const { return url_; }
  // A second, independent handle on the same database (another process's view).
  std::unique_ptr<store::Store> reopen();

 private:
  const StoreBackend* backend_ = nullptr;
  TempDir dir_;
  std::string url_;
  std::unique_ptr<store::Store> store_;
};

inline constexpr Millis kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
inline constexpr Millis kLease = 60'000;

// Small trees: 2 chapters x 2 topics, 2 questions per topic, notes and questions as asked.
RootOptions small_options(bool notes = true, bool questions = true);
Slot test_slot(const std::string& subject);
// A root as submit_subject builds it; the dedupe key is the slot and the options.
store::NewRoot new_root(const Slot& slot, const RootOptions& options, Millis now, int priority = 0,
                        int max_attempts = 5);
store::SubmitOutcome submit(store::Store& store, const store::NewRoot& root);
// Submits a small tree for subject and returns its root id.
std::string submit_small(store::Store& store, const std::string& subject, Millis now,
                         int max_attempts = 5, int priority = 0);

// Batch mode: a small tree submitted with --mode batch (and budget, 0: none); the batch claim of
// worker-a at now, which must claim something (the lease the Batch API's window and an hour).
inline constexpr Millis kBatchWindow = 25LL * 3600 * 1000;
inline constexpr Millis kBatchHold = 5 * 60 * 1000;
std::string submit_batch_root(store::Store& store, const std::string& subject, Millis now,
                              double budget = 0);
store::BatchClaim claim_batch_of(store::Store& store, Millis now);

std::vector<Job> claim(store::Store& store, int limit, Millis now, Millis lease_ms = kLease,
                       const std::string& holder = "worker-a");
// Claims exactly one step (REQUIREd) and returns it.
Job claim_one(store::Store& store, Millis now, Millis lease_ms = kLease,
              const std::string& holder = "worker-a");
store::LeaseRef lease_of(const Job& job);
Job find(store::Store& store, const std::string& id);
store::TreeCounts counts(store::Store& store, const std::string& root_id);
store::RootRecord root_of(store::Store& store, const std::string& root_id);

// Valid content for the step (titles carry the step's position, e.g. "Chapter 2", "Topic 1.2")
// and, when with_children, the children children_for creates for it.
store::StepOutput output_for(const Job& job, Millis now, bool with_children = true);
// Completes a claimed step with output_for; REQUIREs success. Returns the output written.
store::StepOutput complete(store::Store& store, const Job& job, Millis now);
// Claims and completes every runnable step until none is left; returns how many it completed.
int run_to_end(store::Store& store, Millis now);
// The job of jobs with that id, or of that kind and position; REQUIREs one.
Job pick(const std::vector<Job>& jobs, const std::string& id);
Job pick(const std::vector<Job>& jobs, JobKind kind, int position);
// The child of output with that kind and position (its id), REQUIREd.
std::string child_id(const store::StepOutput& output, JobKind kind, int position);

// A gpt-4o-mini call of job under its current lease: 200, 1.2 s, these tokens and cost; an
// unused one says "answer rejected".
CallRecord call_for(const Job& job, std::int64_t prompt, std::int64_t completion,
                    std::int64_t cached, double cost, bool used);

// The database at url opened beside any store (a driver connection, no store code on its path).
std::unique_ptr<store::sql::Connection> open_raw(const std::string& url);
// Builds schema version `newest` in an empty database with the embedded scripts of dir
// ("sql/sqlite/" or "sql/postgres/") up to it, as a binary of that version would have.
void build_version(store::sql::Connection& db, const std::string& dir, int newest);

double metric(const std::vector<store::MetricSample>& samples, const std::string& name,
              const std::string& labels = "");

}  // namespace hydrate::testing

// REQUIRE_OK(expr): expr (a Result or Status) succeeded; otherwise fails with its error message.
#define REQUIRE_OK(expr)                                                                   \
  do {                                                                                     \
    const auto& hydrate_result_ = (expr);                                                  \
    if (!hydrate_result_.ok()) FAIL(#expr " failed: " << hydrate_result_.error().message); \
  } while (false)

#define HYDRATE_STORE_CONTRACT_IMPL(body, title)                     \
  static void body(::hydrate::testing::StoreFixture& fx);            \
  TEST_CASE("store sqlite: " title) {                                \
    ::hydrate::testing::StoreFixture fx("sqlite");                   \
    body(fx);                                                        \
  }                                                                  \
  TEST_CASE("store postgresql: " title) {                            \
    ::hydrate::testing::exit_skipped_unless_available("postgresql"); \
    ::hydrate::testing::StoreFixture fx("postgresql");               \
    body(fx);                                                        \
  }                                                                  \
  static void body([[maybe_unused]] ::hydrate::testing::StoreFixture& fx)

// STORE_CONTRACT("title") { ... uses fx ... }: one contract test, run on every backend.
#define STORE_CONTRACT(title) HYDRATE_STORE_CONTRACT_IMPL(DOCTEST_ANONYMOUS(store_contract_), title)
