// hydrate reconcile: the cron job — rescue leases, repair the cascade, close finished roots.
#include <fmt/format.h>

#include <fstream>

#include "cli/common.hpp"
#include "core/clock.hpp"
#include "core/engine/reconcile.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"

namespace hydrate::cli {

namespace {
struct ReconcileFlags {
  std::string metrics_file;
  double stuck_minutes = 15;
  int lock_seconds = 300;
  double min_interval_seconds = 0;
};

void write_metrics_file(store::Store& store, const std::string& path) {
  std::string text = metrics::render_prometheus(unwrap(store.read_metrics()));
  std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary);
    if (!out || !(out << text)) throw Failure(kFailure, "cannot write metrics file '" + path + "'");
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    throw Failure(kFailure, "cannot write metrics file '" + path + "'");
  }
}
}  // namespace

void add_reconcile(CLI::App& app, Globals& globals) {
  auto* command = app.add_subcommand(
      "reconcile", "rescue expired leases, repair the cascade, close finished roots");
  auto flags = std::make_shared<ReconcileFlags>();
  command->add_option("--metrics-file", flags->metrics_file,
                      "write Prometheus metrics here (textfile collector)");
  command
      ->add_option("--stuck-minutes", flags->stuck_minutes,
                   "pending this long counts as stuck (default 15)")
      ->check(CLI::Range(0.0, 100000.0));
  command
      ->add_option("--lock-seconds", flags->lock_seconds,
                   "lock expiry for a reconciler that dies (default 300)")
      ->check(CLI::Range(1, 86400));
  command
      ->add_option("--min-interval-seconds", flags->min_interval_seconds,
                   "keep the lock this long after a run starts, so crons on several machines "
                   "run it once (default 0)")
      ->check(CLI::Range(0.0, 86400.0));
  command->callback([&globals, flags] {
    Config config = load_config(globals);
    auto store = open_database(config);
    engine::ReconcileOptions options;
    options.holder = holder_name();
    options.lock_ttl_ms = flags->lock_seconds * 1000LL;
    options.stuck_after_ms = static_cast<Millis>(flags->stuck_minutes * 60000);
    options.min_interval_ms = static_cast<Millis>(flags->min_interval_seconds * 1000);
    auto report = unwrap(engine::reconcile(*store, options, wall_clock_ms()));
    if (report.skipped) {
      std::string line = fmt::format("another reconcile holds the lock: {} (until {})",
                                     report.lock_holder, format_utc(report.lock_expires_at));
      if (globals.json) {
        print_line(fmt::format(R"({{"skipped":true,"holder":"{}"}})", report.lock_holder));
      }
      log::info("{}", line);
      return;
    }
    if (!flags->metrics_file.empty()) write_metrics_file(*store, flags->metrics_file);
    if (globals.json) {
      print_line(fmt::format(
          R"({{"skipped":false,"rescued":{},"repaired":{},"rolledUp":{},"closed":{},"stuck":{}}})",
          report.rescued, report.repaired, report.rolled_up, report.closed, report.stuck.size()));
    } else {
      print_line(fmt::format(
          "rescued {} expired lease(s), repaired {} missing child job(s){}, "
          "examined {} open root(s), closed {}, {} stuck step(s)",
          report.rescued, report.repaired, report.repaired == 0 ? " (cascade intact)" : "",
          report.rolled_up, report.closed, report.stuck.size()));
      for (const auto& job : report.stuck) {
        print_line(fmt::format("stuck: {} {} pending since {}", to_string(job.kind), job.id,
                               format_utc(job.run_after)));
      }
    }
  });
}

}  // namespace hydrate::cli
