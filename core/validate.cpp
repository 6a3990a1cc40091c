#include "core/validate.hpp"

#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/language.hpp"
#include "core/prompts.hpp"
#include "core/text_guard.hpp"
#include "core/tsv.hpp"

namespace hydrate {

using nlohmann::json;

namespace {

struct Invalid {
  std::string message;
};

[[noreturn]] void reject(std::string message) {
  throw Invalid{std::move(message)};
}

const json& field(const json& object, const char* name, const std::string& where) {
  auto it = object.find(name);
  if (it == object.end()) reject(fmt::format("{} is missing \"{}\"", where, name));
  return *it;
}

// A trimmed, non-empty string of valid UTF-8 without control characters, at most max bytes.
// Multi-line fields (markdown, question texts) keep newlines and tabs, with CRLF and lone CR
// turned into LF; every other C0 or C1 control character, DEL and NUL included, rejects the
// answer rather than being stripped, because an answer carrying them is broken or hostile, and
// the re-ask tells the model why. Whatever the text says — "ignore previous instructions", a fake
// "<|im_start|>system" marker — is kept as inert data: nothing here or downstream interprets it,
// and the prompts that quote it tell the model it is data.
std::string text_field(const json& object, const char* name, const std::string& where,
                       std::size_t max, bool multiline = false) {
  const json& value = field(object, name, where);
  if (!value.is_string()) reject(fmt::format("{}.{} must be a string", where, name));
  const std::string& raw = value.get_ref<const std::string&>();
  // The JSON parser already refuses invalid UTF-8; checked again because nothing that is not
  // UTF-8 may reach the store (PostgreSQL refuses it), whatever parser produced the value.
  if (!is_valid_utf8(raw)) reject(fmt::format("{}.{} is not valid UTF-8", where, name));
  std::string text = trim(multiline ? normalize_newlines(raw) : raw);
  if (text.empty()) reject(fmt::format("{}.{} is empty", where, name));
  if (text.size() > max) reject(fmt::format("{}.{} is longer than {} bytes", where, name, max));
  if (auto control = first_control_character(text, multiline ? "\n\t" : "")) {
    reject(fmt::format("{}.{} contains the control character U+{:04X}", where, name,
                       static_cast<std::uint32_t>(*control)));
  }
  return text;
}

const json& array_field(const json& object, const char* name, const std::string& where, int min,
                        int max) {
  const json& value = field(object, name, where);
  if (!value.is_array()) reject(fmt::format("{}.{} must be an array", where, name));
  auto size = static_cast<int>(value.size());
  if (size < min || size > max) {
    reject(fmt::format("{}.{} has {} items; it must have between {} and {}", where, name, size, min,
                       max));
  }
  return value;
}

std::vector<std::string> string_list(const json& object, const char* name, const std::string& where,
                                     int min, int max, std::size_t max_length) {
  const json& array = array_field(object, name, where, min, max);
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < array.size(); ++i) {
    json holder = {{"item", array[i]}};
    std::string item =
        text_field(holder, "item", fmt::format("{}.{}[{}]", where, name, i), max_length);
    if (!seen.insert(to_lower(item)).second) {
      reject(fmt::format("{}.{} repeats \"{}\"", where, name, item));
    }
    out.push_back(std::move(item));
  }
  return out;
}

void check_unique_title(std::set<std::string>& seen, const std::string& title, const char* what) {
  if (!seen.insert(to_lower(title)).second) {
    reject(fmt::format("two {} have the same title \"{}\"", what, title));
  }
}

void parse_subject(const json& root, const ItemBounds& bounds, const TextLimits& limits,
                   store::StepOutput& out) {
  const json& chapters = array_field(root, "chapters", "answer", bounds.min, bounds.max);
  std::set<std::string> titles;
  for (std::size_t i = 0; i < chapters.size(); ++i) {
    std::string where = fmt::format("chapters[{}]", i);
    if (!chapters[i].is_object()) reject(where + " must be an object");
    ChapterPlan plan{text_field(chapters[i], "title", where, limits.max_title),
                     text_field(chapters[i], "summary", where, limits.max_text)};
    check_unique_title(titles, plan.title, "chapters");
    out.chapters.push_back(std::move(plan));
  }
}

void parse_chapter(const json& root, const ItemBounds& bounds, const TextLimits& limits,
                   store::StepOutput& out) {
  const json& topics = array_field(root, "topics", "answer", bounds.min, bounds.max);
  std::set<std::string> titles;
  for (std::size_t i = 0; i < topics.size(); ++i) {
    std::string where = fmt::format("topics[{}]", i);
    if (!topics[i].is_object()) reject(where + " must be an object");
    TopicPlan plan{text_field(topics[i], "title", where, limits.max_title),
                   string_list(topics[i], "objectives", where, 2, 4, limits.max_text)};
    check_unique_title(titles, plan.title, "topics");
    out.topics.push_back(std::move(plan));
  }
}

void parse_note(const json& root, const ItemBounds& bounds, const TextLimits& limits,
                store::StepOutput& out) {
  Note note;
  note.markdown = text_field(root, "markdown", "answer", limits.max_markdown, true);
  if (note.markdown.size() < limits.min_markdown) {
    reject(fmt::format("answer.markdown is shorter than {} bytes", limits.min_markdown));
  }
  note.key_points =
      string_list(root, "keyPoints", "answer", bounds.min, bounds.max, limits.max_text);
  out.note = std::move(note);
}

void parse_questions(const json& root, const ItemBounds& bounds, const TextLimits& limits,
                     store::StepOutput& out) {
  const json& questions = array_field(root, "questions", "answer", bounds.min, bounds.max);
  std::set<std::string> prompts;
  for (std::size_t i = 0; i < questions.size(); ++i) {
    std::string where = fmt::format("questions[{}]", i);
    const json& item = questions[i];
    if (!item.is_object()) reject(where + " must be an object");
    Question q;
    q.type = text_field(item, "type", where, 16);
    q.prompt = text_field(item, "prompt", where, limits.max_text, true);
    q.answer = text_field(item, "answer", where, limits.max_text, true);
    q.explanation = text_field(item, "explanation", where, limits.max_text, true);
    q.difficulty = text_field(item, "difficulty", where, 16);
    if (q.difficulty != "easy" && q.difficulty != "medium" && q.difficulty != "hard") {
      reject(where + ".difficulty must be easy, medium or hard");
    }
    if (q.type == "mcq") {
      q.options = string_list(item, "options", where, 4, 4, limits.max_title * 2);
      bool found = false;
      for (const auto& option : q.options) found = found || option == q.answer;
      if (!found) reject(where + ".answer is not one of its options");
    } else if (q.type == "short") {
      string_list(item, "options", where, 0, 0, 1);
    } else {
      reject(where + ".type must be \"mcq\" or \"short\"");
    }
    check_unique_title(prompts, q.prompt, "questions");
    out.questions.push_back(std::move(q));
  }
}

// Everything the step would store, joined, so that the language is judged on the whole answer:
// one short title alone is too little for CLD2 to tell.
std::string stored_text(const store::StepOutput& out) {
  std::string text;
  auto add = [&text](const std::string& field) { text.append(field).append("\n"); };
  for (const auto& chapter : out.chapters) {
    add(chapter.title);
    add(chapter.summary);
  }
  for (const auto& topic : out.topics) {
    add(topic.title);
    for (const auto& objective : topic.objectives) add(objective);
  }
  if (out.note) {
    add(out.note->markdown);
    for (const auto& point : out.note->key_points) add(point);
  }
  for (const auto& question : out.questions) {
    add(question.prompt);
    for (const auto& option : question.options) add(option);
    add(question.answer);
    add(question.explanation);
  }
  return text;
}

}  // namespace

std::string_view strip_code_fence(std::string_view content) {
  auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!content.empty() && is_space(content.front())) content.remove_prefix(1);
  while (!content.empty() && is_space(content.back())) content.remove_suffix(1);
  if (content.substr(0, 3) == "```" && content.size() >= 6 &&
      content.substr(content.size() - 3) == "```") {
    std::size_t newline = content.find('\n');
    if (newline != std::string_view::npos && newline < content.size() - 3) {
      content = content.substr(newline + 1, content.size() - 3 - (newline + 1));
      while (!content.empty() && is_space(content.back())) content.remove_suffix(1);
    }
  }
  return content;
}

Result<store::StepOutput> parse_step_output(JobKind kind, const StepInput& input,
                                            std::string_view content, const TextLimits& limits) {
  // One surrounding fence is tolerated (models add them despite the schema); anything else
  // around the JSON — prose, a second fence — fails to parse and is re-asked.
  std::string_view body = strip_code_fence(content);
  // nlohmann::json parses iteratively, but copying or printing a value recurses: bound the depth
  // before anything is built, so no hostile answer can exhaust the stack.
  if (json_nesting_depth(body, limits.max_json_depth) > limits.max_json_depth) {
    return make_error(ErrorKind::invalid_input,
                      fmt::format("the answer nests deeper than {} levels", limits.max_json_depth));
  }
  // Without exceptions: besides parse_error, nlohmann::json throws out_of_range for a number
  // too large for a double (1e400), which escaped a catch of parse_error alone and ended the
  // worker (found by the fuzzer: tests/fuzz/regressions/number-overflow-escapes-parse). The
  // message does not quote the offending bytes, which may be anything.
  json root = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    return make_error(ErrorKind::invalid_input,
                      "the answer is not valid JSON (or not UTF-8, or has text around it)");
  }
  if (!root.is_object())
    return make_error(ErrorKind::invalid_input, "the answer must be a JSON object");
  store::StepOutput out;
  try {
    ItemBounds bounds = item_bounds(kind, input);
    switch (kind) {
      case JobKind::subject:
        parse_subject(root, bounds, limits, out);
        break;
      case JobKind::chapter:
        parse_chapter(root, bounds, limits, out);
        break;
      case JobKind::note:
        parse_note(root, bounds, limits, out);
        break;
      case JobKind::questions:
        parse_questions(root, bounds, limits, out);
        break;
    }
  } catch (const Invalid& invalid) {
    return make_error(ErrorKind::invalid_input, invalid.message);
  } catch (const json::exception& e) {
    return make_error(ErrorKind::invalid_input,
                      std::string("the answer is malformed: ") + e.what());
  }
  if (auto mismatch =
          find_language_mismatch(stored_text(out), input.slot.language, limits.language)) {
    return make_error(ErrorKind::invalid_input, std::move(*mismatch));
  }
  return out;
}

}  // namespace hydrate
