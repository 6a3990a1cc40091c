#pragma once
// One batch of the Batch API as the endpoint keeps it: what it was created with, the faults it
// drew, the times it reached each status and the lines answered so far; and the shapes it is
// shown in (the Batch object, the lines of its output and error files). Plain values: the
// advancing through time is BatchApi's.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mock/batch_input.hpp"
#include "mock/options.hpp"
#include "mock/schema_keywords.hpp"
#include "mock/wire.hpp"

namespace hydrate::mock {

using SteadyClock = std::chrono::steady_clock;

enum class BatchStatus {
  validating,
  failed,
  in_progress,
  finalizing,
  completed,
  expired,
  cancelling,
  cancelled
};
// "validating", "failed", "in_progress", … as the Batch object's status says it.
const char* batch_status_name(BatchStatus status);
// True for the statuses a batch never leaves: failed, completed, expired, cancelled.
bool is_final(BatchStatus status);

// Unix seconds for steady-clock time points: the wall clock read once, at `steady_start`, and
// the steady clock's distance from it, so that a batch's time stamps never go backwards.
struct UnixClock {
  std::int64_t wall_start = 0;
  SteadyClock::time_point steady_start;
  std::int64_t at(SteadyClock::time_point point) const;
};

// The batch faults a batch draws once, when it is created, from its hash.
struct BatchFate {
  bool fails = false;            // fails in validation (--batch-rate-failed)
  bool expires = false;          // expires part way (--batch-rate-expired) …
  double expires_after = 1;      // … after this share (0.2 to 0.8) of its processing time
  bool slow_finalizing = false;  // finalizing takes --batch-slow-finalizing-ms longer
};
BatchFate draw_fate(const BatchOptions& options, std::uint64_t batch_hash);
// Whether line `index` of the batch is answered 500 instead (--batch-rate-error-line).
bool draws_error_line(const BatchOptions& options, std::uint64_t batch_hash, std::size_t index);
// The hash a line's answer derives from (its ids and content faults).
std::uint64_t line_hash(std::uint64_t batch_hash, std::size_t index);

struct Batch {
  std::uint64_t sequence = 0;  // 1 for the endpoint's first batch
  std::string id;              // "batch_" and 32 hex digits
  std::uint64_t hash = 0;      // seed, input content and repeat: every draw of the batch
  std::string input_file_id;
  std::string endpoint;
  std::string completion_window;
  Json metadata;                                     // an object of strings, or null
  std::optional<std::int64_t> output_expires_after;  // seconds after an output file's creation
  BatchInput input;
  std::int64_t enqueued_tokens = 0;  // the estimated prompt tokens of every request
  BatchFate fate;

  BatchStatus status = BatchStatus::validating;
  SteadyClock::time_point created;
  std::optional<SteadyClock::time_point> in_progress_at, finalizing_at, completed_at, failed_at,
      expired_at, cancelling_at, cancelled_at;
  std::vector<BatchError> errors;  // shown once failed

  std::vector<std::size_t> order;  // the requests, in the order they are answered
  std::size_t answered = 0;        // how many of `order` have been
  std::string output;              // the output file's lines so far
  std::string error_output;        // the error file's lines so far
  std::int64_t completed = 0;      // lines in `output`
  std::int64_t failed = 0;         // lines in `error_output`
  Usage usage;                     // of the lines in `output`
  std::optional<std::string> output_file_id, error_file_id;

  // When the batch leaves the status it is in as scheduled (validating, in_progress,
  // finalizing, cancelling); empty for a final status.
  std::optional<SteadyClock::time_point> ends_at(const BatchOptions& options) const;
  // True while its tokens count against the enqueued-token limit at `point`: from in_progress
  // until it is completed, expired or cancelled.
  bool enqueued_at(SteadyClock::time_point point) const;
};

// The Batch object (batch-api.yaml's Batch), with every time stamp, null when not reached.
Json batch_json(const Batch& batch, const UnixClock& clock);

// A line of the output file: {"id":"batch_req_…","custom_id","response":{"status_code",
// "request_id","body"},"error":null}, `body` being JSON text; with a newline.
std::string response_line(const std::string& custom_id, std::uint64_t hash, int status,
                          const std::string& body);
// A line of the error file for a request never answered: "response": null and
// "error": {"code","message"}; with a newline.
std::string unanswered_line(const std::string& custom_id, std::uint64_t hash,
                            const std::string& code, const std::string& message);

}  // namespace hydrate::mock
