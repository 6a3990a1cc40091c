#include "mock/response_schema.hpp"

#include <algorithm>
#include <mutex>
#include <utility>

#include "mock/json_writer.hpp"

namespace hydrate::mock {

using namespace std::string_view_literals;
namespace {

// Appends one step ("'items'", "'properties', 'name'") to a strict-mode context, as OpenAI
// writes it; the caller truncates back to the old size.
void push_context(std::string& context, std::string_view step) {
  if (!context.empty()) context += ", ";
  context += step;
}

bool lists_key(const Json& required, const std::string& key) {
  return std::any_of(required.begin(), required.end(), [&](const Json& item) {
    return item.is_string() && item.get_ref<const std::string&>() == key;
  });
}

// Structured outputs in strict mode: every object closes its properties and requires them all.
// `context` is where `schema` sits, in OpenAI's words; it comes back as it was given.
std::optional<std::string> strict_schema_problem(const Json& root, const Json& schema,
                                                 std::string& context, int depth) {
  if (!schema.is_object() || depth > 32) {
    return std::nullopt;
  }
  Json storage;
  const Json& resolved = resolve_schema(root, schema, storage);
  const std::size_t size = context.size();
  if (schema_type(resolved) == "object" && resolved.contains("properties"sv)) {
    const auto closed = resolved.find("additionalProperties"sv);
    if (closed == resolved.end() || *closed != false) {
      return "In context=(" + context +
             "), 'additionalProperties' is required to be supplied and to be false.";
    }
    const Json* required = list_keyword(resolved, "required");
    for (const auto& [key, property] : resolved["properties"].items()) {
      if (required == nullptr || !lists_key(*required, key)) {
        return "In context=(" + context +
               "), 'required' is required to be supplied and to be an array including every key "
               "in properties. Missing '" +
               key + "'.";
      }
      push_context(context, "'properties', '" + key + "'");
      auto problem = strict_schema_problem(root, property, context, depth + 1);
      context.resize(size);
      if (problem) return problem;
    }
  }
  if (const auto items = resolved.find("items"sv); items != resolved.end()) {
    push_context(context, "'items'");
    auto problem = strict_schema_problem(root, *items, context, depth + 1);
    context.resize(size);
    return problem;
  }
  for (const char* key : {"anyOf", "oneOf"}) {
    if (const Json* branches = list_keyword(resolved, key)) {
      for (std::size_t i = 0; i < branches->size(); ++i) {
        push_context(context, "'" + std::string(key) + "', '" + std::to_string(i) + "'");
        auto problem = strict_schema_problem(root, (*branches)[i], context, depth + 1);
        context.resize(size);
        if (problem) return problem;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

ResponseSchema::ResponseSchema(Json value)
    : value_(std::move(value)), dump_(dump_json(value_)), type_(schema_type(value_)) {}

const std::optional<std::string>& ResponseSchema::strict_problem() const {
  // Only when asked: a schema sent without "strict" may be one the check takes long over.
  std::call_once(strict_checked_, [this] {
    std::string context;
    if (value_.is_object()) strict_problem_ = strict_schema_problem(value_, value_, context, 0);
  });
  return strict_problem_;
}

std::shared_ptr<const ResponseSchema> make_response_schema(Json value) {
  return std::make_shared<const ResponseSchema>(std::move(value));
}

const std::shared_ptr<const ResponseSchema>& no_response_schema() {
  static const std::shared_ptr<const ResponseSchema> kNone = make_response_schema(Json());
  return kNone;
}

const std::shared_ptr<const ResponseSchema>& empty_response_schema() {
  static const std::shared_ptr<const ResponseSchema> kEmpty = make_response_schema(Json::object());
  return kEmpty;
}

std::shared_ptr<const ResponseSchema> SchemaCache::find(std::string_view text) const {
  const std::shared_lock lock(mutex_);
  const auto found = by_text_.find(text);
  return found != by_text_.end() ? found->second : nullptr;
}

void SchemaCache::remember(std::string_view text, std::shared_ptr<const ResponseSchema> schema) {
  if (text.size() > kMaxTextBytes) return;
  const std::unique_lock lock(mutex_);
  if (by_text_.size() >= kMaxSchemas) by_text_.clear();
  by_text_.insert_or_assign(std::string(text), std::move(schema));
}

}  // namespace hydrate::mock
