#include "mock/schema_keywords.hpp"

#include <algorithm>
#include <initializer_list>

#include "mock/ascii.hpp"

namespace hydrate::mock {

using namespace std::string_view_literals;
namespace {

Json merge_all_of(const Json& root, const Json& schema) {
  Json merged = schema;
  merged.erase("allOf");
  for (const auto& part : schema["allOf"]) {
    const Json resolved = resolve_schema(root, part);
    if (!resolved.is_object()) {
      continue;
    }
    for (const auto& [key, value] : resolved.items()) {
      if (key == "properties" && merged.contains(key) && merged[key].is_object() &&
          value.is_object()) {
        merged[key].update(value);
      } else if (key == "required" && merged.contains(key) && merged[key].is_array() &&
                 value.is_array()) {
        merged[key].insert(merged[key].end(), value.begin(), value.end());
      } else {
        merged[key] = value;
      }
    }
  }
  return merged;
}

}  // namespace

Json resolve_schema(const Json& root, const Json& schema) {
  Json current = schema;
  for (int hops = 0; hops < 32 && current.is_object() && current.contains("$ref"sv); ++hops) {
    const std::string ref = string_keyword(current, "$ref");
    if (ref.empty() || ref[0] != '#') {
      return Json::object();
    }
    try {
      Json target = root.at(Json::json_pointer(ref.substr(1)));
      if (!target.is_object()) {
        return Json::object();
      }
      current.erase("$ref");
      for (const auto& [key, value] : current.items()) {
        target[key] = value;  // keywords next to "$ref" (a description) apply too
      }
      current = std::move(target);
    } catch (const Json::exception&) {
      return Json::object();
    }
  }
  if (current.is_object() && current.contains("allOf"sv) && current["allOf"].is_array()) {
    return merge_all_of(root, current);
  }
  return current;
}

const Json& resolve_schema(const Json& root, const Json& schema, Json& storage) {
  if (!schema.is_object()) return schema;
  const auto all_of = schema.find("allOf"sv);
  if (!schema.contains("$ref"sv) && (all_of == schema.end() || !all_of->is_array())) return schema;
  storage = resolve_schema(root, schema);
  return storage;
}

std::string schema_type(const Json& schema) {
  if (!schema.is_object()) {
    return "";
  }
  const auto type = schema.find("type"sv);
  if (type != schema.end() && type->is_string()) {
    return type->get<std::string>();
  }
  if (type != schema.end() && type->is_array() && !type->empty()) {
    for (const auto& entry : *type) {
      if (entry.is_string() && entry != "null") {
        return entry.get<std::string>();
      }
    }
    return "null";
  }
  if (schema.contains("properties"sv)) return "object";
  if (schema.contains("items"sv)) return "array";
  return "";
}

std::optional<double> number_keyword(const Json& schema, std::string_view key) {
  const auto found = schema.find(key);
  if (found == schema.end() || !found->is_number()) {
    return std::nullopt;
  }
  return found->get<double>();
}

std::optional<std::int64_t> count_keyword(const Json& schema, std::string_view key) {
  const auto found = schema.find(key);
  if (found == schema.end() || !found->is_number_integer() || found->get<std::int64_t>() < 0) {
    return std::nullopt;
  }
  return found->get<std::int64_t>();
}

std::string string_keyword(const Json& schema, std::string_view key) {
  const auto found = schema.find(key);
  return found != schema.end() && found->is_string() ? found->get<std::string>() : std::string();
}

const Json* list_keyword(const Json& schema, std::string_view key) {
  const auto found = schema.find(key);
  if (found == schema.end() || !found->is_array() || found->empty()) {
    return nullptr;
  }
  return &*found;
}

std::string normalized_name(const std::string& property) {
  std::string out;
  for (char c : property) {
    if (ascii::is_alnum(static_cast<unsigned char>(c))) {
      out += ascii::to_lower(c);
    }
  }
  return out;
}

bool contains_any(std::string_view haystack, std::initializer_list<std::string_view> needles) {
  return std::any_of(needles.begin(), needles.end(), [&](std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
  });
}

bool is_title_name(const std::string& property) {
  return is_title_normalized(normalized_name(property));
}

bool is_title_normalized(std::string_view normalized) {
  return contains_any(normalized, {"title", "heading", "name", "topic", "chapter", "label"});
}

bool is_identifier_name(const std::string& property) {
  return is_identifier_normalized(property, normalized_name(property));
}

bool is_identifier_normalized(std::string_view property, std::string_view normalized) {
  return normalized == "id" || normalized == "uuid" || normalized == "slug" ||
         property.ends_with("Id") || property.ends_with("_id") || property.ends_with("ID");
}

}  // namespace hydrate::mock
