// hydrate metrics: Prometheus text exposition of the counters kept in the database.
#include <cstdio>

#include "cli/common.hpp"
#include "core/metrics.hpp"

namespace hydrate::cli {

void add_metrics(CLI::App& app, Globals& globals) {
  auto* command = app.add_subcommand("metrics", "print Prometheus metrics kept in the database");
  command->callback([&globals] {
    Config config = load_config(globals);
    auto store = open_database(config, false);
    std::string text = metrics::render_prometheus(unwrap(store->read_metrics()));
    std::fwrite(text.data(), 1, text.size(), stdout);
  });
}

}  // namespace hydrate::cli
