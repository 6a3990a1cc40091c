// Migration 005 on every backend: a database at schema version 4, holding calls of two models
// and the unlabelled counters version 4 kept, is migrated by the real store. The call counters
// are then by model and equal the sums of llm_calls, and the totals are what they were.
#include <fmt/format.h>

#include <map>
#include <string>
#include <vector>

#include "core/metrics.hpp"
#include "core/resources.hpp"
#include "core/store/sql_connection.hpp"
#include "tests/integration/store_contract.hpp"

using namespace hydrate;
using namespace hydrate::testing;

namespace {

struct OldCall {
  const char* model;
  int http_status;
  bool used;
  std::int64_t prompt, completion, cached, reasoning;
  double cost;
};

// Logs the calls as version 4 did: a row each, and the unlabelled counters added to.
void log_version_4_calls(store::sql::Connection& db, const std::vector<OldCall>& calls) {
  using store::sql::Value;
  db.begin_write();
  std::int64_t n = 0;
  double prompt = 0, completion = 0, cached = 0, cost = 0;
  std::map<std::string, double> outcomes;
  for (const auto& c : calls) {
    ++n;
    db.run(
        "INSERT INTO llm_calls (job_id, root_id, attempt, model, http_status, prompt_tokens, "
        "completion_tokens, cached_tokens, cost_usd, latency_ms, used, created_at, "
        "reasoning_tokens) VALUES (?1, 'R', 1, ?2, ?3, ?4, ?5, ?6, ?7, 100, ?8, ?9, ?10)",
        {Value("J" + std::to_string(n)), Value(std::string(c.model)),
         Value(static_cast<std::int64_t>(c.http_status)), Value(c.prompt), Value(c.completion),
         Value(c.cached), Value(c.cost), Value(static_cast<std::int64_t>(c.used ? 1 : 0)),
         Value(kT0 + n), Value(c.reasoning)});
    prompt += static_cast<double>(c.prompt);
    completion += static_cast<double>(c.completion);
    cached += static_cast<double>(c.cached);
    cost += c.cost;
    std::string outcome = c.used ? "used" : (c.http_status == 200 ? "rejected" : "error");
    outcomes[fmt::format("outcome=\"{}\",status=\"{}\"", outcome, c.http_status)] += 1;
  }
  auto put = [&](const char* name, const std::string& labels, double value) {
    db.run("INSERT INTO metrics (name, labels, value) VALUES (?1, ?2, ?3)",
           {Value(std::string(name)), Value(labels), Value(value)});
  };
  put(metrics::kPromptTokens, "", prompt);
  put(metrics::kCompletionTokens, "", completion);
  put(metrics::kCachedTokens, "", cached);
  put(metrics::kCostUsd, "", cost);
  for (const auto& [labels, count] : outcomes) put(metrics::kLlmCalls, labels, count);
  put(metrics::kJobsClaimed, "", 7);  // a family the migration leaves alone
  db.commit();
}

double family_total(const std::vector<store::MetricSample>& samples, const std::string& name) {
  double total = 0;
  for (const auto& s : samples) total += s.name == name ? s.value : 0;
  return total;
}

void check_migration(const std::string& backend_name) {
  const StoreBackend* backend = &store_backend(backend_name);
  TempDir dir("hydrate-migration-" + backend_name);
  std::string url = backend->create(dir);
  {
    auto db = open_raw(url);
    build_version(*db, backend_name == "sqlite" ? "sql/sqlite/" : "sql/postgres/", 4);
    log_version_4_calls(*db, {
                                 {"gpt-4o-mini", 200, true, 400, 100, 50, 0, 0.25},
                                 {"gpt-4o-mini", 200, false, 300, 80, 0, 0, 0.125},
                                 {"gpt-4o-mini", 500, false, 0, 0, 0, 0, 0},
                                 {"o3-\"mini\"", 200, true, 1000, 600, 100, 200, 2.5},
                                 {"o3-\"mini\"", 200, true, 500, 300, 0, 100, 1.25},
                             });
  }
  auto opened = store::open_store(url, {});
  if (!opened) FAIL("opening migrates: " << opened.error().message);
  auto& store = **opened;
  auto version = store.migrate();
  REQUIRE_OK(version);
  CHECK(*version >= 5);
  auto read = store.read_metrics(kT0, 60'000);
  REQUIRE_OK(read);
  const auto& samples = *read;
  std::string mini = "model=\"gpt-4o-mini\"", o3 = "model=\"o3-\\\"mini\\\"\"";
  CHECK(metric(samples, metrics::kPromptTokens, mini) == 700);
  CHECK(metric(samples, metrics::kPromptTokens, o3) == 1500);
  CHECK(metric(samples, metrics::kCompletionTokens, mini) == 180);
  CHECK(metric(samples, metrics::kCompletionTokens, o3) == 900);
  CHECK(metric(samples, metrics::kCachedTokens, mini) == 50);
  CHECK(metric(samples, metrics::kCachedTokens, o3) == 100);
  CHECK(metric(samples, metrics::kReasoningTokens, mini) == 0);
  CHECK(metric(samples, metrics::kReasoningTokens, o3) == 300);
  CHECK(metric(samples, metrics::kCostUsd, mini) == doctest::Approx(0.375));
  CHECK(metric(samples, metrics::kCostUsd, o3) == doctest::Approx(3.75));
  CHECK(metric(samples, metrics::kLlmCalls, mini + ",outcome=\"used\",status=\"200\"") == 1);
  CHECK(metric(samples, metrics::kLlmCalls, mini + ",outcome=\"rejected\",status=\"200\"") == 1);
  CHECK(metric(samples, metrics::kLlmCalls, mini + ",outcome=\"error\",status=\"500\"") == 1);
  CHECK(metric(samples, metrics::kLlmCalls, o3 + ",outcome=\"used\",status=\"200\"") == 2);
  // Totals unchanged, no unlabelled row left, other families untouched.
  CHECK(family_total(samples, metrics::kPromptTokens) == 2200);
  CHECK(family_total(samples, metrics::kCompletionTokens) == 1080);
  CHECK(family_total(samples, metrics::kCachedTokens) == 150);
  CHECK(family_total(samples, metrics::kCostUsd) == doctest::Approx(4.125));
  CHECK(family_total(samples, metrics::kLlmCalls) == 5);
  for (const auto& s : samples) {
    if (s.name.rfind("hydrate_llm_", 0) == 0) {
      CAPTURE(s.name);
      CHECK(s.labels.rfind("model=\"", 0) == 0);
    }
  }
  CHECK(metric(samples, metrics::kJobsClaimed) == 7);
  opened->reset();
  if (!current_test_failed()) backend->destroy(url);
}

// A version-12 database's metrics: counters in one row each (no shard) and the reconcile
// histogram's one observation of 0.3 s as the cumulative rows versions before 13 wrote.
void log_version_12_metrics(store::sql::Connection& db) {
  using store::sql::Value;
  db.begin_write();
  auto put = [&](const std::string& name, const std::string& labels, double value) {
    db.run("INSERT INTO metrics (name, labels, value) VALUES (?1, ?2, ?3)",
           {Value(name), Value(labels), Value(value)});
  };
  const std::string h = metrics::kReconcileDuration;
  for (const char* le : {"0.5", "1", "2.5", "5", "10", "30", "60", "120", "+Inf"})
    put(h + "_bucket", fmt::format("le=\"{}\"", le), 1);
  put(h + "_sum", "", 0.3);
  put(h + "_count", "", 1);
  put(metrics::kJobsClaimed, "", 7);
  db.commit();
}

// Migration 013: the counters keep their values in shard 0, the shards' rows are summed when
// read, and the cumulative histogram rows read with the three rows an observation writes now.
void check_migration_013(const std::string& backend_name) {
  const StoreBackend* backend = &store_backend(backend_name);
  TempDir dir("hydrate-migration-013-" + backend_name);
  std::string url = backend->create(dir);
  auto raw = open_raw(url);
  build_version(*raw, backend_name == "sqlite" ? "sql/sqlite/" : "sql/postgres/", 12);
  log_version_12_metrics(*raw);
  auto opened = store::open_store(url, {});
  if (!opened) FAIL("opening migrates: " << opened.error().message);
  auto& store = **opened;
  REQUIRE_OK(store.migrate());
  // Another connection's shard, as a worker elsewhere would have written it.
  raw->run("INSERT INTO metrics (name, labels, shard, value) VALUES (?1, '', 63, 5)",
           {store::sql::Value(std::string(metrics::kJobsClaimed))});
  submit_small(store, "MATH", kT0);
  claim_one(store, kT0);  // one claim more, in this connection's shard
  store::ReconcileRun run;
  run.started_at = kT0;
  run.finished_at = kT0 + 300;
  REQUIRE_OK(store.record_reconcile_run(run));
  auto read = store.read_metrics(kT0, 60'000);
  REQUIRE_OK(read);
  const auto& samples = *read;
  CHECK(metric(samples, metrics::kJobsClaimed) == 7 + 5 + 1);
  const std::string h = metrics::kReconcileDuration;
  CHECK(metric(samples, h + "_bucket", "le=\"0.25\"") == 0);
  CHECK(metric(samples, h + "_bucket", "le=\"0.5\"") == 2);
  CHECK(metric(samples, h + "_bucket", "le=\"120\"") == 2);
  CHECK(metric(samples, h + "_bucket", "le=\"+Inf\"") == 2);
  CHECK(metric(samples, h + "_count") == 2);
  CHECK(metric(samples, h + "_sum") == doctest::Approx(0.6));
  for (const auto& s : samples) CHECK(s.name != h + "_in_bucket");
  raw.reset();
  opened->reset();
  if (!current_test_failed()) backend->destroy(url);
}

}  // namespace

TEST_CASE("store sqlite: migration 013 keeps the counters and the cumulative histogram rows") {
  check_migration_013("sqlite");
}

TEST_CASE("store postgresql: migration 013 keeps the counters and the cumulative histogram rows") {
  exit_skipped_unless_available("postgresql");
  check_migration_013("postgresql");
}

TEST_CASE("store sqlite: migration 005 re-derives the call counters by model") {
  check_migration("sqlite");
}

TEST_CASE("store postgresql: migration 005 re-derives the call counters by model") {
  exit_skipped_unless_available("postgresql");
  check_migration("postgresql");
}
