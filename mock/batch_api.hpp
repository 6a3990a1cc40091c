#pragma once
// The Batch API without HTTP: the Files API (upload, retrieve, content, delete, list) and the
// Batches API (create, retrieve, list, cancel) over files and batches kept in memory. A batch
// moves validating → in_progress → finalizing → completed (or failed, expired, cancelling →
// cancelled) as time passes: every call first brings each batch up to the clock's now, answering
// the lines whose turn has come, so what a client sees depends only on when it asks.
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mock/batch_files.hpp"
#include "mock/batch_run.hpp"
#include "mock/faults.hpp"
#include "mock/options.hpp"
#include "mock/stats.hpp"

namespace hydrate::mock {

// What the endpoint answers to one request body of a batch: the status and body the online
// route would send it (a chat.completion, or an error body), and the usage billed.
struct LineAnswer {
  int status = 200;
  std::string body;
  std::optional<Usage> billed;
};
// Answers one body; `hash` is the line's own (line_hash), `created` the completion's time stamp.
using LineAnswerer =
    std::function<LineAnswer(const std::string& body, std::uint64_t hash, std::int64_t created)>;

// A POST /v1/files request as read from its multipart form; empty fields were not sent.
struct Upload {
  bool multipart = false;
  std::optional<std::string> purpose;
  std::optional<std::string> filename;  // the "file" part's filename
  std::optional<std::string> content;   // the "file" part
};

// The query of a list route, as sent (each empty when absent).
struct ListQuery {
  std::optional<std::string> limit;
  std::optional<std::string> after;
  std::optional<std::string> order;    // files only: "asc" or "desc"
  std::optional<std::string> purpose;  // files only
};

class BatchApi {
 public:
  // `clock` is read once per call; `stats` counts the batches that ended and their lines.
  BatchApi(BatchOptions options, std::uint64_t seed, LineAnswerer answer, Stats& stats,
           std::function<SteadyClock::time_point()> clock = SteadyClock::now);

  // Each returns the HTTP answer: 200 and the object, or an OpenAI error (Reply::error set).
  Reply upload_file(const Upload& upload);
  Reply retrieve_file(const std::string& id) const;
  Reply file_content(const std::string& id) const;  // the bytes, application/octet-stream
  Reply delete_file(const std::string& id);
  Reply list_files(const ListQuery& query) const;

  Reply create_batch(std::string_view body);
  Reply retrieve_batch(const std::string& id);
  Reply list_batches(const ListQuery& query);  // newest first, `after` an id
  Reply cancel_batch(const std::string& id);

  // Brings every batch up to now (for /stats, so that its counts are current).
  void catch_up();

 private:
  void advance_all(SteadyClock::time_point now);
  void advance(Batch& batch, SteadyClock::time_point now);
  // Validation ends at `at`: in_progress, or failed with its errors.
  void end_validation(Batch& batch, SteadyClock::time_point at);
  // Answers the requests whose turn has come by `until` (all of them at the end of processing).
  void answer_until(Batch& batch, SteadyClock::time_point until);
  // The batch reaches final `status` at `at`: its output and error files are written.
  void finish(Batch& batch, BatchStatus status, SteadyClock::time_point at);
  Batch* find_batch(const std::string& id);
  std::int64_t enqueued_tokens(const std::string& model, SteadyClock::time_point at,
                               const Batch& except) const;
  Reply batch_reply(const Batch& batch) const;

  const BatchOptions options_;
  const std::uint64_t seed_;
  const LineAnswerer answer_;
  Stats& stats_;
  const std::function<SteadyClock::time_point()> clock_;
  const UnixClock unix_clock_;
  FileStore files_;
  RepeatCounter repeats_;       // how often each input content was batched before
  std::mutex mutex_;            // guards batches_ and every batch in it
  std::vector<Batch> batches_;  // in creation order
};

}  // namespace hydrate::mock
