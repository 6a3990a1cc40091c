// hydrate status: one job's progress per level, or a table of recent roots.
#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "cli/common.hpp"
#include "core/clock.hpp"
#include "core/estimate.hpp"
#include "core/progress.hpp"
#include "core/report.hpp"

namespace hydrate::cli {

namespace {

struct StatusFlags {
  std::string job_id;
  bool watch = false;
  int limit = 20;
  double interval = 2;
};

std::string level_cell(const LevelCount& count) {
  return fmt::format("{}/{}", count.completed, count.expected);
}

void print_root(const store::RootRecord& root, const store::TreeCounts& counts,
                const std::vector<Job>& errors, const std::vector<store::BatchRecord>& batches,
                const batch::Savings& savings) {
  Progress p = derive_progress(counts, root.options);
  print_line(fmt::format("job        {}  {}/{}/{}/{}", root.job.id, root.slot.language,
                         root.slot.board, root.slot.grade, root.slot.subject));
  print_line(fmt::format("status     {}{}", to_string(root.status),
                         root.reason.empty() ? "" : " (" + root.reason + ")"));
  if (root.reason == store::kBudgetExhausted) {
    print_line(
        fmt::format("           the budget of ${:.4f} stopped the tree; "
                    "`hydrate requeue {} --max-cost USD` raises it and continues",
                    root.budget_usd, root.job.id));
  }
  print_line(fmt::format("progress   {}%", overall_percent(p)));
  print_line(fmt::format("  chapters {:>12}", level_cell(p.chapters)));
  print_line(fmt::format("  topics   {:>12}", level_cell(p.topics)));
  print_line(fmt::format("  notes    {:>12}", level_cell(p.notes)));
  print_line(fmt::format("  questions{:>12}", level_cell(p.questions)));
  print_line(fmt::format("steps      {} succeeded, {} pending, {} running, {} failed, {} cancelled",
                         counts.jobs_succeeded, counts.jobs_pending, counts.jobs_running,
                         counts.jobs_failed, counts.jobs_cancelled));
  print_line(
      fmt::format("cost       ${:.4f} actual, ${:.4f} estimated{}", counts.actual_cost_usd,
                  root.estimated_cost_usd,
                  root.budget_usd > 0 ? fmt::format(", ${:.4f} budget", root.budget_usd) : ""));
  std::string by_level;
  for (auto kind : {JobKind::subject, JobKind::chapter, JobKind::note, JobKind::questions}) {
    by_level += fmt::format("{}{} ${:.4f}", by_level.empty() ? "" : ", ", cost_level(kind),
                            counts.cost_by_kind[static_cast<int>(kind)]);
  }
  print_line("  by level " + by_level);
  print_line(fmt::format("tokens     {} prompt, {} completion, {} cached, {} calls",
                         counts.tokens.prompt, counts.tokens.completion, counts.tokens.cached,
                         counts.calls));
  print_line(fmt::format("created    {}  started {}  finished {}", format_utc(root.created_at),
                         root.started_at ? format_utc(root.started_at) : "-",
                         root.finished_at ? format_utc(root.finished_at) : "-"));
  if (root.options.mode == CallMode::batch) {
    print_line(fmt::format("mode       batch, {} open batch(es)", batches.size()));
    print_line(fmt::format(
        "savings    ${:.6f} at the batch price, ${:.6f} online, ${:.6f} saved "
        "({} calls)",
        savings.batch_cost_usd, savings.online_cost_usd, savings.saving_usd, savings.calls));
    for (const auto& model : savings.unpriced)
      print_line(
          fmt::format("           model '{}' has no online price: its calls are left out", model));
  }
  for (const auto& b : batches) {
    print_line(fmt::format(
        "batch      {} {} {} {}/{} lines, {} failed, since {}{}", b.id, store::to_string(b.state),
        b.provider_status.empty() ? "-" : b.provider_status, b.completed, b.lines, b.failed,
        format_utc(b.created_at), b.error.empty() ? "" : ": " + b.error));
  }
  for (const auto& job : errors) {
    std::string line =
        fmt::format("error      {} {} ({} attempts, {} transient retries, {})", to_string(job.kind),
                    job.id, job.attempts, job.transient_retries, to_string(job.status));
    if (!job.last_error.empty()) line += ": " + job.last_error;
    if (!job.last_transient_error.empty()) line += "; last transient: " + job.last_transient_error;
    print_line(line);
  }
}

void print_table(store::Store& store, int limit) {
  auto roots = unwrap(store.recent_roots(limit));
  print_line(fmt::format("{:<26}  {:<9}  {:<24}  {:>4}  {:>9}  {:>9}  {:>9}  {:>11}  {:>9}", "JOB",
                         "STATUS", "SLOT", "%", "CHAPTERS", "TOPICS", "NOTES", "QUESTIONS",
                         "COST"));
  for (const auto& root : roots) {
    auto counts = unwrap(store.tree_counts(root.job.id));
    Progress p = derive_progress(counts, root.options);
    std::string slot = fmt::format("{}/{}/{}/{}", root.slot.language, root.slot.board,
                                   root.slot.grade, root.slot.subject);
    print_line(
        fmt::format("{:<26}  {:<9}  {:<24.24}  {:>4}  {:>9}  {:>9}  {:>9}  {:>11}  ${:>8.4f}",
                    root.job.id, to_string(root.status), slot, overall_percent(p),
                    level_cell(p.chapters), level_cell(p.topics), level_cell(p.notes),
                    level_cell(p.questions), counts.actual_cost_usd));
  }
}

// Prints one job's status; returns true when it is finished.
bool show_job(const Globals& globals, const Config& config, store::Store& store,
              const std::string& id) {
  auto view = unwrap(store.view_job(id, 5));
  const Job& job = view.job;
  if (!view.root) {
    if (globals.json)
      print_line(report::job_status_json(job));
    else
      print_line(fmt::format(
          "{} {} {} (attempt {}/{}, {} transient retries){}{}", to_string(job.kind), job.id,
          to_string(job.status), job.attempts, job.max_attempts, job.transient_retries,
          job.last_error.empty() ? "" : ": " + job.last_error,
          job.last_transient_error.empty() ? "" : "; last transient: " + job.last_transient_error));
    return is_terminal(job.status);
  }
  batch::Savings savings = batch::savings_of(view.calls_by_model, config.prices());
  if (globals.json)
    print_line(
        report::root_status_json(*view.root, view.counts, view.errors, view.batches, &savings));
  else
    print_root(*view.root, view.counts, view.errors, view.batches, savings);
  return is_terminal(view.root->status);
}

void run_status(const Globals& globals, const StatusFlags& flags) {
  if (!flags.job_id.empty()) check_job_id(flags.job_id);
  Config config = load_config(globals);
  auto store = open_database(config, false);
  if (flags.job_id.empty()) {
    if (globals.json) {
      std::string out = "[";
      for (const auto& root : unwrap(store->recent_roots(flags.limit))) {
        if (out.size() > 1) out += ",";
        out += report::root_status_json(root, unwrap(store->tree_counts(root.job.id)), {});
      }
      print_line(out + "]");
    } else {
      print_table(*store, flags.limit);
    }
    return;
  }
  while (!show_job(globals, config, *store, flags.job_id) && flags.watch) {
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(flags.interval * 1000)));
    if (!globals.json) print_line("");
  }
}

}  // namespace

void add_status(CLI::App& app, Globals& globals) {
  auto* command =
      app.add_subcommand("status", "show one job's progress per level, or a table of recent roots");
  auto flags = std::make_shared<StatusFlags>();
  command->add_option("job", flags->job_id, "job id (a root shows its whole tree)");
  command->add_flag("--watch", flags->watch, "repeat until the job finishes");
  command->add_option("--interval", flags->interval, "seconds between --watch updates (default 2)")
      ->check(CLI::Range(0.1, 3600.0));
  command->add_option("--limit", flags->limit, "roots in the table (default 20)")
      ->check(CLI::Range(1, 10000));
  command->callback([&globals, flags] { run_status(globals, *flags); });
}

}  // namespace hydrate::cli
