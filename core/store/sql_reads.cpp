// Queries of the SQL store: jobs, roots, tree counts, content, the queue's outlook.
#include <map>

#include <fmt/format.h>

#include "core/cascade.hpp"
#include "core/store/sql_store_impl.hpp"

namespace hydrate::store::sql {

namespace {

constexpr const char* kRootColumns =
    "r.status, r.reason, r.language, r.board, r.grade, r.subject, r.options, r.trace_id, "
    "r.estimates, r.estimated_cost_usd, r.budget_usd, r.created_at, r.started_at, r.finished_at, "
    "r.spent_usd";

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

}  // namespace

std::optional<RootRecord> SqlStore::read_root(const std::string& id) {
  auto rows = run(root_select("WHERE r.job_id = ?1"), params(id));
  if (rows.empty()) return std::nullopt;
  return read_root_row(rows.front());
}

Result<Job> SqlStore::find_job(const std::string& id) {
  return read("reading job " + id, [&]() -> Result<Job> {
    auto rows = run(fmt::format("SELECT {} FROM jobs WHERE id = ?1", kJobColumns), params(id));
    if (rows.empty()) return make_error(ErrorKind::not_found, "job " + id + " not found");
    return read_job(rows.front());
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

Result<TreeCounts> SqlStore::tree_counts(const std::string& root_id) {
  return read("counting tree " + root_id, [&]() -> Result<TreeCounts> {
    TreeCounts c;
    for (const auto& row : run("SELECT kind, status, count(*) FROM jobs WHERE root_id = ?1 "
                               "GROUP BY kind, status",
                               params(root_id))
                               .rows) {
      auto kind = parse_job_kind(row.text(0));
      auto status = parse_job_status(row.text(1));
      std::int64_t n = row.int64(2);
      if (!kind || !status) continue;
      switch (*status) {
        case JobStatus::pending:
          c.jobs_pending += n;
          break;
        case JobStatus::running:
          c.jobs_running += n;
          break;
        case JobStatus::succeeded:
          c.jobs_succeeded += n;
          break;
        case JobStatus::failed:
          c.jobs_failed += n;
          break;
        case JobStatus::cancelled:
          c.jobs_cancelled += n;
          break;
      }
      if (*status != JobStatus::succeeded) continue;
      if (*kind == JobKind::subject) c.subject_succeeded = true;
      if (*kind == JobKind::chapter) c.chapter_jobs_succeeded += n;
      if (*kind == JobKind::note) c.note_jobs_succeeded += n;
      if (*kind == JobKind::questions) c.questions_jobs_succeeded += n;
    }
    c.chapter_rows =
        run("SELECT count(*) FROM chapters WHERE job_id = ?1", params(root_id)).front().int64(0);
    c.topic_rows =
        run("SELECT count(*) FROM topics WHERE root_id = ?1", params(root_id)).front().int64(0);
    // A topic is complete when every leaf its root asks for exists and succeeded: its succeeded
    // leaves, grouped by topic (parent and position, unique per kind), number leaves_per_topic.
    // One pass over the tree's succeeded leaves in jobs_root, instead of a correlated query per
    // topic (which SQLite ran on jobs_status_kind, reading every succeeded job of the database
    // once per topic).
    c.topics_completed =
        run("SELECT count(*) FROM (SELECT 1 FROM jobs l WHERE l.root_id = ?1 "
            "  AND l.status = 'succeeded' AND l.kind IN ('note', 'questions') "
            "  GROUP BY l.parent_id, l.position "
            "  HAVING count(*) = (SELECT leaves_per_topic FROM roots WHERE job_id = ?1)) AS done",
            params(root_id))
            .front()
            .int64(0);
    c.question_rows =
        run("SELECT count(*) FROM questions WHERE root_id = ?1", params(root_id)).front().int64(0);
    auto calls =
        run("SELECT count(*), coalesce(sum(prompt_tokens), 0), "
            "coalesce(sum(completion_tokens), 0), coalesce(sum(cached_tokens), 0), "
            "coalesce(sum(cost_usd), 0) FROM llm_calls WHERE root_id = ?1",
            params(root_id));
    const Row& sums = calls.front();
    c.calls = sums.int64(0);
    c.tokens = TokenUsage{sums.int64(1), sums.int64(2), sums.int64(3)};
    c.actual_cost_usd = sums.real(4);
    for (const auto& row :
         run("SELECT j.kind, coalesce(sum(c.cost_usd), 0) FROM llm_calls c "
             "JOIN jobs j ON j.id = c.job_id WHERE c.root_id = ?1 GROUP BY j.kind",
             params(root_id))
             .rows) {
      if (auto kind = parse_job_kind(row.text(0)))
        c.cost_by_kind[static_cast<int>(*kind)] = row.real(1);
    }
    return c;
  });
}

Result<std::vector<Job>> SqlStore::recent_errors(const std::string& root_id, int limit) {
  return read("reading errors of " + root_id, [&]() -> Result<std::vector<Job>> {
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
