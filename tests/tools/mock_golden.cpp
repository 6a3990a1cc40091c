// hydrate_mock_golden: the golden test of hydrate-mock-llm. Starts the endpoint once per
// configuration of mock_golden_plan.cpp, sends that configuration's requests one after another
// over one keep-alive connection (with hydrate's Accept-Encoding), and writes one line per answer:
//   CONFIG <TAB> LABEL <TAB> STATUS <TAB> X-MOCK-FAULT <TAB> BODY-BYTES <TAB> DIGEST
// DIGEST is FNV-1a over the answer's headers (names lower-cased, sorted) and its decoded body.
// Left out, because they say how the answer travelled or when, not what it is: the transport
// headers (content-length, content-encoding, keep-alive, connection), the values of the headers
// that follow the clock (openai-processing-ms, x-ratelimit-remaining-*, x-ratelimit-reset-*: only
// their presence counts), and the completion's "created" time stamp. A dropped connection is
// status 0 with an empty body.
//   hydrate_mock_golden --corpus C --expect G   exit 1 and list the answers that differ from G
//   hydrate_mock_golden --corpus C --write G    (re)write G
//   hydrate_mock_golden --make-corpus <ALL >C   C from hydrate_request_bodies' output ALL
// --dump DIR also writes each answer as compared (headers, blank line, body) to DIR/CONFIG/N.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include "tests/support/mock_process.hpp"
#include "tests/tools/mock_golden_plan.hpp"

namespace {

using namespace hydrate::testing;

const std::set<std::string> kTransportHeaders = {"content-length", "content-encoding", "keep-alive",
                                                 "connection"};
const std::set<std::string> kClockHeaders = {
    "openai-processing-ms", "x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// `body` with the digits of every "created": member replaced by 0.
std::string without_created(const std::string& body) {
  static constexpr std::string_view kCreated = "\"created\":";
  std::string out;
  std::size_t from = 0;
  for (std::size_t at; (at = body.find(kCreated, from)) != std::string::npos;) {
    std::size_t end = at + kCreated.size();
    while (end < body.size() && body[end] >= '0' && body[end] <= '9') ++end;
    out.append(body, from, at + kCreated.size() - from).append("0");
    from = end;
  }
  return out.append(body, from);
}

// The answer as the digest sees it: kept headers, a blank line, the body.
std::string normalised(const httplib::Result& result) {
  if (!result) return "dropped: " + httplib::to_string(result.error()) + "\n\n";
  std::vector<std::string> headers;
  for (const auto& [name, value] : result->headers) {
    const std::string key = lower(name);
    if (kTransportHeaders.count(key) > 0) continue;
    headers.push_back(key + ": " + (kClockHeaders.count(key) > 0 ? "*" : value));
  }
  std::sort(headers.begin(), headers.end());
  std::string text;
  for (const auto& header : headers) text += header + "\n";
  return text + "\n" + without_created(result->body);
}

// Runs one configuration; appends its lines to `lines`.
void run_config(const GoldenConfig& config, std::vector<std::string>& lines,
                const std::string& dump_dir) {
  MockProcess mock(config.args);
  httplib::Client client(mock.host(), mock.port());
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);  // else Nagle holds the body back 40 ms behind the headers
  client.set_connection_timeout(5);
  client.set_read_timeout(60);
  std::map<std::string, int> repeats;
  for (std::size_t i = 0; i < config.steps.size(); ++i) {
    const GoldenStep& step = config.steps[i];
    httplib::Headers headers = step.headers;
    headers.emplace("Accept-Encoding", kHydrateAcceptEncoding);
    const httplib::Result result =
        step.method == "GET"
            ? client.Get(step.path.c_str(), headers)
            : client.Post(step.path.c_str(), headers, step.body, "application/json");
    const std::string text = normalised(result);
    const int repeat = ++repeats[step.label];
    const std::string fault = result && result->has_header("x-mock-fault")
                                  ? result->get_header_value("x-mock-fault")
                                  : "-";
    lines.push_back(fmt::format("{}\t{}{}\t{}\t{}\t{}\t{:016x}", config.name, step.label,
                                repeat > 1 ? fmt::format(" ({})", repeat) : "",
                                result ? result->status : 0, fault,
                                result ? result->body.size() : 0, fnv1a(text)));
    if (!dump_dir.empty()) {
      const std::filesystem::path dir = std::filesystem::path(dump_dir) / config.name;
      std::filesystem::create_directories(dir);
      std::ofstream(dir / std::to_string(i)) << step.label << "\n" << text;
    }
  }
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  }
  return lines;
}

// Lists the differences; true when there are none.
bool compare(const std::vector<std::string>& expected, const std::vector<std::string>& actual) {
  int shown = 0, differing = 0;
  for (std::size_t i = 0; i < std::max(expected.size(), actual.size()); ++i) {
    const std::string want = i < expected.size() ? expected[i] : "(nothing)";
    const std::string got = i < actual.size() ? actual[i] : "(nothing)";
    if (want == got) continue;
    ++differing;
    if (++shown <= 20) std::cout << "expected: " << want << "\nactual:   " << got << "\n";
  }
  std::cout << actual.size() << " answers, " << differing << " differ from the golden file\n";
  return differing == 0;
}

int make_corpus() {
  std::vector<CorpusRequest> all;
  for (std::string line; std::getline(std::cin, line);) {
    const auto tab = line.find('\t');
    if (tab != std::string::npos) all.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  std::cout
      << "# The requests of hydrate-mock-llm's golden test (tests/tools/mock_golden.cpp),\n"
         "# chosen from hydrate_request_bodies' output by hydrate_mock_golden --make-corpus.\n"
         "# Kept as they are even when hydrate's prompts change: the test is of the endpoint.\n";
  for (const auto& request : select_corpus(all)) {
    std::cout << request.label << '\t' << request.body << '\n';
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"hydrate_mock_golden: the golden answers of hydrate-mock-llm"};
  std::string corpus_path, expect_path, write_path, dump_dir;
  bool corpus_only = false;
  app.add_flag("--make-corpus", corpus_only, "print the corpus chosen from stdin");
  app.add_option("--corpus", corpus_path, "the request corpus");
  app.add_option("--expect", expect_path, "the golden file to compare with");
  app.add_option("--write", write_path, "the golden file to write");
  app.add_option("--dump", dump_dir, "a directory for every answer as compared");
  CLI11_PARSE(app, argc, argv);
  if (corpus_only) return make_corpus();
  if (corpus_path.empty() || expect_path.empty() == write_path.empty()) {
    std::cerr << "hydrate_mock_golden: give --corpus and one of --expect, --write\n";
    return 2;
  }
  std::vector<std::string> lines;
  for (const GoldenConfig& config : golden_plan(read_corpus(corpus_path))) {
    const auto started = std::chrono::steady_clock::now();
    run_config(config, lines, dump_dir);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    std::cerr << fmt::format("{}: {} answers in {:.1f} s\n", config.name, config.steps.size(),
                             took.count());
  }
  if (!write_path.empty()) {
    std::ofstream out(write_path);
    out << "# hydrate-mock-llm's golden answers: CONFIG, LABEL, STATUS, X-MOCK-FAULT, BODY-BYTES,\n"
           "# DIGEST (see tests/tools/mock_golden.cpp). Rewrite only for a change meant to alter\n"
           "# answers: build/tests/hydrate_mock_golden --corpus "
           "tests/integration/mock_golden_requests.tsv --write tests/integration/mock_golden.tsv\n";
    for (const auto& line : lines) out << line << '\n';
    std::cout << lines.size() << " answers written to " << write_path << "\n";
    return 0;
  }
  return compare(read_lines(expect_path), lines) ? 0 : 1;
} catch (const std::exception& error) {
  std::cerr << "hydrate_mock_golden: " << error.what() << "\n";
  return 1;
}
