#include "core/language.hpp"

// CLD2's header uses FILE without including <cstdio> (see BUILD-NOTES.md).
#include <cstdio>

#include <cld2/public/compact_lang_det.h>
#include <cld2/public/encodings.h>
#include <fmt/format.h>

#include <climits>

namespace hydrate {
namespace {

// "EN_us" -> "en-us": CLD2 reads lower-case codes (and "en-latn-gb"), not "EN". Only letters,
// digits and '-' are kept, so the code is safe to put in a one-line message.
std::string normalized_code(std::string_view code) {
  std::string out;
  for (char c : code.substr(0, 32)) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == '_') c = '-';
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') out += c;
  }
  return out;
}

// The language CLD2 knows by `code`; UNKNOWN_LANGUAGE when none, or when the code names one of
// CLD2's pseudo-languages (Klingon, Pig Latin, bare scripts), which no curriculum asks for.
CLD2::Language language_for(std::string_view code) {
  if (code.empty()) return CLD2::UNKNOWN_LANGUAGE;
  CLD2::Language language = CLD2::GetLanguageFromName(normalized_code(code).c_str());
  std::string_view name = CLD2::LanguageName(language);
  if (name.starts_with("X_")) return CLD2::UNKNOWN_LANGUAGE;
  return language;
}

bool is_known(CLD2::Language language) {
  return language != CLD2::UNKNOWN_LANGUAGE && language != CLD2::TG_UNKNOWN_LANGUAGE &&
         !std::string_view(CLD2::LanguageName(language)).starts_with("X_");
}

// The languages the statistical table of Debian's libcld2 (CLD2's "small" table) scores, as
// CLD2's own evaluation lists them (docs/evaluate_cld2_small_20140122.txt in CLD2Owners/cld2).
// CLD2 knows many more codes; a text in one it cannot score is read as its nearest neighbour
// (Latin as English, reliably), so only these are judged, besides the script rule below.
constexpr std::string_view kScoredLanguages[] = {
    "af",      "sq", "ar", "az", "eu", "be", "bn", "bh", "bs", "bg", "ca", "ceb", "hr", "cs", "zh",
    "zh-Hant", "da", "nl", "en", "et", "fi", "fr", "gl", "lg", "de", "el", "ht",  "ha", "iw", "hi",
    "hmn",     "hu", "is", "ig", "id", "ga", "it", "jw", "ja", "rw", "ko", "lv",  "lt", "mk", "ms",
    "mt",      "mr", "ne", "no", "fa", "pl", "pt", "ro", "ru", "gd", "sr", "sk",  "sl", "so", "es",
    "sw",      "sv", "tl", "th", "tr", "uk", "ur", "vi", "cy", "yi", "yo", "zu"};

// Whether CLD2 can tell a text in `language` from others: its table scores it, or it is the one
// language CLD2 gives its script (Tamil, Gujarati, Georgian, …). Assamese, written in the
// Bengali script, is neither: CLD2 reads it as Bengali.
bool is_detectable(CLD2::Language language) {
  if (!is_known(language)) return false;
  for (std::string_view code : kScoredLanguages) {
    if (code == CLD2::LanguageCode(language)) return true;
  }
  return CLD2::DefaultLanguage(CLD2::LanguageRecognizedScript(language, 0)) == language;
}

std::string_view primary_subtag(std::string_view code) {
  return code.substr(0, code.find('-'));
}

// The same language for this check: one enum, one primary code ("zh" and "zh-Hant"), or one of
// CLD2's sets of statistically close languages, which it cannot tell apart reliably.
bool same_language(CLD2::Language a, CLD2::Language b) {
  if (a == b) return true;
  if (primary_subtag(CLD2::LanguageCode(a)) == primary_subtag(CLD2::LanguageCode(b))) return true;
  const int close_set = CLD2::LanguageCloseSet(a);
  return close_set != 0 && close_set == CLD2::LanguageCloseSet(b);
}

// "FRENCH" -> "French"; names CLD2 already writes in mixed case ("ChineseT") stay as they are.
std::string display_name(CLD2::Language language) {
  std::string name = CLD2::LanguageName(language);
  bool upper = true;
  for (char c : name) upper = upper && !(c >= 'a' && c <= 'z');
  if (!upper) return name;
  for (std::size_t i = 1; i < name.size(); ++i) {
    if (name[i] >= 'A' && name[i] <= 'Z') name[i] = static_cast<char>(name[i] - 'A' + 'a');
    if (name[i] == '_') name[i] = ' ';
  }
  return name;
}

}  // namespace

bool is_judged_language(std::string_view code) {
  return is_detectable(language_for(code));
}

LanguageJudgement judge_language(std::string_view text, std::string_view requested,
                                 const LanguageLimits& limits) {
  LanguageJudgement judgement;
  const CLD2::Language wanted = language_for(requested);
  if (!is_detectable(wanted) || text.empty()) return judgement;
  if (text.size() > static_cast<std::size_t>(INT_MAX)) text = text.substr(0, INT_MAX);
  // The requested language as a hint: a close call (Spanish read as Galician) goes its way,
  // while a text plainly in another language is still recognised as such.
  const CLD2::CLDHints hints{nullptr, nullptr, CLD2::UNKNOWN_ENCODING, wanted};
  CLD2::Language top3[3];
  int percent3[3];
  double scores3[3];
  int letter_bytes = 0;
  bool reliable = false;
  const CLD2::Language detected = CLD2::ExtDetectLanguageSummary(
      text.data(), static_cast<int>(text.size()), /*is_plain_text=*/true, &hints, /*flags=*/0, top3,
      percent3, scores3, /*resultchunkvector=*/nullptr, &letter_bytes, &reliable);
  if (letter_bytes < limits.min_letter_bytes || !reliable || !is_known(detected)) {
    return judgement;
  }
  judgement.judged = true;
  judgement.detected = CLD2::LanguageCode(detected);
  if (same_language(detected, wanted)) return judgement;
  for (int i = 0; i < 3; ++i) {
    if (same_language(top3[i], wanted) && percent3[i] >= limits.mixed_percent) return judgement;
  }
  const std::string code = normalized_code(requested);
  judgement.mismatch =
      fmt::format("the text is in {} ({}), not the requested language {}; write every field in {}",
                  display_name(detected), judgement.detected, code, code);
  return judgement;
}

std::optional<std::string> find_language_mismatch(std::string_view text, std::string_view requested,
                                                  const LanguageLimits& limits) {
  return judge_language(text, requested, limits).mismatch;
}

}  // namespace hydrate
