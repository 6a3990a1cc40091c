#include "core/catalog.hpp"

#include <charconv>

#include <fmt/format.h>

#include "core/resources.hpp"
#include "core/tsv.hpp"

namespace hydrate {
namespace {

bool parse_positive(const std::string& text, int& out) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size() && out > 0 && out <= 1000;
}

}  // namespace

Result<Catalog> Catalog::parse(std::string_view text) {
  Catalog catalog;
  int line = 0;
  for (const auto& fields : parse_tsv(text)) {
    ++line;
    Row row;
    if (fields.size() != 5 || !parse_positive(fields[3], row.entry.chapters) ||
        !parse_positive(fields[4], row.entry.topics_per_chapter)) {
      return make_error(ErrorKind::invalid_input,
                        fmt::format("catalog data row {} (comments not counted) must be: board, "
                                    "grade, subject, chapters, "
                                    "topics per chapter (tab-separated, counts 1..1000)",
                                    line));
    }
    row.board = to_lower(fields[0]);
    row.grade = to_lower(fields[1]);
    row.subject = to_lower(fields[2]);
    row.entry.listed = true;
    catalog.rows_.push_back(std::move(row));
  }
  return catalog;
}

Catalog Catalog::builtin() {
  auto parsed = parse(resources::find("data/catalog.tsv").value_or(""));
  return parsed ? std::move(parsed).value() : Catalog{};
}

CatalogEntry Catalog::lookup(const Slot& slot) const {
  std::string board = to_lower(slot.board), grade = to_lower(slot.grade),
              subject = to_lower(slot.subject);
  for (const auto& row : rows_) {
    if (row.board == board && row.grade == grade && row.subject == subject) return row.entry;
  }
  return CatalogEntry{};
}

}  // namespace hydrate
