#pragma once
// What every subcommand shares: global flags, configuration, opening the store, turning core
// errors into the documented exit codes (0 ok, 1 failure, 2 usage, 3 over budget, 4 not found).
#include <CLI/CLI.hpp>

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "core/catalog.hpp"
#include "core/config.hpp"
#include "core/llm/batch_client.hpp"
#include "core/result.hpp"
#include "core/store/store.hpp"
#include "core/submit.hpp"

namespace hydrate::cli {

enum ExitCode { kOk = 0, kFailure = 1, kUsage = 2, kOverBudget = 3, kNotFound = 4 };

// Thrown by subcommands; run() prints "hydrate: error: MESSAGE" and returns code.
struct Failure : std::runtime_error {
  Failure(int exit_code, const std::string& message)
      : std::runtime_error(message), code(exit_code) {}
  int code;
};

int exit_code_for(ErrorKind kind);
[[noreturn]] void fail(const Error& error);

template <class T>
T unwrap(Result<T> result) {
  if (!result) fail(result.error());
  return std::move(result).value();
}
inline void check(const Status& status) {
  if (!status) fail(status.error());
}

struct Globals {
  std::string db;
  std::string config_file;
  bool json = false;
  int verbose = 0;
  bool quiet = false;
  std::map<std::string, std::string> overrides;  // config keys set by subcommand flags
};

// The resolved configuration: flags, then HYDRATE_* environment, then the config file.
Config load_config(const Globals& globals);
// Opens the configured database; create=false makes a missing SQLite file a not-found error.
std::unique_ptr<store::Store> open_database(const Config& config, bool create = true);

// The finished history of the configured database for the request's model and slot, read
// without creating or migrating anything; nullopt when there is no database yet, and also (with
// a one-line warning when warn and not quiet) when it cannot be read: an estimate then uses its
// defaults.
std::optional<History> read_history(const Globals& globals, const Config& config,
                                    const SubmitRequest& request, bool warn = true);
// The whole of a small text file the operator named; a usage error naming what and path when it
// is missing, not a regular file, unreadable or over 1 MiB.
std::string read_file(const std::string& path, const char* what);

// The API key: from the environment, or the file llm.api_key_file names.
std::string api_key(const Config& config);
// The Files and Batches API as configured: llm.url (the API root), the key, llm.timeout_ms.
llm::BatchEndpoint batch_endpoint(const Config& config);
// holder identity for leases and locks: HOST:PID
std::string holder_name();

// Adds --language/--board/--grade/--subject and the content options to a subcommand.
void add_slot_options(CLI::App& command, SubmitRequest& request, std::string& mode);

// The curriculum catalog: catalog.file when configured, else the built-in one.
Catalog load_catalog(const Config& config);

// A job id argument: exit 2 unless it has the shape of an id.
void check_job_id(const std::string& id);

void print_line(const std::string& text);  // stdout, with a newline

// Subcommands: each registers itself on the app (one file each).
void add_estimate(CLI::App& app, Globals& globals);
void add_submit(CLI::App& app, Globals& globals);
void add_status(CLI::App& app, Globals& globals);
void add_cancel(CLI::App& app, Globals& globals);
void add_requeue(CLI::App& app, Globals& globals);
void add_reconcile(CLI::App& app, Globals& globals);
void add_work(CLI::App& app, Globals& globals);
void add_export(CLI::App& app, Globals& globals);
void add_metrics(CLI::App& app, Globals& globals);
void add_report(CLI::App& app, Globals& globals);
void add_serve(CLI::App& app, Globals& globals);
void add_migrate(CLI::App& app, Globals& globals);
void add_config(CLI::App& app, Globals& globals);
void add_completion(CLI::App& app, Globals& globals);

}  // namespace hydrate::cli
