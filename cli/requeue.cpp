// hydrate requeue: put failed (or cancelled) steps back to pending and reopen their roots.
#include <fmt/format.h>

#include "cli/common.hpp"
#include "core/clock.hpp"

namespace hydrate::cli {

namespace {
struct RequeueFlags {
  std::string job_id;
  bool failed = false;
  std::string root_id;
  double max_cost_usd = -1;  // < 0: the budget stays as it is
};
}  // namespace

void add_requeue(CLI::App& app, Globals& globals) {
  auto* command = app.add_subcommand("requeue", "put failed or cancelled steps back to pending");
  auto flags = std::make_shared<RequeueFlags>();
  command->add_option("job", flags->job_id, "a step, or a root for its whole tree");
  command->add_flag("--failed", flags->failed, "every failed step (of --root, or of all roots)");
  command->add_option("--root", flags->root_id, "with --failed: only this root's tree");
  command
      ->add_option("--max-cost", flags->max_cost_usd,
                   "set the root's budget in USD first (0 = none), e.g. to continue a tree "
                   "its budget stopped")
      ->check(CLI::Range(0.0, 1e9));
  command->callback([&globals, flags] {
    if (flags->job_id.empty() && !flags->failed) {
      throw Failure(kUsage, "requeue needs a JOB or --failed");
    }
    if (!flags->job_id.empty() && flags->failed) {
      throw Failure(kUsage, "give either JOB or --failed [--root JOB], not both");
    }
    if (!flags->root_id.empty() && !flags->failed)
      throw Failure(kUsage, "--root goes with --failed");
    std::string target = flags->failed ? flags->root_id : flags->job_id;
    if (!target.empty()) check_job_id(target);
    Config config = load_config(globals);
    auto store = open_database(config, false);
    if (!flags->root_id.empty()) unwrap(store->find_root(flags->root_id));
    if (flags->max_cost_usd >= 0) {
      if (target.empty()) throw Failure(kUsage, "--max-cost needs a root: JOB or --failed --root");
      auto root = store->find_root(target);
      if (!root && root.error().kind == ErrorKind::not_found) {
        throw Failure(kUsage, "--max-cost needs a root; " + target + " is not one");
      }
      unwrap(root);
      unwrap(store->set_budget(target, flags->max_cost_usd));
    }
    int moved = unwrap(store->requeue(target, wall_clock_ms()));
    if (globals.json) {
      print_line(fmt::format(R"({{"requeued":{}}})", moved));
    } else {
      print_line(fmt::format("requeued {} step(s)", moved));
    }
  });
}

}  // namespace hydrate::cli
