// hydrate submit: create a root job for a slot, or return the live duplicate.
#include <fmt/format.h>

#include "cli/common.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/report.hpp"

namespace hydrate::cli {

namespace {

struct SubmitFlags {
  SubmitRequest request;
  std::string mode;  // --mode, else submit.mode
  bool dry_run = false;
};

void run_submit(const Globals& globals, SubmitFlags flags) {
  Config config = load_config(globals);
  SubmitRequest& request = flags.request;
  unwrap(complete_request(request, config, flags.mode));
  if (request.options.mode == CallMode::batch) unwrap(check_batch_api(config, "--mode batch"));
  Catalog catalog = load_catalog(config);
  auto prompts = unwrap(PromptSet::load(config.get("prompts.dir")));
  unwrap(validate_request(request));  // a bad request is named before any database is opened
  // The estimate, calibrated on the database's history when there is one, is checked against
  // the budget before anything is created or written.
  // A database that cannot be read is reported when it is opened to submit, not here.
  auto history = read_history(globals, config, request, flags.dry_run);
  Estimate estimate = unwrap(
      estimate_request(request, catalog, config.prices(), prompts, history ? &*history : nullptr));
  if (flags.dry_run) print_line(report::submit_json(nullptr, estimate, request.options.model));
  if (request.max_cost_usd > 0 && estimate.cost_usd > request.max_cost_usd && !request.force) {
    throw Failure(kOverBudget,
                  fmt::format("estimated cost ${:.4f} exceeds --max-cost ${:.4f}{}",
                              estimate.cost_usd, request.max_cost_usd,
                              flags.dry_run ? "" : "; raise the budget or add --force"));
  }
  if (flags.dry_run) return;
  auto store = open_database(config);
  auto result =
      unwrap(submit_subject(*store, request, catalog, config.prices(), prompts, wall_clock_ms()));
  if (globals.json) {
    print_line(report::submit_json(&result.outcome, result.estimate, request.options.model));
    return;
  }
  const auto& root = result.outcome.root;
  print_line(root.job.id);
  if (!globals.quiet) {
    log::info({root.trace_id, root.job.id, root.job.id, 0},
              "{} root {} for {}/{}/{}/{}, estimated ${:.4f}",
              result.outcome.deduplicated ? "returned the live" : "submitted", root.job.id,
              root.slot.language, root.slot.board, root.slot.grade, root.slot.subject,
              result.estimate.cost_usd);
  }
}

}  // namespace

void add_submit(CLI::App& app, Globals& globals) {
  auto* command = app.add_subcommand(
      "submit", "create the root job of a subject (or return the live duplicate)");
  auto flags = std::make_shared<SubmitFlags>();
  add_slot_options(*command, flags->request, flags->mode);
  command->add_flag("--dry-run", flags->dry_run, "estimate only; touch no database");
  command->add_option("--max-cost", flags->request.max_cost_usd, "the root's budget in USD")
      ->check(CLI::NonNegativeNumber);
  command->add_flag("--force", flags->request.force,
                    "submit even when the estimate exceeds --max-cost");
  command->add_option("--priority", flags->request.priority, "higher runs first (default 0)")
      ->check(CLI::Range(-1000, 1000));
  command->callback([&globals, flags] { run_submit(globals, *flags); });
}

}  // namespace hydrate::cli
