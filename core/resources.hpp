#pragma once
// Files embedded into the binary at build time (sql/, prompts/, data/, web/), named by their path
// relative to the repository root, e.g. "sql/sqlite/001_init.sql".
#include <optional>
#include <string_view>
#include <vector>

namespace hydrate::resources {
// The file's content, or nullopt if no embedded file has that name.
std::optional<std::string_view> find(std::string_view name);
// Every embedded name, in build order.
std::vector<std::string_view> names();
}  // namespace hydrate::resources
