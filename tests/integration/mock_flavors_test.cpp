// The local endpoint's --flavor: each server's documented differences in routes, errors, headers,
// usage, accepted parameters and schema dialect, as a client meets them over loopback.
#include <doctest/doctest.h>
#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/integration/mock_requests.hpp"
#include "tests/support/mock_process.hpp"

namespace {

using hydrate::testing::MockProcess;
using namespace hydrate::testing::mock_requests;
using Clock = std::chrono::steady_clock;

const char* kAzurePath = "/openai/deployments/gpt4o-prod/chat/completions";

httplib::Result post_azure(httplib::Client& client, const std::string& path, const Json& body,
                           const httplib::Headers& headers) {
  return client.Post(path, headers, body.dump(), "application/json");
}

Json without_model(Json body) {
  body.erase("model");
  return body;
}

// A note-like schema whose every string is bounded, as a grammar then clips it.
Json bounded_request() {
  Json body = chapters_request(kPrompt);
  Json& chapter = body["response_format"]["json_schema"]["schema"]["properties"]["chapters"];
  chapter["items"]["properties"]["title"]["maxLength"] = 20;
  chapter["items"]["properties"]["summary"]["maxLength"] = 40;
  return body;
}

}  // namespace

TEST_CASE("mock-llm: openai reasoning models refuse max_tokens and temperature, bill reasoning") {
  MockProcess mock;
  auto client = client_for(mock);
  Json body = chapters_request(kPrompt);
  body["model"] = "o3-mini";
  auto legacy = post_chat(client, body);
  REQUIRE(legacy);
  CHECK(legacy->status == 400);
  const Json unsupported = Json::parse(legacy->body)["error"];
  CHECK(unsupported["code"] == "unsupported_parameter");
  CHECK(unsupported["param"] == "max_tokens");
  CHECK(unsupported["message"] ==
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
        "'max_completion_tokens' instead.");

  body.erase("max_tokens");
  body["max_completion_tokens"] = 8000;
  body["temperature"] = 0.2;
  auto warm = post_chat(client, body);
  REQUIRE(warm);
  CHECK(warm->status == 400);
  const Json value = Json::parse(warm->body)["error"];
  CHECK(value["code"] == "unsupported_value");
  CHECK(value["param"] == "temperature");
  CHECK(value["message"].get<std::string>().find("Only the default (1) value is supported") !=
        std::string::npos);

  body["temperature"] = 1;
  auto first = post_chat(client, body);
  auto second = post_chat(client, body);
  REQUIRE(first);
  REQUIRE(second);
  REQUIRE(first->status == 200);
  const Json completion = Json::parse(first->body);
  const Json& usage = completion["usage"];
  const std::int64_t reasoning = usage["completion_tokens_details"]["reasoning_tokens"];
  CHECK(reasoning >= 64);
  CHECK(reasoning <= 512);
  const std::string content = completion["choices"][0]["message"]["content"];
  CHECK(usage["completion_tokens"] == ceil_quarter(code_points(content)) + reasoning);
  CHECK(Json::parse(second->body)["usage"] == usage);  // deterministic
  CHECK(Json::parse(content).contains("chapters"));

  // Reasoning spends the same budget: a small one leaves little or nothing to say.
  body["max_completion_tokens"] = 100;
  auto tight = post_chat(client, body);
  REQUIRE(tight);
  const Json cut = Json::parse(tight->body);
  CHECK(cut["choices"][0]["finish_reason"] == "length");
  CHECK(cut["usage"]["completion_tokens"] == 100);

  // Other models take both parameters, and think nothing.
  Json plain = chapters_request(kPrompt);
  plain["temperature"] = 0.2;
  auto ordinary = post_chat(client, plain);
  REQUIRE(ordinary);
  CHECK(ordinary->status == 200);
  CHECK(Json::parse(ordinary->body)["usage"]["completion_tokens_details"]["reasoning_tokens"] == 0);
}

TEST_CASE("mock-llm: --flavor azure serves deployments with api-version and api-key, its way") {
  MockProcess mock(
      {"--flavor", "azure", "--api-key", "azure-key-0123456789", "--deployments", "gpt4o-prod"});
  auto client = client_for(mock);
  const httplib::Headers key = {{"api-key", "azure-key-0123456789"}};
  const Json body = without_model(chapters_request(kPrompt));
  const std::string path = std::string(kAzurePath) + "?api-version=2024-10-21";

  auto no_version = post_azure(client, kAzurePath, body, key);
  REQUIRE(no_version);
  CHECK(no_version->status == 404);
  CHECK(Json::parse(no_version->body) ==
        Json{{"error", {{"code", "404"}, {"message", "Resource not found"}}}});
  auto bad_version =
      post_azure(client, std::string(kAzurePath) + "?api-version=2099-01-01", body, key);
  REQUIRE(bad_version);
  CHECK(bad_version->status == 400);
  CHECK(Json::parse(bad_version->body) ==
        Json{{"error", {{"code", "BadRequest"}, {"message", "API version not supported"}}}});
  for (const httplib::Headers& wrong :
       {httplib::Headers{}, httplib::Headers{{"Authorization", "Bearer azure-key-0123456789"}},
        httplib::Headers{{"api-key", "azure-key-wrong"}}}) {
    auto refused = post_azure(client, path, body, wrong);
    REQUIRE(refused);
    CHECK(refused->status == 401);
    CHECK(Json::parse(refused->body)["error"]["code"] == "401");
  }
  auto unknown = post_azure(
      client, "/openai/deployments/nope/chat/completions?api-version=2024-10-21", body, key);
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  CHECK(Json::parse(unknown->body)["error"]["code"] == "DeploymentNotFound");
  auto openai_path = post_chat(client, chapters_request(kPrompt), key);
  REQUIRE(openai_path);
  CHECK(openai_path->status == 404);
  CHECK(Json::parse(openai_path->body)["error"]["message"] == "Resource not found");

  // The body needs no model: the deployment is the model. Azure's own headers come back.
  auto served = post_azure(client, path, body, key);
  REQUIRE(served);
  REQUIRE(served->status == 200);
  CHECK(Json::parse(served->body)["model"] == "gpt4o-prod");
  CHECK(served->has_header("apim-request-id"));
  CHECK(header_number(served, "x-ratelimit-remaining-requests") >= 0);
  CHECK(header_number(served, "x-ratelimit-remaining-tokens") >= 0);
  CHECK_FALSE(served->has_header("x-ratelimit-limit-requests"));

  // Request errors pass through in OpenAI's shape; what an api-version lacks is refused.
  Json no_messages = body;
  no_messages.erase("messages");
  auto missing = post_azure(client, path, no_messages, key);
  REQUIRE(missing);
  CHECK(missing->status == 400);
  CHECK(Json::parse(missing->body)["error"]["param"] == "messages");
  auto old_version =
      post_azure(client, std::string(kAzurePath) + "?api-version=2024-06-01", body, key);
  REQUIRE(old_version);
  CHECK(old_version->status == 400);
  CHECK(Json::parse(old_version->body)["error"]["param"] == "response_format");
  Json reasoning = body;
  reasoning["model"] = "o3-mini";
  auto early = post_azure(client, path, reasoning, key);
  REQUIRE(early);
  CHECK(early->status == 400);
  CHECK(Json::parse(early->body)["error"]["message"].get<std::string>().find(
            "enabled only for api versions 2024-12-01-preview and later") != std::string::npos);
}

TEST_CASE("mock-llm: azure enforces its RPM and answers its own 429") {
  // At 6 RPM Azure admits one request per 10 s; at 1 RPM one per minute (a wide margin).
  MockProcess mock({"--flavor", "azure", "--rpm", "1"});
  auto client = client_for(mock);
  const std::string path = std::string(kAzurePath) + "?api-version=2024-10-21";
  const Json body = without_model(chapters_request(kPrompt));
  auto first = post_azure(client, path, body, {});
  REQUIRE(first);
  CHECK(first->status == 200);
  CHECK(header_number(first, "x-ratelimit-remaining-requests") == 0);
  auto second = post_azure(client, path, body, {});
  REQUIRE(second);
  REQUIRE(second->status == 429);
  const Json error = Json::parse(second->body)["error"];
  CHECK(error["code"] == "429");
  CHECK(error["message"].get<std::string>().find(
            "under Azure OpenAI API version 2024-10-21 have exceeded call rate limit") !=
        std::string::npos);
  CHECK(header_number(second, "retry-after-ms") > 0);
  CHECK(header_number(second, "retry-after-ms") <= 60000);
  CHECK(header_number(second, "retry-after") >= 1);

  // An injected rate limit is Azure's 429 too; its quota error stays OpenAI's insufficient_quota.
  MockProcess faulty({"--flavor", "azure", "--rate-429", "1"});
  auto faulty_client = client_for(faulty);
  auto injected = post_azure(faulty_client, path, body, {});
  REQUIRE(injected);
  CHECK(injected->status == 429);
  CHECK(Json::parse(injected->body)["error"]["code"] == "429");
  CHECK(injected->has_header("retry-after-ms"));
  MockProcess dry({"--flavor", "azure", "--quota-after", "0"});
  auto dry_client = client_for(dry);
  auto quota = post_azure(dry_client, path, body, {});
  REQUIRE(quota);
  CHECK(quota->status == 429);
  CHECK(Json::parse(quota->body)["error"]["code"] == "insufficient_quota");
}

TEST_CASE("mock-llm: --flavor llamacpp: its errors, 503 while loading, no limit headers") {
  {
    MockProcess loading({"--flavor", "llamacpp", "--loading-ms", "600000"});
    auto client = client_for(loading);
    const Json expected = {
        {"error", {{"code", 503}, {"message", "Loading model"}, {"type", "unavailable_error"}}}};
    auto health = client.Get("/health");
    REQUIRE(health);
    CHECK(health->status == 503);
    CHECK(Json::parse(health->body) == expected);
    auto chat = post_chat(client, chapters_request(kPrompt));
    REQUIRE(chat);
    CHECK(chat->status == 503);
    CHECK(Json::parse(chat->body) == expected);
    CHECK(Json::parse(client.Get("/stats")->body)["requests"]["loading"] == 1);
  }
  MockProcess mock({"--flavor", "llamacpp", "--loading-ms", "1000"});
  auto client = client_for(mock);
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  int health_status = 0;
  while (Clock::now() < deadline && health_status != 200) {
    auto health = client.Get("/health");
    health_status = health ? health->status : 0;
    if (health_status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(health_status == 200);
  auto bad = client.Post("/v1/chat/completions", "{not json", "application/json");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  const Json error = Json::parse(bad->body)["error"];
  CHECK(error["code"] == 400);  // an integer, not OpenAI's string
  CHECK(error["type"] == "invalid_request_error");
  auto answered = post_chat(client, bounded_request());
  REQUIRE(answered);
  REQUIRE(answered->status == 200);
  CHECK_FALSE(answered->has_header("x-ratelimit-remaining-requests"));
  CHECK_FALSE(answered->has_header("x-request-id"));
  const Json completion = Json::parse(answered->body);
  CHECK_FALSE(completion["usage"].contains("completion_tokens_details"));
  // Where the schema bounds a string the grammar clips it, and nothing runs away.
  CHECK(completion["choices"][0]["finish_reason"] == "stop");
  for (const auto& chapter : content_of(completion)["chapters"]) {
    CHECK(code_points(chapter["title"].get<std::string>()) <= 20);
    CHECK(code_points(chapter["summary"].get<std::string>()) <= 40);
  }
}

TEST_CASE("mock-llm: grammar flavors let an unbounded string run away to max_tokens") {
  for (const char* flavor : {"llamacpp", "vllm"}) {
    CAPTURE(flavor);
    MockProcess mock({"--flavor", flavor});
    auto client = client_for(mock);
    Json body = chapters_request(kPrompt);
    body["max_tokens"] = 300;
    auto result = post_chat(client, body);
    REQUIRE(result);
    REQUIRE(result->status == 200);
    const Json completion = Json::parse(result->body);
    CHECK(completion["choices"][0]["finish_reason"] == "length");
    CHECK(completion["usage"]["completion_tokens"] == 300);
    const std::string content = completion["choices"][0]["message"]["content"];
    CHECK(Json::parse(content, nullptr, false).is_discarded());
    CHECK(result->get_header_value("x-mock-fault").rfind("runaway: chapters[0].", 0) == 0);
    // Structured outputs' strict subset is OpenAI's: a grammar takes any schema.
    Json loose = chapters_request(kPrompt);
    loose["response_format"]["json_schema"]["schema"].erase("additionalProperties");
    auto accepted = post_chat(client, loose);
    REQUIRE(accepted);
    CHECK(accepted->status == 200);
    CHECK(Json::parse(client.Get("/stats")->body)["requests"]["byFault"]["runaway"] == 2);
  }
  MockProcess calm({"--flavor", "llamacpp", "--rate-runaway", "0"});
  auto client = client_for(calm);
  auto result = post_chat(client, chapters_request(kPrompt));
  REQUIRE(result);
  CHECK(Json::parse(result->body)["choices"][0]["finish_reason"] == "stop");
  MockProcess openai;  // OpenAI's structured outputs never run away, and refuse a loose schema
  auto openai_client = client_for(openai);
  Json loose = chapters_request(kPrompt);
  loose["response_format"]["json_schema"]["schema"].erase("additionalProperties");
  auto refused = post_chat(openai_client, loose);
  REQUIRE(refused);
  CHECK(refused->status == 400);
}

TEST_CASE("mock-llm: --flavor vllm answers in vLLM's error shape") {
  MockProcess mock({"--flavor", "vllm", "--api-key", "vllm-key-0123456789"});
  auto client = client_for(mock);
  const httplib::Headers key = {{"Authorization", "Bearer vllm-key-0123456789"}};
  auto bad = client.Post("/v1/chat/completions", key, "{not json", "application/json");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  const Json error = Json::parse(bad->body);
  CHECK(error["object"] == "error");
  CHECK(error["type"] == "BadRequestError");
  CHECK(error["code"] == 400);
  CHECK(error["param"].is_null());
  CHECK(error["message"].is_string());
  auto anonymous = post_chat(client, chapters_request(kPrompt));
  REQUIRE(anonymous);
  CHECK(anonymous->status == 401);
  CHECK(Json::parse(anonymous->body) == Json{{"error", "Unauthorized"}});
}

TEST_CASE("mock-llm: --flavor ollama omits usage, refuses json_schema, reads only max_tokens") {
  MockProcess mock({"--flavor", "ollama"});
  auto client = client_for(mock);
  auto refused = post_chat(client, chapters_request(kPrompt));
  REQUIRE(refused);
  CHECK(refused->status == 400);
  const Json error = Json::parse(refused->body)["error"];
  CHECK(error["type"] == "invalid_request_error");
  CHECK(error["code"].is_null());
  CHECK(error["message"].get<std::string>().find("'json_schema'") != std::string::npos);

  Json json_mode = chapters_request(kPrompt);
  json_mode["response_format"] = {{"type", "json_object"}};
  auto answered = post_chat(client, json_mode);
  REQUIRE(answered);
  REQUIRE(answered->status == 200);
  CHECK_FALSE(Json::parse(answered->body).contains("usage"));

  // Ollama's OpenAI layer takes max_tokens; max_completion_tokens is not among its fields.
  json_mode.erase("max_tokens");
  json_mode["max_completion_tokens"] = 5;
  auto ignored = post_chat(client, json_mode);
  REQUIRE(ignored);
  CHECK(Json::parse(ignored->body)["choices"][0]["finish_reason"] == "stop");
  json_mode.erase("max_completion_tokens");
  json_mode["max_tokens"] = 5;
  auto cut = post_chat(client, json_mode);
  REQUIRE(cut);
  CHECK(Json::parse(cut->body)["choices"][0]["finish_reason"] == "length");

  MockProcess reporting(
      {"--flavor", "ollama", "--usage", "report", "--response-formats", "json_schema,json_object"});
  auto reporting_client = client_for(reporting);
  auto structured = post_chat(reporting_client, chapters_request(kPrompt));
  REQUIRE(structured);
  CHECK(structured->status == 200);
  CHECK(Json::parse(structured->body)["usage"]["prompt_tokens"].is_number_integer());
}

TEST_CASE("mock-llm: --response-formats refuses the others, naming response_format") {
  MockProcess mock({"--response-formats", "json_object,text"});
  auto client = client_for(mock);
  auto refused = post_chat(client, chapters_request(kPrompt));
  REQUIRE(refused);
  CHECK(refused->status == 400);
  const Json error = Json::parse(refused->body)["error"];
  CHECK(error["param"] == "response_format.type");
  CHECK(error["code"] == "invalid_value");
  CHECK(error["message"] ==
        "Invalid value: 'json_schema'. Supported values are: 'json_object' and 'text'.");
  // The client's fallback: the schema spelled out in the prompt, no response_format, is followed.
  Json fallback = chapters_request(
      std::string(kPrompt) + " Answer with JSON that follows this JSON schema: " +
      chapters_request(kPrompt)["response_format"]["json_schema"]["schema"].dump());
  fallback.erase("response_format");
  auto followed = post_chat(client, fallback);
  REQUIRE(followed);
  REQUIRE(followed->status == 200);
  CHECK(content_of(Json::parse(followed->body))["chapters"].size() >= kMinChapters);
}

TEST_CASE("mock-llm: flavor flags are checked") {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--flavor", "bedrock"},
                                                                {"--response-formats", "xml"},
                                                                {"--rpm", "0"},
                                                                {"--usage", "sometimes"},
                                                                {"--rate-runaway", "2"}}) {
    CAPTURE(args[0]);
    const auto ended = MockProcess::run_to_exit(args);
    CHECK(ended.exit_code == 2);
    CHECK(std::count(ended.stderr_text.begin(), ended.stderr_text.end(), '\n') == 1);
  }
}
