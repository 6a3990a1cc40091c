// The Batch API client against the local endpoint (hydrate-mock-llm, the real binary through
// MockProcess): files up and down, batches created, polled, listed, cancelled, failed, and every
// failure with the kind the batch cycle acts on. The endpoint's --batch-* flags make a batch take
// a fraction of a second; waits poll the batch with a deadline.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/llm/batch_client.hpp"
#include "core/llm/chat_protocol.hpp"
#include "tests/support/mock_process.hpp"
#include "tests/support/refusing_port.hpp"

namespace {

using hydrate::ErrorKind;
using hydrate::llm::BatchCallError;
using hydrate::llm::BatchClient;
using hydrate::llm::BatchEndpoint;
using hydrate::llm::BatchInfo;
using hydrate::llm::BatchStatus;
using hydrate::llm::ChatOutcome;
using hydrate::llm::ChatRequest;
using hydrate::testing::MockProcess;
using hydrate::testing::RefusingPort;
using Clock = std::chrono::steady_clock;

constexpr const char* kSecret = "sk-test-SECRET123";

// Fast batches: validating, in_progress and finalizing take tens of milliseconds. `processing`
// is --batch-ms (a long one keeps a batch in_progress for the test's life).
std::vector<std::string> fast_batches(std::vector<std::string> extra = {},
                                      const char* processing = "100") {
  std::vector<std::string> args = {
      "--batch-validating-ms", "20", "--batch-ms", processing, "--batch-finalizing-ms", "20",
      "--batch-cancelling-ms", "20"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::unique_ptr<BatchClient> client_for(const std::string& base_url,
                                        const std::string& key = kSecret) {
  BatchEndpoint endpoint;
  endpoint.base_url = base_url;
  endpoint.api_key = key;
  endpoint.timeout_ms = 30000;
  return hydrate::llm::make_batch_client(std::move(endpoint));
}

ChatRequest chapters_request(int number) {
  ChatRequest request;
  request.model = "gpt-4o-mini";
  request.messages = {{"system", "You design school syllabi. Answer in JSON."},
                      {"user", "List the chapters of CBSE Grade " + std::to_string(number) +
                                   " Science in English."}};
  request.max_tokens = 4000;
  request.schema_name = "chapters";
  request.json_schema =
      R"({"type":"object","additionalProperties":false,"required":["chapters"],"properties":)"
      R"({"chapters":{"type":"array","items":{"type":"object","additionalProperties":false,)"
      R"("required":["position","title","summary"],"properties":{"position":{"type":)"
      R"("integer"},"title":{"type":"string"},"summary":{"type":"string"}}}}}})";
  return request;
}

// A JSONL input file of `count` real request lines, custom ids step-1 … step-N.
std::string input_file(int count) {
  std::string jsonl;
  for (int i = 1; i <= count; ++i) {
    jsonl += hydrate::llm::batch_request_line("step-" + std::to_string(i), chapters_request(i));
    jsonl += '\n';
  }
  return jsonl;
}

template <class T>
const T& value_of(const hydrate::llm::BatchCall<T>& call) {
  if (!call) FAIL("the call failed: " << call.failure->error.message);
  return *call.value;
}

// Polls the batch until it reaches a final status (or `until`), failing at the deadline.
BatchInfo wait_for(BatchClient& client, const std::string& batch_id,
                   bool (*until)(BatchStatus) = hydrate::llm::is_final) {
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (true) {
    const BatchInfo batch = value_of(client.retrieve(batch_id));
    if (until(batch.status)) return batch;
    if (Clock::now() > deadline) FAIL("batch " << batch_id << " still " << to_string(batch.status));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string upload_lines(BatchClient& client, int count) {
  return value_of(client.upload("steps.jsonl", input_file(count)));
}

// Every line of a downloaded file, parsed.
std::vector<hydrate::llm::BatchLine> lines_of(const std::string& jsonl) {
  std::vector<hydrate::llm::BatchLine> lines;
  for (std::size_t start = 0; start < jsonl.size();) {
    std::size_t end = jsonl.find('\n', start);
    if (end == std::string::npos) end = jsonl.size();
    auto line = hydrate::llm::parse_batch_line(jsonl.substr(start, end - start));
    if (!line) FAIL(line.error().message);
    lines.push_back(std::move(*line));
    start = end + 1;
  }
  return lines;
}

void check_one_line_without_key(const BatchCallError& failure) {
  CAPTURE(failure.error.message);
  CHECK_FALSE(failure.error.message.empty());
  CHECK(failure.error.message.find('\n') == std::string::npos);
  CHECK(failure.error.message.find("SECRET123") == std::string::npos);
}

}  // namespace

TEST_SUITE("batch client") {
  TEST_CASE("batch client: real request lines run to completed and every output reads ok") {
    MockProcess mock(fast_batches({"--api-key", kSecret}));
    auto client = client_for(mock.base_url());
    const std::string file_id = upload_lines(*client, 5);
    CHECK(file_id.rfind("file-", 0) == 0);
    const BatchInfo created = value_of(client->create(file_id, {{"hydrate_run", "run-1"}}));
    CHECK(created.id.rfind("batch_", 0) == 0);
    CHECK(created.status == BatchStatus::validating);
    CHECK(created.input_file_id == file_id);
    CHECK(created.metadata ==
          std::vector<std::pair<std::string, std::string>>{{"hydrate_run", "run-1"}});
    CHECK(created.created_at > 1700000000);

    const BatchInfo done = wait_for(*client, created.id);
    REQUIRE(done.status == BatchStatus::completed);
    CHECK(done.total == 5);
    CHECK(done.completed == 5);
    CHECK(done.failed == 0);
    REQUIRE_FALSE(done.output_file_id.empty());
    CHECK(done.error_file_id.empty());

    std::set<std::string> custom_ids;
    for (const auto& line : lines_of(value_of(client->content(done.output_file_id)))) {
      CAPTURE(line.custom_id);
      custom_ids.insert(line.custom_id);
      CHECK(line.status_code == 200);
      const auto result = hydrate::llm::interpret_response(line.response);
      CHECK(result.outcome == ChatOutcome::ok);
      CHECK(result.content.find("chapters") != std::string::npos);
      CHECK(result.usage.prompt > 0);
      CHECK_FALSE(result.request_id.empty());
    }
    CHECK(custom_ids == std::set<std::string>{"step-1", "step-2", "step-3", "step-4", "step-5"});

    CHECK(value_of(client->remove(file_id)) == true);
    const auto again = client->remove(file_id);
    REQUIRE_FALSE(again);
    CHECK(again.failure->error.kind == ErrorKind::not_found);
  }

  TEST_CASE("batch client: list pages through batches newest first and finds one by metadata") {
    MockProcess mock(fast_batches({}, "60000"));
    auto client = client_for(mock.base_url());
    const std::string file_id = upload_lines(*client, 1);
    std::vector<std::string> created;  // oldest first
    for (int i = 0; i < 5; ++i) {
      created.push_back(
          value_of(client->create(file_id, {{"hydrate_run", "run-" + std::to_string(i)}})).id);
    }
    std::vector<std::string> listed;
    std::string found;
    std::string after;
    int pages = 0;
    while (true) {
      const auto page = value_of(client->list(after, 2));
      ++pages;
      for (const BatchInfo& batch : page.batches) {
        listed.push_back(batch.id);
        for (const auto& [key, value] : batch.metadata) {
          if (key == "hydrate_run" && value == "run-3") found = batch.id;
        }
      }
      if (!page.has_more) break;
      REQUIRE(pages < 10);
      after = page.last_id;
    }
    CHECK(pages == 3);
    CHECK(listed == std::vector<std::string>(created.rbegin(), created.rend()));
    CHECK(found == created[3]);
  }

  TEST_CASE("batch client: a cancelled batch goes cancelling, then cancelled, and stays") {
    MockProcess mock(fast_batches({}, "60000"));
    auto client = client_for(mock.base_url());
    const BatchInfo created = value_of(client->create(upload_lines(*client, 3), {}));
    wait_for(*client, created.id, [](BatchStatus status) {
      return status == BatchStatus::in_progress || hydrate::llm::is_final(status);
    });
    const BatchInfo cancelling = value_of(client->cancel(created.id));
    CHECK(cancelling.status == BatchStatus::cancelling);
    const BatchInfo cancelled = wait_for(*client, created.id);
    CHECK(cancelled.status == BatchStatus::cancelled);
    const auto again = client->cancel(created.id);
    REQUIRE_FALSE(again);
    CHECK(again.failure->error.kind == ErrorKind::permanent);  // 409: not cancellable
    check_one_line_without_key(*again.failure);
  }

  TEST_CASE("batch client: a failed batch shows its errors with their lines") {
    MockProcess mock(fast_batches());
    auto client = client_for(mock.base_url());
    const std::string jsonl = input_file(1) + "this is not json\n";
    const std::string file_id = value_of(client->upload("broken.jsonl", jsonl));
    const BatchInfo failed = wait_for(*client, value_of(client->create(file_id, {})).id);
    REQUIRE(failed.status == BatchStatus::failed);
    REQUIRE_FALSE(failed.errors.empty());
    CHECK(failed.errors[0].code == "invalid_json_line");
    CHECK(failed.errors[0].line == 2);
    CHECK_FALSE(failed.errors[0].message.empty());
    CHECK(failed.output_file_id.empty());
  }

  TEST_CASE("batch client: an expired batch's error file has batch_expired lines") {
    MockProcess mock(fast_batches({"--batch-rate-expired", "1"}));
    auto client = client_for(mock.base_url());
    const BatchInfo expired =
        wait_for(*client, value_of(client->create(upload_lines(*client, 20), {})).id);
    REQUIRE(expired.status == BatchStatus::expired);
    REQUIRE_FALSE(expired.error_file_id.empty());
    const auto lines = lines_of(value_of(client->content(expired.error_file_id)));
    CHECK(static_cast<std::int64_t>(lines.size()) == expired.failed);
    for (const auto& line : lines) {
      CHECK(line.error_code == "batch_expired");
      CHECK(line.status_code == 0);
      CHECK(hydrate::llm::interpret_response(line.response).outcome == ChatOutcome::network_error);
    }
  }

  TEST_CASE("batch client: failures come back with the kind the batch cycle acts on") {
    MockProcess mock(fast_batches({"--api-key", kSecret}));
    auto client = client_for(mock.base_url());

    const auto unknown = client->retrieve("batch_doesnotexist");
    REQUIRE_FALSE(unknown);
    CHECK(unknown.failure->error.kind == ErrorKind::not_found);
    CHECK(unknown.failure->error.message.find("batch_doesnotexist") != std::string::npos);
    check_one_line_without_key(*unknown.failure);

    const auto bad_file = client->create("file-nosuchfile", {});
    REQUIRE_FALSE(bad_file);
    CHECK(bad_file.failure->error.kind == ErrorKind::permanent);
    CHECK(bad_file.failure->error.message.find("HTTP 400") != std::string::npos);
    CHECK(bad_file.failure->error.message.find("file-nosuchfile") != std::string::npos);
    check_one_line_without_key(*bad_file.failure);

    const auto no_content = client->content("file-nosuchfile");
    REQUIRE_FALSE(no_content);
    CHECK(no_content.failure->error.kind == ErrorKind::not_found);

    RefusingPort refusing;
    auto down = client_for("http://127.0.0.1:" + std::to_string(refusing.port()) + "/v1");
    const auto refused = down->retrieve("batch_1");
    REQUIRE_FALSE(refused);
    CHECK(refused.failure->error.kind == ErrorKind::transient);
    CHECK(refused.failure->error.message.find(std::to_string(refusing.port())) !=
          std::string::npos);
    check_one_line_without_key(*refused.failure);
  }

  TEST_CASE("batch client: the key never shows in an error, whatever fails") {
    MockProcess mock(fast_batches({"--api-key", "sk-test-theRightKey99"}));
    RefusingPort refusing;
    auto wrong_key = client_for(mock.base_url());
    std::vector<BatchCallError> failures;
    for (const auto& call : {wrong_key->retrieve("batch_1"), wrong_key->cancel("batch_1")}) {
      REQUIRE_FALSE(call);
      failures.push_back(*call.failure);
    }
    CHECK(failures[0].error.kind == ErrorKind::permanent);  // 401
    CHECK(failures[0].error.message.find("HTTP 401") != std::string::npos);
    const auto upload = wrong_key->upload("in.jsonl", input_file(1));
    REQUIRE_FALSE(upload);
    failures.push_back(*upload.failure);
    // The key in the URL as well as in the header: the transport's own errors hide it too.
    auto in_url = client_for(std::string("http://") + kSecret +
                             "@127.0.0.1:" + std::to_string(refusing.port()) + "/v1");
    const auto refused = in_url->list("", 10);
    REQUIRE_FALSE(refused);
    failures.push_back(*refused.failure);
    for (const auto& failure : failures) check_one_line_without_key(failure);
  }

  TEST_CASE("batch client: a download past max_download_bytes is cut and a permanent error") {
    MockProcess mock(fast_batches());
    BatchEndpoint endpoint;
    endpoint.base_url = mock.base_url();
    endpoint.max_download_bytes = 1000;
    auto client = hydrate::llm::make_batch_client(endpoint);
    const std::string file_id = value_of(client->upload("big.jsonl", input_file(3)));
    const auto download = client->content(file_id);
    REQUIRE_FALSE(download);
    CHECK(download.failure->error.kind == ErrorKind::permanent);
    CHECK(download.failure->error.message.find("1000 bytes") != std::string::npos);
  }
}
