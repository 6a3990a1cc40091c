#include "core/model.hpp"

#include "core/result.hpp"

namespace hydrate {

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::not_found:
      return "not found";
    case ErrorKind::conflict:
      return "conflict";
    case ErrorKind::transient:
      return "transient";
    case ErrorKind::permanent:
      return "permanent";
    case ErrorKind::invalid_input:
      return "invalid input";
    case ErrorKind::over_budget:
      return "over budget";
    case ErrorKind::unavailable:
      return "unavailable";
  }
  return "unknown";
}

const char* to_string(JobKind kind) {
  switch (kind) {
    case JobKind::subject:
      return "subject";
    case JobKind::chapter:
      return "chapter";
    case JobKind::note:
      return "note";
    case JobKind::questions:
      return "questions";
  }
  return "unknown";
}

const char* to_string(CallMode mode) {
  return mode == CallMode::batch ? "batch" : "online";
}

std::optional<CallMode> parse_call_mode(std::string_view text) {
  if (text == "online") return CallMode::online;
  if (text == "batch") return CallMode::batch;
  return std::nullopt;
}

const char* to_string(JobStatus status) {
  switch (status) {
    case JobStatus::pending:
      return "pending";
    case JobStatus::running:
      return "running";
    case JobStatus::succeeded:
      return "succeeded";
    case JobStatus::failed:
      return "failed";
    case JobStatus::cancelled:
      return "cancelled";
  }
  return "unknown";
}

std::optional<JobKind> parse_job_kind(std::string_view text) {
  for (auto kind : {JobKind::subject, JobKind::chapter, JobKind::note, JobKind::questions}) {
    if (text == to_string(kind)) return kind;
  }
  return std::nullopt;
}

std::optional<JobStatus> parse_job_status(std::string_view text) {
  for (auto status : {JobStatus::pending, JobStatus::running, JobStatus::succeeded,
                      JobStatus::failed, JobStatus::cancelled}) {
    if (text == to_string(status)) return status;
  }
  return std::nullopt;
}

bool is_terminal(JobStatus status) {
  return status == JobStatus::succeeded || status == JobStatus::failed ||
         status == JobStatus::cancelled;
}

}  // namespace hydrate
