#include "core/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace hydrate::log {
namespace {

std::atomic<Level> current_level{Level::info};
std::atomic<Format> current_format{Format::text};
std::mutex worker_mutex;
std::string worker_name;

const char* severity_name(Severity severity) {
  switch (severity) {
    case Severity::debug:
      return "debug";
    case Severity::info:
      return "info";
    case Severity::warning:
      return "warning";
    case Severity::error:
      return "error";
  }
  return "info";
}

// 2026-12-02T19:52:52.123Z
std::string utc_now() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::time_t seconds = system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

std::string json_line(Severity severity, std::string_view message, const Fields& fields) {
  nlohmann::ordered_json line;
  line["time"] = utc_now();
  line["level"] = severity_name(severity);
  line["message"] = message;
  if (!fields.trace_id.empty()) line["traceId"] = fields.trace_id;
  if (!fields.root_id.empty()) line["rootJobId"] = fields.root_id;
  if (!fields.job_id.empty()) line["jobId"] = fields.job_id;
  if (fields.attempt > 0) line["attempt"] = fields.attempt;
  {
    std::lock_guard lock(worker_mutex);
    if (!worker_name.empty()) line["worker"] = worker_name;
  }
  // Invalid UTF-8 (an endpoint's bytes in an error) is replaced, never a thrown exception.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

void set_level(Level level) {
  current_level = level;
}
Level level() {
  return current_level;
}
void set_format(Format format) {
  current_format = format;
}
Format format() {
  return current_format;
}

std::optional<Format> parse_format(std::string_view name) {
  if (name == "text") return Format::text;
  if (name == "json") return Format::json;
  return std::nullopt;
}

void set_worker(std::string worker) {
  std::lock_guard lock(worker_mutex);
  worker_name = std::move(worker);
}

void write(Severity severity, std::string_view message, const Fields& fields) {
  std::string text;
  if (current_format == Format::json) {
    text = json_line(severity, message, fields);
  } else {
    const char* prefix = severity == Severity::warning ? "hydrate: warning: "
                         : severity == Severity::error ? "hydrate: error: "
                                                       : "hydrate: ";
    text = prefix + std::string(message) + "\n";
  }
  std::fwrite(text.data(), 1, text.size(), stderr);
}

}  // namespace hydrate::log
