#pragma once
// Requests for hydrate-mock-llm from a corpus file, and the client settings both the golden test
// (mock_golden.cpp) and the load driver (mock_load.cpp) send them with. A corpus file holds one
// request a line, "LABEL<TAB>BODY", as hydrate_request_bodies prints them (LABEL is
// kind/flavor/model/mode/token-field/variant, BODY a JSON object on one line); lines starting
// with '#' and empty lines are comments.
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace hydrate::testing {

struct CorpusRequest {
  std::string label;
  std::string body;
};

// What hydrate's transport (libcurl with CURLOPT_ACCEPT_ENCODING "") offers, so that the endpoint
// chooses its encoding as it does for a worker.
inline constexpr const char* kHydrateAcceptEncoding = "deflate, gzip, br, zstd";

// The requests of a corpus file in file order; throws std::runtime_error when the file cannot be
// read or a line has no tab.
inline std::vector<CorpusRequest> read_corpus(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read the corpus " + path);
  std::vector<CorpusRequest> requests;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty() || line[0] == '#') continue;
    const auto tab = line.find('\t');
    if (tab == std::string::npos) {
      throw std::runtime_error(path + ":" + std::to_string(number) + ": no tab after the label");
    }
    requests.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  return requests;
}

// The label's parts split at '/': a model name may hold '/' itself, so callers index from the
// ends (kind first, then flavor; variant last, token field and mode before it).
inline std::vector<std::string> label_parts(std::string_view label) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t slash; (slash = label.find('/', start)) != std::string_view::npos;) {
    parts.emplace_back(label.substr(start, slash - start));
    start = slash + 1;
  }
  parts.emplace_back(label.substr(start));
  return parts;
}

// 64-bit FNV-1a: a digest that is the same on every platform and run.
inline std::uint64_t fnv1a(std::string_view bytes, std::uint64_t hash = 0xcbf29ce484222325ULL) {
  for (unsigned char c : bytes) hash = (hash ^ c) * 0x100000001b3ULL;
  return hash;
}

}  // namespace hydrate::testing
