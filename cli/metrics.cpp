// hydrate metrics: Prometheus text exposition of the counters kept in the database and the
// gauges computed from it, on stdout or (--output) into a file replaced atomically, once or
// (--every) each interval until SIGTERM or SIGINT.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include "cli/common.hpp"
#include "cli/metrics_output.hpp"
#include "core/clock.hpp"
#include "core/duration.hpp"
#include "core/log.hpp"

namespace hydrate::cli {

namespace {

std::atomic<bool> g_stop_metrics{false};

extern "C" void on_metrics_stop_signal(int) {
  g_stop_metrics = true;
}

struct MetricsFlags {
  std::string output;
  std::string every;
};

// Waits until ms have passed or a stop signal came; true when stopped.
bool stopped_within(Millis ms) {
  Millis until = wall_clock_ms() + ms;
  while (!g_stop_metrics) {
    Millis left = until - wall_clock_ms();
    if (left <= 0) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<Millis>(left, 100)));
  }
  return true;
}

// One round's exposition, opening the database first when no round has yet. A database that
// cannot be opened is an error to wait out, as a failed read is; a wrong setting (exit 2) is not.
Result<std::string> read_round(const Config& config, std::unique_ptr<store::Store>& store) {
  if (!store) {
    try {
      store = open_database(config, false);
    } catch (const Failure& e) {
      if (e.code == kUsage) throw;
      return make_error(ErrorKind::unavailable, e.what());
    }
  }
  return metrics_exposition(*store, config);
}

// Every interval: read and write the file. A failed read is logged and tried again the next
// round, the file left as it was; a file that cannot be written ends the loop with exit 1.
void write_every(const Globals& globals, const MetricsFlags& flags, Millis interval) {
  std::signal(SIGINT, on_metrics_stop_signal);
  std::signal(SIGTERM, on_metrics_stop_signal);
  Config config = load_config(globals);
  std::unique_ptr<store::Store> store;
  while (!g_stop_metrics) {
    auto text = read_round(config, store);
    if (text) {
      write_file_atomically(flags.output, *text);
    } else {
      log::warn("reading metrics failed, '{}' left as it was: {}", flags.output,
                text.error().message);
    }
    if (stopped_within(interval)) break;
  }
}

}  // namespace

void add_metrics(CLI::App& app, Globals& globals) {
  auto* command = app.add_subcommand(
      "metrics", "print Prometheus metrics kept in and computed from the database");
  auto flags = std::make_shared<MetricsFlags>();
  auto* output =
      command
          ->add_option("--output", flags->output,
                       "write the metrics to FILE (replaced atomically: FILE.tmp.PID, then rename)")
          ->type_name("FILE");
  command
      ->add_option("--every", flags->every,
                   "with --output: write again each DURATION (e.g. 30s, 1m) until SIGTERM/SIGINT")
      ->type_name("DURATION")
      ->needs(output);
  command->callback([&globals, flags] {
    if (!flags->every.empty()) {
      auto interval = parse_duration_ms(flags->every);
      if (!interval || *interval < 1) {
        throw Failure(kUsage, "--every must be a positive duration such as 30s or 1m (got '" +
                                  flags->every + "')");
      }
      write_every(globals, *flags, *interval);
      return;
    }
    Config config = load_config(globals);
    auto store = open_database(config, false);
    std::string text = unwrap(metrics_exposition(*store, config));
    if (!flags->output.empty()) {
      write_file_atomically(flags->output, text);
      return;
    }
    std::fwrite(text.data(), 1, text.size(), stdout);
  });
}

}  // namespace hydrate::cli
