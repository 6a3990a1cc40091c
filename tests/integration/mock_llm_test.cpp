// The local endpoint (hydrate-mock-llm) as its clients see it: the real binary, started through
// MockProcess, spoken to over loopback with cpp-httplib.
#include <doctest/doctest.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/mock_requests.hpp"
#include "tests/support/mock_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using hydrate::testing::MockProcess;
using hydrate::testing::TempDir;
using Json = nlohmann::json;
using namespace hydrate::testing::mock_requests;
using Clock = std::chrono::steady_clock;

// The schema rules a chapters answer must keep; empty when it keeps them all.
std::string chapters_problem(const Json& answer) {
  if (!answer.is_object() || !answer.contains("chapters")) return "no chapters";
  const Json& chapters = answer["chapters"];
  if (!chapters.is_array()) return "chapters is not an array";
  if (chapters.size() < kMinChapters || chapters.size() > kMaxChapters) return "count";
  std::set<std::string> titles;
  for (const auto& chapter : chapters) {
    for (const char* key : {"position", "title", "summary"}) {
      if (!chapter.contains(key)) return std::string("missing ") + key;
    }
    if (chapter.size() != 3) return "extra property";
    if (!chapter["title"].is_string() || chapter["title"] == "") return "empty title";
    if (!chapter["summary"].is_string() || chapter["summary"] == "") return "empty summary";
    if (!titles.insert(chapter["title"].get<std::string>()).second) return "duplicate title";
  }
  return "";
}

}  // namespace

TEST_CASE("mock-llm: /health answers ok and unknown paths get an OpenAI-style 404") {
  MockProcess mock;
  auto client = client_for(mock);
  auto health = client.Get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(Json::parse(health->body) == Json{{"status", "ok"}});
  auto missing = client.Get("/v1/nothing-here");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  CHECK(Json::parse(missing->body)["error"]["type"] == "invalid_request_error");
  auto models = client.Get("/v1/models");
  REQUIRE(models);
  CHECK(Json::parse(models->body)["object"] == "list");
}

TEST_CASE("mock-llm: a json_schema request gets a chat.completion whose content keeps the schema") {
  MockProcess mock;
  auto client = client_for(mock);
  auto result = post_chat(client, chapters_request(kPrompt));
  REQUIRE(result);
  REQUIRE(result->status == 200);
  CHECK(result->get_header_value("Content-Type") == "application/json");
  CHECK(result->has_header("x-request-id"));
  CHECK(result->has_header("openai-processing-ms"));
  const Json completion = Json::parse(result->body);
  CHECK(completion["id"].get<std::string>().rfind("chatcmpl-", 0) == 0);
  CHECK(completion["object"] == "chat.completion");
  CHECK(completion["model"] == "gpt-4o-mini");
  CHECK(completion["choices"][0]["message"]["role"] == "assistant");
  CHECK(completion["choices"][0]["message"]["refusal"].is_null());
  CHECK(completion["choices"][0]["finish_reason"] == "stop");
  CHECK(completion["usage"]["prompt_tokens_details"]["cached_tokens"] == 0);
  CHECK(completion["usage"]["completion_tokens_details"]["reasoning_tokens"] == 0);
  const Json answer = content_of(completion);
  CHECK(chapters_problem(answer) == "");
  for (std::size_t i = 0; i < answer["chapters"].size(); ++i) {
    CHECK(answer["chapters"][i]["position"] == i + 1);
  }
}

TEST_CASE("mock-llm: the same body gives the same content; prompts vary the array size") {
  MockProcess mock({"--seed", "42"});
  auto client = client_for(mock);
  const Json body = chapters_request(kPrompt);
  auto first = post_chat(client, body);
  auto second = post_chat(client, body);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(content_of(Json::parse(first->body)) == content_of(Json::parse(second->body)));

  std::set<std::size_t> counts;
  for (const char* subject : {"Mathematics", "History", "Geography", "Biology", "Chemistry",
                              "Physics", "Economics", "Civics"}) {
    auto result = post_chat(
        client, chapters_request(std::string("List the chapters of ") + subject + " for grade 9."));
    REQUIRE(result);
    REQUIRE(result->status == 200);
    const Json answer = content_of(Json::parse(result->body));
    CHECK(chapters_problem(answer) == "");
    counts.insert(answer["chapters"].size());
  }
  CHECK(counts.size() > 1);
}

TEST_CASE("mock-llm: usage follows the token formula and max_tokens cuts the answer") {
  MockProcess mock;
  auto client = client_for(mock);
  Json body = chapters_request(std::string(kPrompt) + " Élève, café, naïve.");
  std::size_t prompt_chars = 0;
  for (const auto& message : body["messages"]) {
    prompt_chars += code_points(message["content"].get<std::string>());
  }
  const std::int64_t prompt_tokens = ceil_quarter(prompt_chars) + 4 * 2;

  auto result = post_chat(client, body);
  REQUIRE(result);
  const Json completion = Json::parse(result->body);
  const std::string content = completion["choices"][0]["message"]["content"];
  CHECK(completion["usage"]["prompt_tokens"] == prompt_tokens);
  CHECK(completion["usage"]["completion_tokens"] == ceil_quarter(code_points(content)));
  CHECK(completion["usage"]["total_tokens"] ==
        prompt_tokens + completion["usage"]["completion_tokens"].get<std::int64_t>());

  body["max_tokens"] = 25;
  auto cut = post_chat(client, body);
  REQUIRE(cut);
  const Json cut_completion = Json::parse(cut->body);
  CHECK(cut_completion["choices"][0]["finish_reason"] == "length");
  CHECK(cut_completion["usage"]["completion_tokens"] == 25);
  const std::string cut_content = cut_completion["choices"][0]["message"]["content"];
  CHECK(content.rfind(cut_content, 0) == 0);
}

TEST_CASE("mock-llm: notes are markdown of 120-400 words; an answer is one of its options") {
  MockProcess mock;
  auto client = client_for(mock);
  const Json question = {
      {"type", "object"},
      {"additionalProperties", false},
      {"required", {"prompt", "options", "answer"}},
      {"properties",
       {{"prompt", {{"type", "string"}}},
        {"options",
         {{"type", "array"}, {"items", {{"type", "string"}}}, {"minItems", 4}, {"maxItems", 4}}},
        {"answer", {{"type", "string"}}}}}};
  const Json schema = {{"type", "object"},
                       {"additionalProperties", false},
                       {"required", {"markdown", "questions"}},
                       {"properties",
                        {{"markdown", {{"type", "string"}}},
                         {"questions", {{"type", "array"}, {"items", question}}}}}};
  std::set<std::size_t> lengths;
  for (const char* topic : {"photosynthesis", "fractions", "the water cycle", "magnetism"}) {
    Json body = chapters_request(std::string("Write a note and questions on ") + topic + ".");
    body["response_format"]["json_schema"] = {
        {"name", "note"}, {"strict", true}, {"schema", schema}};
    auto result = post_chat(client, body);
    REQUIRE(result);
    REQUIRE(result->status == 200);
    const Json answer = content_of(Json::parse(result->body));
    const std::string markdown = answer["markdown"];
    CHECK(markdown.rfind("# ", 0) == 0);
    CHECK(markdown.find("\n- ") != std::string::npos);
    std::istringstream words(markdown);
    std::size_t count = 0;
    for (std::string word; words >> word;) {
      if (word.find_first_not_of("#-*") != std::string::npos) ++count;
    }
    CHECK(count >= 120);
    CHECK(count <= 400);
    lengths.insert(count);
    for (const auto& item : answer["questions"]) {
      const Json& options = item["options"];
      CHECK(std::set<Json>(options.begin(), options.end()).size() == options.size());
      CHECK(std::find(options.begin(), options.end(), item["answer"]) != options.end());
    }
  }
  CHECK(lengths.size() > 1);
}

TEST_CASE("mock-llm: without a json_schema, JSON when the prompt asks for it, prose otherwise") {
  MockProcess mock;
  auto client = client_for(mock);
  Json body = chapters_request("Summarise the water cycle. Reply in JSON.");
  body["response_format"] = {{"type", "json_object"}};
  auto json_answer = post_chat(client, body);
  REQUIRE(json_answer);
  REQUIRE(json_answer->status == 200);
  CHECK(content_of(Json::parse(json_answer->body)).is_object());

  body = chapters_request("Summarise the water cycle.");
  body.erase("response_format");
  body["messages"].erase(0);  // the system message mentions JSON
  auto prose = post_chat(client, body);
  REQUIRE(prose);
  REQUIRE(prose->status == 200);
  const std::string text = Json::parse(prose->body)["choices"][0]["message"]["content"];
  CHECK_FALSE(text.empty());
  CHECK(Json::parse(text, nullptr, false).is_discarded());

  body["response_format"] = {{"type", "json_object"}};  // OpenAI refuses: no "json" in messages
  auto refused = post_chat(client, body);
  REQUIRE(refused);
  CHECK(refused->status == 400);
}

TEST_CASE("mock-llm: --rate-429 1 answers 429 with retry-after headers") {
  MockProcess mock({"--rate-429", "1"});
  auto client = client_for(mock);
  auto result = post_chat(client, chapters_request(kPrompt));
  REQUIRE(result);
  CHECK(result->status == 429);
  CHECK(result->get_header_value("retry-after") == "1");
  const int retry_ms = std::stoi(result->get_header_value("retry-after-ms"));
  CHECK(retry_ms >= 50);
  CHECK(retry_ms <= 200);
  const Json error = Json::parse(result->body)["error"];
  CHECK(error["type"] == "requests");
  CHECK(error["code"] == "rate_limit_exceeded");
  CHECK(error["param"].is_null());
}

TEST_CASE("mock-llm: --rate-truncated 1 cuts the JSON and says finish_reason length") {
  MockProcess mock({"--rate-truncated", "1"});
  auto client = client_for(mock);
  auto result = post_chat(client, chapters_request(kPrompt));
  REQUIRE(result);
  REQUIRE(result->status == 200);
  const Json completion = Json::parse(result->body);
  CHECK(completion["choices"][0]["finish_reason"] == "length");
  const std::string content = completion["choices"][0]["message"]["content"];
  CHECK_FALSE(content.empty());
  CHECK(Json::parse(content, nullptr, false).is_discarded());
  CHECK(completion["usage"]["completion_tokens"] == ceil_quarter(code_points(content)));
}

TEST_CASE("mock-llm: --rate-invalid 1 answers JSON that breaks the schema") {
  MockProcess mock({"--rate-invalid", "1"});
  auto client = client_for(mock);
  std::set<std::string> problems;
  for (int i = 0; i < 8; ++i) {
    auto result = post_chat(
        client, chapters_request(std::string(kPrompt) + " Variant " + std::to_string(i) + "."));
    REQUIRE(result);
    REQUIRE(result->status == 200);
    const Json completion = Json::parse(result->body);
    CHECK(completion["choices"][0]["finish_reason"] == "stop");
    const Json answer = content_of(completion);  // still well-formed JSON
    const std::string problem = chapters_problem(answer);
    CHECK_MESSAGE(problem != "", answer.dump());
    problems.insert(problem);
  }
  CHECK(problems.size() > 1);  // the kind of breach varies
}

TEST_CASE("mock-llm: --rate-hostile 1 sends each --hostile-kinds as documented") {
  const auto has_control = [](const std::string& text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c < 0x20 || c == 0x7f) return true;
      if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xA0) {
        return true;
      }
    }
    return false;
  };
  for (const char* name :
       {"huge", "nested", "non-utf8", "control", "fenced", "injection", "number"}) {
    const std::string kind = name;
    CAPTURE(kind);
    MockProcess mock({"--rate-hostile", "1", "--hostile-kinds", kind, "--seed", "5"});
    auto client = client_for(mock);
    constexpr int kRequests = 4;
    for (int i = 0; i < kRequests; ++i) {
      auto result = post_chat(
          client, chapters_request(std::string(kPrompt) + " Variant " + std::to_string(i) + "."));
      REQUIRE(result);
      CHECK(result->status == 200);
      CHECK(result->get_header_value("x-mock-fault").rfind("hostile: " + kind.substr(0, 4), 0) ==
            0);
      const Json body = Json::parse(result->body, nullptr, false);
      if (kind == "huge") {
        CHECK(result->body.size() > (std::size_t{2} << 20));
        REQUIRE_FALSE(body.is_discarded());
        CHECK(chapters_problem(content_of(body)) != "");  // not an answer, should it get through
      } else if (kind == "nested") {
        const bool whole_body = result->body.rfind("[[[[", 0) == 0;
        const bool content = !whole_body && !body.is_discarded() &&
                             body["choices"][0]["message"]["content"].get<std::string>().find(
                                 std::string(1000, '[')) != std::string::npos;
        CHECK((whole_body || content));
      } else if (kind == "non-utf8") {
        CHECK(body.is_discarded());  // no JSON parser accepts it
      } else {
        REQUIRE_FALSE(body.is_discarded());
        const std::string text = body["choices"][0]["message"]["content"].get<std::string>();
        if (kind == "control") {
          // Inside the answer's JSON, as the \u escape a model writes (or raw, for C1).
          std::function<bool(const Json&)> holds_control = [&](const Json& value) {
            if (value.is_string()) return has_control(value.get<std::string>());
            if (!value.is_structured()) return false;
            return std::any_of(value.begin(), value.end(), holds_control);
          };
          CHECK(holds_control(Json::parse(text)));
        } else if (kind == "number") {
          CHECK(text.find("\"confidence\": 1e400}") != std::string::npos);
          CHECK(Json::parse(text, nullptr, false).is_discarded());
        } else if (kind == "fenced") {
          REQUIRE(text.rfind("```json\n", 0) == 0);
          REQUIRE(text.size() > 12);
          CHECK(text.substr(text.size() - 4) == "\n```");
          CHECK(chapters_problem(Json::parse(text.substr(8, text.size() - 12))) == "");
        } else {
          CHECK(chapters_problem(Json::parse(text)) == "");  // still a valid answer
          const bool injected = text.find("PWNED") != std::string::npos ||
                                text.find("<|im_start|>system") != std::string::npos ||
                                text.find("[INST]") != std::string::npos ||
                                text.find("### System:") != std::string::npos;
          CHECK(injected);
        }
      }
    }
    httplib::Client stats_client = client_for(mock);
    auto stats = stats_client.Get("/stats");
    REQUIRE(stats);
    const Json counts = Json::parse(stats->body)["requests"];
    CHECK(counts["byHostile"][kind] == kRequests);
    CHECK(counts["byFault"]["hostile"] == kRequests);
  }
  // An unknown kind is a usage error.
  const auto refused =
      MockProcess::run_to_exit({"--rate-hostile", "1", "--hostile-kinds", "huge,bogus"});
  CHECK(refused.exit_code == 2);
  CHECK(refused.stderr_text.find("unknown hostile kind 'bogus'") != std::string::npos);
}

TEST_CASE("mock-llm: --api-key requires the bearer token on /v1") {
  MockProcess mock({"--api-key", "sk-test-0123456789"});
  auto client = client_for(mock);
  auto anonymous = post_chat(client, chapters_request(kPrompt));
  REQUIRE(anonymous);
  CHECK(anonymous->status == 401);
  CHECK(Json::parse(anonymous->body)["error"]["type"] == "invalid_request_error");
  auto wrong = post_chat(client, chapters_request(kPrompt),
                         {{"Authorization", "Bearer sk-test-wrong-wrong"}});
  REQUIRE(wrong);
  CHECK(wrong->status == 401);
  CHECK(Json::parse(wrong->body)["error"]["code"] == "invalid_api_key");
  CHECK(wrong->body.find("sk-test-wrong-wrong") == std::string::npos);
  auto right = post_chat(client, chapters_request(kPrompt),
                         {{"Authorization", "Bearer sk-test-0123456789"}});
  REQUIRE(right);
  CHECK(right->status == 200);
  auto health = client.Get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
}

TEST_CASE("mock-llm: /stats bills exactly the usage of the answers sent") {
  MockProcess mock({"--rate-429", "0.2", "--rate-500", "0.1", "--rate-malformed", "0.1",
                    "--rate-truncated", "0.2", "--rate-invalid", "0.2", "--seed", "3"});
  auto client = client_for(mock);
  std::int64_t prompt = 0;
  std::int64_t completion = 0;
  std::int64_t calls = 0;
  std::map<int, std::int64_t> statuses;
  constexpr int kRequests = 30;
  for (int i = 0; i < kRequests; ++i) {
    auto result =
        post_chat(client, chapters_request(kPrompt + std::string(" #") + std::to_string(i % 10)));
    REQUIRE(result);
    ++statuses[result->status];
    const Json body = Json::parse(result->body, nullptr, false);
    if (result->status == 200 && !body.is_discarded()) {
      prompt += body["usage"]["prompt_tokens"].get<std::int64_t>();
      completion += body["usage"]["completion_tokens"].get<std::int64_t>();
      ++calls;
    }
  }
  CHECK(statuses.size() > 1);
  auto stats_result = client.Get("/stats");
  REQUIRE(stats_result);
  const Json stats = Json::parse(stats_result->body);
  CHECK(stats["requests"]["total"] == kRequests);
  for (const auto& [status, count] : statuses) {
    CHECK(stats["requests"]["byStatus"][std::to_string(status)] == count);
  }
  CHECK(stats["billed"]["promptTokens"] == prompt);
  CHECK(stats["billed"]["completionTokens"] == completion);
  CHECK(stats["billed"]["calls"] == calls);
  CHECK(stats["billed"]["cachedTokens"] == 0);
}

TEST_CASE("mock-llm: faults follow the request body, not the arrival order") {
  std::vector<Json> bodies;
  for (int i = 0; i < 12; ++i) {
    bodies.push_back(chapters_request("Chapters of subject number " + std::to_string(i)));
  }
  auto statuses = [&](bool reversed) {
    MockProcess mock({"--rate-500", "0.5", "--seed", "9"});
    auto client = client_for(mock);
    std::map<std::string, int> by_body;
    std::vector<Json> order = bodies;
    if (reversed) std::reverse(order.begin(), order.end());
    for (const auto& body : order) {
      auto result = post_chat(client, body);
      REQUIRE(result);
      by_body[body.dump()] = result->status;
    }
    return by_body;
  };
  const auto forward = statuses(false);
  CHECK(forward == statuses(true));
  std::set<int> seen;
  for (const auto& [body, status] : forward) seen.insert(status);
  CHECK(seen == std::set<int>{200, 500});
}

TEST_CASE("mock-llm: concurrent requests with latency do not queue") {
  MockProcess mock({"--latency-ms", "400"});
  constexpr int kConcurrent = 32;
  const auto started = Clock::now();
  std::vector<std::future<int>> answers;
  for (int i = 0; i < kConcurrent; ++i) {
    answers.push_back(std::async(std::launch::async, [&mock, i] {
      auto client = client_for(mock);
      auto result = post_chat(client, chapters_request(kPrompt + std::to_string(i)));
      if (!result) MESSAGE("request " << i << ": " << httplib::to_string(result.error()));
      return result ? result->status : 0;
    }));
  }
  for (auto& answer : answers) CHECK(answer.get() == 200);
  CHECK(Clock::now() - started < std::chrono::seconds(4));  // one after another: 12.8 s
}

TEST_CASE("mock-llm: SIGTERM stops it promptly with exit 0, even while a request is held") {
  MockProcess mock({"--rate-timeout", "1", "--timeout-hold-ms", "60000"});
  auto held = std::async(std::launch::async, [&mock] {
    auto client = client_for(mock);
    auto result = post_chat(client, chapters_request(kPrompt));
    return result ? result->status : 0;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto stopping = Clock::now();
  CHECK(mock.stop() == 0);
  CHECK(Clock::now() - stopping < std::chrono::seconds(5));
  held.get();
}

TEST_CASE("mock-llm: a bad request gets OpenAI's 400") {
  MockProcess mock;
  auto client = client_for(mock);
  auto not_json = client.Post("/v1/chat/completions", "{not json", "application/json");
  REQUIRE(not_json);
  CHECK(not_json->status == 400);
  CHECK(Json::parse(not_json->body)["error"]["type"] == "invalid_request_error");
  Json no_messages = chapters_request(kPrompt);
  no_messages.erase("messages");
  auto missing = post_chat(client, no_messages);
  REQUIRE(missing);
  CHECK(missing->status == 400);
  CHECK(Json::parse(missing->body)["error"]["param"] == "messages");
  Json no_model = chapters_request(kPrompt);
  no_model.erase("model");
  auto modelless = post_chat(client, no_model);
  REQUIRE(modelless);
  CHECK(modelless->status == 400);
}

TEST_CASE("mock-llm: bad flags exit 2 with a one-line error") {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--rate-429", "1.5"},
                                                                {"--rate-invalid", "-0.1"},
                                                                {"--rate-500", "often"},
                                                                {"--no-such-flag"}}) {
    const auto ended = MockProcess::run_to_exit(args);
    CAPTURE(args[0]);
    CHECK(ended.exit_code == 2);
    CHECK(ended.stdout_text.empty());
    CHECK_FALSE(ended.stderr_text.empty());
    CHECK(std::count(ended.stderr_text.begin(), ended.stderr_text.end(), '\n') == 1);
  }
}

TEST_CASE("support: TempDir is removed after a passing test, kept on keep()") {
  std::filesystem::path removed;
  std::filesystem::path kept;
  {
    TempDir dir;
    removed = dir.path();
    std::ofstream(dir.file("evidence.txt")) << "x";
    CHECK(std::filesystem::exists(dir.file("evidence.txt")));
  }
  CHECK_FALSE(std::filesystem::exists(removed));
  {
    TempDir dir("hydrate-keep");
    kept = dir.path();
    dir.keep();
  }
  CHECK(std::filesystem::exists(kept));
  std::filesystem::remove_all(kept);
}
