#pragma once
// The flags that make the endpoint behave like one provider or another: --flavor and the limits,
// response formats, usage, schema dialect and start-up behaviour each flavor documents.
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "mock/endpoint.hpp"

namespace hydrate::mock {

// What the command line said, before the flavor's defaults fill in what it did not.
struct ProviderFlags {
  std::string flavor = "openai";
  std::vector<std::string> response_formats;  // empty: the flavor's
  std::string usage;                          // "report", "omit"; empty: the flavor's
};

// Adds --flavor, --rpm, --tpm, --response-formats, --usage, --rate-runaway, --loading-ms and
// --deployments; values land in `flags` and `endpoint`.
void define_provider_flags(CLI::App& app, ProviderFlags& flags, EndpointOptions& endpoint);

// Fills `endpoint` with the flavor's defaults for everything the flags left unset. Call after a
// successful parse (every value was checked then).
void apply_provider_flags(const ProviderFlags& flags, EndpointOptions& endpoint);

}  // namespace hydrate::mock
