#include "mock/provider_flags.hpp"

#include <limits>

namespace hydrate::mock {

void define_provider_flags(CLI::App& app, ProviderFlags& flags, EndpointOptions& endpoint) {
  app.add_option("--flavor", flags.flavor,
                 "answer as this server: openai, azure, llamacpp, vllm, ollama")
      ->check([](const std::string& name) {
        return parse_flavor(name)
                   ? std::string()
                   : "unknown flavor '" + name + "' (openai, azure, llamacpp, vllm, ollama)";
      })
      ->default_val("openai");
  const auto per_minute = CLI::Range(std::int64_t{1}, std::numeric_limits<std::int64_t>::max() / 2);
  app.add_option("--rpm", endpoint.rpm,
                 "requests per minute before 429 (default: the flavor's; none for local servers)")
      ->check(per_minute);
  app.add_option("--tpm", endpoint.tpm,
                 "tokens per minute (prompt + max_tokens) before 429 (default: the flavor's)")
      ->check(per_minute);
  app.add_option("--response-formats", flags.response_formats,
                 "comma-separated response_format types accepted: json_schema, json_object, text "
                 "(default: the flavor's)")
      ->delimiter(',')
      ->check([](const std::string& name) {
        return parse_format(name)
                   ? std::string()
                   : "unknown response format '" + name + "' (json_schema, json_object, text)";
      });
  app.add_option("--usage", flags.usage,
                 "report or omit usage in completions (default: omit for ollama, else report)")
      ->check(CLI::IsMember({"report", "omit"}));
  app.add_option("--rate-runaway", endpoint.rates.runaway,
                 "probability (0..1) that a string without maxLength runs away to max_tokens "
                 "(default: 1 for llamacpp and vllm, else 0)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--loading-ms", endpoint.loading_ms,
                 "answer 503 'Loading model' for this long after start")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{3600000}))
      ->default_val(0);
  app.add_option("--deployments", endpoint.deployments,
                 "azure: comma-separated deployment names that exist (default: any)")
      ->delimiter(',');
}

void apply_provider_flags(const ProviderFlags& flags, EndpointOptions& endpoint) {
  endpoint.flavor = parse_flavor(flags.flavor).value_or(Flavor::openai);
  const FlavorTraits traits = traits_of(endpoint.flavor);
  if (flags.response_formats.empty()) {
    endpoint.formats = default_formats(endpoint.flavor);
  } else {
    endpoint.formats = FormatSet{false, false, false};
    for (const std::string& name : flags.response_formats) {
      switch (*parse_format(name)) {
        case ResponseFormat::text:
          endpoint.formats.text = true;
          break;
        case ResponseFormat::json_object:
          endpoint.formats.json_object = true;
          break;
        case ResponseFormat::json_schema:
          endpoint.formats.json_schema = true;
          break;
      }
    }
  }
  endpoint.report_usage = flags.usage.empty() ? traits.reports_usage : flags.usage == "report";
  if (endpoint.rates.runaway < 0) {
    endpoint.rates.runaway = traits.grammar_output ? 1.0 : 0.0;
  }
}

}  // namespace hydrate::mock
