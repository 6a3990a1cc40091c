// hydrate cancel: cancel a root (or a subtree) and every unfinished step under it.
#include <fmt/format.h>

#include "cli/common.hpp"
#include "core/clock.hpp"

namespace hydrate::cli {

void add_cancel(CLI::App& app, Globals& globals) {
  auto* command =
      app.add_subcommand("cancel", "cancel a root (or subtree) and its unfinished steps");
  auto job_id = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>("cancelled by operator");
  command->add_option("job", *job_id, "job id")->required();
  command->add_option("--reason", *reason, "recorded on the root and its steps");
  command->callback([&globals, job_id, reason] {
    check_job_id(*job_id);
    unwrap(check_text("reason", *reason, 500));
    Config config = load_config(globals);
    auto store = open_database(config, false);
    int changed = unwrap(store->cancel(*job_id, *reason, wall_clock_ms()));
    if (globals.json) {
      print_line(fmt::format(R"({{"jobId":"{}","cancelled":{}}})", *job_id, changed));
    } else {
      print_line(fmt::format("cancelled {} step(s) of {}", changed, *job_id));
    }
  });
}

}  // namespace hydrate::cli
