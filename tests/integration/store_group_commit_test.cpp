// Store contract: group commits (Store::complete_steps). Each result of a group is fenced by its
// own lease and written all or nothing; the group closes the trees it finishes, also when two
// groups finish a tree at once; two groups that share topics, saved at once in opposite orders
// from two connections, neither deadlock nor wait on a deadlock's detection (PostgreSQL's
// pg_stat_database counts them).
#include <algorithm>
#include <barrier>
#include <chrono>
#include <map>
#include <thread>

#include "core/store/sql_connection.hpp"
#include "tests/integration/store_contract.hpp"

using namespace hydrate;
using namespace hydrate::testing;

namespace {

// Submits small trees and completes their subjects and chapters: their leaves (8 a tree) are
// pending. Expects nothing else runnable in the database.
std::vector<std::string> trees_at_leaves(store::Store& store,
                                         const std::vector<std::string>& subjects, Millis now) {
  std::vector<std::string> roots;
  for (const auto& subject : subjects) roots.push_back(submit_small(store, subject, now));
  for (std::size_t level = 1; level <= 2; ++level) {
    auto steps = claim(store, 100, now);
    REQUIRE(steps.size() == subjects.size() * level);
    for (const auto& step : steps) complete(store, step, now);
  }
  return roots;
}

// Saves the group through store: "" when every result was saved, else what went wrong (so that
// a thread can report it to the test).
std::string save_group(store::Store& store, const std::vector<Job>& jobs, Millis now) {
  std::vector<store::StepOutput> outputs;
  for (const auto& job : jobs) outputs.push_back(output_for(job, now));
  std::vector<store::CompletedStep> group;
  for (std::size_t i = 0; i < jobs.size(); ++i) group.push_back({lease_of(jobs[i]), &outputs[i]});
  auto saved = store.complete_steps(group, now);
  if (!saved) return saved.error().message;
  if (saved->size() != jobs.size()) return "one status per result was expected";
  for (const auto& one : *saved) {
    if (!one) return one.error().message;
  }
  return "";
}

// PostgreSQL's count of deadlocks in this database, once every other connection to it is gone
// (a backend reports its counts when it exits, at the latest).
double deadlocks_settled(store::sql::Connection& db, int connections) {
  for (int i = 0; i < 600; ++i) {
    auto open =
        db.run("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()", {});
    if (open.front().int64(0) <= connections) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return db.run("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()", {})
      .front()
      .real(0);
}

}  // namespace

STORE_CONTRACT("a group commit saves each result under its own lease, all or nothing") {
  std::string root = trees_at_leaves(*fx, {"MATH"}, kT0)[0];
  auto leaves = claim(*fx, 10, kT0 + 1);
  REQUIRE(leaves.size() == 8);
  std::vector<store::StepOutput> outputs;
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    outputs.push_back(output_for(leaves[i], kT0 + 2));
    outputs.back().call = call_for(leaves[i], 100, 50, 0, 0.001, true);
  }
  // The fourth lease was lost (another worker holds the step now): its result must not land.
  std::vector<store::CompletedStep> group;
  for (std::size_t i = 0; i < leaves.size(); ++i)
    group.push_back({lease_of(leaves[i]), &outputs[i]});
  group[3].lease.token = "a-lease-this-worker-lost";
  auto saved = fx->complete_steps(group, kT0 + 2);
  REQUIRE_OK(saved);
  REQUIRE(saved->size() == 8);
  for (std::size_t i = 0; i < 8; ++i) {
    if (i == 3) {
      REQUIRE_FALSE((*saved)[i].ok());
      CHECK((*saved)[i].error().kind == ErrorKind::conflict);
    } else {
      REQUIRE_OK((*saved)[i]);
    }
  }
  store::TreeCounts tree = counts(*fx, root);
  CHECK(tree.jobs_succeeded == 1 + 2 + 7);
  CHECK(tree.jobs_running == 1);
  CHECK(tree.calls == 7);  // the lost lease's call is not billed with its result
  CHECK(tree.actual_cost_usd == doctest::Approx(0.007));
  Job lost = find(*fx, leaves[3].id);
  CHECK(lost.status == JobStatus::running);
  CHECK(lost.lease_token == leaves[3].lease_token);
  CHECK(root_of(*fx, root).status == JobStatus::running);

  // A group holding a tree's last step closes the tree, with another tree's step beside it.
  std::string other = trees_at_leaves(*fx, {"PHYSICS"}, kT0 + 3)[0];
  auto other_leaves = claim(*fx, 1, kT0 + 4);
  REQUIRE(other_leaves.size() == 1);
  CHECK(save_group(*fx, {other_leaves[0], leaves[3]}, kT0 + 5) == "");
  CHECK(root_of(*fx, root).status == JobStatus::succeeded);
  CHECK(root_of(*fx, root).finished_at == kT0 + 5);
  CHECK(root_of(*fx, other).status == JobStatus::running);
  CHECK(counts(*fx, other).jobs_succeeded == 1 + 2 + 1);
}

STORE_CONTRACT("two group commits sharing topics, in opposite orders, never deadlock") {
  // Each round: two trees' 16 leaves, the notes saved by one connection in topic order and the
  // questions by another in reverse, released together. Both leaves of a topic move its row, so
  // without one lock order the two transactions would each hold what the other waits for.
  const bool postgres = fx.backend() == "postgresql";
  auto raw = postgres ? open_raw(fx.url()) : nullptr;
  const int connections = postgres
                              ? static_cast<int>(raw->run("SELECT count(*) FROM pg_stat_activity "
                                                          "WHERE datname = current_database()",
                                                          {})
                                                     .front()
                                                     .int64(0))
                              : 0;
  const double before = postgres ? deadlocks_settled(*raw, connections) : 0;
  auto first = fx.reopen();
  auto second = fx.reopen();
  for (int round = 0; round < 10; ++round) {
    Millis t = kT0 + round * 1000;
    auto roots = trees_at_leaves(
        *fx, {"MATH-" + std::to_string(round), "BIOLOGY-" + std::to_string(round)}, t);
    auto leaves = claim(*fx, 20, t + 1);
    REQUIRE(leaves.size() == 16);
    auto topic_order = [](const Job& x, const Job& y) {
      return std::tie(x.root_id, x.parent_id, x.position) <
             std::tie(y.root_id, y.parent_id, y.position);
    };
    std::sort(leaves.begin(), leaves.end(), topic_order);
    std::vector<Job> notes, questions;
    for (const auto& leaf : leaves)
      (leaf.kind == JobKind::note ? notes : questions).push_back(leaf);
    std::reverse(questions.begin(), questions.end());
    std::barrier start(2);
    std::string other_error;
    std::thread other([&] {
      start.arrive_and_wait();
      other_error = save_group(*second, questions, t + 2);
    });
    start.arrive_and_wait();
    CHECK(save_group(*first, notes, t + 2) == "");
    other.join();
    CHECK(other_error == "");
    for (const auto& root : roots) CHECK(root_of(*fx, root).status == JobStatus::succeeded);
  }
  first.reset();
  second.reset();
  if (postgres) CHECK(deadlocks_settled(*raw, connections) == before);
}

// PostgreSQL only: two groups saving a tree's last two steps at once each see the other's step
// still running, so neither may close the tree inside its transaction; the one that commits last
// must close it after its commit. The test holds the tree's counter row, which both commits take,
// until both wait on it: each has then looked for the tree's open steps with the other's result
// uncommitted.
TEST_CASE(
    "store postgresql: two groups saving a tree's last steps at once close it after both commit") {
  exit_skipped_unless_available("postgresql");
  StoreFixture fx("postgresql");
  const std::string root = trees_at_leaves(*fx, {"MATH"}, kT0)[0];
  auto leaves = claim(*fx, 10, kT0 + 1);
  REQUIRE(leaves.size() == 8);
  // The last two: notes of two topics, so that neither commit waits for the other's topic row.
  std::stable_partition(leaves.begin(), leaves.end(),
                        [](const Job& leaf) { return leaf.kind != JobKind::note; });
  const Job last_a = leaves[6], last_b = leaves[7];
  REQUIRE(last_a.kind == JobKind::note);
  REQUIRE(std::tie(last_a.parent_id, last_a.position) !=
          std::tie(last_b.parent_id, last_b.position));
  CHECK(save_group(*fx, {leaves.begin(), leaves.end() - 2}, kT0 + 2) == "");
  REQUIRE(root_of(*fx, root).status == JobStatus::running);

  auto holder = open_raw(fx.url());
  auto watcher = open_raw(fx.url());
  const std::string holder_pid = holder->run("SELECT pg_backend_pid()", {}).front().text(0);
  holder->begin_write();
  holder->run("SELECT 1 FROM tree_counts WHERE root_id = ?1 FOR UPDATE", {root});
  // Polls (30 s at most) until n connections wait for the holder's lock: on the holder itself,
  // or, queued behind the first waiter for the row, on that waiter.
  auto wait_for_waiters = [&](std::int64_t n) {
    for (int i = 0; i < 600; ++i) {
      auto waiting = watcher->run(
          "WITH first AS (SELECT pid FROM pg_stat_activity "
          "               WHERE CAST(?1 AS INTEGER) = ANY (pg_blocking_pids(pid))) "
          "SELECT count(*) FROM pg_stat_activity a WHERE a.pid IN (SELECT pid FROM first) "
          "OR EXISTS (SELECT 1 FROM first WHERE first.pid = ANY (pg_blocking_pids(a.pid)))",
          {holder_pid});
      if (waiting.front().int64(0) >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  };
  auto first = fx.reopen();
  auto second = fx.reopen();
  std::string first_error, second_error;
  std::thread first_save([&] { first_error = save_group(*first, {last_a}, kT0 + 3); });
  const bool first_waits = wait_for_waiters(1);
  std::thread second_save([&] { second_error = save_group(*second, {last_b}, kT0 + 4); });
  const bool both_wait = wait_for_waiters(2);
  holder->commit();
  first_save.join();
  second_save.join();
  REQUIRE(first_waits);
  REQUIRE(both_wait);
  CHECK(first_error == "");
  CHECK(second_error == "");
  CHECK(counts(*fx, root).jobs_succeeded == 1 + 2 + 8);
  CHECK(root_of(*fx, root).status == JobStatus::succeeded);
}

STORE_CONTRACT("a group commit bills each call once: to its step, its tree and the tree's spend") {
  // Nine trees' leaves in one group (72: more than one multi-row statement's 64), each call with
  // a cost and usage of its own; the first call was logged already (the worker logs a call whose
  // result it could not save yet): its result lands, its call is not billed a second time.
  auto roots = trees_at_leaves(*fx,
                               {"MATH", "HISTORY", "PHYSICS", "CHEMISTRY", "BIOLOGY", "ENGLISH",
                                "HINDI", "GEOGRAPHY", "CIVICS"},
                               kT0);
  auto leaves = claim(*fx, 100, kT0 + 1);
  REQUIRE(leaves.size() == 72);
  std::vector<store::StepOutput> outputs;
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    outputs.push_back(output_for(leaves[i], kT0 + 2));
    const auto n = static_cast<std::int64_t>(i);
    outputs.back().call = call_for(leaves[i], 100 + n, 50 + n, n, 0.001 * (n + 1), true);
    outputs.back().call->call_id = "call-" + leaves[i].id;
  }
  REQUIRE_OK(fx->log_call(*outputs[0].call));
  std::map<std::string, store::TreeCounts> before;
  std::map<std::string, double> spent_before;
  for (const auto& root : roots) {
    before[root] = counts(*fx, root);
    spent_before[root] = root_of(*fx, root).spent_usd;
  }
  std::vector<store::CompletedStep> group;
  for (std::size_t i = 0; i < leaves.size(); ++i)
    group.push_back({lease_of(leaves[i]), &outputs[i]});
  auto saved = fx->complete_steps(group, kT0 + 3);
  REQUIRE_OK(saved);
  for (const auto& one : *saved) REQUIRE_OK(one);

  // What the group added to each tree: its calls but the one logged before, summed.
  std::map<std::string, store::TreeCounts> added;
  for (std::size_t i = 1; i < leaves.size(); ++i) {
    const CallRecord& call = *outputs[i].call;
    store::TreeCounts& tree = added[call.root_id];
    ++tree.calls;
    tree.tokens.prompt += call.usage.prompt;
    tree.tokens.completion += call.usage.completion;
    tree.tokens.cached += call.usage.cached;
    tree.actual_cost_usd += call.cost_usd;
    tree.cost_by_kind[static_cast<std::size_t>(leaves[i].kind)] += call.cost_usd;
  }
  for (const auto& root : roots) {
    const store::TreeCounts now = counts(*fx, root);
    CHECK(now.calls - before[root].calls == added[root].calls);
    CHECK(now.tokens.prompt - before[root].tokens.prompt == added[root].tokens.prompt);
    CHECK(now.tokens.completion - before[root].tokens.completion == added[root].tokens.completion);
    CHECK(now.tokens.cached - before[root].tokens.cached == added[root].tokens.cached);
    CHECK(now.actual_cost_usd - before[root].actual_cost_usd ==
          doctest::Approx(added[root].actual_cost_usd));
    for (std::size_t kind = 0; kind < 4; ++kind) {
      CHECK(now.cost_by_kind[kind] - before[root].cost_by_kind[kind] ==
            doctest::Approx(added[root].cost_by_kind[kind]));
    }
    CHECK(root_of(*fx, root).spent_usd - spent_before[root] ==
          doctest::Approx(added[root].actual_cost_usd));
    CHECK(root_of(*fx, root).status == JobStatus::succeeded);
  }
  // Each step: one call, its cost on the step, its reservation released, its attempt ended.
  auto raw = open_raw(fx.url());
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    const std::string& id = leaves[i].id;
    CHECK(raw->run("SELECT count(*) FROM llm_calls WHERE job_id = ?1", {id}).front().int64(0) == 1);
    auto job = raw->run("SELECT actual_cost_usd, reserved_usd FROM jobs WHERE id = ?1", {id});
    CHECK(job.front().real(0) == doctest::Approx(0.001 * static_cast<double>(i + 1)));
    CHECK(job.front().real(1) == 0);
    auto attempt = raw->run("SELECT outcome, ended_at FROM attempts WHERE job_id = ?1", {id});
    REQUIRE(attempt.rows.size() == 1);
    CHECK(attempt.front().text(0) == "succeeded");
    CHECK(attempt.front().int64(1) == kT0 + 3);
  }
}
