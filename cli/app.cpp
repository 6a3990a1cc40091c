// The command table: every subcommand registered in one spot with its one-line description.
#include "cli/app.hpp"

#include <curl/curl.h>

#include <cstdlib>
#include <iostream>
#include <regex>

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
    {"estimate", add_estimate},   {"submit", add_submit},         {"status", add_status},
    {"cancel", add_cancel},       {"requeue", add_requeue},       {"work", add_work},
    {"reconcile", add_reconcile}, {"export", add_export},         {"metrics", add_metrics},
    {"report", add_report},       {"serve", add_serve},           {"migrate", add_migrate},
    {"config", add_config},       {"completion", add_completion},
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

// When the first word that is not an option names no command: "unknown command 'X'", with the
// nearest command when one is close. Empty when the first word is a command (or there is none).
// Options of the global table that take a value are skipped with their value.
std::string unknown_command(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    if (word == "--db" || word == "--config" || word == "--log-format") {
      ++i;
      continue;
    }
    if (word.empty() || word[0] == '-') continue;
    std::string nearest;
    for (const auto& command : kCommands) {
      if (word == command.name) return "";
      if (nearest.empty() && edit_distance(word, command.name) <= 2) nearest = command.name;
    }
    return "unknown command '" + word.substr(0, 64) + "'" +
           (nearest.empty() ? "" : " (did you mean '" + nearest + "'?)");
  }
  return "";
}

// Errors are one line on stderr, whatever the message holds: line breaks become "; ", what looks
// like an API key is redacted, and a message echoing a huge value is cut (at a UTF-8 character
// boundary).
void print_error(std::string message) {
  constexpr std::size_t kMaxBytes = 400;
  for (std::size_t at; (at = message.find_first_of("\r\n")) != std::string::npos;) {
    message.replace(at, message.find_first_not_of("\r\n", at) - at, "; ");
  }
  // A key passed by mistake as an argument is echoed by the parser's errors: never print it.
  static const std::regex api_key(R"(\b(sk-[A-Za-z0-9_-]{0,8})[A-Za-z0-9_-]{8,})");
  message = std::regex_replace(message, api_key, "$1[redacted]");
  if (message.size() > kMaxBytes) {
    std::size_t cut = kMaxBytes;
    while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
    message = message.substr(0, cut) + "…";
  }
  log::write(log::Severity::error, message);
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
  if (const char* env = std::getenv("HYDRATE_LOG_FORMAT"); env && *env) {
    auto format = log::parse_format(env);
    if (!format) {
      print_error(fmt::format("HYDRATE_LOG_FORMAT must be text or json (got '{}')",
                              std::string(env).substr(0, 32)));
      return kUsage;
    }
    log::set_format(*format);
  }
  const CLI::Validator not_empty(
      [](std::string& value) { return value.empty() ? std::string("must not be empty") : ""; }, "",
      "NOT_EMPTY");
  app.add_option("--db", globals.db,
                 "database: sqlite:PATH, a path, or postgresql://… (HYDRATE_DB)")
      ->check(not_empty);
  app.add_option("--config", globals.config_file, "config file (HYDRATE_CONFIG)")->check(not_empty);
  app.add_flag("--json", globals.json, "machine-readable output on stdout");
  app.add_option_function<std::string>(
         "--log-format", [](const std::string& name) { log::set_format(*log::parse_format(name)); },
         "diagnostics on stderr as text (default) or json, one object a line "
         "(HYDRATE_LOG_FORMAT)")
      ->check(CLI::IsMember({"text", "json"}))
      ->type_name("text|json");
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
    if (std::string unknown = unknown_command(argc, argv); !unknown.empty()) message = unknown;
    print_error(message + " (see hydrate --help)");
    return kUsage;
  } catch (const Failure& failure) {
    print_error(failure.what());
    return failure.code;
  } catch (const std::exception& e) {
    print_error(e.what());
    return kFailure;
  }
  return kOk;
}

}  // namespace hydrate::cli
