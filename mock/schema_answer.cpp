#include "mock/schema_answer.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <set>
#include <string>

#include "mock/hash.hpp"
#include "mock/utf8.hpp"

namespace hydrate::mock {

using namespace std::string_view_literals;
namespace {

constexpr int kMaxDepth = 12;
constexpr std::int64_t kDefaultItems = 3;
constexpr std::int64_t kMaxExtraItems = 15;  // a real model does not fill "maxItems": 1000
constexpr int kUniqueAttempts = 8;

std::uint64_t name_hash(std::uint64_t hash, const std::string& name) {
  return Hasher(hash).add(name).value();
}

// The kind of free text a property's name asks for, as a model reads a schema; the first that
// matches, in this order.
enum class TextKind {
  markdown,
  identifier,
  title,
  question,
  explanation,
  content,
  objective,
  point,
  option,
  phrase
};

TextKind text_kind_of(const std::string& property) {
  const std::string name = normalized_name(property);
  if (name.find("markdown"sv) != std::string::npos) return TextKind::markdown;
  if (is_identifier_normalized(property, name)) return TextKind::identifier;
  if (is_title_normalized(name)) return TextKind::title;
  if (contains_any(name, {"prompt", "question", "stem"})) return TextKind::question;
  if (contains_any(name, {"summary", "explanation", "description", "overview", "rationale",
                          "feedback", "hint", "reason", "abstract"})) {
    return TextKind::explanation;
  }
  if (contains_any(name, {"content", "body", "text", "paragraph"})) return TextKind::content;
  if (contains_any(name, {"objective", "goal", "outcome"})) return TextKind::objective;
  if (contains_any(name, {"point", "fact", "highlight", "takeaway", "tip", "step"})) {
    return TextKind::point;
  }
  if (contains_any(name, {"option", "choice", "distractor", "alternative", "answer"})) {
    return TextKind::option;
  }
  return TextKind::phrase;
}

// What the generator reads from a property's name, found once per name and answer.
struct NameTraits {
  std::string property;
  TextKind kind;
  bool positional;  // a number in an array item that holds the item's place
};

// Where a value sits: its property (for array items, the array's property) and its position.
struct Slot {
  std::string name;
  std::int64_t index = -1;  // position in the enclosing array, -1 outside arrays
};

class Generator {
 public:
  Generator(const Json& root, const PromptWords& words, std::optional<std::int64_t> requested)
      : root_(root), words_(words), requested_(requested) {}

  Json value(const Json& raw, std::uint64_t hash, const Slot& slot, int depth) const {
    Json storage;
    const Json& schema = resolve_schema(root_, raw, storage);
    if (!schema.is_object()) {
      return make_string(Json::object(), hash, slot);
    }
    if (schema.contains("const"sv)) {
      return schema["const"];
    }
    if (const Json* values = list_keyword(schema, "enum")) {
      return (*values)[hash % values->size()];
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      if (const Json* branches = list_keyword(schema, key)) {
        return value(pick_branch(*branches, hash, depth), derive(hash, 1), slot, depth + 1);
      }
    }
    const std::string type = schema_type(schema);
    if (type == "null" || (depth >= kMaxDepth && allows_null(schema))) {
      return nullptr;
    }
    if (type == "object") return make_object(schema, hash, slot, depth);
    if (type == "array") return make_array(schema, hash, slot, depth);
    if (type == "integer" || type == "number") return make_number(schema, hash, slot, type);
    if (type == "boolean") return derive(hash, 3) % 2 == 0;
    return make_string(schema, hash, slot);
  }

 private:
  // A branch chosen by the hash; past the depth limit a "null" branch ends the recursion.
  const Json& pick_branch(const Json& branches, std::uint64_t hash, int depth) const {
    if (depth >= kMaxDepth) {
      for (const auto& branch : branches) {
        Json storage;
        if (schema_type(resolve_schema(root_, branch, storage)) == "null") {
          return branch;
        }
      }
    }
    return branches[hash % branches.size()];
  }

  static bool allows_null(const Json& schema) {
    const auto type = schema.find("type"sv);
    return type != schema.end() && type->is_array() &&
           std::find(type->begin(), type->end(), Json("null")) != type->end();
  }

  Json make_object(const Json& schema, std::uint64_t hash, const Slot& slot, int depth) const {
    Json object = Json::object();
    const auto properties = schema.find("properties"sv);
    // Past the depth limit a recursive schema gets an empty object: no finite answer exists.
    if (properties == schema.end() || !properties->is_object() || depth >= kMaxDepth) {
      return object;
    }
    // Room for all first: a growing ordered_map copies its members, subtrees and all. The names
    // are the keys of an object, so each is new: appended, not looked up first.
    auto& members = object.get_ref<Json::object_t&>();
    members.reserve(properties->size());
    for (const auto& [name, property] : properties->items()) {
      // Properties of an array item know its position ("position": index + 1).
      members.emplace_back(
          name, value(property, name_hash(hash, name), Slot{name, slot.index}, depth + 1));
    }
    // A convention a model follows from its prompt: the answer is one of the offered options.
    const auto answer = object.find("answer"sv);
    const auto options = object.find("options"sv);
    Json storage;
    if (answer == object.end() || options == object.end() || !options->is_array() ||
        options->empty() ||
        resolve_schema(root_, (*properties)["answer"], storage).contains("enum"sv)) {
      return object;
    }
    const std::uint64_t pick = derive(hash, 0xA45);
    if (answer->is_string() && (*options)[0].is_string()) {
      *answer = (*options)[pick % options->size()];
    } else if (answer->is_number_integer()) {
      *answer = static_cast<std::int64_t>(pick % options->size());
    }
    return object;
  }

  Json make_array(const Json& schema, std::uint64_t hash, const Slot& slot, int depth) const {
    const auto min_items = count_keyword(schema, "minItems");
    const auto max_items = count_keyword(schema, "maxItems");
    std::int64_t count = kDefaultItems;
    if (min_items && max_items) {
      count = pick_in_range(derive(hash, 0xC0), *min_items,
                            std::min(*max_items, *min_items + kMaxExtraItems));
    } else if (min_items) {
      count = std::max(*min_items, kDefaultItems);
    } else if (max_items) {
      count = std::min(*max_items, kDefaultItems);
    }
    if (depth == 1 && requested_ && *requested_ >= min_items.value_or(0) &&
        *requested_ <= max_items.value_or(*requested_)) {
      count = *requested_;
    }
    if (depth >= kMaxDepth) {
      count = min_items.value_or(0);
    }
    static const Json kAnything = Json::object();
    const auto found_items = schema.find("items"sv);
    const Json& items = found_items != schema.end() ? *found_items : kAnything;
    Json storage;
    const Json& item_schema = resolve_schema(root_, items, storage);
    Json array = Json::array();
    std::map<std::string, std::set<std::string>> seen;  // property ("" for strings) -> values
    for (std::int64_t i = 0; i < count; ++i) {
      const Slot item_slot{slot.name, i};
      const std::uint64_t item_hash = derive(hash, static_cast<std::uint64_t>(i) + 1);
      Json item = value(items, item_hash, item_slot, depth + 1);
      make_unique(item, item_schema, item_hash, item_slot, seen);
      array.push_back(std::move(item));
    }
    return array;
  }

  // Rewrites free-text strings of an array item that repeat an earlier item's (titles, options).
  void make_unique(Json& item, const Json& schema, std::uint64_t hash, const Slot& slot,
                   std::map<std::string, std::set<std::string>>& seen) const {
    if (item.is_string()) {
      unique_string(item, schema, hash, slot, seen[""]);
      return;
    }
    const auto properties = schema.find("properties"sv);
    if (!item.is_object() || properties == schema.end() || !properties->is_object()) {
      return;
    }
    for (auto& [name, property] : item.items()) {
      if (property.is_string() && name != "answer" && properties->contains(name)) {
        Json storage;
        unique_string(property, resolve_schema(root_, (*properties)[name], storage),
                      name_hash(hash, name), Slot{name, slot.index}, seen[name]);
      }
    }
  }

  void unique_string(Json& text, const Json& schema, std::uint64_t hash, const Slot& slot,
                     std::set<std::string>& seen) const {
    if (schema.contains("enum"sv) || schema.contains("const"sv) ||
        schema_type(schema) != "string") {
      return;
    }
    for (std::uint64_t attempt = 1;
         attempt <= kUniqueAttempts && seen.count(text.get<std::string>()) > 0; ++attempt) {
      text = make_string(schema, derive(hash, 0x5A17 + attempt), slot);
    }
    if (seen.count(text.get<std::string>()) > 0) {
      // Still taken (a prompt with few words): number it, keeping a title within six words.
      std::string base = text.get<std::string>();
      if (is_title_name(slot.name) && count_words(base) > 5) {
        base = base.substr(0, base.rfind(' '));
      }
      text = base + " " + std::to_string(slot.index + 1);
    }
    seen.insert(text.get<std::string>());
  }

  Json make_number(const Json& schema, std::uint64_t hash, const Slot& slot,
                   const std::string& type) const {
    const bool integer = type == "integer";
    const double step = integer ? 1.0 : 0.01;
    std::optional<double> lo = number_keyword(schema, "minimum");
    std::optional<double> hi = number_keyword(schema, "maximum");
    if (const auto exclusive = number_keyword(schema, "exclusiveMinimum")) lo = *exclusive + step;
    if (const auto exclusive = number_keyword(schema, "exclusiveMaximum")) hi = *exclusive - step;
    const double low = lo ? *lo : (hi ? *hi - 9.0 : 1.0);
    const double high = std::max(low, hi ? *hi : low + 9.0);
    if (slot.index >= 0 && traits_of(slot.name).positional) {
      // The item's place in its array, kept within the limits the schema states.
      double position = static_cast<double>(slot.index + 1);
      if (lo) position = std::max(position, *lo);
      if (hi) position = std::min(position, *hi);
      return integer ? Json(static_cast<std::int64_t>(std::ceil(position))) : Json(position);
    }
    if (integer) {
      return pick_in_range(hash, static_cast<std::int64_t>(std::ceil(low)),
                           static_cast<std::int64_t>(std::floor(high)));
    }
    return std::clamp(std::round((low + unit_interval(hash) * (high - low)) * 100.0) / 100.0, low,
                      high);
  }

  Json make_string(const Json& schema, std::uint64_t hash, const Slot& slot) const {
    std::string text = free_text(string_keyword(schema, "format"), hash, slot);
    const auto min_length = count_keyword(schema, "minLength").value_or(0);
    for (std::uint64_t i = 0;
         min_length > 0 && count_chars(text) < static_cast<std::size_t>(min_length); ++i) {
      text += " " + make_phrase(words_, derive(hash, 0x1E6 + i), 3, 6);
    }
    if (const auto max_length = count_keyword(schema, "maxLength")) {
      text = take_chars(text, static_cast<std::size_t>(*max_length));
      while (!text.empty() && text.back() == ' ') text.pop_back();
    }
    return text;
  }

  // Text whose kind follows the property name, as a model reads a schema.
  std::string free_text(const std::string& format, std::uint64_t hash, const Slot& slot) const {
    if (format == "date-time") return "2025-01-15T10:00:00Z";
    if (format == "date") return "2025-01-15";
    if (format == "email") return "learner@example.com";
    if (format == "uri" || format == "url") return "https://example.com/" + slug(hash);
    switch (traits_of(slot.name).kind) {
      case TextKind::markdown:
        return make_markdown(words_, hash);
      case TextKind::identifier:
        return slug(hash);
      case TextKind::title:
        return make_title(words_, hash);
      case TextKind::question:
        return derive(hash, 2) % 3 == 0
                   ? make_sentences(words_, hash, 1) + " " + make_question(words_, derive(hash, 4))
                   : make_question(words_, hash);
      case TextKind::explanation:
        return make_sentences(words_, hash, static_cast<int>(pick_in_range(hash, 1, 2)));
      case TextKind::content:
        return make_sentences(words_, hash, static_cast<int>(pick_in_range(hash, 2, 3)));
      case TextKind::objective:
        return make_objective(words_, hash);
      case TextKind::point:
        return make_sentences(words_, hash, 1);
      case TextKind::option:
        return make_phrase(words_, hash, 2, 5);
      case TextKind::phrase:
        break;
    }
    return make_phrase(words_, hash, 2, 6);
  }

  // The traits of a property name, from names_ (a schema has few names, met again and again).
  const NameTraits& traits_of(const std::string& property) const {
    for (const NameTraits& known : names_) {
      if (known.property == property) return known;
    }
    return names_.emplace_back(NameTraits{
        property, text_kind_of(property),
        contains_any(normalized_name(property), {"position", "index", "order", "rank", "number"})});
  }

  std::string slug(std::uint64_t hash) const {
    std::string out;
    for (const auto& word : words_.pick_distinct(hash, 2)) {
      out += (out.empty() ? "" : "-") + normalized_name(std::string(word));
    }
    return out + "-" + std::to_string(hash % 1000);
  }

  const Json& root_;
  const PromptWords& words_;
  std::optional<std::int64_t> requested_;
  mutable std::deque<NameTraits> names_;  // a deque: a reference to one stays valid as it grows
};

}  // namespace

Json answer_from_schema(const Json& schema, const PromptWords& words, std::uint64_t hash,
                        std::optional<std::int64_t> requested_items) {
  return Generator(schema, words, requested_items).value(schema, hash, Slot{}, 0);
}

}  // namespace hydrate::mock
