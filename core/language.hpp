#pragma once
// The language check: is a generated text in the language the slot asked for? Decided by CLD2
// (Compact Language Detector 2) only where it can tell, so that a short or mixed text, or a
// language CLD2 does not know, is never rejected on a guess. Pure: no I/O, no state.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace hydrate {

struct LanguageLimits {
  // Letters (CLD2's "text bytes": UTF-8 bytes of letters, spaces and punctuation left out) a
  // text needs before it is judged; below this, one proper noun or formula could tip it.
  int min_letter_bytes = 100;
  // A text whose requested language still makes up this share (percent) is mixed, not wrong.
  int mixed_percent = 25;
};

// What CLD2 makes of `text` (valid UTF-8, as the validator guarantees) for a slot whose language
// is `requested` (an ISO 639-1 code such as "en", "hi", "fr", "es"; case and a region or script
// subtag are ignored: "EN-us" is "en").
struct LanguageJudgement {
  // The text was judged: the code names a language CLD2 can detect (see is_judged_language),
  // the text has min_letter_bytes of letters, and CLD2 is reliable about it. Nothing else is
  // ever rejected.
  bool judged = false;
  std::string detected;  // CLD2's code for the text's language ("fr") when judged
  // When judged and in another language: the one-line reason to show the model in a re-ask,
  // naming both languages, such as "the text is in French (fr), not the requested language hi;
  // write every field in hi". Empty when the requested language is at least mixed_percent of
  // the text, or CLD2 counts the detected language as statistically close to the requested one
  // (Spanish, Galician and Portuguese; Hindi, Marathi and Nepali; Croatian, Serbian and Bosnian;
  // …). The requested language is given to CLD2 as a hint, so that a close call goes its way.
  std::optional<std::string> mismatch;
};

LanguageJudgement judge_language(std::string_view text, std::string_view requested,
                                 const LanguageLimits& limits = {});

// judge_language's mismatch: the reason when `text` is in another language, else nothing.
std::optional<std::string> find_language_mismatch(std::string_view text, std::string_view requested,
                                                  const LanguageLimits& limits = {});

// Whether texts are judged for `code` (normalised as above): CLD2 knows the code and can detect
// the language — its table scores it (about 70 languages, en, hi, fr and es among them), or it
// is the only language of its script (Tamil, Telugu, Gujarati, …). Latin, which CLD2 reads as
// English, or Assamese, which it reads as Bengali, are not judged.
bool is_judged_language(std::string_view code);

}  // namespace hydrate
