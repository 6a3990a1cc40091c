#include "core/tsv.hpp"

#include <cctype>

namespace hydrate {

std::string trim(std::string_view text) {
  std::size_t begin = 0, end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return std::string(text.substr(begin, end - begin));
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::vector<std::string>> parse_tsv(std::string_view text) {
  std::vector<std::vector<std::string>> rows;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    std::string stripped = trim(line);
    if (stripped.empty() || stripped.front() == '#') continue;
    std::vector<std::string> fields;
    std::size_t field_start = 0;
    while (true) {
      std::size_t tab = line.find('\t', field_start);
      fields.push_back(
          trim(line.substr(field_start, tab == std::string_view::npos ? std::string_view::npos
                                                                      : tab - field_start)));
      if (tab == std::string_view::npos) break;
      field_start = tab + 1;
    }
    rows.push_back(std::move(fields));
  }
  return rows;
}

}  // namespace hydrate
