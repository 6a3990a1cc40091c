#pragma once
// Reading JSON Schema keywords defensively: the schema comes from a request, so any keyword may
// be missing or of the wrong JSON type. Shared by the answer generator and the schema breaker.
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace hydrate::mock {

using Json = nlohmann::ordered_json;

// `schema` with its "$ref" chain followed (local references, "#/…", against `root`) and "allOf"
// merged into one schema. An unresolvable reference gives an empty schema (anything goes).
Json resolve_schema(const Json& root, const Json& schema);
// The same schema without a copy when there is nothing to resolve (no "$ref", no "allOf" array:
// `schema` itself, the usual case), else resolve_schema's result kept in `storage`. The reference
// is valid while `schema`, `root` and `storage` are.
const Json& resolve_schema(const Json& root, const Json& schema, Json& storage);

// The single non-null type the schema asks for: "object", "array", "string", "integer",
// "number", "boolean", "null", or "" when it names none and its keywords do not tell.
std::string schema_type(const Json& schema);

// A numeric keyword ("minimum", "maxItems" …); empty when absent or not a number.
std::optional<double> number_keyword(const Json& schema, std::string_view key);
// A non-negative integer keyword ("minItems", "maxLength" …); empty when absent or invalid.
std::optional<std::int64_t> count_keyword(const Json& schema, std::string_view key);
// A string keyword ("format" …); empty when absent or not a string.
std::string string_keyword(const Json& schema, std::string_view key);
// The non-empty array of an "enum", "anyOf" or "oneOf"; nullptr when absent or empty.
const Json* list_keyword(const Json& schema, std::string_view key);

// True when `haystack` holds any of `needles` (a word of a property name's conventions).
bool contains_any(std::string_view haystack, std::initializer_list<std::string_view> needles);

// A property name lowercased with everything but letters and digits removed ("key_points" ->
// "keypoints"), for matching names against conventions.
std::string normalized_name(const std::string& property);
// True for property names that hold titles ("title", "chapterTitle", "name", "heading").
bool is_title_name(const std::string& property);
// True for property names that hold identifiers ("id", "jobId", "chapter_id", "slug").
bool is_identifier_name(const std::string& property);
// The same two for a property whose normalized_name the caller has already made.
bool is_title_normalized(std::string_view normalized);
bool is_identifier_normalized(std::string_view property, std::string_view normalized);

}  // namespace hydrate::mock
