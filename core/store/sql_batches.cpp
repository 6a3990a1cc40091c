// Batch mode in the SQL store: batch records and the steps they hold (sql/sqlite/009_batches.sql).
#include <algorithm>
#include <tuple>

#include <fmt/format.h>

#include "core/ids.hpp"
#include "core/metrics.hpp"
#include "core/store/sql_store_impl.hpp"

namespace hydrate::store {

const char* to_string(BatchState state) {
  switch (state) {
    case BatchState::claimed:
      return "claimed";
    case BatchState::uploaded:
      return "uploaded";
    case BatchState::created:
      return "created";
    case BatchState::applied:
      return "applied";
    case BatchState::abandoned:
      return "abandoned";
  }
  return "claimed";
}

std::optional<BatchState> parse_batch_state(std::string_view text) {
  for (auto state : {BatchState::claimed, BatchState::uploaded, BatchState::created,
                     BatchState::applied, BatchState::abandoned}) {
    if (text == to_string(state)) return state;
  }
  return std::nullopt;
}

namespace sql {

namespace {

constexpr const char* kBatchColumns =
    "id, root_id, model, lease_token, state, provider_status, input_file_id, provider_batch_id, "
    "output_file_id, error_file_id, lines, completed, failed, error, cancel_requested, "
    "next_poll_at, created_at, updated_at, finished_at, reserved_usd, prompt_tokens";

BatchRecord read_batch(const Row& r) {
  BatchRecord b;
  b.id = r.text(0);
  b.root_id = r.text(1);
  b.model = r.text(2);
  b.lease_token = r.text(3);
  b.state = parse_batch_state(r.text(4)).value_or(BatchState::claimed);
  b.provider_status = r.text(5);
  b.input_file_id = r.text(6);
  b.provider_batch_id = r.text(7);
  b.output_file_id = r.text(8);
  b.error_file_id = r.text(9);
  b.lines = r.int32(10);
  b.completed = r.int32(11);
  b.failed = r.int32(12);
  b.error = r.text(13);
  b.cancel_requested = r.int64(14) != 0;
  b.next_poll_at = r.int64(15);
  b.created_at = r.int64(16);
  b.updated_at = r.int64(17);
  b.finished_at = r.int64(18);
  b.reserved_usd = r.real(19);
  b.prompt_tokens = r.int64(20);
  return b;
}

// A batch's steps in tree order: by kind, then parent and position.
void sort_by_place(std::vector<Job>& jobs) {
  std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) {
    return std::tie(a.kind, a.parent_id, a.position) < std::tie(b.kind, b.parent_id, b.position);
  });
}

bool is_open(BatchState state) {
  return state != BatchState::applied && state != BatchState::abandoned;
}

// Puts the steps held under token among ids back to pending, due at run_after, their attempt
// given back; a few hundred ids per statement.
void give_back(Connection& db, const std::string& token, const std::vector<std::string>& ids,
               Millis run_after, Millis now) {
  constexpr std::size_t kChunk = 500;
  for (std::size_t start = 0; start < ids.size(); start += kChunk) {
    const std::size_t end = std::min(ids.size(), start + kChunk);
    std::vector<Value> jobs{token, now, run_after}, attempts{token, now};
    std::string job_list, attempt_list;
    for (std::size_t i = start; i < end; ++i) {
      jobs.push_back(ids[i]);
      attempts.push_back(ids[i]);
      job_list += fmt::format("{}?{}", job_list.empty() ? "" : ", ", jobs.size());
      attempt_list += fmt::format("{}?{}", attempt_list.empty() ? "" : ", ", attempts.size());
    }
    db.run(fmt::format("UPDATE jobs SET status = 'pending', attempts = attempts - 1, "
                       "  run_after = ?3, updated_at = ?2, reserved_usd = 0, "
                       "  lease_holder = NULL, lease_token = NULL, lease_expires_at = NULL "
                       "WHERE lease_token = ?1 AND status = 'running' AND id IN ({})",
                       job_list),
           jobs);
    db.run(fmt::format("UPDATE attempts SET outcome = 'retried', ended_at = ?2 "
                       "WHERE lease_token = ?1 AND outcome IS NULL AND job_id IN ({})",
                       attempt_list),
           attempts);
  }
}

}  // namespace

Result<bool> SqlStore::batch_work_due(Millis now) {
  return read("looking for batch work", [&]() -> Result<bool> {
    auto rows = run(
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM batches "
        "                         WHERE state NOT IN ('applied', 'abandoned') "
        "                           AND next_poll_at <= ?1) "
        "              OR EXISTS (SELECT 1 FROM jobs WHERE status = 'pending' AND mode = 'batch' "
        "                         AND run_after <= ?1) THEN 1 ELSE 0 END",
        params(now));
    return rows.front().int64(0) != 0;
  });
}

Result<std::optional<BatchClaim>> SqlStore::claim_for_batch(const BatchClaimRequest& request) {
  return write("claiming steps for a batch", [&]() -> Result<std::optional<BatchClaim>> {
    std::optional<BatchClaim> none;
    if (request.limit <= 0) return none;
    const bool postgres = db_->backend() == Backend::postgres;
    // The root whose batch-mode step has been due longest; its due steps make the batch.
    auto due = run(std::string("SELECT root_id FROM jobs "
                               "WHERE status = 'pending' AND mode = 'batch' AND run_after <= ?1 "
                               "ORDER BY run_after LIMIT 1") +
                       (postgres ? " FOR UPDATE SKIP LOCKED" : ""),
                   params(request.now));
    if (due.empty()) return none;
    BatchClaim claim;
    BatchRecord& batch = claim.batch;
    batch.id = "batch-" + new_job_id(request.now);
    batch.root_id = due.front().text(0);
    batch.lease_token = new_lease_token();
    batch.created_at = batch.updated_at = request.now;
    const Millis expiry = request.now + request.lease_ms;
    auto rows = run(
        fmt::format("UPDATE jobs SET status = 'running', attempts = attempts + 1, "
                    "  lease_holder = ?1, lease_token = ?2, lease_expires_at = ?3, "
                    "  started_at = coalesce(started_at, ?4), updated_at = ?4, reserved_usd = 0 "
                    "WHERE id IN (SELECT id FROM jobs WHERE root_id = ?5 AND status = 'pending' "
                    "  AND mode = 'batch' AND run_after <= ?4 ORDER BY run_after, position "
                    "  LIMIT ?6 {}) "
                    "RETURNING {}",
                    postgres ? "FOR UPDATE SKIP LOCKED" : "", kJobColumns),
        params("batch:" + batch.id, batch.lease_token, expiry, request.now, batch.root_id,
               request.limit));
    for (const auto& row : rows.rows) claim.jobs.push_back(read_job(row));
    if (claim.jobs.empty()) return none;
    sort_by_place(claim.jobs);
    batch.lines = static_cast<int>(claim.jobs.size());
    open_attempts(*db_, claim.jobs, batch.lease_token, request.now, expiry);
    run("UPDATE roots SET status = 'running', started_at = ?2 "
        "WHERE job_id = ?1 AND status = 'pending'",
        params(batch.root_id, request.now));
    run("INSERT INTO batches (id, root_id, lease_token, state, lines, holder, held_until, "
        "created_at, updated_at) VALUES (?1, ?2, ?3, 'claimed', ?4, ?5, ?6, ?7, ?7)",
        params(batch.id, batch.root_id, batch.lease_token, batch.lines, request.holder,
               request.now + request.hold_ms, request.now));
    add_metric(*db_, metrics::kJobsClaimed, "", static_cast<double>(claim.jobs.size()));
    return std::optional<BatchClaim>(std::move(claim));
  });
}

Result<std::vector<BatchRecord>> SqlStore::take_open_batches(const std::string& holder,
                                                             Millis hold_ms, Millis now,
                                                             int limit) {
  return write("taking open batches", [&]() -> Result<std::vector<BatchRecord>> {
    const bool postgres = db_->backend() == Backend::postgres;
    auto rows =
        run(fmt::format("UPDATE batches SET holder = ?1, held_until = ?2 "
                        "WHERE id IN (SELECT id FROM batches "
                        "  WHERE state NOT IN ('applied', 'abandoned') AND next_poll_at <= ?3 "
                        "    AND (holder = ?1 OR held_until < ?3) "
                        "  ORDER BY next_poll_at, created_at LIMIT ?4 {}) "
                        "RETURNING {}",
                        postgres ? "FOR UPDATE SKIP LOCKED" : "", kBatchColumns),
            params(holder, now + hold_ms, now, limit));
    std::vector<BatchRecord> out;
    for (const auto& row : rows.rows) out.push_back(read_batch(row));
    std::sort(out.begin(), out.end(), [](const BatchRecord& a, const BatchRecord& b) {
      return a.created_at < b.created_at || (a.created_at == b.created_at && a.id < b.id);
    });
    return out;
  });
}

Result<std::vector<Job>> SqlStore::batch_steps(const BatchRecord& batch) {
  return read("reading a batch's steps", [&]() -> Result<std::vector<Job>> {
    auto rows = run(fmt::format("SELECT {} FROM jobs WHERE root_id = ?1 AND status = 'running' "
                                "AND lease_token = ?2",
                                kJobColumns),
                    params(batch.root_id, batch.lease_token));
    std::vector<Job> out;
    for (const auto& row : rows.rows) out.push_back(read_job(row));
    sort_by_place(out);
    return out;
  });
}

Result<BatchFit> SqlStore::fit_batch(BatchRecord& batch, const BatchFitRequest& request) {
  return write("fitting a batch", [&]() -> Result<BatchFit> {
    const bool postgres = db_->backend() == Backend::postgres;
    const Millis now = request.now;
    auto mine = run("SELECT 1 FROM batches WHERE id = ?1 AND holder = ?2 AND state = 'claimed'",
                    params(batch.id, request.holder));
    if (mine.empty())
      return make_error(ErrorKind::conflict, "batch " + batch.id + ": held by another worker");
    std::vector<std::string> held;
    for (const auto& row : run("SELECT id FROM jobs WHERE root_id = ?1 AND status = 'running' "
                               "AND lease_token = ?2",
                               params(batch.root_id, batch.lease_token))
                               .rows) {
      held.push_back(row.text(0));
    }
    std::sort(held.begin(), held.end());
    auto is_held = [&](const std::string& id) {
      return std::binary_search(held.begin(), held.end(), id);
    };
    BatchFit fit;
    fit.queued_tokens =
        run("SELECT coalesce(sum(prompt_tokens), 0) FROM batches "
            "WHERE state NOT IN ('applied', 'abandoned') AND state <> 'claimed' AND model = ?1 "
            "AND id <> ?2",
            params(request.model, batch.id))
            .front()
            .int64(0);
    // The root row, locked: the budget's reservations of one tree are taken one at a time.
    auto root = run(std::string("SELECT budget_usd FROM roots WHERE job_id = ?1") +
                        (postgres ? " FOR UPDATE" : ""),
                    params(batch.root_id));
    const double budget = root.empty() ? 0 : root.front().real(0);
    const auto [spent, in_flight] =
        budget > 0 ? root_spend(*db_, batch.root_id, now, {"", batch.lease_token}) : RootSpend{};
    // The longest run of held lines, in file order, that both the queue and the budget take.
    std::vector<std::string> kept, held_back;
    double worst = 0;
    std::int64_t tokens = 0;
    const BatchLinePlan* first_cut = nullptr;
    bool cut_by_budget = false;
    for (const auto& line : request.lines) {
      if (!is_held(line.job_id)) continue;  // given back by an earlier fit, or never held
      if (first_cut == nullptr) {
        const bool queue_room =
            request.queue_limit <= 0 ||
            fit.queued_tokens + tokens + line.prompt_tokens <= request.queue_limit ||
            (kept.empty() && fit.queued_tokens == 0);
        const bool budget_room =
            budget <= 0 || spent + in_flight + worst + line.worst_case_usd <= budget;
        if (queue_room && budget_room) {
          kept.push_back(line.job_id);
          worst += line.worst_case_usd;
          tokens += line.prompt_tokens;
          continue;
        }
        first_cut = &line;
        cut_by_budget = !budget_room;
      }
      held_back.push_back(line.job_id);
    }
    std::sort(kept.begin(), kept.end());
    std::sort(held_back.begin(), held_back.end());
    std::vector<std::string> unsent;  // held, but in no line: due again at once
    for (const auto& id : held) {
      if (!std::binary_search(kept.begin(), kept.end(), id) &&
          !std::binary_search(held_back.begin(), held_back.end(), id))
        unsent.push_back(id);
    }
    fit.kept = static_cast<int>(kept.size());
    // Not even the first line, with nothing else in flight: the tree stops, as online.
    const bool stop = kept.empty() && cut_by_budget && in_flight <= 0 &&
                      spent + first_cut->worst_case_usd > budget;
    if (stop) {
      fit.budget = Reservation::budget_exhausted;
      const std::string error = fmt::format(
          "{}: spent ${:.6f} + the next batch line's worst case ${:.6f} would pass the budget "
          "of ${:.6f}",
          kBudgetExhausted, spent, first_cut->worst_case_usd, budget);
      run("UPDATE attempts SET outcome = 'failed', ended_at = ?2 "
          "WHERE lease_token = ?1 AND outcome IS NULL",
          params(batch.lease_token, now));
      run("UPDATE jobs SET status = 'failed', attempts = attempts - 1, last_error = ?3, "
          "  finished_at = ?4, updated_at = ?4, reserved_usd = 0, "
          "  lease_holder = NULL, lease_token = NULL, lease_expires_at = NULL "
          "WHERE root_id = ?1 AND status = 'running' AND lease_token = ?2",
          params(batch.root_id, batch.lease_token, error, now));
      stop_for_budget(*db_, batch.root_id, now);
    } else {
      if (kept.empty() && cut_by_budget) fit.budget = Reservation::deferred;
      give_back(*db_, batch.lease_token, held_back, request.retry_at, now);
      give_back(*db_, batch.lease_token, unsent, now, now);
    }
    if (kept.empty()) {
      run("DELETE FROM batches WHERE id = ?1", params(batch.id));
      if (!stop) announce_work();  // its steps are pending again (a stop closed the tree)
      return fit;
    }
    batch.model = request.model;
    batch.lines = fit.kept;
    batch.reserved_usd = worst;
    batch.prompt_tokens = tokens;
    run("UPDATE batches SET model = ?2, lines = ?3, reserved_usd = ?4, prompt_tokens = ?5, "
        "  updated_at = ?6 WHERE id = ?1",
        params(batch.id, batch.model, batch.lines, worst, tokens, now));
    if (!unsent.empty() || !held_back.empty()) announce_work();
    return fit;
  });
}

Status SqlStore::update_batch(const BatchRecord& b, const std::string& holder, Millis now) {
  return write("recording a batch", [&]() -> Status {
    auto rows =
        run("UPDATE batches SET model = ?3, state = ?4, provider_status = ?5, input_file_id = ?6, "
            "  provider_batch_id = ?7, output_file_id = ?8, error_file_id = ?9, completed = ?10, "
            "  failed = ?11, error = ?12, next_poll_at = ?13, updated_at = ?14 "
            "WHERE id = ?1 AND holder = ?2 AND state NOT IN ('applied', 'abandoned')",
            params(b.id, holder, b.model, to_string(b.state), b.provider_status, b.input_file_id,
                   b.provider_batch_id, b.output_file_id, b.error_file_id, b.completed, b.failed,
                   b.error, b.next_poll_at, now));
    if (rows.affected == 0)
      return make_error(ErrorKind::conflict, "batch " + b.id + ": held by another worker");
    return ok_status();
  });
}

Result<int> SqlStore::close_batch(const BatchRecord& b, const std::string& holder, Millis now) {
  return write("closing a batch", [&]() -> Result<int> {
    if (is_open(b.state))
      return make_error(ErrorKind::invalid_input, "batch " + b.id + ": closed while open");
    auto rows =
        run("UPDATE batches SET state = ?3, provider_status = ?4, output_file_id = ?5, "
            "  error_file_id = ?6, completed = ?7, failed = ?8, error = ?9, updated_at = ?10, "
            "  finished_at = ?10, holder = '', held_until = 0 "
            "WHERE id = ?1 AND holder = ?2 AND state NOT IN ('applied', 'abandoned')",
            params(b.id, holder, to_string(b.state), b.provider_status, b.output_file_id,
                   b.error_file_id, b.completed, b.failed, b.error, now));
    if (rows.affected == 0)
      return make_error(ErrorKind::conflict, "batch " + b.id + ": held by another worker");
    // The steps no line answered: back to pending, their attempt given back, for a later batch.
    auto left =
        run("UPDATE jobs SET status = 'pending', attempts = attempts - 1, run_after = ?3, "
            "  updated_at = ?3, reserved_usd = 0, "
            "  lease_holder = NULL, lease_token = NULL, lease_expires_at = NULL "
            "WHERE root_id = ?1 AND status = 'running' AND lease_token = ?2 RETURNING id",
            params(b.root_id, b.lease_token, now));
    run("UPDATE attempts SET outcome = 'retried', ended_at = ?2 "
        "WHERE lease_token = ?1 AND outcome IS NULL",
        params(b.lease_token, now));
    if (!left.empty()) announce_work();
    close_root(*db_, b.root_id, now);
    return static_cast<int>(left.rows.size());
  });
}

std::vector<BatchRecord> SqlStore::read_open_batches(const std::string& root_id) {
  auto rows = run(fmt::format("SELECT {} FROM batches WHERE root_id = ?1 "
                              "AND state NOT IN ('applied', 'abandoned') "
                              "ORDER BY created_at DESC, id DESC LIMIT 50",
                              kBatchColumns),
                  params(root_id));
  std::vector<BatchRecord> out;
  for (const auto& row : rows.rows) out.push_back(read_batch(row));
  return out;
}

Result<std::vector<BatchRecord>> SqlStore::root_batches(const std::string& root_id, int limit) {
  return read("reading a root's batches", [&]() -> Result<std::vector<BatchRecord>> {
    auto rows = run(fmt::format("SELECT {} FROM batches WHERE root_id = ?1 "
                                "ORDER BY created_at DESC, id DESC LIMIT ?2",
                                kBatchColumns),
                    params(root_id, limit));
    std::vector<BatchRecord> out;
    for (const auto& row : rows.rows) out.push_back(read_batch(row));
    return out;
  });
}

}  // namespace sql
}  // namespace hydrate::store
