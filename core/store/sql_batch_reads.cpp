// What the SQL store reads for operators about batch mode: a batch-mode root's calls by model
// (status: its savings), the batch records by status (hydrate_batches), and the calls and
// batches of a report window's finished roots by mode. Each query an index drives:
// llm_calls_root, batches_status (migration 011), roots_finished_at, tree_counts' key and
// batches_root.
#include <fmt/format.h>

#include <set>

#include "core/batch/accounting.hpp"
#include "core/metrics.hpp"
#include "core/store/sql_store_impl.hpp"

namespace hydrate::store::sql {

namespace {

// The sums read_call_totals and read_window_modes select after their grouping columns.
constexpr const char* kCallSums =
    "count(*), coalesce(sum(c.prompt_tokens), 0), coalesce(sum(c.completion_tokens), 0), "
    "coalesce(sum(c.cached_tokens), 0), coalesce(sum(c.reasoning_tokens), 0), "
    "coalesce(sum(c.cost_usd), 0)";

CallTotals read_sums(const Row& row, std::size_t offset) {
  CallTotals t;
  t.calls = row.int64(offset);
  t.tokens.prompt = row.int64(offset + 1);
  t.tokens.completion = row.int64(offset + 2);
  t.tokens.cached = row.int64(offset + 3);
  t.tokens.reasoning = row.int64(offset + 4);
  t.cost_usd = row.real(offset + 5);
  return t;
}

// The roots read_window_modes covers: those finished_roots (sql_report.cpp) reads, the roots
// whose finished_at is in the window (only closing or cancelling a root sets it; reopening one
// clears it), found through roots_finished_at.
constexpr const char* kFinishedInWindow = "r.finished_at >= ?1 AND r.finished_at <= ?2";

void add_batch_counts(const Rows& rows, std::map<std::string, std::int64_t>& into) {
  for (const auto& row : rows.rows) {
    auto state = parse_batch_state(row.text(1)).value_or(BatchState::claimed);
    into[batch::status_label(row.text(0), state)] += row.int64(2);
  }
}

}  // namespace

std::vector<CallTotals> SqlStore::read_call_totals(const std::string& root_id, CallMode mode) {
  std::vector<CallTotals> out;
  for (const auto& row : run(fmt::format("SELECT c.model, {} FROM llm_calls c WHERE c.root_id = ?1 "
                                         "GROUP BY c.model ORDER BY c.model",
                                         kCallSums),
                             params(root_id))
                             .rows) {
    CallTotals t = read_sums(row, 1);
    t.model = row.text(0);
    t.mode = mode;
    out.push_back(std::move(t));
  }
  return out;
}

void append_batch_gauges(Connection& db, std::vector<MetricSample>& out) {
  std::map<std::string, std::int64_t> counts;
  add_batch_counts(db.run("SELECT provider_status, state, count(*) FROM batches "
                          "GROUP BY provider_status, state",
                          {}),
                   counts);
  std::set<std::string> shown;
  auto emit = [&](const std::string& status) {
    auto it = counts.find(status);
    out.push_back({metrics::kBatches, metrics::label_set({{"status", status}}),
                   it == counts.end() ? 0.0 : static_cast<double>(it->second)});
    shown.insert(status);
  };
  for (const char* status : batch::kStatuses) emit(status);
  for (const auto& [status, count] : counts) {
    if (!shown.count(status)) emit(status);  // created before its first poll, or a new status
  }
}

void read_window_modes(Connection& db, Millis since, Millis now, OpsFacts& facts) {
  for (const auto& row : db.run(fmt::format("SELECT c.model, {} FROM roots r "
                                            "JOIN llm_calls c ON c.root_id = r.job_id WHERE {} "
                                            "AND r.mode = 'batch' "
                                            "GROUP BY c.model ORDER BY c.model",
                                            kCallSums, kFinishedInWindow),
                                params(since, now))
                             .rows) {
    CallTotals t = read_sums(row, 1);
    t.mode = CallMode::batch;
    t.model = row.text(0);
    facts.calls.push_back(std::move(t));
  }
  // Online roots: the sum over all their calls is their counters' (tree_counts: every call the
  // log holds of the tree, added by insert_call), one probe a root instead of a read of every
  // call. The counters keep no model and no reasoning tokens, which only the savings (batch mode)
  // need.
  auto online = db.run(fmt::format("SELECT coalesce(sum(c.calls), 0), "
                                   "coalesce(sum(c.prompt_tokens), 0), "
                                   "coalesce(sum(c.completion_tokens), 0), "
                                   "coalesce(sum(c.cached_tokens), 0), 0, "
                                   "coalesce(sum(c.cost_usd), 0) FROM roots r "
                                   "CROSS JOIN tree_counts c WHERE {} AND r.mode <> 'batch' "
                                   "AND c.root_id = r.job_id",
                                   kFinishedInWindow),
                       params(since, now));
  if (CallTotals t = read_sums(online.front(), 0); t.calls > 0) {
    t.mode = CallMode::online;
    facts.calls.push_back(std::move(t));
  }
  // Only batch-mode roots have batch records.
  add_batch_counts(db.run(fmt::format("SELECT b.provider_status, b.state, count(*) FROM roots r "
                                      "JOIN batches b ON b.root_id = r.job_id WHERE {} "
                                      "AND r.mode = 'batch' GROUP BY b.provider_status, b.state",
                                      kFinishedInWindow),
                          params(since, now)),
                   facts.batches);
}

}  // namespace hydrate::store::sql
