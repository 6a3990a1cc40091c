#include "mock/batch_flags.hpp"

#include <limits>

namespace hydrate::mock {
namespace {

void add_duration(CLI::App& app, const char* name, std::int64_t& ms, const char* what) {
  app.add_option(name, ms, what)
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{24} * 3600 * 1000))
      ->default_val(ms);
}

void add_rate(CLI::App& app, const char* name, double& rate, const char* what) {
  app.add_option(name, rate, what)->check(CLI::Range(0.0, 1.0))->default_val(0.0);
}

}  // namespace

void define_batch_flags(CLI::App& app, BatchOptions& options) {
  add_duration(app, "--batch-validating-ms", options.validating_ms,
               "how long a batch is validating");
  add_duration(app, "--batch-ms", options.processing_ms,
               "how long a batch is in_progress: its lines are answered evenly over this time");
  add_duration(app, "--batch-finalizing-ms", options.finalizing_ms,
               "how long a batch is finalizing");
  add_duration(app, "--batch-cancelling-ms", options.cancelling_ms,
               "how long a cancelled batch is cancelling");
  add_rate(app, "--batch-rate-failed", options.rate_failed,
           "probability (0..1) that a batch fails in validation with a server error");
  add_rate(app, "--batch-rate-expired", options.rate_expired,
           "probability (0..1) that a batch expires part way, its unanswered lines "
           "batch_expired in the error file");
  add_rate(app, "--batch-rate-error-line", options.rate_error_line,
           "probability (0..1) that a line of a batch is answered 500 in the error file");
  add_rate(app, "--batch-rate-slow-finalizing", options.rate_slow_finalizing,
           "probability (0..1) that a batch finalizes --batch-slow-finalizing-ms longer");
  add_duration(app, "--batch-slow-finalizing-ms", options.slow_finalizing_ms,
               "how much longer a slow batch is finalizing");
  app.add_option("--batch-token-limit", options.token_limit,
                 "enqueued-token limit per model: a batch whose prompt tokens would take the "
                 "in_progress batches past it fails with token_limit_exceeded (0: none)")
      ->check(CLI::Range(std::int64_t{0}, std::numeric_limits<std::int64_t>::max()))
      ->default_val(0);
  app.add_option("--batch-max-requests", options.max_requests, "requests per batch input file")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{50000}))
      ->default_val(options.max_requests);
  app.add_option("--batch-max-bytes", options.max_bytes, "bytes per batch input file")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{200} << 20))
      ->default_val(options.max_bytes);
}

}  // namespace hydrate::mock
