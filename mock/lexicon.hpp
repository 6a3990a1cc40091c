#pragma once
// The languages the endpoint writes in (English, Hindi, French, Spanish) and, for each, the
// words and sentence patterns its text is made of: enough real prose that a language detector
// such as CLD2 recognises it reliably, as it would a model's answer.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace hydrate::mock {

enum class Language { en, hi, fr, es };
constexpr std::array<Language, 4> kAllLanguages = {Language::en, Language::hi, Language::fr,
                                                   Language::es};

// "en", "hi", "fr", "es".
const char* language_code(Language language);
// The language of an ISO 639-1 code, ignoring case and a region subtag ("FR-ca" is French);
// nothing for any other code.
std::optional<Language> parse_language(std::string_view code);

// Patterns hold {0}, {1} and {2}, filled with distinct vocabulary words.
struct Lexicon {
  Language language;
  // Topic words; in French and Spanish with their article ("la mesure"), so that any pattern
  // reads as a sentence. English text takes its words from the prompt instead (see PromptWords).
  std::span<const char* const> vocabulary;
  std::span<const char* const> sentences;   // declarative, ending with a full stop
  std::span<const char* const> questions;   // ending with a question mark
  std::span<const char* const> objectives;  // learning objectives
  // Title patterns; empty for English, whose titles are built from words (see make_title).
  std::span<const char* const> titles;
  std::span<const char* const> headings;  // markdown section headings
  const char* key_points;                 // the heading of a note's list
  const char* and_word;                   // joins the last two words of a list
};

const Lexicon& lexicon_for(Language language);

// Whether a request whose fault hash is `fault_hash` gets an answer in another language, with
// probability `rate`; drawn apart from the other faults' numbers (see mock/faults.hpp), so a
// retried request can succeed.
bool draws_wrong_language(double rate, std::uint64_t fault_hash);
// One of the other three languages, chosen by the hash.
Language other_language(Language requested, std::uint64_t hash);

}  // namespace hydrate::mock
