#pragma once
// A request's response_format schema with what the endpoint derives from the schema alone, and
// the cache of them by their exact text: a worker sends the same few schemas with every request,
// and reading one, checking it against the strict rules and writing it out for the content hash
// cost more than a third of what the endpoint spent on a request.
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "mock/schema_keywords.hpp"

namespace hydrate::mock {

// Immutable once made (its strict_problem is found once, when first asked); shared by every
// request that sent its text.
class ResponseSchema {
 public:
  explicit ResponseSchema(Json value);

  const Json& value() const { return value_; }
  // dump_json(value()), which the content hash takes.
  const std::string& dump() const { return dump_; }
  // schema_type(value()).
  const std::string& type() const { return type_; }
  // Where the schema breaks the structured-outputs rules of strict mode (every object closes its
  // properties and requires them all), in OpenAI's words without the schema's name; empty when it
  // keeps them, or when value() is not an object.
  const std::optional<std::string>& strict_problem() const;

 private:
  Json value_;
  std::string dump_;
  std::string type_;
  mutable std::once_flag strict_checked_;
  mutable std::optional<std::string> strict_problem_;
};

// `value` with what derives from it.
std::shared_ptr<const ResponseSchema> make_response_schema(Json value);
// The schema of a request whose response_format is not json_schema: null.
const std::shared_ptr<const ResponseSchema>& no_response_schema();
// The schema of a json_schema request that gave none: an empty object.
const std::shared_ptr<const ResponseSchema>& empty_response_schema();

// Schemas by the text they were read from. Safe to share between threads.
class SchemaCache {
 public:
  static constexpr std::size_t kMaxSchemas = 64;
  static constexpr std::size_t kMaxTextBytes = 256 * 1024;

  // The schema remembered for exactly this text; null when there is none.
  std::shared_ptr<const ResponseSchema> find(std::string_view text) const;
  // Remembers `schema` as the one read from `text`, unless the text is longer than
  // kMaxTextBytes. Past kMaxSchemas texts, all are forgotten first: a worker's few schemas come
  // back at once.
  void remember(std::string_view text, std::shared_ptr<const ResponseSchema> schema);

 private:
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const {
      return std::hash<std::string_view>()(text);
    }
  };
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const ResponseSchema>, TextHash, std::equal_to<>>
      by_text_;
};

}  // namespace hydrate::mock
