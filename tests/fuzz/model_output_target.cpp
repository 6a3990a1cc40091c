// libFuzzer entry point for everything a model endpoint sends back: the raw HTTP body through
// interpret_response, the message content through parse_step_output for each step kind, and the
// text guards they rest on. Besides "no crash, no sanitizer report", it checks the contracts:
// accepted content is valid UTF-8, trimmed, non-empty and free of control characters (newlines
// and tabs only in multi-line fields), within its counts; rejections are one-line invalid_input;
// operator messages are one clean line. A broken contract aborts, so the fuzzer reports it.
//
// Input: the first byte picks what to run (see LLVMFuzzerTestOneInput), the rest is the text.
// Built twice: with libFuzzer (scripts/fuzz, clang, -DHYDRATE_FUZZ=ON) and, with replay_main.cpp,
// as the ctest that replays tests/fuzz/corpus and tests/fuzz/regressions on every build.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/llm/chat_protocol.hpp"
#include "core/prompts.hpp"
#include "core/text_guard.hpp"
#include "core/validate.hpp"

namespace {

using namespace hydrate;

void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "fuzz contract broken: %s\n", what);
    std::abort();
  }
}

bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

// An accepted text field: what may be stored.
void require_clean(const std::string& text, bool multiline) {
  require(!text.empty(), "an accepted text is empty");
  require(is_valid_utf8(text), "an accepted text is not valid UTF-8");
  require(!first_control_character(text, multiline ? "\n\t" : ""),
          "an accepted text holds a control character");
  require(!is_space(text.front()) && !is_space(text.back()), "an accepted text is not trimmed");
}

void require_one_line(const std::string& message) {
  require(is_valid_utf8(message), "a message is not valid UTF-8");
  require(!first_control_character(message, ""), "a message holds a control character");
}

StepInput fixed_input() {
  StepInput in;
  in.slot = Slot{"en", "CBSE", "1", "MATH"};
  in.options.chapters = 4;
  in.options.topics_per_chapter = 3;
  in.options.questions_per_topic = 2;
  in.chapter_position = 1;
  in.chapter = {"Numbers", "Counting to twenty."};
  in.topic_position = 1;
  in.topic = {"Counting", {"count objects", "compare groups"}};
  return in;
}

void check_step_output(JobKind kind, std::string_view content) {
  static const StepInput input = fixed_input();
  auto result = parse_step_output(kind, input, content);
  if (!result) {
    require(result.error().kind == ErrorKind::invalid_input, "a rejection is not invalid_input");
    require(result.error().message.find('\n') == std::string::npos, "a rejection spans lines");
    require(is_valid_utf8(result.error().message), "a rejection is not valid UTF-8");
    return;
  }
  const ItemBounds bounds = item_bounds(kind, input);
  auto within = [&](std::size_t n) {
    return static_cast<int>(n) >= bounds.min && static_cast<int>(n) <= bounds.max;
  };
  switch (kind) {
    case JobKind::subject:
      require(within(result->chapters.size()), "chapter count out of bounds");
      for (const auto& chapter : result->chapters) {
        require_clean(chapter.title, false);
        require_clean(chapter.summary, false);
      }
      break;
    case JobKind::chapter:
      require(within(result->topics.size()), "topic count out of bounds");
      for (const auto& topic : result->topics) {
        require_clean(topic.title, false);
        for (const auto& objective : topic.objectives) require_clean(objective, false);
      }
      break;
    case JobKind::note:
      require(result->note.has_value(), "an accepted note has no note");
      require_clean(result->note->markdown, true);
      require(within(result->note->key_points.size()), "key point count out of bounds");
      for (const auto& point : result->note->key_points) require_clean(point, false);
      break;
    case JobKind::questions:
      require(within(result->questions.size()), "question count out of bounds");
      for (const auto& question : result->questions) {
        require_clean(question.prompt, true);
        require_clean(question.answer, true);
        require_clean(question.explanation, true);
        for (const auto& option : question.options) require_clean(option, false);
        require(question.type == "mcq" ? question.options.size() == 4 : question.options.empty(),
                "options do not fit the question type");
      }
      break;
  }
}

llm::ChatResult check_response(int status, bool too_large, std::string_view body) {
  llm::HttpResponse response;
  response.status = status;
  response.too_large = too_large;
  response.body = std::string(body);
  if (too_large) response.transport_error = "response exceeded 1048576 bytes";
  llm::ChatResult result = llm::interpret_response(response);
  require_one_line(result.error_message);
  require_one_line(result.error_code);
  require(result.error_message.size() <= 310, "an operator message is not bounded");
  if (result.outcome == llm::ChatOutcome::ok) {
    require(status >= 200 && status < 300 && !too_large, "ok without a whole 2xx answer");
  }
  return result;
}

// The guards against references: nlohmann::json accepts a string literal exactly when its bytes
// are valid UTF-8 (given no quote, backslash or control byte); the fence stripper only ever
// shortens; the depth scan stays within its limit.
void check_guards(std::string_view text) {
  bool plain = true;
  for (unsigned char c : text) plain = plain && c >= 0x20 && c != '"' && c != '\\';
  if (plain) {
    const std::string literal = "\"" + std::string(text) + "\"";
    const bool parsed = !nlohmann::json::parse(literal, nullptr, false).is_discarded();
    require(parsed == is_valid_utf8(text), "is_valid_utf8 disagrees with the JSON parser");
  }
  const std::string_view stripped = strip_code_fence(text);
  require(stripped.size() <= text.size(), "strip_code_fence grew the text");
  require(json_nesting_depth(text, 16) <= 17, "json_nesting_depth passed its limit");
  const std::string normalized = normalize_newlines(text);
  require(normalized.find('\r') == std::string::npos, "normalize_newlines left a CR");
}

constexpr int kStatuses[8] = {200, 400, 401, 408, 429, 500, 503, 0};

}  // namespace

// Selector (first byte) % 8: 0-3 parse_step_output for subject, chapter, note, questions;
// 4 and 5 a 200 body through interpret_response, then its content through parse_step_output of
// the kind in bits 3-4; 6 a body with the status of bits 3-5 (too_large in bit 6); 7 the guards.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto kind_of = [](int n) { return static_cast<JobKind>(n % 4); };
  switch (selector % 8) {
    case 0:
    case 1:
    case 2:
    case 3:
      check_step_output(kind_of(selector % 8), text);
      break;
    case 4:
    case 5: {
      const llm::ChatResult result = check_response(200, false, text);
      if (result.outcome == llm::ChatOutcome::ok) {
        check_step_output(kind_of(selector >> 3), result.content);
      }
      break;
    }
    case 6:
      check_response(kStatuses[(selector >> 3) % 8], (selector & 0x40) != 0, text);
      break;
    default:
      check_guards(text);
      break;
  }
  return 0;
}
