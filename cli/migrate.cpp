// hydrate migrate: apply schema migrations (any command also does so on first use).
#include <fmt/format.h>

#include "cli/common.hpp"

namespace hydrate::cli {

void add_migrate(CLI::App& app, Globals& globals) {
  auto* command =
      app.add_subcommand("migrate", "create the database or apply pending schema migrations");
  command->callback([&globals] {
    Config config = load_config(globals);
    store::OpenOptions options;
    options.migrate = false;
    auto store = unwrap(store::open_store(config.get("db"), options));
    int version = unwrap(store->migrate());
    if (globals.json)
      print_line(fmt::format(R"({{"schemaVersion":{}}})", version));
    else
      print_line(fmt::format("schema version {}", version));
  });
}

}  // namespace hydrate::cli
