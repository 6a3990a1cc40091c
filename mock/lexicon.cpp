#include "mock/lexicon.hpp"

#include "mock/hash.hpp"

namespace hydrate::mock {
namespace {

// --- English ------------------------------------------------------------------------------
// Vocabulary for English text that may not take the prompt's words (an answer in English to a
// request for another language, whose prompt holds words of that language).
constexpr const char* kEnVocabulary[] = {
    "concept",  "principle", "example",  "process", "structure", "pattern",  "method",
    "evidence", "system",    "practice", "context", "model",     "number",   "fraction",
    "measure",  "shape",     "energy",   "water",   "plants",    "time",     "money",
    "data",     "maps",      "history",  "nature",  "addition",  "division", "geometry",
    "light",    "sound",     "air",      "soil",    "health",    "food",     "family",
    "society",  "language",  "story",    "poetry",  "science",   "weather",  "animals"};
constexpr const char* kEnSentences[] = {
    "{0} shapes how {1} and {2} are understood.",
    "This section explains how {0} relates to {1}, using {2} as a worked example.",
    "Students examine {0} through {1} and connect it to {2}.",
    "A clear grasp of {0} makes {1} easier to apply in {2}.",
    "Key ideas include {0}, {1} and {2}.",
    "Everyday examples of {0} show why {1} matters for {2}.",
    "Comparing {0} with {1} reveals the role of {2}.",
    "The link between {0} and {1} is best seen in {2}."};
constexpr const char* kEnQuestions[] = {
    "Which statement best describes the relationship between {0} and {1}?",
    "What role does {0} play in {1}?", "How does {0} affect {1} in the context of {2}?",
    "Why is {0} important when studying {1}?", "Which example best illustrates {0}?"};
constexpr const char* kEnObjectives[] = {
    "Explain {0} and its role in {1}",     "Describe how {0} relates to {1}",
    "Identify examples of {0} in {2}",     "Compare {0} with {1}",
    "Apply {0} to problems involving {1}", "Summarise the main ideas of {0} and {2}"};
constexpr const char* kEnHeadings[] = {"Why it matters", "Worked example", "In practice",
                                       "Going further"};

// --- Hindi ----------------------------------------------------------------------------------
constexpr const char* kHiVocabulary[] = {
    "संख्या",    "भिन्न",  "माप",    "आकार",  "ऊर्जा",   "पानी",    "पौधे",     "समय",    "पैसा",
    "आँकड़े",     "नक्शा",  "इतिहास", "प्रकृति", "जोड़",    "घटाव",    "गुणा",     "भाग",    "दशमलव",
    "ज्यामिति", "प्रकाश", "ध्वनि",   "वायु",   "मिट्टी",  "पर्यावरण", "स्वास्थ्य",  "भोजन",   "परिवार",
    "समाज",    "भाषा",  "कहानी",  "कविता", "विज्ञान", "गणित",    "अवधारणा", "सिद्धांत", "उदाहरण",
    "प्रक्रिया", "संरचना", "विधि",   "प्रमाण", "प्रणाली", "अभ्यास",   "संदर्भ",    "मौसम",   "जानवर"};
constexpr const char* kHiSentences[] = {
    "{0} और {1} के बीच का संबंध {2} में सबसे अच्छी तरह दिखाई देता है।",
    "इस भाग में बताया गया है कि {0} का {1} से क्या संबंध है, और {2} को उदाहरण के रूप में लिया गया "
    "है।",
    "विद्यार्थी {1} और {2} की सहायता से {0} का अध्ययन करते हैं।",
    "{0} की स्पष्ट समझ से {2} में {1} का उपयोग करना आसान हो जाता है।",
    "मुख्य विचारों में {0}, {1} और {2} शामिल हैं।",
    "रोज़मर्रा के जीवन में {0} के उदाहरण दिखाते हैं कि {2} के लिए {1} क्यों महत्वपूर्ण है।",
    "{0} की तुलना {1} से करने पर {2} की भूमिका स्पष्ट होती है।",
    "कक्षा में शिक्षक {0} को {1} और {2} के सरल उदाहरणों से समझाते हैं।"};
constexpr const char* kHiQuestions[] = {
    "{0} और {1} के बीच के संबंध का सबसे अच्छा वर्णन कौन-सा कथन करता है?", "{1} में {0} की क्या भूमिका है?",
    "{2} के संदर्भ में {0} का {1} पर क्या प्रभाव पड़ता है?", "{1} का अध्ययन करते समय {0} क्यों महत्वपूर्ण है?",
    "कौन-सा उदाहरण {0} को सबसे अच्छी तरह समझाता है?"};
constexpr const char* kHiObjectives[] = {
    "{0} और {1} में उसकी भूमिका को समझाना",  "बताना कि {0} का {1} से क्या संबंध है",
    "{2} में {0} के उदाहरण पहचानना",         "{0} की तुलना {1} से करना",
    "{1} से जुड़े प्रश्नों में {0} का उपयोग करना", "{0} और {2} के मुख्य विचारों का सारांश बनाना"};
constexpr const char* kHiTitles[] = {"{0} और {1}",    "{0} को समझना",     "{0} का परिचय",
                                     "{0} की मूल बातें", "{1} में {0}",        "{0}, {1} और {2}",
                                     "{0} के उपयोग",   "{0} और {1} का संबंध"};
constexpr const char* kHiHeadings[] = {"यह क्यों महत्वपूर्ण है", "हल किया गया उदाहरण", "व्यवहार में",
                                       "आगे की पढ़ाई"};

// --- French ---------------------------------------------------------------------------------
// Patterns never put "de" or "à" before a word, which would need "du", "des", "au" or "aux".
constexpr const char* kFrVocabulary[] = {
    "les nombres",  "les fractions", "la mesure",       "les formes",  "l'énergie",
    "l'eau",        "les plantes",   "le temps",        "la monnaie",  "les données",
    "les cartes",   "l'histoire",    "la nature",       "l'addition",  "la soustraction",
    "la division",  "les décimaux",  "la géométrie",    "la lumière",  "le son",
    "l'air",        "le sol",        "l'environnement", "la santé",    "l'alimentation",
    "la famille",   "la société",    "la langue",       "le récit",    "la poésie",
    "les sciences", "le calcul",     "la notion",       "le principe", "l'exemple",
    "le processus", "la structure",  "la méthode",      "la preuve",   "le système",
    "la pratique",  "le contexte",   "la météo",        "les animaux", "la multiplication"};
constexpr const char* kFrSentences[] = {
    "{0} aide à comprendre comment {1} et {2} sont liés.",
    "Cette partie explique le lien entre {0} et {1}, avec {2} comme exemple concret.",
    "Les élèves étudient {0} avec {1} et font le lien avec {2}.",
    "Bien comprendre {0} rend {1} plus facile à utiliser dans {2}.",
    "Les idées clés sont {0}, {1} et {2}.",
    "Des exemples tirés de la vie quotidienne montrent pourquoi {0} compte pour {1} et {2}.",
    "En comparant {0} avec {1}, on voit mieux le rôle joué par {2}.",
    "Le lien entre {0} et {1} apparaît clairement dans {2}."};
constexpr const char* kFrQuestions[] = {
    "Quelle affirmation décrit le mieux le lien entre {0} et {1} ?",
    "Quel rôle joue {0} dans {1} ?", "Pourquoi faut-il connaître {0} pour étudier {1} ?",
    "Quel exemple illustre le mieux {0} ?",
    "Que peut-on dire sur {0} et {1} quand on étudie {2} ?"};
constexpr const char* kFrObjectives[] = {"Expliquer {0} et son rôle dans {1}",
                                         "Décrire le lien entre {0} et {1}",
                                         "Reconnaître {0} dans la vie quotidienne",
                                         "Comparer {0} et {1}",
                                         "Utiliser {0} pour résoudre des problèmes sur {1}",
                                         "Résumer les idées principales sur {0} et {2}"};
constexpr const char* kFrTitles[] = {"{0} et {1}",          "Comprendre {0}",   "Découvrir {0}",
                                     "Explorer {0} et {1}", "{0} au quotidien", "Les bases : {0}",
                                     "{0}, {1} et {2}",     "{0} dans {1}"};
constexpr const char* kFrHeadings[] = {"Pourquoi c'est important", "Exemple résolu", "En pratique",
                                       "Pour aller plus loin"};

// --- Spanish --------------------------------------------------------------------------------
// Patterns never put "de" or "a" before a word, which would need "del" or "al".
constexpr const char* kEsVocabulary[] = {
    "los números",  "las fracciones", "la medida",         "las formas",   "la energía",
    "el agua",      "las plantas",    "el tiempo",         "el dinero",    "los datos",
    "los mapas",    "la historia",    "la naturaleza",     "la suma",      "la resta",
    "la división",  "los decimales",  "la geometría",      "la luz",       "el sonido",
    "el aire",      "el suelo",       "el medio ambiente", "la salud",     "la alimentación",
    "la familia",   "la sociedad",    "la lengua",         "el relato",    "la poesía",
    "las ciencias", "el cálculo",     "el concepto",       "el principio", "el ejemplo",
    "el proceso",   "la estructura",  "el método",         "la prueba",    "el sistema",
    "la práctica",  "el contexto",    "el clima",          "los animales", "la multiplicación"};
constexpr const char* kEsSentences[] = {
    "{0} ayuda a entender cómo se relacionan {1} y {2}.",
    "Esta sección explica la relación entre {0} y {1}, con {2} como ejemplo práctico.",
    "Los alumnos estudian {0} junto con {1} y lo relacionan con {2}.",
    "Comprender bien {0} hace que {1} sea más fácil de aplicar en {2}.",
    "Las ideas clave son {0}, {1} y {2}.",
    "Los ejemplos de la vida diaria muestran por qué {0} es importante para {1} y {2}.",
    "Al comparar {0} con {1} se entiende mejor el papel que cumple {2}.",
    "La relación entre {0} y {1} se ve con claridad en {2}."};
constexpr const char* kEsQuestions[] = {
    "¿Qué afirmación describe mejor la relación entre {0} y {1}?", "¿Qué papel cumple {0} en {1}?",
    "¿Por qué es necesario conocer {0} para estudiar {1}?", "¿Qué ejemplo muestra mejor {0}?",
    "¿Qué se puede decir sobre {0} y {1} al estudiar {2}?"};
constexpr const char* kEsObjectives[] = {"Explicar {0} y su papel en {1}",
                                         "Describir la relación entre {0} y {1}",
                                         "Reconocer {0} en la vida diaria",
                                         "Comparar {0} con {1}",
                                         "Usar {0} para resolver problemas sobre {1}",
                                         "Resumir las ideas principales sobre {0} y {2}"};
constexpr const char* kEsTitles[] = {"{0} y {1}",
                                     "Comprender {0}",
                                     "Descubrir {0}",
                                     "Explorar {0} y {1}",
                                     "{0} en la vida diaria",
                                     "Las bases: {0}",
                                     "{0}, {1} y {2}",
                                     "{0} en {1}"};
constexpr const char* kEsHeadings[] = {"Por qué es importante", "Ejemplo resuelto",
                                       "En la práctica", "Para saber más"};

constexpr std::array<Lexicon, 4> kLexicons = {{
    {Language::en,
     kEnVocabulary,
     kEnSentences,
     kEnQuestions,
     kEnObjectives,
     {},
     kEnHeadings,
     "Key points",
     "and"},
    {Language::hi, kHiVocabulary, kHiSentences, kHiQuestions, kHiObjectives, kHiTitles, kHiHeadings,
     "मुख्य बातें", "और"},
    {Language::fr, kFrVocabulary, kFrSentences, kFrQuestions, kFrObjectives, kFrTitles, kFrHeadings,
     "Points clés", "et"},
    {Language::es, kEsVocabulary, kEsSentences, kEsQuestions, kEsObjectives, kEsTitles, kEsHeadings,
     "Puntos clave", "y"},
}};

}  // namespace

const char* language_code(Language language) {
  switch (language) {
    case Language::en:
      return "en";
    case Language::hi:
      return "hi";
    case Language::fr:
      return "fr";
    case Language::es:
      return "es";
  }
  return "en";
}

std::optional<Language> parse_language(std::string_view code) {
  const std::string_view primary = code.substr(0, code.find_first_of("-_"));
  if (primary.size() != 2) return std::nullopt;
  const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
  const char name[2] = {lower(primary[0]), lower(primary[1])};
  for (Language language : kAllLanguages) {
    const char* known = language_code(language);
    if (known[0] == name[0] && known[1] == name[1]) return language;
  }
  return std::nullopt;
}

const Lexicon& lexicon_for(Language language) {
  return kLexicons[static_cast<std::size_t>(language)];
}

bool draws_wrong_language(double rate, std::uint64_t fault_hash) {
  return rate > 0 && unit_interval(derive(fault_hash, 0x1A46)) < rate;
}

Language other_language(Language requested, std::uint64_t hash) {
  std::array<Language, 3> others{};
  std::size_t count = 0;
  for (Language language : kAllLanguages) {
    if (language != requested) others[count++] = language;
  }
  return others[derive(hash, 0x1A47) % others.size()];
}

}  // namespace hydrate::mock
