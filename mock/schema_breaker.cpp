#include "mock/schema_breaker.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "mock/hash.hpp"

namespace hydrate::mock {
namespace {

constexpr std::int64_t kMaxItemsToOverflow = 100;  // past it, overflowing costs too much output

enum class Breach {
  missing_required,
  too_few_items,
  too_many_items,
  duplicate_title,
  answer_not_in_options,
  empty_string,
};

constexpr std::array<Breach, 6> kAllBreaches = {
    Breach::missing_required, Breach::too_few_items,         Breach::too_many_items,
    Breach::duplicate_title,  Breach::answer_not_in_options, Breach::empty_string};

// One place in the answer where a rule can be broken.
struct Candidate {
  Breach breach;
  std::string pointer;  // JSON pointer to the object, array or string concerned
  std::string key;      // the property concerned (objects) or the title property (arrays)
  std::int64_t bound = 0;
};

std::string escape_token(const std::string& key) {
  std::string out;
  for (char c : key) {
    out += c == '~' ? "~0" : (c == '/' ? "~1" : std::string(1, c));
  }
  return out;
}

// Walks the answer next to its schema and lists every rule it could break.
class CandidateFinder {
 public:
  explicit CandidateFinder(const Json& root) : root_(root) {}

  void walk(const Json& value, const Json& raw_schema, const std::string& pointer) {
    Json schema = resolve_schema(root_, raw_schema);
    for (const char* key : {"anyOf", "oneOf"}) {
      if (const Json* branches = list_keyword(schema, key)) {
        schema = matching_branch(*branches, value);
      }
    }
    if (value.is_object()) {
      walk_object(value, schema, pointer);
    } else if (value.is_array()) {
      walk_array(value, schema, pointer);
    } else if (value.is_string() && !value.get<std::string>().empty()) {
      found.push_back({Breach::empty_string, pointer, "", 0});
    }
  }

  std::vector<Candidate> found;

 private:
  Json matching_branch(const Json& branches, const Json& value) const {
    for (const auto& branch : branches) {
      const Json resolved = resolve_schema(root_, branch);
      const std::string type = schema_type(resolved);
      if ((type == "object" && value.is_object()) || (type == "array" && value.is_array()) ||
          (type == "string" && value.is_string())) {
        return resolved;
      }
    }
    return Json::object();
  }

  void walk_object(const Json& value, const Json& schema, const std::string& pointer) {
    if (const Json* required = list_keyword(schema, "required")) {
      for (const auto& key : *required) {
        if (key.is_string() && value.contains(key.get<std::string>())) {
          found.push_back({Breach::missing_required, pointer, key.get<std::string>(), 0});
        }
      }
    }
    const auto answer = value.find("answer");
    const auto options = value.find("options");
    if (answer != value.end() && answer->is_string() && options != value.end() &&
        options->is_array() && !options->empty()) {
      found.push_back({Breach::answer_not_in_options, pointer, "answer", 0});
    }
    const auto properties = schema.find("properties");
    for (const auto& [key, child] : value.items()) {
      const bool described =
          properties != schema.end() && properties->is_object() && properties->contains(key);
      walk(child, described ? (*properties)[key] : Json::object(),
           pointer + "/" + escape_token(key));
    }
  }

  void walk_array(const Json& value, const Json& schema, const std::string& pointer) {
    const auto min_items = count_keyword(schema, "minItems");
    const auto max_items = count_keyword(schema, "maxItems");
    if (min_items && *min_items > 0 && static_cast<std::int64_t>(value.size()) >= *min_items) {
      found.push_back({Breach::too_few_items, pointer, "", *min_items - 1});
    }
    if (max_items && *max_items <= kMaxItemsToOverflow && !value.empty()) {
      found.push_back({Breach::too_many_items, pointer, "", *max_items + 1});
    }
    if (value.size() >= 2 && value[0].is_object()) {
      for (const auto& [key, child] : value[0].items()) {
        if (child.is_string() && is_title_name(key) && value[1].contains(key)) {
          found.push_back({Breach::duplicate_title, pointer, key, 0});
          break;
        }
      }
    }
    const Json items = schema.contains("items") ? schema["items"] : Json::object();
    for (std::size_t i = 0; i < value.size(); ++i) {
      walk(value[i], items, pointer + "/" + std::to_string(i));
    }
  }

  const Json& root_;
};

std::string where(const std::string& pointer) {
  return pointer.empty() ? "/" : pointer;
}

std::string apply_breach(Json& answer, const Candidate& candidate) {
  Json& target = answer.at(Json::json_pointer(candidate.pointer));
  switch (candidate.breach) {
    case Breach::missing_required:
      target.erase(candidate.key);
      return "required property '" + candidate.key + "' missing at " + where(candidate.pointer);
    case Breach::too_few_items:
      while (static_cast<std::int64_t>(target.size()) > candidate.bound) {
        target.erase(target.size() - 1);
      }
      return "array at " + where(candidate.pointer) + " below minItems";
    case Breach::too_many_items:
      while (static_cast<std::int64_t>(target.size()) < candidate.bound) {
        target.push_back(target[target.size() - 1]);
      }
      return "array at " + where(candidate.pointer) + " above maxItems";
    case Breach::duplicate_title:
      target[1][candidate.key] = target[0][candidate.key];
      return "duplicate '" + candidate.key + "' in array at " + where(candidate.pointer);
    case Breach::answer_not_in_options: {
      std::string wrong = "None of the above";
      while (std::find(target["options"].begin(), target["options"].end(), Json(wrong)) !=
             target["options"].end()) {
        wrong += " (really)";
      }
      target["answer"] = wrong;
      return "answer not among options at " + where(candidate.pointer);
    }
    case Breach::empty_string:
      target = "";
      return "empty string at " + where(candidate.pointer);
  }
  return "";
}

}  // namespace

BrokenAnswer break_schema(const Json& schema, const Json& valid, std::uint64_t hash) {
  CandidateFinder finder(schema);
  finder.walk(valid, schema, "");
  // First the kind of breach (each kind the schema offers equally likely), then the place.
  std::vector<Breach> kinds;
  for (Breach kind : kAllBreaches) {
    if (std::any_of(finder.found.begin(), finder.found.end(),
                    [kind](const Candidate& c) { return c.breach == kind; })) {
      kinds.push_back(kind);
    }
  }
  if (kinds.empty()) {
    if (valid.is_object()) {
      return {Json::array({valid}), "an array instead of an object at /"};
    }
    return {Json::object({{"value", valid}}), "an object instead of the expected value at /"};
  }
  const Breach kind = kinds[hash % kinds.size()];
  std::vector<Candidate> places;
  std::copy_if(finder.found.begin(), finder.found.end(), std::back_inserter(places),
               [kind](const Candidate& c) { return c.breach == kind; });
  BrokenAnswer broken{valid, ""};
  broken.breach = apply_breach(broken.value, places[derive(hash, 1) % places.size()]);
  return broken;
}

}  // namespace hydrate::mock
