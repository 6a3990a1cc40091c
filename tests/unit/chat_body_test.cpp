// The chat-completions wire format: request bodies (../shared/openai/chat-completions.yaml).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/llm/chat_protocol.hpp"

namespace {

using hydrate::llm::build_chat_body;
using hydrate::llm::ChatMessage;
using hydrate::llm::ChatRequest;
using hydrate::llm::OutputMode;
using hydrate::llm::SchemaDialect;
using nlohmann::json;

const char* const kSchema =
    R"({"type":"object","properties":{"chapters":{"type":"array","items":{"type":"string"}}},)"
    R"("required":["chapters"],"additionalProperties":false})";

ChatRequest sample_request() {
  ChatRequest request;
  request.model = "gpt-4o-mini";
  request.messages = {{"system", "You write syllabi."}, {"user", "Plan grade 1 maths."}};
  request.temperature = 0.3;
  request.max_tokens = 2000;
  request.schema_name = "syllabus";
  request.json_schema = kSchema;
  return request;
}

// The body as build_chat_body first made it: one nlohmann object, the schema parsed into it,
// dumped whole. The body written piece by piece must be this, byte for byte.
void drop_lengths(json& schema) {
  if (schema.is_object()) {
    for (const char* key : {"minLength", "maxLength"}) schema.erase(key);
    for (auto& [key, value] : schema.items()) {
      if (key != "enum" && key != "const") drop_lengths(value);
    }
  } else if (schema.is_array()) {
    for (auto& item : schema) drop_lengths(item);
  }
}

std::string whole_object_body(const ChatRequest& request, const std::string& fitted_name) {
  json body = json::object();
  body["model"] = request.model;
  json messages = json::array();
  for (const ChatMessage& message : request.messages) {
    messages.push_back({{"role", message.role}, {"content", message.content}});
  }
  if (request.send_temperature) body["temperature"] = request.temperature;
  body[request.use_max_completion_tokens ? "max_completion_tokens" : "max_tokens"] =
      request.max_tokens;
  if (!request.json_schema.empty()) {
    json schema = json::parse(request.json_schema);
    if (request.dialect == SchemaDialect::strict) drop_lengths(schema);
    if (request.mode == OutputMode::json_schema) {
      body["response_format"] = {
          {"type", "json_schema"},
          {"json_schema", {{"name", fitted_name}, {"schema", schema}, {"strict", request.strict}}}};
    } else {
      if (request.mode == OutputMode::json_object) {
        body["response_format"] = {{"type", "json_object"}};
      }
      if (!messages.empty()) {
        messages.front()["content"].get_ref<std::string&>() +=
            "\n\nThe JSON schema your answer must follow:\n" + schema.dump();
      }
    }
  }
  body["messages"] = std::move(messages);
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

TEST_SUITE("chat protocol: request body") {
  TEST_CASE("model, messages in order, temperature and max_tokens") {
    const json body = json::parse(build_chat_body(sample_request()));
    CHECK(body["model"] == "gpt-4o-mini");
    REQUIRE(body["messages"].size() == 2);
    CHECK(body["messages"][0] == json{{"role", "system"}, {"content", "You write syllabi."}});
    CHECK(body["messages"][1] == json{{"role", "user"}, {"content", "Plan grade 1 maths."}});
    CHECK(body["temperature"].get<double>() == doctest::Approx(0.3));
    CHECK(body["max_tokens"] == 2000);
    CHECK_FALSE(body.contains("max_completion_tokens"));
    CHECK_FALSE(body.contains("stream"));
  }

  TEST_CASE("max_completion_tokens replaces max_tokens where configured") {
    ChatRequest request = sample_request();
    request.use_max_completion_tokens = true;
    const json body = json::parse(build_chat_body(request));
    CHECK(body["max_completion_tokens"] == 2000);
    CHECK_FALSE(body.contains("max_tokens"));
  }

  TEST_CASE("the schema is embedded as a JSON object, strict as asked") {
    ChatRequest request = sample_request();
    json body = json::parse(build_chat_body(request));
    const json& format = body["response_format"];
    CHECK(format["type"] == "json_schema");
    CHECK(format["json_schema"]["name"] == "syllabus");
    CHECK(format["json_schema"]["schema"].is_object());
    CHECK(format["json_schema"]["schema"] == json::parse(kSchema));
    CHECK(format["json_schema"]["strict"] == true);

    request.strict = false;
    body = json::parse(build_chat_body(request));
    CHECK(body["response_format"]["json_schema"]["strict"] == false);
  }

  TEST_CASE("a schema name outside [a-zA-Z0-9_-]{1,64} is made to fit") {
    ChatRequest request = sample_request();
    request.schema_name = "chapter plan/v2";
    CHECK(json::parse(build_chat_body(request))["response_format"]["json_schema"]["name"] ==
          "chapter_plan_v2");
    request.schema_name = std::string(100, 'a');
    CHECK(json::parse(build_chat_body(request))["response_format"]["json_schema"]["name"] ==
          std::string(64, 'a'));
    request.schema_name.clear();
    CHECK(json::parse(build_chat_body(request))["response_format"]["json_schema"]["name"] ==
          "response");
  }

  TEST_CASE("json_object mode: response_format json_object, the schema spelled out in the prompt") {
    ChatRequest request = sample_request();
    request.mode = hydrate::llm::OutputMode::json_object;
    const json body = json::parse(build_chat_body(request));
    CHECK(body["response_format"] == json{{"type", "json_object"}});
    const std::string system = body["messages"][0]["content"];
    CHECK(system.find("You write syllabi.") == 0);
    CHECK(system.find(json::parse(kSchema).dump()) != std::string::npos);
    CHECK(body["messages"][1]["content"] == "Plan grade 1 maths.");
  }

  TEST_CASE("prompt mode: no response_format, the schema in the prompt alone") {
    ChatRequest request = sample_request();
    request.mode = hydrate::llm::OutputMode::prompt;
    const json body = json::parse(build_chat_body(request));
    CHECK_FALSE(body.contains("response_format"));
    const std::string system = body["messages"][0]["content"];
    CHECK(system.find(json::parse(kSchema).dump()) != std::string::npos);
  }

  TEST_CASE("no schema, no response_format") {
    ChatRequest request = sample_request();
    request.json_schema.clear();
    CHECK_FALSE(json::parse(build_chat_body(request)).contains("response_format"));
    request.mode = hydrate::llm::OutputMode::json_object;
    CHECK_FALSE(json::parse(build_chat_body(request)).contains("response_format"));
    CHECK(json::parse(build_chat_body(request))["messages"][0]["content"] == "You write syllabi.");
  }

  TEST_CASE("reasoning models: no temperature") {
    ChatRequest request = sample_request();
    request.send_temperature = false;
    request.use_max_completion_tokens = true;
    const json body = json::parse(build_chat_body(request));
    CHECK_FALSE(body.contains("temperature"));
    CHECK_FALSE(body.contains("max_tokens"));
    CHECK(body["max_completion_tokens"] == 2000);
  }

  TEST_CASE("schema dialects: string lengths for grammar servers only") {
    ChatRequest request = sample_request();
    request.json_schema =
        R"({"type":"object","properties":{"title":{"type":"string","maxLength":50},)"
        R"("tags":{"type":"array","items":{"type":"string","minLength":1,"maxLength":9}}},)"
        R"("required":["title","tags"],"additionalProperties":false})";
    json schema = json::parse(build_chat_body(request))["response_format"]["json_schema"]["schema"];
    CHECK_FALSE(schema["properties"]["title"].contains("maxLength"));
    CHECK_FALSE(schema["properties"]["tags"]["items"].contains("minLength"));
    CHECK_FALSE(schema["properties"]["tags"]["items"].contains("maxLength"));
    request.dialect = hydrate::llm::SchemaDialect::grammar;
    schema = json::parse(build_chat_body(request))["response_format"]["json_schema"]["schema"];
    CHECK(schema["properties"]["title"]["maxLength"] == 50);
    CHECK(schema["properties"]["tags"]["items"]["maxLength"] == 9);
  }

  TEST_CASE("text is escaped and invalid UTF-8 does not break the body") {
    ChatRequest request = sample_request();
    request.messages = {{"user", "quote \" backslash \\ newline \n tab \t é 数学 \xff\xfe end"}};
    const json body = json::parse(build_chat_body(request));
    const std::string content = body["messages"][0]["content"];
    CHECK(content.find("quote \" backslash \\ newline \n tab \t é 数学 ") == 0);
    CHECK(content.find("\xEF\xBF\xBD") != std::string::npos);  // U+FFFD replaces the bad bytes
  }

  TEST_CASE("a schema that is not a JSON object is a caller bug") {
    ChatRequest request = sample_request();
    request.json_schema = "{not json";
    CHECK_THROWS_AS(build_chat_body(request), std::invalid_argument);
    request.json_schema = "[1,2]";
    CHECK_THROWS_AS(build_chat_body(request), std::invalid_argument);
  }
}

TEST_SUITE("chat protocol: request body, byte for byte") {
  TEST_CASE("every mode, dialect and option gives the body one nlohmann object dumped whole") {
    const std::string lengths =
        R"({"type":"object","properties":{"title":{"type":"string","minLength":3,"maxLength":80},)"
        R"("kind":{"enum":["a","b"],"maxLength":2},"items":{"type":"array","minItems":1,)"
        R"("items":{"type":"string","maxLength":9}}},"required":["title","kind","items"],)"
        R"("additionalProperties":false,"description":"\u00e9 \"quoted\" \\ \u2028"})";
    int compared = 0;
    for (const std::string& schema : {std::string(), std::string(kSchema), lengths}) {
      for (OutputMode mode :
           {OutputMode::json_schema, OutputMode::json_object, OutputMode::prompt}) {
        for (SchemaDialect dialect : {SchemaDialect::strict, SchemaDialect::grammar}) {
          for (int options = 0; options < 8; ++options) {
            ChatRequest request = sample_request();
            request.json_schema = schema;
            request.mode = mode;
            request.dialect = dialect;
            request.send_temperature = (options & 1) != 0;
            request.use_max_completion_tokens = (options & 2) != 0;
            request.strict = (options & 4) != 0;
            request.temperature = options == 5 ? 1.0 / 3 : 0.7;
            request.model = options == 6 ? "a \"quoted\" model \xff" : "gpt-4o-mini";
            if (options == 7) request.messages.clear();
            if (options == 3) request.messages.push_back({"user", "bad \xc3\x28 utf-8, \x01 ctl"});
            // The name as it is made to fit, from the body under test (it has its own test).
            const std::string body = build_chat_body(request);
            const json parsed = json::parse(body);
            const std::string name =
                parsed.contains("response_format") &&
                        parsed["response_format"].contains("json_schema")
                    ? parsed["response_format"]["json_schema"]["name"].get<std::string>()
                    : request.schema_name;
            CHECK(body == whole_object_body(request, name));
            ++compared;
          }
        }
      }
    }
    CHECK(compared == 3 * 3 * 2 * 8);
  }

  TEST_CASE("a schema made once for its dialect is not reused for the other") {
    ChatRequest request = sample_request();
    request.json_schema = R"({"type":"object","properties":{"t":{"type":"string","maxLength":5}}})";
    request.dialect = SchemaDialect::strict;
    CHECK(build_chat_body(request).find("maxLength") == std::string::npos);
    request.dialect = SchemaDialect::grammar;
    CHECK(build_chat_body(request).find(R"("maxLength":5)") != std::string::npos);
    request.dialect = SchemaDialect::strict;
    CHECK(build_chat_body(request).find("maxLength") == std::string::npos);
  }
}
