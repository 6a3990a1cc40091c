// The language check (core/language.hpp) on real CLD2 detection: a text in the requested
// language passes for each of en, hi, fr and es; a text in another one is caught with a message
// naming both; what CLD2 cannot tell (short text, unknown codes) is not judged. Then the hook
// in parse_step_output: a mismatch is an invalid_input rejection for the re-ask.
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "core/language.hpp"
#include "core/validate.hpp"

namespace {

using namespace hydrate;

// A few sentences of teaching prose per language, each over the length limit on its own.
const std::string kEnglish =
    "Fractions describe parts of a whole. In this chapter students learn how to compare "
    "fractions, add them when the denominators match, and use them in everyday measurements.";
const std::string kHindi =
    "भिन्न किसी पूरे वस्तु के भागों को दर्शाते हैं। इस अध्याय में विद्यार्थी सीखते हैं कि भिन्नों की "
    "तुलना कैसे करें और रोज़ के जीवन में माप के लिए उनका उपयोग कैसे करें।";
const std::string kFrench =
    "Les fractions décrivent les parties d'un tout. Dans ce chapitre, les élèves apprennent à "
    "comparer les fractions et à les utiliser dans les mesures de la vie quotidienne.";
const std::string kSpanish =
    "Las fracciones describen las partes de un todo. En este capítulo los alumnos aprenden a "
    "comparar fracciones y a usarlas en las medidas de la vida diaria.";

bool passes(const std::string& text, const char* code) {
  return !find_language_mismatch(text, code).has_value();
}

std::string mismatch(const std::string& text, const char* code) {
  auto reason = find_language_mismatch(text, code);
  REQUIRE_MESSAGE(reason.has_value(), "expected a mismatch for ", code);
  return *reason;
}

}  // namespace

TEST_CASE("a text in the requested language passes, for en, hi, fr and es") {
  CHECK(passes(kEnglish, "en"));
  CHECK(passes(kHindi, "hi"));
  CHECK(passes(kFrench, "fr"));
  CHECK(passes(kSpanish, "es"));
}

TEST_CASE("a text in another language is caught, naming both languages") {
  CHECK(mismatch(kFrench, "hi") ==
        "the text is in French (fr), not the requested language hi; write every field in hi");
  CHECK(mismatch(kHindi, "fr") ==
        "the text is in Hindi (hi), not the requested language fr; write every field in fr");
  CHECK(mismatch(kEnglish, "es") ==
        "the text is in English (en), not the requested language es; write every field in es");
  CHECK(mismatch(kSpanish, "en") ==
        "the text is in Spanish (es), not the requested language en; write every field in en");
  CHECK(mismatch(kFrench, "es").find("French (fr)") != std::string::npos);
  CHECK(mismatch(kSpanish, "fr").find("Spanish (es)") != std::string::npos);
}

TEST_CASE("the requested code is read without regard to case or a region subtag") {
  CHECK(passes(kSpanish, "ES"));
  CHECK(passes(kSpanish, "es-MX"));
  CHECK(passes(kEnglish, "en_GB"));
  CHECK(mismatch(kFrench, "ES-mx").find("requested language es-mx;") != std::string::npos);
}

TEST_CASE("a text too short to tell is not judged") {
  // Reliable to CLD2 but only a few words: one proper noun could tip a text this short.
  CHECK(passes("Les nombres et le calcul", "hi"));
  CHECK(passes("Fractions", "fr"));
  CHECK(passes("", "fr"));
  // Just past the limit, the same language is judged.
  CHECK_FALSE(passes(kFrench, "hi"));
  LanguageLimits strict;
  strict.min_letter_bytes = 10;
  CHECK(find_language_mismatch("Les nombres et le calcul", "hi", strict).has_value());
}

TEST_CASE("a code CLD2 does not know is not judged") {
  for (const char* code : {"xx", "", "und", "klingon", "tlh", "x-private"}) {
    CAPTURE(code);
    CHECK_FALSE(is_judged_language(code));
    CHECK(passes(kFrench, code));
  }
  CHECK(is_judged_language("hi"));
  CHECK(is_judged_language("pt-BR"));
}

TEST_CASE("a language CLD2 cannot detect, or close to the requested one, is not a mismatch") {
  // Latin: CLD2 knows the code but its table does not score it, and reads Latin reliably as
  // English; a Latin slot is therefore not judged, rather than always rejected.
  CHECK_FALSE(is_judged_language("la"));
  CHECK_FALSE(is_judged_language("as"));  // Assamese, read as Bengali
  CHECK(is_judged_language("ta"));        // Tamil, the only language of its script
  CHECK(is_judged_language("mr"));
  const std::string latin =
      "Gallia est omnis divisa in partes tres, quarum unam incolunt Belgae, aliam Aquitani, "
      "tertiam qui ipsorum lingua Celtae, nostra Galli appellantur.";
  CHECK(passes(latin, "la"));
  // Without the hint CLD2 reads this Spanish as Galician; with it, Spanish.
  const std::string spanish =
      "Los números y las operaciones básicas para los alumnos. En este capítulo los estudiantes "
      "aprenden a sumar y restar con ejemplos de la vida diaria.";
  CHECK(passes(spanish, "es"));
  CHECK(passes(spanish, "gl"));  // Galician and Spanish are in one of CLD2's close sets
  CHECK(mismatch(spanish, "fr").find("not the requested language fr") != std::string::npos);
  // Marathi for Hindi: the same script and a close set; CLD2 cannot be trusted to tell them.
  CHECK(passes("मी शाळेत जातो आणि अभ्यास करतो. आमच्या शाळेत खूप मुले आहेत आणि आम्ही रोज खेळतो.", "hi"));
}

TEST_CASE("a text mostly in the requested language with some of another passes") {
  // Hindi prose with English terms (a real model writes "pH" and "CBSE" as they are).
  const std::string mixed = kHindi + " CBSE pH value, acid and base.";
  CHECK(passes(mixed, "hi"));
}

namespace {

StepInput input_in(const char* language) {
  StepInput in;
  in.slot = Slot{language, "CBSE", "5", "MATH"};
  in.options.chapters = 2;
  in.options.topics_per_chapter = 2;
  in.options.questions_per_topic = 1;
  return in;
}

std::string subject_answer(const std::string& summary) {
  nlohmann::json chapters = nlohmann::json::array();
  chapters.push_back({{"title", "1"}, {"summary", summary}});
  chapters.push_back({{"title", "2"}, {"summary", summary}});
  return nlohmann::json{{"chapters", chapters}}.dump();
}

}  // namespace

TEST_CASE("parse_step_output rejects an answer in another language for the re-ask") {
  auto wrong = parse_step_output(JobKind::subject, input_in("hi"), subject_answer(kFrench));
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().kind == ErrorKind::invalid_input);
  CHECK(wrong.error().message ==
        "the text is in French (fr), not the requested language hi; write every field in hi");
  CHECK(parse_step_output(JobKind::subject, input_in("hi"), subject_answer(kHindi)));
  CHECK(parse_step_output(JobKind::subject, input_in("fr"), subject_answer(kFrench)));
  CHECK(parse_step_output(JobKind::subject, input_in("es"), subject_answer(kSpanish)));
  CHECK(parse_step_output(JobKind::subject, input_in("en"), subject_answer(kEnglish)));
  CHECK(parse_step_output(JobKind::subject, input_in("xx"), subject_answer(kFrench)));
}

TEST_CASE("the language is judged on the answer's fields together, not one by one") {
  // Each summary alone is under the limit; joined, the answer is plainly French.
  const std::string summary = "Les élèves comparent les fractions de la vie quotidienne.";
  REQUIRE(passes(summary, "hi"));
  auto joined = parse_step_output(JobKind::subject, input_in("hi"), subject_answer(summary));
  REQUIRE_FALSE(joined);
  CHECK(joined.error().message.find("French (fr)") != std::string::npos);
}
