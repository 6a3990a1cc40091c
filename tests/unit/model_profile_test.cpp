// Model and server differences as data (core/llm/model_profile.hpp, data/models.tsv).
#include <doctest/doctest.h>

#include "core/llm/model_profile.hpp"

using namespace hydrate::llm;

TEST_SUITE("model profiles") {
  TEST_CASE("OpenAI reasoning models take max_completion_tokens and no temperature") {
    const ProfileTable table = ProfileTable::builtin();
    for (const char* model : {"o1", "o1-mini", "o3", "o3-mini", "o4-mini", "gpt-5", "gpt-5-mini",
                              "gpt-5-nano", "O4-MINI"}) {
      CAPTURE(model);
      for (Flavor flavor : {Flavor::openai, Flavor::azure}) {
        const ModelProfile p = table.find(flavor, model);
        CHECK(p.max_completion_tokens);
        CHECK_FALSE(p.temperature);
        CHECK(p.output_mode == OutputMode::json_schema);
        CHECK(p.dialect == SchemaDialect::strict);
      }
    }
  }

  TEST_CASE("other OpenAI models keep max_tokens and temperature") {
    const ProfileTable table = ProfileTable::builtin();
    for (const char* model : {"gpt-4o-mini", "gpt-4.1", "gpt-4o", "omni-moderation"}) {
      CAPTURE(model);
      const ModelProfile p = table.find(Flavor::openai, model);
      CHECK_FALSE(p.max_completion_tokens);
      CHECK(p.temperature);
    }
  }

  TEST_CASE("grammar-driven servers get every bound and Ollama starts at json_object") {
    const ProfileTable table = ProfileTable::builtin();
    CHECK(table.find(Flavor::llamacpp, "qwen2.5-7b").dialect == SchemaDialect::grammar);
    CHECK(table.find(Flavor::vllm, "meta-llama/Llama-3.1-8B").dialect == SchemaDialect::grammar);
    CHECK(table.find(Flavor::ollama, "llama3.2").output_mode == OutputMode::json_object);
    // The reasoning rule is OpenAI's, not a model name rule everywhere.
    CHECK(table.find(Flavor::vllm, "o4-mini").temperature);
  }

  TEST_CASE("a table of one's own: first match wins, bad rows are named") {
    auto table = ProfileTable::parse(
        "# flavor\tmodel\ttokens\ttemperature\tformat\tschema\n"
        "openai\tmy-*\tmax_completion_tokens\tno\tprompt\tgrammar\n"
        "openai\t*\tmax_tokens\tyes\tjson_object\tstrict\n",
        "mine.tsv");
    REQUIRE(table);
    CHECK(table->find(Flavor::openai, "my-model").output_mode == OutputMode::prompt);
    CHECK(table->find(Flavor::openai, "gpt-4o").output_mode == OutputMode::json_object);
    CHECK(table->find(Flavor::llamacpp, "x").dialect == SchemaDialect::grammar);  // flavor default
    auto bad = ProfileTable::parse("openai\t*\tmax_tokens\tmaybe\tjson_schema\tstrict\n", "b.tsv");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("b.tsv: profile row 1") != std::string::npos);
    CHECK(bad.error().message.find("temperature") != std::string::npos);
    CHECK_FALSE(ProfileTable::parse("cohere\t*\tmax_tokens\tyes\tjson_schema\tstrict\n", "c"));
    CHECK_FALSE(ProfileTable::parse("openai\t*\tmax_tokens\tyes\n", "d"));
  }

  TEST_CASE("glob patterns") {
    CHECK(glob_match("*", ""));
    CHECK(glob_match("o4*", "o4-mini"));
    CHECK(glob_match("gpt-5*", "GPT-5-mini"));
    CHECK_FALSE(glob_match("gpt-5*", "gpt-4o"));
    CHECK(glob_match("*mini*", "gpt-4.1-mini-2025"));
    CHECK(glob_match("a*b*c", "axxbyyc"));
    CHECK_FALSE(glob_match("a*b*c", "axxbyy"));
    CHECK_FALSE(glob_match("o1", "o1-mini"));
  }

  TEST_CASE("the structured-output fallback: json_schema, json_object, prompt, then none") {
    CHECK(fallback_mode(OutputMode::json_schema) == OutputMode::json_object);
    CHECK(fallback_mode(OutputMode::json_object) == OutputMode::prompt);
    CHECK(fallback_mode(OutputMode::prompt) == std::nullopt);
    for (OutputMode mode : {OutputMode::json_schema, OutputMode::json_object, OutputMode::prompt}) {
      CHECK(parse_output_mode(to_string(mode)) == mode);
    }
  }

  TEST_CASE("the flavor: as configured, else from the URL") {
    CHECK(detect_flavor("auto", "https://api.openai.com/v1") == Flavor::openai);
    CHECK(detect_flavor("", "https://res.openai.azure.com/openai/deployments/gpt4o") ==
          Flavor::azure);
    CHECK(detect_flavor("auto", "http://127.0.0.1:9/openai/deployments/d") == Flavor::azure);
    CHECK(detect_flavor("auto", "http://localhost:11434/v1") == Flavor::ollama);
    CHECK(detect_flavor("llamacpp", "http://127.0.0.1:8080/v1") == Flavor::llamacpp);
    CHECK(detect_flavor("vllm", "https://api.openai.com/v1") == Flavor::vllm);
    CHECK(detect_flavor("bedrock", "x") == std::nullopt);
  }

  TEST_CASE("Azure's chat URL carries the api-version") {
    CHECK(
        chat_completions_url("https://r.openai.azure.com/openai/deployments/d/", Flavor::azure,
                             "2024-10-21") ==
        "https://r.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21");
    CHECK(chat_completions_url("http://127.0.0.1:8080/v1", Flavor::openai, "2024-10-21") ==
          "http://127.0.0.1:8080/v1/chat/completions");
  }
}
