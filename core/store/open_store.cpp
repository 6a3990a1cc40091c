#include <fmt/format.h>

#include "core/store/sqlite_store.hpp"
#include "core/store/store.hpp"

namespace hydrate::store {

Result<std::unique_ptr<Store>> open_store(const std::string& url, const OpenOptions& options) {
  if (url.empty()) {
    return make_error(ErrorKind::invalid_input, "no database given: use --db or HYDRATE_DB");
  }
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    return make_error(ErrorKind::invalid_input,
                      "this build of hydrate has no PostgreSQL backend yet; use sqlite:PATH");
  }
  std::string path = url;
  if (url.rfind("sqlite:", 0) == 0) {
    path = url.substr(7);
  } else if (auto colon = url.find("://"); colon != std::string::npos) {
    return make_error(ErrorKind::invalid_input,
                      fmt::format("unknown database scheme '{}': use sqlite:PATH, a plain path or "
                                  "postgresql://…",
                                  url.substr(0, colon)));
  }
  if (path.empty()) return make_error(ErrorKind::invalid_input, "the sqlite: URL names no file");
  return open_sqlite_store(path, options);
}

}  // namespace hydrate::store
