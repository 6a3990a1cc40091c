// JSON shapes (core/report.hpp) of status, submit, dry run and export: the field names of
// DESIGN.md "The command line (contract)", which the original system's consumers read.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "core/report.hpp"

namespace {

using namespace hydrate;
using nlohmann::json;

constexpr Millis kCreated = 1'769'853'600'000;  // 2026-01-31T10:00:00Z

store::RootRecord sample_root() {
  store::RootRecord root;
  root.job.id = "01KG0000000000000000000000";
  root.job.root_id = root.job.id;
  root.status = JobStatus::running;
  root.slot = Slot{"en", "CBSE", "1", "MATH"};
  root.options.chapters = 4;
  root.options.topics_per_chapter = 3;
  root.options.questions_per_topic = 10;
  root.options.model = "gpt-4o-mini";
  root.trace_id = "hydrate-01KG0000000000000000000001";
  root.estimates_json = R"({"totalChapters":4,"estimatedTopics":12})";
  root.estimated_cost_usd = 0.0123456789;
  root.budget_usd = 0;
  root.created_at = kCreated;
  root.started_at = kCreated + 5000;
  return root;
}

store::TreeCounts sample_counts() {
  store::TreeCounts c;
  c.subject_succeeded = true;
  c.chapter_rows = 4;
  c.chapter_jobs_succeeded = 2;
  c.topic_rows = 6;
  c.topics_completed = 1;
  c.note_jobs_succeeded = 2;
  c.questions_jobs_succeeded = 1;
  c.question_rows = 10;
  c.jobs_succeeded = 6;
  c.jobs_pending = 9;
  c.jobs_running = 2;
  c.tokens = TokenUsage{12000, 3400, 2000};
  c.actual_cost_usd = 0.004;
  c.calls = 8;
  return c;
}

std::set<std::string> keys(const json& object) {
  std::set<std::string> out;
  for (const auto& item : object.items()) out.insert(item.key());
  return out;
}

Estimate sample_estimate() {
  Estimate e;
  e.chapters = 12;
  e.topics = 60;
  e.notes = 60;
  e.questions = 0;
  e.steps = 73;
  e.cost_usd = 0.0421;
  e.duration_mins = 4.5;
  e.basis = "defaults";
  return e;
}

}  // namespace

TEST_CASE("report: root status has the contract's field names") {
  Job failing;
  failing.id = "01KG0000000000000000000009";
  failing.kind = JobKind::note;
  failing.status = JobStatus::pending;
  failing.attempts = 2;
  failing.last_error = "HTTP 503";
  json j = json::parse(report::root_status_json(sample_root(), sample_counts(), {failing}));

  CHECK(j.at("jobId") == "01KG0000000000000000000000");
  CHECK(j.at("status") == "running");
  const json& progress = j.at("progress");
  CHECK(progress.at("overall").is_number_integer());
  CHECK(progress.at("overall") == 6 * 100 / (1 + 4 + 12 * 2));
  const json& levels = progress.at("levels");
  CHECK(keys(levels) == std::set<std::string>{"chapters", "topics", "notes", "questions"});
  for (const char* level : {"chapters", "topics", "notes", "questions"}) {
    CAPTURE(level);
    CHECK(keys(levels.at(level)) == std::set<std::string>{"completed", "expected"});
  }
  CHECK(levels["chapters"]["completed"] == 2);
  CHECK(levels["chapters"]["expected"] == 4);
  CHECK(levels["topics"]["completed"] == 1);
  CHECK(levels["topics"]["expected"] == 6 + 2 * 3);
  CHECK(levels["questions"]["completed"] == 10);

  CHECK(j.at("costs").at("estimatedUsd") == doctest::Approx(0.012346));
  CHECK(j.at("costs").at("actualUsd") == doctest::Approx(0.004));
  CHECK(j.at("tokens").at("prompt") == 12000);
  CHECK(j.at("tokens").at("completion") == 3400);
  CHECK(j.at("tokens").at("cached") == 2000);

  CHECK(j.at("createdAt") == "2026-01-31T10:00:00Z");
  CHECK(j.at("startedAt") == "2026-01-31T10:00:05Z");
  CHECK(j.at("finishedAt").is_null());
  CHECK_FALSE(j.contains("reason"));
  CHECK(j.at("traceId") == "hydrate-01KG0000000000000000000001");
  CHECK(j.at("slot").at("subject") == "MATH");
  CHECK(j.at("estimates").at("totalChapters") == 4);

  REQUIRE(j.at("errors").size() == 1);
  CHECK(j["errors"][0].at("jobId") == failing.id);
  CHECK(j["errors"][0].at("kind") == "note");
  CHECK(j["errors"][0].at("error") == "HTTP 503");
}

TEST_CASE("report: root status carries the original HydrationJob columns, flat") {
  store::RootRecord root = sample_root();
  root.estimates_json = R"({"totalChapters":4,"estimatedDurationMins":4.5})";
  json j = json::parse(report::root_status_json(root, sample_counts(), {}));
  CHECK(j.at("hierarchyLevel") == "subject");
  const json& levels = j.at("progress").at("levels");
  for (const char* level : {"chapters", "topics", "notes", "questions"}) {
    CAPTURE(level);
    CHECK(j.at(std::string(level) + "Expected") == levels.at(level).at("expected"));
    CHECK(j.at(std::string(level) + "Completed") == levels.at(level).at("completed"));
  }
  CHECK(j.at("estimatedCostUsd") == j.at("costs").at("estimatedUsd"));
  CHECK(j.at("actualCostUsd") == doctest::Approx(0.004));
  CHECK(j.at("estimatedDurationMins") == 4.5);
  CHECK(j.at("actualDurationMins").is_null());  // still running
  root.status = JobStatus::succeeded;
  root.finished_at = root.created_at + 90 * 60000 + 3000;  // 90.05 minutes
  j = json::parse(report::root_status_json(root, sample_counts(), {}));
  CHECK(j.at("actualDurationMins") == doctest::Approx(90.1));
}

TEST_CASE("report: a failed or cancelled root says why") {
  store::RootRecord root = sample_root();
  root.status = JobStatus::cancelled;
  root.reason = "operator asked";
  root.finished_at = kCreated + 60000;
  json j = json::parse(report::root_status_json(root, sample_counts(), {}));
  CHECK(j.at("status") == "cancelled");
  CHECK(j.at("reason") == "operator asked");
  CHECK(j.at("finishedAt") == "2026-01-31T10:01:00Z");
  CHECK(j.at("errors").empty());
}

TEST_CASE("report: the dry run has exactly the original shape") {
  json j = json::parse(report::submit_json(nullptr, sample_estimate(), "gpt-4o-mini"));
  CHECK(keys(j) == std::set<std::string>{"rootJobId", "status", "estimates"});
  CHECK(j.at("rootJobId") == "dry-run");
  CHECK(j.at("status") == "dry-run");
  const json& e = j.at("estimates");
  CHECK(e.at("totalChapters") == 12);
  CHECK(e.at("estimatedTopics") == 60);
  CHECK(e.at("estimatedNotes") == 60);
  CHECK(e.at("estimatedQuestions") == 0);
  CHECK(e.at("estimatedCostUsd") == doctest::Approx(0.0421));
  CHECK(e.at("estimatedDurationMins") == doctest::Approx(4.5));
}

TEST_CASE("report: submit returns the root id, status, estimates, trace id and createdAt") {
  store::SubmitOutcome outcome;
  outcome.root = sample_root();
  outcome.root.status = JobStatus::pending;
  outcome.deduplicated = true;
  json j = json::parse(report::submit_json(&outcome, sample_estimate(), "gpt-4o-mini"));
  CHECK(j.at("rootJobId") == "01KG0000000000000000000000");
  CHECK(j.at("status") == "pending");
  CHECK(j.at("traceId") == "hydrate-01KG0000000000000000000001");
  CHECK(j.at("createdAt") == "2026-01-31T10:00:00Z");
  CHECK(j.at("deduplicated") == true);
  CHECK(j.at("estimates").at("totalChapters") == 12);
}

TEST_CASE("report: export has chapters, topics, notes and questions in the original shape") {
  store::ChapterContent chapter;
  chapter.position = 1;
  chapter.plan = {"Numbers", "Counting to twenty."};
  store::TopicContent with_all;
  with_all.position = 1;
  with_all.plan = {"Counting", {"count objects", "compare groups"}};
  with_all.note = Note{"# Counting\n\nOne, two.", {"a", "b", "c"}};
  with_all.questions = {Question{"mcq", "How many?", {"1", "2", "3", "4"}, "3", "Count.", "easy"},
                        Question{"short", "Add 1 and 1.", {}, "2", "One more.", "medium"}};
  store::TopicContent bare;
  bare.position = 2;
  bare.plan = {"Ordering", {"order numbers", "find the largest"}};
  chapter.topics = {with_all, bare};

  json j = json::parse(report::export_json(sample_root(), {chapter}));
  CHECK(j.at("jobId") == "01KG0000000000000000000000");
  CHECK(j.at("slot").at("board") == "CBSE");
  REQUIRE(j.at("chapters").size() == 1);
  const json& c = j["chapters"][0];
  CHECK(c.at("position") == 1);
  CHECK(c.at("title") == "Numbers");
  CHECK(c.at("summary") == "Counting to twenty.");
  REQUIRE(c.at("topics").size() == 2);
  const json& t = c["topics"][0];
  CHECK(t.at("position") == 1);
  CHECK(t.at("title") == "Counting");
  CHECK(t.at("objectives").size() == 2);
  CHECK(t.at("note").at("markdown") == "# Counting\n\nOne, two.");
  CHECK(t.at("note").at("keyPoints").size() == 3);
  REQUIRE(t.at("questions").size() == 2);
  CHECK(keys(t["questions"][0]) ==
        std::set<std::string>{"type", "prompt", "options", "answer", "explanation", "difficulty"});
  CHECK(t["questions"][0]["options"].size() == 4);
  CHECK(t["questions"][1]["options"].empty());
  CHECK(c["topics"][1].at("note").is_null());
  CHECK(c["topics"][1].at("questions").empty());

  std::string markdown = report::export_markdown(sample_root(), {chapter});
  CHECK(markdown.find("## 1. Numbers") != std::string::npos);
  CHECK(markdown.find("### 1.2 Ordering") != std::string::npos);
  CHECK(markdown.find("How many?") != std::string::npos);
}

TEST_CASE("report: status of a step that is not a root") {
  Job job;
  job.id = "01KG0000000000000000000003";
  job.kind = JobKind::chapter;
  job.status = JobStatus::failed;
  job.root_id = "01KG0000000000000000000000";
  job.parent_id = job.root_id;
  job.position = 3;
  job.attempts = 5;
  job.last_error = "lease expired";
  json j = json::parse(report::job_status_json(job));
  CHECK(j.at("jobId") == job.id);
  CHECK(j.at("kind") == "chapter");
  CHECK(j.at("status") == "failed");
  CHECK(j.at("rootJobId") == job.root_id);
  CHECK(j.at("position") == 3);
  CHECK(j.at("lastError") == "lease expired");
  CHECK(j.at("createdAt").is_null());
}

TEST_CASE("report: a batch-mode root's status shows its savings, an online root's none") {
  store::RootRecord root = sample_root();
  root.options.mode = CallMode::batch;
  batch::Savings savings;
  savings.calls = 16;
  savings.batch_cost_usd = 0.0015452254;
  savings.online_cost_usd = 0.0030904508;
  savings.saving_usd = savings.online_cost_usd - savings.batch_cost_usd;
  json j = json::parse(report::root_status_json(root, sample_counts(), {}, {}, &savings));
  CHECK(j.at("mode") == "batch");
  const json& s = j.at("savings");
  CHECK(keys(s) == std::set<std::string>{"calls", "batchCostUsd", "onlineCostUsd", "savingUsd",
                                         "unpricedModels"});
  CHECK(s.at("calls") == 16);
  CHECK(s.at("batchCostUsd") == doctest::Approx(0.001545));  // to the micro-dollar
  CHECK(s.at("onlineCostUsd") == doctest::Approx(0.003090));
  CHECK(s.at("savingUsd") == doctest::Approx(0.001545));
  CHECK(s.at("unpricedModels").empty());

  root.options.mode = CallMode::online;
  j = json::parse(report::root_status_json(root, sample_counts(), {}, {}, &savings));
  CHECK_FALSE(j.contains("savings"));
}
