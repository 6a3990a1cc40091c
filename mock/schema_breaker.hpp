#pragma once
// Schema-invalid answers for the "invalid" fault: well-formed JSON that breaks one rule of the
// request's schema, the way a model sometimes ignores part of its instructions.
#include <cstdint>
#include <string>

#include "mock/schema_keywords.hpp"

namespace hydrate::mock {

struct BrokenAnswer {
  Json value;
  std::string breach;  // what was broken, e.g. "required property 'title' missing at /chapters/1"
};

// `valid` (an answer that satisfies `schema`) with one rule broken, chosen by the hash among those
// the schema has: a required property missing, an array below minItems or above maxItems, two
// equal titles in an array, an "answer" that is not among its "options", an empty string. When the
// schema offers none of these, the answer has the wrong type at its root.
BrokenAnswer break_schema(const Json& schema, const Json& valid, std::uint64_t hash);

}  // namespace hydrate::mock
