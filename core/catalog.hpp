#pragma once
// The curriculum catalog: how many chapters a subject has and topics each chapter, by board,
// grade and subject (data/catalog.tsv, or a file named in the config).
#include <string>
#include <string_view>
#include <vector>

#include "core/model.hpp"
#include "core/result.hpp"

namespace hydrate {

struct CatalogEntry {
  int chapters = 12;
  int topics_per_chapter = 5;
  bool listed = false;  // false: the slot is not in the catalog and the defaults apply
};

class Catalog {
 public:
  // Parses catalog text; invalid_input names the first bad line.
  static Result<Catalog> parse(std::string_view text);
  // The built-in catalog (data/catalog.tsv embedded at build time).
  static Catalog builtin();
  // The entry for the slot (board and subject compared case-insensitively), or the defaults.
  CatalogEntry lookup(const Slot& slot) const;

 private:
  struct Row {
    std::string board, grade, subject;
    CatalogEntry entry;
  };
  std::vector<Row> rows_;
};

}  // namespace hydrate
