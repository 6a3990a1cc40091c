// hydrate work: run steps — claim, call the model with many requests in flight, write results.
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <limits>
#include <thread>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "core/clock.hpp"
#include "core/engine/batch_cycle.hpp"
#include "core/engine/retrying_store.hpp"
#include "core/engine/worker.hpp"
#include "core/log.hpp"

namespace hydrate::cli {

namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int) {
  g_stop = true;
}

struct WorkFlags {
  int concurrency = 0;
  bool until_idle = false;
  long long max_steps = 0;
  int lease_seconds = 0;
  int rpm = 0;
  long long tpm = 0;
  bool progress = false;
};

// The endpoint as configured: URL, key, flavor (llm.flavor, else from the URL), the model
// profiles (models.file, else the built-in table) and the operator's overrides of them.
engine::Endpoint endpoint_from_config(const Config& config) {
  engine::Endpoint endpoint;
  auto flavor = llm::detect_flavor(config.get("llm.flavor"), config.get("llm.url"));
  if (!flavor) {
    throw Failure(kUsage, fmt::format("llm.flavor must be auto, openai, azure, llamacpp, vllm or "
                                      "ollama (got '{}' from {})",
                                      config.get("llm.flavor"), config.origin("llm.flavor")));
  }
  endpoint.flavor = *flavor;
  endpoint.chat_url =
      llm::chat_completions_url(config.get("llm.url"), *flavor, config.get("llm.api_version"));
  endpoint.api_key = api_key(config);
  endpoint.default_model = config.get("llm.model");
  endpoint.timeout_ms = static_cast<long>(unwrap(config.get_int("llm.timeout_ms", 100, 3600000)));
  if (const std::string& file = config.get("models.file"); !file.empty()) {
    endpoint.profiles =
        unwrap(llm::ProfileTable::parse(read_file(file, "model profile file"), file));
  }
  const std::string& field = config.get("llm.max_tokens_field");
  if (field == "max_tokens" || field == "max_completion_tokens") {
    endpoint.max_completion_tokens = field == "max_completion_tokens";
  } else if (field != "auto") {
    throw Failure(kUsage, fmt::format("llm.max_tokens_field must be auto, max_tokens or "
                                      "max_completion_tokens (got '{}' from {})",
                                      field, config.origin("llm.max_tokens_field")));
  }
  const std::string& format = config.get("llm.response_format");
  if (format != "auto") {
    endpoint.output_mode = llm::parse_output_mode(format);
    if (!endpoint.output_mode) {
      throw Failure(kUsage, fmt::format("llm.response_format must be auto, json_schema, "
                                        "json_object or prompt (got '{}' from {})",
                                        format, config.origin("llm.response_format")));
    }
  }
  endpoint.max_response_bytes =
      static_cast<std::size_t>(unwrap(config.get_int("llm.max_response_bytes", 1024, 1LL << 30)));
  return endpoint;
}

// The batch cycle of `work` (core/engine/batch_cycle.hpp) in its own thread, with its own store
// and Batch API client. Only an OpenAI endpoint has a Batch API: elsewhere nothing starts, and
// batch-mode steps wait for a worker whose endpoint has one.
class BatchRunner {
 public:
  BatchRunner(const Config& config, const engine::StoreRetryPolicy& retry, const PromptSet& prompts,
              const engine::Endpoint& endpoint, const engine::WorkerOptions& online)
      : config_(config), retry_(retry), prompts_(prompts), endpoint_(endpoint) {
    options_.holder = online.holder;
    options_.retry = online.retry;
    options_.limits = online.limits;
    options_.poll_min_ms = unwrap(config.get_int("batch.poll_min_ms", 10, 3600000));
    options_.hold_ms = unwrap(config.get_int("batch.hold_ms", 100, 86400000));
    options_.poll_max_ms = std::max<Millis>(
        options_.poll_min_ms, unwrap(config.get_int("batch.poll_max_ms", 10, 86400000)));
    options_.queue_tokens =
        unwrap(config.get_int("batch.queue_tokens", 0, std::numeric_limits<std::int64_t>::max()));
    options_.delete_files = unwrap(config.get_int("batch.delete_files", 0, 1)) == 1;
  }
  ~BatchRunner() { join(); }

  // Runs the cycle until a signal or join(); the thread ends, its visit finished, on either.
  // Elsewhere than on OpenAI it only warns, once, when batch-mode steps are waiting.
  void start(store::Store& store) {
    if (endpoint_.flavor != llm::Flavor::openai) {
      auto due = store.batch_work_due(wall_clock_ms());
      if (due && *due) {
        log::warn(
            "batch-mode steps are waiting, but this worker's endpoint is {} (llm.flavor), "
            "which has no Batch API: only a worker with an OpenAI endpoint runs them",
            llm::to_string(endpoint_.flavor));
      }
      return;
    }
    thread_ = std::thread([this, endpoint = batch_endpoint(config_)] {
      store::OpenOptions no_migration;  // the worker's own store migrated it already
      no_migration.migrate = false;
      auto opened = engine::open_store_riding_out(config_.get("db"), no_migration, retry_, &stop_);
      if (!opened || !*opened) {
        if (!opened) log::warn("batch cycle: {}", opened.error().message);
        return;
      }
      engine::RetryingStore store(**opened, retry_, &stop_);
      auto client = llm::make_batch_client(endpoint);
      engine::BatchCycle cycle(
          {store, *client, prompts_, config_.prices(), endpoint_, options_, nullptr});
      engine::run_batch_cycle(cycle, g_stop, end_, options_.poll_min_ms);
      const auto& r = cycle.report();
      if (r.created + r.applied > 0) {
        log::info(
            "batches: {} created, {} applied, {} abandoned; {} step(s) succeeded, ${:.4f}; "
            "{} file(s) deleted",
            r.created, r.applied, r.abandoned, r.succeeded, r.cost_usd, r.files_deleted);
      }
    });
  }
  void join() {
    stop_ = true;
    end_.set();
    if (thread_.joinable()) thread_.join();
  }

 private:
  const Config& config_;
  engine::StoreRetryPolicy retry_;
  const PromptSet& prompts_;
  engine::Endpoint endpoint_;
  engine::BatchOptions options_;
  std::atomic<bool> stop_{false};  // set by join(): the online worker is done
  engine::CycleEnd end_;           // the same, waking the cycle's wait between visits
  std::thread thread_;
};

void run_work(const Globals& globals, const WorkFlags& flags) {
  // First, so that a stop asked for while the database opens (and migrates) is an orderly exit 0
  // before any claim, not a death by signal.
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  // Each step allocates and frees a few hundred KiB (bodies, rows, JSON). glibc's defaults hand
  // the top of the heap back to the kernel whenever 128 KiB of it is free and serve blocks over
  // 128 KiB by mmap, so every step faulted its pages in again (19,000 page faults for a
  // 1,231-step tree); keeping up to 8 MiB free and mapping only blocks over 1 MiB, 2,000.
  mallopt(M_TRIM_THRESHOLD, 8 << 20);
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  Config config = load_config(globals);
  log::set_worker(holder_name());  // json log lines carry it as `worker`
  // Opening, migrating and every store call after ride out a database that fails for a while
  // (a lost connection, a restart, a busy file); only a permanent error or an outage longer than
  // work.store_outage_seconds ends the worker.
  engine::StoreRetryPolicy store_retry;
  store_retry.outage_ms = 1000 * unwrap(config.get_int("work.store_outage_seconds", 1, 86400));
  store_retry.database = store::without_password(config.get("db"));
  auto opened = unwrap(
      engine::open_store_riding_out(config.get("db"), store::OpenOptions{}, store_retry, &g_stop));
  if (!opened) return;  // stopped while the database could not be opened: nothing was claimed
  engine::RetryingStore store(*opened, store_retry, &g_stop);
  auto prompts = unwrap(PromptSet::load(config.get("prompts.dir")));
  auto transport = llm::make_curl_transport();

  engine::Endpoint endpoint = endpoint_from_config(config);

  engine::WorkerOptions options;
  options.holder = holder_name();
  options.concurrency = flags.concurrency > 0
                            ? flags.concurrency
                            : static_cast<int>(unwrap(config.get_int("work.concurrency", 1, 1024)));
  options.until_idle = flags.until_idle;
  options.max_steps = flags.max_steps;
  options.lease_ms =
      1000LL * (flags.lease_seconds > 0 ? flags.lease_seconds
                                        : unwrap(config.get_int("work.lease_seconds", 1, 86400)));
  options.retry.base_ms = unwrap(config.get_int("retry.base_ms", 1, 3600000));
  options.retry.max_ms = unwrap(config.get_int("retry.max_ms", 1, 86400000));
  options.retry.max_elapsed_ms = unwrap(config.get_duration_ms("retry.max_elapsed", 1, 604800000));
  options.retry.max_transient =
      static_cast<int>(unwrap(config.get_int("retry.max_transient", 0, 1000000)));
  options.requests_per_minute = flags.rpm;
  options.tokens_per_minute = flags.tpm;
  options.limits.max_markdown =
      std::min<std::size_t>(options.limits.max_markdown, endpoint.max_response_bytes);

  // The live line is for a person: never mixed into json logs.
  bool show_progress = !globals.quiet && log::format() == log::Format::text &&
                       (flags.progress || isatty(STDERR_FILENO));
  engine::WorkerContext context{store,   *transport, prompts, config.prices(), endpoint,
                                options, &g_stop,    nullptr, nullptr};
  if (show_progress) {
    context.on_progress = [last = std::chrono::steady_clock::time_point{}](
                              const engine::WorkerReport& r) mutable {
      auto now = std::chrono::steady_clock::now();
      if (now - last < std::chrono::milliseconds(200)) return;  // a line, not a flood
      last = now;
      std::fprintf(stderr,
                   "\rwork: %lld succeeded, %lld retried, %lld re-asked, %lld failed, %zu in "
                   "flight, %lld tokens, $%.4f   ",
                   static_cast<long long>(r.succeeded), static_cast<long long>(r.retried),
                   static_cast<long long>(r.reasked), static_cast<long long>(r.failed), r.in_flight,
                   static_cast<long long>(r.tokens.prompt + r.tokens.completion), r.cost_usd);
      std::fflush(stderr);
    };
  }
  // Batch-mode roots: the batch cycle runs beside the online worker, in its own thread on its own
  // database connection, since its calls block (uploads, downloads, thousands of lines applied).
  BatchRunner batches(config, store_retry, prompts, endpoint, options);
  batches.start(store);
  auto outcome = engine::run_worker(context);
  batches.join();
  auto report = unwrap(std::move(outcome));
  if (show_progress) std::fputc('\n', stderr);
  if (globals.json) {
    print_line(fmt::format(
        R"({{"claimed":{},"succeeded":{},"retried":{},"reasked":{},"failed":{},"lostLeases":{},"calls":{},"tokens":{{"prompt":{},"completion":{},"cached":{}}},"costUsd":{:.6f}}})",
        report.claimed, report.succeeded, report.retried, report.reasked, report.failed,
        report.lost_leases, report.calls, report.tokens.prompt, report.tokens.completion,
        report.tokens.cached, report.cost_usd));
  } else if (!globals.quiet) {
    log::info("work done: {} step(s) succeeded, {} failed, {} call(s), ${:.4f}", report.succeeded,
              report.failed, report.calls, report.cost_usd);
  }
  if (!report.stop_reason.empty()) throw Failure(kFailure, report.stop_reason);
  if (store.gave_up()) throw Failure(kFailure, store.gave_up()->message);
}

}  // namespace

void add_work(CLI::App& app, Globals& globals) {
  auto* command = app.add_subcommand("work", "run steps with many model calls in flight");
  auto flags = std::make_shared<WorkFlags>();
  command
      ->add_option("--concurrency", flags->concurrency,
                   "model calls in flight (default work.concurrency, 8)")
      ->check(CLI::Range(1, 1024));
  command->add_flag("--until-idle", flags->until_idle,
                    "exit once no open tree has pending or running steps");
  command->add_option("--max-steps", flags->max_steps, "claim at most N steps, then exit")
      ->check(CLI::Range(1LL, 1LL << 40));
  command
      ->add_option("--lease-seconds", flags->lease_seconds, "lease per claimed step (default 60)")
      ->check(CLI::Range(1, 86400));
  command->add_option("--rpm", flags->rpm, "requests per minute at most (0 = no limit)")
      ->check(CLI::Range(0, 1000000));
  command->add_option("--tpm", flags->tpm, "tokens per minute at most (0 = no limit)")
      ->check(CLI::Range(0LL, 1LL << 40));
  command->add_flag("--progress", flags->progress,
                    "live progress line on stderr (default when a terminal)");
  command->callback([&globals, flags] { run_work(globals, *flags); });
}

}  // namespace hydrate::cli
