#pragma once
// What the golden test of hydrate-mock-llm sends: endpoint configurations (flags: seeds, faults,
// flavors, keys, quotas) and, for each, the requests sent one after another over one keep-alive
// connection to a fresh endpoint. Requests come from the corpus (what hydrate sends, see
// mock_golden.cpp --make-corpus) and from a list of malformed or refused bodies of its own.
#include <string>
#include <vector>

#include <httplib.h>

#include "tests/tools/mock_corpus.hpp"

namespace hydrate::testing {

struct GoldenStep {
  std::string label;
  std::string method = "POST";
  std::string path = "/v1/chat/completions";
  std::string body;
  httplib::Headers headers;  // besides Accept-Encoding (hydrate's) and Content-Type
};

struct GoldenConfig {
  std::string name;
  std::vector<std::string> args;  // hydrate-mock-llm flags besides --port 0
  std::vector<GoldenStep> steps;
};

// Every configuration with its steps, in the order they run; the same for the same corpus.
std::vector<GoldenConfig> golden_plan(const std::vector<CorpusRequest>& corpus);

// The corpus from hydrate_request_bodies' output (`requests`): for each flavor its usual model
// (every kind and mode, a first call and a re-ask; the hostile re-ask for openai and llamacpp),
// the reasoning models, the schema names that must be fitted; every first call also written for
// English (the throughput bench's language) and a few for French and Spanish ("+en", "+fr",
// "+es" after the variant).
std::vector<CorpusRequest> select_corpus(const std::vector<CorpusRequest>& requests);

}  // namespace hydrate::testing
