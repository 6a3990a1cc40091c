#pragma once
// Diagnostics on stderr, one line each, filtered by a process-wide level (-q, default, -v), in
// one of two formats:
//   text  "hydrate: MESSAGE" (warnings "hydrate: warning: MESSAGE") — the default;
//   json  one object per line: time (RFC 3339 UTC, milliseconds), level (debug, info, warning,
//         error), message, and when known traceId, rootJobId, jobId, attempt, worker.
// A line about a step passes its Fields, so every line of one submission carries the root's trace
// id in json. Never pass a secret: nothing here redacts.
#include <fmt/format.h>

#include <optional>
#include <string>
#include <string_view>

namespace hydrate::log {

enum class Level { quiet = 0, info = 1, debug = 2 };  // what shows
enum class Severity { debug, info, warning, error };  // what a line is
enum class Format { text, json };

// What a line is about; empty members are left out.
struct Fields {
  std::string_view trace_id;
  std::string_view root_id;
  std::string_view job_id;
  int attempt = 0;  // 0: not about one attempt
};

void set_level(Level level);
Level level();
void set_format(Format format);
Format format();
// "text" or "json"; nullopt for anything else.
std::optional<Format> parse_format(std::string_view name);
// The identity every json line carries as `worker` (a worker's HOST:PID); empty: none.
void set_worker(std::string worker);

// Writes one line whatever the level (the filter is the callers' job).
void write(Severity severity, std::string_view message, const Fields& fields = {});

template <class... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
  if (level() >= Level::info)
    write(Severity::info, fmt::format(format, std::forward<Args>(args)...));
}
template <class... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
  if (level() >= Level::debug)
    write(Severity::debug, fmt::format(format, std::forward<Args>(args)...));
}
// Warnings show unless -q.
template <class... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) {
  if (level() >= Level::info)
    write(Severity::warning, fmt::format(format, std::forward<Args>(args)...));
}

// The same, about a step or a root.
template <class... Args>
void info(const Fields& fields, fmt::format_string<Args...> format, Args&&... args) {
  if (level() >= Level::info)
    write(Severity::info, fmt::format(format, std::forward<Args>(args)...), fields);
}
template <class... Args>
void debug(const Fields& fields, fmt::format_string<Args...> format, Args&&... args) {
  if (level() >= Level::debug)
    write(Severity::debug, fmt::format(format, std::forward<Args>(args)...), fields);
}
template <class... Args>
void warn(const Fields& fields, fmt::format_string<Args...> format, Args&&... args) {
  if (level() >= Level::info)
    write(Severity::warning, fmt::format(format, std::forward<Args>(args)...), fields);
}

}  // namespace hydrate::log
