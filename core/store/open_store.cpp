#include <filesystem>

#include <fmt/format.h>

#include "core/store/sql_store.hpp"
#include "core/store/store.hpp"

namespace hydrate::store {

std::string without_password(const std::string& url) {
  auto scheme = url.find("://");
  auto at = url.rfind('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon) + ":***" + url.substr(at);
}

Result<std::unique_ptr<Store>> open_store(const std::string& url, const OpenOptions& options) {
  if (url.empty()) {
    return make_error(ErrorKind::invalid_input, "no database given: use --db or HYDRATE_DB");
  }
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    return open_sql_store([&] { return sql::connect_postgres(url); },
                          "PostgreSQL database " + without_password(url), options);
  }
  std::string path = url;
  if (url.rfind("sqlite:", 0) == 0) {
    path = url.substr(7);
  } else if (auto colon = url.find("://"); colon != std::string::npos) {
    return make_error(ErrorKind::invalid_input,
                      fmt::format("unknown database scheme '{}': use sqlite:PATH, a plain path or "
                                  "postgresql://…",
                                  url.substr(0, std::min<std::size_t>(colon, 32))));
  }
  if (path.empty()) return make_error(ErrorKind::invalid_input, "the sqlite: URL names no file");
  std::error_code ec;
  if (!options.create_if_missing && !std::filesystem::exists(path, ec)) {
    return make_error(ErrorKind::not_found, fmt::format("database '{}' does not exist", path));
  }
  return open_sql_store(
      [&] { return sql::connect_sqlite(path, options.create_if_missing, options.busy_timeout_ms); },
      fmt::format("database '{}'", path), options);
}

}  // namespace hydrate::store
