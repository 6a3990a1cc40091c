// hydrate report: the deployment checklist's "Metrics to Track" over a window, each against its
// target (report.* config keys), then the week-1 questions; --check exits 1 when a target is
// missed so cron or CI can gate on it. The figures are defined in core/ops_report.hpp.
#include <fmt/format.h>

#include <cstdio>

#include "cli/common.hpp"
#include "core/clock.hpp"
#include "core/ops_report.hpp"

namespace hydrate::cli {

namespace {

struct ReportFlags {
  std::string since;
  bool check = false;
};

// "root success rate 90.0% (18 of 20 roots) against > 95%; …" for the measures that missed.
std::string missed_summary(const ops::Report& report) {
  std::string out;
  int missed = 0;
  for (const auto& m : report.measures) {
    if (m.verdict != ops::Verdict::missed) continue;
    ++missed;
    out += fmt::format("{}{} {} against {}", out.empty() ? "" : "; ", m.name, m.value, m.target);
  }
  return fmt::format("{} target(s) missed: {}", missed, out);
}

}  // namespace

void add_report(CLI::App& app, Globals& globals) {
  auto* command = app.add_subcommand(
      "report", "the checklist's metrics to track over a window, each against its target");
  auto flags = std::make_shared<ReportFlags>();
  command
      ->add_option("--since", flags->since,
                   "the window: this long before now (report.since, default 168h)")
      ->type_name("DURATION");
  command->add_flag("--check", flags->check,
                    "exit 1 when a target is missed (a figure with no data never misses)");
  command->callback([&globals, flags] {
    Config config = load_config(globals);
    Millis window = unwrap(ops::window_ms(config, flags->since, "--since"));
    ops::Targets targets = unwrap(ops::targets_from(config));
    auto store = open_database(config, false);
    Millis now = wall_clock_ms();
    auto facts = unwrap(store->ops_facts(now - window, now));
    ops::Report report = ops::build_report(facts, targets, now - window, now, config.prices());
    if (globals.json) {
      print_line(ops::render_json(report));
    } else {
      std::string text = ops::render_text(report);
      std::fwrite(text.data(), 1, text.size(), stdout);
    }
    if (flags->check && !report.targets_met()) throw Failure(kFailure, missed_summary(report));
  });
}

}  // namespace hydrate::cli
