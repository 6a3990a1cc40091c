#pragma once
// A runaway string, as grammar-driven servers (llama.cpp, vLLM) produce one: their grammar bounds
// a string only where the schema gives "maxLength", so a model that starts repeating itself inside
// an unbounded string goes on until max_tokens cuts the answer off (finish_reason "length").
#include <cstdint>
#include <optional>
#include <string>

#include "mock/schema_keywords.hpp"

namespace hydrate::mock {

struct RunawayAnswer {
  std::string content;   // the answer's JSON up to and into the runaway string, never closed
  std::string property;  // where it ran away, e.g. "chapters[0].summary"
};

// The answer `value` (valid against `schema`) running away in its first free-text string whose
// schema has no maxLength, enum or const, cut at exactly `max_tokens` tokens; empty when no such
// string exists (or max_tokens is not positive).
std::optional<RunawayAnswer> run_away(const Json& schema, const Json& value,
                                      std::int64_t max_tokens);

}  // namespace hydrate::mock
