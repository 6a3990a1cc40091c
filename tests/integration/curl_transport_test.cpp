// The libcurl transport against a real HTTP server on loopback (cpp-httplib, in this process).
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/llm/chat_protocol.hpp"
#include "core/llm/transport.hpp"
#include "tests/support/refusing_port.hpp"

namespace {

using hydrate::llm::HttpRequest;
using hydrate::llm::HttpResponse;
using hydrate::llm::Transport;
using hydrate::testing::RefusingPort;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kSecret = "sk-test-SECRET-0123456789abcdef";

// An HTTP server on a free loopback port with the handlers the tests need.
class TestServer {
 public:
  // httplib gives each connection a thread of its pool for as long as it is kept alive.
  explicit TestServer(std::size_t threads = 64) {
    server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server_.Post("/echo", [](const httplib::Request& request, httplib::Response& response) {
      response.set_content("echo:" + request.body, "text/plain");
    });
    server_.Post("/slow", [this](const httplib::Request& request, httplib::Response& response) {
      sleep_unless_stopping(milliseconds(200));
      response.set_content("echo:" + request.body, "text/plain");
    });
    server_.Post("/hang", [this](const httplib::Request&, httplib::Response& response) {
      sleep_unless_stopping(milliseconds(3000));
      response.set_content("late", "text/plain");
    });
    server_.Post("/big", [](const httplib::Request&, httplib::Response& response) {
      response.set_content(std::string(64 * 1024, 'x'), "text/plain");
    });
    // A body of the size the request asks for, in bytes.
    server_.Post("/sized", [](const httplib::Request& request, httplib::Response& response) {
      response.set_content(std::string(std::stoul(request.body), 'x'), "text/plain");
    });
    // 4 MiB of zeros, deflated to a few KiB on the wire: the cap must count decoded bytes.
    server_.Post("/deflate-bomb", [](const httplib::Request&, httplib::Response& response) {
      const std::string plain(4u << 20, '0');
      uLongf size = compressBound(plain.size());
      std::string packed(size, '\0');
      if (compress2(reinterpret_cast<Bytef*>(packed.data()), &size,
                    reinterpret_cast<const Bytef*>(plain.data()), plain.size(), 9) != Z_OK) {
        response.status = 500;  // the test then fails on too_large
        return;
      }
      packed.resize(size);
      response.set_header("Content-Encoding", "deflate");
      // Not a type httplib compresses itself, so the body goes out as it is.
      response.set_content(packed, "application/octet-stream");
    });
    server_.Post("/port", [](const httplib::Request& request, httplib::Response& response) {
      response.set_content(std::to_string(request.remote_port), "text/plain");
    });
    server_.Post("/content-type", [](const httplib::Request& request, httplib::Response& response) {
      response.set_content(
          request.get_header_value("Content-Type") + "|" + std::to_string(request.body.size()),
          "text/plain");
    });
    server_.Post("/retry-ms", [](const httplib::Request&, httplib::Response& response) {
      response.status = 429;
      response.set_header("retry-after-ms", "250");
      response.set_header("Retry-After", "7");
      response.set_content(R"({"error":{"message":"slow down","type":"requests",)"
                           R"("param":null,"code":"rate_limit_exceeded"}})",
                           "application/json");
    });
    server_.Post("/retry-seconds", [](const httplib::Request&, httplib::Response& response) {
      response.status = 429;
      response.set_header("RETRY-AFTER", "7");
    });
    server_.Post("/retry-date", [](const httplib::Request&, httplib::Response& response) {
      response.status = 503;
      const std::time_t in_30s = std::time(nullptr) + 30;
      std::tm tm{};
      gmtime_r(&in_30s, &tm);
      char date[64];
      std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
      response.set_header("Retry-After", date);
    });
    server_.set_socket_options([this](int fd) {
      int yes = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
      listen_fd_ = fd;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    // Debian's compiled cpp-httplib listens with a backlog of 5: a burst of 32 connects would
    // overflow it and wait out SYN retransmits (1 s, 3 s, …). Listening again enlarges it.
    REQUIRE(::listen(listen_fd_, SOMAXCONN) == 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    while (!server_.is_running() && Clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(1));
    }
    REQUIRE(server_.is_running());
  }

  ~TestServer() {
    stopping_ = true;
    server_.stop();
    thread_.join();
  }

  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  void sleep_unless_stopping(milliseconds duration) {
    const auto until = Clock::now() + duration;
    while (!stopping_ && Clock::now() < until) std::this_thread::sleep_for(milliseconds(5));
  }

  httplib::Server server_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

// A bare HTTP/1.1 server on loopback that answers the first request of each connection and
// closes the connection, unanswered, on the second — after reading it whole, as a server that
// took a request and died (or a load balancer that dropped it) would. Counts what it received.
class DroppingServer {
 public:
  DroppingServer() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    REQUIRE(::listen(fd_, SOMAXCONN) == 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~DroppingServer() {
    stopping_ = true;
    thread_.join();
    ::close(fd_);
  }
  DroppingServer(const DroppingServer&) = delete;
  DroppingServer& operator=(const DroppingServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  int requests() const { return requests_; }

 private:
  // True once fd is readable, false at the deadline or when the test ends.
  bool readable(int fd, milliseconds within) const {
    const auto deadline = Clock::now() + within;
    while (!stopping_ && Clock::now() < deadline) {
      pollfd entry{fd, POLLIN, 0};
      if (::poll(&entry, 1, 20) > 0) return true;
    }
    return false;
  }

  // Reads one request (headers, then Content-Length bytes of body); false on EOF or timeout.
  bool read_request(int fd, std::string& buffer) const {
    std::size_t body_at = std::string::npos;
    std::size_t length = 0;
    while (true) {
      if (body_at == std::string::npos &&
          (body_at = buffer.find("\r\n\r\n")) != std::string::npos) {
        body_at += 4;
        const auto header = buffer.find("Content-Length: ");
        if (header != std::string::npos) length = std::stoul(buffer.substr(header + 16));
      }
      if (body_at != std::string::npos && buffer.size() >= body_at + length) {
        buffer.erase(0, body_at + length);
        return true;
      }
      if (!readable(fd, milliseconds(5000))) return false;
      char chunk[4096];
      const ssize_t got = ::read(fd, chunk, sizeof chunk);
      if (got <= 0) return false;
      buffer.append(chunk, static_cast<std::size_t>(got));
    }
  }

  void serve() {
    while (!stopping_) {
      if (!readable(fd_, milliseconds(50))) continue;
      const int connection = ::accept(fd_, nullptr, nullptr);
      if (connection < 0) continue;
      std::string buffer;
      for (int on_connection = 1; read_request(connection, buffer); ++on_connection) {
        ++requests_;
        if (on_connection == 2) break;  // taken, never answered
        const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        if (::write(connection, answer.data(), answer.size()) < 0) break;
      }
      ::close(connection);
    }
  }

  int fd_;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

HttpRequest post(std::uint64_t tag, std::string url, std::string body = "{}") {
  HttpRequest request;
  request.tag = tag;
  request.url = std::move(url);
  request.headers = {"Authorization: Bearer " + std::string(kSecret)};
  request.body = std::move(body);
  request.timeout_ms = 10000;
  request.connect_timeout_ms = 5000;
  return request;
}

// Polls until `count` responses came back or the deadline passed; returns them by tag.
std::map<std::uint64_t, HttpResponse> collect(Transport& transport, std::size_t count,
                                              milliseconds within = milliseconds(10000)) {
  std::map<std::uint64_t, HttpResponse> responses;
  const auto deadline = Clock::now() + within;
  while (responses.size() < count && Clock::now() < deadline) {
    for (HttpResponse& response : transport.poll(milliseconds(50))) {
      responses.emplace(response.tag, std::move(response));
    }
  }
  REQUIRE(responses.size() == count);
  return responses;
}

HttpResponse round_trip(Transport& transport, HttpRequest request) {
  const std::uint64_t tag = request.tag;
  transport.start(std::move(request));
  return collect(transport, 1).at(tag);
}

void check_no_secret(const HttpResponse& response) {
  CHECK(response.transport_error.find("SECRET") == std::string::npos);
  CHECK(response.transport_error.find("Bearer") == std::string::npos);
}

}  // namespace

TEST_SUITE("curl transport") {
  TEST_CASE("32 requests in flight at once overlap instead of queueing") {
    TestServer server;
    auto transport = hydrate::llm::make_curl_transport();
    constexpr int kRequests = 32;
    const auto started = Clock::now();
    for (int i = 1; i <= kRequests; ++i) {
      transport->start(post(1000 + i, server.url("/slow"), "request-" + std::to_string(i)));
    }
    CHECK(transport->in_flight() == kRequests);
    const auto responses = collect(*transport, kRequests);
    const auto elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - started).count();
    std::int64_t slowest = 0;
    for (const auto& [tag, response] : responses) slowest = std::max(slowest, response.latency_ms);
    MESSAGE("32 x 200 ms handler: " << elapsed << " ms wall time, slowest call " << slowest
                                    << " ms");
    CHECK(elapsed < 3000);  // serially it would be 6400 ms
    CHECK(transport->in_flight() == 0);
    for (int i = 1; i <= kRequests; ++i) {
      const HttpResponse& response = responses.at(1000 + i);
      CHECK(response.status == 200);
      CHECK(response.body == "echo:request-" + std::to_string(i));
      CHECK(response.transport_error.empty());
      CHECK(response.latency_ms >= 190);
    }
  }

  // More sockets than one epoll wait returns (256), connections opened, reused and closed by the
  // server (httplib keeps one for 5 requests) while the others wait: each answer comes back
  // once, to its own request.
  TEST_CASE("600 requests started at once each come back once, with their own body") {
    TestServer server(640);
    auto transport = hydrate::llm::make_curl_transport();
    constexpr int kRequests = 600;
    for (int i = 1; i <= kRequests; ++i) {
      transport->start(post(i, server.url(i % 3 == 0 ? "/slow" : "/echo"),
                            "request-" + std::to_string(i) + std::string(i % 7 * 300, 'p')));
    }
    CHECK(transport->in_flight() == kRequests);
    const auto responses = collect(*transport, kRequests, milliseconds(60000));
    CHECK(transport->in_flight() == 0);
    int ok = 0;
    for (int i = 1; i <= kRequests; ++i) {
      const HttpResponse& response = responses.at(i);
      const bool good =
          response.status == 200 && response.transport_error.empty() &&
          response.body == "echo:request-" + std::to_string(i) + std::string(i % 7 * 300, 'p');
      if (!good) MESSAGE(i << ": " << response.status << " " << response.transport_error);
      ok += good;
    }
    CHECK(ok == kRequests);
    CHECK(transport->poll(milliseconds(0)).empty());
  }

  TEST_CASE("bodies round-trip, JSON is the default content type, tags come back") {
    TestServer server;
    auto transport = hydrate::llm::make_curl_transport();
    const std::string big_body = R"({"text":")" + std::string(300 * 1024, 'a') + R"("})";
    const auto started = Clock::now();
    const HttpResponse sized =
        round_trip(*transport, post(1, server.url("/content-type"), big_body));
    CHECK(sized.status == 200);
    CHECK(sized.body == "application/json|" + std::to_string(big_body.size()));
    CHECK(Clock::now() - started < std::chrono::seconds(1));  // no Expect: 100-continue stall

    HttpRequest custom = post(2, server.url("/content-type"), "a=1");
    custom.headers.push_back("Content-Type: application/x-www-form-urlencoded");
    CHECK(round_trip(*transport, custom).body == "application/x-www-form-urlencoded|3");

    const std::string unicode = R"({"q":"数学 — é"})";
    const HttpResponse echoed = round_trip(*transport, post(99, server.url("/echo"), unicode));
    CHECK(echoed.tag == 99);
    CHECK(echoed.body == "echo:" + unicode);
  }

  TEST_CASE("sequential requests reuse one kept-alive connection") {
    TestServer server;
    auto transport = hydrate::llm::make_curl_transport();
    std::set<std::string> client_ports;
    for (std::uint64_t tag = 1; tag <= 3; ++tag) {
      client_ports.insert(round_trip(*transport, post(tag, server.url("/port"))).body);
    }
    CHECK(client_ports.size() == 1);
  }

  TEST_CASE("retry-after-ms, retry-after seconds and dates are read") {
    TestServer server;
    auto transport = hydrate::llm::make_curl_transport();
    transport->start(post(1, server.url("/retry-ms")));
    transport->start(post(2, server.url("/retry-seconds")));
    transport->start(post(3, server.url("/retry-date")));
    transport->start(post(4, server.url("/echo")));
    const auto responses = collect(*transport, 4);

    CHECK(responses.at(1).status == 429);
    CHECK(responses.at(1).retry_after_ms == 250);
    CHECK(responses.at(1).transport_error.empty());
    const auto result = hydrate::llm::interpret_response(responses.at(1));
    CHECK(result.outcome == hydrate::llm::ChatOutcome::rate_limited);
    CHECK(result.retry_after_ms == 250);

    CHECK(responses.at(2).status == 429);
    CHECK(responses.at(2).retry_after_ms == 7000);

    CHECK(responses.at(3).status == 503);
    REQUIRE(responses.at(3).retry_after_ms.has_value());
    CHECK(*responses.at(3).retry_after_ms > 27000);
    CHECK(*responses.at(3).retry_after_ms <= 31000);

    CHECK_FALSE(responses.at(4).retry_after_ms.has_value());
  }

  TEST_CASE("a handler slower than timeout_ms gives timed_out") {
    TestServer server;
    auto transport = hydrate::llm::make_curl_transport();
    HttpRequest request = post(5, server.url("/hang"));
    request.timeout_ms = 300;
    const auto started = Clock::now();
    const HttpResponse response = round_trip(*transport, request);
    CHECK(Clock::now() - started < std::chrono::seconds(2));
    CHECK(response.timed_out);
    CHECK(response.status == 0);
    CHECK_FALSE(response.transport_error.empty());
    check_no_secret(response);
    CHECK(hydrate::llm::interpret_response(response).outcome == hydrate::llm::ChatOutcome::timeout);
  }

  TEST_CASE("a body over max_response_bytes is cut and flagged too_large") {
    TestServer server;
    auto transport = hydrate::llm::make_curl_transport();
    HttpRequest request = post(6, server.url("/big"));
    request.max_response_bytes = 1024;
    const HttpResponse response = round_trip(*transport, request);
    CHECK(response.too_large);
    CHECK_FALSE(response.timed_out);
    CHECK(response.body.size() <= 1024);
    CHECK(response.transport_error == "response exceeded 1024 bytes");
    check_no_secret(response);
    CHECK(hydrate::llm::interpret_response(response).outcome ==
          hydrate::llm::ChatOutcome::too_large);

    // The same transport goes on working.
    CHECK(round_trip(*transport, post(7, server.url("/echo"), "after")).body == "echo:after");
  }

  TEST_CASE("a request taken and dropped on a reused connection is reported, not sent again") {
    // libcurl would send it again, unseen, on a fresh connection: a second request (possibly
    // billed) that hydrate neither logs nor counts as an attempt.
    DroppingServer server;
    auto transport = hydrate::llm::make_curl_transport();
    const HttpResponse first = round_trip(*transport, post(1, server.url(), R"({"n":1})"));
    CHECK(first.status == 200);
    CHECK(first.body == "ok");
    const HttpResponse second = round_trip(*transport, post(2, server.url(), R"({"n":2})"));
    MESSAGE("dropped: " << second.transport_error);
    CHECK(second.status == 0);
    CHECK(second.transport_error.find("before any answer") != std::string::npos);
    CHECK(hydrate::llm::interpret_response(second).outcome ==
          hydrate::llm::ChatOutcome::network_error);
    CHECK(server.requests() == 2);
    // The transport goes on working, on a new connection.
    CHECK(round_trip(*transport, post(3, server.url(), R"({"n":3})")).body == "ok");
    CHECK(server.requests() == 3);
  }

  TEST_CASE("the default 1 MiB cap: exactly 1 MiB passes, one byte more is cut") {
    TestServer server;
    auto transport = hydrate::llm::make_curl_transport();
    constexpr std::size_t kMiB = 1 << 20;
    HttpRequest at_cap = post(11, server.url("/sized"), std::to_string(kMiB));
    REQUIRE(at_cap.max_response_bytes == kMiB);  // the default, as llm.max_response_bytes
    const HttpResponse whole = round_trip(*transport, at_cap);
    CHECK_FALSE(whole.too_large);
    CHECK(whole.status == 200);
    CHECK(whole.body.size() == kMiB);
    const HttpResponse over =
        round_trip(*transport, post(12, server.url("/sized"), std::to_string(kMiB + 1)));
    CHECK(over.too_large);
    CHECK(over.body.size() == kMiB);
    CHECK(over.transport_error == "response exceeded 1048576 bytes");
    const auto result = hydrate::llm::interpret_response(over);
    CHECK(result.outcome == hydrate::llm::ChatOutcome::too_large);
    CHECK(result.error_message == "response exceeded 1048576 bytes");
  }

  TEST_CASE("the cap counts decoded bytes: a small compressed body that inflates is cut") {
    TestServer server;
    auto transport = hydrate::llm::make_curl_transport();
    const HttpResponse response = round_trip(*transport, post(13, server.url("/deflate-bomb")));
    CHECK(response.too_large);
    CHECK(response.body.size() == std::size_t{1} << 20);
    CHECK(response.body.find_first_not_of('0') == std::string::npos);
    CHECK(hydrate::llm::interpret_response(response).outcome ==
          hydrate::llm::ChatOutcome::too_large);
  }

  TEST_CASE("a refused port is a network error that names the problem") {
    RefusingPort refusing;
    auto transport = hydrate::llm::make_curl_transport();
    const HttpResponse response = round_trip(
        *transport, post(8, "http://127.0.0.1:" + std::to_string(refusing.port()) + "/v1"));
    CHECK(response.status == 0);
    CHECK_FALSE(response.timed_out);
    MESSAGE("refused: " << response.transport_error);
    CHECK(response.transport_error.find("onnect") != std::string::npos);  // (C|c)onnect…
    CHECK(response.transport_error.find(std::to_string(refusing.port())) != std::string::npos);
    check_no_secret(response);
    CHECK(hydrate::llm::interpret_response(response).outcome ==
          hydrate::llm::ChatOutcome::network_error);
  }

  TEST_CASE("unusable URLs fail on their own, without the headers in the message") {
    auto transport = hydrate::llm::make_curl_transport();
    transport->start(post(9, "file:///etc/passwd"));
    transport->start(post(10, "not a url at all"));
    const auto responses = collect(*transport, 2);
    for (const auto& [tag, response] : responses) {
      CAPTURE(tag);
      CHECK(response.status == 0);
      CHECK_FALSE(response.transport_error.empty());
      CHECK(response.body.empty());
      check_no_secret(response);
    }
  }

  TEST_CASE("the Authorization value never appears in a transport error") {
    TestServer server;
    RefusingPort refusing;
    auto transport = hydrate::llm::make_curl_transport();
    HttpRequest slow = post(1, server.url("/hang"));
    slow.timeout_ms = 200;
    HttpRequest big = post(2, server.url("/big"));
    big.max_response_bytes = 10;
    transport->start(std::move(slow));
    transport->start(std::move(big));
    transport->start(post(3, "http://127.0.0.1:" + std::to_string(refusing.port()) + "/"));
    transport->start(post(4, std::string("http://") + kSecret +
                                 "@127.0.0.1:" + std::to_string(refusing.port()) + "/"));
    for (const auto& [tag, response] : collect(*transport, 4)) {
      CAPTURE(tag);
      CHECK_FALSE(response.transport_error.empty());
      check_no_secret(response);
      CHECK(hydrate::llm::interpret_response(response).error_message.find("SECRET") ==
            std::string::npos);
    }
  }

  TEST_CASE("poll returns at once when nothing is in flight; destruction mid-flight is clean") {
    TestServer server;
    auto transport = hydrate::llm::make_curl_transport();
    const auto started = Clock::now();
    CHECK(transport->poll(milliseconds(2000)).empty());
    CHECK(Clock::now() - started < milliseconds(100));

    transport->start(post(1, server.url("/hang")));
    transport->start(post(2, server.url("/hang")));
    const auto waited_from = Clock::now();
    CHECK(transport->poll(milliseconds(100)).empty());
    const auto waited = Clock::now() - waited_from;
    CHECK(waited >= milliseconds(95));
    CHECK(waited < milliseconds(1000));
    CHECK(transport->in_flight() == 2);
    transport.reset();  // aborts both; the server's handlers finish on their own
  }
}
