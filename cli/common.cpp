#include "cli/common.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "core/ids.hpp"
#include "core/llm/model_profile.hpp"
#include "core/log.hpp"
#include "core/tsv.hpp"

namespace hydrate::cli {

int exit_code_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid_input:
      return kUsage;
    case ErrorKind::over_budget:
      return kOverBudget;
    case ErrorKind::not_found:
      return kNotFound;
    default:
      return kFailure;
  }
}

void fail(const Error& error) {
  throw Failure(exit_code_for(error.kind), error.message);
}

// The whole of a small text file the operator named; a usage error naming what and path when it
// is missing, not a regular file, unreadable or over 1 MiB.
std::string read_file(const std::string& path, const char* what) {
  constexpr std::uintmax_t kMaxBytes = 1 << 20;
  std::error_code error;
  auto status = std::filesystem::status(path, error);
  if (error || !std::filesystem::is_regular_file(status)) {
    throw Failure(kUsage, fmt::format("cannot read {} '{}': {}", what, path,
                                      error ? error.message() : "not a regular file"));
  }
  if (std::filesystem::file_size(path, error) > kMaxBytes) {
    throw Failure(kUsage, fmt::format("{} '{}' is larger than 1 MiB", what, path));
  }
  std::ifstream file(path);
  std::stringstream buffer;
  buffer << file.rdbuf();
  if (!file.good() && !file.eof()) {
    throw Failure(kUsage, fmt::format("cannot read {} '{}'", what, path));
  }
  return buffer.str();
}

namespace {}  // namespace

Config load_config(const Globals& globals) {
  log::set_level(globals.quiet ? log::Level::quiet
                               : (globals.verbose > 0 ? log::Level::debug : log::Level::info));
  std::string path = globals.config_file;
  if (path.empty()) {
    if (const char* env = std::getenv("HYDRATE_CONFIG"); env && *env) path = env;
  }
  std::string text;
  if (!path.empty()) {
    text = read_file(path, "config file");
  }
  auto flags = globals.overrides;
  if (!globals.db.empty()) flags["db"] = globals.db;
  return unwrap(Config::resolve(
      flags, [](const char* name) { return std::getenv(name); }, text, path));
}

std::unique_ptr<store::Store> open_database(const Config& config, bool create) {
  store::OpenOptions options;
  options.create_if_missing = create;
  return unwrap(store::open_store(config.get("db"), options));
}

// The finished history of the configured database, when there is one to read; nullopt (and a
// warning, unless the database simply does not exist yet) when there is none.
std::optional<History> read_history(const Globals& globals, const Config& config,
                                    const SubmitRequest& request, bool warn) {
  store::OpenOptions options;
  options.create_if_missing = false;
  options.migrate = false;  // read what is there; never change the database
  auto store = store::open_store(config.get("db"), options);
  Result<History> history =
      store ? (*store)->history(request.options.model, request.slot, kHistoryRoots)
            : Result<History>(store.error());
  if (history) return *history;
  if (warn && history.error().kind != ErrorKind::not_found && !globals.quiet) {
    log::warn("estimating on defaults, no history: {}", history.error().message);
  }
  return std::nullopt;
}

std::string api_key(const Config& config) {
  if (!config.get("llm.api_key").empty()) return config.get("llm.api_key");
  const std::string& file = config.get("llm.api_key_file");
  if (file.empty()) return "";
  return trim(read_file(file, "API key file"));
}

std::string holder_name() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(getpid());
}

void add_slot_options(CLI::App& command, SubmitRequest& request, std::string& mode) {
  command.add_option("--language", request.slot.language, "language code, e.g. en")->required();
  command.add_option("--board", request.slot.board, "board, e.g. CBSE")->required();
  command.add_option("--grade", request.slot.grade, "grade, e.g. 1")->required();
  command.add_option("--subject", request.slot.subject, "subject, e.g. MATH")->required();
  command.add_flag("--notes,!--no-notes", request.options.notes,
                   "generate a study note per topic (default on)");
  command.add_flag("--questions,!--no-questions", request.options.questions,
                   "generate practice questions per topic (default on)");
  command.add_option("--chapters", request.options.chapters, "chapters to plan (default: catalog)")
      ->check(CLI::Range(1, 200));
  command
      .add_option("--topics-per-chapter", request.options.topics_per_chapter,
                  "topics per chapter (default: catalog)")
      ->check(CLI::Range(1, 100));
  command
      .add_option("--questions-per-topic", request.options.questions_per_topic,
                  "questions per topic (default 10)")
      ->check(CLI::Range(1, 50));
  command.add_option("--model", request.options.model, "model (default: llm.model)");
  command
      .add_option("--mode", mode,
                  "online, or batch: the calls go through the provider's Batch API at half the "
                  "price, answered within its 24-hour window (default: submit.mode, online)")
      ->check(CLI::IsMember({"online", "batch"}));
}

llm::BatchEndpoint batch_endpoint(const Config& config) {
  llm::BatchEndpoint endpoint;
  endpoint.base_url = config.get("llm.url");
  while (!endpoint.base_url.empty() && endpoint.base_url.back() == '/')
    endpoint.base_url.pop_back();
  endpoint.api_key = api_key(config);
  endpoint.timeout_ms = static_cast<long>(unwrap(config.get_int("llm.timeout_ms", 100, 3600000)));
  return endpoint;
}

Catalog load_catalog(const Config& config) {
  const std::string& path = config.get("catalog.file");
  if (path.empty()) return Catalog::builtin();
  return unwrap(Catalog::parse(read_file(path, "catalog file")));
}

void check_job_id(const std::string& id) {
  if (!looks_like_job_id(id)) {
    throw Failure(kUsage, "'" + id.substr(0, 64) +
                              "' is not a job id (26 characters, e.g. 01JABCDEFGHJKMNPQRSTVWXYZ0)");
  }
}

void print_line(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

}  // namespace hydrate::cli
