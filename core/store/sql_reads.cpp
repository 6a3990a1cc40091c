// Queries of the SQL store: jobs, roots, tree counts, content, the queue's outlook.
#include <map>

#include <fmt/format.h>

#include "core/cascade.hpp"
#include "core/store/sql_store_impl.hpp"

namespace hydrate::store::sql {

namespace {

// A root's spend is its counters' cost (one probe of tree_counts' key; no row reads as 0).
constexpr std::string_view kRootColumns =
    "r.status, r.reason, r.language, r.board, r.grade, r.subject, r.options, r.trace_id, "
    "r.estimates, r.estimated_cost_usd, r.budget_usd, r.created_at, r.started_at, r.finished_at, "
    "(SELECT s.cost_usd FROM tree_counts s WHERE s.root_id = r.job_id)";

// How many columns a comma-separated list names: counted from the list, never kept by hand.
constexpr std::size_t column_count(std::string_view columns) {
  std::size_t n = 1;
  for (char c : columns) n += c == ',' ? 1 : 0;
  return n;
}
constexpr std::size_t kRootColumnCount = column_count(kRootColumns);

RootRecord read_root_row(const Row& r) {
  RootRecord root;
  root.job = read_job(r, 0);
  std::size_t o = kJobColumnCount;
  root.status = parse_job_status(r.text(o + 0)).value_or(JobStatus::pending);
  root.reason = r.text(o + 1);
  root.slot = Slot{r.text(o + 2), r.text(o + 3), r.text(o + 4), r.text(o + 5)};
  root.options = decode_root_options(r.text(o + 6));
  root.trace_id = r.text(o + 7);
  root.estimates_json = r.text(o + 8);
  root.estimated_cost_usd = r.real(o + 9);
  root.budget_usd = r.real(o + 10);
  root.created_at = r.int64(o + 11);
  root.started_at = r.int64(o + 12);
  root.finished_at = r.int64(o + 13);
  root.spent_usd = r.real(o + 14);
  return root;
}

std::string root_select(const char* where_and_order) {
  return fmt::format("SELECT {}, {} FROM roots r JOIN jobs j ON j.id = r.job_id {}",
                     job_columns("j"), kRootColumns, where_and_order);
}

// A tree's counters: one row, kept by the writes that change what it counts
// (sql/sqlite/007_tree_counts.sql).
constexpr std::string_view kCountColumns =
    "c.pending, c.running, c.succeeded, c.failed, c.cancelled, c.subject_succeeded, "
    "c.chapters_succeeded, c.notes_succeeded, c.questions_succeeded, c.chapter_rows, "
    "c.topic_rows, c.topics_completed, c.question_rows, c.calls, c.prompt_tokens, "
    "c.completion_tokens, c.cached_tokens, c.cost_usd, c.subject_cost_usd, c.chapter_cost_usd, "
    "c.note_cost_usd, c.questions_cost_usd";

static_assert(column_count(kCountColumns) == 22, "read_counts_row reads 22 columns");

// The counters at columns o… of r (NULLs, of a tree with no row yet, read as zeros).
TreeCounts read_counts_row(const Row& r, std::size_t o) {
  TreeCounts c;
  c.jobs_pending = r.int64(o + 0);
  c.jobs_running = r.int64(o + 1);
  c.jobs_succeeded = r.int64(o + 2);
  c.jobs_failed = r.int64(o + 3);
  c.jobs_cancelled = r.int64(o + 4);
  c.subject_succeeded = r.int64(o + 5) > 0;
  c.chapter_jobs_succeeded = r.int64(o + 6);
  c.note_jobs_succeeded = r.int64(o + 7);
  c.questions_jobs_succeeded = r.int64(o + 8);
  c.chapter_rows = r.int64(o + 9);
  c.topic_rows = r.int64(o + 10);
  c.topics_completed = r.int64(o + 11);
  c.question_rows = r.int64(o + 12);
  c.calls = r.int64(o + 13);
  c.tokens = TokenUsage{r.int64(o + 14), r.int64(o + 15), r.int64(o + 16)};
  c.actual_cost_usd = r.real(o + 17);
  for (std::size_t kind = 0; kind < c.cost_by_kind.size(); ++kind) {
    c.cost_by_kind[kind] = r.real(o + 18 + kind);
  }
  return c;
}

}  // namespace

std::optional<RootRecord> SqlStore::read_root(const std::string& id) {
  auto rows = run(root_select("WHERE r.job_id = ?1"), params(id));
  if (rows.empty()) return std::nullopt;
  return read_root_row(rows.front());
}

std::optional<Job> SqlStore::read_job_row(const std::string& id) {
  auto rows = run(fmt::format("SELECT {} FROM jobs WHERE id = ?1", kJobColumns), params(id));
  if (rows.empty()) return std::nullopt;
  return read_job(rows.front());
}

Result<Job> SqlStore::find_job(const std::string& id) {
  return read("reading job " + id, [&]() -> Result<Job> {
    auto job = read_job_row(id);
    if (!job) return make_error(ErrorKind::not_found, "job " + id + " not found");
    return *job;
  });
}

Result<RootRecord> SqlStore::find_root(const std::string& id) {
  return read("reading root " + id, [&]() -> Result<RootRecord> {
    auto root = read_root(id);
    if (!root) return make_error(ErrorKind::not_found, "root job " + id + " not found");
    return *root;
  });
}

Result<std::vector<RootRecord>> SqlStore::recent_roots(int limit) {
  return list_roots(std::nullopt, limit, 0);
}

Result<std::vector<RootRecord>> SqlStore::list_roots(std::optional<JobStatus> status, int limit,
                                                     int offset) {
  return read("listing roots", [&]() -> Result<std::vector<RootRecord>> {
    std::vector<RootRecord> out;
    // The newest roots first, then their jobs: the limit applies before the join, so the
    // roots_created index answers it whatever the size of jobs.
    std::string sql = fmt::format(
        "SELECT {}, {} FROM (SELECT * FROM roots {} ORDER BY created_at DESC, job_id DESC "
        "LIMIT ?1 OFFSET ?2) r "
        "JOIN jobs j ON j.id = r.job_id ORDER BY r.created_at DESC, r.job_id DESC",
        job_columns("j"), kRootColumns, status ? "WHERE status = ?3" : "");
    auto values = params(limit, offset);
    if (status) values.push_back(value(to_string(*status)));
    for (const auto& row : run(sql, values).rows) out.push_back(read_root_row(row));
    return out;
  });
}

TreeCounts SqlStore::read_counts(const std::string& root_id) {
  auto rows = run(fmt::format("SELECT {} FROM tree_counts c WHERE root_id = ?1", kCountColumns),
                  params(root_id));
  if (rows.empty()) return TreeCounts{};  // no job of this tree was ever written
  return read_counts_row(rows.front(), 0);
}

std::vector<Job> SqlStore::read_errors(const std::string& root_id, int limit) {
  std::vector<Job> out;
  for (const auto& row :
       run(fmt::format("SELECT {} FROM jobs WHERE root_id = ?1 AND (last_error IS NOT NULL OR "
                       "last_transient_error IS NOT NULL) ORDER BY updated_at DESC LIMIT ?2",
                       kJobColumns),
           params(root_id, limit))
           .rows) {
    out.push_back(read_job(row));
  }
  return out;
}

Result<TreeCounts> SqlStore::tree_counts(const std::string& root_id) {
  return read("counting tree " + root_id,
              [&]() -> Result<TreeCounts> { return read_counts(root_id); });
}

Result<std::vector<Job>> SqlStore::recent_errors(const std::string& root_id, int limit) {
  return read("reading errors of " + root_id,
              [&]() -> Result<std::vector<Job>> { return read_errors(root_id, limit); });
}

Result<JobView> SqlStore::view_job(const std::string& id, int error_limit) {
  return read("reading job " + id, [&]() -> Result<JobView> {
    JobView view;
    // Most lookups are of roots: the root's row brings its job's columns and its counters.
    auto rows = run(fmt::format("SELECT {}, {}, {} FROM roots r JOIN jobs j ON j.id = r.job_id "
                                "LEFT JOIN tree_counts c ON c.root_id = r.job_id "
                                "WHERE r.job_id = ?1",
                                job_columns("j"), kRootColumns, kCountColumns),
                    params(id));
    if (!rows.empty()) {
      view.root = read_root_row(rows.front());
      view.job = view.root->job;
      view.counts = read_counts_row(rows.front(), kJobColumnCount + kRootColumnCount);
      view.errors = read_errors(id, error_limit);
      if (view.root->options.mode == CallMode::batch) {
        view.batches = read_open_batches(id);
        view.calls_by_model = read_call_totals(id, CallMode::batch);
      }
      return view;
    }
    auto job = read_job_row(id);
    if (!job) return make_error(ErrorKind::not_found, "job " + id + " not found");
    view.job = *job;
    return view;
  });
}

Result<std::string> SqlStore::learned_output_mode(const std::string& endpoint,
                                                  const std::string& model) {
  return read("reading the endpoint's output mode", [&]() -> Result<std::string> {
    auto rows = run("SELECT response_format FROM endpoint_modes WHERE endpoint = ?1 AND model = ?2",
                    params(endpoint, model));
    return rows.empty() ? std::string() : rows.front().text(0);
  });
}

Result<std::vector<ChapterContent>> SqlStore::load_content(const std::string& root_id) {
  return read("reading content of " + root_id, [&]() -> Result<std::vector<ChapterContent>> {
    std::vector<ChapterContent> chapters;
    std::map<int, std::size_t> chapter_index;  // chapter position -> index
    for (const auto& row : run("SELECT position, title, summary FROM chapters WHERE job_id = ?1 "
                               "ORDER BY position",
                               params(root_id))
                               .rows) {
      chapter_index[row.int32(0)] = chapters.size();
      chapters.push_back({row.int32(0), ChapterPlan{row.text(1), row.text(2)}, {}});
    }
    for (const auto& row : run("SELECT j.position, t.position, t.title, t.objectives "
                               "FROM topics t JOIN jobs j ON j.id = t.job_id WHERE t.root_id = ?1 "
                               "ORDER BY j.position, t.position",
                               params(root_id))
                               .rows) {
      auto it = chapter_index.find(row.int32(0));
      if (it == chapter_index.end()) continue;
      chapters[it->second].topics.push_back(
          {row.int32(1), TopicPlan{row.text(2), string_list(row.text(3))}, std::nullopt, {}});
    }
    std::map<std::pair<int, int>, TopicContent*> topics;  // (chapter, topic position) -> topic
    for (auto& chapter : chapters) {
      for (auto& topic : chapter.topics) topics[{chapter.position, topic.position}] = &topic;
    }
    for (const auto& row :
         run("SELECT p.position, j.position, n.markdown, n.key_points FROM notes n "
             "JOIN jobs j ON j.id = n.job_id JOIN jobs p ON p.id = j.parent_id "
             "WHERE n.root_id = ?1",
             params(root_id))
             .rows) {
      auto it = topics.find({row.int32(0), row.int32(1)});
      if (it != topics.end()) it->second->note = Note{row.text(2), string_list(row.text(3))};
    }
    for (const auto& row :
         run("SELECT p.position, j.position, q.type, q.prompt, q.options, q.answer, "
             "q.explanation, q.difficulty FROM questions q "
             "JOIN jobs j ON j.id = q.job_id JOIN jobs p ON p.id = j.parent_id "
             "WHERE q.root_id = ?1 ORDER BY p.position, j.position, q.position",
             params(root_id))
             .rows) {
      auto it = topics.find({row.int32(0), row.int32(1)});
      if (it == topics.end()) continue;
      it->second->questions.push_back(Question{row.text(2), row.text(3), string_list(row.text(4)),
                                               row.text(5), row.text(6), row.text(7)});
    }
    return chapters;
  });
}

Result<QueueOutlook> SqlStore::queue_outlook(Millis now) {
  return read("reading the queue", [&]() -> Result<QueueOutlook> {
    auto rows = run(
        "SELECT "
        " CASE WHEN EXISTS (SELECT 1 FROM jobs WHERE status = 'pending' AND run_after <= ?1) OR "
        "   EXISTS (SELECT 1 FROM jobs WHERE status = 'running' AND lease_expires_at < ?1 "
        "           AND attempts < max_attempts) THEN 1 ELSE 0 END, "
        " CASE WHEN EXISTS (SELECT 1 FROM jobs WHERE status = 'pending' AND run_after > ?1) "
        "   THEN 1 ELSE 0 END, "
        " CASE WHEN EXISTS (SELECT 1 FROM jobs WHERE status = 'running' AND lease_expires_at >= "
        "?1) "
        "   THEN 1 ELSE 0 END, "
        " (SELECT min(run_after) FROM jobs WHERE status = 'pending' AND run_after > ?1)",
        params(now));
    const Row& row = rows.front();
    QueueOutlook outlook;
    outlook.ready = row.int64(0) != 0;
    outlook.waiting = row.int64(1) != 0;
    outlook.running = row.int64(2) != 0;
    outlook.next_run_after = row.int64(3);
    return outlook;
  });
}

}  // namespace hydrate::store::sql
