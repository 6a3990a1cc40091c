// Metrics of the SQL store: the reconcile run's counters and histogram, and read_metrics, which
// returns the stored samples followed by the gauges computed from the job tables, each one query
// an index drives (tests/e2e/postgres_query_plans.sh checks the plans).
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "core/metrics.hpp"
#include "core/store/sql_store_impl.hpp"

namespace hydrate::store::sql {

namespace {

constexpr JobKind kKinds[] = {JobKind::subject, JobKind::chapter, JobKind::note,
                              JobKind::questions};
constexpr JobStatus kStatuses[] = {JobStatus::pending, JobStatus::running, JobStatus::succeeded,
                                   JobStatus::failed, JobStatus::cancelled};

constexpr const char* kInOpenTree =
    "EXISTS (SELECT 1 FROM roots r WHERE r.job_id = j.root_id "
    "AND r.status IN ('pending', 'running'))";

}  // namespace

Status SqlStore::record_reconcile_run(const ReconcileRun& r) {
  return write("recording the reconcile run", [&]() -> Status {
    run("INSERT INTO reconcile_runs (started_at, finished_at, rescued, repaired, rolled_up, "
        "closed, stuck) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params(r.started_at, r.finished_at, r.rescued, r.repaired, r.rolled_up, r.closed, r.stuck));
    set_metric(*db_, metrics::kReconcilerLastRun, "", static_cast<double>(r.finished_at) / 1000.0);
    add_metric(*db_, metrics::kReconcilerRuns, "", 1);
    double seconds =
        static_cast<double>(std::max<Millis>(0, r.finished_at - r.started_at)) / 1000.0;
    for (const auto& sample : metrics::observe(metrics::reconcile_duration(), "", seconds)) {
      add_metric(*db_, sample.name, sample.labels, sample.value);
    }
    return ok_status();
  });
}

Result<std::vector<MetricSample>> SqlStore::read_metrics(Millis now, Millis stuck_after_ms) {
  return read("reading metrics", [&]() -> Result<std::vector<MetricSample>> {
    std::vector<MetricSample> out;
    for (const auto& row : run("SELECT name, labels, sum(value) FROM metrics GROUP BY name, labels "
                               "ORDER BY name, labels")
                               .rows) {
      out.push_back({row.text(0), row.text(1), row.real(2)});
    }
    out = metrics::cumulate_histograms(std::move(out));
    // The oldest due step of an open tree: the first of the pending index that qualifies.
    auto oldest = run(fmt::format("SELECT j.run_after FROM jobs j WHERE j.status = 'pending' "
                                  "AND j.run_after <= ?1 AND {} ORDER BY j.run_after LIMIT 1",
                                  kInOpenTree),
                      params(now));
    double lag = oldest.empty() ? 0.0 : static_cast<double>(now - oldest.front().int64(0)) / 1000.0;
    out.push_back({metrics::kQueueLag, "", lag});

    std::map<std::pair<std::string, std::string>, double> jobs;
    for (const auto& row :
         run("SELECT kind, status, count(*) FROM jobs GROUP BY status, kind").rows)
      jobs[{row.text(0), row.text(1)}] = static_cast<double>(row.int64(2));
    for (JobKind kind : kKinds) {
      for (JobStatus status : kStatuses) {
        auto it = jobs.find({to_string(kind), to_string(status)});
        out.push_back(
            {metrics::kJobs,
             metrics::label_set({{"kind", to_string(kind)}, {"status", to_string(status)}}),
             it == jobs.end() ? 0.0 : it->second});
      }
    }

    std::map<std::string, double> roots;
    for (const auto& row : run("SELECT status, count(*) FROM roots GROUP BY status").rows)
      roots[row.text(0)] = static_cast<double>(row.int64(1));
    for (JobStatus status : kStatuses) {
      auto it = roots.find(to_string(status));
      out.push_back({metrics::kRoots, metrics::label_set({{"status", to_string(status)}}),
                     it == roots.end() ? 0.0 : it->second});
    }

    // A lease is live until its expiry (rescue takes those strictly past it).
    auto in_flight =
        run("SELECT count(*) FROM jobs WHERE status = 'running' AND lease_expires_at >= ?1",
            params(now));
    out.push_back({metrics::kJobsInFlight, "", static_cast<double>(in_flight.front().int64(0))});

    auto stuck = run(fmt::format("SELECT count(*) FROM jobs j WHERE j.status = 'pending' "
                                 "AND j.run_after < ?1 AND {}",
                                 kInOpenTree),
                     params(now - stuck_after_ms));
    out.push_back({metrics::kStuckJobs, "", static_cast<double>(stuck.front().int64(0))});
    append_batch_gauges(*db_, out);
    return out;
  });
}

}  // namespace hydrate::store::sql
