// The command table: every subcommand registered in one spot with its one-line description.
#include "cli/app.hpp"

#include <curl/curl.h>

#include <iostream>

#include "cli/common.hpp"
#include "core/log.hpp"

namespace hydrate::cli {
namespace {

struct Command {
  const char* name;
  void (*add)(CLI::App&, Globals&);
};

// Order is the order of `hydrate --help`.
constexpr Command kCommands[] = {
    {"estimate", add_estimate},   {"submit", add_submit},   {"status", add_status},
    {"cancel", add_cancel},       {"requeue", add_requeue}, {"work", add_work},
    {"reconcile", add_reconcile}, {"export", add_export},   {"metrics", add_metrics},
    {"migrate", add_migrate},
};

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t previous = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t current = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] != b[j - 1])});
      previous = current;
    }
  }
  return row[b.size()];
}

std::string suggestion(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    if (word.empty() || word[0] == '-') continue;
    for (const auto& command : kCommands) {
      if (word != command.name && edit_distance(word, command.name) <= 2) {
        return std::string(" (did you mean '") + command.name + "'?)";
      }
    }
    break;
  }
  return "";
}

}  // namespace

int run(int argc, char** argv) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CLI::App app{
      "hydrate: generate a curriculum's teaching content through an OpenAI-compatible "
      "endpoint, one durable step at a time."};
  app.name("hydrate");
  app.set_version_flag("--version", std::string("hydrate ") + HYDRATE_VERSION);
  Globals globals;
  app.add_option("--db", globals.db,
                 "database: sqlite:PATH, a path, or postgresql://… (HYDRATE_DB)");
  app.add_option("--config", globals.config_file, "config file (HYDRATE_CONFIG)");
  app.add_flag("--json", globals.json, "machine-readable output on stdout");
  app.add_flag("-v,--verbose", globals.verbose, "more diagnostics on stderr");
  app.add_flag("-q,--quiet", globals.quiet, "only errors on stderr");
  app.require_subcommand(1);
  app.fallthrough();
  for (const auto& command : kCommands) command.add(app, globals);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::string message = e.what();
    if (dynamic_cast<const CLI::ExtrasError*>(&e) || dynamic_cast<const CLI::RequiredError*>(&e)) {
      message += suggestion(argc, argv);
    }
    std::cerr << "hydrate: error: " << message << "\n"
              << "Run 'hydrate --help' for usage.\n";
    return kUsage;
  } catch (const Failure& failure) {
    std::cerr << "hydrate: error: " << failure.what() << "\n";
    return failure.code;
  } catch (const std::exception& e) {
    std::cerr << "hydrate: error: " << e.what() << "\n";
    return kFailure;
  }
  return kOk;
}

}  // namespace hydrate::cli
