// hydrate estimate: counts, tokens, cost and duration of a subject; a CI budget gate.
#include <fmt/format.h>

#include "cli/common.hpp"
#include "core/catalog.hpp"
#include "core/report.hpp"

namespace hydrate::cli {

namespace {

void print_estimate(const Estimate& e, const std::string& model) {
  print_line(fmt::format("chapters            {}", e.chapters));
  print_line(fmt::format("topics              {}", e.topics));
  print_line(fmt::format("notes               {}", e.notes));
  print_line(fmt::format("questions           {}", e.questions));
  print_line(fmt::format("steps               {}", e.steps));
  print_line(fmt::format("tokens              {:.0f} prompt, {:.0f} completion", e.prompt_tokens,
                         e.completion_tokens));
  if (e.mode == CallMode::batch) {
    print_line(
        fmt::format("cost                ${:.4f} ({}, batch; ${:.4f} online, saving ${:.4f})",
                    e.cost_usd, model, e.online_cost_usd, e.online_cost_usd - e.cost_usd));
  } else {
    print_line(fmt::format("cost                ${:.4f} ({})", e.cost_usd, model));
  }
  print_line(
      fmt::format("worst case          ${:.4f} (every step at its limits)", e.worst_case_usd));
  if (e.mode == CallMode::batch) {
    print_line(
        fmt::format("duration            at most {:.0f} h (a 24-hour batch window per level)",
                    e.duration_mins / 60));
  } else {
    print_line(fmt::format("duration            {:.1f} min", e.duration_mins));
  }
  if (e.basis == "history") {
    print_line(fmt::format("basis               history: {} call(s) of {} finished tree(s)",
                           e.samples, e.history_roots));
  } else {
    print_line(fmt::format("basis               {}", e.basis));
  }
}

struct EstimateFlags {
  SubmitRequest request;
  std::string mode;  // --mode, else submit.mode
  bool history = true;
};

}  // namespace

void run_estimate(const Globals& globals, SubmitRequest request, const std::string& mode,
                  bool use_history) {
  Config config = load_config(globals);
  unwrap(complete_request(request, config, mode));
  auto prompts = unwrap(PromptSet::load(config.get("prompts.dir")));
  std::optional<History> history;
  if (use_history) {
    unwrap(validate_request(request));  // a bad request is named before any database is opened
    history = read_history(globals, config, request);
  }
  Estimate estimate = unwrap(estimate_request(request, load_catalog(config), config.prices(),
                                              prompts, history ? &*history : nullptr));
  if (globals.json) {
    print_line(report::submit_json(nullptr, estimate, request.options.model));
  } else {
    print_estimate(estimate, request.options.model);
  }
  if (request.max_cost_usd > 0 && estimate.cost_usd > request.max_cost_usd) {
    throw Failure(kOverBudget, fmt::format("estimated cost ${:.4f} exceeds --max-cost ${:.4f}",
                                           estimate.cost_usd, request.max_cost_usd));
  }
}

void add_estimate(CLI::App& app, Globals& globals) {
  auto* command = app.add_subcommand(
      "estimate", "predict counts, tokens, cost and duration; exit 3 over --max-cost");
  auto flags = std::make_shared<EstimateFlags>();
  add_slot_options(*command, flags->request, flags->mode);
  command
      ->add_option("--max-cost", flags->request.max_cost_usd,
                   "exit 3 when the estimate exceeds USD")
      ->check(CLI::NonNegativeNumber);
  command->add_flag("--history,!--no-history", flags->history,
                    "calibrate on the database's finished trees when it has some (default on)");
  command->callback(
      [&globals, flags] { run_estimate(globals, flags->request, flags->mode, flags->history); });
}

}  // namespace hydrate::cli
