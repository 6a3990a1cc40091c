// Store contract, the tree counters (schema 7): after every kind of write the store makes —
// submit, claims, results with content and children, releases, failures, lost leases rescued,
// calls of live and dead steps, cancels of a subtree and of a root, requeues, children inserted
// again — tree_counts reads what a recount of the tree's rows says, field by field. And a
// database at version 6 gets its counters from the rows already there.
#include <memory>
#include <string>
#include <vector>

#include "core/store/sql_connection.hpp"
#include "tests/integration/store_contract.hpp"

using namespace hydrate;
using namespace hydrate::testing;

namespace {

std::int64_t count(store::sql::Connection& db, const std::string& sql, const std::string& root) {
  return db.run(sql, {store::sql::Value(root)}).front().int64(0);
}

// The tree's counts aggregated from its rows, as tree_counts computed them before schema 7.
store::TreeCounts recount(store::sql::Connection& db, const std::string& root) {
  store::TreeCounts c;
  for (const auto& row : db.run("SELECT kind, status, count(*) FROM jobs WHERE root_id = ?1 "
                                "GROUP BY kind, status",
                                {store::sql::Value(root)})
                             .rows) {
    std::string kind = row.text(0), status = row.text(1);
    std::int64_t n = row.int64(2);
    if (status == "pending") c.jobs_pending += n;
    if (status == "running") c.jobs_running += n;
    if (status == "failed") c.jobs_failed += n;
    if (status == "cancelled") c.jobs_cancelled += n;
    if (status != "succeeded") continue;
    c.jobs_succeeded += n;
    if (kind == "subject") c.subject_succeeded = true;
    if (kind == "chapter") c.chapter_jobs_succeeded += n;
    if (kind == "note") c.note_jobs_succeeded += n;
    if (kind == "questions") c.questions_jobs_succeeded += n;
  }
  c.chapter_rows = count(db, "SELECT count(*) FROM chapters WHERE job_id = ?1", root);
  c.topic_rows = count(db, "SELECT count(*) FROM topics WHERE root_id = ?1", root);
  c.topics_completed = count(db,
                             "SELECT count(*) FROM (SELECT 1 FROM jobs l WHERE l.root_id = ?1 "
                             "AND l.status = 'succeeded' AND l.kind IN ('note', 'questions') "
                             "GROUP BY l.parent_id, l.position HAVING count(*) = "
                             "(SELECT leaves_per_topic FROM roots WHERE job_id = ?1)) AS done",
                             root);
  c.question_rows = count(db, "SELECT count(*) FROM questions WHERE root_id = ?1", root);
  const auto sums = db.run(
      "SELECT count(*), coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), "
      "coalesce(sum(cached_tokens), 0), coalesce(sum(cost_usd), 0) FROM llm_calls "
      "WHERE root_id = ?1",
      {store::sql::Value(root)});
  c.calls = sums.front().int64(0);
  c.tokens = TokenUsage{sums.front().int64(1), sums.front().int64(2), sums.front().int64(3)};
  c.actual_cost_usd = sums.front().real(4);
  for (const auto& row : db.run("SELECT j.kind, coalesce(sum(c.cost_usd), 0) FROM llm_calls c "
                                "JOIN jobs j ON j.id = c.job_id WHERE c.root_id = ?1 "
                                "GROUP BY j.kind",
                                {store::sql::Value(root)})
                             .rows) {
    for (int kind = 0; kind < 4; ++kind) {
      if (row.text(0) == to_string(static_cast<JobKind>(kind))) c.cost_by_kind[kind] = row.real(1);
    }
  }
  return c;
}

// tree_counts of root equals its recount, every field.
void check_agree(StoreFixture& fx, store::sql::Connection& db, const std::string& root,
                 const char* after) {
  const std::string phase = after;
  CAPTURE(phase);
  CAPTURE(root);
  const store::TreeCounts kept = counts(*fx, root), rows = recount(db, root);
  CHECK(kept.jobs_pending == rows.jobs_pending);
  CHECK(kept.jobs_running == rows.jobs_running);
  CHECK(kept.jobs_succeeded == rows.jobs_succeeded);
  CHECK(kept.jobs_failed == rows.jobs_failed);
  CHECK(kept.jobs_cancelled == rows.jobs_cancelled);
  CHECK(kept.subject_succeeded == rows.subject_succeeded);
  CHECK(kept.chapter_jobs_succeeded == rows.chapter_jobs_succeeded);
  CHECK(kept.note_jobs_succeeded == rows.note_jobs_succeeded);
  CHECK(kept.questions_jobs_succeeded == rows.questions_jobs_succeeded);
  CHECK(kept.chapter_rows == rows.chapter_rows);
  CHECK(kept.topic_rows == rows.topic_rows);
  CHECK(kept.topics_completed == rows.topics_completed);
  CHECK(kept.question_rows == rows.question_rows);
  CHECK(kept.calls == rows.calls);
  CHECK(kept.tokens == rows.tokens);
  CHECK(kept.actual_cost_usd == doctest::Approx(rows.actual_cost_usd).epsilon(1e-12));
  for (int kind = 0; kind < 4; ++kind) {
    CAPTURE(kind);
    CHECK(kept.cost_by_kind[kind] == doctest::Approx(rows.cost_by_kind[kind]).epsilon(1e-12));
  }
  // PostgreSQL folds each transaction's moves into the counters when it commits
  // (sql/postgres/008_tree_count_moves.sql): none may be left behind.
  if (db.backend() == store::sql::Backend::postgres)
    CHECK(db.run("SELECT count(*) FROM tree_count_moves", {}).front().int64(0) == 0);
}

}  // namespace

STORE_CONTRACT("tree counters agree with a recount of the tree's rows after every kind of write") {
  auto db = open_raw(fx.url());
  const std::string a = submit_small(*fx, "MATH", kT0);
  const std::string b =
      submit(*fx, new_root(test_slot("ART"), small_options(false, true), kT0)).root.job.id;
  auto agree = [&](const char* after) {
    check_agree(fx, *db, a, after);
    check_agree(fx, *db, b, after);
  };
  agree("submit");

  // Both subjects at once (one claim across two trees), then A's chapters and B's chapter 1.
  auto subjects = claim(*fx, 10, kT0 + 1);
  REQUIRE(subjects.size() == 2);
  agree("a claim across two trees");
  REQUIRE_OK(fx->log_call(call_for(pick(subjects, b), 300, 0, 0, 0.0004, false)));  // rejected
  store::StepOutput plan_a = complete(*fx, pick(subjects, a), kT0 + 2);
  store::StepOutput plan_b = complete(*fx, pick(subjects, b), kT0 + 2);
  agree("subject results");
  auto chapters = claim(*fx, 10, kT0 + 3);
  REQUIRE(chapters.size() == 4);
  store::StepOutput topics_a =
      complete(*fx, pick(chapters, child_id(plan_a, JobKind::chapter, 1)), kT0 + 4);
  complete(*fx, pick(chapters, child_id(plan_a, JobKind::chapter, 2)), kT0 + 4);
  complete(*fx, pick(chapters, child_id(plan_b, JobKind::chapter, 1)), kT0 + 4);
  Job b_chapter2 = pick(chapters, child_id(plan_b, JobKind::chapter, 2));
  agree("chapter results");

  // A's leaves: one succeeds, one fails for good, one is released, one is retried uncounted.
  auto leaves = claim(*fx, 100, kT0 + 5);
  agree("a claim of leaves");
  Job note1 = pick(leaves, child_id(topics_a, JobKind::note, 1));
  Job questions1 = pick(leaves, child_id(topics_a, JobKind::questions, 1));
  Job note2 = pick(leaves, child_id(topics_a, JobKind::note, 2));
  Job questions2 = pick(leaves, child_id(topics_a, JobKind::questions, 2));
  store::StepOutput note1_out = output_for(note1, kT0 + 6);
  note1_out.call = call_for(note1, 900, 1200, 200, 0.0031, true);  // billed with its result
  REQUIRE_OK(fx->complete_step(lease_of(note1), note1_out, kT0 + 6));
  complete(*fx, questions1, kT0 + 6);  // topic 1.1 completed
  REQUIRE_OK(fx->fail_step(lease_of(note2), "HTTP 400", kT0 + 6));
  REQUIRE_OK(fx->release_step(lease_of(questions2), "HTTP 429", kT0 + 7, kT0 + 6));
  REQUIRE_OK(fx->log_call(call_for(note2, 500, 0, 0, 0.0007, false)));
  agree("leaf results, a failure and a release");
  // A result written again under the same lease is refused and counts nothing.
  CHECK_FALSE(fx->complete_step(lease_of(note1), output_for(note1, kT0 + 8), kT0 + 8).ok());
  agree("a refused result");

  // Leases that run out: B's second chapter and the rest of the leaves, rescued by reconcile.
  REQUIRE_OK(fx->rescue_expired_leases(kT0 + 5 + kLease + 1));
  agree("lost leases rescued");
  REQUIRE_OK(fx->log_call(call_for(b_chapter2, 800, 900, 100, 0.0021, false)));  // a zombie's call
  agree("a zombie's call");

  // Cancel A's chapter 2 subtree, requeue A (its failed and cancelled jobs back to pending).
  REQUIRE_OK(fx->cancel(child_id(plan_a, JobKind::chapter, 2), "operator", kT0 + 70'000));
  agree("a subtree cancelled");
  REQUIRE_OK(fx->requeue(a, kT0 + 71'000));
  agree("a requeue");

  // Children inserted again (reconcile's fan-out repair) add none and count none.
  REQUIRE_OK(fx->insert_jobs(topics_a.children, kT0 + 72'000));
  agree("children inserted again");

  // B cancelled while it runs; A runs to the end.
  claim(*fx, 2, kT0 + 73'000);
  REQUIRE_OK(fx->cancel(b, "operator", kT0 + 73'001));
  agree("a root cancelled");
  run_to_end(*fx, kT0 + 74'000 + kLease);  // the two claimed above are taken over
  agree("the end");
  const store::TreeCounts done = counts(*fx, a);
  CHECK(done.topics_completed == 4);
  CHECK(done.jobs_succeeded == 1 + 2 + 8);
  CHECK(done.calls == 2);
  CHECK(done.cost_by_kind[static_cast<int>(JobKind::note)] == doctest::Approx(0.0038));
}

namespace {

// A version-6 tree written row by row: the subject succeeded with 2 chapters; chapter 1
// succeeded with 2 topics, whose leaves are: topic 1 note and questions succeeded, topic 2 note
// succeeded and questions pending; chapter 2 running; 2 questions rows; 3 calls.
void write_version_6_tree(store::sql::Connection& db, const std::string& root) {
  using store::sql::Value;
  db.begin_write();
  auto job = [&](const std::string& id, const char* kind, const std::string& parent, int position,
                 const char* status) {
    db.run(
        "INSERT INTO jobs (id, kind, parent_id, root_id, position, status, input, "
        "max_attempts, run_after, created_at, updated_at) "
        "VALUES (?1, ?2, NULLIF(?3, ''), ?4, ?5, ?6, '{}', 5, 0, 0, 0)",
        {Value(id), Value(std::string(kind)), Value(parent), Value(root),
         Value(std::int64_t{position}), Value(std::string(status))});
  };
  job(root, "subject", "", 0, "succeeded");
  db.run(
      "INSERT INTO roots (job_id, status, language, board, grade, subject, options, "
      "dedupe_key, trace_id, estimates, leaves_per_topic, created_at) "
      "VALUES (?1, 'running', 'en', 'CBSE', '8', 'MATH', '{}', ?1, 't', '{}', 2, 0)",
      {Value(root)});
  job(root + "-c1", "chapter", root, 1, "succeeded");
  job(root + "-c2", "chapter", root, 2, "running");
  job(root + "-n1", "note", root + "-c1", 1, "succeeded");
  job(root + "-q1", "questions", root + "-c1", 1, "succeeded");
  job(root + "-n2", "note", root + "-c1", 2, "succeeded");
  job(root + "-q2", "questions", root + "-c1", 2, "pending");
  for (int i = 1; i <= 2; ++i) {
    db.run(
        "INSERT INTO chapters (job_id, root_id, position, title, summary) "
        "VALUES (?1, ?1, ?2, 't', 's')",
        {Value(root), Value(std::int64_t{i})});
    db.run(
        "INSERT INTO topics (job_id, root_id, position, title, objectives) "
        "VALUES (?1, ?2, ?3, 't', '[]')",
        {Value(root + "-c1"), Value(root), Value(std::int64_t{i})});
    db.run(
        "INSERT INTO questions (job_id, root_id, position, type, prompt, options, answer, "
        "explanation, difficulty) VALUES (?1, ?2, ?3, 'mcq', 'p', '[]', 'a', 'e', 'easy')",
        {Value(root + "-q1"), Value(root), Value(std::int64_t{i})});
  }
  auto call = [&](const std::string& job_id, std::int64_t prompt, std::int64_t completion,
                  double cost) {
    db.run(
        "INSERT INTO llm_calls (job_id, root_id, attempt, model, http_status, prompt_tokens, "
        "completion_tokens, cached_tokens, cost_usd, latency_ms, used, created_at) "
        "VALUES (?1, ?2, 1, 'gpt-4o-mini', 200, ?3, ?4, 10, ?5, 100, 1, 0)",
        {Value(job_id), Value(root), Value(prompt), Value(completion), Value(cost)});
  };
  call(root, 100, 200, 0.25);
  call(root + "-c1", 300, 400, 0.5);
  call(root + "-n1", 500, 600, 1.0);
  db.commit();
}

void check_migration_007(const std::string& backend_name) {
  const StoreBackend* backend = &store_backend(backend_name);
  TempDir dir("hydrate-migration-007-" + backend_name);
  const std::string url = backend->create(dir);
  auto db = open_raw(url);
  build_version(*db, backend_name == "sqlite" ? "sql/sqlite/" : "sql/postgres/", 6);
  write_version_6_tree(*db, "R1");
  write_version_6_tree(*db, "R2");
  {
    auto opened = store::open_store(url, {});
    if (!opened) FAIL("opening migrates: " << opened.error().message);
    auto& store = **opened;
    for (const std::string root : {"R1", "R2"}) {
      auto c = store.tree_counts(root);
      REQUIRE_OK(c);
      CAPTURE(root);
      CHECK(c->jobs_succeeded == 5);
      CHECK(c->jobs_running == 1);
      CHECK(c->jobs_pending == 1);
      CHECK(c->subject_succeeded);
      CHECK(c->chapter_jobs_succeeded == 1);
      CHECK(c->note_jobs_succeeded == 2);
      CHECK(c->questions_jobs_succeeded == 1);
      CHECK(c->chapter_rows == 2);
      CHECK(c->topic_rows == 2);
      CHECK(c->topics_completed == 1);
      CHECK(c->question_rows == 2);
      CHECK(c->calls == 3);
      CHECK(c->tokens == TokenUsage{900, 1200, 30});
      CHECK(c->actual_cost_usd == doctest::Approx(1.75));
      CHECK(c->cost_by_kind[static_cast<int>(JobKind::subject)] == doctest::Approx(0.25));
      CHECK(c->cost_by_kind[static_cast<int>(JobKind::chapter)] == doctest::Approx(0.5));
      CHECK(c->cost_by_kind[static_cast<int>(JobKind::note)] == doctest::Approx(1.0));
      CHECK(c->cost_by_kind[static_cast<int>(JobKind::questions)] == 0);
    }
  }
  // The upgraded counters go on counting: topic 2's questions succeed, completing it.
  db->begin_write();
  db->run("UPDATE jobs SET status = 'succeeded' WHERE id = 'R1-q2'", {});
  db->commit();
  auto opened = store::open_store(url, {});
  REQUIRE(opened.ok());
  auto c = (*opened)->tree_counts("R1");
  REQUIRE_OK(c);
  CHECK(c->topics_completed == 2);
  CHECK(c->questions_jobs_succeeded == 2);
  CHECK(c->jobs_pending == 0);
  db.reset();
  opened->reset();
  if (!current_test_failed()) backend->destroy(url);
}

}  // namespace

TEST_CASE("store sqlite: migration 007 counts the trees already in the database") {
  check_migration_007("sqlite");
}

TEST_CASE("store postgresql: migration 007 counts the trees already in the database") {
  exit_skipped_unless_available("postgresql");
  check_migration_007("postgresql");
}

STORE_CONTRACT(
    "view_job reads a root with its counts and errors, a step alone, an absent job not") {
  const std::string root = submit_small(*fx, "MATH", kT0);
  store::StepOutput plan = complete(*fx, claim_one(*fx, kT0), kT0 + 1);
  auto chapters = claim(*fx, 10, kT0 + 2);
  REQUIRE(chapters.size() == 2);
  REQUIRE_OK(fx->release_step(lease_of(chapters[0]), "HTTP 503", kT0 + 3, kT0 + 2));
  REQUIRE_OK(fx->release_step(lease_of(chapters[1]), "HTTP 429", kT0 + 3, kT0 + 4));

  auto view = fx->view_job(root, 1);
  REQUIRE_OK(view);
  REQUIRE(view->root.has_value());
  CHECK(view->job.id == root);
  CHECK(view->root->job.id == root);
  CHECK(view->counts.chapter_rows == 2);
  CHECK(view->counts.jobs_pending == 2);
  REQUIRE(view->errors.size() == 1);  // the limit holds; the newest error first
  CHECK(view->errors[0].last_error == "HTTP 429");

  auto step = fx->view_job(child_id(plan, JobKind::chapter, 1), 5);
  REQUIRE_OK(step);
  CHECK_FALSE(step->root.has_value());
  CHECK(step->job.kind == JobKind::chapter);
  CHECK(step->errors.empty());
  CHECK(fx->view_job("01ABSENT0000000000000000000", 5).error().kind == ErrorKind::not_found);
}
