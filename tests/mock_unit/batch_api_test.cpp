// BatchApi on a clock the test moves: the statuses a batch goes through and when, the
// enqueued-token limit, cancel, and the input file's checks — without HTTP or a real model.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "mock/batch_api.hpp"
#include "mock/batch_input.hpp"

namespace {

using namespace hydrate::mock;
using std::chrono::milliseconds;

// A request line whose body is a chat request of `chars` characters of prompt.
std::string request_line(const std::string& id, std::size_t chars = 36) {
  return R"({"custom_id":")" + id +
         R"(","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini",)"
         R"("messages":[{"role":"user","content":")" +
         std::string(chars, 'x') + R"("}]}})" + "\n";
}

std::string lines(int count, const std::string& prefix = "r", std::size_t chars = 36) {
  std::string out;
  for (int i = 1; i <= count; ++i) out += request_line(prefix + std::to_string(i), chars);
  return out;
}

struct Fixture {
  BatchOptions options;
  SteadyClock::time_point now = SteadyClock::time_point() + std::chrono::hours(1);
  Stats stats;
  int answered = 0;
  BatchApi api;

  explicit Fixture(BatchOptions batch_options = timed())
      : options(batch_options),
        api(
            options, 1,
            [this](const std::string&, std::uint64_t, std::int64_t) {
              ++answered;
              return LineAnswer{200, R"({"object":"chat.completion"})", Usage{10, 5, 0}};
            },
            stats, [this] { return now; }) {}

  static BatchOptions timed() {
    BatchOptions batch;
    batch.validating_ms = 100;
    batch.processing_ms = 1000;
    batch.finalizing_ms = 100;
    batch.cancelling_ms = 100;
    return batch;
  }

  std::string upload(const std::string& content) {
    const Reply reply = api.upload_file({true, "batch", "in.jsonl", content});
    REQUIRE(reply.status == 200);
    return Json::parse(reply.body)["id"];
  }
  Json create(const std::string& file_id) {
    const Reply reply =
        api.create_batch(R"({"input_file_id":")" + file_id +
                         R"(","endpoint":"/v1/chat/completions","completion_window":"24h"})");
    REQUIRE(reply.status == 200);
    return Json::parse(reply.body);
  }
  Json batch(const std::string& id) {
    const Reply reply = api.retrieve_batch(id);
    REQUIRE(reply.status == 200);
    return Json::parse(reply.body);
  }
  void wait(int ms) { now += milliseconds(ms); }
};

std::string status_of(const Json& batch) {
  return batch["status"];
}
std::int64_t completed_of(const Json& batch) {
  return batch["request_counts"]["completed"];
}

}  // namespace

TEST_CASE(
    "mock batch: a batch moves through its statuses as the clock moves, answering its lines "
    "evenly") {
  Fixture f;
  const std::string id = f.create(f.upload(lines(10)))["id"];
  f.wait(99);
  CHECK(status_of(f.batch(id)) == "validating");
  f.wait(1);
  Json batch = f.batch(id);
  CHECK(status_of(batch) == "in_progress");
  CHECK(batch["request_counts"]["total"] == 10);
  CHECK(completed_of(batch) == 0);
  f.wait(500);
  CHECK(completed_of(f.batch(id)) == 5);
  CHECK(f.answered == 5);  // lines are answered when their turn comes, not before
  f.wait(500);
  batch = f.batch(id);
  CHECK(status_of(batch) == "finalizing");
  CHECK(completed_of(batch) == 10);
  CHECK(batch["output_file_id"].is_null());
  f.wait(100);
  batch = f.batch(id);
  CHECK(status_of(batch) == "completed");
  CHECK(batch["usage"]["input_tokens"] == 100);
  const Reply output = f.api.file_content(batch["output_file_id"]);
  CHECK(std::count(output.body.begin(), output.body.end(), '\n') == 10);
  CHECK(batch["error_file_id"].is_null());
  CHECK(f.answered == 10);
}

TEST_CASE(
    "mock batch: a batch over the enqueued-token limit fails when its validation ends, not at "
    "create") {
  BatchOptions options = Fixture::timed();
  // Each batch: 5 lines of (40 / 4 + 4) = 14 estimated prompt tokens, 70 in all.
  options.token_limit = 100;
  Fixture f(options);
  const std::string first = f.create(f.upload(lines(5, "a", 40)))["id"];
  f.wait(100);
  REQUIRE(status_of(f.batch(first)) == "in_progress");
  const std::string second_file = f.upload(lines(5, "b", 40));
  const Json second = f.create(second_file);
  CHECK(status_of(second) == "validating");
  CHECK(second["errors"].is_null());
  f.wait(100);
  const Json failed = f.batch(second["id"]);
  CHECK(status_of(failed) == "failed");
  CHECK(failed["errors"]["data"][0]["code"] == "token_limit_exceeded");
  CHECK(failed["in_progress_at"].is_null());
  f.wait(1100);
  REQUIRE(status_of(f.batch(first)) == "completed");
  const std::string third = f.create(second_file)["id"];
  f.wait(100);
  CHECK(status_of(f.batch(third)) == "in_progress");
}

TEST_CASE("mock batch: a cancelled batch keeps the lines answered before the cancel") {
  Fixture f;
  const std::string id = f.create(f.upload(lines(10)))["id"];
  f.wait(100 + 300);
  const Reply cancelling = f.api.cancel_batch(id);
  REQUIRE(cancelling.status == 200);
  CHECK(status_of(Json::parse(cancelling.body)) == "cancelling");
  f.wait(99);
  CHECK(status_of(f.batch(id)) == "cancelling");
  f.wait(1);
  const Json cancelled = f.batch(id);
  CHECK(status_of(cancelled) == "cancelled");
  CHECK(completed_of(cancelled) == 3);
  CHECK(cancelled["request_counts"]["total"] == 10);
  CHECK(f.answered == 3);
  CHECK(f.api.cancel_batch(id).status == 409);
}

TEST_CASE("mock batch: the expired fault ends a batch part way, the rest batch_expired") {
  BatchOptions options = Fixture::timed();
  options.rate_expired = 1;
  Fixture f(options);
  const std::string id = f.create(f.upload(lines(10)))["id"];
  f.wait(100 + 1000);
  const Json batch = f.batch(id);
  CHECK(status_of(batch) == "expired");
  const std::int64_t done = completed_of(batch);
  CHECK(done >= 2);
  CHECK(done <= 8);
  CHECK(batch["request_counts"]["failed"] == 10 - done);
  const Reply errors = f.api.file_content(batch["error_file_id"]);
  CHECK(errors.body.find("\"batch_expired\"") != std::string::npos);
}

TEST_CASE("mock batch: an input file's problems, each with its line") {
  const BatchInputLimits limits{5, 10000};
  const auto codes = [&](const std::string& content) {
    std::string out;
    for (const BatchError& error :
         read_batch_input(content, "/v1/chat/completions", limits).errors) {
      out += error.code + ":" + (error.line ? std::to_string(*error.line) : "-") + " ";
    }
    return out;
  };
  CHECK(codes(lines(3)).empty());
  CHECK(codes(request_line("a") + "{oops\n" + request_line("c")) == "invalid_json_line:2 ");
  CHECK(codes(request_line("a") + "\n" + request_line("a")) == "duplicate_custom_id:3 ");
  CHECK(codes(R"({"method":"POST","url":"/v1/chat/completions","body":{}})") ==
        "missing_required_parameter:1 ");
  CHECK(codes(R"({"custom_id":"a","method":"GET","url":"/v1/chat/completions","body":{}})") ==
        "invalid_method:1 ");
  CHECK(codes(R"({"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{}})") ==
        "invalid_url:1 ");
  CHECK(
      codes(
          request_line("a") +
          R"({"custom_id":"b","method":"POST","url":"/v1/chat/completions","body":{"model":"o3"}})") ==
      "mismatched_model:2 ");
  CHECK(codes(lines(6)) == "too_many_requests:- ");
  CHECK(codes(lines(3, "r", 4000)) == "file_too_large:- ");
  CHECK(codes("\n\n") == "empty_file:- ");
  const BatchInput input = read_batch_input(lines(2), "/v1/chat/completions", limits);
  REQUIRE(input.requests.size() == 2);
  CHECK(input.requests[1].line == 2);
  CHECK(input.model == "gpt-4o-mini");
}
