// The SQL store's reading of finished history, which calibrates estimates.
#include <fmt/format.h>

#include "core/cascade.hpp"
#include "core/store/sql_store_impl.hpp"
#include "core/tsv.hpp"

namespace hydrate::store::sql {

namespace {

// How many of the newest succeeded trees are looked at to find max_roots of the model.
constexpr int kRootsScanned = 500;

bool same_text(const std::string& a, const std::string& b) {
  return to_lower(a) == to_lower(b);
}

}  // namespace

Result<History> SqlStore::history(const std::string& model, const Slot& slot, int max_roots) {
  return read("reading finished history", [&]() -> Result<History> {
    History h;
    auto roots =
        run("SELECT job_id, board, grade, options FROM roots WHERE status = 'succeeded' "
            "ORDER BY finished_at DESC LIMIT ?1",
            params(kRootsScanned));
    for (const auto& root : roots.rows) {
      if (h.roots >= max_roots) break;
      RootOptions options = decode_root_options(root.text(3));
      if (options.model != model) continue;
      ++h.roots;
      const std::string id = root.text(0);
      for (const auto& row : run("SELECT j.kind, count(*), coalesce(sum(c.prompt_tokens), 0), "
                                 "coalesce(sum(c.completion_tokens), 0), "
                                 "coalesce(sum(CASE WHEN c.used = 1 THEN c.latency_ms END), 0), "
                                 "count(*) FILTER (WHERE c.used = 1) "
                                 "FROM llm_calls c JOIN jobs j ON j.id = c.job_id "
                                 "WHERE c.root_id = ?1 GROUP BY j.kind",
                                 params(id))
                                 .rows) {
        auto kind = parse_job_kind(row.text(0));
        if (!kind) continue;
        KindHistory& k = h.by_kind[static_cast<int>(*kind)];
        k.calls += row.int64(1);
        k.prompt_tokens += static_cast<double>(row.int64(2));
        k.completion_tokens += static_cast<double>(row.int64(3));
        h.used_latency_ms += static_cast<double>(row.int64(4));
        h.used_calls += row.int64(5);
      }
      for (const auto& row : run("SELECT kind, count(*) FROM jobs WHERE root_id = ?1 "
                                 "AND status = 'succeeded' GROUP BY kind",
                                 params(id))
                                 .rows) {
        if (auto kind = parse_job_kind(row.text(0))) {
          h.by_kind[static_cast<int>(*kind)].steps += row.int64(1);
          if (*kind == JobKind::note) h.by_kind[static_cast<int>(*kind)].items += row.int64(1);
        }
      }
      auto count = [&](const char* sql) { return run(sql, params(id)).front().int64(0); };
      std::int64_t chapters = count("SELECT count(*) FROM chapters WHERE job_id = ?1");
      std::int64_t topics = count("SELECT count(*) FROM topics WHERE root_id = ?1");
      h.by_kind[static_cast<int>(JobKind::subject)].items += chapters;
      h.by_kind[static_cast<int>(JobKind::chapter)].items += topics;
      h.by_kind[static_cast<int>(JobKind::questions)].items +=
          count("SELECT count(*) FROM questions WHERE root_id = ?1");
      if (same_text(root.text(1), slot.board) && same_text(root.text(2), slot.grade)) {
        ++h.slot_roots;
        h.chapters_asked += options.chapters;
        h.chapters_written += static_cast<double>(chapters);
        h.topics_asked += static_cast<double>(chapters) * options.topics_per_chapter;
        h.topics_written += static_cast<double>(topics);
      }
    }
    return h;
  });
}

}  // namespace hydrate::store::sql
