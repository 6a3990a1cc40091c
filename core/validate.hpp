#pragma once
// Validation of a model's answer against its step's schema and rules: counts in range, no
// duplicate titles, a multiple-choice answer among its options, sane text, the requested
// language. Pure.
#include <string_view>

#include "core/cascade.hpp"
#include "core/language.hpp"
#include "core/result.hpp"
#include "core/store/store.hpp"

namespace hydrate {

struct TextLimits {
  std::size_t max_title = 200;
  std::size_t max_text = 2000;  // summaries, prompts, answers, explanations
  std::size_t max_markdown = 40000;
  std::size_t min_markdown = 80;
  int max_json_depth = 32;
  LanguageLimits language;  // when the stored text is long enough to judge its language
};

// Parses the answer (tolerating one ```json fence around it; see strip_code_fence) and checks it:
// at most max_json_depth levels deep (checked before parsing), valid UTF-8, no control
// characters but newlines and tabs in multi-line fields, the kind's schema and rules, and the
// slot's language: the text the step would store, joined, must not be in another language (see
// find_language_mismatch; short texts and unknown codes are not judged). On success
// the output's content fields for the kind are filled (children are not: see children_for). On
// failure the error is invalid_input with a one-line message meant to be shown to the model in a
// re-ask.
Result<store::StepOutput> parse_step_output(JobKind kind, const StepInput& input,
                                            std::string_view content,
                                            const TextLimits& limits = {});

// The answer with surrounding space trimmed and, when it is wrapped in one markdown code fence
// (a line opening with ``` and any info string, such as ```json, and a closing ```), without that
// fence. Anything else comes back as it is, trimmed.
std::string_view strip_code_fence(std::string_view content);

}  // namespace hydrate
