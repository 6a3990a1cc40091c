#pragma once
// Content that follows a JSON schema, as a model with structured outputs would write it: every
// property, array sizes within bounds, enum and const values, numbers within limits, and text made
// from the words of the prompt. Works from the schema alone; it knows no particular step kind.
#include <cstdint>
#include <optional>

#include "mock/schema_keywords.hpp"
#include "mock/text.hpp"

namespace hydrate::mock {

// A JSON value valid against `schema` (local "$ref"s resolve against the schema itself). The same
// schema, words and hash always give the same value; another hash gives other sizes and wording.
// Free-text strings never repeat within one array (no two chapters share a title), and a string
// "answer" next to a non-empty "options" array is one of those options. requested_items, the count
// the prompt asked for, sizes the answer's main list (an array property of the top-level object)
// when its bounds admit it, as a model following its instructions would.
Json answer_from_schema(const Json& schema, const PromptWords& words, std::uint64_t hash,
                        std::optional<std::int64_t> requested_items = std::nullopt);

}  // namespace hydrate::mock
