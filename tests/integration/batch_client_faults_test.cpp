// The Batch API client against answers the local endpoint's Batch API never gives: 429 and 5xx
// with their waits, a quota 429, a 2xx body that is not the object asked for, a server too slow
// for the timeout. A cpp-httplib server in this process answers each route one way.
#include <doctest/doctest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "core/llm/batch_client.hpp"

namespace {

using hydrate::ErrorKind;
using Clock = std::chrono::steady_clock;

// One canned answer per batch id under /v1/batches/{id}.
class FaultyServer {
 public:
  FaultyServer() {
    server_.Get(R"(/v1/batches/([^/]+))", [this](const httplib::Request& request,
                                                 httplib::Response& response) {
      const std::string id = request.matches[1].str();
      if (id == "rate_limited") {
        response.status = 429;
        response.set_header("retry-after-ms", "1500");
        response.set_header("x-request-id", "req_429");
        response.set_content(R"({"error":{"message":"Rate limit reached for requests",)"
                             R"("type":"requests","code":"rate_limit_exceeded"}})",
                             "application/json");
      } else if (id == "unavailable") {
        response.status = 503;
        response.set_header("retry-after", "2");
        response.set_content("<html>Service Unavailable</html>", "text/html");
      } else if (id == "quota") {
        response.status = 429;
        response.set_content(R"({"error":{"message":"You exceeded your current quota.",)"
                             R"("type":"insufficient_quota","code":"insufficient_quota"}})",
                             "application/json");
      } else if (id == "not_an_object") {
        response.set_content("<html>captive portal</html>", "text/html");
      } else if (id == "echoes_key") {
        response.status = 400;
        response.set_content(R"({"error":{"message":"bad key )" +
                                 request.get_header_value("Authorization") + R"(\nsecond line"}})",
                             "application/json");
      } else if (id == "slow") {
        for (int i = 0; i < 300 && !stopping_; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        response.set_content("{}", "application/json");
      }
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    while (!server_.is_running() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    REQUIRE(server_.is_running());
  }
  ~FaultyServer() {
    stopping_ = true;
    server_.stop();
    thread_.join();
  }
  FaultyServer(const FaultyServer&) = delete;
  FaultyServer& operator=(const FaultyServer&) = delete;

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

std::unique_ptr<hydrate::llm::BatchClient> client_for(const FaultyServer& server,
                                                      long timeout_ms = 10000) {
  hydrate::llm::BatchEndpoint endpoint;
  endpoint.base_url = server.base_url();
  endpoint.api_key = "sk-test-SECRET123";
  endpoint.timeout_ms = timeout_ms;
  return hydrate::llm::make_batch_client(endpoint);
}

}  // namespace

TEST_SUITE("batch client") {
  TEST_CASE("batch client: 429 and 5xx are transient with the wait the server asked for") {
    FaultyServer server;
    auto client = client_for(server);
    const auto limited = client->retrieve("rate_limited");
    REQUIRE_FALSE(limited);
    CHECK(limited.failure->error.kind == ErrorKind::transient);
    CHECK(limited.failure->retry_after_ms == 1500);
    CHECK(limited.failure->error.message.find("HTTP 429 (rate_limit_exceeded)") !=
          std::string::npos);
    CHECK(limited.failure->error.message.find("req_429") != std::string::npos);
    const auto unavailable = client->retrieve("unavailable");
    REQUIRE_FALSE(unavailable);
    CHECK(unavailable.failure->error.kind == ErrorKind::transient);
    CHECK(unavailable.failure->retry_after_ms == 2000);
  }

  TEST_CASE("batch client: an exhausted quota and a body that is not a Batch are permanent") {
    FaultyServer server;
    auto client = client_for(server);
    const auto quota = client->retrieve("quota");
    REQUIRE_FALSE(quota);
    CHECK(quota.failure->error.kind == ErrorKind::permanent);
    CHECK_FALSE(quota.failure->retry_after_ms.has_value());
    const auto portal = client->retrieve("not_an_object");
    REQUIRE_FALSE(portal);
    CHECK(portal.failure->error.kind == ErrorKind::permanent);
    CHECK(portal.failure->error.message.find("not a Batch object") != std::string::npos);
  }

  TEST_CASE("batch client: a key the server echoes back is hidden, the message one line") {
    FaultyServer server;
    auto client = client_for(server);
    const auto echoed = client->retrieve("echoes_key");
    REQUIRE_FALSE(echoed);
    const std::string& message = echoed.failure->error.message;
    CAPTURE(message);
    CHECK(echoed.failure->error.kind == ErrorKind::permanent);
    CHECK(message.find("SECRET123") == std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
    CHECK(message.find("second line") != std::string::npos);
  }

  TEST_CASE("batch client: a server slower than timeout_ms is a transient timeout") {
    FaultyServer server;
    auto client = client_for(server, 200);
    const auto started = Clock::now();
    const auto slow = client->retrieve("slow");
    REQUIRE_FALSE(slow);
    CHECK(slow.failure->error.kind == ErrorKind::transient);
    CHECK(slow.failure->error.message.find("200 ms") != std::string::npos);
    CHECK(Clock::now() - started < std::chrono::seconds(2));
  }
}
