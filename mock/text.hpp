#pragma once
// Plausible prose in English, Hindi, French or Spanish, built from the words of a prompt:
// titles, phrases, sentences, questions and markdown notes, in the patterns of the words'
// lexicon (mock/lexicon.hpp). Every function is deterministic in its inputs, so the same request
// always gets the same text.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mock/lexicon.hpp"

namespace hydrate::mock {

// The content words of a prompt (no stop words, no instruction words such as "json"), in order of
// first appearance, without case-insensitive duplicates. Never empty: when the prompt has no
// usable word, a small built-in vocabulary stands in. Text made of them is English.
class PromptWords {
 public:
  explicit PromptWords(std::string_view text);
  // Words for text in `language` that takes none of the prompt's other words (the prompts are
  // English, or in the language the request asked for): the lexicon's vocabulary words the
  // prompt mentions (ASCII case ignored; an earlier answer's titles quoted in it), in order of
  // first appearance, topped up from the vocabulary to ten; all of the vocabulary when the
  // prompt mentions none.
  PromptWords(std::string_view text, Language language);

  const Lexicon& lexicon() const { return *lexicon_; }

  // The word at a hash-chosen position.
  const std::string& pick(std::uint64_t hash) const;
  // `count` distinct words (fewer only when the vocabulary is smaller), chosen by the hash.
  // Views of this object's words: valid while it is.
  std::vector<std::string_view> pick_distinct(std::uint64_t hash, std::size_t count) const;
  // The same words for count = picked.size(), written into `picked` without an allocation; returns
  // how many were picked (the first ones of `picked`).
  std::size_t pick_distinct(std::uint64_t hash, std::span<std::string_view> picked) const;
  std::size_t size() const { return words_.size(); }

 private:
  const Lexicon* lexicon_ = &lexicon_for(Language::en);
  std::vector<std::string> words_;
};

// A title: in English 2 to 6 words, capitalised; in the other languages a title pattern or one
// vocabulary word.
std::string make_title(const PromptWords& words, std::uint64_t hash);
// A phrase of min_words..max_words words, lower case after the first letter (in the other
// languages a list of about half as many vocabulary words, which carry their articles).
std::string make_phrase(const PromptWords& words, std::uint64_t hash, int min_words, int max_words);
// One learning objective ("Explain how … relates to …").
std::string make_objective(const PromptWords& words, std::uint64_t hash);
// `count` declarative sentences.
std::string make_sentences(const PromptWords& words, std::uint64_t hash, int count);
// Appends make_sentences(words, hash, count) to `out`.
void append_sentences(std::string& out, const PromptWords& words, std::uint64_t hash, int count);
// A question ending with '?'.
std::string make_question(const PromptWords& words, std::uint64_t hash);
// A markdown text: a '#' heading, paragraphs, a '-' list; 120 to 400 words, varying with the hash.
std::string make_markdown(const PromptWords& words, std::uint64_t hash);

// Words in a text, separated by white space, not counting markdown markers ('#', '-', '*');
// counting stops at `at_most`.
std::size_t count_words(std::string_view text, std::size_t at_most = SIZE_MAX);

}  // namespace hydrate::mock
