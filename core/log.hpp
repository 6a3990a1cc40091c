#pragma once
// Diagnostics on stderr, one line each, filtered by a process-wide level (-q, default, -v).
// Never pass a secret: nothing here redacts.
#include <fmt/format.h>

#include <string_view>

namespace hydrate::log {

enum class Level { quiet = 0, info = 1, debug = 2 };

void set_level(Level level);
Level level();
void write(Level level, std::string_view line);

template <class... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
  if (level() >= Level::info) write(Level::info, fmt::format(format, std::forward<Args>(args)...));
}
template <class... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
  if (level() >= Level::debug)
    write(Level::debug, fmt::format(format, std::forward<Args>(args)...));
}
// Warnings show unless -q.
template <class... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) {
  if (level() >= Level::info)
    write(Level::info, "warning: " + fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace hydrate::log
