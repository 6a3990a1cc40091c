// Configuration (core/config.hpp): the numbered precedence flag > environment > file > default,
// the origin of every value, and the errors an operator sees.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "core/config.hpp"

namespace {

using namespace hydrate;

using Env = std::map<std::string, std::string>;

// Resolves with a fake environment; REQUIREs success.
Config resolve(const std::map<std::string, std::string>& flags, const Env& env,
               const std::string& file_text, const std::string& file_name = "hydrate.conf") {
  auto getenv = [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  auto config = Config::resolve(flags, getenv, file_text, file_name);
  if (!config.ok()) FAIL("resolve failed: " << config.error().message);
  return *config;
}

Error rejected(const std::string& file_text) {
  auto config = Config::resolve({}, nullptr, file_text, "bad.conf");
  REQUIRE_FALSE(config.ok());
  return config.error();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("config: precedence is flag, then environment, then file, then default") {
  const std::string file = "# models\nllm.model = from-file\n";
  const Env env = {{"HYDRATE_LLM_MODEL", "from-env"}};
  const std::map<std::string, std::string> flags = {{"llm.model", "from-flag"}};

  Config defaults = resolve({}, {}, "");
  CHECK(defaults.get("llm.model") == "gpt-4o-mini");
  CHECK(defaults.origin("llm.model") == "default");

  Config file_only = resolve({}, {}, file);
  CHECK(file_only.get("llm.model") == "from-file");
  CHECK(file_only.origin("llm.model") == "config hydrate.conf:2");

  Config env_over_file = resolve({}, env, file);
  CHECK(env_over_file.get("llm.model") == "from-env");
  CHECK(env_over_file.origin("llm.model") == "environment HYDRATE_LLM_MODEL");

  Config flag_over_all = resolve(flags, env, file);
  CHECK(flag_over_all.get("llm.model") == "from-flag");
  CHECK(flag_over_all.origin("llm.model") == "flag");

  Config flag_over_default = resolve(flags, {}, "");
  CHECK(flag_over_default.get("llm.model") == "from-flag");
}

TEST_CASE("config: each key resolves on its own, with its own origin") {
  Config config = resolve({{"db", "sqlite:flag.db"}}, {{"HYDRATE_LLM_URL", "http://env/v1"}},
                          "work.concurrency = 3\nretry.max_ms = 5000\n", "site.conf");
  CHECK(config.get("db") == "sqlite:flag.db");
  CHECK(config.origin("db") == "flag");
  CHECK(config.get("llm.url") == "http://env/v1");
  CHECK(config.origin("llm.url") == "environment HYDRATE_LLM_URL");
  CHECK(config.get("work.concurrency") == "3");
  CHECK(config.origin("work.concurrency") == "config site.conf:1");
  CHECK(config.origin("retry.max_ms") == "config site.conf:2");
  CHECK(config.get("work.lease_seconds") == "60");
  CHECK(config.origin("work.lease_seconds") == "default");
  CHECK(config.get("no.such.key").empty());
  CHECK(config.origin("no.such.key").empty());
}

TEST_CASE("config: the API key falls back from HYDRATE_LLM_API_KEY to OPENAI_API_KEY") {
  Config openai = resolve({}, {{"OPENAI_API_KEY", "sk-openai"}}, "");
  CHECK(openai.get("llm.api_key") == "sk-openai");
  CHECK(openai.origin("llm.api_key") == "environment OPENAI_API_KEY");
  Config both = resolve({}, {{"OPENAI_API_KEY", "sk-openai"}, {"HYDRATE_LLM_API_KEY", "sk-h"}}, "");
  CHECK(both.get("llm.api_key") == "sk-h");
  CHECK(both.origin("llm.api_key") == "environment HYDRATE_LLM_API_KEY");
  // An empty variable counts as unset.
  Config empty = resolve({}, {{"HYDRATE_LLM_API_KEY", ""}, {"OPENAI_API_KEY", "sk-openai"}}, "");
  CHECK(empty.get("llm.api_key") == "sk-openai");
}

TEST_CASE("config: describe shows every key with its origin and masks secrets") {
  Config config = resolve({}, {{"HYDRATE_LLM_API_KEY", "sk-secret"}}, "");
  auto described = config.describe();
  CHECK(described.size() == known_keys().size());
  bool saw_key = false;
  for (const auto& [key, value] : described) {
    CHECK_FALSE(contains(value.value, "sk-secret"));
    if (key == "llm.api_key") {
      saw_key = true;
      CHECK(value.value == "***");
      CHECK(value.origin == "environment HYDRATE_LLM_API_KEY");
    }
  }
  CHECK(saw_key);
  // The value itself is still there for the client that needs it.
  CHECK(config.get("llm.api_key") == "sk-secret");
}

TEST_CASE("config: the file format tolerates comments, blank lines and spaces") {
  Config config = resolve({}, {}, "\n  # a comment\n\n   llm.model   =   spaced-out   \n");
  CHECK(config.get("llm.model") == "spaced-out");
  CHECK(config.origin("llm.model") == "config hydrate.conf:4");
  Config no_newline = resolve({}, {}, "llm.model=last-line");
  CHECK(no_newline.get("llm.model") == "last-line");
}

TEST_CASE("config: an unknown key in the file is rejected, naming file, line and key") {
  Error error = rejected("llm.model = x\nllm.modle = y\n");
  CHECK(error.kind == ErrorKind::invalid_input);
  CHECK(contains(error.message, "bad.conf:2"));
  CHECK(contains(error.message, "llm.modle"));
}

TEST_CASE("config: an API key in the file is rejected and says where it belongs") {
  Error error = rejected("llm.api_key = sk-should-not-be-here\n");
  CHECK(error.kind == ErrorKind::invalid_input);
  CHECK(contains(error.message, "bad.conf:1"));
  CHECK(contains(error.message, "HYDRATE_LLM_API_KEY"));
  CHECK_FALSE(contains(error.message, "sk-should-not-be-here"));
}

TEST_CASE("config: a line without '=' is rejected") {
  Error error = rejected("llm.model gpt\n");
  CHECK(error.kind == ErrorKind::invalid_input);
  CHECK(contains(error.message, "bad.conf:1"));
}

TEST_CASE("config: get_int checks the range and names key, value and origin") {
  Config config = resolve({{"work.concurrency", "500"}}, {{"HYDRATE_RETRY_BASE_MS", "soon"}},
                          "work.max_attempts = 7\n");
  auto attempts = config.get_int("work.max_attempts", 1, 100);
  REQUIRE(attempts.ok());
  CHECK(*attempts == 7);

  auto too_many = config.get_int("work.concurrency", 1, 256);
  REQUIRE_FALSE(too_many.ok());
  CHECK(too_many.error().kind == ErrorKind::invalid_input);
  CHECK(contains(too_many.error().message, "work.concurrency"));
  CHECK(contains(too_many.error().message, "flag"));
  CHECK(contains(too_many.error().message, "1 to 256"));
  CHECK(contains(too_many.error().message, "500"));

  auto not_number = config.get_int("retry.base_ms", 0, 1000000);
  REQUIRE_FALSE(not_number.ok());
  CHECK(contains(not_number.error().message, "retry.base_ms"));
  CHECK(contains(not_number.error().message, "environment HYDRATE_RETRY_BASE_MS"));

  CHECK_FALSE(config.get_int("prompts.dir", 0, 10).ok());  // empty is not a number
  CHECK(config.get_int("work.lease_seconds", 1, 3600).ok());
  CHECK_FALSE(resolve({{"work.lease_seconds", "12abc"}}, {}, "")
                  .get_int("work.lease_seconds", 1, 3600)
                  .ok());
}
