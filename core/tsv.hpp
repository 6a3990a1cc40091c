#pragma once
// Tab-separated data files (data/*.tsv): '#' starts a comment line, blank lines are skipped.
#include <string>
#include <string_view>
#include <vector>

namespace hydrate {

// Rows of the text, each split on tabs, with surrounding spaces trimmed from every field.
std::vector<std::vector<std::string>> parse_tsv(std::string_view text);
std::string trim(std::string_view text);
std::string to_lower(std::string_view text);

}  // namespace hydrate
