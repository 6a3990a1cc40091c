// Pieces of the SQL store shared by its operations: job rows, metrics, closing roots, fan-out.
#include <fmt/format.h>
#include <algorithm>
#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "core/metrics.hpp"
#include "core/store/sql_store_impl.hpp"

namespace hydrate::store::sql {

const char* const kJobColumns =
    "id, kind, parent_id, root_id, position, status, priority, input, attempts, max_attempts, "
    "run_after, lease_holder, lease_token, lease_expires_at, created_at, started_at, finished_at, "
    "last_error, estimated_cost_usd, actual_cost_usd, transient_retries, first_transient_at, "
    "last_transient_error";

std::string job_columns(const char* alias) {
  std::string out;
  std::string_view rest = kJobColumns;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view name = rest.substr(0, comma);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    out += (out.empty() ? "" : ", ") + std::string(alias) + "." + std::string(name);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }
  return out;
}

Job read_job(const Row& r, std::size_t o) {
  Job job;
  job.id = r.text(o + 0);
  job.kind = parse_job_kind(r.text(o + 1)).value_or(JobKind::subject);
  job.parent_id = r.text(o + 2);
  job.root_id = r.text(o + 3);
  job.position = r.int32(o + 4);
  job.status = parse_job_status(r.text(o + 5)).value_or(JobStatus::pending);
  job.priority = r.int32(o + 6);
  job.input = r.text(o + 7);
  job.attempts = r.int32(o + 8);
  job.max_attempts = r.int32(o + 9);
  job.run_after = r.int64(o + 10);
  job.lease_holder = r.text(o + 11);
  job.lease_token = r.text(o + 12);
  job.lease_expires_at = r.int64(o + 13);
  job.created_at = r.int64(o + 14);
  job.started_at = r.int64(o + 15);
  job.finished_at = r.int64(o + 16);
  job.last_error = r.text(o + 17);
  job.estimated_cost_usd = r.real(o + 18);
  job.actual_cost_usd = r.real(o + 19);
  job.transient_retries = r.int32(o + 20);
  job.first_transient_at = r.int64(o + 21);
  job.last_transient_error = r.text(o + 22);
  return job;
}

void add_metric(Connection& db, const std::string& name, const std::string& labels, double delta) {
  db.metric_deltas[{name, labels}] += delta;
}

std::string in_list(const std::vector<std::string>& keys, std::vector<Value>& values) {
  std::size_t padded = 1;
  while (padded < keys.size()) padded *= 2;
  std::string list;
  for (std::size_t i = 0; i < padded; ++i) {
    list += fmt::format("{}?{}", i ? ", " : "", values.size() + 1);
    values.push_back(value(keys[std::min(i, keys.size() - 1)]));
  }
  return list;
}

void write_metrics(Connection& db) {
  if (db.metric_deltas.empty()) return;
  std::vector<Value> values{value(db.metric_shard)};  // ?1
  std::string rows;
  for (const auto& [key, delta] : db.metric_deltas) {
    rows += fmt::format("{}(?{}, ?{}, ?1, ?{})", rows.empty() ? "" : ", ", values.size() + 1,
                        values.size() + 2, values.size() + 3);
    values.insert(values.end(), {key.first, key.second, delta});
  }
  db.metric_deltas.clear();
  db.run(fmt::format("INSERT INTO metrics (name, labels, shard, value) VALUES {} "
                     "ON CONFLICT (name, labels, shard) DO UPDATE "
                     "SET value = metrics.value + excluded.value",
                     rows),
         values);
}

void set_metric(Connection& db, const std::string& name, const std::string& labels, double value) {
  db.run(
      "INSERT INTO metrics (name, labels, shard, value) VALUES (?1, ?2, 0, ?3) "
      "ON CONFLICT (name, labels, shard) DO UPDATE SET value = excluded.value",
      params(name, labels, value));
}

std::optional<JobStatus> first_open_status(Connection& db, const std::string& root_id) {
  // Two probes of jobs_root: an IN list ordered by status would sort every open step.
  auto rows = db.run(
      "SELECT coalesce((SELECT 'pending' FROM jobs WHERE root_id = ?1 AND status = 'pending' "
      "                 LIMIT 1), "
      "                (SELECT 'running' FROM jobs WHERE root_id = ?1 AND status = 'running' "
      "                 LIMIT 1), '')",
      params(root_id));
  return parse_job_status(rows.front().text(0));
}

std::optional<JobStatus> close_root(Connection& db, const std::string& root_id, Millis now) {
  // Locking the root row first serialises concurrent closers of one tree (PostgreSQL), so the
  // last of two steps finishing together sees the other's commit and closes the root.
  if (db.run("SELECT status FROM roots WHERE job_id = ?1 AND status IN ('pending', 'running') " +
                 std::string(db.backend() == Backend::postgres ? "FOR UPDATE" : ""),
             params(root_id))
          .empty()) {
    return std::nullopt;
  }
  // Most calls come from a step of a tree still at work: one probe of jobs_root says so, where
  // the counts below would read every job of the tree.
  if (!db.run("SELECT 1 FROM jobs WHERE root_id = ?1 AND status IN ('pending', 'running') LIMIT 1",
              params(root_id))
           .empty()) {
    return std::nullopt;
  }
  auto rows = db.run(
      "UPDATE roots SET "
      "  status = CASE WHEN f.bad > 0 THEN 'failed' ELSE 'succeeded' END, "
      "  reason = CASE WHEN roots.reason = ?3 THEN roots.reason "
      "           WHEN f.bad > 0 THEN f.failed || ' step(s) failed, ' || "
      "           f.cancelled || ' cancelled' END, "
      "  finished_at = ?2 "
      "FROM (SELECT count(*) FILTER (WHERE status IN ('failed', 'cancelled')) AS bad, "
      "             count(*) FILTER (WHERE status = 'failed') AS failed, "
      "             count(*) FILTER (WHERE status = 'cancelled') AS cancelled "
      "      FROM jobs WHERE root_id = ?1) AS f "
      "WHERE roots.job_id = ?1 AND roots.status IN ('pending', 'running') "
      "  AND NOT EXISTS (SELECT 1 FROM jobs WHERE root_id = ?1 "
      "                  AND status IN ('pending', 'running')) "
      "RETURNING roots.status",
      params(root_id, now, kBudgetExhausted));
  if (rows.empty()) return std::nullopt;
  auto status = parse_job_status(rows.front().text(0));
  if (status)
    add_metric(db, metrics::kRootsFinished, fmt::format("status=\"{}\"", to_string(*status)), 1);
  return status;
}

Rows run_rows(Connection& db, std::string_view head, std::string_view row, std::string_view tail,
              const std::vector<Value>& values, const std::vector<Value>& shared) {
  const auto width = static_cast<std::size_t>(std::count(row.begin(), row.end(), '?'));
  Rows all;
  if (width == 0) return all;
  const std::size_t rows = values.size() / width;
  for (std::size_t at = 0; at < rows;) {
    const std::size_t count = std::min<std::size_t>(64, rows - at);
    std::size_t padded = 1;
    while (padded < count) padded *= 2;
    std::string sql(head);
    sql += ' ';
    std::size_t number = shared.size();
    for (std::size_t i = 0; i < padded; ++i) {
      if (i) sql += ", ";
      for (char c : row) {
        sql += c;
        if (c == '?') sql += std::to_string(++number);
      }
    }
    sql += ' ';
    sql += tail;
    std::vector<Value> params = shared;
    const auto first = values.begin() + static_cast<std::ptrdiff_t>(at * width);
    params.insert(params.end(), first, first + static_cast<std::ptrdiff_t>(count * width));
    const auto last = first + static_cast<std::ptrdiff_t>((count - 1) * width);
    for (std::size_t i = count; i < padded; ++i) {
      params.insert(params.end(), last, last + static_cast<std::ptrdiff_t>(width));
    }
    Rows part = db.run(sql, params);
    all.affected += part.affected;
    for (Row& result : part.rows) all.rows.push_back(std::move(result));
    at += count;
  }
  return all;
}

int insert_job_rows(Connection& db, const std::vector<NewJob>& jobs, Millis now) {
  // Many rows a statement (a chapter's leaves are one or two), so the statement triggers on jobs
  // run once for them.
  std::vector<Value> values;
  for (const NewJob& job : jobs) {
    append_params(values, job.id, to_string(job.kind), job.parent_id, job.root_id, job.position,
                  job.priority, job.input, job.max_attempts, now, now, now, job.estimated_cost_usd,
                  to_string(job.mode));
  }
  std::map<JobKind, int> created;
  int inserted = 0;
  for (const Row& row :
       run_rows(db,
                "INSERT INTO jobs (id, kind, parent_id, root_id, position, status, priority, "
                "input, attempts, max_attempts, run_after, created_at, updated_at, "
                "estimated_cost_usd, mode) VALUES",
                "(?, ?, NULLIF(?, ''), ?, ?, 'pending', ?, ?, 0, ?, ?, ?, ?, ?, ?)",
                "ON CONFLICT DO NOTHING RETURNING kind", values)
           .rows) {
    ++inserted;
    ++created[parse_job_kind(row.text(0)).value_or(JobKind::subject)];
  }
  for (const auto& [kind, count] : created) {
    add_metric(db, metrics::kJobsCreated, fmt::format("target=\"{}\"", to_string(kind)), count);
  }
  return inserted;
}

std::optional<EndedAttempt> end_held_attempt(Connection& db, const LeaseRef& lease, bool retry,
                                             const std::string& error, Millis run_after, Millis now,
                                             bool uncounted) {
  auto rows = db.run(
      "UPDATE jobs SET status = ?3, last_error = coalesce(NULLIF(?4, ''), last_error), "
      "  run_after = ?5, updated_at = ?6, attempts = attempts - ?7, reserved_usd = 0, "
      "  finished_at = CASE WHEN ?3 = 'failed' THEN CAST(?6 AS BIGINT) END, "
      "  lease_holder = NULL, lease_token = NULL, lease_expires_at = NULL "
      "WHERE id = ?1 AND lease_token = ?2 AND status = 'running' "
      "RETURNING kind, root_id",
      params(lease.job_id, lease.token, retry ? "pending" : "failed", error, run_after, now,
             uncounted ? 1 : 0));
  if (rows.empty()) return std::nullopt;
  end_attempt(db, lease, retry ? "retried" : "failed", now);
  return EndedAttempt{parse_job_kind(rows.front().text(0)).value_or(JobKind::subject),
                      rows.front().text(1)};
}

void open_attempts(Connection& db, const std::vector<Job>& claimed, const std::string& token,
                   Millis now, Millis expiry) {
  const char* just_claimed =
      "SELECT id FROM jobs WHERE status = 'running' AND lease_expires_at = ?3 "
      "AND lease_token = ?1";
  if (std::any_of(claimed.begin(), claimed.end(),
                  [&](const Job& job) { return job.started_at < now; })) {
    db.run(fmt::format("UPDATE attempts SET outcome = 'lease_lost', ended_at = ?2 "
                       "WHERE outcome IS NULL AND job_id IN ({})",
                       just_claimed),
           params(token, now, expiry));
  }
  db.run(
      "INSERT INTO attempts (lease_token, job_id, root_id, kind, holder, claimed_at) "
      "SELECT lease_token, id, root_id, kind, lease_holder, ?2 FROM jobs "
      "WHERE status = 'running' AND lease_expires_at = ?3 AND lease_token = ?1",
      params(token, now, expiry));
}

void end_attempt(Connection& db, const LeaseRef& lease, const char* outcome, Millis now) {
  db.run(
      "UPDATE attempts SET outcome = ?3, ended_at = ?4 "
      "WHERE lease_token = ?1 AND job_id = ?2 AND outcome IS NULL",
      params(lease.token, lease.job_id, outcome, now));
}

void end_attempts(Connection& db, const std::vector<LeaseRef>& leases, const char* outcome,
                  Millis now) {
  std::vector<Value> values;
  for (const LeaseRef& lease : leases) append_params(values, lease.token, lease.job_id);
  // A join with the leases, so that each is found by the primary key.
  run_rows(db, "UPDATE attempts SET outcome = ?1, ended_at = ?2 FROM (VALUES", "(?, ?)",
           ") AS v WHERE attempts.lease_token = v.column1 AND attempts.job_id = v.column2 "
           "AND attempts.outcome IS NULL",
           values, params(outcome, now));
}

void stop_for_budget(Connection& db, const std::string& root_id, Millis now) {
  db.run(
      "UPDATE jobs SET status = 'failed', last_error = ?2, finished_at = ?3, updated_at = ?3 "
      "WHERE root_id = ?1 AND status = 'pending'",
      params(root_id, std::string(kBudgetExhausted) + ": not started", now));
  db.run("UPDATE roots SET reason = ?2 WHERE job_id = ?1 AND status IN ('pending', 'running')",
         params(root_id, kBudgetExhausted));
  add_metric(db, metrics::kBudgetStops, "", 1);
  close_root(db, root_id, now);
}

RootSpend root_spend(Connection& db, const std::string& root_id, Millis now,
                     const InFlightExcept& except) {
  auto rows = db.run(
      "SELECT (SELECT coalesce(sum(cost_usd), 0) FROM tree_counts WHERE root_id = ?1), "
      "       (SELECT coalesce(sum(reserved_usd), 0) FROM jobs "
      "        WHERE root_id = ?1 AND status = 'running' AND lease_expires_at >= ?2 "
      "          AND id <> ?3 AND lease_token <> ?4) "
      "     + (SELECT coalesce(sum(reserved_usd), 0) FROM batches "
      "        WHERE root_id = ?1 AND state NOT IN ('applied', 'abandoned') "
      "          AND lease_token <> ?4)",
      params(root_id, now, except.job_id, except.batch_token));
  return {rows.front().real(0), rows.front().real(1)};
}

void add_tree_counts(Connection& db, const std::string& root_id,
                     const std::vector<CountDelta>& deltas) {
  const bool postgres = db.backend() == Backend::postgres;
  const char* row = postgres ? "m" : "tree_counts";
  std::vector<Value> values{root_id};
  std::string columns, placeholders, sums;
  for (const auto& d : deltas) {
    values.push_back(d.delta);
    columns += ", " + d.column;
    placeholders += fmt::format(", ?{}", values.size());
    sums += fmt::format("{0}{1} = {2}.{1} + ?{3}", sums.empty() ? "" : ", ", d.column, row,
                        values.size());
  }
  if (postgres) {
    db.run(fmt::format("INSERT INTO tree_count_moves AS m (root_id{}) VALUES (?1{}) "
                       "ON CONFLICT (xid, root_id) DO UPDATE SET {}",
                       columns, placeholders, sums),
           values);
  } else {
    db.run(fmt::format("UPDATE tree_counts SET {} WHERE root_id = ?1", sums), values);
  }
}

namespace {

// The call's metrics, counted by model.
void count_call(Connection& db, const CallRecord& call) {
  // The label value is operator input, escaped by label_set.
  std::string outcome = call.used ? "used" : (call.http_status == 200 ? "rejected" : "error");
  std::string status = std::to_string(call.http_status);
  std::string by_model = metrics::label_set({{"model", call.model}});
  add_metric(db, metrics::kLlmCalls,
             metrics::label_set({{"model", call.model}, {"outcome", outcome}, {"status", status}}),
             1);
  add_metric(db, metrics::kPromptTokens, by_model, static_cast<double>(call.usage.prompt));
  add_metric(db, metrics::kCompletionTokens, by_model, static_cast<double>(call.usage.completion));
  add_metric(db, metrics::kCachedTokens, by_model, static_cast<double>(call.usage.cached));
  add_metric(db, metrics::kReasoningTokens, by_model, static_cast<double>(call.usage.reasoning));
  add_metric(db, metrics::kCostUsd, by_model, call.cost_usd);
}

// Adds delta to the column's sum, a count (int64) or an amount (double), as the column is.
template <class Number>
void add_to(std::map<std::string, Value>& columns, const std::string& column, Number delta) {
  Value& sum = columns.try_emplace(column, Number{0}).first->second;
  sum = std::get<Number>(sum) + delta;
}

}  // namespace

void TreeMoves::add(const std::string& root_id, const std::string& column, std::int64_t delta) {
  add_to(by_root_[root_id], column, delta);
}

void TreeMoves::add(const std::string& root_id, const std::string& column, double delta) {
  add_to(by_root_[root_id], column, delta);
}

void TreeMoves::write(Connection& db) const {
  for (const auto& [root_id, columns] : by_root_) {
    std::vector<CountDelta> deltas;
    for (const auto& [column, delta] : columns) deltas.push_back({column, delta});
    add_tree_counts(db, root_id, deltas);
  }
}

void insert_calls(Connection& db, const std::vector<const CallRecord*>& calls, TreeMoves& moves) {
  std::set<std::string> job_ids;
  for (const CallRecord* call : calls) job_ids.insert(call->job_id);
  if (job_ids.size() < calls.size()) {
    // Two calls of one step: each alone, as the job's costs are added by its id.
    for (const CallRecord* call : calls) insert_calls(db, {call}, moves);
    return;
  }
  std::vector<Value> values;
  for (const CallRecord* call : calls) {
    append_params(values, call->job_id, call->root_id, call->attempt, call->model,
                  call->http_status, call->usage.prompt, call->usage.completion, call->usage.cached,
                  call->cost_usd, call->input_price, call->cached_input_price, call->output_price,
                  call->latency_ms, call->error, call->used, call->created_at, call->call_id,
                  call->request_id, call->usage.reasoning, call->usage_estimated,
                  call->remaining_requests, call->remaining_tokens, call->retry_after_ms,
                  call->response_format, call->started_at);
  }
  std::set<std::string> logged;  // job ids of the calls this write logged
  for (const Row& row :
       run_rows(db,
                "INSERT INTO llm_calls (job_id, root_id, attempt, model, http_status, "
                "prompt_tokens, completion_tokens, cached_tokens, cost_usd, input_price, "
                "cached_input_price, output_price, latency_ms, error, used, created_at, call_id, "
                "request_id, reasoning_tokens, usage_estimated, remaining_requests, "
                "remaining_tokens, retry_after_ms, response_format, started_at) VALUES",
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULLIF(?, ''), ?, ?, NULLIF(?, ''), "
                "NULLIF(?, ''), ?, ?, ?, ?, ?, NULLIF(?, ''), ?)",
                "ON CONFLICT DO NOTHING RETURNING job_id", values)
           .rows) {
    logged.insert(row.text(0));
  }
  // A call logged already is billed once: only the calls logged now move the costs.
  std::vector<const CallRecord*> billed;
  for (const CallRecord* call : calls) {
    if (logged.count(call->job_id)) billed.push_back(call);
  }
  if (billed.empty()) return;
  // A call's cost replaces its reservation: released only while the call's lease still holds
  // the step, so a zombie's late call cannot free the reservation of the step's new holder.
  std::vector<Value> costs;
  for (const CallRecord* call : billed) {
    append_params(costs, call->job_id, call->cost_usd, call->lease_token);
  }
  std::map<std::string, JobKind> kinds;  // by job id
  for (const Row& row :
       run_rows(db,
                "UPDATE jobs SET actual_cost_usd = actual_cost_usd + v.column2, "
                "  reserved_usd = CASE WHEN lease_token = v.column3 THEN 0 "
                "  ELSE reserved_usd END FROM (VALUES",
                "(?, CAST(? AS DOUBLE PRECISION), ?)",
                ") AS v WHERE jobs.id = v.column1 RETURNING jobs.id, jobs.kind", costs)
           .rows) {
    if (auto kind = parse_job_kind(row.text(1))) kinds[row.text(0)] = *kind;
  }
  // The trees' call totals, written after their jobs (the lock order of
  // sql/sqlite/007_tree_counts.sql).
  for (const CallRecord* call : billed) {
    moves.add(call->root_id, "calls", std::int64_t{1});
    moves.add(call->root_id, "prompt_tokens", call->usage.prompt);
    moves.add(call->root_id, "completion_tokens", call->usage.completion);
    moves.add(call->root_id, "cached_tokens", call->usage.cached);
    moves.add(call->root_id, "cost_usd", call->cost_usd);
    if (auto kind = kinds.find(call->job_id); kind != kinds.end()) {
      moves.add(call->root_id, fmt::format("{}_cost_usd", to_string(kind->second)), call->cost_usd);
    }
    count_call(db, *call);
  }
}

void insert_call(Connection& db, const CallRecord& call) {
  TreeMoves moves;
  insert_calls(db, {&call}, moves);
  moves.write(db);
}

std::vector<std::string> string_list(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& item : j) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace hydrate::store::sql
