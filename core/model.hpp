#pragma once
// The plain values hydrate's logic works on: jobs, their kinds and states, the curriculum slot,
// the options of a root, the content a step produces, and the call log. No I/O here.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hydrate {

using Millis = std::int64_t;  // wall-clock time: milliseconds since the Unix epoch

enum class JobKind { subject, chapter, note, questions };
enum class JobStatus { pending, running, succeeded, failed, cancelled };

const char* to_string(JobKind kind);
const char* to_string(JobStatus status);
std::optional<JobKind> parse_job_kind(std::string_view text);
std::optional<JobStatus> parse_job_status(std::string_view text);
// succeeded, failed and cancelled are terminal: nothing moves a job out of them but requeue.
bool is_terminal(JobStatus status);

// The curriculum slot a root generates content for, e.g. en / CBSE / 1 / MATH.
struct Slot {
  std::string language;
  std::string board;
  std::string grade;
  std::string subject;
  bool operator==(const Slot&) const = default;
};

// How a tree's calls are sent: one request each (online), or in files through the provider's
// Batch API, answered within its 24-hour window at the batch price.
enum class CallMode { online, batch };
const char* to_string(CallMode mode);
std::optional<CallMode> parse_call_mode(std::string_view text);  // "online" | "batch"

// What a root asks for. Counts of 0 mean "use the catalog".
struct RootOptions {
  bool notes = true;
  bool questions = true;
  int chapters = 0;            // requested chapter count; 0 = catalog
  int topics_per_chapter = 0;  // 0 = catalog
  int questions_per_topic = 10;
  std::string model;
  CallMode mode = CallMode::online;
  bool operator==(const RootOptions&) const = default;
};

// One job row. A root is the job of kind subject; every other job has a parent.
struct Job {
  std::string id;
  JobKind kind = JobKind::subject;
  std::string parent_id;  // empty on a root
  std::string root_id;    // equal to id on a root
  int position = 0;       // position under its parent (chapter number, topic number)
  JobStatus status = JobStatus::pending;
  int priority = 0;
  std::string input;  // the step's input as JSON text (see core/cascade.hpp)
  int attempts = 0;
  int max_attempts = 5;
  Millis run_after = 0;
  std::string lease_holder;
  std::string lease_token;
  Millis lease_expires_at = 0;
  Millis created_at = 0;
  Millis started_at = 0;   // 0 = never started
  Millis finished_at = 0;  // 0 = not finished
  std::string last_error;  // the latest error that spent an attempt (or ended the step)
  double estimated_cost_usd = 0;
  double actual_cost_usd = 0;
  // Transient faults (rate limits, 5xx, timeouts, dropped connections) spend these instead of
  // attempts: how many since the step's last requeue, when the first of them happened (0 = none),
  // and the latest one's error.
  int transient_retries = 0;
  Millis first_transient_at = 0;
  std::string last_transient_error;
};

// A job that is about to be inserted: a root, or a child created by its parent's step.
struct NewJob {
  std::string id;
  JobKind kind = JobKind::subject;
  std::string parent_id;
  std::string root_id;
  int position = 0;
  int priority = 0;
  std::string input;
  int max_attempts = 5;
  double estimated_cost_usd = 0;
  CallMode mode = CallMode::online;  // the root's: who claims it, the workers or the batch cycle
};

// Generated content, as a step's validated output.
struct ChapterPlan {
  std::string title;
  std::string summary;
};
struct TopicPlan {
  std::string title;
  std::vector<std::string> objectives;
};
struct Note {
  std::string markdown;
  std::vector<std::string> key_points;
};
struct Question {
  std::string type;  // "mcq" or "short"
  std::string prompt;
  std::vector<std::string> options;  // empty unless mcq
  std::string answer;
  std::string explanation;
  std::string difficulty;  // easy | medium | hard
};

// Per-level counts of a root: expected starts as an estimate and becomes exact as soon as the
// step that decides it has succeeded.
struct LevelCount {
  std::int64_t completed = 0;
  std::int64_t expected = 0;
  bool operator==(const LevelCount&) const = default;
};
struct Progress {
  LevelCount chapters, topics, notes, questions;
  LevelCount steps;  // every job of the tree, whatever its kind
  bool operator==(const Progress&) const = default;
};

struct TokenUsage {
  std::int64_t prompt = 0;
  std::int64_t completion = 0;
  std::int64_t cached = 0;     // part of prompt served from the provider's cache
  std::int64_t reasoning = 0;  // part of completion the model spent reasoning (billed as output)
  bool operator==(const TokenUsage&) const = default;
};

// What the logged calls of one model, under the roots of one mode, consumed and cost (as logged,
// at the price of that mode): the sums a savings figure is priced from.
struct CallTotals {
  std::string model;
  CallMode mode = CallMode::online;
  std::int64_t calls = 0;
  TokenUsage tokens;  // reasoning is part of completion
  double cost_usd = 0;
};

// One call to the model, logged whether its output was used or not.
struct CallRecord {
  // Unique per call, given by the worker: logging the same call twice keeps one row.
  std::string call_id;
  std::string job_id;
  std::string root_id;
  int attempt = 0;
  std::string model;
  int http_status = 0;  // 0 = no HTTP answer (timeout, connection error)
  TokenUsage usage;
  double cost_usd = 0;
  // The price cost_usd was computed with, USD per million tokens (kept with the call).
  double input_price = 0, cached_input_price = 0, output_price = 0;
  std::int64_t latency_ms = 0;
  std::string error;  // empty when the answer was used
  bool used = false;
  Millis started_at = 0;  // when it was sent
  Millis created_at = 0;  // when it ended
  // What a provider's support desk asks for, as the answer said (empty / nullopt when absent).
  std::string request_id;        // x-request-id
  bool usage_estimated = false;  // no usage reported: tokens counted from the text
  std::optional<std::int64_t> remaining_requests, remaining_tokens;  // x-ratelimit-remaining-*
  std::optional<std::int64_t> retry_after_ms;  // the wait the server asked for
  std::string response_format;                 // json_schema | json_object | prompt
  // The lease the call was made under; not stored. Logging the call releases the step's budget
  // reservation only while this lease still holds the step (a zombie's late call does not).
  std::string lease_token;
};

}  // namespace hydrate
