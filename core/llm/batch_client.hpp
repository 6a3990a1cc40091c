#pragma once
// The OpenAI Files and Batches API (../shared/openai/batch-api.yaml, BATCH.md): the JSONL lines
// a batch carries, as pure functions, and a blocking client for the calls the batch cycle makes
// (upload, create, retrieve, list, cancel, download, delete). The cycle makes a few of these
// calls a minute, so the client is a plain blocking one on its own libcurl handle; online
// completions keep the concurrent Transport.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/llm/chat_protocol.hpp"
#include "core/model.hpp"
#include "core/result.hpp"

namespace hydrate::llm {

// One request line of an input file: {"custom_id", "method": "POST", "url":
// "/v1/chat/completions", "body": build_chat_body(request)}, without the newline.
std::string batch_request_line(const std::string& custom_id, const ChatRequest& request);

// One line of an output or error file.
struct BatchLine {
  std::string custom_id;
  std::string line_id;        // the line's own id (batch_req_…); empty when absent
  int status_code = 0;        // response.status_code; 0 when response is null
  HttpResponse response;      // status and body of response, for interpret_response; when
                              // response is null, status 0 and transport_error "batch line
                              // CODE: MESSAGE", which interpret_response reads as unanswered
  std::string error_code;     // error.code when error is set (batch_expired, …), else empty
  std::string error_message;  // error.message, one clean line
};
// Parses a line (without its newline); a permanent error naming what is wrong when it is not
// an output/error line: not a JSON object, no custom_id, neither response nor error.
Result<BatchLine> parse_batch_line(std::string_view line);

enum class BatchStatus {
  validating,
  failed,
  in_progress,
  finalizing,
  completed,
  expired,
  cancelling,
  cancelled,
};
const char* to_string(BatchStatus status);
std::optional<BatchStatus> parse_batch_status(std::string_view text);
// failed, completed, expired and cancelled: the batch will not change again.
bool is_final(BatchStatus status);

struct BatchError {
  std::string code;
  std::string message;  // one clean line
  std::optional<std::int64_t> line;
};

struct BatchInfo {
  std::string id;
  BatchStatus status = BatchStatus::validating;
  std::string input_file_id;
  std::string output_file_id;                         // empty while null
  std::string error_file_id;                          // empty while null
  std::int64_t total = 0, completed = 0, failed = 0;  // request_counts
  std::vector<BatchError> errors;                     // errors.data
  std::vector<std::pair<std::string, std::string>> metadata;
  std::int64_t created_at = 0;  // seconds since the epoch
};

struct BatchPage {
  std::vector<BatchInfo> batches;
  bool has_more = false;
  std::string last_id;  // the `after` of the next page
};

struct BatchEndpoint {
  std::string base_url;  // the API root, e.g. http://127.0.0.1:8080/v1
  std::string api_key;   // a bearer token; never logged, never in an error
  long timeout_ms = 120000;
  std::size_t max_download_bytes = std::size_t{256} << 20;
};

// Every call returns an Error whose kind says what the caller may do: transient (timeout, network,
// 429 with its wait in retry_after_ms, 408, 5xx), not_found (404), permanent (other 4xx, a 429
// insufficient_quota, a body that is not the object asked for, a download past its cap). The
// message is one line: the HTTP status, the error's code and message from the body, never the key.
struct BatchCallError {
  Error error;
  std::optional<std::int64_t> retry_after_ms;
};
template <class T>
struct BatchCall {
  std::optional<T> value;
  std::optional<BatchCallError> failure;
  explicit operator bool() const { return value.has_value(); }
};

class BatchClient {
 public:
  virtual ~BatchClient() = default;
  // POST /files, multipart, purpose=batch: the file's id. The filename must end in .jsonl.
  virtual BatchCall<std::string> upload(const std::string& filename, const std::string& jsonl) = 0;
  // POST /batches with endpoint /v1/chat/completions and completion_window 24h.
  virtual BatchCall<BatchInfo> create(
      const std::string& input_file_id,
      const std::vector<std::pair<std::string, std::string>>& metadata) = 0;
  virtual BatchCall<BatchInfo> retrieve(const std::string& batch_id) = 0;
  // GET /batches?limit=&after= (newest first); limit is kept within 1..100.
  virtual BatchCall<BatchPage> list(const std::string& after, int limit) = 0;
  virtual BatchCall<BatchInfo> cancel(const std::string& batch_id) = 0;
  // GET /files/{id}/content; cut at max_download_bytes (then a permanent error).
  virtual BatchCall<std::string> content(const std::string& file_id) = 0;
  // DELETE /files/{id}: the answer's `deleted`.
  virtual BatchCall<bool> remove(const std::string& file_id) = 0;
};

std::unique_ptr<BatchClient> make_batch_client(BatchEndpoint endpoint);

}  // namespace hydrate::llm
