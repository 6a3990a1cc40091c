// The blocking Batch API client: one libcurl easy handle, one call at a time (a mutex keeps it
// so), the connection kept between calls. Answers are read by batch_objects.cpp; error bodies
// by interpret_response, as for an online call.
#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/llm/batch_client.hpp"
#include "core/llm/batch_objects.hpp"
#include "core/llm/curl_support.hpp"

namespace hydrate::llm {
namespace {

constexpr const char* kChatEndpoint = "/v1/chat/completions";
constexpr long kMaxConnectTimeoutMs = 10000;

// What one exchange brought back.
struct Answer {
  CURLcode code = CURLE_OK;
  int status = 0;
  std::string body;
  HeaderCapture header;
  std::size_t limit = 0;  // bytes of body kept at most
  bool too_large = false;
  char error_buffer[CURL_ERROR_SIZE] = {};
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* answer = static_cast<Answer*>(user);
  const std::size_t bytes = size * count;
  if (answer->body.size() + bytes > answer->limit) {
    answer->too_large = true;
    return CURL_WRITEFUNC_ERROR;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  answer->body.append(data, bytes);
  return bytes;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  capture_header_line(std::string_view(data, size * count), static_cast<Answer*>(user)->header);
  return size * count;
}

// One call: the method, the path under the API root, and what it sends.
struct Call {
  enum class Method { get, post, del } method = Method::get;
  std::string path;
  std::optional<std::string> json;  // a JSON body (POST)
  const std::string* upload_name = nullptr;
  const std::string* upload_content = nullptr;  // a multipart purpose=batch upload (POST)

  static Call get(std::string path) { return {Method::get, std::move(path), std::nullopt}; }
  static Call del(std::string path) { return {Method::del, std::move(path), std::nullopt}; }
  static Call post(std::string path, std::string json) {
    return {Method::post, std::move(path), std::move(json)};
  }
};

template <class T>
BatchCall<T> failed(BatchCallError failure) {
  return BatchCall<T>{std::nullopt, std::move(failure)};
}

class CurlBatchClient final : public BatchClient {
 public:
  explicit CurlBatchClient(BatchEndpoint endpoint)
      : endpoint_(std::move(endpoint)), easy_(curl_easy_init()), no_proxy_(no_proxy_list()) {
    while (!endpoint_.base_url.empty() && endpoint_.base_url.back() == '/') {
      endpoint_.base_url.pop_back();
    }
  }
  ~CurlBatchClient() override {
    if (easy_ != nullptr) curl_easy_cleanup(easy_);
  }
  CurlBatchClient(const CurlBatchClient&) = delete;
  CurlBatchClient& operator=(const CurlBatchClient&) = delete;

  BatchCall<std::string> upload(const std::string& filename, const std::string& jsonl) override {
    Call call = Call::post("/files", "");
    call.json.reset();
    call.upload_name = &filename;
    call.upload_content = &jsonl;
    return run<std::string>("upload of " + filename, call, parse_file_id);
  }

  BatchCall<BatchInfo> create(
      const std::string& input_file_id,
      const std::vector<std::pair<std::string, std::string>>& metadata) override {
    nlohmann::json body = {{"input_file_id", input_file_id},
                           {"endpoint", kChatEndpoint},
                           {"completion_window", "24h"}};
    if (!metadata.empty()) {
      nlohmann::json& object = body["metadata"] = nlohmann::json::object();
      for (const auto& [key, value] : metadata) object[key] = value;
    }
    Call call =
        Call::post("/batches", body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return run<BatchInfo>("create of a batch from " + input_file_id, call, parse_batch_object);
  }

  BatchCall<BatchInfo> retrieve(const std::string& batch_id) override {
    Call call = Call::get("/batches/" + escape(batch_id));
    return run<BatchInfo>("retrieve of batch " + batch_id, call, parse_batch_object);
  }

  BatchCall<BatchPage> list(const std::string& after, int limit) override {
    std::string path = "/batches?limit=" + std::to_string(std::clamp(limit, 1, 100));
    if (!after.empty()) path += "&after=" + escape(after);
    return run<BatchPage>("list of batches", Call::get(path), parse_batch_list);
  }

  BatchCall<BatchInfo> cancel(const std::string& batch_id) override {
    Call call = Call::post("/batches/" + escape(batch_id) + "/cancel", "");
    return run<BatchInfo>("cancel of batch " + batch_id, call, parse_batch_object);
  }

  BatchCall<std::string> content(const std::string& file_id) override {
    Call call = Call::get("/files/" + escape(file_id) + "/content");
    return run<std::string>("download of file " + file_id, call, [](std::string_view body) {
      return Result<std::string>(std::string(body));
    });
  }

  BatchCall<bool> remove(const std::string& file_id) override {
    Call call = Call::del("/files/" + escape(file_id));
    return run<bool>("delete of file " + file_id, call, parse_file_deleted);
  }

 private:
  // Performs the call and reads a 2xx body with `parse`; every failure named after `what`.
  template <class T, class Parse>
  BatchCall<T> run(const std::string& what, const Call& call, Parse parse) {
    const std::unique_ptr<Answer> answer = perform(call);
    if (auto failure = failure_of(what, *answer)) return failed<T>(std::move(*failure));
    Result<T> parsed = parse(answer->body);
    if (!parsed) {
      return failed<T>(
          {make_error(parsed.error().kind, clean(what + ": " + parsed.error().message)),
           std::nullopt});
    }
    return BatchCall<T>{std::move(*parsed), std::nullopt};
  }

  std::unique_ptr<Answer> perform(const Call& call) {
    const std::lock_guard lock(mutex_);
    auto answer = std::make_unique<Answer>();
    answer->limit = endpoint_.max_download_bytes;
    if (easy_ == nullptr) {
      answer->code = CURLE_FAILED_INIT;
      return answer;
    }
    curl_easy_reset(easy_);  // clears the options; the connection and DNS caches stay
    curl_slist* headers = nullptr;
    if (!endpoint_.api_key.empty()) {
      headers = curl_slist_append(headers, ("Authorization: Bearer " + endpoint_.api_key).c_str());
    }
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
    curl_mime* form = nullptr;
    const std::string url = endpoint_.base_url + call.path;
    curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
    if (call.method == Call::Method::del) curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, "DELETE");
    if (call.upload_content != nullptr) {
      form = curl_mime_init(easy_);
      curl_mimepart* purpose = curl_mime_addpart(form);
      curl_mime_name(purpose, "purpose");
      curl_mime_data(purpose, "batch", CURL_ZERO_TERMINATED);
      curl_mimepart* file = curl_mime_addpart(form);
      curl_mime_name(file, "file");
      curl_mime_filename(file, call.upload_name->c_str());
      curl_mime_type(file, "application/jsonl");
      curl_mime_data(file, call.upload_content->data(), call.upload_content->size());
      curl_easy_setopt(easy_, CURLOPT_MIMEPOST, form);
    } else if (call.json) {
      headers = curl_slist_append(headers, "Content-Type: application/json");
      curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, call.json->c_str());
      curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(call.json->size()));
      // libcurl sends a request again by itself when a reused connection closed before any
      // answer; a second create would be a second batch, billed. A new connection is never
      // retried that way, and these calls are rare.
      curl_easy_setopt(easy_, CURLOPT_FRESH_CONNECT, 1L);
    }
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, endpoint_.timeout_ms);
    curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS,
                     std::min(endpoint_.timeout_ms, kMaxConnectTimeoutMs));
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_NOPROXY, no_proxy_.c_str());
    curl_easy_setopt(easy_, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, answer.get());
    curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy_, CURLOPT_HEADERDATA, answer.get());
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, answer->error_buffer);
    answer->code = curl_easy_perform(easy_);
    long status = 0;
    if (curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK) {
      answer->status = static_cast<int>(status);
    }
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, nullptr);
    curl_slist_free_all(headers);
    curl_mime_free(form);
    return answer;
  }

  // The failure a finished exchange is, or nothing for a whole 2xx answer.
  std::optional<BatchCallError> failure_of(const std::string& what, const Answer& answer) const {
    if (answer.too_large) {
      return BatchCallError{
          make_error(ErrorKind::permanent,
                     clean(what + ": the answer passed " +
                           std::to_string(endpoint_.max_download_bytes) + " bytes; cut there")),
          std::nullopt};
    }
    if (answer.code != CURLE_OK) {
      const std::string detail =
          answer.code == CURLE_OPERATION_TIMEDOUT
              ? "no answer within " + std::to_string(endpoint_.timeout_ms) + " ms"
              : describe_curl_error(answer.code, answer.error_buffer, {endpoint_.api_key});
      return BatchCallError{make_error(ErrorKind::transient, clean(what + ": " + detail)),
                            std::nullopt};
    }
    if (answer.status >= 200 && answer.status < 300) return std::nullopt;
    HttpResponse response;
    response.status = answer.status;
    response.body = answer.body;
    response.headers = answer.header.kept;
    response.retry_after_ms = retry_after_of(answer.header);
    const ChatResult result = interpret_response(response);
    ErrorKind kind = ErrorKind::permanent;
    if (answer.status == 404) {
      kind = ErrorKind::not_found;
    } else if (result.outcome == ChatOutcome::rate_limited || answer.status == 408 ||
               answer.status >= 500) {
      kind = ErrorKind::transient;  // a 429 insufficient_quota stays permanent
    }
    std::string message = what + ": " + result.error_message;
    if (!result.request_id.empty()) message += " (request " + result.request_id + ")";
    return BatchCallError{make_error(kind, clean(message)),
                          kind == ErrorKind::transient ? response.retry_after_ms : std::nullopt};
  }

  // One line, without the key, whatever the server echoed.
  std::string clean(std::string message) const {
    redact(message, {endpoint_.api_key});
    return one_line(message);
  }

  std::string escape(const std::string& text) const {
    char* escaped =
        easy_ ? curl_easy_escape(easy_, text.data(), static_cast<int>(text.size())) : nullptr;
    if (escaped == nullptr) return text;
    std::string out(escaped);
    curl_free(escaped);
    return out;
  }

  BatchEndpoint endpoint_;
  CURL* easy_;
  std::string no_proxy_;
  std::mutex mutex_;
};

}  // namespace

std::unique_ptr<BatchClient> make_batch_client(BatchEndpoint endpoint) {
  init_curl_once();
  return std::make_unique<CurlBatchClient>(std::move(endpoint));
}

}  // namespace hydrate::llm
