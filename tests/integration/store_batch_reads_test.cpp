// Store contract, what operators read of batch mode (core/store/sql_batch_reads.cpp), on both
// backends: hydrate_batches counts every record under the provider's status once it has one,
// else its state; a batch-mode root's view sums its calls by model for its savings; ops_facts
// splits the window's finished roots, their calls and their batches by mode.
#include <map>

#include "core/batch/accounting.hpp"
#include "core/metrics.hpp"
#include "tests/integration/store_contract.hpp"

using namespace hydrate;
using namespace hydrate::testing;

namespace {

// The hydrate_batches series as status -> value; FAILs on a series seen twice.
std::map<std::string, double> batches_gauge(store::Store& s, Millis now) {
  auto samples = s.read_metrics(now, 15 * 60'000);
  REQUIRE_OK(samples);
  std::map<std::string, double> out;
  for (const auto& sample : *samples) {
    if (sample.name != metrics::kBatches) continue;
    auto labels = metrics::parse_labels(sample.labels);
    REQUIRE(labels.size() == 1);
    CHECK(labels[0].first == "status");
    if (out.count(labels[0].second)) FAIL("hydrate_batches has " << labels[0].second << " twice");
    out[labels[0].second] = sample.value;
  }
  return out;
}

void log_call(store::Store& s, const Job& job, const std::string& id, const std::string& model,
              TokenUsage usage, double cost, Millis at) {
  CallRecord call = call_for(job, usage.prompt, usage.completion, usage.cached, cost, false);
  call.call_id = id;
  call.model = model;
  call.usage.reasoning = usage.reasoning;
  call.created_at = at;
  REQUIRE_OK(s.log_call(call));
}

// Drives a batch-mode root to its end, one batch per level, each applied as "completed"; each
// step's answer is one logged call of 100 prompt and 10 completion tokens at $0.001.
void run_batch_root(store::Store& s, Millis t) {
  for (;; t += 100) {
    auto next = s.claim_for_batch({"worker-a", 50000, kBatchWindow, kBatchHold, t});
    REQUIRE_OK(next);
    if (!*next) return;
    for (const auto& job : (*next)->jobs) {
      log_call(s, job, "batch-" + (*next)->batch.id + "/" + job.id, "gpt-4o-mini", {100, 10, 0, 0},
               0.001, t + 5);
      complete(s, job, t + 10);
    }
    store::BatchRecord done = (*next)->batch;
    done.state = store::BatchState::applied;
    done.provider_status = "completed";
    REQUIRE_OK(s.close_batch(done, "worker-a", t + 20));
  }
}

}  // namespace

STORE_CONTRACT("hydrate_batches counts each record under the provider's status, else its state") {
  auto empty = batches_gauge(*fx, kT0);
  CHECK(empty.size() == std::size(batch::kStatuses));
  for (const auto& [status, value] : empty) {
    CAPTURE(status);
    CHECK(value == 0);
  }

  std::vector<store::BatchRecord> records;
  for (const char* subject : {"B1", "B2", "B3", "B4", "B5", "B6"}) {
    submit_batch_root(*fx, subject, kT0);
    records.push_back(claim_batch_of(*fx, kT0 + 10).batch);
  }
  // 0 stays claimed; 1 uploaded; 2 created, not yet polled; 3 at the provider, in progress;
  // 4 applied after the provider completed it; 5 abandoned before the provider had it.
  Millis t = kT0 + 20;
  records[1].state = store::BatchState::uploaded;
  records[1].input_file_id = "file-1";
  records[2].state = store::BatchState::created;
  records[2].provider_batch_id = "batch_2";
  records[3].state = store::BatchState::created;
  records[3].provider_batch_id = "batch_3";
  records[3].provider_status = "in_progress";
  for (int i : {1, 2, 3}) REQUIRE_OK(fx->update_batch(records[i], "worker-a", t));
  records[4].state = store::BatchState::applied;
  records[4].provider_status = "completed";
  REQUIRE_OK(fx->close_batch(records[4], "worker-a", t));
  records[5].state = store::BatchState::abandoned;
  records[5].error = "the input file was refused";
  REQUIRE_OK(fx->close_batch(records[5], "worker-a", t));

  auto gauge = batches_gauge(*fx, t + 1);
  CHECK(gauge.size() == std::size(batch::kStatuses) + 1);  // and "created"
  std::map<std::string, double> expected;
  for (const char* status : batch::kStatuses) expected[status] = 0;
  expected["claimed"] = 1;
  expected["uploaded"] = 1;
  expected["created"] = 1;
  expected["in_progress"] = 1;
  expected["completed"] = 1;
  expected["abandoned"] = 1;
  CHECK(gauge == expected);
}

STORE_CONTRACT("a batch-mode root's view sums its calls by model, which an online root's lacks") {
  const std::string root = submit_batch_root(*fx, "SAVED", kT0);
  auto claimed = claim_batch_of(*fx, kT0 + 10);
  const Job& subject = claimed.jobs.at(0);
  log_call(*fx, subject, "batch-x/1", "gpt-4o-mini", {1000, 200, 100, 0}, 0.0003, kT0 + 20);
  log_call(*fx, subject, "batch-x/2", "gpt-4o-mini", {500, 100, 0, 40}, 0.0002, kT0 + 21);
  log_call(*fx, subject, "batch-x/3", "gpt-4.1-mini", {300, 30, 0, 0}, 0.0001, kT0 + 22);
  const std::string online = submit_small(*fx, "ONLINE", kT0);
  Job online_subject = claim_one(*fx, kT0 + 30);
  REQUIRE(online_subject.id == online);
  log_call(*fx, online_subject, "online-1", "gpt-4o-mini", {10, 10, 0, 0}, 0.01, kT0 + 31);

  auto view = fx->view_job(root, 5);
  REQUIRE_OK(view);
  REQUIRE(view->calls_by_model.size() == 2);
  const CallTotals& first = view->calls_by_model[0];  // in model order
  CHECK(first.model == "gpt-4.1-mini");
  CHECK(first.mode == CallMode::batch);
  CHECK(first.calls == 1);
  CHECK(first.tokens == TokenUsage{300, 30, 0, 0});
  CHECK(first.cost_usd == doctest::Approx(0.0001));
  const CallTotals& second = view->calls_by_model[1];
  CHECK(second.model == "gpt-4o-mini");
  CHECK(second.calls == 2);
  CHECK(second.tokens == TokenUsage{1500, 300, 100, 40});
  CHECK(second.cost_usd == doctest::Approx(0.0005));

  auto online_view = fx->view_job(online, 5);
  REQUIRE_OK(online_view);
  CHECK(online_view->calls_by_model.empty());
}

STORE_CONTRACT("ops_facts splits the window's finished roots, their calls and batches by mode") {
  // Before the window: a batch root that finished then, whose calls and batches stay out.
  const std::string old_root = submit_batch_root(*fx, "OLD", kT0);
  run_batch_root(*fx, kT0 + 100);
  REQUIRE(root_of(*fx, old_root).status == JobStatus::succeeded);
  const Millis since = kT0 + 100'000;

  const std::string online = submit_small(*fx, "ONLINE", since + 10);
  Job subject = claim_one(*fx, since + 20);
  log_call(*fx, subject, "online-1", "gpt-4o-mini", {50, 5, 0, 0}, 0.002, since + 30);
  complete(*fx, subject, since + 40);
  run_to_end(*fx, since + 50);
  const std::string batch_root = submit_batch_root(*fx, "BATCH", since + 60);
  run_batch_root(*fx, since + 100);
  // Still open in the window: neither its calls nor its batch count.
  const std::string open = submit_batch_root(*fx, "OPEN", since + 200);
  auto open_claim = claim_batch_of(*fx, since + 210);
  log_call(*fx, open_claim.jobs.at(0), "batch-open/1", "gpt-4o-mini", {1, 1, 0, 0}, 1.0,
           since + 220);
  REQUIRE(root_of(*fx, online).status == JobStatus::succeeded);
  REQUIRE(root_of(*fx, batch_root).status == JobStatus::succeeded);

  auto read = fx->ops_facts(since, since + 10'000'000);
  REQUIRE_OK(read);
  std::map<CallMode, int> roots;
  for (const auto& r : read->roots) ++roots[r.mode];
  CHECK(roots[CallMode::online] == 1);
  CHECK(roots[CallMode::batch] == 1);

  const std::int64_t steps = counts(*fx, batch_root).jobs_succeeded;
  REQUIRE(read->calls.size() == 2);  // by mode, then model
  CHECK(read->calls[0].mode == CallMode::batch);
  CHECK(read->calls[0].model == "gpt-4o-mini");
  CHECK(read->calls[0].calls == steps);
  CHECK(read->calls[0].tokens == TokenUsage{100 * steps, 10 * steps, 0, 0});
  CHECK(read->calls[0].cost_usd == doctest::Approx(0.001 * static_cast<double>(steps)));
  CHECK(read->calls[1].mode == CallMode::online);
  CHECK(read->calls[1].calls == 1);
  CHECK(read->calls[1].cost_usd == doctest::Approx(0.002));

  // One batch per level (subject, chapters, leaves), each counted as the provider completed it.
  CHECK(read->batches == std::map<std::string, std::int64_t>{{"completed", 3}});
  (void)open;
}

STORE_CONTRACT("ops_facts counts every call of a root finished in the window, before it too") {
  // EARLY is worked and billed before the window and cancelled in it, one call of its step in
  // flight logged after that: a root partly in the window counts in full. GONE finished before
  // the window, a late call of its in the window: none of its calls counts.
  const std::string early = submit_small(*fx, "EARLY", kT0);
  Job subject = claim_one(*fx, kT0 + 10);
  REQUIRE(subject.id == early);
  log_call(*fx, subject, "early-1", "gpt-4o-mini", {40, 4, 0, 0}, 0.003, kT0 + 20);
  complete(*fx, subject, kT0 + 30);
  Job chapter = claim(*fx, 1, kT0 + 40).at(0);
  REQUIRE(chapter.root_id == early);
  log_call(*fx, chapter, "early-2", "gpt-4o", {60, 6, 2, 0}, 0.004, kT0 + 50);

  const std::string gone = submit_small(*fx, "GONE", kT0 + 60);
  Job gone_subject;
  for (const auto& job : claim(*fx, 10, kT0 + 70)) {
    if (job.root_id == gone) gone_subject = job;
  }
  REQUIRE(gone_subject.id == gone);
  REQUIRE_OK(fx->cancel(gone, "not wanted", kT0 + 80));

  const Millis since = kT0 + 100'000;
  REQUIRE_OK(fx->cancel(early, "not wanted", since + 10));
  log_call(*fx, chapter, "early-3", "gpt-4o", {10, 1, 0, 0}, 0.001, since + 20);
  log_call(*fx, gone_subject, "gone-1", "gpt-4o-mini", {1000, 100, 0, 0}, 1.0, since + 30);

  auto read = fx->ops_facts(since, since + 10'000'000);
  REQUIRE_OK(read);
  REQUIRE(read->roots.size() == 1);
  CHECK(read->roots[0].id == early);
  REQUIRE(read->calls.size() == 1);
  CHECK(read->calls[0].mode == CallMode::online);
  CHECK(read->calls[0].calls == 3);
  CHECK(read->calls[0].tokens == TokenUsage{110, 11, 2, 0});
  CHECK(read->calls[0].cost_usd == doctest::Approx(0.008));
  batch::ModeSplit split = batch::split_by_mode(*read, PriceTable{});
  CHECK(split.online.roots == 1);
  CHECK(split.online.calls == 3);
  CHECK(split.online.cost_usd == doctest::Approx(0.008));
  CHECK(split.batch.calls == 0);
}
