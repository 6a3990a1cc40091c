#include "mock/runaway.hpp"

#include "mock/utf8.hpp"
#include "mock/wire.hpp"

namespace hydrate::mock {
namespace {

constexpr const char* kSentinel = "\x01hydrate-runaway\x01";
constexpr int kMaxDepth = 32;

bool unbounded_string(const Json& schema) {
  return schema_type(schema) == "string" && !schema.contains("maxLength") &&
         !schema.contains("enum") && !schema.contains("const") && !schema.contains("format");
}

// Replaces the first unbounded string of `value` (in document order) with the sentinel; returns
// its path and original text, or nothing.
std::optional<std::pair<std::string, std::string>> mark(const Json& root, const Json& raw_schema,
                                                        Json& value, const std::string& path,
                                                        int depth) {
  if (depth > kMaxDepth) return std::nullopt;
  Json storage;
  const Json& schema = resolve_schema(root, raw_schema, storage);
  if (value.is_string()) {
    if (!unbounded_string(schema)) return std::nullopt;
    std::string original = value.get<std::string>();
    value = kSentinel;
    return std::pair{path, std::move(original)};
  }
  if (value.is_object() && schema.contains("properties") && schema["properties"].is_object()) {
    for (auto& [name, member] : value.items()) {
      if (!schema["properties"].contains(name)) continue;
      const std::string inner = path.empty() ? name : path + "." + name;
      if (auto found = mark(root, schema["properties"][name], member, inner, depth + 1)) {
        return found;
      }
    }
  }
  if (value.is_array() && schema.contains("items")) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      const std::string inner = path + "[" + std::to_string(i) + "]";
      if (auto found = mark(root, schema["items"], value[i], inner, depth + 1)) return found;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<RunawayAnswer> run_away(const Json& schema, const Json& value,
                                      std::int64_t max_tokens) {
  Json marked = value;
  const auto found = mark(schema, schema, marked, "", 0);
  if (!found || max_tokens <= 0) return std::nullopt;
  const std::string dumped = marked.dump(-1, ' ', false, Json::error_handler_t::replace);
  const std::string sentinel = Json(kSentinel).dump();
  const std::size_t at = dumped.find(sentinel);
  if (at == std::string::npos) return std::nullopt;
  // The model repeats what it was writing, as a looping model does, until the cut.
  std::string content = dumped.substr(0, at + 1);  // up to the opening quote
  std::string loop = found->second.empty() ? "and so on" : found->second;
  for (char& c : loop) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  const auto wanted_chars = static_cast<std::size_t>(max_tokens) * 4;
  for (std::uint64_t i = 0; count_chars(content) < wanted_chars; ++i) {
    content += (i == 0 ? "" : " ") + loop;
    if (i > wanted_chars) break;  // a loop of nothing cannot grow the content
  }
  content = take_chars(content, wanted_chars);
  if (tokens_for(content) > max_tokens) return std::nullopt;
  return RunawayAnswer{std::move(content), found->first};
}

}  // namespace hydrate::mock
