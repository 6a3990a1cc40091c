#include "mock/text.hpp"

#include <algorithm>
#include <array>
#include <span>
#include <utility>
#include <vector>

#include "mock/ascii.hpp"
#include "mock/hash.hpp"
#include "mock/utf8.hpp"

namespace hydrate::mock {
namespace {

// Words that carry no topic: grammar, instructions to a model, JSON Schema keywords.
constexpr std::string_view kStopWords =
    "the and for are but not you all any can her was one our out has have had his how its may "
    "new now own see who why what when where which while with within without this that these "
    "those there their them then than they from into onto over under about above below after "
    "before between each every some such only also very more most much many other same just "
    "should must will would could shall might been being were does did doing your yours please "
    "here use using used make made give given return returns respond reply answer output json "
    "schema format field fields object objects array string strings number key keys value values "
    "property properties exactly following follow write generate create produce list include "
    "includes including provide based per via etc plain text markdown nothing else like least "
    "item items true false null required valid strict step task you're it's tell describe "
    "explain matching match according assistant user system break split divide design draft "
    "suggest outline cover covering propose type integer boolean enum const anyof oneof allof "
    "minitems maxitems minimum maximum minlength maxlength additionalproperties description "
    "pattern ref defs definitions";

// A set of words (views of text the caller keeps) by open addressing: the prompt's words are
// looked up once each against the stop words and the words already taken, and a hash computed
// once, with no node to allocate, makes those lookups a small part of reading a prompt.
class WordSet {
 public:
  // Room for at least `expected` words without passing half full.
  explicit WordSet(std::size_t expected) {
    std::size_t capacity = 16;
    while (capacity < 2 * expected) capacity *= 2;
    slots_.resize(capacity);
  }

  static std::uint64_t hash_of(std::string_view word) { return Hasher().add(word).value(); }

  bool contains(std::string_view word, std::uint64_t hash) const {
    for (std::size_t i = hash & mask();; i = (i + 1) & mask()) {
      if (slots_[i].data() == nullptr) return false;
      if (slots_[i] == word) return true;
    }
  }
  // False when `word` was in the set already.
  bool insert(std::string_view word, std::uint64_t hash) {
    std::size_t i = hash & mask();
    for (; slots_[i].data() != nullptr; i = (i + 1) & mask()) {
      if (slots_[i] == word) return false;
    }
    slots_[i] = word;
    if (++size_ * 2 > slots_.size()) grow();
    return true;
  }

 private:
  std::size_t mask() const { return slots_.size() - 1; }
  void grow() {
    std::vector<std::string_view> old(slots_.size() * 2);
    old.swap(slots_);
    size_ = 0;
    for (const std::string_view word : old) {
      if (word.data() != nullptr) insert(word, hash_of(word));
    }
  }
  std::vector<std::string_view> slots_;
  std::size_t size_ = 0;
};

const WordSet& stop_words() {
  static const WordSet words = [] {
    WordSet set(256);
    std::size_t start = 0;
    while (start < kStopWords.size()) {
      const std::size_t end = std::min(kStopWords.find(' ', start), kStopWords.size());
      const std::string_view word = kStopWords.substr(start, end - start);
      set.insert(word, WordSet::hash_of(word));
      start = end + 1;
    }
    return set;
  }();
  return words;
}

constexpr std::array<const char*, 12> kFallbackVocabulary = {
    "concept", "principle", "example", "process",  "structure", "pattern",
    "method",  "evidence",  "system",  "practice", "context",   "model"};

std::string ascii_lower(std::string_view word) {
  std::string out(word);
  for (char& c : out) {
    c = ascii::to_lower(c);
  }
  return out;
}

// Appends `word` as it reads mid-sentence: "Science" -> "science"; acronyms such as "CBSE" or
// "pH" stay as written.
void append_in_sentence(std::string& out, std::string_view word) {
  const std::size_t start = out.size();
  out += word;
  for (std::size_t i = 1; i < word.size(); ++i) {
    if (ascii::is_upper(static_cast<unsigned char>(word[i]))) return;
  }
  if (!word.empty()) out[start] = ascii::to_lower(out[start]);
}

std::string capitalised(std::string word) {
  if (!word.empty()) {
    word[0] = ascii::to_upper(word[0]);
  }
  return word;
}

// Appends a template with {0}, {1}, {2} replaced by words, lowercased for the middle of a
// sentence, and its first letter capitalised.
void append_filled(std::string& out, std::string_view pattern,
                   std::span<const std::string_view> words) {
  const std::size_t start = out.size();
  std::size_t run = 0;  // start of the pattern's bytes not yet copied
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '{' && i + 2 < pattern.size() && pattern[i + 2] == '}') {
      out.append(pattern, run, i - run);
      const auto slot = static_cast<std::size_t>(pattern[i + 1] - '0');
      append_in_sentence(out, words[slot % words.size()]);
      i += 2;
      run = i + 1;
    }
  }
  out.append(pattern, run, pattern.size() - run);
  if (out.size() > start) out[start] = ascii::to_upper(out[start]);
}

void append_one_of(std::string& out, std::span<const char* const> patterns,
                   const PromptWords& words, std::uint64_t hash) {
  std::array<std::string_view, 3> picked;
  const std::size_t count = words.pick_distinct(derive(hash, 1), picked);
  append_filled(out, patterns[hash % patterns.size()], std::span(picked).first(count));
}

std::string fill_one_of(std::span<const char* const> patterns, const PromptWords& words,
                        std::uint64_t hash) {
  std::string out;
  append_one_of(out, patterns, words, hash);
  return out;
}

// Vocabulary words of a lexicon that the prompt mentions (ASCII case ignored), in order of first
// appearance.
std::vector<std::string> mentioned_words(std::string_view text, const Lexicon& lexicon) {
  const std::string haystack = ascii_lower(text);
  std::vector<std::pair<std::size_t, std::string>> found;
  for (const char* word : lexicon.vocabulary) {
    const std::size_t at = haystack.find(ascii_lower(word));
    if (at != std::string::npos) found.emplace_back(at, word);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> words;
  for (auto& [at, word] : found) words.push_back(std::move(word));
  return words;
}

}  // namespace

PromptWords::PromptWords(std::string_view text) {
  // The prompt in ASCII lower case, byte for byte, so that a word's key is a view of it.
  const std::string lowered = ascii_lower(text);
  WordSet seen(text.size() / 8);  // the keys of the words taken
  // word_char_at, without its call for the ASCII bytes that are most of a prompt.
  const auto word_char = [&](std::size_t at) -> std::size_t {
    const auto c = static_cast<unsigned char>(text[at]);
    if (c < 0x80) return ascii::is_alnum(c) ? 1 : 0;
    return word_char_at(text, at);
  };
  std::size_t i = 0;
  while (i < text.size()) {
    if (word_char(i) == 0) {
      ++i;
      continue;
    }
    // A word: letters and digits, with inner hyphens and apostrophes ("well-known", "it's").
    const std::size_t start = i;
    std::size_t letters = 0;
    while (i < text.size()) {
      if (const std::size_t length = word_char(i)) {
        i += length;
        ++letters;
      } else if ((text[i] == '-' || text[i] == '\'') && i + 1 < text.size() &&
                 word_char(i + 1) > 0) {
        ++i;
      } else {
        break;
      }
    }
    if (letters < 3) continue;
    const std::string_view word = text.substr(start, i - start);
    const std::string_view key = std::string_view(lowered).substr(start, i - start);
    const bool numeric = std::all_of(key.begin(), key.end(), [](char c) {
      return ascii::is_digit(static_cast<unsigned char>(c)) || c == '-';
    });
    if (numeric) continue;
    const std::uint64_t hash = WordSet::hash_of(key);
    if (stop_words().contains(key, hash) || !seen.insert(key, hash)) continue;
    words_.emplace_back(word);
  }
  for (const char* filler : kFallbackVocabulary) {
    if (words_.size() >= 4) {
      break;
    }
    if (seen.insert(filler, WordSet::hash_of(filler))) {
      words_.emplace_back(filler);
    }
  }
}

PromptWords::PromptWords(std::string_view text, Language language)
    : lexicon_(&lexicon_for(language)) {
  constexpr std::size_t kMinWords = 10;
  words_ = mentioned_words(text, *lexicon_);
  const auto& vocabulary = lexicon_->vocabulary;
  const std::size_t wanted = words_.empty() ? vocabulary.size() : kMinWords;
  // Topped up from a place the prompt chooses, so that sibling steps differ in their words.
  const std::size_t offset = Hasher().add(text).value() % vocabulary.size();
  for (std::size_t i = 0; i < vocabulary.size() && words_.size() < wanted; ++i) {
    const std::string word = vocabulary[(offset + i) % vocabulary.size()];
    if (std::find(words_.begin(), words_.end(), word) == words_.end()) words_.push_back(word);
  }
}

const std::string& PromptWords::pick(std::uint64_t hash) const {
  return words_[hash % words_.size()];
}

std::size_t PromptWords::pick_distinct(std::uint64_t hash,
                                       std::span<std::string_view> picked) const {
  const std::size_t count = std::min(picked.size(), words_.size());
  for (std::size_t i = 0; i < count; ++i) {
    std::size_t index = derive(hash, i) % words_.size();
    // The words taken are a handful: a scan of them beats a bitmap's allocation.
    // (A word taken is one of words_ itself, so its address tells it.)
    while (
        std::any_of(picked.begin(), picked.begin() + static_cast<std::ptrdiff_t>(i),
                    [&](std::string_view word) { return word.data() == words_[index].data(); })) {
      index = (index + 1) % words_.size();
    }
    picked[i] = words_[index];
  }
  return count;
}

std::vector<std::string_view> PromptWords::pick_distinct(std::uint64_t hash,
                                                         std::size_t count) const {
  std::vector<std::string_view> picked(std::min(count, words_.size()));
  picked.resize(pick_distinct(hash, picked));
  return picked;
}

std::string make_title(const PromptWords& words, std::uint64_t hash) {
  const auto& patterns = words.lexicon().titles;
  if (!patterns.empty()) {
    // Words alone ("Fractions Mesure Eau") do not make a French or Hindi title; a pattern does.
    if (derive(hash, 6) % 4 == 0) return capitalised(words.pick(derive(hash, 9)));
    return fill_one_of(patterns, words, derive(hash, 8));
  }
  struct Prefix {
    const char* text;
    std::size_t words;
  };
  constexpr std::array<Prefix, 6> kPrefixes = {{{"Understanding", 1},
                                                {"Exploring", 1},
                                                {"Introduction to", 2},
                                                {"Foundations of", 2},
                                                {"Applications of", 2},
                                                {"Working with", 2}}};
  const auto length = static_cast<std::size_t>(pick_in_range(hash, 2, 6));
  std::vector<std::string> parts;
  std::size_t remaining = length;
  if (derive(hash, 7) % 3 == 0) {
    const Prefix& prefix = kPrefixes[derive(hash, 8) % kPrefixes.size()];
    if (prefix.words < length) {
      parts.emplace_back(prefix.text);
      remaining -= prefix.words;
    }
  }
  const bool with_and = parts.empty() && remaining >= 4;
  auto content = words.pick_distinct(derive(hash, 9), remaining - (with_and ? 1 : 0));
  for (std::size_t i = 0; content.size() < remaining - (with_and ? 1 : 0); ++i) {
    content.emplace_back(kFallbackVocabulary[(hash + i) % kFallbackVocabulary.size()]);
  }
  for (std::size_t i = 0; i < content.size(); ++i) {
    if (with_and && i + 1 == content.size()) {
      parts.emplace_back("and");
    }
    parts.push_back(capitalised(std::string(content[i])));
  }
  std::string title;
  for (const auto& part : parts) {
    title += (title.empty() ? "" : " ") + part;
  }
  return title;
}

std::string make_phrase(const PromptWords& words, std::uint64_t hash, int min_words,
                        int max_words) {
  const auto length = static_cast<std::size_t>(pick_in_range(hash, min_words, max_words));
  auto picked = words.pick_distinct(derive(hash, 1), length);
  if (words.lexicon().language != Language::en) {
    // A list of words with their articles: "La mesure, l'eau et les plantes".
    const std::size_t listed = std::min<std::size_t>(picked.size(), (length + 1) / 2);
    std::string list;
    for (std::size_t i = 0; i < listed; ++i) {
      if (i > 0) list += i + 1 == listed ? " " + std::string(words.lexicon().and_word) + " " : ", ";
      list += picked[i];
    }
    return capitalised(std::move(list));
  }
  std::string phrase;
  for (std::size_t i = 0; i < length; ++i) {
    const std::string_view word =
        i < picked.size() ? picked[i] : std::string_view(kFallbackVocabulary[(hash + i) % 12]);
    if (i == 0) {
      phrase += word;
      if (!phrase.empty()) phrase[0] = ascii::to_upper(phrase[0]);
    } else {
      phrase += ' ';
      append_in_sentence(phrase, word);
    }
  }
  return phrase;
}

std::string make_objective(const PromptWords& words, std::uint64_t hash) {
  return fill_one_of(words.lexicon().objectives, words, hash);
}

void append_sentences(std::string& out, const PromptWords& words, std::uint64_t hash, int count) {
  for (int i = 0; i < count; ++i) {
    if (i > 0) out += ' ';
    append_one_of(out, words.lexicon().sentences, words, derive(hash, 100 + i));
  }
}

std::string make_sentences(const PromptWords& words, std::uint64_t hash, int count) {
  std::string text;
  append_sentences(text, words, hash, count);
  return text;
}

std::string make_question(const PromptWords& words, std::uint64_t hash) {
  return fill_one_of(words.lexicon().questions, words, hash);
}

std::string make_markdown(const PromptWords& words, std::uint64_t hash) {
  constexpr std::size_t kMaxWords = 400;
  const auto target = static_cast<std::size_t>(pick_in_range(derive(hash, 1), 120, kMaxWords));
  std::string text;
  text.reserve(4096);  // 400 words of the longest lexicon's sentences
  text += "# ";
  text += make_title(words, derive(hash, 2));
  text += "\n\n";
  append_sentences(text, words, derive(hash, 3), 2);
  text += "\n\n## ";
  text += words.lexicon().key_points;
  text += "\n\n";
  const auto bullets = pick_in_range(derive(hash, 4), 3, 5);
  for (std::int64_t i = 0; i < bullets; ++i) {
    text += "- ";
    append_sentences(text, words, derive(hash, 10 + static_cast<std::uint64_t>(i)), 1);
    text += "\n";
  }
  const auto& headings = words.lexicon().headings;
  text += "\n## ";
  text += headings[derive(hash, 5) % headings.size()];
  text += "\n\n";
  std::size_t total = count_words(text);
  std::string sentence;  // one buffer for every sentence
  for (std::uint64_t i = 0; total < target; ++i) {
    sentence.clear();
    append_sentences(sentence, words, derive(hash, 1000 + i), 1);
    const std::size_t sentence_words = count_words(sentence);
    if (total + sentence_words > kMaxWords) {
      break;
    }
    text += i > 0 && i % 3 == 0 ? "\n\n" : (i == 0 ? "" : " ");
    text += sentence;
    total += sentence_words;
  }
  text += "\n";
  return text;
}

std::size_t count_words(std::string_view text, std::size_t at_most) {
  // One pass: a word ends at white space or at the end, and counts unless it was all markers.
  if (at_most == 0) return 0;
  std::size_t count = 0;
  bool in_word = false;  // inside a token that is more than markdown markers so far
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (ascii::is_space(c)) {
      if (in_word && ++count >= at_most) return count;
      in_word = false;
    } else {
      in_word = in_word || !(c == '#' || c == '-' || c == '*');
    }
  }
  return count + (in_word ? 1 : 0);
}

}  // namespace hydrate::mock
