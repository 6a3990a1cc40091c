#include "core/prompts.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include "core/memo.hpp"
#include "core/resources.hpp"
#include "core/validate.hpp"

namespace hydrate {

using nlohmann::json;

ItemBounds item_bounds(JobKind kind, const StepInput& input) {
  switch (kind) {
    case JobKind::subject: {
      int n = input.options.chapters;
      return {std::max(1, n - 2), n + 2, n};
    }
    case JobKind::chapter: {
      int n = input.options.topics_per_chapter;
      return {std::max(1, n - 1), n + 1, n};
    }
    case JobKind::note:
      return {3, 6, 4};  // key points
    case JobKind::questions: {
      int n = input.options.questions_per_topic;
      return {n, n, n};
    }
  }
  return {};
}

namespace {

constexpr const char* kTemplateNames[] = {"system", "subject", "chapter", "note", "questions"};

json strict_object(json properties) {
  json required = json::array();
  for (auto it = properties.begin(); it != properties.end(); ++it) required.push_back(it.key());
  return {{"type", "object"},
          {"properties", std::move(properties)},
          {"required", std::move(required)},
          {"additionalProperties", false}};
}

// String lengths the schema states, in code points: a quarter of the validator's byte limits
// (TextLimits), so whatever a grammar-driven server lets through also passes the validator.
// Servers with OpenAI's strict subset get the schema without them (build_chat_body).
constexpr TextLimits kLimits;
json bounded_string(std::size_t max_bytes) {
  return {{"type", "string"}, {"maxLength", max_bytes / 4}};
}

json string_array(int min, int max) {
  return {{"type", "array"},
          {"items", bounded_string(kLimits.max_text)},
          {"minItems", min},
          {"maxItems", max}};
}

json object_array(json item, const ItemBounds& bounds) {
  return {{"type", "array"},
          {"items", std::move(item)},
          {"minItems", bounds.min},
          {"maxItems", bounds.max}};
}

json schema_for(JobKind kind, const ItemBounds& bounds) {
  json title = bounded_string(kLimits.max_title);
  json text = bounded_string(kLimits.max_text);
  switch (kind) {
    case JobKind::subject:
      return strict_object(
          {{"chapters",
            object_array(strict_object({{"title", title}, {"summary", text}}), bounds)}});
    case JobKind::chapter:
      return strict_object(
          {{"topics",
            object_array(strict_object({{"title", title}, {"objectives", string_array(2, 4)}}),
                         bounds)}});
    case JobKind::note:
      return strict_object({{"markdown", bounded_string(kLimits.max_markdown)},
                            {"keyPoints", string_array(bounds.min, bounds.max)}});
    case JobKind::questions: {
      json difficulty = {{"type", "string"}, {"enum", {"easy", "medium", "hard"}}};
      json mcq = strict_object({{"type", {{"type", "string"}, {"const", "mcq"}}},
                                {"prompt", text},
                                {"options", string_array(4, 4)},
                                {"answer", text},
                                {"explanation", text},
                                {"difficulty", difficulty}});
      json short_answer = strict_object({{"type", {{"type", "string"}, {"const", "short"}}},
                                         {"prompt", text},
                                         {"options", string_array(0, 0)},
                                         {"answer", text},
                                         {"explanation", text},
                                         {"difficulty", difficulty}});
      return strict_object({{"questions", object_array({{"anyOf", {mcq, short_answer}}}, bounds)}});
    }
  }
  return json::object();
}

// schema_for's text: it depends on the kind and the item bounds alone, and a worker renders
// thousands of steps of a few shapes, so each text is made once.
std::string schema_text(JobKind kind, const ItemBounds& bounds) {
  static Memo<std::tuple<JobKind, int, int>, std::string> texts(256);
  return texts.get(std::make_tuple(kind, bounds.min, bounds.max),
                   [&] { return schema_for(kind, bounds).dump(); });
}

int max_tokens_for(JobKind kind, const StepInput& input) {
  switch (kind) {
    case JobKind::subject:
      return 1000 + 150 * (input.options.chapters + 2);
    case JobKind::chapter:
      return 800 + 200 * (input.options.topics_per_chapter + 1);
    case JobKind::note:
      return 3000;
    case JobKind::questions:
      return 600 + 350 * input.options.questions_per_topic;
  }
  return 4096;
}

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

}  // namespace

std::string reask_answer(const std::string& rejected_answer) {
  return rejected_answer.substr(0, kReaskAnswerBytes);
}

std::string reask_prompt(const std::string& reason) {
  return "Your answer was rejected: " + reason.substr(0, kReaskReasonBytes) +
         ". Answer again with the corrected JSON object only, following the schema.";
}

std::string fill_template(const std::string& text,
                          const std::map<std::string, std::string>& values) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    std::size_t open = text.find("{{", pos);
    if (open == std::string::npos) break;
    std::size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) break;
    out.append(text, pos, open - pos);
    auto it = values.find(text.substr(open + 2, close - open - 2));
    out += it != values.end() ? it->second : text.substr(open, close + 2 - open);
    pos = close + 2;
  }
  out.append(text, pos);
  return out;
}

Result<PromptSet> PromptSet::load(const std::string& override_dir) {
  namespace fs = std::filesystem;
  PromptSet set;
  std::error_code ec;
  if (!override_dir.empty() && !fs::is_directory(override_dir, ec)) {
    return make_error(ErrorKind::invalid_input,
                      "prompts directory '" + override_dir + "' is not a readable directory");
  }
  for (const char* name : kTemplateNames) {
    std::string file = std::string(name) + ".md";
    set.templates_[name] = std::string(resources::find("prompts/" + file).value_or(""));
    if (override_dir.empty()) continue;
    fs::path path = fs::path(override_dir) / file;
    if (!fs::exists(path, ec)) continue;
    std::ifstream stream(path);
    if (!stream) {
      return make_error(ErrorKind::invalid_input,
                        "cannot read prompt file '" + path.string() + "'");
    }
    std::stringstream buffer;
    buffer << stream.rdbuf();
    set.templates_[name] = buffer.str();
  }
  return set;
}

RenderedStep PromptSet::render(JobKind kind, const StepInput& input) const {
  ItemBounds bounds = item_bounds(kind, input);
  std::map<std::string, std::string> values = {
      {"language", input.slot.language},
      {"board", input.slot.board},
      {"grade", input.slot.grade},
      {"subject", input.slot.subject},
      {"chapter_position", std::to_string(input.chapter_position)},
      {"chapter_title", input.chapter.title},
      {"chapter_summary", input.chapter.summary},
      {"topic_title", input.topic.title},
      {"topic_objectives", join(input.topic.objectives, "; ")},
      {"count", std::to_string(bounds.target)},
      {"min_items", std::to_string(bounds.min)},
      {"max_items", std::to_string(bounds.max)},
  };
  RenderedStep step;
  step.system = fill_template(templates_.at("system"), values);
  step.user = fill_template(templates_.at(to_string(kind)), values);
  step.schema_name = std::string("hydrate_") + to_string(kind);
  step.schema_json = schema_text(kind, bounds);
  step.max_tokens = max_tokens_for(kind, input);
  return step;
}

}  // namespace hydrate
