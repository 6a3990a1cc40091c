#pragma once
// Model and server differences as data: which server flavor an endpoint is, and per flavor and
// model name pattern (data/models.tsv) how to ask it for a structured answer — the output-token
// field, whether temperature is accepted, the structured-output mode to try first and the JSON
// Schema dialect. The engine asks this table instead of testing model names. Pure.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace hydrate::llm {

enum class Flavor { openai, azure, llamacpp, vllm, ollama };
const char* to_string(Flavor flavor);
std::optional<Flavor> parse_flavor(std::string_view text);

// How a request asks for structured output: response_format json_schema, json_object (the
// schema then spelled out in the prompt), or no response_format and the schema in the prompt.
enum class OutputMode { json_schema, json_object, prompt };
const char* to_string(OutputMode mode);
std::optional<OutputMode> parse_output_mode(std::string_view text);
// The mode to fall back to when a server refuses `mode`; nullopt after prompt.
std::optional<OutputMode> fallback_mode(OutputMode mode);

// strict: OpenAI's structured-outputs subset (no string lengths); grammar: every bound sent.
enum class SchemaDialect { strict, grammar };

struct ModelProfile {
  bool max_completion_tokens = false;  // send max_completion_tokens instead of max_tokens
  bool temperature = true;             // send hydrate's temperature
  OutputMode output_mode = OutputMode::json_schema;
  SchemaDialect dialect = SchemaDialect::strict;
};

class ProfileTable {
 public:
  // data/models.tsv as embedded at build time.
  static ProfileTable builtin();
  // A table in the same format; invalid_input naming name and the line for a bad row.
  static Result<ProfileTable> parse(std::string_view text, const std::string& name);
  // The first row matching flavor and model; the flavor's defaults when none does.
  ModelProfile find(Flavor flavor, std::string_view model) const;

 private:
  struct Row {
    Flavor flavor;
    std::string pattern;
    ModelProfile profile;
  };
  std::vector<Row> rows_;
};

// True when pattern (a glob where * matches any text, case-insensitive) matches name.
bool glob_match(std::string_view pattern, std::string_view name);

// The flavor of an endpoint: `configured` unless it is "auto" or empty; otherwise from the URL
// (an *.openai.azure.com host or an /openai/deployments/ path is azure, port 11434 ollama), else
// openai. nullopt when configured names no flavor.
std::optional<Flavor> detect_flavor(std::string_view configured, std::string_view url);

// The chat-completions URL under base (llm.url): base + "/chat/completions", and for azure
// (base names the deployment, .../openai/deployments/NAME) with ?api-version= appended.
std::string chat_completions_url(std::string_view base, Flavor flavor,
                                 std::string_view api_version);

}  // namespace hydrate::llm
