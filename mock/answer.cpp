#include "mock/answer.hpp"

#include <optional>
#include <string_view>

#include "mock/hash.hpp"
#include "mock/json_reader.hpp"
#include "mock/json_writer.hpp"
#include "mock/schema_answer.hpp"
#include "mock/text.hpp"

namespace hydrate::mock {

using namespace std::string_view_literals;
namespace {

constexpr std::size_t kFewWords = 5;

bool looks_like_schema(const Json& value) {
  return value.is_object() && (value.contains("properties"sv) || value.contains("$schema"sv) ||
                               (value.contains("type"sv) && value["type"] == "object"));
}

// The end of the balanced {...} starting at `start`, skipping braces inside strings; npos when
// it never closes.
std::size_t balanced_end(std::string_view text, std::size_t start) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = start; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth == 0) {
      return i;
    }
  }
  return std::string_view::npos;
}

// The count a user message asks for, as in "between 3 and 7 chapters (about 5)".
std::optional<std::int64_t> requested_count(const ChatRequest& request) {
  static constexpr std::string_view kMarker = "(about ";
  for (const auto& message : request.messages) {
    if (message.role != "user") continue;
    const std::string& text = message.content;
    for (auto at = text.find(kMarker); at != std::string::npos; at = text.find(kMarker, at + 1)) {
      std::size_t digits = at + kMarker.size(), end = digits;
      while (end < text.size() && end - digits < 6 && text[end] >= '0' && text[end] <= '9') ++end;
      if (end > digits && end < text.size() && text[end] == ')') {
        return std::stoll(text.substr(digits, end - digits));
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::uint64_t content_hash(std::uint64_t seed, const ChatRequest& request) {
  Hasher hasher(seed);
  hasher.add(request.model).add(static_cast<std::uint64_t>(request.format));
  for (const auto& message : request.messages) {
    hasher.add(message.role).add(message.content);
  }
  return hasher.add(request.schema->dump()).value();
}

std::optional<Json> find_schema_in_text(std::string_view text) {
  for (std::size_t start = text.find('{'); start != std::string_view::npos;) {
    const std::size_t end = balanced_end(text, start);
    if (end == std::string_view::npos) {
      return std::nullopt;
    }
    Json value = parse_json(text.substr(start, end - start + 1));
    if (!value.is_discarded() && looks_like_schema(value)) {
      return value;
    }
    start = text.find('{', end + 1);
  }
  return std::nullopt;
}

Language requested_language(const ChatRequest& request) {
  static constexpr std::string_view kMarker = "in the language with code \"";
  for (const auto& message : request.messages) {
    const std::size_t at = message.content.find(kMarker);
    if (at == std::string::npos) continue;
    const std::size_t start = at + kMarker.size();
    const std::size_t end = message.content.find('"', start);
    if (end == std::string::npos || end - start > 16) return Language::en;
    return parse_language(std::string_view(message.content).substr(start, end - start))
        .value_or(Language::en);
  }
  return Language::en;
}

Answer compose_answer(const ChatRequest& request, std::uint64_t hash) {
  return compose_answer(request, hash, requested_language(request));
}

Answer compose_answer(const ChatRequest& request, std::uint64_t hash, Language language) {
  const std::string& last = last_user_text(request);
  const std::string& source =
      count_words(last, kFewWords) >= kFewWords ? last : all_message_text(request);
  // English prompt words make English text; text in any other language, or English text that
  // answers a request for another language, takes only its own lexicon's words from the prompt.
  const PromptWords words = language == Language::en && requested_language(request) == Language::en
                                ? PromptWords(source)
                                : PromptWords(source, language);
  static const Json kNoSchema = Json::object();
  Answer answer;
  answer.schema = &kNoSchema;
  if (request.format == ResponseFormat::json_schema) {
    answer.schema = &request.schema->value();
  } else if (mentions_json(request)) {
    // Without structured outputs a model follows a schema spelled out in its instructions.
    for (const auto& message : request.messages) {
      if (auto schema = find_schema_in_text(message.content)) {
        answer.prompt_schema = std::make_unique<const Json>(std::move(*schema));
        answer.schema = answer.prompt_schema.get();
        break;
      }
    }
  }
  if (!answer.schema->empty()) {
    answer.json = answer_from_schema(*answer.schema, words, hash, requested_count(request));
  } else if (request.format != ResponseFormat::text || mentions_json(request)) {
    answer.json = Json{{"answer", make_sentences(words, hash, 2)}};
  }
  if (answer.json) {
    answer.content = dump_json(*answer.json, Json::error_handler_t::replace);
  } else {
    answer.content = make_sentences(words, derive(hash, 1), 3) + "\n\n" +
                     make_sentences(words, derive(hash, 2), 2);
  }
  return answer;
}

}  // namespace hydrate::mock
