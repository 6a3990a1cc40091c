// hydrate_request_bodies: every chat-completions request body hydrate can build, for the spec
// check (tests/e2e/request_spec.sh validates them against ../shared/openai/chat-completions.yaml).
// Prints one line per body, "LABEL<TAB>BODY", LABEL naming the combination
// (kind/flavor/model/mode/token-field/variant) and BODY exactly as build_chat_body returns it
// (JSON escapes every control character, so a body never holds a raw tab or newline).
// The combinations: each step kind (the built-in prompts and schemas) × each flavor × model
// names covering every row of data/models.tsv × each OutputMode × both output-token fields
// (the profile's and the llm.max_tokens_field override) × a first call, a re-ask with and
// without the rejected answer, and a re-ask of hostile text (invalid UTF-8, quotes, control
// characters, NUL, an answer cut mid-character); plus schema names that must be made to fit and
// requests without a schema. Exits 0 after printing, 1 when the built-in prompts do not load.
#include <iostream>
#include <string>
#include <vector>

#include "core/cascade.hpp"
#include "core/llm/chat_protocol.hpp"
#include "core/llm/model_profile.hpp"
#include "core/prompts.hpp"

namespace {

using namespace hydrate;
using llm::ChatRequest;
using llm::Flavor;
using llm::OutputMode;

// Bytes no request may carry as they are: invalid UTF-8 (a lone continuation byte, a truncated
// sequence, an overlong '/', a UTF-16 surrogate, 0xFF), quotes and backslashes, C0 and C1
// controls, NUL, DEL, U+2028, a right-to-left override.
const std::string kHostile =
    std::string("\"quoted\" \\back\\slash\\\" \x80 \xC3 \xC0\xAF \xED\xA0\x80 ") +
    "\xFF\xFE tab\t nl\n cr\r esc\x1b[31m bell\x07 del\x7f c1\xC2\x85 " +
    std::string("nul\0after", 9) + " \xE2\x80\xA8 \xE2\x80\xAE </script>";

StepInput plain_input() {
  StepInput in;
  in.slot = Slot{"hi", "ICSE", "7", "GEOGRAPHY"};
  in.options.chapters = 9;
  in.options.topics_per_chapter = 4;
  in.options.questions_per_topic = 6;
  in.chapter_position = 3;
  in.chapter = {"Rivers of India", "Where rivers rise and how they shape the plains."};
  in.topic_position = 2;
  in.topic = {"The Ganga basin", {"trace the Ganga", "name its tributaries"}};
  return in;
}

// Text from earlier answers (chapter and topic plans) reaches the prompt; make it hostile.
StepInput hostile_input() {
  StepInput in = plain_input();
  in.chapter = {"Rivers " + kHostile, "Summary " + kHostile + " {{language}}"};
  in.topic = {"Topic " + kHostile, {kHostile, "\"}]}" + kHostile}};
  return in;
}

// The request Worker::prepare (core/engine/worker.cpp) builds for a step: the profile of flavor
// and model decides the token field, temperature and dialect; `mode` is what output_mode() or a
// fallback would pick and `completion_tokens` the profile's field or the operator's override.
ChatRequest prepared(const RenderedStep& rendered, const llm::ModelProfile& profile,
                     const std::string& model, OutputMode mode, bool completion_tokens) {
  ChatRequest request;
  request.model = model;
  request.messages = {{"system", rendered.system}, {"user", rendered.user}};
  request.max_tokens = rendered.max_tokens;
  request.use_max_completion_tokens = completion_tokens;
  request.send_temperature = profile.temperature;
  request.mode = mode;
  request.dialect = profile.dialect;
  request.schema_name = rendered.schema_name;
  request.json_schema = rendered.schema_json;
  return request;
}

// What Worker::reask does to the request: keep system and user, show the latest rejection.
ChatRequest reasked(ChatRequest request, const std::string& bad_answer, const std::string& reason) {
  request.messages.resize(2);
  if (!bad_answer.empty()) request.messages.push_back({"assistant", reask_answer(bad_answer)});
  request.messages.push_back({"user", reask_prompt(reason)});
  return request;
}

void print(const std::string& label, const ChatRequest& request) {
  std::cout << label << '\t' << llm::build_chat_body(request) << '\n';
}

}  // namespace

int main() {
  auto prompts = PromptSet::load("");
  if (!prompts) {
    std::cerr << "hydrate_request_bodies: " << prompts.error().message << "\n";
    return 1;
  }
  const llm::ProfileTable profiles = llm::ProfileTable::builtin();
  const std::vector<Flavor> flavors = {Flavor::openai, Flavor::azure, Flavor::llamacpp,
                                       Flavor::vllm, Flavor::ollama};
  // One name per row of data/models.tsv, and local names with the characters they use.
  const std::vector<std::string> models = {"gpt-4o-mini",
                                           "o1",
                                           "o3",
                                           "o4-mini",
                                           "gpt-5-mini",
                                           "qwen2.5:7b-instruct",
                                           "meta-llama/Llama-3.1-8B-Instruct"};
  const std::vector<OutputMode> modes = {OutputMode::json_schema, OutputMode::json_object,
                                         OutputMode::prompt};
  // A rejected answer longer than the re-ask keeps, so that the cut lands inside a character.
  std::string long_answer = "{\"title\": \"" + std::string(kReaskAnswerBytes - 12, 'x');
  for (int i = 0; i < 100; ++i) long_answer += "\xE0\xA4\xB9";  // ह: three bytes each
  const std::string bad_answer = "{\"chapters\": [{\"title\": \"Rivers\"}]}";
  const std::string reason = "chapters: expected between 7 and 11 items, got 1";

  for (JobKind kind : {JobKind::subject, JobKind::chapter, JobKind::note, JobKind::questions}) {
    const RenderedStep rendered = prompts->render(kind, plain_input());
    const RenderedStep hostile = prompts->render(kind, hostile_input());
    for (Flavor flavor : flavors) {
      for (const std::string& model : models) {
        const llm::ModelProfile profile = profiles.find(flavor, model);
        for (OutputMode mode : modes) {
          for (bool completion_tokens :
               {profile.max_completion_tokens, !profile.max_completion_tokens}) {
            const std::string label = std::string(to_string(kind)) + "/" + llm::to_string(flavor) +
                                      "/" + model + "/" + llm::to_string(mode) + "/" +
                                      (completion_tokens ? "max_completion_tokens" : "max_tokens") +
                                      "/";
            const ChatRequest first = prepared(rendered, profile, model, mode, completion_tokens);
            print(label + "first", first);
            print(label + "reask", reasked(first, bad_answer, reason));
            print(label + "reask-no-answer", reasked(first, "", reason));
            const ChatRequest hostile_first =
                prepared(hostile, profile, model, mode, completion_tokens);
            print(label + "hostile", reasked(hostile_first, kHostile + long_answer, kHostile));
          }
        }
      }
    }
    // Schema names outside [a-zA-Z0-9_-]{1,64}, and no schema at all, in every mode.
    const llm::ModelProfile profile = profiles.find(Flavor::openai, "gpt-4o-mini");
    for (OutputMode mode : modes) {
      const std::string label = std::string(to_string(kind)) + "/openai/gpt-4o-mini/" +
                                llm::to_string(mode) + "/max_tokens/";
      ChatRequest request = prepared(rendered, profile, "gpt-4o-mini", mode, false);
      for (const std::string& name :
           {std::string(), std::string(100, 'n'), "hydrate " + kHostile}) {
        request.schema_name = name;
        print(label + "schema-name-" + std::to_string(name.size()), request);
      }
      request.json_schema.clear();
      print(label + "no-schema", request);
    }
  }
  return 0;
}
