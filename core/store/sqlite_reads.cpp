// Queries of the SQLite store: jobs, roots, tree counts, content, the queue's outlook.
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/cascade.hpp"
#include "core/store/sqlite_store_impl.hpp"

namespace hydrate::store::sqlite {

using nlohmann::json;

namespace {

constexpr const char* kRootColumns =
    "r.status, r.reason, r.language, r.board, r.grade, r.subject, r.options, r.trace_id, "
    "r.estimates, r.estimated_cost_usd, r.budget_usd, r.created_at, r.started_at, r.finished_at";

RootRecord read_root_row(SQLite::Statement& s) {
  RootRecord root;
  root.job = read_job(s, 0);
  int o = 20;
  root.status = parse_job_status(s.getColumn(o + 0).getString()).value_or(JobStatus::pending);
  root.reason = s.getColumn(o + 1).getString();
  root.slot = Slot{s.getColumn(o + 2).getString(), s.getColumn(o + 3).getString(),
                   s.getColumn(o + 4).getString(), s.getColumn(o + 5).getString()};
  root.options = decode_root_options(s.getColumn(o + 6).getString());
  root.trace_id = s.getColumn(o + 7).getString();
  root.estimates_json = s.getColumn(o + 8).getString();
  root.estimated_cost_usd = s.getColumn(o + 9).getDouble();
  root.budget_usd = s.getColumn(o + 10).getDouble();
  root.created_at = s.getColumn(o + 11).getInt64();
  root.started_at = s.getColumn(o + 12).getInt64();
  root.finished_at = s.getColumn(o + 13).getInt64();
  return root;
}

std::string root_select(const char* where_and_order) {
  std::string job_columns;
  // Prefix the job columns with the jobs alias.
  std::string columns = kJobColumns;
  std::size_t start = 0;
  while (start < columns.size()) {
    std::size_t comma = columns.find(',', start);
    if (comma == std::string::npos) comma = columns.size();
    std::string name = columns.substr(start, comma - start);
    while (!name.empty() && name.front() == ' ') name.erase(0, 1);
    if (!job_columns.empty()) job_columns += ", ";
    job_columns += "j." + name;
    start = comma + 1;
  }
  return fmt::format("SELECT {}, {} FROM roots r JOIN jobs j ON j.id = r.job_id {}", job_columns,
                     kRootColumns, where_and_order);
}

std::vector<std::string> string_list(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_array()) return {};
  std::vector<std::string> out;
  for (const auto& item : j) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace

std::optional<RootRecord> SqliteStore::read_root(const std::string& id) {
  auto s = query(db_, root_select("WHERE r.job_id = ?1").c_str(), id);
  if (!s.executeStep()) return std::nullopt;
  return read_root_row(s);
}

Result<Job> SqliteStore::find_job(const std::string& id) {
  return guarded("reading job " + id, [&]() -> Result<Job> {
    auto s = query(db_, fmt::format("SELECT {} FROM jobs WHERE id = ?1", kJobColumns).c_str(), id);
    if (!s.executeStep()) return make_error(ErrorKind::not_found, "job " + id + " not found");
    return read_job(s);
  });
}

Result<RootRecord> SqliteStore::find_root(const std::string& id) {
  return guarded("reading root " + id, [&]() -> Result<RootRecord> {
    auto root = read_root(id);
    if (!root) return make_error(ErrorKind::not_found, "root job " + id + " not found");
    return *root;
  });
}

Result<std::vector<RootRecord>> SqliteStore::recent_roots(int limit) {
  return guarded("listing roots", [&]() -> Result<std::vector<RootRecord>> {
    auto s = query(db_, root_select("ORDER BY r.created_at DESC, r.job_id DESC LIMIT ?1").c_str(),
                   limit);
    std::vector<RootRecord> out;
    while (s.executeStep()) out.push_back(read_root_row(s));
    return out;
  });
}

Result<TreeCounts> SqliteStore::tree_counts(const std::string& root_id) {
  return guarded("counting tree " + root_id, [&]() -> Result<TreeCounts> {
    TreeCounts c;
    auto by_status = query(db_,
                           "SELECT kind, status, count(*) FROM jobs WHERE root_id = ?1 "
                           "GROUP BY kind, status",
                           root_id);
    while (by_status.executeStep()) {
      auto kind = parse_job_kind(by_status.getColumn(0).getString());
      auto status = parse_job_status(by_status.getColumn(1).getString());
      std::int64_t n = by_status.getColumn(2).getInt64();
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
    {
      auto s = query(db_, "SELECT count(*) FROM chapters WHERE job_id = ?1", root_id);
      s.executeStep();
      c.chapter_rows = s.getColumn(0).getInt64();
    }
    {
      auto s = query(db_,
                     "SELECT count(*), count(*) FILTER (WHERE NOT EXISTS ("
                     "  SELECT 1 FROM jobs l WHERE l.parent_id = t.job_id "
                     "  AND l.position = t.position AND l.status != 'succeeded')) "
                     "FROM topics t WHERE t.root_id = ?1",
                     root_id);
      s.executeStep();
      c.topic_rows = s.getColumn(0).getInt64();
      c.topics_completed = s.getColumn(1).getInt64();
    }
    {
      auto s = query(db_, "SELECT count(*) FROM questions WHERE root_id = ?1", root_id);
      s.executeStep();
      c.question_rows = s.getColumn(0).getInt64();
    }
    {
      auto s = query(db_,
                     "SELECT count(*), coalesce(sum(prompt_tokens), 0), "
                     "coalesce(sum(completion_tokens), 0), coalesce(sum(cached_tokens), 0), "
                     "coalesce(sum(cost_usd), 0) FROM llm_calls WHERE root_id = ?1",
                     root_id);
      s.executeStep();
      c.calls = s.getColumn(0).getInt64();
      c.tokens = TokenUsage{s.getColumn(1).getInt64(), s.getColumn(2).getInt64(),
                            s.getColumn(3).getInt64()};
      c.actual_cost_usd = s.getColumn(4).getDouble();
    }
    return c;
  });
}

Result<std::vector<Job>> SqliteStore::recent_errors(const std::string& root_id, int limit) {
  return guarded("reading errors of " + root_id, [&]() -> Result<std::vector<Job>> {
    auto s = query(db_,
                   fmt::format("SELECT {} FROM jobs WHERE root_id = ?1 AND last_error IS NOT NULL "
                               "ORDER BY updated_at DESC LIMIT ?2",
                               kJobColumns)
                       .c_str(),
                   root_id, limit);
    std::vector<Job> out;
    while (s.executeStep()) out.push_back(read_job(s));
    return out;
  });
}

Result<std::vector<ChapterContent>> SqliteStore::load_content(const std::string& root_id) {
  return guarded("reading content of " + root_id, [&]() -> Result<std::vector<ChapterContent>> {
    std::vector<ChapterContent> chapters;
    std::map<int, std::size_t> chapter_index;  // chapter position -> index
    auto c = query(db_,
                   "SELECT position, title, summary FROM chapters WHERE job_id = ?1 "
                   "ORDER BY position",
                   root_id);
    while (c.executeStep()) {
      chapter_index[c.getColumn(0).getInt()] = chapters.size();
      chapters.push_back({c.getColumn(0).getInt(),
                          ChapterPlan{c.getColumn(1).getString(), c.getColumn(2).getString()},
                          {}});
    }
    // (chapter job id, topic position) -> topic, for attaching leaves.
    std::map<std::pair<int, int>, TopicContent*> topics;
    auto t = query(db_,
                   "SELECT j.position, t.job_id, t.position, t.title, t.objectives "
                   "FROM topics t JOIN jobs j ON j.id = t.job_id WHERE t.root_id = ?1 "
                   "ORDER BY j.position, t.position",
                   root_id);
    while (t.executeStep()) {
      auto it = chapter_index.find(t.getColumn(0).getInt());
      if (it == chapter_index.end()) continue;
      TopicContent topic{
          t.getColumn(2).getInt(),
          TopicPlan{t.getColumn(3).getString(), string_list(t.getColumn(4).getString())},
          std::nullopt,
          {}};
      chapters[it->second].topics.push_back(std::move(topic));
    }
    for (auto& chapter : chapters) {
      for (auto& topic : chapter.topics) topics[{chapter.position, topic.position}] = &topic;
    }
    auto n = query(db_,
                   "SELECT p.position, j.position, n.markdown, n.key_points FROM notes n "
                   "JOIN jobs j ON j.id = n.job_id JOIN jobs p ON p.id = j.parent_id "
                   "WHERE n.root_id = ?1",
                   root_id);
    while (n.executeStep()) {
      auto it = topics.find({n.getColumn(0).getInt(), n.getColumn(1).getInt()});
      if (it == topics.end()) continue;
      it->second->note = Note{n.getColumn(2).getString(), string_list(n.getColumn(3).getString())};
    }
    auto q = query(db_,
                   "SELECT p.position, j.position, q.type, q.prompt, q.options, q.answer, "
                   "q.explanation, q.difficulty FROM questions q "
                   "JOIN jobs j ON j.id = q.job_id JOIN jobs p ON p.id = j.parent_id "
                   "WHERE q.root_id = ?1 ORDER BY p.position, j.position, q.position",
                   root_id);
    while (q.executeStep()) {
      auto it = topics.find({q.getColumn(0).getInt(), q.getColumn(1).getInt()});
      if (it == topics.end()) continue;
      it->second->questions.push_back(
          Question{q.getColumn(2).getString(), q.getColumn(3).getString(),
                   string_list(q.getColumn(4).getString()), q.getColumn(5).getString(),
                   q.getColumn(6).getString(), q.getColumn(7).getString()});
    }
    return chapters;
  });
}

Result<QueueOutlook> SqliteStore::queue_outlook(Millis now) {
  return guarded("reading the queue", [&]() -> Result<QueueOutlook> {
    auto s =
        query(db_,
              "SELECT "
              " EXISTS (SELECT 1 FROM jobs WHERE status = 'pending' AND run_after <= ?1) OR "
              " EXISTS (SELECT 1 FROM jobs WHERE status = 'running' AND lease_expires_at < ?1 "
              "         AND attempts < max_attempts), "
              " EXISTS (SELECT 1 FROM jobs WHERE status = 'pending' AND run_after > ?1), "
              " EXISTS (SELECT 1 FROM jobs WHERE status = 'running' AND lease_expires_at >= ?1), "
              " (SELECT min(run_after) FROM jobs WHERE status = 'pending' AND run_after > ?1)",
              static_cast<std::int64_t>(now));
    s.executeStep();
    QueueOutlook outlook;
    outlook.ready = s.getColumn(0).getInt() != 0;
    outlook.waiting = s.getColumn(1).getInt() != 0;
    outlook.running = s.getColumn(2).getInt() != 0;
    outlook.next_run_after = s.getColumn(3).getInt64();
    return outlook;
  });
}

}  // namespace hydrate::store::sqlite
