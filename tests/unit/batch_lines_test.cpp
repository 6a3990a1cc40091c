// The Batch API's JSONL lines and objects (../shared/openai/BATCH.md, batch-api.yaml): request
// lines out, output and error lines in as online answers, Batch objects and lists read.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/llm/batch_client.hpp"
#include "core/llm/batch_objects.hpp"
#include "core/llm/chat_protocol.hpp"

namespace {

using hydrate::ErrorKind;
using hydrate::llm::BatchStatus;
using hydrate::llm::ChatOutcome;
using hydrate::llm::ChatRequest;
using hydrate::llm::interpret_response;
using hydrate::llm::parse_batch_line;
using nlohmann::json;

ChatRequest sample_request() {
  ChatRequest request;
  request.model = "gpt-4o-mini";
  request.messages = {{"system", "You write syllabi.\nAnswer in JSON."},
                      {"user", "Plan grade 1 maths: \"numbers\", shapes, ünits."}};
  request.max_tokens = 2000;
  request.schema_name = "syllabus";
  request.json_schema =
      R"({"type":"object","properties":{"chapters":{"type":"array","items":{"type":"string"}}},)"
      R"("required":["chapters"],"additionalProperties":false})";
  return request;
}

// An output line as OpenAI writes one (BATCH.md), around a real chat.completion.
const char* const kOutputLine =
    R"({"id":"batch_req_123abc","custom_id":"step-01J9-a2","response":{"status_code":200,)"
    R"("request_id":"req_6f1d","body":{"id":"chatcmpl-9","object":"chat.completion",)"
    R"("created":1711471533,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":)"
    R"("assistant","content":"{\"chapters\":[\"Numbers\"]}"},"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150}}},"error":null})";

}  // namespace

TEST_SUITE("batch lines") {
  TEST_CASE("a request line is one line of JSON around exactly build_chat_body's body") {
    const ChatRequest request = sample_request();
    const std::string line = hydrate::llm::batch_request_line("step-01J9-a2", request);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.find('\r') == std::string::npos);
    const json parsed = json::parse(line);  // throws, failing the case, when not JSON
    CHECK(parsed.size() == 4);
    CHECK(parsed["custom_id"] == "step-01J9-a2");
    CHECK(parsed["method"] == "POST");
    CHECK(parsed["url"] == "/v1/chat/completions");
    const std::string body = hydrate::llm::build_chat_body(request);
    CHECK(parsed["body"] == json::parse(body));
    // Byte for byte, so that what was estimated and checked is what is sent.
    CHECK(line.find(R"("body":)" + body + "}") != std::string::npos);
  }

  TEST_CASE("a custom_id with quotes and control characters stays one valid line") {
    const std::string line =
        hydrate::llm::batch_request_line("odd \"id\"\n\t\x01", sample_request());
    CHECK(line.find('\n') == std::string::npos);
    CHECK(json::parse(line)["custom_id"] == "odd \"id\"\n\t\x01");
  }

  TEST_CASE("an output line gives the response interpret_response reads as an online answer") {
    auto parsed = parse_batch_line(kOutputLine);
    REQUIRE(parsed.ok());
    CHECK(parsed->custom_id == "step-01J9-a2");
    CHECK(parsed->line_id == "batch_req_123abc");
    CHECK(parsed->status_code == 200);
    CHECK(parsed->response.status == 200);
    CHECK(parsed->error_code.empty());
    CHECK(parsed->error_message.empty());
    CHECK(json::parse(parsed->response.body)["object"] == "chat.completion");
    const auto result = interpret_response(parsed->response);
    CHECK(result.outcome == ChatOutcome::ok);
    CHECK(result.content == R"({"chapters":["Numbers"]})");
    CHECK(result.usage.prompt == 120);
    CHECK(result.usage.completion == 30);
    CHECK(result.request_id == "req_6f1d");
  }

  TEST_CASE("an expired line has no response, its error code and a one-line message") {
    auto parsed = parse_batch_line(
        R"({"id":"batch_req_9","custom_id":"step-7","response":null,"error":{"code":)"
        R"("batch_expired","message":"This request could not be executed\nbefore the )"
        R"(completion window expired."}})");
    REQUIRE(parsed.ok());
    CHECK(parsed->custom_id == "step-7");
    CHECK(parsed->status_code == 0);
    CHECK(parsed->error_code == "batch_expired");
    CHECK(parsed->error_message ==
          "This request could not be executed before the completion window expired.");
    // Never answered: the online reading is a request that got no HTTP answer, and says why.
    const auto result = interpret_response(parsed->response);
    CHECK(result.outcome == ChatOutcome::network_error);
    CHECK(result.error_message.find("batch_expired") != std::string::npos);
  }

  TEST_CASE("an error line with a 4xx response reads as the online client error") {
    auto parsed = parse_batch_line(
        R"({"id":"batch_req_4","custom_id":"step-8","response":{"status_code":400,)"
        R"("request_id":"req_77","body":{"error":{"message":"Invalid 'max_tokens': integer )"
        R"(below minimum value.","type":"invalid_request_error","param":"max_tokens",)"
        R"("code":"integer_below_min_value"}}},"error":null})");
    REQUIRE(parsed.ok());
    CHECK(parsed->status_code == 400);
    CHECK(parsed->error_code.empty());
    const auto result = interpret_response(parsed->response);
    CHECK(result.outcome == ChatOutcome::client_error);
    CHECK(result.error_code == "integer_below_min_value");
    CHECK(result.error_message.find("HTTP 400") == 0);
    CHECK(result.request_id == "req_77");
  }

  TEST_CASE("a 500 line reads as a server error, worth another try") {
    auto parsed = parse_batch_line(
        R"({"custom_id":"s","response":{"status_code":500,"body":{"error":{"message":"boom",)"
        R"("type":"server_error"}}}})");
    REQUIRE(parsed.ok());
    CHECK(parsed->line_id.empty());
    CHECK(interpret_response(parsed->response).outcome == ChatOutcome::server_error);
  }

  TEST_CASE("malformed lines are permanent errors that say what is wrong, in one line") {
    const std::string deep = std::string(100, '[') + std::string(100, ']');
    for (const std::string& line :
         {std::string("not json at all"), std::string("[1,2]"), std::string(""),
          std::string(R"({"response":{"status_code":200,"body":{}},"error":null})"),
          std::string(R"({"custom_id":"","response":{"status_code":200,"body":{}}})"),
          std::string(R"({"custom_id":42,"response":{"status_code":200,"body":{}}})"),
          std::string(R"({"custom_id":"a","response":null,"error":null})"),
          std::string(R"({"custom_id":"a"})"),
          std::string(R"({"custom_id":"a","response":{"status_code":"200","body":{}}})"),
          std::string(R"({"custom_id":"a","response":{"body":{}}})"),
          std::string(R"({"custom_id":"a","response":"200"})"),
          std::string(R"({"custom_id":"a","error":"expired"})"), deep,
          std::string("{\"custom_id\":\"a\"\n,\"error\":{\"code\":\"x\"}") /* cut short */}) {
      CAPTURE(line);
      auto parsed = parse_batch_line(line);
      REQUIRE_FALSE(parsed.ok());
      CHECK(parsed.error().kind == ErrorKind::permanent);
      CHECK(parsed.error().message.find("batch output line") == 0);
      CHECK(parsed.error().message.find('\n') == std::string::npos);
    }
    auto missing = parse_batch_line(R"({"response":{"status_code":200,"body":{}}})");
    CHECK(missing.error().message.find("custom_id") != std::string::npos);
  }

  TEST_CASE("statuses read back as they are written; four of them are final") {
    int finals = 0;
    for (BatchStatus status :
         {BatchStatus::validating, BatchStatus::failed, BatchStatus::in_progress,
          BatchStatus::finalizing, BatchStatus::completed, BatchStatus::expired,
          BatchStatus::cancelling, BatchStatus::cancelled}) {
      CAPTURE(to_string(status));
      CHECK(hydrate::llm::parse_batch_status(to_string(status)) == status);
      finals += hydrate::llm::is_final(status) ? 1 : 0;
    }
    CHECK(finals == 4);
    CHECK_FALSE(hydrate::llm::is_final(BatchStatus::cancelling));
    CHECK_FALSE(hydrate::llm::parse_batch_status("done").has_value());
    CHECK_FALSE(hydrate::llm::parse_batch_status("").has_value());
  }
}

TEST_SUITE("batch objects") {
  TEST_CASE("a failed Batch object gives its counts, errors and metadata") {
    auto batch = hydrate::llm::parse_batch_object(
        R"({"id":"batch_abc","object":"batch","endpoint":"/v1/chat/completions","errors":)"
        R"({"object":"list","data":[{"code":"invalid_json_line","message":"This line is not\n)"
        R"(parseable.","param":null,"line":3},{"code":"token_limit_exceeded","message":"Limit",)"
        R"("param":null,"line":null}]},"input_file_id":"file-in","completion_window":"24h",)"
        R"("status":"failed","output_file_id":null,"error_file_id":null,"created_at":1711471533,)"
        R"("request_counts":{"total":0,"completed":0,"failed":0},"metadata":{"hydrate_run":"r1"}})");
    REQUIRE(batch.ok());
    CHECK(batch->id == "batch_abc");
    CHECK(batch->status == BatchStatus::failed);
    CHECK(batch->input_file_id == "file-in");
    CHECK(batch->output_file_id.empty());
    CHECK(batch->created_at == 1711471533);
    REQUIRE(batch->errors.size() == 2);
    CHECK(batch->errors[0].code == "invalid_json_line");
    CHECK(batch->errors[0].message == "This line is not parseable.");
    CHECK(batch->errors[0].line == 3);
    CHECK_FALSE(batch->errors[1].line.has_value());
    REQUIRE(batch->metadata.size() == 1);
    CHECK(batch->metadata[0] == std::pair<std::string, std::string>("hydrate_run", "r1"));
  }

  TEST_CASE("a completed Batch object gives its files and counts") {
    auto batch = hydrate::llm::parse_batch_object(
        R"({"id":"batch_1","object":"batch","status":"completed","input_file_id":"file-a",)"
        R"("output_file_id":"file-o","error_file_id":"file-e","errors":null,"metadata":null,)"
        R"("request_counts":{"total":100,"completed":95,"failed":5}})");
    REQUIRE(batch.ok());
    CHECK(batch->output_file_id == "file-o");
    CHECK(batch->error_file_id == "file-e");
    CHECK(batch->total == 100);
    CHECK(batch->completed == 95);
    CHECK(batch->failed == 5);
    CHECK(batch->errors.empty());
    CHECK(batch->metadata.empty());
  }

  TEST_CASE("a body that is not a Batch object is a permanent error") {
    for (const char* body :
         {"", "<html>busy</html>", "[]", R"({"object":"file","id":"file-1","status":"processed"})",
          R"({"object":"batch","status":"completed"})",
          R"({"object":"batch","id":"batch_1","status":"finished"})"}) {
      CAPTURE(body);
      auto batch = hydrate::llm::parse_batch_object(body);
      REQUIRE_FALSE(batch.ok());
      CHECK(batch.error().kind == ErrorKind::permanent);
    }
  }

  TEST_CASE("a list page gives its batches, has_more and the next page's after") {
    auto page = hydrate::llm::parse_batch_list(
        R"({"object":"list","data":[{"id":"batch_2","object":"batch","status":"in_progress"},)"
        R"({"id":"batch_1","object":"batch","status":"validating"}],"first_id":"batch_2",)"
        R"("last_id":null,"has_more":true})");
    REQUIRE(page.ok());
    REQUIRE(page->batches.size() == 2);
    CHECK(page->batches[0].status == BatchStatus::in_progress);
    CHECK(page->has_more);
    CHECK(page->last_id == "batch_1");  // from the data when the server leaves it null
    auto empty = hydrate::llm::parse_batch_list(R"({"object":"list","data":[],"has_more":false})");
    REQUIRE(empty.ok());
    CHECK(empty->batches.empty());
    CHECK_FALSE(empty->has_more);
    CHECK_FALSE(hydrate::llm::parse_batch_list(R"({"object":"list"})").ok());
    CHECK_FALSE(hydrate::llm::parse_batch_list(R"({"object":"list","data":[{"id":"x"}]})").ok());
  }

  TEST_CASE("file objects give their id and a deletion its flag") {
    auto id = hydrate::llm::parse_file_id(
        R"({"id":"file-abc","object":"file","bytes":120,"filename":"in.jsonl","purpose":"batch"})");
    REQUIRE(id.ok());
    CHECK(*id == "file-abc");
    CHECK_FALSE(hydrate::llm::parse_file_id(R"({"object":"file"})").ok());
    auto deleted =
        hydrate::llm::parse_file_deleted(R"({"id":"file-abc","object":"file","deleted":true})");
    REQUIRE(deleted.ok());
    CHECK(*deleted);
    CHECK_FALSE(hydrate::llm::parse_file_deleted(R"({"id":"file-abc","object":"file"})").ok());
  }
}
