// hydrate-mock-load: drives a running hydrate-mock-llm with chat completions, for
// scripts/bench/mock_endpoint and for profiling the endpoint. CONNECTIONS threads each keep one
// connection alive and send one request at a time (so CONNECTIONS are in flight, as a worker's
// --concurrency), taking the corpus's requests in turn until ANSWERS have been answered.
// Prints "answers N, statuses {200: N}, seconds S" and exits 0 when every answer was a 200
// (1 otherwise, or when the endpoint could not be reached).
//   hydrate-mock-load --url http://127.0.0.1:PORT --corpus FILE [--answers 2000]
//                     [--connections 8] [--only REGEX]
// The requests go with hydrate's Accept-Encoding, so the endpoint encodes as it does for hydrate.
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <regex>
#include <thread>
#include <vector>

#include <fmt/core.h>
#include <httplib.h>
#include <CLI/CLI.hpp>

#include "tests/tools/mock_corpus.hpp"

namespace {

using hydrate::testing::CorpusRequest;

struct Tally {
  std::mutex mutex;
  std::map<int, std::int64_t> statuses;  // 0: no answer (a transport error)
  void count(int status) {
    const std::lock_guard lock(mutex);
    ++statuses[status];
  }
};

// One connection's loop: takes request numbers from `next` until `answers` are taken.
void drive(const std::string& url, const std::string& path,
           const std::vector<CorpusRequest>& corpus, std::atomic<std::int64_t>& next,
           std::int64_t answers, Tally& tally) {
  httplib::Client client(url);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);  // else Nagle holds the body back 40 ms behind the headers
  client.set_connection_timeout(5);
  client.set_read_timeout(120);
  const httplib::Headers headers = {{"Accept-Encoding", hydrate::testing::kHydrateAcceptEncoding}};
  for (std::int64_t n = next++; n < answers; n = next++) {
    const CorpusRequest& request = corpus[static_cast<std::size_t>(n) % corpus.size()];
    const auto result = client.Post(path.c_str(), headers, request.body, "application/json");
    tally.count(result ? result->status : 0);
  }
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"hydrate-mock-load: chat completions against a running hydrate-mock-llm"};
  std::string url, corpus_path, only = ".*", path = "/v1/chat/completions";
  std::int64_t answers = 2000;
  int connections = 8;
  app.add_option("--url", url, "the endpoint, http://HOST:PORT")->required();
  app.add_option("--corpus", corpus_path, "requests, LABEL<TAB>BODY a line")->required();
  app.add_option("--answers", answers, "how many answers to wait for")->check(CLI::PositiveNumber);
  app.add_option("--connections", connections, "connections (requests in flight)")
      ->check(CLI::Range(1, 256));
  app.add_option("--only", only, "only the requests whose label matches this regex");
  app.add_option("--path", path, "the chat route");
  CLI11_PARSE(app, argc, argv);

  std::vector<CorpusRequest> corpus;
  const std::regex wanted(only);
  for (auto& request : hydrate::testing::read_corpus(corpus_path)) {
    if (std::regex_search(request.label, wanted)) corpus.push_back(std::move(request));
  }
  if (corpus.empty()) {
    std::cerr << "hydrate-mock-load: no request of " << corpus_path << " matches " << only << "\n";
    return 2;
  }
  std::atomic<std::int64_t> next{0};
  Tally tally;
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < connections; ++i) {
    threads.emplace_back(drive, url, path, std::cref(corpus), std::ref(next), answers,
                         std::ref(tally));
  }
  for (auto& thread : threads) thread.join();
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
  std::string statuses;
  for (const auto& [status, count] : tally.statuses) {
    statuses += fmt::format("{}{}: {}", statuses.empty() ? "" : ", ", status, count);
  }
  std::cout << fmt::format("answers {}, statuses {{{}}}, seconds {:.3f}\n", answers, statuses,
                           elapsed.count());
  return tally.statuses.size() == 1 && tally.statuses.count(200) == 1 ? 0 : 1;
} catch (const std::exception& error) {
  std::cerr << "hydrate-mock-load: " << error.what() << "\n";
  return 1;
}
