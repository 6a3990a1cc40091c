#pragma once
// Prompt rendering and the JSON schema of each step kind. Templates are files (prompts/*.md,
// embedded at build time), each overridable by a file of the same name in a directory named in
// the config. Pure but for reading that directory once, at load.
#include <map>
#include <string>

#include "core/cascade.hpp"
#include "core/model.hpp"
#include "core/result.hpp"

namespace hydrate {

// How many items a step's answer must hold; shared by the schema and the validator.
struct ItemBounds {
  int min = 1;
  int max = 1;
  int target = 1;  // what the prompt asks for
};
ItemBounds item_bounds(JobKind kind, const StepInput& input);

struct RenderedStep {
  std::string system;
  std::string user;
  std::string schema_name;  // e.g. hydrate_chapter
  std::string schema_json;  // strict JSON schema of the answer
  int max_tokens = 4096;    // completion cap sent with the request
};

class PromptSet {
 public:
  // The built-in templates, each replaced by override_dir/NAME.md when that file exists.
  // invalid_input when override_dir is given but is not a readable directory.
  static Result<PromptSet> load(const std::string& override_dir);
  RenderedStep render(JobKind kind, const StepInput& input) const;

 private:
  std::map<std::string, std::string> templates_;  // name (system, subject, …) -> text
};

// A re-ask shows the model its rejected answer (at most kReaskAnswerBytes of it) and why it was
// rejected (at most kReaskReasonBytes), so the largest prompt a step can send is bounded.
inline constexpr std::size_t kReaskAnswerBytes = 8000;
inline constexpr std::size_t kReaskReasonBytes = 500;
std::string reask_answer(const std::string& rejected_answer);
std::string reask_prompt(const std::string& reason);

// Replaces every {{name}} in text by values[name]; unknown names are left as they are.
std::string fill_template(const std::string& text,
                          const std::map<std::string, std::string>& values);

}  // namespace hydrate
