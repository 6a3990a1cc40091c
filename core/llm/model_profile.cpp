#include "core/llm/model_profile.hpp"

#include <cctype>

#include <fmt/format.h>

#include "core/resources.hpp"
#include "core/tsv.hpp"

namespace hydrate::llm {
namespace {

constexpr std::pair<Flavor, const char*> kFlavors[] = {{Flavor::openai, "openai"},
                                                       {Flavor::azure, "azure"},
                                                       {Flavor::llamacpp, "llamacpp"},
                                                       {Flavor::vllm, "vllm"},
                                                       {Flavor::ollama, "ollama"}};
constexpr std::pair<OutputMode, const char*> kModes[] = {{OutputMode::json_schema, "json_schema"},
                                                         {OutputMode::json_object, "json_object"},
                                                         {OutputMode::prompt, "prompt"}};

// What a flavor gets for a model no row names.
ModelProfile flavor_default(Flavor flavor) {
  ModelProfile profile;
  if (flavor == Flavor::llamacpp || flavor == Flavor::vllm || flavor == Flavor::ollama) {
    profile.dialect = SchemaDialect::grammar;
  }
  if (flavor == Flavor::ollama) profile.output_mode = OutputMode::json_object;
  return profile;
}

std::optional<bool> yes_no(const std::string& text) {
  if (text == "yes") return true;
  if (text == "no") return false;
  return std::nullopt;
}

}  // namespace

const char* to_string(Flavor flavor) {
  for (const auto& [value, name] : kFlavors) {
    if (value == flavor) return name;
  }
  return "openai";
}

std::optional<Flavor> parse_flavor(std::string_view text) {
  for (const auto& [value, name] : kFlavors) {
    if (text == name) return value;
  }
  return std::nullopt;
}

const char* to_string(OutputMode mode) {
  for (const auto& [value, name] : kModes) {
    if (value == mode) return name;
  }
  return "json_schema";
}

std::optional<OutputMode> parse_output_mode(std::string_view text) {
  for (const auto& [value, name] : kModes) {
    if (text == name) return value;
  }
  return std::nullopt;
}

std::optional<OutputMode> fallback_mode(OutputMode mode) {
  if (mode == OutputMode::json_schema) return OutputMode::json_object;
  if (mode == OutputMode::json_object) return OutputMode::prompt;
  return std::nullopt;
}

bool glob_match(std::string_view pattern, std::string_view name) {
  // Iterative glob with backtracking to the last star: linear in practice, no recursion.
  std::size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  auto same = [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  };
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && same(pattern[p], name[n])) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

ProfileTable ProfileTable::builtin() {
  auto table = parse(resources::find("data/models.tsv").value_or(""), "data/models.tsv");
  return table ? *table : ProfileTable{};
}

Result<ProfileTable> ProfileTable::parse(std::string_view text, const std::string& name) {
  ProfileTable table;
  int line = 0;
  for (const auto& fields : parse_tsv(text)) {
    ++line;
    auto bad = [&](const std::string& why) {
      return make_error(ErrorKind::invalid_input,
                        fmt::format("{}: profile row {} ('{}'): {}", name, line,
                                    fields.empty() ? "" : fields[0], why));
    };
    if (fields.size() != 6) return bad("expected 6 tab-separated fields");
    auto flavor = parse_flavor(fields[0]);
    if (!flavor) return bad("unknown flavor (openai, azure, llamacpp, vllm, ollama)");
    if (fields[2] != "max_tokens" && fields[2] != "max_completion_tokens") {
      return bad("tokens must be max_tokens or max_completion_tokens");
    }
    auto temperature = yes_no(fields[3]);
    if (!temperature) return bad("temperature must be yes or no");
    auto mode = parse_output_mode(fields[4]);
    if (!mode) return bad("format must be json_schema, json_object or prompt");
    if (fields[5] != "strict" && fields[5] != "grammar")
      return bad("schema must be strict or grammar");
    ModelProfile profile{fields[2] == "max_completion_tokens", *temperature, *mode,
                         fields[5] == "grammar" ? SchemaDialect::grammar : SchemaDialect::strict};
    table.rows_.push_back({*flavor, fields[1], profile});
  }
  return table;
}

ModelProfile ProfileTable::find(Flavor flavor, std::string_view model) const {
  for (const Row& row : rows_) {
    if (row.flavor == flavor && glob_match(row.pattern, model)) return row.profile;
  }
  return flavor_default(flavor);
}

std::optional<Flavor> detect_flavor(std::string_view configured, std::string_view url) {
  if (!configured.empty() && configured != "auto") return parse_flavor(configured);
  const std::string lower = to_lower(url);
  if (lower.find(".openai.azure.com") != std::string::npos ||
      lower.find("/openai/deployments/") != std::string::npos) {
    return Flavor::azure;
  }
  if (lower.find(":11434") != std::string::npos) return Flavor::ollama;
  return Flavor::openai;
}

std::string chat_completions_url(std::string_view base, Flavor flavor,
                                 std::string_view api_version) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  std::string url = std::string(base) + "/chat/completions";
  if (flavor == Flavor::azure && !api_version.empty()) {
    url += "?api-version=" + std::string(api_version);
  }
  return url;
}

}  // namespace hydrate::llm
