// The SQL store: opening, schema migrations, submit, claims and step results.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/cascade.hpp"
#include "core/ids.hpp"
#include "core/metrics.hpp"
#include "core/resources.hpp"
#include "core/store/sql_store.hpp"
#include "core/store/sql_store_impl.hpp"

namespace hydrate::store {

Result<std::unique_ptr<Store>> open_sql_store(
    std::function<std::unique_ptr<sql::Connection>()> connect, const std::string& what,
    const OpenOptions& options) {
  std::unique_ptr<sql::SqlStore> store;
  try {
    store = std::make_unique<sql::SqlStore>(connect());
  } catch (const sql::OpenFailure& e) {
    return make_error(e.kind, fmt::format("cannot open {}: {}", what, e.what()));
  } catch (const std::exception& e) {
    std::string message = e.what();
    if (auto newline = message.find('\n'); newline != std::string::npos) message.resize(newline);
    return make_error(ErrorKind::unavailable, fmt::format("cannot open {}: {}", what, message));
  }
  if (options.migrate) {
    auto migrated = store->migrate();
    if (!migrated) return migrated.error();
  }
  return std::unique_ptr<Store>(std::move(store));
}

namespace sql {

using nlohmann::json;

namespace {

struct Migration {
  int version;
  std::string_view text;
};

std::vector<Migration> embedded_migrations(Backend backend) {
  std::vector<Migration> out;
  std::string prefix = backend == Backend::sqlite ? "sql/sqlite/" : "sql/postgres/";
  for (auto name : resources::names()) {
    if (name.substr(0, prefix.size()) != prefix) continue;
    int version = std::atoi(std::string(name.substr(prefix.size(), 3)).c_str());
    if (version > 0) out.push_back({version, *resources::find(name)});
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.version < b.version; });
  return out;
}

}  // namespace

Result<int> SqlStore::migrate() {
  return write("migrating the database", [&]() -> Result<int> {
    bool postgres = db_->backend() == Backend::postgres;
    if (postgres)
      run("SELECT pg_advisory_xact_lock(7305843009213693951)");  // one migrator at a time
    auto tables = postgres ? run("SELECT count(*) FROM information_schema.tables "
                                 "WHERE table_schema = current_schema()")
                           : run("SELECT count(*) FROM sqlite_master WHERE type = 'table'");
    auto versions =
        postgres ? run("SELECT count(*) FROM information_schema.tables WHERE "
                       "table_schema = current_schema() AND table_name = 'schema_migrations'")
                 : run("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                       "AND name = 'schema_migrations'");
    if (tables.front().int64(0) > 0 && versions.front().int64(0) == 0) {
      return make_error(
          ErrorKind::permanent,
          "the database holds tables but is not a hydrate database (no schema_migrations)");
    }
    // Nothing is written when the schema is current, so a read-only database can be read.
    if (versions.front().int64(0) == 0) {
      db_->run_script(
          "CREATE TABLE IF NOT EXISTS schema_migrations "
          "(version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)");
    }
    int current = static_cast<int>(
        run("SELECT coalesce(max(version), 0) FROM schema_migrations").front().int64(0));
    auto migrations = embedded_migrations(db_->backend());
    int newest = migrations.empty() ? 0 : migrations.back().version;
    if (current > newest) {
      return make_error(ErrorKind::permanent,
                        fmt::format("the database schema is version {}, newer than this hydrate "
                                    "knows ({}); upgrade hydrate",
                                    current, newest));
    }
    for (const auto& migration : migrations) {
      if (migration.version <= current) continue;
      db_->run_script(migration.text);
      run("INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
          params(migration.version, static_cast<std::int64_t>(std::time(nullptr))));
      current = migration.version;
    }
    return current;
  });
}

Result<SubmitOutcome> SqlStore::submit_root(const NewRoot& root) {
  for (int attempt = 0;; ++attempt) {
    auto outcome = write("submitting", [&]() -> Result<SubmitOutcome> {
      auto live =
          run("SELECT job_id FROM roots WHERE dedupe_key = ?1 "
              "AND status IN ('pending', 'running')",
              params(root.dedupe_key));
      if (!live.empty()) {
        auto existing = read_root(live.front().text(0));
        if (!existing) return make_error(ErrorKind::permanent, "a live root vanished");
        return SubmitOutcome{*existing, true};
      }
      insert_job_rows(*db_, {root.job}, root.now);
      int leaves = (root.options.notes ? 1 : 0) + (root.options.questions ? 1 : 0);
      run("INSERT INTO roots (job_id, status, language, board, grade, subject, options, "
          "dedupe_key, trace_id, estimates, estimated_cost_usd, budget_usd, created_at, "
          "leaves_per_topic, mode) "
          "VALUES (?1, 'pending', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
          params(root.job.id, root.slot.language, root.slot.board, root.slot.grade,
                 root.slot.subject, encode_root_options(root.options), root.dedupe_key,
                 root.trace_id, root.estimates_json, root.estimated_cost_usd, root.budget_usd,
                 root.now, leaves, to_string(root.options.mode)));
      announce_work();
      auto created = read_root(root.job.id);
      if (!created) return make_error(ErrorKind::permanent, "root " + root.job.id + " vanished");
      return SubmitOutcome{*created, false};
    });
    // Two submits racing on PostgreSQL: the loser hits the live-key index; the retry finds the
    // winner's root and returns it as the duplicate.
    if (outcome || outcome.error().kind != ErrorKind::conflict || attempt >= 2) return outcome;
  }
}

Result<std::vector<Job>> SqlStore::claim_batch(const ClaimRequest& request) {
  return write("claiming steps", [&]() -> Result<std::vector<Job>> {
    std::vector<Job> claimed;
    if (request.limit <= 0) return claimed;
    // SQLite serialises writers (BEGIN IMMEDIATE); PostgreSQL skips rows other claimers hold.
    const bool postgres = db_->backend() == Backend::postgres;
    const char* lock = postgres ? "FOR UPDATE SKIP LOCKED" : "";
    // SQLite without statistics read the due steps through jobs_status_kind and sorted every
    // pending job of the queue at each claim (124 ms with 89,461 pending, 0.1 ms by the index):
    // the partial indexes match the two subqueries exactly, so they are named.
    const char* pending_index = postgres ? "" : "INDEXED BY jobs_pending";
    const char* running_index = postgres ? "" : "INDEXED BY jobs_running";
    // A lapsed lease goes before a pending step due at the same time: a tree's leaves are all
    // due from one instant, and without the tie broken a killed worker's steps waited behind
    // every other leaf of the tree.
    std::string sql = fmt::format(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_holder = ?1, "
        "  lease_token = ?2, lease_expires_at = ?3, started_at = coalesce(started_at, ?4), "
        "  updated_at = ?4, reserved_usd = 0 "
        "WHERE id IN (SELECT id FROM ("
        "  SELECT * FROM (SELECT id, priority, run_after, 0 AS lapsed FROM jobs {2} "
        "    WHERE status = 'pending' AND mode = 'online' AND run_after <= ?4 "
        "    ORDER BY priority DESC, run_after LIMIT ?5 {0}) AS due "
        "  UNION ALL "
        "  SELECT * FROM (SELECT id, priority, run_after, 1 AS lapsed FROM jobs {3} "
        "    WHERE status = 'running' AND lease_expires_at < ?4 AND attempts < max_attempts "
        "      AND mode = 'online' "
        "    ORDER BY lease_expires_at LIMIT ?5 {0}) AS expired) AS candidates "
        "  ORDER BY priority DESC, run_after, lapsed DESC LIMIT ?5) "
        "RETURNING {1}",
        lock, kJobColumns, pending_index, running_index);
    const std::string token = new_lease_token();
    const Millis expiry = request.now + request.lease_ms;
    auto rows = run(sql, params(request.holder, token, expiry, request.now, request.limit));
    for (const auto& row : rows.rows) claimed.push_back(read_job(row));
    if (claimed.empty()) return claimed;
    open_attempts(*db_, claimed, token, request.now, expiry);
    for (const auto& job : claimed) {
      if (job.kind == JobKind::subject) {
        run("UPDATE roots SET status = 'running', started_at = ?2 "
            "WHERE job_id = ?1 AND status = 'pending'",
            params(job.root_id, request.now));
      }
    }
    add_metric(*db_, metrics::kJobsClaimed, "", static_cast<double>(claimed.size()));
    return claimed;
  });
}

Result<int> SqlStore::extend_leases(const std::vector<LeaseRef>& leases, Millis new_expiry) {
  return write("extending leases", [&]() -> Result<int> {
    // One statement per kMaxLeases leases (one per renewal period at any concurrency hydrate
    // allows). The list is padded to a power of two by repeating its last lease, so the
    // statement cache holds a handful of texts whatever the count.
    constexpr std::size_t kMaxLeases = 8192;
    int held = 0;
    for (std::size_t first = 0; first < leases.size(); first += kMaxLeases) {
      const std::size_t n = std::min(kMaxLeases, leases.size() - first);
      std::size_t padded = 1;
      while (padded < n) padded *= 2;
      std::string ids, pairs;
      std::vector<Value> values{value(new_expiry)};
      for (std::size_t i = 0; i < padded; ++i) {
        const LeaseRef& lease = leases[first + std::min(i, n - 1)];
        ids += fmt::format("{}?{}", i ? ", " : "", 2 * i + 2);
        pairs += fmt::format("{}(?{}, ?{})", i ? ", " : "", 2 * i + 2, 2 * i + 3);
        values.push_back(value(lease.job_id));
        values.push_back(value(lease.token));
      }
      // id IN (…) finds the rows by primary key; the pairs keep only those still held.
      held += static_cast<int>(run(fmt::format("UPDATE jobs SET lease_expires_at = ?1 "
                                               "WHERE id IN ({}) AND status = 'running' "
                                               "AND (id, lease_token) IN (VALUES {})",
                                               ids, pairs),
                                   values)
                                   .affected);
    }
    return held;
  });
}

Result<bool> SqlStore::begin_reask(const LeaseRef& lease) {
  return write("recording a re-ask", [&]() -> Result<bool> {
    auto rows =
        run("UPDATE jobs SET attempts = attempts + 1 "
            "WHERE id = ?1 AND lease_token = ?2 AND status = 'running' "
            "  AND attempts < max_attempts RETURNING attempts",
            params(lease.job_id, lease.token));
    if (!rows.empty()) return true;
    auto held = run("SELECT 1 FROM jobs WHERE id = ?1 AND lease_token = ?2 AND status = 'running'",
                    params(lease.job_id, lease.token));
    if (held.empty())
      return make_error(ErrorKind::conflict, "job " + lease.job_id + ": lease lost");
    return false;
  });
}

namespace {

std::string json_list(const std::vector<std::string>& items) {
  return json(items).dump();
}

// A held step of a group and its result.
struct HeldStep {
  Job job;  // as the UPDATE that ended its lease returned it
  const StepOutput* output;
  LeaseRef lease;
};

// Counts the rows an INSERT ... RETURNING root_id wrote, by tree, into column of moves.
void count_written(const Rows& written, const char* column, TreeMoves& moves) {
  for (const Row& row : written.rows) moves.add(row.text(0), column, std::int64_t{1});
}

// Writes the group's content, one multi-row INSERT a table, and adds the rows written to their
// trees' counters (a row already there, from an earlier write of the same result, is neither
// written nor counted again).
void insert_contents(Connection& db, const std::vector<HeldStep>& held, TreeMoves& moves) {
  std::vector<Value> chapters, topics, notes, questions;
  // Each kind writes its own table only, whatever else its output holds.
  for (const auto& [job, output, lease] : held) {
    switch (job.kind) {
      case JobKind::subject:
        for (std::size_t i = 0; i < output->chapters.size(); ++i) {
          append_params(chapters, job.id, job.root_id, i + 1, output->chapters[i].title,
                        output->chapters[i].summary);
        }
        break;
      case JobKind::chapter:
        for (std::size_t i = 0; i < output->topics.size(); ++i) {
          append_params(topics, job.id, job.root_id, i + 1, output->topics[i].title,
                        json_list(output->topics[i].objectives));
        }
        break;
      case JobKind::note:
        if (output->note) {
          append_params(notes, job.id, job.root_id, output->note->markdown,
                        json_list(output->note->key_points));
        }
        break;
      case JobKind::questions:
        for (std::size_t i = 0; i < output->questions.size(); ++i) {
          const Question& q = output->questions[i];
          append_params(questions, job.id, job.root_id, i + 1, q.type, q.prompt,
                        json_list(q.options), q.answer, q.explanation, q.difficulty);
        }
        break;
    }
  }
  count_written(
      run_rows(db, "INSERT INTO chapters (job_id, root_id, position, title, summary) VALUES",
               "(?, ?, ?, ?, ?)", "ON CONFLICT DO NOTHING RETURNING root_id", chapters),
      "chapter_rows", moves);
  count_written(
      run_rows(db, "INSERT INTO topics (job_id, root_id, position, title, objectives) VALUES",
               "(?, ?, ?, ?, ?)", "ON CONFLICT DO NOTHING RETURNING root_id", topics),
      "topic_rows", moves);
  run_rows(db, "INSERT INTO notes (job_id, root_id, markdown, key_points) VALUES", "(?, ?, ?, ?)",
           "ON CONFLICT DO NOTHING", notes);
  count_written(run_rows(db,
                         "INSERT INTO questions (job_id, root_id, position, type, prompt, "
                         "options, answer, explanation, difficulty) VALUES",
                         "(?, ?, ?, ?, ?, ?, ?, ?, ?)", "ON CONFLICT DO NOTHING RETURNING root_id",
                         questions),
                "question_rows", moves);
}

}  // namespace

Result<std::vector<Status>> SqlStore::complete_steps(const std::vector<CompletedStep>& steps,
                                                     Millis now) {
  // Trees whose open steps, as the group's transaction saw them, were all running: on PostgreSQL
  // another group may be finishing the last of them at the same time, each seeing the other's
  // steps still running, so each tries again to close the tree once it has committed.
  std::vector<std::string> unsettled;
  auto saved = write("saving step results", [&]() -> Result<std::vector<Status>> {
    // A handful of statements for the whole group, whatever its size. Locks, in the order of
    // sql/postgres/013_commit_time_locks.sql: the group's own jobs (only the lease holder
    // writes a held step), attempts, a finished tree's root; its topics and counters at commit.
    unsettled.clear();
    std::vector<Value> leases;
    for (const auto& step : steps) append_params(leases, step.lease.job_id, step.lease.token);
    std::map<std::string, Job> won;  // by job id: the steps whose lease still held
    for (const Row& row :
         run_rows(*db_,
                  "UPDATE jobs SET status = 'succeeded', finished_at = ?1, updated_at = ?1, "
                  "  lease_holder = NULL, lease_token = NULL, lease_expires_at = NULL, "
                  "  last_error = NULL FROM (VALUES",
                  "(?, ?)",
                  ") AS v WHERE jobs.id = v.column1 AND jobs.lease_token = v.column2 "
                  "AND jobs.status = 'running' RETURNING " +
                      job_columns("jobs"),
                  leases, {value(now)})
             .rows) {
      Job job = read_job(row);
      won.emplace(job.id, std::move(job));
    }
    std::vector<Status> saved(steps.size(), ok_status());
    std::vector<HeldStep> held;
    for (std::size_t i = 0; i < steps.size(); ++i) {
      auto it = won.find(steps[i].lease.job_id);
      if (it == won.end()) {
        saved[i] = make_error(ErrorKind::conflict,
                              "job " + steps[i].lease.job_id + ": lease lost, result discarded");
      } else {
        held.push_back({it->second, steps[i].output, steps[i].lease});
      }
    }
    TreeMoves moves;
    insert_contents(*db_, held, moves);
    std::vector<NewJob> children;
    std::vector<LeaseRef> ended;
    std::vector<const CallRecord*> calls;
    std::set<std::string> roots;
    for (const auto& [job, output, lease] : held) {
      children.insert(children.end(), output->children.begin(), output->children.end());
      add_metric(*db_, metrics::kJobsCompleted, fmt::format("kind=\"{}\"", to_string(job.kind)), 1);
      double seconds = static_cast<double>(now - job.started_at) / 1000.0;
      for (const auto& sample : metrics::duration_observation(to_string(job.kind), seconds)) {
        add_metric(*db_, sample.name, sample.labels, sample.value);
      }
      ended.push_back(lease);
      if (output->call) calls.push_back(&*output->call);
      roots.insert(job.root_id);
    }
    // Children (of subject and chapter steps only, a few per tree) wake idle workers.
    if (insert_job_rows(*db_, children, now) > 0) announce_work();
    end_attempts(*db_, ended, "succeeded", now);
    insert_calls(*db_, calls, moves);
    moves.write(*db_);
    // A tree with a pending step is closed by a later group; one with nothing open is closed
    // here. Only the close locks the root: a group of a tree at work locks no row another
    // group needs before it commits.
    for (const auto& root_id : roots) {
      auto open = first_open_status(*db_, root_id);
      if (!open) {
        close_root(*db_, root_id, now);
      } else if (*open == JobStatus::running && db_->backend() == Backend::postgres) {
        unsettled.push_back(root_id);
      }
    }
    return saved;
  });
  if (saved) {
    for (const auto& root_id : unsettled) {
      // Best effort: a tree left open here is closed by the next reconcile.
      (void)close_root_if_finished(root_id, now);
    }
  }
  return saved;
}

Status SqlStore::finish_attempt(const LeaseRef& lease, const std::string& error, bool retry,
                                Millis run_after, Millis now, bool uncounted,
                                const char* also_count) {
  return write("saving a step failure", [&]() -> Status {
    auto ended = end_held_attempt(*db_, lease, retry, error, run_after, now, uncounted);
    if (!ended) return make_error(ErrorKind::conflict, "job " + lease.job_id + ": lease lost");
    if (also_count != nullptr) add_metric(*db_, also_count, "", 1);
    add_metric(*db_, retry ? metrics::kJobsRetried : metrics::kJobsFailed,
               fmt::format("kind=\"{}\"", to_string(ended->kind)), 1);
    if (!retry) close_root(*db_, ended->root_id, now);
    return ok_status();
  });
}

Status SqlStore::release_step(const LeaseRef& lease, const std::string& error, Millis run_after,
                              Millis now) {
  return finish_attempt(lease, error, true, run_after, now);
}

Status SqlStore::return_step(const LeaseRef& lease, const std::string& error, Millis now) {
  return finish_attempt(lease, error, true, now, now, true, metrics::kQuotaStops);
}

Status SqlStore::release_transient(const LeaseRef& lease, const std::string& error,
                                   Millis run_after, Millis now) {
  return write("saving a transient fault", [&]() -> Status {
    auto rows =
        run("UPDATE jobs SET status = 'pending', run_after = ?3, updated_at = ?4, "
            "  attempts = attempts - 1, transient_retries = transient_retries + 1, "
            "  first_transient_at = coalesce(first_transient_at, ?4), "
            "  last_transient_error = NULLIF(?5, ''), reserved_usd = 0, "
            "  lease_holder = NULL, lease_token = NULL, lease_expires_at = NULL "
            "WHERE id = ?1 AND lease_token = ?2 AND status = 'running' RETURNING kind",
            params(lease.job_id, lease.token, run_after, now, error));
    if (rows.empty())
      return make_error(ErrorKind::conflict, "job " + lease.job_id + ": lease lost");
    add_metric(*db_, metrics::kJobsRetried, fmt::format("kind=\"{}\"", rows.front().text(0)), 1);
    add_metric(*db_, metrics::kTransientRetries, "", 1);
    end_attempt(*db_, lease, "retried", now);
    return ok_status();
  });
}

Status SqlStore::fail_step(const LeaseRef& lease, const std::string& error, Millis now) {
  return finish_attempt(lease, error, false, now, now);
}

Result<std::set<std::string>> SqlStore::budgeted_roots(const std::vector<std::string>& root_ids) {
  if (root_ids.empty()) return std::set<std::string>{};
  return read("reading budgets", [&]() -> Result<std::set<std::string>> {
    std::vector<Value> values;
    const std::string list = in_list(root_ids, values);
    std::set<std::string> budgeted;
    for (const auto& row :
         run(fmt::format("SELECT job_id FROM roots WHERE job_id IN ({}) AND budget_usd > 0", list),
             values)
             .rows) {
      budgeted.insert(row.text(0));
    }
    return budgeted;
  });
}

Result<Reservation> SqlStore::reserve_call(const LeaseRef& lease, double worst_case_usd, Millis now,
                                           Millis retry_at) {
  // Most roots have no budget: a read, which on SQLite does not take the write lock, says so.
  auto budgeted = read("reading a budget", [&]() -> Result<bool> {
    auto rows =
        run("SELECT r.budget_usd FROM jobs j JOIN roots r ON r.job_id = j.root_id "
            "WHERE j.id = ?1",
            params(lease.job_id));
    return !rows.empty() && rows.front().real(0) > 0;
  });
  if (!budgeted) return budgeted.error();
  if (!*budgeted) return Reservation::granted;
  return write("reserving budget", [&]() -> Result<Reservation> {
    bool postgres = db_->backend() == Backend::postgres;
    auto job =
        run("SELECT root_id FROM jobs WHERE id = ?1 AND lease_token = ?2 "
            "AND status = 'running'",
            params(lease.job_id, lease.token));
    if (job.empty()) return make_error(ErrorKind::conflict, "job " + lease.job_id + ": lease lost");
    std::string root_id = job.front().text(0);
    // Locking the root row serialises the reservations of one tree.
    auto root = run(std::string("SELECT budget_usd FROM roots WHERE job_id = ?1") +
                        (postgres ? " FOR UPDATE" : ""),
                    params(root_id));
    if (root.empty() || root.front().real(0) <= 0) return Reservation::granted;
    const double budget = root.front().real(0);
    const auto [spent, reserved] = root_spend(*db_, root_id, now, {lease.job_id, ""});
    if (spent + reserved + worst_case_usd <= budget) {
      run("UPDATE jobs SET reserved_usd = ?3 WHERE id = ?1 AND lease_token = ?2",
          params(lease.job_id, lease.token, worst_case_usd));
      return Reservation::granted;
    }
    if (spent + worst_case_usd <= budget) {
      end_held_attempt(*db_, lease, true, "", retry_at, now, true);
      return Reservation::deferred;
    }
    std::string error = fmt::format(
        "{}: spent ${:.6f} + this call's worst case ${:.6f} would pass the budget of ${:.6f}",
        kBudgetExhausted, spent, worst_case_usd, budget);
    end_held_attempt(*db_, lease, false, error, now, now, true);
    stop_for_budget(*db_, root_id, now);
    return Reservation::budget_exhausted;
  });
}

Status SqlStore::log_call(const CallRecord& call) {
  return write("logging a model call", [&]() -> Status {
    insert_call(*db_, call);
    return ok_status();
  });
}

}  // namespace sql
}  // namespace hydrate::store

namespace hydrate::store::sql {

namespace {
constexpr const char* kWorkChannel = "hydrate_work";
}

void SqlStore::announce_work() {
  if (db_->backend() == Backend::postgres) run("SELECT pg_notify(?1, '')", params(kWorkChannel));
}

bool SqlStore::wait_for_work(Millis timeout_ms) {
  try {
    db_->reconnect_if_broken();
    return db_->await_notification(kWorkChannel, static_cast<int>(timeout_ms));
  } catch (const std::exception& e) {
    // A lost connection: the next claim reconnects (or reports the outage); meanwhile poll.
    db_->classify(e, "waiting for work");
    std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
    return false;
  }
}

}  // namespace hydrate::store::sql
