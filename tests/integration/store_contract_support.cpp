// The store conformance suite's backends, fixture and tree-building helpers.
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "core/clock.hpp"
#include "core/ids.hpp"
#include "core/resources.hpp"
#include "core/store/sql_connection.hpp"
#include "tests/integration/store_contract.hpp"

namespace hydrate::testing {
namespace {

const char* postgres_base_url() {
  const char* url = std::getenv("HYDRATE_TEST_PG");
  return url != nullptr && *url != '\0' ? url : nullptr;
}

std::string postgres_unavailable() {
  static const std::string reason = [] {
    const char* url = postgres_base_url();
    if (url == nullptr) {
      return std::string(
          "HYDRATE_TEST_PG is not set (a postgresql:// URL of a database the tests may create "
          "schemas in)");
    }
    store::OpenOptions options;
    options.migrate = false;
    auto opened = store::open_store(url, options);
    if (!opened) return "cannot open HYDRATE_TEST_PG: " + opened.error().message;
    return std::string();
  }();
  return reason;
}

constexpr const char* kSearchPath = "options=-c%20search_path%3D";

// Each PostgreSQL test gets a schema of its own in the HYDRATE_TEST_PG database, and a URL
// whose search_path points at it, so every handle the test opens sees only its own tables.
std::string create_postgres_schema(const TempDir&) {
  std::string id = new_job_id(wall_clock_ms());
  for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string schema = "hydrate_test_" + id;
  std::string base = postgres_base_url();
  pqxx::connection connection(base);
  pqxx::work work(connection);
  work.exec("CREATE SCHEMA " + schema);
  work.commit();
  return base + (base.find('?') == std::string::npos ? "?" : "&") + kSearchPath + schema;
}

void drop_postgres_schema(const std::string& url) {
  auto at = url.rfind(kSearchPath);
  if (at == std::string::npos) return;
  std::string schema = url.substr(at + std::string(kSearchPath).size());
  pqxx::connection connection(postgres_base_url());
  pqxx::work work(connection);
  work.exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
  work.commit();
}

std::vector<StoreBackend> make_backends() {
  std::vector<StoreBackend> backends;
  backends.push_back(
      StoreBackend{"sqlite", [] { return std::string(); },
                   [](const TempDir& dir) { return "sqlite:" + dir.file("store.db"); },
                   [](const std::string&) {}});  // the temporary directory goes with the file
  backends.push_back(StoreBackend{"postgresql", postgres_unavailable, create_postgres_schema,
                                  drop_postgres_schema});
  return backends;
}

// Says once, at the end of a run that ran store tests, which backends were skipped and why:
// doctest counts them as skipped, this line tells the reader what to do about it.
struct SkippedBackendListener : doctest::IReporter {
  explicit SkippedBackendListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {
    if (!ran_store_tests_) return;
    for (const auto& backend : store_backends()) {
      std::string reason = backend.unavailable();
      if (!reason.empty()) {
        std::cerr << "[store contract] " << backend.name
                  << " backend SKIPPED (not passed): " << reason << "\n";
      }
    }
  }
  void test_case_start(const doctest::TestCaseData& data) override {
    if (std::string(data.m_name).rfind("store ", 0) == 0) ran_store_tests_ = true;
  }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}

  bool ran_store_tests_ = false;
};

REGISTER_LISTENER("hydrate_store_backends", 2, SkippedBackendListener);

std::string title(const char* what, int chapter, int topic) {
  return topic > 0 ? fmt::format("{} {}.{}", what, chapter, topic)
                   : fmt::format("{} {}", what, chapter);
}

}  // namespace

const std::vector<StoreBackend>& store_backends() {
  static const std::vector<StoreBackend> backends = make_backends();
  return backends;
}

const StoreBackend& store_backend(const std::string& name) {
  for (const auto& backend : store_backends()) {
    if (backend.name == name) return backend;
  }
  throw std::runtime_error("unknown store backend " + name);
}

void exit_skipped_unless_available(const std::string& name) {
  for (const auto& backend : store_backends()) {
    if (backend.name != name) continue;
    std::string reason = backend.unavailable();
    if (reason.empty()) return;
    std::fprintf(stderr, "[store contract] %s backend SKIPPED (not passed): %s\n", name.c_str(),
                 reason.c_str());
    std::fflush(stderr);
    std::_Exit(77);
  }
}

StoreFixture::StoreFixture(const std::string& backend)
    : backend_(&store_backend(backend)), dir_("hydrate-store-" + backend) {
  try {
    url_ = backend_->create(dir_);
  } catch (const std::exception& e) {
    FAIL("cannot make a fresh " << backend << " database: " << e.what());
  }
  auto opened = store::open_store(url_, {});
  if (!opened) FAIL("cannot open the " << backend << " store: " << opened.error().message);
  store_ = std::move(opened).value();
}

StoreFixture::~StoreFixture() {
  store_.reset();
  if (url_.empty()) return;
  if (current_test_failed()) {
    std::cerr << "kept the " << backend_->name << " test database: " << url_ << "\n";
    return;
  }
  try {
    backend_->destroy(url_);
  } catch (const std::exception& e) {
    std::cerr << "could not remove the test database " << url_ << ": " << e.what() << "\n";
  }
}

std::unique_ptr<store::Store> StoreFixture::reopen() {
  auto opened = store::open_store(url_, {});
  if (!opened) FAIL("cannot reopen the " << backend() << " store: " << opened.error().message);
  return std::move(opened).value();
}

RootOptions small_options(bool notes, bool questions) {
  RootOptions o;
  o.notes = notes;
  o.questions = questions;
  o.chapters = 2;
  o.topics_per_chapter = 2;
  o.questions_per_topic = 2;
  o.model = "gpt-4o-mini";
  return o;
}

Slot test_slot(const std::string& subject) {
  return Slot{"en", "CBSE", "1", subject};
}

store::NewRoot new_root(const Slot& slot, const RootOptions& options, Millis now, int priority,
                        int max_attempts) {
  StepInput input;
  input.slot = slot;
  input.options = options;
  store::NewRoot root;
  root.job = make_root_job(input, priority, max_attempts, now);
  root.job.estimated_cost_usd = 0.25;
  root.slot = slot;
  root.options = options;
  root.dedupe_key = fmt::format("{}|{}|{}|{}|{}", slot.language, slot.board, slot.grade,
                                slot.subject, encode_root_options(options));
  root.trace_id = new_trace_id(now);
  root.estimates_json = R"({"totalChapters":2,"estimatedTopics":4})";
  root.estimated_cost_usd = 0.25;
  root.budget_usd = 1.5;
  root.now = now;
  return root;
}

store::SubmitOutcome submit(store::Store& store, const store::NewRoot& root) {
  auto outcome = store.submit_root(root);
  if (!outcome) FAIL("submit_root: " << outcome.error().message);
  return *outcome;
}

std::string submit_small(store::Store& store, const std::string& subject, Millis now,
                         int max_attempts, int priority) {
  return submit(store, new_root(test_slot(subject), small_options(), now, priority, max_attempts))
      .root.job.id;
}

std::string submit_batch_root(store::Store& store, const std::string& subject, Millis now,
                              double budget) {
  RootOptions options = small_options();
  options.mode = CallMode::batch;
  store::NewRoot root = new_root(test_slot(subject), options, now);
  root.budget_usd = budget;
  return submit(store, root).root.job.id;
}

store::BatchClaim claim_batch_of(store::Store& store, Millis now) {
  auto claim = store.claim_for_batch({"worker-a", 50000, kBatchWindow, kBatchHold, now});
  REQUIRE_OK(claim);
  REQUIRE(claim->has_value());
  return std::move(**claim);
}

std::vector<Job> claim(store::Store& store, int limit, Millis now, Millis lease_ms,
                       const std::string& holder) {
  store::ClaimRequest request;
  request.holder = holder;
  request.limit = limit;
  request.lease_ms = lease_ms;
  request.now = now;
  auto claimed = store.claim_batch(request);
  if (!claimed) FAIL("claim_batch: " << claimed.error().message);
  return *claimed;
}

Job claim_one(store::Store& store, Millis now, Millis lease_ms, const std::string& holder) {
  auto jobs = claim(store, 1, now, lease_ms, holder);
  REQUIRE(jobs.size() == 1);
  return jobs[0];
}

store::LeaseRef lease_of(const Job& job) {
  return store::LeaseRef{job.id, job.lease_token};
}

Job find(store::Store& store, const std::string& id) {
  auto job = store.find_job(id);
  if (!job) FAIL("find_job " << id << ": " << job.error().message);
  return *job;
}

store::TreeCounts counts(store::Store& store, const std::string& root_id) {
  auto c = store.tree_counts(root_id);
  if (!c) FAIL("tree_counts: " << c.error().message);
  return *c;
}

store::RootRecord root_of(store::Store& store, const std::string& root_id) {
  auto root = store.find_root(root_id);
  if (!root) FAIL("find_root " << root_id << ": " << root.error().message);
  return *root;
}

store::StepOutput output_for(const Job& job, Millis now, bool with_children) {
  auto input = decode_step_input(job.input);
  if (!input) FAIL("job " << job.id << " has an unreadable input: " << input.error().message);
  const RootOptions& o = input->options;
  store::StepOutput out;
  switch (job.kind) {
    case JobKind::subject:
      for (int c = 1; c <= o.chapters; ++c) {
        out.chapters.push_back({title("Chapter", c, 0), title("Summary of chapter", c, 0)});
      }
      break;
    case JobKind::chapter:
      for (int t = 1; t <= o.topics_per_chapter; ++t) {
        out.topics.push_back(
            {title("Topic", input->chapter_position, t), {"objective one", "objective two"}});
      }
      break;
    case JobKind::note:
      out.note = Note{"# " + title("Note", input->chapter_position, input->topic_position),
                      {"point one", "point two", "point three"}};
      break;
    case JobKind::questions:
      for (int q = 1; q <= o.questions_per_topic; ++q) {
        out.questions.push_back(Question{
            q % 2 == 1 ? "mcq" : "short",
            fmt::format("Question {} of topic {}.{}", q, input->chapter_position,
                        input->topic_position),
            q % 2 == 1 ? std::vector<std::string>{"a", "b", "c", "d"} : std::vector<std::string>{},
            q % 2 == 1 ? "b" : "an answer", "because", "easy"});
      }
      break;
  }
  if (with_children) out.children = children_for(job, *input, out, now);
  return out;
}

store::StepOutput complete(store::Store& store, const Job& job, Millis now) {
  store::StepOutput out = output_for(job, now);
  auto saved = store.complete_step(lease_of(job), out, now);
  if (!saved)
    FAIL("complete_step of " << to_string(job.kind) << " " << job.id << ": "
                             << saved.error().message);
  return out;
}

int run_to_end(store::Store& store, Millis now) {
  int completed = 0;
  for (int round = 0; round < 100; ++round) {
    auto jobs = claim(store, 100, now);
    if (jobs.empty()) return completed;
    for (const auto& job : jobs) {
      complete(store, job, now);
      ++completed;
    }
  }
  FAIL("run_to_end: the queue never drained");
  return completed;
}

Job pick(const std::vector<Job>& jobs, const std::string& id) {
  for (const auto& job : jobs) {
    if (job.id == id) return job;
  }
  FAIL("job " << id << " was not among the " << jobs.size() << " claimed");
  return {};
}

Job pick(const std::vector<Job>& jobs, JobKind kind, int position) {
  for (const auto& job : jobs) {
    if (job.kind == kind && job.position == position) return job;
  }
  FAIL("no " << to_string(kind) << " at position " << position << " among those claimed");
  return {};
}

std::string child_id(const store::StepOutput& output, JobKind kind, int position) {
  for (const auto& child : output.children) {
    if (child.kind == kind && child.position == position) return child.id;
  }
  FAIL("the output has no " << to_string(kind) << " child at position " << position);
  return {};
}

CallRecord call_for(const Job& job, std::int64_t prompt, std::int64_t completion,
                    std::int64_t cached, double cost, bool used) {
  CallRecord call;
  call.job_id = job.id;
  call.root_id = job.root_id;
  call.attempt = job.attempts;
  call.model = "gpt-4o-mini";
  call.http_status = 200;
  call.usage = TokenUsage{prompt, completion, cached};
  call.cost_usd = cost;
  call.latency_ms = 1200;
  call.used = used;
  call.error = used ? "" : "answer rejected";
  call.created_at = kT0;
  call.lease_token = job.lease_token;
  return call;
}

double metric(const std::vector<store::MetricSample>& samples, const std::string& name,
              const std::string& labels) {
  double total = 0;
  for (const auto& sample : samples) {
    if (sample.name == name && sample.labels == labels) total += sample.value;
  }
  return total;
}

std::unique_ptr<store::sql::Connection> open_raw(const std::string& url) {
  const std::string sqlite = "sqlite:";
  if (url.rfind(sqlite, 0) == 0) {
    return store::sql::connect_sqlite(url.substr(sqlite.size()), true, 5000);
  }
  return store::sql::connect_postgres(url);
}

void build_version(store::sql::Connection& db, const std::string& dir, int newest) {
  db.begin_write();
  db.run_script(
      "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)");
  for (auto name : resources::names()) {
    if (name.rfind(dir, 0) != 0) continue;
    int version = std::stoi(std::string(name.substr(dir.size(), 3)));
    if (version > newest) continue;
    db.run_script(*resources::find(name));
    db.run("INSERT INTO schema_migrations (version, applied_at) VALUES (?1, 0)",
           {store::sql::Value(static_cast<std::int64_t>(version))});
  }
  db.commit();
}

}  // namespace hydrate::testing
