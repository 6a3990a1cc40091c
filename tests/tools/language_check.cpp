// hydrate_language_check LANG: the language check (core/language.hpp) over stored text, for the
// end-to-end tests. Reads one JSON string per line on stdin (one answer's text each, as `jq -c`
// writes them), judges each against LANG as the validator does, and prints
// "judged J, not judged N, mismatched M" on stdout and each mismatch's reason on stderr.
// Exits 0 when nothing mismatched, 1 when something did, 2 on a usage error or a line that is
// not a JSON string.
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "core/language.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: hydrate_language_check LANG < texts.jsonl\n";
    return 2;
  }
  int judged = 0, not_judged = 0, mismatched = 0;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    const nlohmann::json text = nlohmann::json::parse(line, nullptr, false);
    if (!text.is_string()) {
      std::cerr << "hydrate_language_check: not a JSON string: " << line.substr(0, 80) << "\n";
      return 2;
    }
    const std::string& value = text.get_ref<const std::string&>();
    const hydrate::LanguageJudgement judgement = hydrate::judge_language(value, argv[1]);
    ++(judgement.judged ? judged : not_judged);
    if (judgement.mismatch) {
      ++mismatched;
      std::cerr << *judgement.mismatch << ": " << value.substr(0, 160) << "\n";
    }
  }
  std::cout << "judged " << judged << ", not judged " << not_judged << ", mismatched " << mismatched
            << "\n";
  return mismatched == 0 ? 0 : 1;
}
