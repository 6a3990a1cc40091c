// The libcurl multi transport: every request is an easy handle on one multi handle, driven from
// the caller's thread by poll(). Connections and DNS lookups are cached by the multi handle and
// reused across requests; finished easy handles go back to a small pool.
//
// It drives libcurl through its socket API: libcurl names the sockets and the timeout it waits
// for (on_socket, on_timer), SocketWatch waits on them with epoll, and each wake-up hands
// libcurl only the sockets that are ready and the transfers whose timers are due. The simpler
// curl_multi_perform looks at every transfer's socket each time (a zero-timeout poll(2) each):
// with a thousand calls in flight, each start and each answer cost a thousand system calls.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/llm/curl_support.hpp"
#include "core/llm/socket_watch.hpp"
#include "core/llm/transport.hpp"

namespace hydrate::llm {
namespace {

constexpr std::size_t kMaxIdleHandles = 64;

// A non-negative decimal number (fractions allowed), as a count of `unit_ms` milliseconds,
// rounded up. nullopt for anything else, including absurd values.
std::optional<std::int64_t> parse_delay(std::string_view text, double unit_ms) {
  text = trim_space(text);
  if (text.empty() || !(std::isdigit(static_cast<unsigned char>(text.front())) || text[0] == '.')) {
    return std::nullopt;
  }
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  const double ms = std::ceil(value * unit_ms);
  constexpr double kOneYearMs = 365.0 * 24 * 3600 * 1000;
  if (ms > kOneYearMs) return std::nullopt;
  return static_cast<std::int64_t>(ms);
}

// The values of the request's headers (and the token of "Bearer <token>"): never to be echoed.
std::vector<std::string> header_secrets(const std::vector<std::string>& headers) {
  std::vector<std::string> secrets;
  for (const std::string& line : headers) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string_view value = trim_space(std::string_view(line).substr(colon + 1));
    if (value.size() < 6) continue;  // short values ("json", "1") are no secret and too common
    secrets.emplace_back(value);
    if (const auto space = value.find(' '); space != std::string_view::npos) {
      const std::string_view token = trim_space(value.substr(space + 1));
      if (token.size() >= 6) secrets.emplace_back(token);
    }
  }
  // Longest first, so a token inside a longer value does not leave the rest behind.
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return secrets;
}

struct Transfer {
  HttpRequest request;          // owns the body libcurl sends and the header values to redact
  std::size_t body_sent = 0;    // bytes of request.body handed to libcurl so far
  bool resend_refused = false;  // libcurl wanted to send the whole body a second time
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  char error_buffer[CURL_ERROR_SIZE] = {};
  HttpResponse response;
  HeaderCapture header;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  std::string& body = transfer->response.body;
  const std::size_t limit = transfer->request.max_response_bytes;
  if (body.size() + bytes > limit) {
    body.append(data, limit - body.size());
    transfer->response.too_large = true;
    return CURL_WRITEFUNC_ERROR;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  body.append(data, bytes);
  return bytes;
}

std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::string& body = transfer->request.body;
  const std::size_t bytes = std::min(size * count, body.size() - transfer->body_sent);
  std::copy_n(body.data() + transfer->body_sent, bytes, buffer);
  transfer->body_sent += bytes;
  return bytes;
}

// libcurl rewinds the body to send the request again by itself when a reused connection closed
// before any byte of the answer. Once the whole body went out, the server may have acted on it
// (and billed it): refuse, so the transfer fails and the caller sees, logs and counts it, instead
// of a second request it never knew about. A body not yet sent in full may be sent again.
int on_seek(void* user, curl_off_t offset, int origin) {
  auto* transfer = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset != 0) return CURL_SEEKFUNC_CANTSEEK;
  if (transfer->body_sent >= transfer->request.body.size()) {
    transfer->resend_refused = true;
    return CURL_SEEKFUNC_FAIL;
  }
  transfer->body_sent = 0;
  return CURL_SEEKFUNC_OK;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  capture_header_line(std::string_view(data, size * count), transfer->header);
  return size * count;
}

class CurlTransport final : public Transport {
 public:
  CurlTransport() : multi_(curl_multi_init()), no_proxy_(no_proxy_list()) {
    if (multi_ == nullptr) return;
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  }

  ~CurlTransport() override {
    for (auto& [easy, transfer] : transfers_) {
      curl_multi_remove_handle(multi_, easy);
      curl_easy_cleanup(easy);
      curl_slist_free_all(transfer->headers);
    }
    for (CURL* easy : idle_) curl_easy_cleanup(easy);
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
  }

  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  void start(HttpRequest request) override {
    auto transfer = std::make_unique<Transfer>();
    transfer->request = std::move(request);
    transfer->response.tag = transfer->request.tag;
    if (!watch_.ok()) {
      fail_at_once(std::move(transfer),
                   "could not create an epoll instance (out of file descriptors)");
      return;
    }
    CURL* easy = take_handle();
    if (easy == nullptr || multi_ == nullptr) {
      fail_at_once(std::move(transfer), "could not create a libcurl handle (out of memory)");
      if (easy != nullptr) curl_easy_cleanup(easy);
      return;
    }
    transfer->easy = easy;
    configure(*transfer);
    if (const CURLMcode code = curl_multi_add_handle(multi_, easy); code != CURLM_OK) {
      curl_slist_free_all(transfer->headers);
      curl_easy_cleanup(easy);
      fail_at_once(std::move(transfer), curl_multi_strerror(code));
      return;
    }
    transfers_.emplace(easy, std::move(transfer));
    // Adding the handle made its timer due: this runs that transfer alone (not the others in
    // flight), which begins connecting, or sends the request on a connection kept alive.
    run_due_timers();
  }

  std::vector<HttpResponse> poll(std::chrono::milliseconds max_wait) override {
    std::vector<HttpResponse> done = std::exchange(failed_at_once_, {});
    if (transfers_.empty()) return done;
    collect(done);  // finished while being started
    const auto deadline = Clock::now() + max_wait;
    while (done.empty() && !transfers_.empty()) {
      const auto now = Clock::now();
      auto until = deadline;
      if (timer_due_ && *timer_due_ < until) until = *timer_due_;
      const auto wait = std::max<std::int64_t>(
          0, std::chrono::ceil<std::chrono::milliseconds>(until - now).count());
      for (const SocketWatch::Ready& ready :
           watch_.wait(static_cast<int>(std::min<std::int64_t>(wait, 1 << 30)))) {
        const int events = (ready.in ? CURL_CSELECT_IN : 0) | (ready.out ? CURL_CSELECT_OUT : 0) |
                           (ready.error ? CURL_CSELECT_ERR : 0);
        int running = 0;
        curl_multi_socket_action(multi_, ready.fd, events, &running);
      }
      run_due_timers();
      collect(done);
      if (Clock::now() >= deadline) break;
    }
    return done;
  }

  std::size_t in_flight() const override { return transfers_.size() + failed_at_once_.size(); }

 private:
  CURL* take_handle() {
    if (idle_.empty()) return curl_easy_init();
    CURL* easy = idle_.back();
    idle_.pop_back();
    curl_easy_reset(easy);  // clears options; the multi handle keeps the connections
    return easy;
  }

  void release_handle(CURL* easy) {
    if (idle_.size() < kMaxIdleHandles) {
      idle_.push_back(easy);
    } else {
      curl_easy_cleanup(easy);
    }
  }

  void configure(Transfer& transfer) {
    CURL* easy = transfer.easy;
    const HttpRequest& request = transfer.request;
    bool has_content_type = false;
    for (const std::string& line : request.headers) {
      transfer.headers = curl_slist_append(transfer.headers, line.c_str());
      const auto colon = line.find(':');
      if (colon != std::string::npos &&
          iequals(trim_space(std::string_view(line).substr(0, colon)), "content-type")) {
        has_content_type = true;
      }
    }
    if (!has_content_type) {
      transfer.headers = curl_slist_append(transfer.headers, "Content-Type: application/json");
    }
    // No "Expect: 100-continue" round trip before large bodies.
    transfer.headers = curl_slist_append(transfer.headers, "Expect:");

    curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    // The body through a read callback, not CURLOPT_POSTFIELDS, so that on_seek decides whether
    // libcurl may send it a second time.
    curl_easy_setopt(easy, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(easy, CURLOPT_READDATA, &transfer);
    curl_easy_setopt(easy, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(easy, CURLOPT_SEEKDATA, &transfer);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer.headers);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, request.timeout_ms);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, request.connect_timeout_ms);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_NOPROXY, no_proxy_.c_str());
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, 15L);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");  // every encoding libcurl can decode
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer.error_buffer);
    // libcurl's default 64 KiB upload buffer per handle was 64 MB of a worker with 1,000 calls
    // in flight; bodies are a few KiB, and 16 KiB is the smallest it takes.
    curl_easy_setopt(easy, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
    // Its receive buffer, 16 KiB by default, was the other 16 MB: an answer of a few KiB still
    // arrives in one or two reads of 8 KiB.
    curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 8192L);
  }

  void fail_at_once(std::unique_ptr<Transfer> transfer, std::string message) {
    transfer->response.transport_error = std::move(message);
    failed_at_once_.push_back(std::move(transfer->response));
  }

  using Clock = std::chrono::steady_clock;

  // libcurl asks to watch a socket for reading, writing or both, or to forget it.
  static int on_socket(CURL*, curl_socket_t fd, int what, void* user, void*) {
    auto* self = static_cast<CurlTransport*>(user);
    if (what == CURL_POLL_REMOVE) {
      self->watch_.forget(fd);
    } else {
      self->watch_.watch(fd, (what & CURL_POLL_IN) != 0, (what & CURL_POLL_OUT) != 0);
    }
    return 0;
  }

  // libcurl names when it next needs to run transfers without a socket event (-1: never).
  static int on_timer(CURLM*, long timeout_ms, void* user) {
    auto* self = static_cast<CurlTransport*>(user);
    if (timeout_ms < 0) {
      self->timer_due_.reset();
    } else {
      self->timer_due_ = Clock::now() + std::chrono::milliseconds(timeout_ms);
    }
    return 0;
  }

  // Runs the transfers whose timers are due, if libcurl's timer is.
  void run_due_timers() {
    if (!timer_due_ || Clock::now() < *timer_due_) return;
    timer_due_.reset();  // on_timer sets the next one while the action runs
    int running = 0;
    curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
  }

  // Appends every transfer that finished to done.
  void collect(std::vector<HttpResponse>& done) {
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* easy = message->easy_handle;
      const CURLcode code = message->data.result;
      auto found = transfers_.find(easy);
      if (found == transfers_.end()) continue;
      std::unique_ptr<Transfer> transfer = std::move(found->second);
      transfers_.erase(found);
      curl_multi_remove_handle(multi_, easy);
      done.push_back(finish(*transfer, code));
      curl_slist_free_all(transfer->headers);
      release_handle(easy);
    }
  }

  static HttpResponse finish(Transfer& transfer, CURLcode code) {
    HttpResponse response = std::move(transfer.response);
    curl_off_t total_us = 0;
    if (curl_easy_getinfo(transfer.easy, CURLINFO_TOTAL_TIME_T, &total_us) == CURLE_OK) {
      response.latency_ms = static_cast<std::int64_t>(total_us / 1000);
    }
    long status = 0;
    if (curl_easy_getinfo(transfer.easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
        status != 0) {
      response.status = static_cast<int>(status);
    }
    if (response.status == 0) response.status = transfer.header.status;
    response.headers = std::move(transfer.header.kept);
    response.retry_after_ms = retry_after_of(transfer.header);
    if (response.too_large) {
      response.transport_error =
          "response exceeded " + std::to_string(transfer.request.max_response_bytes) + " bytes";
    } else if (code != CURLE_OK && transfer.resend_refused) {
      response.status = 0;
      response.transport_error =
          "the connection closed after the request was sent, before any answer (not sent again "
          "by the transport: the endpoint may have acted on it)";
    } else if (code != CURLE_OK) {
      response.status = 0;
      response.timed_out = code == CURLE_OPERATION_TIMEDOUT;
      response.transport_error = describe_curl_error(code, transfer.error_buffer,
                                                     header_secrets(transfer.request.headers));
    }
    return response;
  }

  SocketWatch watch_;  // declared first: libcurl forgets its sockets while multi_ is cleaned up
  std::optional<Clock::time_point> timer_due_;
  CURLM* multi_;
  std::string no_proxy_;
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> transfers_;
  std::vector<HttpResponse> failed_at_once_;  // could not even start; returned by the next poll
  std::vector<CURL*> idle_;
};

}  // namespace

std::unique_ptr<Transport> make_curl_transport() {
  init_curl_once();
  return std::make_unique<CurlTransport>();
}

std::optional<std::int64_t> parse_retry_after_ms(std::string_view retry_after_ms,
                                                 std::string_view retry_after,
                                                 std::chrono::system_clock::time_point now) {
  if (auto ms = parse_delay(retry_after_ms, 1.0)) return ms;
  if (auto ms = parse_delay(retry_after, 1000.0)) return ms;
  const std::string date(trim_space(retry_after));
  // Every HTTP-date form names its month; without a letter it is a malformed delay, not a date.
  if (std::none_of(date.begin(), date.end(),
                   [](char c) { return std::isalpha(static_cast<unsigned char>(c)); })) {
    return std::nullopt;
  }
  const time_t when = curl_getdate(date.c_str(), nullptr);  // RFC 9110 dates, all three forms
  if (when == -1) return std::nullopt;
  const auto wait = std::chrono::system_clock::from_time_t(when) - now;
  return std::max<std::int64_t>(0, std::chrono::ceil<std::chrono::milliseconds>(wait).count());
}

}  // namespace hydrate::llm
